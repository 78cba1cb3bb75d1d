"""The Spark settings every part uses: the batch DAG's spark-submit, the streaming job's runner,
the spark-submit entrypoints' sessions and the tests' sessions. No pyspark import here."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path

from movie_pipeline.errors import ConfigError

# UTC: the lake's timestamps are UTC and PySpark hands them to Python as naive local times. Adaptive execution may
# coalesce the partitions of a cached frame too: a merge's small cached frames are otherwise read as 200 tasks each.
SESSION_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
}
# the streaming job's state store and Cassandra writes: a few partitions, not the default 200; on a standalone
# cluster one core (an application takes every free core otherwise, and the batch jobs would wait for it forever)
STREAMING_CONF: dict[str, str] = {**SESSION_CONF, "spark.sql.shuffle.partitions": "4", "spark.cores.max": "1"}


def local_driver_env(master: str, env: Mapping[str, str]) -> dict[str, str]:
    """What a Spark driver with a local master needs in its environment: to bind to loopback (``SPARK_LOCAL_IP``)
    unless told otherwise. Without it Spark resolves the machine's name first and fails to start where the name
    does not resolve (a container or a chroot without it in /etc/hosts); a cluster master is left to its setup."""
    if master.startswith("local") and not env.get("SPARK_LOCAL_IP"):
        return {"SPARK_LOCAL_IP": "127.0.0.1"}
    return {}


def submit_args(conf: dict[str, str]) -> list[str]:
    """``--conf key=value`` arguments of spark-submit."""
    return [arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]


def _library(jar: Path) -> str:  # "kafka-clients-3.9.2.jar" -> "kafka-clients"
    return re.sub(r"-\d[\w.]*\.jar$", "", jar.name)


def package_dir(package: str) -> Path | None:
    """Where an installed package's files are, found without importing it (None when it is not installed)."""
    spec = importlib.util.find_spec(package)
    return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None


def connector_jars(jars_dir: Path) -> list[str]:
    """The jars of ``jars_dir`` for ``spark.jars`` (Kafka source and sink, ``from_avro``), without the libraries
    PySpark already ships. The directory is filled by the image build or, locally, by the harness (Maven)."""
    jars = sorted(jars_dir.glob("*.jar")) if jars_dir.is_dir() else []
    if not jars:
        raise ConfigError(
            f"no Spark connector jars in {jars_dir}: set SPARK_JARS_DIR to the directory holding the spark-sql-kafka and "
            "spark-avro jars with their dependencies (the image has them in /opt/movie-pipeline/jars; in a checkout "
            "`movie-pipeline stack up` fetches them), or SPARK_JARS_PACKAGES to Maven coordinates Spark resolves itself"
        )
    pyspark = package_dir("pyspark")
    shipped = {_library(jar) for jar in (pyspark / "jars").glob("*.jar")} if pyspark else set()
    return [str(jar) for jar in jars if _library(jar) not in shipped]
