"""The cluster profile: the same DAGs on Spark standalone (master + 2 workers), HDFS (NameNode + 3
DataNodes), 3 Kafka brokers and 3 Cassandra nodes give the answers of one node, and losing a node
costs nothing.

One cluster stack for the module, on its own ports and state directory (about 9 GiB resident): its
Airflow runs ``movie_batch`` (the scheduler's run of the latest interval, a full load), the speed
supervisor (the producer, and the streaming job on the Spark master through the standalone
runner) and ``movie_serving_export``, as ``make demo PROFILE=cluster`` does.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC

import pytest

from movie_harness.demo import BATCH, DAGS, EXPORT, SUPERVISOR, follow_run, newest_run
from movie_harness.stack import manager
from movie_harness.stack.airflow_api import AirflowApi
from movie_harness.stack.services import Cassandra, HdfsNameNode, Kafka, StackSettings, all_services
from movie_harness.stack.services.airflow import cluster_environment, speed_runner
from movie_pipeline.config import settings_from_env
from movie_pipeline.lake import GOLD_VIEWS, Lake
from movie_pipeline.processes import owned_process
from movie_pipeline.schemas.avro import METADATA, METRIC, REVIEW
from movie_pipeline.speed import cassandra
from movie_pipeline.speed.health import checkpoint_offsets, kafka_lag
from movie_pipeline.speed.jobs import PRODUCER, SPEED_VIEWS, VIEWS_QUERY, query_checkpoint
from tests.conftest import REPO
from tests.integration.test_speed_layer import assert_windows_equal, expected_windows, read_topic, wait_for
from tests.integration.test_stack import kill_hard, spark_submit

# a cluster test runs movie_batch on a 2-core machine shared by 20 processes: past the suite's 15-minute default
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2700)]
PORTS = {
    "postgres": 15432, "redis": 15379, "kafka": 15092, "mongo": 15017, "cassandra": 15042, "hdfs": 15020, "hdfs_http": 15870,
    "hdfs_datanode": 15864, "spark_master": 15077, "spark_master_ui": 15081, "spark_rest": 15066, "spark_worker_ui": 15082,
    "airflow": 15080, "tmdb_simulator": 15765, "api": 15000, "producer_metrics": 15110, "stream_metrics": 15111, "statsd": 15125,
}  # fmt: skip
MOVIES = "300"
POLL_LINE = re.compile(r"^poll \d+: (\d+) new events", re.MULTILINE)  # the producer's log line of each poll


@pytest.fixture(scope="module")
def cluster():
    """The cluster profile's stack with the TMDB simulator and the API, on ports of its own; stopped (every node) after."""
    state_dir = REPO / ".local" / "test-cluster-stack"
    shutil.rmtree(state_dir, ignore_errors=True)
    env = {"STACK_STATE_DIR": str(state_dir), "STACK_PROFILE": "cluster", **{f"STACK_{n.upper()}_PORT": str(p) for n, p in PORTS.items()}}
    stack = StackSettings.from_env(env)
    saved = {name: os.environ.get(name) for name in ("DEMO_MOVIES", "SPEED_TRIGGER", "API_RATE_LIMIT")}
    os.environ["DEMO_MOVIES"] = MOVIES  # the simulator's catalogue
    # a setting of this stack's Airflow: micro-batches every 10 s leave the 2 cores to the batch runs under test
    os.environ["SPEED_TRIGGER"] = "10 seconds"
    os.environ["API_RATE_LIMIT"] = "100000"  # the fault tests' steady API load (20 requests a second) is not throttled
    try:
        manager.up(stack)
        manager.up(stack, ["tmdb-simulator", "api"])
        yield stack
    finally:
        try:
            manager.down(stack, ["airflow"])  # the supervisor first: it would restart the jobs
            jobs = speed_runner(stack)
            for job in (PRODUCER, SPEED_VIEWS):
                jobs.stop(job)
        finally:
            manager.down(stack)
            for name, value in saved.items():
                os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
    assert not [s.name for s in all_services(stack) if owned_process(s.pid_file) is not None], "stack down leaves no process"


