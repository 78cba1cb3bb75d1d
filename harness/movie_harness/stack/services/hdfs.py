"""HDFS. The default profile: a MiniDFSCluster (1 NameNode + 3 DataNodes in one JVM). The cluster
profile: the real daemons, a NameNode and three DataNodes as separate JVMs, from the same Maven
Central jars (``hadoop-client-minicluster`` carries the server classes of the Hadoop that PySpark's
client is), replication 3.

The cluster's NameNode declares a DataNode dead 30 s after its last heartbeat (1 s heartbeats,
10 s recheck) instead of Hadoop's 10.5 minutes, and copies up to 20 blocks per DataNode at a time
(Hadoop: 2), so a killed DataNode's blocks are re-replicated while a test watches. ``client_conf_dir`` is the ``HADOOP_CONF_DIR`` of the HDFS clients (Spark):
``fs.defaultFS`` and a write pipeline that carries on with the DataNodes left when one dies.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from movie_harness.stack import jvm
from movie_harness.stack.services.base import Service, StackError, StackSettings
from movie_pipeline.processes import http_json

DATANODES = 3
# Hadoop logs through SLF4J (slf4j-simple in the jars): warnings, and the daemons' start-up lines
_LOGGING = [
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.log.org.apache.hadoop.hdfs.server.namenode.NameNode=info",
    "-Dorg.slf4j.simpleLogger.log.org.apache.hadoop.hdfs.server.datanode.DataNode=info",
]


def site_xml(properties: dict[str, object]) -> str:
    rows = "".join(f"  <property><name>{escape(k)}</name><value>{escape(str(v))}</value></property>\n" for k, v in properties.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{rows}</configuration>\n'


class Hdfs(Service):
    """1 NameNode + 3 DataNodes in one JVM (hadoop-client-minicluster), WebHDFS on."""

    name = "hdfs"
    datanodes = DATANODES
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
        return ["java", "-Xmx768m", *_LOGGING, "-cp", classpath, "MiniHdfsMain", *args]

    def namesystem(self) -> dict:
        jmx = http_json(f"http://{self.host}:{self.http_port}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState")
        return ((jmx or {}).get("beans") or [{}])[0]

    def is_ready(self) -> bool:
        state = self.namesystem()
        return state.get("NumLiveDataNodes") == self.datanodes and state.get("FSState") == "Operational"


class HdfsNameNode(Hdfs):
    """The cluster profile's NameNode (``org.apache.hadoop.hdfs.server.namenode.NameNode``)."""

    name = "hdfs-namenode"
    start_timeout_s = 120.0

    @property
    def port(self) -> int:
        return self.settings.ports["hdfs"]

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def client_conf_dir(self) -> Path:
        return client_conf_dir(self.settings)

    def core_site(self) -> dict[str, object]:
        return {
            "fs.defaultFS": self.uri,
            # the HTTP servers' default principal HTTP/_HOST makes Hadoop resolve the machine's name, fatal where it does not
            "hadoop.http.authentication.kerberos.principal": f"HTTP/{self.host}@LOCALHOST",
        }

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        jvm.fetch("hdfs")
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "core-site.xml").write_text(site_xml(self.core_site()))
        hdfs_site = {
            "dfs.namenode.name.dir": self.data_dir / "name",
            "dfs.namenode.rpc-address": f"{self.host}:{self.port}",
            "dfs.namenode.http-address": f"{self.host}:{self.http_port}",
            "dfs.replication": DATANODES,
            "dfs.permissions.enabled": "false",
            "dfs.webhdfs.enabled": "true",
            "dfs.namenode.datanode.registration.ip-hostname-check": "false",
            "dfs.heartbeat.interval": 1,
            "dfs.namenode.heartbeat.recheck-interval": 10_000,
            "dfs.namenode.redundancy.interval.seconds": 1,
            # a DataNode back from a fault misses every block written without it (the streaming checkpoints write
            # many small files): copy them at a rate a 3-node cluster allows, not Hadoop's 2 streams per node
            "dfs.namenode.replication.work.multiplier.per.iteration": 20,
            "dfs.namenode.replication.max-streams": 20,
            "dfs.namenode.replication.max-streams-hard-limit": 40,
            "dfs.namenode.reconstruction.pending.timeout-sec": 30,
        }
        (self.conf_dir / "hdfs-site.xml").write_text(site_xml(hdfs_site))
        write_client_conf(self.settings, self.core_site())
        if (self.data_dir / "name" / "current" / "VERSION").exists():
            return
        done = subprocess.run(
            self.java("org.apache.hadoop.hdfs.server.namenode.NameNode", ["-format", "-nonInteractive", "-force"]),
            capture_output=True,
            text=True,
            env=self.environment(),
        )
        if done.returncode != 0:
            raise StackError(f"formatting the NameNode in {self.data_dir} failed: {(done.stdout + done.stderr).strip()[-800:]}")

    def java(self, main_class: str, args: list[str], heap: str = "384m") -> list[str]:
        return ["java", f"-Xmx{heap}", *_LOGGING, "-cp", f"{self.conf_dir}:{jvm.jar_dir('hdfs')}/*", main_class, *args]

    def command(self) -> list[str]:
        return self.java("org.apache.hadoop.hdfs.server.namenode.NameNode", [])

    def is_ready(self) -> bool:
        """Answering (it leaves safe mode once the DataNodes, started after it, report their blocks)."""
        return bool(self.namesystem().get("FSState"))

    def live_datanodes(self) -> list[str]:
        """The transfer addresses (host:port) of the DataNodes the NameNode counts live."""
        jmx = http_json(f"http://{self.host}:{self.http_port}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo")
        info = ((jmx or {}).get("beans") or [{}])[0]
        return sorted(node.get("xferaddr", "") for node in json.loads(info.get("LiveNodes") or "{}").values())

    def fsck(self, path: str = "/") -> str:
        """``hdfs fsck`` of ``path``: its report, which ends with ``... is HEALTHY`` (or ``CORRUPT``)."""
        done = subprocess.run(
            self.java("org.apache.hadoop.hdfs.tools.DFSck", [path]), capture_output=True, text=True, env=self.environment(), timeout=120
        )
        return done.stdout + done.stderr


