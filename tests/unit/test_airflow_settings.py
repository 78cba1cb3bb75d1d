import json

from movie_harness.airflow_settings import connection_env, connections

REQUIRED = {"tmdb_default", "spark_default", "kafka_default", "mongo_default", "cassandra_default", "analytics_default"}


def test_every_required_connection_is_declared_with_local_defaults():
    conns = connections()
    assert set(conns) == REQUIRED  # each one read by the code that uses its service (config.py, tasks.py, the DAGs)
    assert conns["tmdb_default"]["host"].startswith("http://127.0.0.1:")
    assert conns["mongo_default"] == {"conn_type": "mongo", "host": "127.0.0.1", "port": 27017, "schema": "movies"}


def test_environment_form_applies_overrides():
    env = connection_env(overrides={"tmdb_default": {"host": "http://sim:1/3"}})
    tmdb = json.loads(env["AIRFLOW_CONN_TMDB_DEFAULT"])
    assert tmdb["host"] == "http://sim:1/3" and tmdb["extra"]["rate_limit"] == 4
    assert json.loads(env["AIRFLOW_CONN_CASSANDRA_DEFAULT"])["schema"] == "movie_speed"  # SPEED_KEYSPACE's default


def test_an_override_of_extra_keeps_the_other_extra_fields():
    env = connection_env(overrides={"tmdb_default": {"extra": {"rate_limit": 40}}})
    assert json.loads(env["AIRFLOW_CONN_TMDB_DEFAULT"])["extra"] == {"rate_limit": 40, "concurrency": 8, "timeout": 10, "max_retries": 6}
