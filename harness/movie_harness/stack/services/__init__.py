"""The services of the local stack: how each is prepared, started and judged ready."""

from movie_harness.stack.services.airflow import AirflowApiServer, AirflowComponent, airflow_environment, airflow_health
from movie_harness.stack.services.base import DEFAULT_PORTS, DEFAULT_STATE_DIR, Service, StackError, StackSettings
from movie_harness.stack.services.cassandra import Cassandra
from movie_harness.stack.services.hdfs import Hdfs
from movie_harness.stack.services.kafka import Kafka
from movie_harness.stack.services.mongo import Mongo
from movie_harness.stack.services.monitoring import Prometheus, StatsdExporter
from movie_harness.stack.services.postgres import Postgres
from movie_harness.stack.services.redis import Redis
from movie_harness.stack.services.serving import ServingApi, TmdbSimulator
from movie_harness.stack.services.superset import Superset

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_STATE_DIR",
    "AirflowApiServer",
    "AirflowComponent",
    "Cassandra",
    "Hdfs",
    "Kafka",
    "Mongo",
    "Postgres",
    "Prometheus",
    "Redis",
    "Service",
    "ServingApi",
    "StackError",
    "StackSettings",
    "StatsdExporter",
    "Superset",
    "TmdbSimulator",
    "airflow_environment",
    "airflow_health",
    "all_services",
]


def all_services(settings: StackSettings) -> list[Service]:
    """Every service in start order (dependencies first); the demo's services (``optional``) last."""
    kafka = [Kafka(settings, node) for node in range(1, settings.kafka_brokers + 1)]
    airflow = [
        AirflowApiServer(settings),
        AirflowComponent(settings, "scheduler", "scheduler"),
        AirflowComponent(settings, "dag-processor", "dag_processor"),
        AirflowComponent(settings, "triggerer", "triggerer"),
    ]
    core = [Postgres(settings), Redis(settings), *kafka, Mongo(settings), Cassandra(settings), Hdfs(settings)]
    demo = [TmdbSimulator(settings), ServingApi(settings), StatsdExporter(settings), Prometheus(settings), Superset(settings)]
    return [*core, *airflow, *demo]
