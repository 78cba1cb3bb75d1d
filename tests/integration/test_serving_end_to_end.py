"""The Lambda architecture end to end: ``movie_batch`` (Airflow, Spark, the TMDB simulator) -> gold;
live events (Kafka) -> the streaming job -> Cassandra; ``movie_serving_export`` (Airflow) -> MongoDB;
the API's answer for a movie equals the merge computed here from gold and the produced events,
exact at the 48-hour boundary."""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pymongo
import pytest

from movie_harness.airflow_settings import connection_env
from movie_harness.stack import manager
from movie_harness.stack.services import Kafka
from movie_harness.tmdb_simulator import Catalogue
from movie_pipeline.config import settings_from_env
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from movie_pipeline.merge import cutoff
from movie_pipeline.serving import store
from movie_pipeline.speed import cassandra
from movie_pipeline.speed.jobs import SPEED_VIEWS
from movie_pipeline.speed.runner import LocalProcessRunner
from movie_pipeline.speed.topics import ensure_topics
from tests.conftest import own_stack
from tests.integration.test_movie_batch_dag import use_simulator
from tests.integration.test_speed_layer import TEXTS, expected_windows, produce, wait_for, windows_equal

pytestmark = pytest.mark.integration
PORTS = {"kafka": 15092, "cassandra": 15042, "mongo": 15017, "redis": 15379, "postgres": 15432}


@pytest.fixture(scope="module")
def services():
    yield from own_stack("test-end-to-end-stack", PORTS)


def hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def gold_hours(lake_uri: str) -> dict[int, dict[datetime, tuple[int, float]]]:
    """gold.sentiment_hourly as movie -> hour -> (reviews, sentiment sum), read from the Parquet Spark wrote."""
    by_movie: dict[int, dict] = defaultdict(dict)
    for row in pq.read_table(Lake(lake_uri).path("gold", "sentiment_hourly")).to_pylist():
        by_movie[row["movie_id"]][row["hour"].replace(tzinfo=UTC)] = (row["reviews"], row["sentiment_sum"])
    return by_movie


def live_events(movie_id: int, now: datetime) -> list[tuple[str, dict]]:
    """Reviews a minute before the cutoff and exactly on it, for this hour's cutoff and the next one's (the test
    takes minutes: the API may answer after the hour has turned), later ones, and fresh metrics."""
    boundary = cutoff(now)
    at = [boundary + timedelta(hours=h, minutes=m) for h in (0, 1) for m in (-1, 0, 1)]
    at += [boundary + timedelta(hours=5, minutes=7), now - timedelta(minutes=20), now - timedelta(minutes=19)]
    events = [
        ("review", {"review_id": f"live{i}", "movie_id": movie_id, "event_time": t, "created_at": t, "author": "e2e", "rating": None,
                    "content": TEXTS[i % len(TEXTS)]})
        for i, t in enumerate(at)
    ]  # fmt: skip
    # fresh metrics: after the batch's as_of (the end of the latest complete 4-hour interval, maybe minutes ago), so
    # that they are the freshest observation whatever the time of day
    batch_end = Interval.latest_complete(now, timedelta(hours=4)).end
    for i in range(3):
        t = max(now - timedelta(minutes=15 - 3 * i), batch_end + (now - batch_end) * (i + 1) / 4).replace(microsecond=0)
        events.append(
            ("metric", {"movie_id": movie_id, "event_time": t, "popularity": 900.5 + i, "vote_average": 7.5, "vote_count": 5000 + i,
                        "source": "e2e"})
        )  # fmt: skip
    return events


