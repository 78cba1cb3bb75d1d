"""Airflow 3 (api-server, scheduler, dag-processor, triggerer) on the stack's PostgreSQL."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from movie_harness import REPO_ROOT
from movie_harness.airflow_settings import connection_env
from movie_harness.stack import jvm
from movie_harness.stack.services.base import Service, StackError, StackSettings
from movie_harness.stack.services.cassandra import Cassandra
from movie_harness.stack.services.hdfs import HdfsNameNode, write_client_conf
from movie_harness.stack.services.kafka import Kafka
from movie_harness.stack.services.postgres import Postgres
from movie_harness.stack.services.spark import SparkMaster, write_spark_defaults
from movie_pipeline.config import REAL_TMDB_URL
from movie_pipeline.processes import http_json


class AirflowComponent(Service):
    """One Airflow 3 component on the stack's PostgreSQL, LocalExecutor, this project's DAGs."""

    depends_on = ("airflow-api-server",)  # it migrates the metadata DB and serves the health check
    start_timeout_s = 120.0
    component = ""
    health_key = ""

    def __init__(self, settings: StackSettings, component: str, health_key: str) -> None:
        super().__init__(settings)
        self.component, self.health_key = component, health_key
        self.name = f"airflow-{component}"

    @property
    def airflow_home(self) -> Path:
        return self.settings.state_dir / "airflow"

    @property
    def home(self) -> Path:
        return self.airflow_home / self.component

    @property
    def port(self) -> int:
        return self.settings.ports["airflow"]

    def environment(self) -> dict[str, str]:
        return airflow_environment(self.settings)

    def command(self) -> list[str]:
        return [str(Path(sys.executable).with_name("airflow")), self.component]

    def is_ready(self) -> bool:
        health = airflow_health(self.settings)
        if health is None:
            return False
        if not self.health_key:
            return True
        return (health.get(self.health_key) or {}).get("status") == "healthy"


class AirflowApiServer(AirflowComponent):
    def __init__(self, settings: StackSettings) -> None:
        super().__init__(settings, "api-server", "")
        self.depends_on = ("postgres",)

    def prepare(self) -> None:
        super().prepare()
        jvm.fetch(jvm.SPARK_CONNECTORS)  # for the streaming job the supervisor submits (SPARK_JARS_DIR)
        env = self.environment()
        done = subprocess.run([self.command()[0], "db", "migrate"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"`airflow db migrate` failed: {(done.stdout + done.stderr).strip()[-1200:]}")

    def command(self) -> list[str]:
        return [*super().command(), "--port", str(self.port), "--host", self.host]

    def after_ready(self) -> None:
        credentials = self.airflow_home / "admin-credentials.txt"
        if credentials.exists():
            return
        passwords_file = self.airflow_home / "passwords.json"
        if passwords_file.exists():
            password = json.loads(passwords_file.read_text()).get("admin")
            credentials.write_text(f"Airflow UI http://{self.host}:{self.port}  user: admin  password: {password}\n")
            credentials.chmod(0o600)
            print(f"Airflow admin credentials (shown once, kept in {credentials}): user admin, password {password}")


def airflow_environment(settings: StackSettings) -> dict[str, str]:
    """The environment every Airflow process of the stack shares."""
    home = settings.state_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    secret_file = home / "jwt-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    postgres = Postgres(settings)
    base_url = f"http://{settings.host}:{settings.ports['airflow']}"
    env = {
        **os.environ,
        **connection_env(overrides=stack_connections(settings)),
        **service_environment(settings),
        **cluster_environment(settings),
        "AIRFLOW_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # spark-submit of this venv, for the Spark tasks
        "AIRFLOW_UI_URL": base_url,  # links to data-quality reports
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "SPARK_JARS_DIR": str(jvm.jar_dir(jvm.SPARK_CONNECTORS)),
        # the tasks' local Spark binds to loopback instead of resolving the machine's name (a chroot or container
        # whose /etc/hosts lacks it fails spark-submit with UnknownHostException)
        "SPARK_LOCAL_IP": settings.host,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",  # LocalExecutor keeps this many worker processes: sized for 2 cores
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.sqlalchemy_url(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": secret_file.read_text().strip(),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD", None)
    return env


SIMULATOR_RATE_LIMIT = 40  # req/s: the simulator's limit is TMDB's 50; the connection's 4 is for the real TMDB


def uses_real_tmdb() -> bool:
    """A TMDB credential in the environment: the stack's Airflow (and the demo) then use the real TMDB."""
    return bool(os.environ.get("TMDB_API_KEY") or os.environ.get("TMDB_READ_TOKEN"))


