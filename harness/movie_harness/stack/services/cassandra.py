"""Apache Cassandra 5.0 from cassandra-all on Java 17: one node, or (the cluster profile) three.

The cluster's nodes listen on their own loopback addresses (``STACK_HOST`` + 0, 1, 2) with the
same ports; node 1 is the seed and starts first, nodes 2 and 3 then join together (a new, empty
cluster: no bootstrap streaming, so concurrent joins are safe).
"""

from __future__ import annotations

import json

from movie_harness.stack import jvm
from movie_harness.stack.services.base import Service, StackSettings
from movie_pipeline.processes import tcp_open

# From Cassandra 5.0's conf/jvm17-server.options: the module openings it needs on Java 17.
_CASSANDRA_JVM17 = """
-Djdk.attach.allowAttachSelf=true
--add-exports java.base/jdk.internal.misc=ALL-UNNAMED
--add-exports java.base/jdk.internal.ref=ALL-UNNAMED
--add-exports java.base/sun.nio.ch=ALL-UNNAMED
--add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
--add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
--add-exports java.sql/java.sql=ALL-UNNAMED
--add-exports java.base/java.lang.ref=ALL-UNNAMED
--add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
--add-opens java.base/java.lang.module=ALL-UNNAMED
--add-opens java.base/jdk.internal.loader=ALL-UNNAMED
--add-opens java.base/jdk.internal.ref=ALL-UNNAMED
--add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
--add-opens java.base/jdk.internal.math=ALL-UNNAMED
--add-opens java.base/jdk.internal.module=ALL-UNNAMED
--add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
--add-opens java.base/sun.nio.ch=ALL-UNNAMED
--add-opens java.base/java.io=ALL-UNNAMED
--add-opens java.base/java.nio=ALL-UNNAMED
--add-opens java.base/java.util.concurrent=ALL-UNNAMED
--add-opens java.base/java.util=ALL-UNNAMED
--add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED
--add-opens java.base/java.lang=ALL-UNNAMED
--add-opens java.base/java.math=ALL-UNNAMED
--add-opens java.base/java.lang.reflect=ALL-UNNAMED
--add-opens java.base/java.net=ALL-UNNAMED
""".split("\n")

_CASSANDRA_LOGBACK = """<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="com.datastax" level="WARN"/>
</configuration>
"""


class Cassandra(Service):
    """A Cassandra 5.0 node from cassandra-all on Java 17, heap capped at 1 GiB (768 MiB for each of a cluster's three)."""

    start_timeout_s = 240.0

    def __init__(self, settings: StackSettings, node: int = 1) -> None:
        super().__init__(settings)
        self.node = node
        self.name = f"cassandra-{node}" if settings.cluster else "cassandra"
        self.depends_on = ("cassandra-1",) if node > 1 else ()

    @property
    def host(self) -> str:
        return self.settings.node_address(self.node)

    @property
    def port(self) -> int:
        return self.settings.ports["cassandra"]

    @property
    def storage_port(self) -> int:
        return self.port - 2042  # 7000 beside the default 9042

    @property
    def jmx_port(self) -> int:
        return self.port - 1843 + self.node - 1  # 7199 beside the default 9042; JMX listens on 127.0.0.1 for every node

    @property
    def heap(self) -> str:
        return "768m" if self.settings.cluster else "1g"

    @property
    def hosts(self) -> list[str]:
        """Every node's address (the driver's contact points)."""
        return [self.settings.node_address(n) for n in range(1, self.settings.cassandra_nodes + 1)]

    def prepare(self) -> None:
        super().prepare()
        jvm.fetch("cassandra")
        directories = {key: self.data_dir / key for key in ("data", "commitlog", "saved_caches", "hints", "cdc_raw")}
        for directory in directories.values():
            directory.mkdir(parents=True, exist_ok=True)
        config = {
            "cluster_name": "movie-pipeline",
            "num_tokens": 16,
            "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
            "endpoint_snitch": "SimpleSnitch",
            "seed_provider": [
                {
                    "class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                    "parameters": [{"seeds": f"{self.settings.node_address(1)}:{self.storage_port}"}],
                }
            ],
            "listen_address": self.host,
            "rpc_address": self.host,
            "storage_port": self.storage_port,
            "native_transport_port": self.port,
            "start_native_transport": True,
            "data_file_directories": [str(directories["data"])],
            "commitlog_directory": str(directories["commitlog"]),
            "saved_caches_directory": str(directories["saved_caches"]),
            "hints_directory": str(directories["hints"]),
            "cdc_raw_directory": str(directories["cdc_raw"]),
            "commitlog_sync": "periodic",
            "commitlog_sync_period": "1000ms",
            # a budget of the stack's own, instead of a quarter of the volume (up to 8 GiB) that Cassandra derives
            "commitlog_total_space": "1024MiB",
            "cdc_total_space": "256MiB",
            "concurrent_reads": 8,
            "concurrent_writes": 8,
            "concurrent_compactors": 1,
            "auto_bootstrap": not self.settings.cluster,  # a new cluster's nodes have nothing to stream
            "authenticator": "AllowAllAuthenticator",
            "authorizer": "AllowAllAuthorizer",
        }
        (self.home / "cassandra.yaml").write_text(json.dumps(config, indent=2))  # JSON is YAML
        (self.home / "logback.xml").write_text(_CASSANDRA_LOGBACK)

    def command(self) -> list[str]:
        options = [
            "-Xms256m", f"-Xmx{self.heap}", "-Xss256k", "-XX:+UseG1GC", "-XX:+HeapDumpOnOutOfMemoryError",
            *[line.strip().replace(" ", "=", 1) for line in _CASSANDRA_JVM17 if line.strip()],
            f"-Dcassandra.config={(self.home / 'cassandra.yaml').as_uri()}",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.storagedir={self.data_dir}",
            f"-Dcassandra.logdir={self.home}",
            f"-Dcassandra.jmx.local.port={self.jmx_port}",
            f"-Dlogback.configurationFile={self.home / 'logback.xml'}",
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-Dcassandra.consistent.rangemovement=false",  # nodes 2 and 3 join side by side
            "-Dcassandra.ring_delay_ms=5000",
        ]  # fmt: skip
        return jvm.java_command(jvm.jar_dir("cassandra"), "org.apache.cassandra.service.CassandraDaemon", [], options)

    def cluster(self, **options):
        """A cassandra-driver Cluster for this node (protocol v5, the local data centre)."""
        from cassandra.cluster import Cluster
        from cassandra.policies import DCAwareRoundRobinPolicy

        policy = DCAwareRoundRobinPolicy(local_dc="datacenter1")
        return Cluster(self.hosts, port=self.port, protocol_version=5, load_balancing_policy=policy, **options)

    def is_ready(self) -> bool:
        """Answering CQL on its own address, and (a cluster's node) seeing the nodes before it up in gossip."""
        if not tcp_open(self.host, self.port):
            return False
        from cassandra.cluster import Cluster
        from cassandra.policies import WhiteListRoundRobinPolicy

        cluster = Cluster(
            [self.host], port=self.port, protocol_version=5, load_balancing_policy=WhiteListRoundRobinPolicy([self.host]),
            connect_timeout=3, control_connection_timeout=3,
        )  # fmt: skip
        try:
            session = cluster.connect()
            if session.execute("SELECT release_version FROM system.local").one() is None:
                return False
            peers = {str(row.peer) for row in session.execute("SELECT peer FROM system.peers_v2")}
            return peers >= {self.settings.node_address(n) for n in range(1, self.node)}
        except Exception:  # noqa: BLE001 - not answering CQL yet
            return False
        finally:
            cluster.shutdown()