class HdfsDataNode(Service):
    """One of the cluster profile's DataNodes (``org.apache.hadoop.hdfs.server.datanode.DataNode``), on loopback
    with ports of its own: transfer ``hdfs_datanode + 10 (n - 1)``, HTTP + 1, IPC + 2."""

    depends_on = ("hdfs-namenode",)
    start_timeout_s = 90.0

    def __init__(self, settings: StackSettings, node: int) -> None:
        super().__init__(settings)
        self.node = node
        self.name = f"hdfs-datanode-{node}"
        self.namenode = HdfsNameNode(settings)

    @property
    def port(self) -> int:
        return self.settings.ports["hdfs_datanode"] + 10 * (self.node - 1)

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    def prepare(self) -> None:
        super().prepare()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "core-site.xml").write_text(site_xml(self.namenode.core_site()))
        hdfs_site = {
            "dfs.datanode.data.dir": self.data_dir,
            "dfs.datanode.address": f"{self.host}:{self.port}",
            "dfs.datanode.http.address": f"{self.host}:{self.port + 1}",
            "dfs.datanode.ipc.address": f"{self.host}:{self.port + 2}",
            "dfs.datanode.hostname": self.host,
            "dfs.heartbeat.interval": 1,
            "dfs.permissions.enabled": "false",
        }
        (self.conf_dir / "hdfs-site.xml").write_text(site_xml(hdfs_site))

    def command(self) -> list[str]:
        classpath = f"{self.conf_dir}:{jvm.jar_dir('hdfs')}/*"
        return ["java", "-Xmx256m", *_LOGGING, "-cp", classpath, "org.apache.hadoop.hdfs.server.datanode.DataNode"]

    def is_ready(self) -> bool:
        """Registered: the NameNode counts it live."""
        return f"{self.host}:{self.port}" in self.namenode.live_datanodes()


def client_conf_dir(settings: StackSettings) -> Path:
    return settings.state_dir / "hdfs-client" / "conf"


def write_client_conf(settings: StackSettings, core_site: dict[str, object]) -> Path:
    """The HDFS clients' configuration (``HADOOP_CONF_DIR``)."""
    directory = client_conf_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "core-site.xml").write_text(site_xml({"fs.defaultFS": core_site["fs.defaultFS"]}))
    client = {
        "dfs.replication": DATANODES,
        # with 3 DataNodes and replication 3 there is none to replace a dead one in a write pipeline: go on with two
        "dfs.client.block.write.replace-datanode-on-failure.best-effort": "true",
    }
    (directory / "hdfs-site.xml").write_text(site_xml(client))
    return directory
