"""HDFS: a MiniDFSCluster (1 NameNode + 3 DataNodes) from hadoop-client-minicluster."""

from __future__ import annotations

import json
import urllib.request

from movie_pipeline.stack import jvm
from movie_pipeline.stack.process import http_ok
from movie_pipeline.stack.services.base import Service


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
        jvm.fetch("hdfs", self.settings.state_dir)
        jvm.compile_main("MiniHdfsMain", "hdfs", self.settings.state_dir)

    def command(self) -> list[str]:
        classpath = jvm.classpath("hdfs", self.settings.state_dir, with_classes=True)
        args = [self.host, str(self.port), str(self.http_port), str(self.data_dir), str(self.datanodes)]
        return ["java", "-Xmx768m", "-cp", classpath, "MiniHdfsMain", *args]

    def is_ready(self) -> bool:
        url = f"http://{self.host}:{self.http_port}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState"
        if not http_ok(url):
            return False
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - local URL
            beans = json.load(response).get("beans") or [{}]
        state = beans[0]
        return state.get("NumLiveDataNodes") == self.datanodes and state.get("FSState") == "Operational"