@pytest.fixture(scope="module")
def first_batch(cluster) -> dict:
    """The scheduler's first movie_batch run (a full load), alone: on two cores the streaming job's start-up and first
    backlog would slow it fourfold (each later batch still runs beside the speed jobs in the fault tests)."""
    airflow = AirflowApi(cluster)
    airflow.wait_for_dags(list(DAGS))
    airflow.unpause(BATCH)
    return follow_run(airflow, BATCH, newest_run(airflow, BATCH, 180), 2400)


@pytest.fixture
def served(cluster, first_batch) -> None:
    """A published version of the serving views for the fault tests' API load to ask for: the export's after the
    first batch, with the speed jobs running (the streaming job makes the speed views the export reads), whichever
    test of the module runs first."""
    import pymongo

    from movie_pipeline.serving import store

    db = pymongo.MongoClient(cluster.host, cluster.ports["mongo"], tz_aware=True)[cluster_settings(cluster).serving.mongo_database]
    if db[store.VERSIONS].find_one({"_id": store.CURRENT}) is None:
        airflow = AirflowApi(cluster)
        start_speed_jobs(airflow, cluster)
        airflow.unpause(EXPORT)
        follow_run(airflow, EXPORT, airflow(f"/api/v2/dags/{EXPORT}/dagRuns", "POST", {"logical_date": None, "note": "served"}), 900)


def cluster_settings(stack: StackSettings):
    """The runtime settings of the cluster's tasks: its environment with what its connections say."""
    return settings_from_env(
        {
            **os.environ,
            **cluster_environment(stack),
            "KAFKA_BOOTSTRAP_SERVERS": Kafka(stack).bootstrap_servers,
            "CASSANDRA_HOSTS": ",".join(Cassandra(stack).hosts),
            "CASSANDRA_PORT": str(stack.ports["cassandra"]),
        }
    )


def api_get(stack: StackSettings, path: str, key: str) -> dict:
    request = urllib.request.Request(f"http://{stack.host}:{stack.ports['api']}{path}", headers={"X-API-Key": key})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test's own API
        import json

        return json.load(response)


API_PATHS = ("/v1/movies?sort=popularity&limit=50", "/v1/trending?window=24h", "/v1/analytics/years")


