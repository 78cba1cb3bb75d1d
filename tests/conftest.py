"""Shared test set-up: an isolated Airflow home and a TMDB simulator factory.

Airflow reads its configuration when first imported, so the environment is set here, before any
test module imports it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from movie_pipeline.spark_conf import local_driver_env

REPO = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="movie-pipeline-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["DATA_QUALITY_DIR"] = str(_AIRFLOW_HOME / "quality")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ.pop("TMDB_API_KEY", None)
# every Spark the tests start runs a local master: bound to loopback, it starts where the machine's name does not resolve
os.environ.update(local_driver_env("local[2]", os.environ))
os.environ.pop("TMDB_READ_TOKEN", None)

API_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def start_simulator():
    """``start_simulator(**TmdbSimulator kwargs)`` -> a running simulator, stopped after the test."""
    from movie_harness.tmdb_simulator import TmdbSimulator

    running = []

    def start(**kwargs) -> TmdbSimulator:
        simulator = TmdbSimulator(**kwargs).start()
        running.append(simulator)
        return simulator

    yield start
    for simulator in running:
        simulator.stop()


def pytest_sessionfinish(session, exitstatus):
    """Close what in-process tests left open before the interpreter shuts down: the Cassandra driver's scheduler
    thread raises into a shutting-down interpreter, and py4j's connections log from ``__del__`` into the streams
    pytest has closed."""
    if (speed_cassandra := sys.modules.get("movie_pipeline.speed.cassandra")) is not None:
        speed_cassandra.close_shared_sessions()
    logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session", autouse=True)
def spark_connector_jars() -> list[str]:
    """The Kafka and Avro connector jars, fetched once (Maven); SPARK_JARS_DIR points the speed jobs' runner at them."""
    from movie_harness.stack import jvm

    jars = jvm.spark_connector_jars()
    os.environ["SPARK_JARS_DIR"] = str(jvm.jar_dir(jvm.SPARK_CONNECTORS))
    return jars


@pytest.fixture(scope="session")
def spark(spark_connector_jars):
    """A small local Spark session shared by the tests that ask for it."""

    from pyspark.sql import SparkSession

    from movie_pipeline.spark_conf import SESSION_CONF

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers need this venv (pandas, vaderSentiment)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("movie-pipeline-tests")
        .config(map={**SESSION_CONF, "spark.sql.shuffle.partitions": "2"})
        .config("spark.jars", ",".join(spark_connector_jars))  # Kafka source/sink, from_avro
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated metadata DB in the test session's AIRFLOW_HOME (for ``dag.test()``)."""
    done = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def own_stack(name: str, ports: dict[str, int], kafka_brokers: int = 1, services: list[str] | None = None):
    """Start stack services on their own ports and state directory (``.local/<name>``); yield their settings; stop them.

    For module fixtures of tests that must not meet the developer's stack or another test's. The services started are
    those named by the ports unless ``services`` names them."""
    import shutil

    from movie_harness.stack import manager
    from movie_harness.stack.services import StackSettings

    state_dir = REPO / ".local" / name
    shutil.rmtree(state_dir, ignore_errors=True)
    env = {"STACK_STATE_DIR": str(state_dir), **{f"STACK_{n.upper()}_PORT": str(p) for n, p in ports.items()}}
    stack = StackSettings.from_env(env, kafka_brokers=kafka_brokers)
    try:
        manager.up(stack, services or list(ports))
        yield stack
    finally:
        manager.down(stack, services or list(ports))
