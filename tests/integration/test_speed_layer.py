"""The speed layer on real Kafka and Cassandra: framed Avro events -> the streaming job
(spark-submit, a detached process as the supervisor runs it) -> Cassandra windows, compared with
aggregates computed here in plain Python; late events counted; dead letters with reasons; TTL;
a killed streaming job and a restarted Kafka broker (under the producer polling the TMDB simulator)."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from movie_harness.stack import manager
from movie_harness.stack.services import Kafka, StackSettings
from movie_harness.tmdb_simulator import Catalogue
from movie_pipeline.config import SpeedSettings, settings_from_env
from movie_pipeline.schemas.avro import DEAD_LETTER_TOPIC, EVENT_TYPES, METADATA, METRIC, REVIEW
from movie_pipeline.speed import cassandra
from movie_pipeline.speed.jobs import PRODUCER, SPEED_VIEWS
from movie_pipeline.speed.registry import CheckedInIds
from movie_pipeline.speed.runner import LocalProcessRunner
from movie_pipeline.speed.topics import ensure_topics, watermarks
from movie_pipeline.speed.wire import decode, frame
from tests.conftest import API_KEY, REPO

pytestmark = pytest.mark.integration
PORTS = {"kafka": 11092, "cassandra": 11042}
MOVIES = 200
METRIC_EVENTS = 45_000
REVIEW_EVENTS = 5_000
LATE_EVENTS = 60
# the events are of the last hours: speed rows expire 48 h + grace after their window's end (event time)
START = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
SPAN = timedelta(hours=2)
DISORDER = timedelta(minutes=3)
WINDOW = timedelta(minutes=5)
TEXTS = ("A wonderful, moving film.", "Dull and far too long.", "It is a film.", "I loved every minute!", "Terrible acting, awful plot.")


@pytest.fixture(scope="module")
def services():
    state_dir = REPO / ".local" / "test-speed-stack"
    shutil.rmtree(state_dir, ignore_errors=True)
    env = {"STACK_STATE_DIR": str(state_dir), **{f"STACK_{name.upper()}_PORT": str(port) for name, port in PORTS.items()}}
    stack = StackSettings.from_env(env)
    try:
        manager.up(stack, ["kafka", "cassandra"])
        yield stack
    finally:
        manager.down(stack, ["kafka", "cassandra"])


def delete_topics(bootstrap: str) -> None:
    """Each test starts from empty topics: the streaming job reads them from the earliest offset."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [event_type.topic for event_type in EVENT_TYPES] + [DEAD_LETTER_TOPIC]
    existing = [name for name in names if name in admin.list_topics(timeout=10).topics]
    for future in admin.delete_topics(existing, operation_timeout=30).values() if existing else ():
        future.result()
    wait_for(lambda: not set(names) & set(admin.list_topics(timeout=10).topics), 60, "the topics to be deleted")


@pytest.fixture
def speed_env(services, tmp_path):
    delete_topics(Kafka(services).bootstrap_servers)
    keyspace = f"speed_{int(time.time())}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": Kafka(services).bootstrap_servers,
        "KAFKA_PARTITIONS": "3",
        "CASSANDRA_HOSTS": services.host,
        "CASSANDRA_PORT": str(services.ports["cassandra"]),
        "SPEED_KEYSPACE": keyspace,
        "SPEED_WATERMARK": "10 minutes",
        "SPEED_CHECKPOINT_URI": (tmp_path / "checkpoints").as_uri(),
        "SPEED_TRIGGER": "2 seconds",
    }
    return env


def events(seed: int = 7) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]]]:
    """(on-time events in production order, each up to DISORDER off its place in time), (late events: windows closed long ago)."""
    rng = random.Random(seed)
    on_time = []  # (nominal time, kind, record): production follows the nominal time, event times stray from it
    for i in range(METRIC_EVENTS):
        nominal = START + SPAN * (i / METRIC_EVENTS)
        at = nominal + timedelta(milliseconds=rng.randint(-180_000, 180_000))
        movie = rng.randint(1, MOVIES)
        record = {
            "movie_id": movie,
            "event_time": at.replace(microsecond=at.microsecond // 1000 * 1000),
            "popularity": round(rng.uniform(1, 500), 3),
            "vote_average": round(rng.uniform(0, 10), 1),
            "vote_count": rng.randint(0, 50_000),
            "source": "test",
        }
        on_time.append((nominal, "metric", record))
    for i in range(REVIEW_EVENTS):
        nominal = START + SPAN * (i / REVIEW_EVENTS)
        at = nominal + timedelta(milliseconds=rng.randint(-180_000, 180_000))
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)
        review_id = f"r{rng.randint(1, 4_000)}"  # some reviews are edited: a second event for the same id
        record = {
            "review_id": review_id,
            "movie_id": int(review_id[1:]) % MOVIES + 1,
            "event_time": at,
            "created_at": START,
            "author": "a",
            "rating": None,
            "content": rng.choice(TEXTS),
        }
        on_time.append((nominal, "review", record))
    ordered = [(kind, record) for _, kind, record in sorted(on_time, key=lambda event: event[0])]
    metrics = [record for kind, record in ordered if kind == "metric"]
    late = [
        ("metric", {**record, "event_time": START - timedelta(hours=1) + timedelta(seconds=i)})
        for i, record in enumerate(metrics[:LATE_EVENTS])
    ]
    return ordered, late


