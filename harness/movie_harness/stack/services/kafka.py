"""Apache Kafka 4 in KRaft mode from Maven Central jars: one node, or a three-node quorum."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from movie_harness.stack import jvm
from movie_harness.stack.services.base import Service, StackError, StackSettings
from movie_pipeline.processes import tcp_open


class Kafka(Service):
    """One KRaft node (broker + controller). With ``kafka_brokers=3`` three of them form a quorum."""

    start_timeout_s = 90.0

    def __init__(self, settings: StackSettings, node: int = 1) -> None:
        super().__init__(settings)
        self.node = node
        self.name = "kafka" if settings.kafka_brokers == 1 else f"kafka-{node}"

    @property
    def port(self) -> int:
        return self.settings.ports["kafka"] + 2 * (self.node - 1)

    def controller_port(self, node: int) -> int:
        return self.settings.ports["kafka"] + 2 * (node - 1) + 1

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.host}:{self.settings.ports['kafka'] + 2 * n}" for n in range(self.settings.kafka_brokers))

    @property
    def properties_file(self) -> Path:
        return self.home / "server.properties"

    def prepare(self) -> None:
        super().prepare()
        jars = jvm.fetch("kafka")
        nodes = range(1, self.settings.kafka_brokers + 1)
        replication = min(3, self.settings.kafka_brokers)
        voters = ",".join(f"{n}@{self.host}:{self.controller_port(n)}" for n in nodes)
        properties = {
            "process.roles": "broker,controller",
            "node.id": self.node,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port(self.node)}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": self.data_dir,
            "num.partitions": 3,
            "default.replication.factor": replication,
            "min.insync.replicas": 1 if replication == 1 else 2,
            "offsets.topic.replication.factor": replication,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": 1 if replication == 1 else 2,
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "true",
        }
        self.properties_file.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
        (self.home / "log4j2.yaml").write_text(_LOG4J2_CONFIG)
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_file = self.settings.state_dir / "kafka-cluster-id"
        if not cluster_file.exists():
            cluster_file.write_text(_kafka_cluster_id())
        fmt = jvm.java_command(
            jars,
            "kafka.tools.StorageTool",
            ["format", "-t", cluster_file.read_text().strip(), "-c", str(self.properties_file), "--ignore-formatted"],
        )
        done = subprocess.run(fmt, capture_output=True, text=True, env=self.environment())
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage in {self.data_dir} failed: {(done.stdout + done.stderr).strip()[-800:]}")

    def command(self) -> list[str]:
        jars = jvm.jar_dir("kafka")
        options = ["-Xms256m", "-Xmx512m", f"-Dlog4j2.configurationFile={self.home / 'log4j2.yaml'}", "-Dkafka.logs.dir=" + str(self.home)]
        return jvm.java_command(jars, "kafka.Kafka", [str(self.properties_file)], options)

    def is_ready(self) -> bool:
        if not tcp_open(self.host, self.port):
            return False
        from confluent_kafka.admin import AdminClient

        try:
            metadata = AdminClient({"bootstrap.servers": f"{self.host}:{self.port}"}).list_topics(timeout=3)
            return self.node in metadata.brokers
        except Exception:  # noqa: BLE001 - any failure to fetch metadata means not ready yet
            return False


def _kafka_cluster_id() -> str:
    """A random cluster id as Kafka makes them: URL-safe base64 of a UUID, never starting with '-'
    (``kafka-storage format -t -abc`` would read the id as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


_LOG4J2_CONFIG = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        Pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka
        level: WARN
      - name: org.apache.kafka
        level: WARN
      - name: kafka.server.KafkaRaftServer
        level: INFO
"""