def stack_connections(settings: StackSettings) -> dict[str, dict]:
    """Overrides of ``airflow_settings.yaml``'s connections: this stack's ports, and TMDB.

    TMDB is the stack's simulator, unless ``TMDB_API_KEY`` or ``TMDB_READ_TOKEN`` is set: then the real
    TMDB (``TMDB_BASE_URL`` if set), with that credential (explicitly set variables win in the tasks)."""
    host, ports = settings.host, settings.ports
    real_tmdb = uses_real_tmdb()
    return {
        "tmdb_default": {"host": os.environ.get("TMDB_BASE_URL") or REAL_TMDB_URL}
        if real_tmdb
        else {"host": f"http://{host}:{ports['tmdb_simulator']}/3", "extra": {"rate_limit": SIMULATOR_RATE_LIMIT}},
        "kafka_default": {"extra": {"bootstrap.servers": Kafka(settings).bootstrap_servers, "group.id": "movie-pipeline"}},
        "mongo_default": {"host": host, "port": ports["mongo"]},
        "cassandra_default": {"host": ",".join(Cassandra(settings).hosts), "port": ports["cassandra"]},
        "analytics_default": {"host": host, "port": ports["postgres"]},
        **({"spark_default": {"host": f"spark://{host}", "port": ports["spark_master"]}} if settings.cluster else {}),
    }


def cluster_environment(settings: StackSettings) -> dict[str, str]:
    """The cluster profile's settings (the DAGs and tasks are the same: only these and the connections differ):
    the lake and the checkpoints on HDFS, replication 3 for the topics and the speed keyspace, the streaming job
    on the Spark master (the standalone runner), the HDFS and Spark client configuration."""
    if not settings.cluster:
        return {}
    master_ui = f"http://{settings.host}:{settings.ports['spark_master_ui']}"
    return {
        "LAKE_URI": f"{HdfsNameNode(settings).uri}/lake",
        "LAKE_WEBHDFS": f"{settings.host}:{settings.ports['hdfs_http']}",
        "HADOOP_CONF_DIR": str(write_client_conf(settings, HdfsNameNode(settings).core_site())),
        "SPARK_CONF_DIR": str(write_spark_defaults(settings)),
        "KAFKA_REPLICATION": str(min(3, settings.kafka_brokers)),
        "CASSANDRA_REPLICATION": str(settings.cassandra_nodes),
        "SPEED_JOB_RUNNER": "standalone",
        "SPARK_MASTER_UI_URL": master_ui,
        # the jobs' pids and the producer's ledger of what reached this cluster's Kafka: the cluster's own
        "SPEED_JOBS_DIR": str(settings.state_dir / "speed" / "jobs"),
        "PRODUCER_LEDGER": str(settings.state_dir / "speed" / "producer-ledger.sqlite"),
    }


def speed_runner(settings: StackSettings):
    """The speed jobs' runner as the stack's supervisor builds it (the local one, or on the cluster the standalone one):
    for the demo's own look at the jobs and for stopping them."""
    from movie_pipeline.speed.runner import runner_from_environment

    master = {"SPARK_MASTER": SparkMaster(settings).url} if settings.cluster else {}  # what spark_default says there
    return runner_from_environment({**cluster_environment(settings), **master})


def service_environment(settings: StackSettings) -> dict[str, str]:
    """Where the speed jobs' and Airflow's metrics go. (The services' endpoints are the connections: stack_connections.)"""
    host, ports = settings.host, settings.ports
    return {
        "PRODUCER_METRICS_PORT": str(ports["producer_metrics"]),
        "SPEED_METRICS_PORT": str(ports["stream_metrics"]),
        "AIRFLOW__METRICS__STATSD_ON": "True",  # to the statsd_exporter, when the demo runs it (UDP: harmless otherwise)
        "AIRFLOW__METRICS__STATSD_HOST": host,
        "AIRFLOW__METRICS__STATSD_PORT": str(ports["statsd"]),
    }


def airflow_health(settings: StackSettings) -> dict | None:
    """The api-server's ``/api/v2/monitor/health`` document, or None when it does not answer."""
    return http_json(f"http://{settings.host}:{settings.ports['airflow']}/api/v2/monitor/health")
