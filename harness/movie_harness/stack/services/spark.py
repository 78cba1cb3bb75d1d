"""Spark standalone (the cluster profile): a master and its workers, from PySpark's own jars (``spark-class``).

The master's web UI serves the JSON API the standalone job runner reads (``/json/``) and the REST
submission server is on; each worker offers ``WORKER_CORES`` cores and ``WORKER_MEMORY`` to the
applications. Two workers of 2 cores on a 2-core machine oversubscribe it on purpose: the
streaming job holds one core (``spark.cores.max``), a batch job gets the rest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from movie_harness.stack.services.base import Service, StackError, StackSettings
from movie_pipeline.processes import http_json
from movie_pipeline.spark_conf import package_dir

WORKER_CORES = 2
WORKER_MEMORY = "2g"  # what a worker hands to executors: one streaming executor and one batch executor of 1 GiB
DAEMON_MEMORY = "256m"  # the master's and each worker's own heap


# what spark-submit on the cluster gives every application (SPARK_CONF_DIR/spark-defaults.conf); a job's own
# --conf wins (the streaming job holds one core: spark.cores.max 1)
SPARK_DEFAULTS = {
    "spark.executor.cores": "1",
    "spark.executor.memory": "1g",
    "spark.cores.max": "2",  # a batch job: one executor on each worker, so losing a worker leaves one
    "spark.locality.wait": "0",  # DataNodes and executors on loopback: never wait for a node-local slot
    "spark.executorEnv.TZ": "UTC",  # the Cassandra driver in the executors reads naive timestamps as UTC
}


def write_spark_defaults(settings: StackSettings) -> Path:
    """The Spark clients' ``SPARK_CONF_DIR`` (for the cluster profile): ``spark-defaults.conf``."""
    directory = settings.state_dir / "spark-client" / "conf"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "spark-defaults.conf").write_text("".join(f"{key} {value}\n" for key, value in SPARK_DEFAULTS.items()))
    return directory


def spark_home() -> Path:
    home = package_dir("pyspark")
    if home is None:
        raise StackError("PySpark is not installed in this environment: the Spark daemons run from its jars")
    return home


class _SparkDaemon(Service):
    start_timeout_s = 90.0

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": self.host,
            "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
            "SPARK_LOG_DIR": str(self.home),
            "PYSPARK_PYTHON": sys.executable,
        }

    def spark_class(self, main_class: str, args: list[str]) -> list[str]:
        return [str(spark_home() / "bin" / "spark-class"), main_class, *args]

    @property
    def master_ui(self) -> str:
        return f"http://{self.host}:{self.settings.ports['spark_master_ui']}"

    def master_state(self) -> dict | None:
        """The master's JSON API: status, workers, active applications and drivers."""
        return http_json(f"{self.master_ui}/json/")


class SparkMaster(_SparkDaemon):
    name = "spark-master"

    @property
    def url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        rest = f"-Dspark.master.rest.enabled=true -Dspark.master.rest.host={self.host} -Dspark.master.rest.port={self.settings.ports['spark_rest']}"
        return {**super().environment(), "SPARK_MASTER_OPTS": rest}

    def prepare(self) -> None:
        super().prepare()
        write_spark_defaults(self.settings)  # the clients' configuration (the stack's Airflow points SPARK_CONF_DIR at it)

    def command(self) -> list[str]:
        ui = str(self.settings.ports["spark_master_ui"])
        return self.spark_class(
            "org.apache.spark.deploy.master.Master", ["--host", self.host, "--port", str(self.port), "--webui-port", ui]
        )

    def is_ready(self) -> bool:
        return (self.master_state() or {}).get("status") == "ALIVE"


class SparkWorker(_SparkDaemon):
    depends_on = ("spark-master",)

    def __init__(self, settings: StackSettings, node: int) -> None:
        super().__init__(settings)
        self.node = node
        self.name = f"spark-worker-{node}"

    @property
    def port(self) -> int:
        """The worker's web UI (its RPC port is chosen by Spark)."""
        return self.settings.ports["spark_worker_ui"] + self.node - 1

    def command(self) -> list[str]:
        args = [
            SparkMaster(self.settings).url,
            "--host", self.host,
            "--cores", str(WORKER_CORES),
            "--memory", WORKER_MEMORY,
            "--webui-port", str(self.port),
            "--work-dir", str(self.data_dir),
        ]  # fmt: skip
        return self.spark_class("org.apache.spark.deploy.worker.Worker", args)

    def is_ready(self) -> bool:
        """Registered with the master and alive there."""
        workers = (self.master_state() or {}).get("workers") or []
        return any(w.get("state") == "ALIVE" and str(w.get("webuiaddress", "")).endswith(f":{self.port}") for w in workers)
