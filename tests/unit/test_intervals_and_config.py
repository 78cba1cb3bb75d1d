import json
import logging
from datetime import UTC, date, datetime

import pytest

from movie_pipeline.config import settings_from_env
from movie_pipeline.errors import ConfigError, IntervalError
from movie_pipeline.intervals import Interval
from movie_pipeline.spark_conf import local_driver_env
from movie_pipeline.tasks import interval_for_run


def test_interval_parsing_partition_and_days():
    interval = Interval.parse("2026-11-20T20:00:00Z", "2026-11-21T00:00:00+00:00")
    assert interval.partition == "interval_start=20261120T200000Z"
    assert interval.days() == (date(2026, 11, 20), date(2026, 11, 20))
    assert Interval.parse("2026-11-20T22:00", "2026-11-21T02:00").days() == (date(2026, 11, 20), date(2026, 11, 21))


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [("yesterday", "2026-11-20", "not an ISO 8601 time"), ("2026-11-20T04:00Z", "2026-11-20T04:00Z", "empty interval")],
)
def test_bad_intervals_say_what_is_wrong(start, end, message):
    with pytest.raises(IntervalError, match=message):
        Interval.parse(start, end)


def test_settings_from_env_defaults_and_errors():
    settings = settings_from_env({})
    assert settings.tmdb.base_url == "https://api.themoviedb.org/3" and settings.tmdb.rate_limit == 4
    assert settings.lake_uri.startswith("file://")
    with pytest.raises(ConfigError, match="TMDB_RATE_LIMIT must be a float"):
        settings_from_env({"TMDB_RATE_LIMIT": "fast"})
    with pytest.raises(ConfigError, match="no TMDB credentials"):
        settings.tmdb.require_credentials()
    secret = settings_from_env({"TMDB_API_KEY": "f" * 32})
    assert "f" * 32 not in repr(secret)


def test_speed_jobs_name_known_jobs_or_none():
    assert settings_from_env({}).speed.jobs == ("producer", "speed_views")
    assert settings_from_env({"SPEED_JOBS": ""}).speed.jobs == ("producer", "speed_views")  # empty keeps the default
    assert settings_from_env({"SPEED_JOBS": "speed_views"}).speed.jobs == ("speed_views",)
    assert settings_from_env({"SPEED_JOBS": "none"}).speed.jobs == ()
    with pytest.raises(ConfigError, match=r"SPEED_JOBS names unknown jobs streamer; .* \(or none: no job\)"):
        settings_from_env({"SPEED_JOBS": "producer,streamer"})


def test_the_speed_views_consistency_and_the_job_runner_are_checked():
    from movie_pipeline.speed.runner import LocalProcessRunner, StandaloneRunner, runner_for

    speed = settings_from_env({}).speed
    assert (speed.cassandra_consistency, speed.cassandra_replication, speed.job_runner) == ("QUORUM", 1, "local")
    assert type(runner_for(speed)) is LocalProcessRunner
    with pytest.raises(ConfigError, match="CASSANDRA_CONSISTENCY must be one of ONE, .*QUORUM"):
        settings_from_env({"CASSANDRA_CONSISTENCY": "MOST"})
    with pytest.raises(ConfigError, match="SPEED_JOB_RUNNER must be one of local, standalone, got 'yarn'"):
        settings_from_env({"SPEED_JOB_RUNNER": "yarn"})
    standalone = settings_from_env({"SPEED_JOB_RUNNER": "standalone", "SPARK_MASTER": "spark://127.0.0.1:7077"}).speed
    with pytest.raises(ConfigError, match="needs SPARK_MASTER=spark://host:port .* and SPARK_MASTER_UI_URL"):
        runner_for(standalone)  # the settings alone are fine: a Spark job reading them never builds a runner
    ui = settings_from_env({"SPEED_JOB_RUNNER": "standalone", "SPARK_MASTER": "spark://h:7077", "SPARK_MASTER_UI_URL": "http://h:8081/"})
    assert runner_for(ui.speed).master_ui == "http://h:8081" and isinstance(runner_for(ui.speed), StandaloneRunner)


class _Run:
    run_after = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    run_id = "manual__x"


def test_runs_use_their_interval_and_manual_runs_the_latest_complete_one():
    scheduled = {"data_interval_start": datetime(2026, 11, 20, 4, tzinfo=UTC), "data_interval_end": datetime(2026, 11, 20, 8, tzinfo=UTC)}
    assert interval_for_run(**scheduled, dag_run=None) == Interval(
        datetime(2026, 11, 20, 4, tzinfo=UTC), datetime(2026, 11, 20, 8, tzinfo=UTC)
    )
    assert interval_for_run(None, None, _Run()) == Interval(datetime(2026, 11, 20, 4, tzinfo=UTC), datetime(2026, 11, 20, 8, tzinfo=UTC))