def test_the_api_answers_the_merge_of_the_batch_and_the_speed_layer_exactly_at_the_boundary(
    services, airflow_db, start_simulator, tmp_path, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag
    from fastapi.testclient import TestClient

    from movie_pipeline.serving import api, keys

    now = datetime.now(UTC)
    lake_uri = (tmp_path / "lake").as_uri()
    database = f"e2e_{now:%H%M%S}"
    env = {
        "LAKE_URI": lake_uri, "DATA_QUALITY_DIR": str(tmp_path / "quality"),
        "KAFKA_BOOTSTRAP_SERVERS": Kafka(services).bootstrap_servers, "KAFKA_PARTITIONS": "1",
        "CASSANDRA_HOSTS": services.host, "CASSANDRA_PORT": str(services.ports["cassandra"]), "SPEED_KEYSPACE": database,
        "SPEED_CHECKPOINT_URI": (tmp_path / "checkpoints").as_uri(), "SPEED_TRIGGER": "2 seconds",
        "MONGO_URI": f"mongodb://{services.host}:{services.ports['mongo']}", "MONGO_DATABASE": database,
        "REDIS_URL": f"redis://{services.host}:{services.ports['redis']}/0",
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    use_simulator(monkeypatch, start_simulator(catalogue=Catalogue(300, seed=42), rate_limit=1000, now=now.timestamp()))
    # inside Airflow the connections are the source of the endpoints: this stack's, for every service the DAGs use
    stores = {
        "mongo_default": {"host": services.host, "port": services.ports["mongo"], "schema": database},
        "analytics_default": {"host": services.host, "port": services.ports["postgres"]},
        "cassandra_default": {"host": services.host, "port": services.ports["cassandra"], "schema": database},
        "kafka_default": {"extra": {"bootstrap.servers": Kafka(services).bootstrap_servers}},
    }
    for name, value in connection_env(overrides=stores).items():
        if name != "AIRFLOW_CONN_TMDB_DEFAULT":  # the simulator's, set above
            monkeypatch.setenv(name, value)
    settings = settings_from_env()
    dags = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])

    # the batch layer: the latest complete interval, simulated TMDB as of now
    batch = dags.get_dag("movie_batch").test(logical_date=None)
    assert batch.state == "success"
    gold = gold_hours(lake_uri)
    boundary = cutoff(now)
    # the movie whose gold reviews lie closest around the cutoff: its hours after it must give way to the speed layer
    movie_id = min(gold, key=lambda m: min(abs((h - boundary).total_seconds()) for h in gold[m]))

    # the speed layer: live events through Kafka and the streaming job into Cassandra
    ensure_topics(settings.speed)
    cassandra.ensure_schema(settings.speed)
    events = live_events(movie_id, now)
    produce(settings.speed.kafka_bootstrap_servers, events)
    runner = LocalProcessRunner.from_environment(
        {**{name: os.environ[name] for name in env}, "SPEED_WATERMARK": "10 minutes", "SPEED_JOBS_DIR": str(tmp_path / "jobs")}
    )
    runner.start(SPEED_VIEWS)
    session = cassandra.connect(settings.speed)
    try:
        windows = expected_windows(events)
        wait_for(
            lambda: windows_equal(session, settings.speed.keyspace, windows), 300, "the live windows", lambda: runner.log_tail(SPEED_VIEWS)
        )
    finally:
        runner.stop(SPEED_VIEWS)
        session.cluster.shutdown()

    # the serving layer: the export DAG, then the API
    export = dags.get_dag("movie_serving_export").test(logical_date=None)
    assert export.state == "success"
    db = pymongo.MongoClient(settings.serving.mongo_uri, tz_aware=True)[database]
    key = keys.create(db, "e2e")
    with TestClient(api.create_app(settings)) as client:
        for _ in range(2):  # an hour may turn between the answer and the expectation: then once more
            asked_at = datetime.now(UTC)
            sentiment = client.get(f"/v1/movies/{movie_id}/sentiment?window=7d", headers={"X-API-Key": key}).json()
            if cutoff(datetime.now(UTC)) == cutoff(asked_at):
                break
        movie = client.get(f"/v1/movies/{movie_id}", headers={"X-API-Key": key}).json()

    # the merge computed here: gold's hours before the cutoff, the produced events' hours from it on
    boundary, since = cutoff(asked_at), asked_at - timedelta(days=7, hours=1)
    want = {h: (n, total, "batch") for h, (n, total) in gold[movie_id].items() if since <= h < boundary}
    speed_hours: dict[datetime, list] = defaultdict(lambda: [0, 0.0])
    for (_, start), window in windows.items():
        if start >= boundary:
            speed_hours[hour(start)][0] += window["review_count"]
            speed_hours[hour(start)][1] += window["sentiment_sum"]
    want |= {h: (n, total, "speed") for h, (n, total) in speed_hours.items()}
    got = {datetime.fromisoformat(p["start"]): (p["reviews"], p["sentiment_sum"], p["source"]) for p in sentiment["data"]}
    assert sentiment["cutoff"] and datetime.fromisoformat(sentiment["cutoff"]) == boundary
    assert set(got) == set(want), f"hours: API {sorted(got)} vs merge {sorted(want)}"
    for start, (n, total, source) in want.items():
        assert got[start][0] == n and got[start][1] == pytest.approx(total) and got[start][2] == source, start
    # the boundary itself: a review a minute before the cutoff is the batch's business (not in gold: absent), the
    # one exactly on it is counted, in the speed layer's first hour
    reviewed_at = {record["event_time"] for kind, record in events if kind == "review"}
    assert {boundary - timedelta(minutes=1), boundary} <= reviewed_at
    assert got[boundary][2] == "speed" and got[boundary][0] == len({t for t in reviewed_at if hour(t) == boundary})
    assert not any(start >= boundary and source == "batch" for start, (_, _, source) in got.items())
    assert sentiment["gap"] is None and sentiment["freshness"]["speed_merged"] is True

    # the dashboards' tables (PostgreSQL): the same version, the same merged hours
    first = store.current(db)
    tables = analytics_tables(services, movie_id)
    assert tables["movies"] == first["counts"]["movies"]
    assert tables["freshness"]["movies"]["version"] == first["version"] and tables["freshness"]["movies"]["speed_as_of"] is not None
    published = {h: (n, total, source) for h, (n, total, source) in tables["hours"].items() if h >= since}
    assert published.keys() == got.keys()
    for start, (n, total, source) in got.items():
        assert published[start][0] == n and published[start][1] == pytest.approx(total) and published[start][2] == source, start

    # MongoDB down when the next export starts: the task fails and Airflow retries it (30 s later); once MongoDB
    # is back, and before the retry, readers still find the previous version complete; the retry publishes the next
    manager.down(services, ["mongo"], emit=lambda _: None)
    meanwhile = {}

    def restart_mongo_after_the_first_failure() -> None:
        wait_for(lambda: export_try_failed(), 120, "the export's first try to fail")
        manager.up(services, ["mongo"], emit=lambda _: None)
        reader = pymongo.MongoClient(settings.serving.mongo_uri, tz_aware=True)[database]
        meanwhile["current"] = store.current(reader)["version"]
        meanwhile["movies"] = store.view(reader, "movies", first["version"]).count_documents({})

    restarter = threading.Thread(target=restart_mongo_after_the_first_failure)
    restarter.start()
    retried = dags.get_dag("movie_serving_export").test(logical_date=None)
    restarter.join()
    assert meanwhile == {"current": first["version"], "movies": first["counts"]["movies"]}
    assert retried.state == "success" and retried.get_task_instance("export_serving_views").try_number == 2
    db = pymongo.MongoClient(settings.serving.mongo_uri, tz_aware=True)[database]
    record = store.current(db)
    assert record["previous"] == first["version"] and record["counts"] == first["counts"]
    assert store.view(db, "movies", record["version"]).count_documents({}) == first["counts"]["movies"]

    latest = max((record for kind, record in events if kind == "metric"), key=lambda record: record["event_time"])
    assert (movie["data"]["popularity"], movie["data"]["vote_count"]) == (latest["popularity"], latest["vote_count"])
    assert movie["data"]["sources"]["metrics"]["source"] == "speed" and movie["freshness"]["export_version"]


def analytics_tables(services, movie_id: int) -> dict:
    """What the export wrote to the ``analytics`` schema: movie rows, the freshness per view, one movie's hours."""
    import psycopg2

    from movie_harness.stack.services.postgres import ANALYTICS

    connection = psycopg2.connect(host=services.host, port=services.ports["postgres"], user=ANALYTICS, password=ANALYTICS, dbname=ANALYTICS)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM analytics.movies")
            movies = cursor.fetchone()[0]
            cursor.execute("SELECT view, version, batch_as_of, speed_as_of FROM analytics.freshness")
            freshness = {view: {"version": version, "batch_as_of": batch, "speed_as_of": speed} for view, version, batch, speed in cursor}
            cursor.execute("SELECT hour, reviews, sentiment_sum, source FROM analytics.sentiment_hourly WHERE movie_id = %s", (movie_id,))
            hours = {at: (n, total, source) for at, n, total, source in cursor.fetchall()}
    finally:
        connection.close()
    return {"movies": movies, "freshness": freshness, "hours": hours}


def export_try_failed() -> bool:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        states = session.query(TaskInstance.state).filter(TaskInstance.dag_id == "movie_serving_export").all()
        return any(state == "up_for_retry" for (state,) in states)