def test_the_cluster_gives_the_answers_of_one_node(cluster, first_batch, spark, tmp_path):
    """From the same bronze: gold of the cluster (Spark standalone, HDFS) equal row for row to local Spark on files;
    Cassandra windows of the streaming job on the cluster equal to the aggregates of what is in Kafka; the API's
    answers after the cluster's movie_serving_export equal to those of one node's export of its gold."""
    import pymongo
    from fastapi.testclient import TestClient
    from pyspark.testing import assertDataFrameEqual

    from movie_pipeline.serving import api, export, keys, store

    settings = cluster_settings(cluster)
    assert settings.lake_uri.startswith("hdfs://") and settings.speed.job_runner == "standalone"
    airflow = AirflowApi(cluster)
    batch = first_batch  # the full load alone, then the speed jobs
    airflow.unpause(SUPERVISOR)
    airflow.unpause(EXPORT)

    # the streaming job runs on the Spark master, its executor on a worker
    jobs = speed_runner(cluster)
    wait_for(lambda: jobs.is_alive(PRODUCER) and jobs.application(SPEED_VIEWS) is not None, 600, "the speed jobs on the cluster")
    master = jobs.master_ui
    assert master.endswith(str(cluster.ports["spark_master_ui"]))

    # gold: the cluster's, and local Spark's on the same bronze (the commands the DAG's SparkSubmitOperator runs);
    # no batch run replaces either meanwhile (a 4-hour boundary passing would schedule one)
    airflow.pause(BATCH)
    wait_for(lambda: all(r["state"] != "running" for r in airflow.runs(BATCH)), 2400, "no movie_batch run running")
    hdfs_lake = settings.lake
    local = Lake((tmp_path / "lake").as_uri())
    hdfs_lake.fs.get(hdfs_lake.path("bronze"), local.path("bronze"), recursive=True)
    for job in ("bronze_to_silver", "silver_to_gold"):
        assert "rows written:" in spark_submit(job, local.uri)
    fetched = tmp_path / "cluster-gold"
    hdfs_lake.fs.get(hdfs_lake.path("gold"), str(fetched), recursive=True)
    rows = {}
    for view in GOLD_VIEWS:
        expected = spark.read.parquet(local.spark_uri("gold", view))
        assertDataFrameEqual(spark.read.parquet(str(fetched / view)), expected, checkRowOrder=False)
        rows[view] = expected.count()
    assert rows["movie_summary"] > 0, rows
    print(f"gold equal on both profiles ({batch['dag_run_id']}): {rows}")
    airflow.unpause(BATCH)

    # the speed layer settled: the supervisor paused, the producer stopped, the streaming job caught up
    speed = settle_and_compare(airflow, cluster)
    assert speed["windows"] > 0 and speed["events_lost"] == 0 and speed["windows_lost"] == speed["double_counts"] == 0, speed
    session = cassandra.connect(settings.speed)
    try:
        keyspace = session.cluster.metadata.keyspaces[settings.speed.keyspace]
        assert keyspace.replication_strategy.replication_factor == 3
    finally:
        session.cluster.shutdown()
    print(f"speed: {speed['windows']} windows in Cassandra equal to the aggregates of the {speed['events_produced']} events in Kafka")

    # the serving views: the cluster's export DAG, and one node's export of its own gold at the same instant
    run = airflow(f"/api/v2/dags/{EXPORT}/dagRuns", "POST", {"logical_date": None, "note": "cluster equality"})
    follow_run(airflow, EXPORT, run, 900)
    client = pymongo.MongoClient(cluster.host, cluster.ports["mongo"], tz_aware=True)
    cluster_db, single_db = client[settings.serving.mongo_database], client["movies_one_node"]
    published_at = cluster_db[store.VERSIONS].find_one({"_id": store.CURRENT})["published_at"]
    export.export(local, settings.speed, single_db, "one_node", now=published_at, emit=lambda line: None)
    cluster_key, single_key = keys.create(cluster_db, "equality"), keys.create(single_db, "equality")
    one_node = settings_from_env(
        {**os.environ, "MONGO_URI": f"mongodb://{cluster.host}:{cluster.ports['mongo']}", "MONGO_DATABASE": single_db.name,
         "REDIS_URL": f"redis://{cluster.host}:{cluster.ports['redis']}/3", "API_CACHE_TTL_S": "0",
         "CASSANDRA_HOSTS": ",".join(Cassandra(cluster).hosts), "CASSANDRA_PORT": str(cluster.ports["cassandra"])}
    )  # fmt: skip
    movie_ids = [m["movie_id"] for m in api_get(cluster, API_PATHS[0], cluster_key)["data"][:5]]
    paths = [*API_PATHS, *(f"/v1/movies/{movie_id}" for movie_id in movie_ids), *(f"/v1/movies/{i}/sentiment" for i in movie_ids)]
    with TestClient(api.create_app(one_node)) as app:
        for path in paths:
            on_cluster = api_get(cluster, path, cluster_key)
            alone = app.get(path, headers={"X-API-Key": single_key})
            assert alone.status_code == 200, (path, alone.text)
            assert on_cluster["data"] == alone.json()["data"], path
    print(f"API: {len(paths)} answers equal on both profiles")


def fsck(namenode: HdfsNameNode) -> dict:
    """``hdfs fsck /``: healthy, and how many blocks are under-replicated and missing."""
    text = namenode.fsck("/")
    counts = {
        name: re.search(rf"{label}:\s+(\d+)", text)
        for name, label in (("under_replicated", "Under-replicated blocks"), ("missing", "Missing blocks"))
    }
    assert all(counts.values()), text
    return {"healthy": "is HEALTHY" in text, **{name: int(match[1]) for name, match in counts.items()}}


def fault_row(load, fault: str, began: float, ended: float, recovered: float, **extra) -> dict:
    """One fault's figures (monotonic times): how long it lasted, the API's answers from its start to the recovery."""
    requests, error_rate = load.between(began, recovered)
    return {"fault": fault, **extra, "fault_s": round(ended - began, 1), "api_requests": requests, "api_error_rate": error_rate,
            "recovery_s": round(recovered - ended, 1)}  # fmt: skip