def expected_windows(on_time: list[tuple[str, dict]]) -> dict[tuple[int, datetime], dict]:
    """The windows computed independently: latest metric by event time, deltas, distinct reviews (latest version);
    none of a window that ended 48 h + grace ago (the simulator's reviews go back years: late, never a row)."""
    vader = SentimentIntensityAnalyzer()
    metrics, reviews = defaultdict(list), defaultdict(dict)
    expired_before = datetime.now(UTC) - timedelta(seconds=SpeedSettings().ttl_seconds)
    for kind, record in on_time:
        start = record["event_time"] - timedelta(
            minutes=record["event_time"].minute % 5, seconds=record["event_time"].second, microseconds=record["event_time"].microsecond
        )
        if start + WINDOW <= expired_before:
            continue
        key = (record["movie_id"], start)
        if kind == "metric":
            metrics[key].append(record)
        else:
            known = reviews[key].get(record["review_id"])
            if known is None or record["event_time"] >= known["event_time"]:
                reviews[key][record["review_id"]] = record
    result = {}
    for key in set(metrics) | set(reviews):
        row = {
            "review_count": len(reviews[key]),
            "sentiment_sum": sum(vader.polarity_scores(r["content"])["compound"] for r in reviews[key].values()),
        }
        if metrics[key]:
            by_time = {r["event_time"]: r for r in metrics[key]}  # two events at one instant: the later produced counts
            ordered = [by_time[t] for t in sorted(by_time)]
            first, last = ordered[0], ordered[-1]
            row.update(
                popularity=last["popularity"],
                vote_count=last["vote_count"],
                popularity_delta=last["popularity"] - first["popularity"],
                vote_count_delta=last["vote_count"] - first["vote_count"],
                metric_observations=len({r["event_time"] for r in ordered}),
            )
        result[key] = row
    return result


def produce(bootstrap: str, batch: list[tuple[str, dict]], extra: list[tuple[str, bytes]] = ()) -> None:
    ids = CheckedInIds()
    types = {"metric": METRIC, "review": REVIEW}
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 20})
    for kind, record in batch:
        event_type = types[kind]
        producer.produce(
            event_type.topic, key=str(record["movie_id"]).encode(), value=frame(ids.register(event_type), event_type.parsed, record)
        )
        producer.poll(0)
    for topic, value in extra:
        producer.produce(topic, key=b"junk", value=value)
    assert producer.flush(60) == 0


