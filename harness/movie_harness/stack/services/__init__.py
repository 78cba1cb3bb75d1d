"""The services of the local stack: how each is prepared, started and judged ready."""

from movie_harness.stack.services.airflow import AirflowApiServer, AirflowComponent, airflow_environment, airflow_health
from movie_harness.stack.services.base import (
    CLUSTER,
    DEFAULT,
    DEFAULT_PORTS,
    DEFAULT_STATE_DIR,
    PROFILES,
    Service,
    StackError,
    StackSettings,
)
from movie_harness.stack.services.cassandra import Cassandra
from movie_harness.stack.services.hdfs import DATANODES, Hdfs, HdfsDataNode, HdfsNameNode
from movie_harness.stack.services.kafka import Kafka
from movie_harness.stack.services.mongo import Mongo
from movie_harness.stack.services.monitoring import Prometheus, StatsdExporter
from movie_harness.stack.services.postgres import Postgres
from movie_harness.stack.services.redis import Redis
from movie_harness.stack.services.serving import ServingApi, TmdbSimulator
from movie_harness.stack.services.spark import SparkMaster, SparkWorker
from movie_harness.stack.services.superset import Superset

__all__ = [
    "CLUSTER",
    "DEFAULT",
    "DEFAULT_PORTS",
    "DEFAULT_STATE_DIR",
    "AirflowApiServer",
    "AirflowComponent",
    "Cassandra",
    "Hdfs",
    "HdfsDataNode",
    "HdfsNameNode",
    "Kafka",
    "Mongo",
    "PROFILES",
    "Postgres",
    "Prometheus",
    "Redis",
    "Service",
    "ServingApi",
    "SparkMaster",
    "SparkWorker",
    "StackError",
    "StackSettings",
    "StatsdExporter",
    "Superset",
    "TmdbSimulator",
    "airflow_environment",
    "airflow_health",
    "all_services",
]


SPARK_WORKERS = 2


def all_services(settings: StackSettings) -> list[Service]:
    """Every service of the settings' profile in start order (dependencies first); the demo's services (``optional``) last."""
    kafka = [Kafka(settings, node) for node in range(1, settings.kafka_brokers + 1)]
    cassandra = [Cassandra(settings, node) for node in range(1, settings.cassandra_nodes + 1)]
    if settings.cluster:
        hdfs = [HdfsNameNode(settings), *(HdfsDataNode(settings, node) for node in range(1, DATANODES + 1))]
        spark = [SparkMaster(settings), *(SparkWorker(settings, node) for node in range(1, SPARK_WORKERS + 1))]
    else:
        hdfs, spark = [Hdfs(settings)], []
    airflow = [
        AirflowApiServer(settings),
        AirflowComponent(settings, "scheduler", "scheduler"),
        AirflowComponent(settings, "dag-processor", "dag_processor"),
        AirflowComponent(settings, "triggerer", "triggerer"),
    ]
    core = [Postgres(settings), Redis(settings), *kafka, Mongo(settings), *cassandra, *hdfs, *spark]
    demo = [TmdbSimulator(settings), ServingApi(settings), StatsdExporter(settings), Prometheus(settings), Superset(settings)]
    return [*core, *airflow, *demo]