def assert_the_api_answered(row: dict, load) -> None:
    """Every answer the API gave was a 2xx; a request may only have gone unanswered within the load's 2 s timeout,
    and rarely (< 1 %): the API reads MongoDB and Redis, no faulted node, but it shares two cores with a batch run
    on a dozen JVMs (a DataNode run saw 3 of 3,907 time out)."""
    answered_wrong = {outcome: n for outcome, n in load.failures.items() if not outcome.endswith("Timeout")}
    assert not answered_wrong, f"the API answered with errors: {answered_wrong}"
    assert row["api_error_rate"] < 0.01, f"the API went unanswered too often: {row}; {load.failures.most_common(5)}"


def settle_and_report(airflow: AirflowApi, stack: StackSettings, *rows: dict) -> dict:
    """Settle the speed layer, print each fault's row with what it found (as ``make chaos`` does); nothing lost or
    counted twice."""
    settled = settle_and_compare(airflow, stack)
    for row in rows:
        print("fault report: " + ", ".join(f"{name}={value}" for name, value in {**row, **settled}.items()))
    assert settled["events_lost"] == 0 and settled["windows_lost"] == 0 and settled["double_counts"] == 0, settled
    return settled


def wait_for_task(airflow: AirflowApi, dag_id: str, run_id: str, task_id: str, state: str, timeout: float) -> None:
    wait_for(lambda: airflow.task_states(dag_id, run_id).get(task_id) == state, timeout, f"{dag_id}.{task_id} to be {state}")


def trigger_batch_of_an_earlier_interval(airflow: AirflowApi, hours_back: int = 4) -> dict:
    """A movie_batch run of an interval before the runs so far (its changes: bronze, then silver and gold merged)."""
    from datetime import timedelta

    from movie_pipeline.intervals import parse_instant

    earliest = min(parse_instant(r["logical_date"]) for r in airflow.runs(BATCH, 50) if r.get("logical_date"))
    logical = (earliest - timedelta(hours=hours_back)).isoformat()
    return airflow(f"/api/v2/dags/{BATCH}/dagRuns", "POST", {"logical_date": logical, "note": "a node fault"})


def test_a_datanode_killed_during_a_batch_run_costs_nothing(cluster, served):
    """kill -9 of one DataNode while bronze_to_silver writes, under the producer's load: the run succeeds on the two
    left (the write pipeline goes on without it); once it is back the NameNode re-replicates what it missed and
    ``hdfs fsck /`` is healthy; no event lost, no window lost or counted twice, the API answers throughout (``assert_the_api_answered``)."""
    airflow = AirflowApi(cluster)
    namenode = HdfsNameNode(cluster)
    start_speed_jobs(airflow, cluster)
    with api_load(cluster) as load:
        run = trigger_batch_of_an_earlier_interval(airflow)
        wait_for_task(airflow, BATCH, run["dag_run_id"], "bronze_to_silver", "running", 900)
        time.sleep(10)  # the job is writing
        kill_hard(cluster, "hdfs-datanode-2")
        killed = time.monotonic()
        wait_for(lambda: len(namenode.live_datanodes()) == 2, 120, "the NameNode to count the DataNode dead")
        follow_run(airflow, BATCH, run, 1800)
        manager.up(cluster, ["hdfs-datanode-2"], emit=lambda line: None)
        back = time.monotonic()
        wait_for(
            lambda: fsck(namenode) == {"healthy": True, "under_replicated": 0, "missing": 0},
            600,
            "hdfs fsck / healthy, every block thrice",
            lambda: f"(fsck) {fsck(namenode)}; live DataNodes {namenode.live_datanodes()}",
        )
        row = fault_row(load, "HDFS DataNode kill -9 during movie_batch", killed, back, time.monotonic(), run="success")
    settle_and_report(airflow, cluster, row)
    assert_the_api_answered(row, load)


