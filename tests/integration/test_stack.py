"""The local stack for real: every service started, used through the project's clients, killed
with SIGKILL and brought back with its data, and stopped leaving nothing behind.

It runs on its own state directory and ports (default + 1000 or so), so a developer's own stack
on the default ports is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest

from movie_harness.stack import manager
from movie_harness.stack.airflow_api import AirflowApi, open_without_login
from movie_harness.stack.services import Cassandra, Hdfs, Kafka, StackSettings, all_services
from movie_pipeline.lake import GOLD_VIEWS, Lake
from movie_pipeline.processes import owned_process
from tests.conftest import REPO

TEST_PORTS = {
    "postgres": 6432,
    "redis": 7379,
    "kafka": 10092,
    "mongo": 28017,
    "cassandra": 10042,
    "hdfs": 9020,
    "hdfs_http": 10870,
    "airflow": 9080,
}


@pytest.fixture(scope="module")
def stack():
    # not under /tmp/pytest-of-root: PostgreSQL runs as the postgres user and must reach its data dir
    state_dir = REPO / ".local" / "test-stack"
    shutil.rmtree(state_dir, ignore_errors=True)
    env = {"STACK_STATE_DIR": str(state_dir)}
    env.update({f"STACK_{name.upper()}_PORT": str(port) for name, port in TEST_PORTS.items()})
    settings = StackSettings.from_env(env)
    started = {}
    try:
        manager.up(settings)
        started = {s.name: owned_process(s.pid_file) for s in all_services(settings)}
        yield settings
    finally:
        manager.down(settings)
    leftovers = [p.pid for p in started.values() if p is not None and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"processes survived stack down: {leftovers}"


def ready(settings: StackSettings) -> dict[str, str]:
    return {row["name"]: row["state"] for row in manager.status(settings)}


def kill_hard(settings: StackSettings, name: str) -> None:
    service = next(s for s in all_services(settings) if s.name == name)
    process = owned_process(service.pid_file)
    assert process is not None, f"{name} is not running"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_every_service_is_ready_and_status_is_a_json_contract(stack):
    rows = manager.status(stack)
    assert {row["name"] for row in rows} >= {"postgres", "redis", "kafka", "mongo", "airflow-api-server", "airflow-scheduler"}
    for row in rows:
        assert row["state"] == "ready", row
        assert set(row) >= {"name", "state", "host", "port", "pid", "rss_mb"}
        assert isinstance(row["pid"], int) and row["rss_mb"] > 0
    assert json.loads(json.dumps(rows)) == rows


def test_up_twice_changes_nothing(stack):
    before = {row["name"]: row["pid"] for row in manager.status(stack)}
    manager.up(stack, emit=lambda line: None)
    assert {row["name"]: row["pid"] for row in manager.status(stack)} == before


def test_redis_round_trip_and_restart(stack):
    import redis

    client = redis.Redis(host=stack.host, port=stack.ports["redis"])
    client.set("movie:1", "kept")
    client.set("movie:2", "brief", ex=1)
    assert client.get("movie:1") == b"kept" and 0 < client.ttl("movie:2") <= 1
    time.sleep(1.5)  # the AOF is fsynced every second
    assert client.get("movie:2") is None
    kill_hard(stack, "redis")
    manager.up(stack, ["redis"], emit=lambda line: None)
    assert redis.Redis(host=stack.host, port=stack.ports["redis"]).get("movie:1") == b"kept"


def test_mongo_round_trip_and_restart(stack):
    import pymongo

    client = pymongo.MongoClient(stack.host, stack.ports["mongo"], serverSelectionTimeoutMS=5000)
    views = client.movies.views
    views.insert_many([{"_id": 1, "genre": "Drama", "votes": 10}, {"_id": 2, "genre": "Drama", "votes": 5}])
    views.update_one({"_id": 3}, {"$set": {"genre": "Comedy", "votes": 7}}, upsert=True)
    views.update_one({"_id": 1}, {"$inc": {"votes": 1}})
    assert views.find_one({"_id": 1})["votes"] == 11
    totals = {d["_id"]: d["votes"] for d in views.aggregate([{"$group": {"_id": "$genre", "votes": {"$sum": "$votes"}}}])}
    assert totals == {"Drama": 16, "Comedy": 7}
    client.close()
    time.sleep(0.5)  # committed to the H2 file every 200 ms
    kill_hard(stack, "mongo")
    manager.up(stack, ["mongo"], emit=lambda line: None)
    client = pymongo.MongoClient(stack.host, stack.ports["mongo"], serverSelectionTimeoutMS=5000)
    assert client.movies.views.count_documents({}) == 3


def test_kafka_round_trip_keeps_topics_and_committed_offsets_across_a_kill(stack):
    from confluent_kafka import Consumer, Producer

    bootstrap = Kafka(stack).bootstrap_servers
    topic = f"movie-events-{uuid.uuid4().hex[:6]}"
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for n in range(10):
        producer.produce(topic, key=str(n % 3).encode(), value=json.dumps({"n": n}).encode())
    assert producer.flush(30) == 0

    def consume(expected: int) -> list[int]:
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "stack-test", "auto.offset.reset": "earliest", "enable.auto.commit": False}
        )
        consumer.subscribe([topic])
        seen: list[int] = []
        deadline = time.monotonic() + 60
        while len(seen) < expected and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                seen.append(json.loads(message.value())["n"])
        consumer.commit(asynchronous=False)
        consumer.close()
        return seen

    assert sorted(consume(10)) == list(range(10))
    kill_hard(stack, "kafka")
    manager.up(stack, ["kafka"], emit=lambda line: None)
    for n in range(10, 13):
        producer.produce(topic, value=json.dumps({"n": n}).encode())
    assert producer.flush(60) == 0
    assert sorted(consume(3)) == [10, 11, 12], "the group's committed offsets survived the kill"


def test_cassandra_round_trip_with_ttl_and_restart(stack):
    cluster = Cassandra(stack).cluster()
    session = cluster.connect()
    session.execute("CREATE KEYSPACE IF NOT EXISTS speed WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(
        "CREATE TABLE IF NOT EXISTS speed.views (movie_id int, window_start timestamp, votes int, PRIMARY KEY (movie_id, window_start))"
    )
    insert = session.prepare("INSERT INTO speed.views (movie_id, window_start, votes) VALUES (?, ?, ?) USING TTL ?")
    session.execute(insert, (1, 1_700_000_000_000, 5, 172_800))
    session.execute(insert, (2, 1_700_000_000_000, 9, 2))
    row = session.execute("SELECT votes, TTL(votes) AS ttl FROM speed.views WHERE movie_id = 1").one()
    assert row.votes == 5 and 172_000 < row.ttl <= 172_800
    time.sleep(2.5)  # movie 2's TTL runs out; the commit log is synced every second
    assert session.execute("SELECT * FROM speed.views WHERE movie_id = 2").one() is None
    cluster.shutdown()
    kill_hard(stack, "cassandra")
    manager.up(stack, ["cassandra"], emit=lambda line: None)
    cluster = Cassandra(stack).cluster()
    assert cluster.connect().execute("SELECT votes FROM speed.views WHERE movie_id = 1").one().votes == 5
    cluster.shutdown()


def webhdfs(stack: StackSettings, path: str, op: str) -> dict:
    with urllib.request.urlopen(f"http://{stack.host}:{stack.ports['hdfs_http']}/webhdfs/v1{path}?op={op}", timeout=10) as response:
        return json.load(response)


def spark_submit(job: str, lake_uri: str) -> str:
    """One batch job as the DAG runs it: spark-submit of the entrypoint in a JVM of its own."""
    import spark_jobs

    entrypoint = Path(spark_jobs.__file__).with_name(f"{job}.py")
    # spark.locality.wait=0: the MiniDFSCluster's DataNodes register as 127.0.0.1 while Spark's executor reports the
    # machine's address, so a task waiting for a node-local slot never gets one and the job stalls
    command = [str(Path(sys.executable).with_name("spark-submit")), "--master", "local[2]", "--conf", "spark.ui.enabled=false"]
    command += ["--conf", "spark.locality.wait=0"]
    command += [str(entrypoint), "--run-id", "hdfs-check", "--lake-uri", lake_uri]
    done = subprocess.run(command, env={**os.environ, "PYSPARK_PYTHON": sys.executable}, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{job} on {lake_uri} failed:\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.mark.extended  # make test has it on the cluster profile's HDFS (test_cluster_profile: the same gold on both)
def test_the_batch_jobs_on_hdfs_give_the_gold_of_local_files(stack, spark, start_simulator, tmp_path):
    """Bronze written over WebHDFS (the production lake), both jobs by spark-submit on hdfs://, gold equal to file://."""
    from pyspark.testing import assertDataFrameEqual

    from spark_jobs import bronze_to_silver, silver_to_gold
    from tests.integration.test_bronze_to_silver import CATALOGUE, NOW, ingest_into

    local = Lake((tmp_path / "lake").as_uri())
    ingest_into(start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=NOW), local.uri)
    bronze_to_silver.run(spark, local.uri, "hdfs-check")
    assert silver_to_gold.run(spark, local.uri, "hdfs-check")["movie_summary"] == len(CATALOGUE.listed_ids(NOW))

    base = f"/lake/batch-{uuid.uuid4().hex[:8]}"
    over_webhdfs = Lake(f"webhdfs://{stack.host}:{stack.ports['hdfs_http']}{base}")
    over_webhdfs.fs.put(local.path("bronze"), over_webhdfs.path("bronze"), recursive=True)
    for job in ("bronze_to_silver", "silver_to_gold"):
        assert "rows written:" in spark_submit(job, f"{Hdfs(stack).uri}{base}")

    assert webhdfs(stack, f"{base}/silver/_state.json", "GETFILESTATUS")["FileStatus"]["type"] == "FILE"
    fetched = tmp_path / "from-hdfs"
    over_webhdfs.fs.get(over_webhdfs.path("gold"), str(fetched), recursive=True)
    for view in GOLD_VIEWS:
        expected = spark.read.parquet(local.spark_uri("gold", view))
        assertDataFrameEqual(spark.read.parquet(str(fetched / view)), expected, checkRowOrder=False)


