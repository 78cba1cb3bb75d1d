"""Chaos: the running system under faults, one after another, with nothing lost and nothing counted twice.

The system: three Kafka brokers (replication 3, min.insync 2), Cassandra, MongoDB, Redis; the TMDB
simulator on a fast clock (two hours a second, so every poll finds changes); the real producer and
streaming job, supervised by `movie_speed_supervisor` (run by ``dag.test()``); the serving export
and the API (``movie-pipeline serve``) under a steady load of requests from a thread here.

Each test injects one fault under that load, waits for the system to recover, then settles it
(the producer stops after its poll, the streaming job drains Kafka) and checks:

- every event the producer reported reached Kafka once (``poll N: K new events`` lines against the
  topics), and no (movie, event time) is in Kafka twice;
- Cassandra's windows equal the aggregates of what is in Kafka, computed here in plain Python;
  events missing from them count as lost, extra ones as double counts;
- an export now publishes views equal to an export of the same inputs into a fresh database;
- the API answered during the fault (the share of failed requests is reported).

``make chaos`` runs this module alone; the report is printed at the end and kept in
bench/results/chaos.json.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pymongo
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from movie_harness.stack import manager
from movie_harness.stack.services import Kafka, all_services
from movie_harness.tmdb_simulator import Catalogue, TmdbSimulator
from movie_pipeline.config import settings_from_env
from movie_pipeline.processes import tcp_open
from movie_pipeline.schemas.avro import DEAD_LETTER_TOPIC, EVENT_TYPES, METADATA, METRIC, REVIEW
from movie_pipeline.secrets_scan import find_secrets, log_files
from movie_pipeline.serving import export, keys, store
from movie_pipeline.speed import cassandra
from movie_pipeline.speed.health import checkpoint_offsets
from movie_pipeline.speed.jobs import PRODUCER, SPEED_VIEWS
from movie_pipeline.speed.registry import CheckedInIds
from movie_pipeline.speed.runner import LocalProcessRunner
from movie_pipeline.speed.topics import watermarks
from movie_pipeline.speed.wire import WireFormatError, decode
from tests.conftest import API_KEY, REPO, own_stack
from tests.integration.test_serving import gold_lake
from tests.integration.test_speed_layer import expected_windows, task_states, wait_for

pytestmark = pytest.mark.integration
PORTS = {"kafka": 16092, "cassandra": 16042, "mongo": 16017, "redis": 16379}
API_PORT = 16800
TMDB_SPEEDUP = 7200  # the simulator's clock runs two hours a second: every poll finds movies that changed
POLL_LINE = re.compile(r"^poll \d+: (\d+) new events", re.MULTILINE)
SPEED_TOPICS = [event_type.topic for event_type in EVENT_TYPES] + [DEAD_LETTER_TOPIC]


class ApiLoad:
    """A steady stream of API requests (about 20 a second) from a thread; each outcome kept with its time."""

    PATHS = (
        "/v1/movies/7",
        "/v1/movies/8",
        "/v1/movies/7/sentiment?window=7d",
        "/v1/trending?window=24h",
        "/v1/movies?sort=popularity&limit=5",
        "/v1/analytics/years",
    )

    def __init__(self, base_url: str, key: str) -> None:
        self.client = httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=2.0)
        self.outcomes: list[tuple[float, bool]] = []  # (monotonic time, answered with 2xx)
        self.failures: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-load", daemon=True)

    def start(self) -> ApiLoad:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(0.05):
            path = self.PATHS[i % len(self.PATHS)]
            i += 1
            try:
                status = self.client.get(path).status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            ok = isinstance(status, int) and status < 300
            self.outcomes.append((time.monotonic(), ok))
            if not ok:
                self.failures[f"{path.split('?')[0]} -> {status}"] += 1

    def between(self, start: float, end: float) -> tuple[int, float]:
        """(requests, share that failed) in [start, end]."""
        window = [ok for at, ok in self.outcomes if start <= at <= end]
        return len(window), round(sum(not ok for ok in window) / len(window), 3) if window else 0.0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.client.close()


class System:
    """The running system and the checks made after each fault."""

    def __init__(self, stack, simulator: TmdbSimulator, env: dict[str, str], tmp_path) -> None:
        from airflow.dag_processing.dagbag import DagBag

        self.stack, self.simulator, self.env = stack, simulator, env
        self.settings = settings_from_env({**os.environ, **env})
        self.speed = self.settings.speed
        self.runner = LocalProcessRunner.from_environment({**env, "SPEED_JOBS_DIR": str(tmp_path / "jobs")})
        self.supervisor = DagBag(dag_folder=str(REPO / "dags")).get_dag("movie_speed_supervisor")
        self.lake, _ = gold_lake(tmp_path, self.sim_now())
        self.mongo = pymongo.MongoClient(stack.host, stack.ports["mongo"], serverSelectionTimeoutMS=5000, tz_aware=True)
        self.db = self.mongo["chaos"]
        self.exports = 0
        self.junk_sent = 0
        self.api: subprocess.Popen | None = None
        self.load: ApiLoad | None = None

    # ---- the pieces ---------------------------------------------------------------------
    def sim_now(self) -> datetime:
        return datetime.fromtimestamp(self.simulator.now(), UTC)

    def supervise(self) -> set[tuple[str, str]]:
        """One run of the supervisor DAG; the (task, state) pairs of its tasks."""
        run = self.supervisor.test()
        assert run.state == "success", sorted(task_states(run))
        return task_states(run)

    def next_version(self) -> str:
        self.exports += 1
        return f"v{self.exports}"

    def export(self) -> str:
        version = self.next_version()
        export.export(self.lake, self.speed, self.db, version, now=self.sim_now(), emit=lambda _: None)
        return version

    def start_api(self, key: str) -> None:
        self.api_key = key
        env = {
            **os.environ,
            **self.env,
            "MONGO_URI": f"mongodb://{self.stack.host}:{self.stack.ports['mongo']}",
            "MONGO_DATABASE": self.db.name,
            "REDIS_URL": f"redis://{self.stack.host}:{self.stack.ports['redis']}/0",
            "API_RATE_LIMIT": "1000000",
        }
        log = (self.runner.jobs_dir / "api.log").open("ab")
        cli = str(Path(sys.executable).with_name("movie-pipeline"))  # as the job runner finds it
        self.api = subprocess.Popen([cli, "serve", "--port", str(API_PORT)], env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: tcp_open(self.stack.host, API_PORT), 60, "the API to listen")
        self.load = ApiLoad(f"http://{self.stack.host}:{API_PORT}", key).start()

    def stop(self) -> None:
        if self.load:
            self.load.stop()
        if self.api:
            self.api.terminate()
            self.api.wait(timeout=30)
        self.runner.stop(PRODUCER)
        self.runner.stop(SPEED_VIEWS)
        self.simulator.stop()

    def catch_up(self, what: str, timeout: float = 240) -> None:
        """Until the streaming job is alive and has written every event that is in Kafka now."""
        checkpoint = f"{self.settings.checkpoint_uri}/{SPEED_VIEWS}"
        target = [(topic, partition, high) for topic, partition, _, high in self.watermarks((METRIC.topic, REVIEW.topic))]

        def written() -> bool:
            done = checkpoint_offsets(checkpoint, "commits")
            return self.runner.is_alive(SPEED_VIEWS) and all(done.get(t, {}).get(p, -1) >= high for t, p, high in target)

        wait_for(written, timeout, what, lambda: self.runner.log_tail(SPEED_VIEWS))

    def watermarks(self, topics) -> list[tuple[str, int, int, int]]:
        """(topic, partition, low, high) of every partition of the topics."""
        consumer = Consumer({"bootstrap.servers": self.speed.kafka_bootstrap_servers, "group.id": "chaos-offsets"})
        try:
            return watermarks(consumer, topics)
        finally:
            consumer.close()

    def produced(self) -> int:
        """Events the producer reported as new, over all its runs (its log is appended to)."""
        log = self.runner.log_file(PRODUCER)
        return sum(int(n) for n in POLL_LINE.findall(log.read_text())) if log.exists() else 0

    def read_topic(self, event_type) -> tuple[list[dict], int]:
        """(the decodable records of the topic, the number of malformed ones), partition by partition."""
        schemas_by_id = {CheckedInIds().register(event_type): event_type.parsed}
        consumer = Consumer(
            {"bootstrap.servers": self.speed.kafka_bootstrap_servers, "group.id": "chaos-read", "enable.auto.commit": False}
        )
        records, malformed = [], 0
        try:
            for topic, partition, low, high in self.watermarks([event_type.topic]):
                consumer.assign([TopicPartition(topic, partition, low)])
                position = low
                while position < high:
                    message = consumer.poll(5)
                    assert message is not None and message.error() is None, f"{topic}[{partition}] at {position}"
                    try:
                        records.append(decode(message.value(), schemas_by_id)[1])
                    except WireFormatError:
                        malformed += 1
                    position = message.offset() + 1
        finally:
            consumer.close()
        return records, malformed

    def dead_letters(self) -> int:
        return sum(high - low for _, _, low, high in self.watermarks([DEAD_LETTER_TOPIC]))

    # ---- the checks after a fault -------------------------------------------------------
    def settle_and_check(self) -> dict[str, int]:
        """Stop the producer after its poll, let the streaming job drain Kafka, compare everything.

        Returns events lost and double counts (both must be 0); the producer is started again, whatever the checks
        found, so that one failed check does not leave the next faults without a load."""
        self.runner.stop(PRODUCER)
        try:
            return self._settled_counts()
        finally:
            self.runner.start(PRODUCER)

    def _settled_counts(self) -> dict[str, int]:
        self.catch_up("the streaming job to drain Kafka")
        in_kafka = {event_type: self.read_topic(event_type) for event_type in (METRIC, REVIEW, METADATA)}
        records = sum(len(r) for r, _ in in_kafka.values())
        malformed = sum(m for _, m in in_kafka.values())
        assert malformed == self.junk_sent, "the only malformed records in Kafka are the ones fed in on purpose"
        keys_in_kafka = [(kind.name, r["movie_id"], r.get("review_id"), r["event_time"]) for kind, (rs, _) in in_kafka.items() for r in rs]
        duplicates = len(keys_in_kafka) - len(set(keys_in_kafka))
        lost = max(0, self.produced() - records)
        extra = max(0, records - self.produced())

        windowed = [("metric", r) for r in in_kafka[METRIC][0]] + [("review", r) for r in in_kafka[REVIEW][0]]
        expected = expected_windows(windowed)
        session = cassandra.connect(self.speed)
        try:
            got = {
                (r.movie_id, r.window_start.replace(tzinfo=UTC)): r
                for r in session.execute(f"SELECT * FROM {self.speed.keyspace}.movie_windows")
            }
        finally:
            session.cluster.shutdown()
        for key, want in expected.items():
            row = got.get(key)
            observed = (row.metric_observations + row.review_count) if row else 0
            wanted = want.get("metric_observations", 0) + want["review_count"]
            lost += max(0, wanted - observed)
            duplicates += max(0, observed - wanted)
        duplicates += sum(r.metric_observations + r.review_count for key, r in got.items() if key not in expected)
        mismatched = [key for key, want in expected.items() if key in got and _window_differs(got[key], want)]
        assert not mismatched, f"{len(mismatched)} windows differ from the aggregates of Kafka, e.g. {mismatched[:3]}"

        self.check_export()
        return {"events_lost": lost, "double_counts": duplicates + extra}

    def check_export(self) -> None:
        """An export now publishes, completely, what an export of the same inputs into a fresh database does."""
        now = self.sim_now()
        version = self.next_version()
        export.export(self.lake, self.speed, self.db, version, now=now, emit=lambda _: None)
        reference = self.mongo[f"chaos_reference_{self.exports}"]
        export.export(self.lake, self.speed, reference, "reference", now=now, emit=lambda _: None)
        assert store.current(self.db)["version"] == version
        for view in store.VIEWS:
            published = sorted(store.view(self.db, view, version).find(), key=lambda d: str(d["_id"]))
            assert published == sorted(store.view(reference, view, "reference").find(), key=lambda d: str(d["_id"])), view
        self.mongo.drop_database(reference.name)

    def phase(self, fault: str) -> Phase:
        return Phase(self, fault)


class Phase:
    """One fault: when it began and ended, and, once the system has recovered, its row of the report."""

    def __init__(self, system: System, fault: str) -> None:
        self.system, self.fault = system, fault
        self.produced_before = system.produced()
        self.began = self.ended = time.monotonic()

    def over(self) -> None:
        """The fault has ended (the service is back, TMDB answers again); recovery counts from here."""
        self.ended = time.monotonic()

    def recovered(self, chaos_report: list[dict]) -> dict:
        """The system caught up: settle it, check it, add the row to the report; nothing lost or counted twice."""
        recovered = time.monotonic()
        requests, error_rate = self.system.load.between(self.began, recovered)
        produced = self.system.produced() - self.produced_before
        row = {"fault": self.fault, "fault_s": round(self.ended - self.began, 1), "events_produced": produced,
               **self.system.settle_and_check(), "api_requests": requests, "api_error_rate": error_rate,
               "recovery_s": round(recovered - self.ended, 1)}  # fmt: skip
        chaos_report.append(row)
        assert (row["events_lost"], row["double_counts"]) == (0, 0), row
        assert produced > 0 and requests > 0, f"the load ran during the fault: {row}"
        assert error_rate < 0.5, f"the API kept answering most requests: {row}; failures {self.system.load.failures.most_common(5)}"
        return row


def _window_differs(row, want: dict) -> bool:
    if (row.review_count, round(row.sentiment_sum, 9)) != (want["review_count"], round(want["sentiment_sum"], 9)):
        return True
    if "popularity" in want:
        return (row.popularity, row.vote_count, row.metric_observations) != (
            want["popularity"],
            want["vote_count"],
            want["metric_observations"],
        )
    return row.popularity is not None


@pytest.fixture(scope="module")
def system(airflow_db, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("chaos")
    stack_gen = own_stack("test-chaos-stack", PORTS, kafka_brokers=3)
    stack = next(stack_gen)
    began = time.time()
    simulator = TmdbSimulator(catalogue=Catalogue(300, seed=5), rate_limit=1000, now=lambda: began + (time.time() - began) * TMDB_SPEEDUP)
    simulator.start()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": Kafka(stack).bootstrap_servers,
        "KAFKA_PARTITIONS": "3",
        "KAFKA_REPLICATION": "3",
        "CASSANDRA_HOSTS": stack.host,
        "CASSANDRA_PORT": str(stack.ports["cassandra"]),
        "SPEED_KEYSPACE": "chaos",
        "SPEED_WATERMARK": "3650 days",  # on the fast clock a poll's answers are hours apart: none may be late here
        "SPEED_CHECKPOINT_URI": (tmp_path / "checkpoints").as_uri(),
        "SPEED_TRIGGER": "2 seconds",
        "SPEED_JOBS": f"{PRODUCER},{SPEED_VIEWS}",
        "SPEED_JOBS_DIR": str(tmp_path / "jobs"),
        "TMDB_BASE_URL": simulator.base_url,
        "TMDB_API_KEY": API_KEY,
        "TMDB_RATE_LIMIT": "500",
        "PRODUCER_EVERY_S": "3",
        "PRODUCER_LEDGER": str(tmp_path / "ledger.sqlite"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        chaos = System(stack, simulator, env, tmp_path)
        try:
            started = chaos.supervise()  # creates topics and tables, starts both jobs
            assert {("restart_producer", "success"), ("restart_speed_views", "success")} <= started
            session = cassandra.connect(chaos.speed)
            wait_for(lambda: session.execute("SELECT count(*) FROM chaos.movie_windows").one()[0] > 0, 300, "the first windows",
                     lambda: chaos.runner.log_tail(SPEED_VIEWS))  # fmt: skip
            session.cluster.shutdown()
            chaos.export()
            chaos.start_api(keys.create(chaos.db, "chaos"))
            wait_for(lambda: chaos.load.outcomes and chaos.load.outcomes[-1][1], 60, "the API's first answer")
            yield chaos
        finally:
            chaos.stop()
            next(stack_gen, None)


def test_a_streaming_job_killed_with_sigkill_is_restarted_and_loses_nothing(system, chaos_report):
    phase = system.phase("streaming job kill -9")
    os.kill(system.runner.pid(SPEED_VIEWS), signal.SIGKILL)
    wait_for(lambda: not system.runner.is_alive(SPEED_VIEWS), 30, "the job to die")
    assert ("restart_speed_views", "success") in system.supervise()
    system.catch_up("the restarted job to catch up", 240)
    phase.recovered(chaos_report)


def test_a_kafka_broker_restart_in_a_three_broker_cluster_loses_nothing(system, chaos_report):
    phase = system.phase("kafka broker restart (1 of 3)")
    manager.down(system.stack, ["kafka-2"])
    time.sleep(20)  # producer and streaming job carry on with two brokers (min.insync.replicas 2)
    manager.up(system.stack, ["kafka-2"])
    phase.over()
    wait_for(lambda: fully_replicated(system.speed.kafka_bootstrap_servers), 180, "every partition back to three in-sync replicas")
    system.catch_up("the streaming job to catch up", 240)
    phase.recovered(chaos_report)


def fully_replicated(bootstrap: str) -> bool:
    """Every partition of the speed layer's topics has its three replicas in sync again."""
    topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
    speed_topics = [topics[name] for name in SPEED_TOPICS if name in topics]
    return len(speed_topics) == len(SPEED_TOPICS) and all(len(p.isrs) == 3 for t in speed_topics for p in t.partitions.values())