def wait_for(condition, timeout: float, what: str, log=None, fail: bool = True):
    """Poll ``condition`` until it is truthy; on timeout fail with ``what`` and the end of ``log()``
    (or, with ``fail=False``, return False and let the caller's assertion say what differs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(2)
    if not fail:
        return False
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f"; the job's log ends:\n{log()}" if log else ""))


def assert_windows_equal(session, keyspace: str, expected: dict) -> None:
    rows = {(r.movie_id, r.window_start.replace(tzinfo=UTC)): r for r in session.execute(f"SELECT * FROM {keyspace}.movie_windows")}
    assert set(rows) == set(expected)
    for key, want in expected.items():
        got = rows[key]
        assert (got.review_count, got.sentiment_sum) == (want["review_count"], pytest.approx(want["sentiment_sum"], abs=1e-9)), key
        if "popularity" in want:
            assert (got.popularity, got.vote_count, got.metric_observations) == (
                want["popularity"],
                want["vote_count"],
                want["metric_observations"],
            ), key
            assert (got.popularity_delta, got.vote_count_delta) == (pytest.approx(want["popularity_delta"]), want["vote_count_delta"]), key
        else:
            assert got.popularity is None and got.metric_observations == 0, key


def windows_equal(session, keyspace: str, expected: dict) -> bool:
    try:
        assert_windows_equal(session, keyspace, expected)
    except AssertionError:
        return False
    return True


def window_count(session, keyspace: str) -> int:
    return session.execute(f"SELECT count(*) FROM {keyspace}.movie_windows").one()[0]


def test_windows_in_cassandra_equal_the_independent_aggregates_and_late_events_are_counted(services, speed_env, tmp_path, monkeypatch):
    for name, value in speed_env.items():
        monkeypatch.setenv(name, value)
    speed = settings_from_env().speed
    assert set(ensure_topics(speed)) >= {METRIC.topic, REVIEW.topic, DEAD_LETTER_TOPIC}
    assert cassandra.ensure_schema(speed) == ["late_events", "movie_windows", "stream_progress", "trending_windows"]
    on_time, late = events()
    # a review written weeks ago, met with its movie: its window outlived the speed views long ago (late, not a row)
    weeks_ago = {**next(record for kind, record in on_time if kind == "review"), "event_time": START - timedelta(days=38)}
    produce(speed.kafka_bootstrap_servers, [("review", weeks_ago), *on_time])

    runner = LocalProcessRunner.from_environment({**speed_env, "SPEED_JOBS_DIR": str(tmp_path / "jobs")})
    runner.start(SPEED_VIEWS)
    session = cassandra.connect(speed)
    try:
        expected = expected_windows(on_time)
        wait_for(lambda: windows_equal(session, speed.keyspace, expected), 300, "the expected windows", fail=False)

        produce(speed.kafka_bootstrap_servers, late, extra=[(METRIC.topic, b"not avro"), (REVIEW.topic, b"\x00\x00\x00\x00\x63\x02")])
        late_count = lambda: session.execute(f"SELECT count(*) FROM {speed.keyspace}.late_events").one()[0]  # noqa: E731
        wait_for(lambda: late_count() == LATE_EVENTS + 1, 120, f"{LATE_EVENTS + 1} late events", lambda: runner.log_tail(SPEED_VIEWS))
        assert_windows_equal(session, speed.keyspace, expected)
        reasons = defaultdict(int)
        for row in session.execute(f"SELECT reason FROM {speed.keyspace}.late_events"):
            reasons[row.reason] += 1
        assert reasons == {cassandra.BEHIND_WATERMARK: LATE_EVENTS, cassandra.EXPIRED: 1}
        # every window row lives until its end + 48 h + grace, whenever it was written
        rows = session.execute(f"SELECT window_start, TTL(popularity) AS ttl FROM {speed.keyspace}.movie_windows WHERE movie_id = 1")
        checked_at = datetime.now(UTC)
        for row in rows:
            if row.ttl is not None:  # a window of reviews only has no popularity
                assert abs(row.ttl - cassandra.row_ttl_s(row.window_start, speed, checked_at)) <= 60, row
        progress = session.execute(f"SELECT job, late_events FROM {speed.keyspace}.stream_progress").all()
        assert {row.job for row in progress} == {"speed_views", "dead_letters"}
    finally:
        runner.stop(SPEED_VIEWS)
        session.cluster.shutdown()

    consumer = Consumer(
        {"bootstrap.servers": speed.kafka_bootstrap_servers, "group.id": "dead-letter-check", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([DEAD_LETTER_TOPIC])
    reasons = {}
    deadline = time.monotonic() + 30
    while len(reasons) < 2 and time.monotonic() < deadline:
        message = consumer.poll(1)
        if message is not None and message.error() is None:
            headers = dict(message.headers())
            reasons[headers["source_topic"].decode()] = headers["reason"].decode()
    consumer.close()
    assert reasons == {METRIC.topic: "magic byte is 110, not 0", REVIEW.topic: "unknown schema id 99"}


def test_a_replay_on_a_new_checkpoint_reads_kafka_from_the_given_time(services, speed_env, tmp_path, monkeypatch):
    """SPEED_REPLAY_FROM: the events produced before that instant are not read, all those after it are."""
    for name, value in speed_env.items():
        monkeypatch.setenv(name, value)
    speed = settings_from_env().speed
    ensure_topics(speed)
    cassandra.ensure_schema(speed)
    ordered, _ = events(seed=11)
    before, after = ordered[:3_000], ordered[3_000:6_000]
    produce(speed.kafka_bootstrap_servers, before)
    time.sleep(1.5)  # Kafka's record timestamps are the producer's clock, in milliseconds
    replay_from = datetime.now(UTC)
    time.sleep(1.5)
    produce(speed.kafka_bootstrap_servers, after)

    runner = LocalProcessRunner.from_environment(
        {**speed_env, "SPEED_REPLAY_FROM": replay_from.isoformat(), "SPEED_JOBS_DIR": str(tmp_path / "jobs")}
    )
    runner.start(SPEED_VIEWS)
    session = cassandra.connect(speed)
    try:
        expected = expected_windows(after)
        wait_for(lambda: windows_equal(session, speed.keyspace, expected), 300, "the windows of the replayed events", fail=False)
        assert_windows_equal(session, speed.keyspace, expected)  # and none of the events before the replay's start
    finally:
        runner.stop(SPEED_VIEWS)
        session.cluster.shutdown()


@pytest.mark.extended  # make test has it under load in the chaos suite (a streaming job killed with SIGKILL)
def test_a_killed_streaming_job_is_restarted_by_the_supervisor_and_nothing_is_lost_or_counted_twice(
    services, speed_env, airflow_db, tmp_path, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag

    jobs_dir = tmp_path / "jobs"
    for name, value in {**speed_env, "SPEED_JOBS": SPEED_VIEWS, "SPEED_JOBS_DIR": str(jobs_dir)}.items():
        monkeypatch.setenv(name, value)
    speed = settings_from_env().speed
    supervisor = DagBag(dag_folder=str(REPO / "dags")).get_dag("movie_speed_supervisor")
    on_time, _ = events(seed=11)
    half = len(on_time) // 2
    runner = LocalProcessRunner.from_environment({**speed_env, "SPEED_JOBS_DIR": str(jobs_dir)})

    first = supervisor.test()  # creates topics and tables, finds the job dead (never started) and starts it
    assert first.state == "success"
    assert task_states(first) >= {("restart_speed_views", "success"), ("restart_producer", "skipped")}
    produce(speed.kafka_bootstrap_servers, on_time[:half])
    session = cassandra.connect(speed)
    try:
        wait_for(lambda: window_count(session, speed.keyspace) > 0, 300, "the first windows", lambda: runner.log_tail(SPEED_VIEWS))
        produce(speed.kafka_bootstrap_servers, on_time[half:])
        os.kill(runner.pid(SPEED_VIEWS), signal.SIGKILL)  # mid-stream: the second half is waiting or being read
        wait_for(lambda: not runner.is_alive(SPEED_VIEWS), 30, "the job to die")

        second = supervisor.test()
        assert second.state == "success"
        assert ("restart_speed_views", "success") in task_states(second)
        expected = expected_windows(on_time)
        wait_for(lambda: windows_equal(session, speed.keyspace, expected), 300, "the expected windows", fail=False)
        time.sleep(6)  # a few more triggers: nothing may change any more (a replayed batch only overwrites)
        assert_windows_equal(session, speed.keyspace, expected)
        assert session.execute(f"SELECT count(*) FROM {speed.keyspace}.late_events").one()[0] == 0
    finally:
        runner.stop(SPEED_VIEWS)
        session.cluster.shutdown()


def task_states(run) -> set[tuple[str, str]]:
    return {(ti.task_id, ti.state) for ti in run.get_task_instances()}


TMDB_SPEEDUP = 7200  # the simulator's clock runs two hours per second: every poll finds movies that changed
POLL_LINE = re.compile(r"^poll \d+: (\d+) new events, (\d+) unacknowledged", re.MULTILINE)


@pytest.mark.extended  # make test has it under load in the chaos suite (a broker of three restarted)
def test_a_kafka_broker_restart_while_the_producer_runs_loses_nothing_and_counts_nothing_twice(
    services, speed_env, airflow_db, start_simulator, tmp_path, monkeypatch
):
    """The supervisor runs the real producer (polling the simulator every 3 s) and the streaming job; the
    broker is stopped and started under them. Every event the producer polled reached Kafka once, each is
    TMDB's truth at its event time, and Cassandra's windows equal the aggregates of what is in Kafka."""
    from airflow.dag_processing.dagbag import DagBag

    catalogue, began = Catalogue(200, seed=3), time.time()
    simulator = start_simulator(catalogue=catalogue, rate_limit=1000, now=lambda: START.timestamp() + (time.time() - began) * TMDB_SPEEDUP)
    jobs_dir = tmp_path / "jobs"
    env = {
        **speed_env,
        "SPEED_WATERMARK": "3650 days",  # on the fast clock a poll's answers are hours apart: none may be late here
        "SPEED_JOBS": f"{PRODUCER},{SPEED_VIEWS}",
        "SPEED_JOBS_DIR": str(jobs_dir),
        "TMDB_BASE_URL": simulator.base_url,
        "TMDB_API_KEY": API_KEY,
        "TMDB_RATE_LIMIT": "500",
        "PRODUCER_EVERY_S": "3",
        "PRODUCER_LEDGER": str(tmp_path / "ledger.sqlite"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    speed = settings_from_env().speed
    supervisor = DagBag(dag_folder=str(REPO / "dags")).get_dag("movie_speed_supervisor")
    runner = LocalProcessRunner.from_environment({**env, "SPEED_JOBS_DIR": str(jobs_dir)})
    producer_log = lambda: runner.log_file(PRODUCER).read_text() if runner.log_file(PRODUCER).exists() else ""  # noqa: E731
    polls = lambda: POLL_LINE.findall(producer_log())  # noqa: E731

    first = supervisor.test()
    assert first.state == "success"
    assert task_states(first) >= {("restart_producer", "success"), ("restart_speed_views", "success")}
    session = cassandra.connect(speed)
    try:
        wait_for(lambda: window_count(session, speed.keyspace) > 0, 300, "the first windows", lambda: runner.log_tail(SPEED_VIEWS))
        before = len(polls())
        manager.down(services, ["kafka"])
        time.sleep(10)  # the producer polls on; what it sends waits in its queue for the broker
        manager.up(services, ["kafka"])
        wait_for(lambda: len(polls()) >= before + 5, 180, "five polls after the broker restart", lambda: runner.log_tail(PRODUCER))

        second = supervisor.test()  # whatever the restart broke is started again; the run says which
        assert second.state == "success"
        runner.stop(PRODUCER)  # SIGTERM: it finishes its poll and flushes
        assert not runner.is_alive(PRODUCER)

        in_kafka = {event_type: read_topic(speed.kafka_bootstrap_servers, event_type) for event_type in (METRIC, REVIEW, METADATA)}
        windowed = [("metric", record) for record in in_kafka[METRIC]] + [("review", record) for record in in_kafka[REVIEW]]
        expected = expected_windows(windowed)
        wait_for(lambda: windows_equal(session, speed.keyspace, expected), 300, "the expected windows", fail=False)
        assert_windows_equal(session, speed.keyspace, expected)
    finally:
        runner.stop(PRODUCER)
        runner.stop(SPEED_VIEWS)
        session.cluster.shutdown()

    lines = polls()
    print("the supervisor after the broker restart:", sorted(task_states(second)))
    assert "did not take an event" not in producer_log() and all(int(left) == 0 for _, left in lines), runner.log_tail(PRODUCER)
    produced = sum(int(new) for new, _ in lines)
    assert produced == sum(len(records) for records in in_kafka.values()), "every polled event in Kafka once"
    assert sum(int(new) for new, _ in lines[before:]) > 0, "the producer found changes across and after the restart"
    metric_keys = [(r["movie_id"], r["event_time"]) for r in in_kafka[METRIC]]
    assert len(metric_keys) == len(set(metric_keys))
    for record in in_kafka[METRIC]:
        index, at = catalogue.index_of(record["movie_id"]), record["event_time"].timestamp()
        truth = (catalogue.popularity(index, at), catalogue.vote_average(index, at), catalogue.vote_count(index, at))
        assert (record["popularity"], record["vote_average"], record["vote_count"]) == truth, record
    review_keys = [(r["review_id"], r["event_time"]) for r in in_kafka[REVIEW]]
    assert len(review_keys) == len(set(review_keys))


def read_topic(bootstrap: str, event_type) -> list[dict]:
    """Every record on the topic, decoded, partition by partition in offset order."""
    ids = CheckedInIds()
    schemas_by_id = {ids.register(event_type): event_type.parsed}
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{event_type.topic}", "enable.auto.commit": False})
    records = []
    try:
        for _, partition, low, high in watermarks(consumer, [event_type.topic]):
            consumer.assign([TopicPartition(event_type.topic, partition, low)])
            position = low
            while position < high:
                message = consumer.poll(5)
                assert message is not None and message.error() is None, f"{event_type.topic}[{partition}] at {position}"
                records.append(decode(message.value(), schemas_by_id)[1])
                position = message.offset() + 1
    finally:
        consumer.close()
    return records