def settle_and_compare(airflow: AirflowApi, stack: StackSettings) -> dict:
    """Pause the supervisor, stop the producer, let the streaming job catch up; compare Cassandra with Kafka.
    Return the events the producer sent and those in Kafka (lost: the difference), the windows lost (expected,
    absent) and double counted (present, not expected)."""
    settings, jobs = cluster_settings(stack), speed_runner(stack)
    airflow.pause(SUPERVISOR)
    wait_for(lambda: not any(r["state"] == "running" for r in airflow.runs(SUPERVISOR, 5)), 300, "the supervisor's runs to end")
    jobs.stop(PRODUCER)
    checkpoint = query_checkpoint(settings.checkpoint_uri, VIEWS_QUERY)
    webhdfs = settings.lake_webhdfs
    wait_for(
        lambda: (
            kafka_lag(settings, checkpoint) == 0
            and checkpoint_offsets(checkpoint, "commits", webhdfs) == checkpoint_offsets(checkpoint, "offsets", webhdfs)
        ),
        300,
        "the streaming job to catch up",
        lambda: jobs.log_tail(SPEED_VIEWS),
    )
    bootstrap = settings.speed.kafka_bootstrap_servers
    windowed = [("metric", r) for r in read_topic(bootstrap, METRIC)] + [("review", r) for r in read_topic(bootstrap, REVIEW)]
    in_kafka = len(windowed) + len(read_topic(bootstrap, METADATA))
    log = jobs.log_file(PRODUCER)
    produced = sum(int(n) for n in POLL_LINE.findall(log.read_text())) if log.exists() else 0  # over all its runs
    expected = expected_windows(windowed)
    session = cassandra.connect(settings.speed)
    try:
        found = {
            (r.movie_id, r.window_start.replace(tzinfo=UTC))
            for r in session.execute(f"SELECT movie_id, window_start FROM {settings.speed.keyspace}.movie_windows")
        }
        assert_windows_equal(session, settings.speed.keyspace, expected)
    finally:
        session.cluster.shutdown()
    return {
        "events_produced": produced,
        "events_lost": produced - in_kafka,
        "windows": len(expected),
        "windows_lost": len(set(expected) - found),
        "double_counts": len(found - set(expected)),
    }


def start_speed_jobs(airflow: AirflowApi, stack: StackSettings) -> None:
    """Unpause the supervisor and run it now: it starts (or restarts) the producer and the streaming job."""
    jobs = speed_runner(stack)
    airflow.unpause(SUPERVISOR)
    run = airflow(f"/api/v2/dags/{SUPERVISOR}/dagRuns", "POST", {"logical_date": None, "note": "after a node fault"})
    follow_run(airflow, SUPERVISOR, run, 900)
    wait_for(lambda: jobs.is_alive(PRODUCER) and jobs.application(SPEED_VIEWS) is not None, 300, "the speed jobs on the cluster")


@contextmanager
def api_load(stack: StackSettings):
    """The chaos suite's steady API load (about 20 requests a second) on this catalogue's movies, for the block."""
    import pymongo

    from movie_pipeline.serving import keys, store
    from tests.chaos.test_faults import ApiLoad

    db = pymongo.MongoClient(stack.host, stack.ports["mongo"], tz_aware=True)[cluster_settings(stack).serving.mongo_database]
    key_name = f"cluster-faults-{time.time_ns()}"  # a key of its own per block: a name is active once
    load = ApiLoad(f"http://{stack.host}:{stack.ports['api']}", keys.create(db, key_name))
    version = db[store.VERSIONS].find_one({"_id": store.CURRENT})["version"]
    movie_ids = [m["movie_id"] for m in db[store.collection_name("movies", version)].find().limit(2)]
    load.PATHS = (*(f"/v1/movies/{i}" for i in movie_ids), f"/v1/movies/{movie_ids[0]}/sentiment?window=7d", *API_PATHS)
    load.start()
    try:
        yield load
    finally:
        load.stop()
        keys.revoke(db, key_name)


def wait_for_a_micro_batch(stack: StackSettings, after, what: str) -> None:
    """Until the streaming job commits a micro-batch later than ``after`` (its last commit before)."""
    from movie_pipeline.speed.health import last_progress

    settings, jobs = cluster_settings(stack), speed_runner(stack)
    wait_for(lambda: (last_progress(settings, VIEWS_QUERY) or after) > after, 300, what, lambda: jobs.log_tail(SPEED_VIEWS))