@pytest.mark.extended  # make test has it on the cluster profile (two of three Cassandra nodes down: writes fail, the job is restarted)
def test_cassandra_stopped_for_a_minute_loses_nothing(system, chaos_report):
    phase = system.phase("cassandra stopped 60 s")
    manager.down(system.stack, ["cassandra"])
    time.sleep(60)
    manager.up(system.stack, ["cassandra"])
    phase.over()
    system.supervise()  # restarts whatever the outage stopped
    system.catch_up("the streaming job to catch up", 300)
    phase.recovered(chaos_report)


def test_mongodb_stopped_during_an_export_leaves_the_previous_version_and_the_retry_publishes(system, chaos_report):
    previous = store.current(system.db)

    def stop_mongo_after_movies(line: str) -> None:
        if line.strip().startswith("movies:"):
            manager.down(system.stack, ["mongo"], emit=lambda _: None)

    phase = system.phase("mongodb stopped during an export")
    version = system.next_version()
    with pytest.raises(pymongo.errors.PyMongoError):
        export.export(system.lake, system.speed, system.db, version, now=system.sim_now(), emit=stop_mongo_after_movies)
    time.sleep(15)  # readers meanwhile: the API answers what it has cached
    manager.up(system.stack, ["mongo"], emit=lambda _: None)
    phase.over()
    assert store.current(system.db)["version"] == previous["version"], "the failed export left the previous version current"
    export.export(system.lake, system.speed, system.db, version, now=system.sim_now(), emit=lambda _: None)  # Airflow's retry
    assert (store.current(system.db)["version"], store.current(system.db)["previous"]) == (version, previous["version"])
    phase.recovered(chaos_report)