def test_spark_writes_parquet_to_hdfs_with_three_replicas_and_it_survives_a_kill(stack, spark):
    uri = f"{Hdfs(stack).uri}/lake/check"
    spark.createDataFrame([(1, "Drama"), (2, "Comedy")], ["id", "genre"]).write.mode("overwrite").parquet(uri)
    assert sorted(r.id for r in spark.read.parquet(uri).collect()) == [1, 2]
    files = webhdfs(stack, "/lake/check", "LISTSTATUS")["FileStatuses"]["FileStatus"]
    assert files and all(f["replication"] == 3 for f in files if f["type"] == "FILE")
    kill_hard(stack, "hdfs")
    manager.up(stack, ["hdfs"], emit=lambda line: None)
    assert sorted(r.genre for r in spark.read.parquet(uri).collect()) == ["Comedy", "Drama"]


def airflow_api(stack: StackSettings, path: str, method: str = "GET", body: dict | None = None) -> dict:
    base = f"http://{stack.host}:{stack.ports['airflow']}"
    password = json.loads((stack.state_dir / "airflow" / "passwords.json").read_text())["admin"]
    login = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=10) as response:
        token = json.load(response)["access_token"]
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_airflow_is_healthy_lists_the_dags_and_keeps_runs_across_a_database_kill(stack):
    health = airflow_api(stack, "/api/v2/monitor/health")
    for component in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        assert health[component]["status"] == "healthy", health
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not airflow_api(stack, "/api/v2/dags")["dags"]:
        time.sleep(2)
    dags = {d["dag_id"] for d in airflow_api(stack, "/api/v2/dags")["dags"]}
    assert dags == {path.removesuffix(".py") for path in os.listdir(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) if path.endswith(".py")}
    assert airflow_api(stack, "/api/v2/importErrors")["total_entries"] == 0
    run = airflow_api(stack, "/api/v2/dags/movie_batch/dagRuns", "POST", {"logical_date": None, "dag_run_id": "stack-test-run"})
    assert run["dag_run_id"] == "stack-test-run"

    airflow_pids = {row["name"]: row["pid"] for row in manager.status(stack) if row["name"].startswith("airflow-")}
    kill_hard(stack, "postgres")
    manager.up(stack, emit=lambda line: None)
    assert set(ready(stack).values()) == {"ready"}
    # restarted with their database: found "ready" on their way out, they exited seconds after the up
    restarted = {row["name"]: row["pid"] for row in manager.status(stack) if row["name"] in airflow_pids}
    assert all(restarted[name] != pid for name, pid in airflow_pids.items()), (airflow_pids, restarted)
    runs = airflow_api(stack, "/api/v2/dags/movie_batch/dagRuns")["dag_runs"]
    assert "stack-test-run" in {r["dag_run_id"] for r in runs}


def test_the_api_server_serves_the_data_quality_view(stack):
    plugins = {p["name"]: p for p in airflow_api(stack, "/api/v2/plugins")["plugins"]}
    views = {v["destination"]: v["href"] for v in plugins["data_quality"]["external_views"]}
    assert views == {"nav": "data-quality/", "dag_run": "data-quality/runs/{DAG_ID}/{RUN_ID}"}
    base = f"http://{stack.host}:{stack.ports['airflow']}"
    token = AirflowApi(stack).token
    request = urllib.request.Request(f"{base}/data-quality/", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as page:
        assert page.status == 200 and "<h1>Data quality</h1>" in page.read().decode()


def test_no_airflow_page_or_api_answers_without_a_login(stack):
    """Every GET of the REST API and the data-quality pages (the Data Docs too), without credentials: 401/403."""
    answered, asked = open_without_login(stack)
    print(f"{asked} GET operations and pages asked without a login")
    assert asked >= 60 and answered == {}