def _airflow_connection(monkeypatch, conn_id: str, **fields) -> None:
    """Define a connection the way a deployment can (AIRFLOW_CONN_<ID> as JSON): Airflow's own lookup reads it."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_connections_fill_the_endpoints_and_say_which_fields_change_nothing(monkeypatch, caplog, capsys):
    from movie_pipeline.config import environment_from_airflow, settings_from_airflow

    for name in ("TMDB", "KAFKA", "CASSANDRA", "SPARK"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{name}_DEFAULT", raising=False)
    _airflow_connection(
        monkeypatch,
        "kafka_default",
        conn_type="kafka",
        extra={"bootstrap.servers": "b1:9092,b2:9092", "group.id": "g", "sasl.mechanism": "PLAIN"},
    )
    _airflow_connection(monkeypatch, "cassandra_default", conn_type="cassandra", host="c1,c2", port=9142, schema="views", login="reader")
    _airflow_connection(monkeypatch, "spark_default", conn_type="spark", host="spark://master", port=7077)
    environment = {"KAFKA_BOOTSTRAP_SERVERS": "old:9092", "CASSANDRA_HOSTS": "old"}
    with caplog.at_level(logging.WARNING, logger="movie_pipeline.config"):
        env = environment_from_airflow(environment)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "b1:9092,b2:9092"  # the connection wins over a variable for an endpoint
    assert (env["CASSANDRA_HOSTS"], env["CASSANDRA_PORT"], env["SPEED_KEYSPACE"]) == ("c1,c2", "9142", "views")
    assert env["SPARK_MASTER"] == "spark://master:7077"
    speed = settings_from_airflow(environment).speed
    assert speed.cassandra_hosts == ("c1", "c2") and speed.cassandra_port == 9142 and speed.keyspace == "views"
    # Airflow's SDK may route the standard logging through its own handler to stdout: read both
    logged = caplog.text + capsys.readouterr().out
    assert "connection kafka_default sets extra.sasl.mechanism, which the pipeline does not use" in logged, logged
    assert "connection cassandra_default sets login, which" in logged and "group.id" not in logged


def test_an_absent_connection_leaves_its_settings_to_the_environment(monkeypatch):
    from movie_pipeline.config import environment_from_airflow

    for name in ("TMDB", "KAFKA", "CASSANDRA", "SPARK"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{name}_DEFAULT", raising=False)
    env = environment_from_airflow({"KAFKA_BOOTSTRAP_SERVERS": "k:9092", "CASSANDRA_HOSTS": "c"})
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "k:9092" and env["CASSANDRA_HOSTS"] == "c" and "SPARK_MASTER" not in env


def test_a_local_spark_driver_binds_to_loopback_unless_told_otherwise():
    from movie_pipeline.speed.runner import LocalProcessRunner

    assert local_driver_env("local[2]", {}) == {"SPARK_LOCAL_IP": "127.0.0.1"}
    assert local_driver_env("local[*]", {"SPARK_LOCAL_IP": "10.0.0.5"}) == {}  # an address set is kept
    assert local_driver_env("spark://master:7077", {}) == {}  # a cluster's driver address is its deployment's choice
    local = LocalProcessRunner(settings_from_env({"SPARK_MASTER": "local[2]"}).speed, {"SPARK_LOCAL_IP": ""})
    assert local.env["SPARK_LOCAL_IP"] == "127.0.0.1"
    cluster = LocalProcessRunner(settings_from_env({"SPARK_MASTER": "spark://m:7077"}).speed, {"SPARK_LOCAL_IP": ""})
    assert cluster.env["SPARK_LOCAL_IP"] == ""


def test_lake_paths_of_an_airflow_run_are_valid_hdfs_names_and_an_hdfs_lake_is_reached_over_webhdfs():
    from movie_pipeline.lake import Lake

    lake = Lake("hdfs://namenode:8020/lake", webhdfs="namenode:9870")
    run_id = "scheduled__2026-12-02T16:00:00+00:00"  # HDFS refuses ':' in a path
    assert (
        lake.staging_uri(f"silver-{run_id}", "movies")
        == "hdfs://namenode:8020/lake/_staging/silver-scheduled__2026-12-02T16_00_00+00_00/movies"
    )
    assert ":" not in lake.staging(run_id) and ":" not in lake.trash(run_id)
    assert type(lake.fs).__name__ == "WebHDFS" and lake.root == "/lake"
    assert lake.url(lake.path("gold", "trending")) == "hdfs://namenode:8020/lake/gold/trending"
    assert type(Lake("file:///tmp/lake").fs).__name__ == "LocalFileSystem"