def test_tmdb_answering_30_percent_5xx_for_two_minutes_loses_nothing(system, chaos_report):
    errors_before = sum(n for status, n in system.simulator.stats.by_status.items() if status >= 500)
    phase = system.phase("tmdb 30% 5xx for 120 s")
    system.simulator.faults.error_5xx = 0.3
    try:
        time.sleep(120)
    finally:
        system.simulator.faults.error_5xx = 0.0
    phase.over()
    answered_5xx = sum(n for status, n in system.simulator.stats.by_status.items() if status >= 500) - errors_before
    assert system.produced() > phase.produced_before, "the producer kept producing through TMDB's errors"
    system.catch_up("the streaming job to catch up", 240)
    row = phase.recovered(chaos_report)
    print(f"TMDB answered {answered_5xx} requests with 5xx during the fault; {row['events_produced']} events produced")
    assert answered_5xx > 0


def test_malformed_records_go_to_the_dead_letters_and_change_no_window(system, chaos_report):
    schema_id = CheckedInIds().register(METRIC)
    junk = [b"not avro at all", b"\x00\x00\x00\x00\x63\x02", b"\x00" + schema_id.to_bytes(4, "big") + b"\xff\xff\xff", b"", b"\x00\x00"]
    dead_before = system.dead_letters()
    phase = system.phase("malformed records fed in (20)")
    producer = Producer({"bootstrap.servers": system.speed.kafka_bootstrap_servers, "acks": "all", "enable.idempotence": True})
    for i, value in enumerate(junk * 4):
        producer.produce((METRIC.topic, REVIEW.topic)[i % 2], key=b"junk", value=value)
    assert producer.flush(30) == 0
    system.junk_sent += len(junk) * 4
    wait_for(lambda: system.dead_letters() == dead_before + len(junk) * 4, 120, "every malformed record in the dead letters")
    system.catch_up("the streaming job to catch up", 240)
    phase.recovered(chaos_report)


def test_no_log_of_the_run_holds_the_tmdb_key_or_an_api_key(system):
    """Every log the run wrote: the stack's services, the producer (through TMDB's 5xx), the streaming job, the API,
    Airflow's task logs where there are files of them (``dag.test()`` logs to the test's output)."""
    roots = [system.stack.state_dir, system.runner.jobs_dir, Path(os.environ["AIRFLOW_HOME"]) / "logs"]
    leaks, searched = find_secrets(roots, {"TMDB API key": API_KEY, "API key": system.api_key})
    print(f"searched {searched} log files for the TMDB key and the API key")
    written = {path.name for path in log_files(roots)}
    services = {f"{service.name}.log" for service in all_services(system.stack) if (service.home).exists()}
    assert written >= services | {"producer.log", "speed_views.log", "api.log"}, written
    assert not leaks, [str(leak) for leak in leaks]