def test_a_cassandra_node_down_costs_nothing_and_two_fail_quorum_writes_loudly(cluster, served):
    """kill -9 of one Cassandra node under the producer's load: QUORUM writes go on with two; it returns (hints),
    and no window is lost or counted twice. Two nodes down: QUORUM writes fail, the streaming job fails with them
    (nothing acknowledged), the supervisor restarts it once they are back, and still nothing is lost."""
    from movie_pipeline.speed.health import last_progress

    settings, airflow, jobs = cluster_settings(cluster), AirflowApi(cluster), speed_runner(cluster)
    start_speed_jobs(airflow, cluster)
    with api_load(cluster) as load:
        began = time.monotonic()
        kill_hard(cluster, "cassandra-3")
        wait_for_a_micro_batch(cluster, last_progress(settings, VIEWS_QUERY), "a micro-batch written at QUORUM with one node down")
        fault_end = time.monotonic()
        manager.up(cluster, ["cassandra-3"], emit=lambda line: None)
        wait_for_a_micro_batch(cluster, last_progress(settings, VIEWS_QUERY), "a micro-batch written with the node back")
        assert jobs.application(SPEED_VIEWS) is not None, "the streaming job ran through the node's absence"
        one_node = fault_row(load, "Cassandra node kill -9", began, fault_end, time.monotonic())

        began = time.monotonic()
        kill_hard(cluster, "cassandra-2")
        kill_hard(cluster, "cassandra-3")
        wait_for(
            lambda: not jobs.is_alive(SPEED_VIEWS),
            600,
            "the streaming job to fail on QUORUM writes with two nodes down",
            lambda: jobs.log_tail(SPEED_VIEWS),
        )
        failure = jobs.log_tail(SPEED_VIEWS, 400)
        assert "QUORUM" in failure or "Unavailable" in failure or "NoHostAvailable" in failure, failure
        fault_end = time.monotonic()
        manager.up(cluster, ["cassandra"], emit=lambda line: None)
        restarted_from = last_progress(settings, VIEWS_QUERY)
        start_speed_jobs(airflow, cluster)  # the supervisor finds it dead and restarts it from its checkpoint
        wait_for_a_micro_batch(cluster, restarted_from, "a micro-batch of the restarted streaming job")
        two_nodes = fault_row(load, "two Cassandra nodes kill -9", began, fault_end, time.monotonic())
    settle_and_report(airflow, cluster, one_node, two_nodes)
    assert_the_api_answered(one_node, load)


@pytest.mark.extended
def test_a_spark_worker_killed_during_a_batch_run_costs_nothing(cluster, served):
    """kill -9 of one Spark worker while bronze_to_silver runs: its executors go, their tasks are retried on the other
    worker's and the run succeeds; the streaming job gets a new executor; the worker is started again."""
    airflow, jobs = AirflowApi(cluster), speed_runner(cluster)
    start_speed_jobs(airflow, cluster)
    with api_load(cluster) as load:
        run = trigger_batch_of_an_earlier_interval(airflow, hours_back=8)
        wait_for_task(airflow, BATCH, run["dag_run_id"], "bronze_to_silver", "running", 900)
        time.sleep(15)  # its executors have tasks
        killed = time.monotonic()
        kill_hard(cluster, "spark-worker-1")
        follow_run(airflow, BATCH, run, 1800)
        manager.up(cluster, ["spark-worker-1"], emit=lambda line: None)
        back = time.monotonic()
        wait_for(lambda: jobs.application(SPEED_VIEWS) is not None, 300, "the streaming job on the master")
        row = fault_row(load, "Spark worker kill -9 during movie_batch", killed, back, time.monotonic(), run="success")
    settle_and_report(airflow, cluster, row)
    assert_the_api_answered(row, load)


@pytest.mark.extended
def test_a_kafka_broker_killed_under_the_producers_load_loses_no_event(cluster, served):
    """kill -9 of one of the three brokers while the producer sends (acks=all, min.insync.replicas 2): every event the
    producer polled is in Kafka once, and the windows equal the aggregates of what is there."""
    airflow = AirflowApi(cluster)
    start_speed_jobs(airflow, cluster)
    with api_load(cluster) as load:
        time.sleep(30)
        began = time.monotonic()
        kill_hard(cluster, "kafka-2")
        time.sleep(60)  # a poll or more of the producer with one broker down
        manager.up(cluster, ["kafka-2"], emit=lambda line: None)
        back = time.monotonic()
        time.sleep(30)
        row = fault_row(load, "Kafka broker kill -9", began, back, time.monotonic())
    settle_and_report(airflow, cluster, row)
    assert_the_api_answered(row, load)
