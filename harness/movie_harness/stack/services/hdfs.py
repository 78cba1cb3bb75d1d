"""HDFS: a MiniDFSCluster (1 NameNode + 3 DataNodes) from hadoop-client-minicluster."""

from __future__ import annotations

from movie_harness.stack import jvm
from movie_harness.stack.services.base import Service
from movie_pipeline.processes import http_json


class Hdfs(Service):
    """1 NameNode + 3 DataNodes in one JVM (hadoop-client-minicluster), WebHDFS on."""

    name = "hdfs"
    datanodes = 3
    start_timeout_s = 180.0

    @property
    def http_port(self) -> int:
        return self.settings.ports["hdfs_http"]

    @property
    def uri(self) -> str:
        return f"hdfs://{self.host}:{self.port}"

    def prepare(self) -> None:
        super().prepare()
        jvm.fetch("hdfs")
        jvm.compile_main("MiniHdfsMain", "hdfs")

    def command(self) -> list[str]:
        classpath = jvm.classpath("hdfs", with_classes=True)
        args = [self.host, str(self.port), str(self.http_port), str(self.data_dir), str(self.datanodes)]
        return ["java", "-Xmx768m", "-cp", classpath, "MiniHdfsMain", *args]

    def is_ready(self) -> bool:
        jmx = http_json(f"http://{self.host}:{self.http_port}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState")
        state = ((jmx or {}).get("beans") or [{}])[0]
        return state.get("NumLiveDataNodes") == self.datanodes and state.get("FSState") == "Operational"
