"""Speed layer throughput and freshness: producer -> Kafka -> Spark (2 cores) -> Cassandra.

Kafka and Cassandra are started on their own ports and state directory, the streaming job is
started as the supervisor starts it (spark-submit, local[2]); then:

    stream_events_per_s     a backlog of --events framed Avro events (metrics and reviews over
                            2,000 movies) produced before the job starts; events / seconds from
                            the job's first planned batch (start-up excluded) to the last batch
                            committed with nothing left in Kafka (target >= 5,000)
    stream_freshness_p50_s  events produced at a steady --rate for --seconds, each timed at
    stream_freshness_p95_s  production (event time = wall clock); per window, the write time of
                            its row minus the time of its newest event (target p95 <= 30)

    python bench/stream_bench.py [--events 300000] [--rate 2000] [--seconds 60]
    python bench/stream_bench.py --profile cluster   # cluster_stream_events_per_s: 3 brokers, Spark standalone
                                                     # (the job's one core), checkpoints on HDFS, 3 Cassandra nodes
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Producer
from results import record

from movie_harness import REPO_ROOT
from movie_harness.stack import manager
from movie_harness.stack.services import Cassandra, Kafka, SparkMaster, StackSettings
from movie_harness.stack.services.airflow import cluster_environment
from movie_pipeline.config import settings_from_env
from movie_pipeline.schemas.avro import METRIC, REVIEW
from movie_pipeline.speed import cassandra
from movie_pipeline.speed.health import kafka_lag, latest_batch
from movie_pipeline.speed.jobs import SPEED_VIEWS
from movie_pipeline.speed.registry import CheckedInIds
from movie_pipeline.speed.runner import LocalProcessRunner, runner_from_environment
from movie_pipeline.speed.topics import ensure_topics
from movie_pipeline.speed.wire import frame

PORTS = {"kafka": 12092, "cassandra": 12042}
CLUSTER_PORTS = {
    "hdfs": 12020,
    "hdfs_http": 12870,
    "hdfs_datanode": 12864,
    "spark_master": 12077,
    "spark_master_ui": 12081,
    "spark_rest": 12066,
    "spark_worker_ui": 12082,
}
MOVIES = 2_000
REVIEW_TEXTS = ("A wonderful film.", "Boring and too long.", "It was fine.", "I loved it!", "Awful.")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class EventSource:
    def __init__(self, bootstrap: str, seed: int = 1) -> None:
        ids = CheckedInIds()
        self.ids = {METRIC.name: ids.register(METRIC), REVIEW.name: ids.register(REVIEW)}
        self.rng = random.Random(seed)
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 20})
        self.sent = 0

    def send(self, at: datetime) -> None:
        movie = self.rng.randint(1, MOVIES)
        if self.rng.random() < 0.1:
            event_type = REVIEW
            record_ = {
                "review_id": f"b{self.sent}", "movie_id": movie, "event_time": at, "created_at": at, "author": "bench",
                "rating": None, "content": self.rng.choice(REVIEW_TEXTS),
            }  # fmt: skip
        else:
            event_type = METRIC
            record_ = {
                "movie_id": movie, "event_time": at, "popularity": self.rng.uniform(1, 500), "vote_average": self.rng.uniform(0, 10),
                "vote_count": self.rng.randint(0, 50_000), "source": "bench",
            }  # fmt: skip
        value = frame(self.ids[event_type.name], event_type.parsed, record_)
        while True:
            try:
                self.producer.produce(event_type.topic, key=str(movie).encode(), value=value)
                break
            except BufferError:
                self.producer.poll(0.1)
        self.producer.poll(0)
        self.sent += 1

    def flush(self) -> None:
        if self.producer.flush(120):
            raise SystemExit("Kafka did not acknowledge every event")


def log_batches(runner: LocalProcessRunner, last: int = 20) -> None:
    lines = [line for line in runner.log_file(SPEED_VIEWS).read_text().splitlines() if line.startswith(f"{SPEED_VIEWS} batch ")]
    for line in lines[-last:]:
        log(f"    {line}")
    runner.log_file(SPEED_VIEWS).write_text("")  # the next phase reports its own batches


def wait_until_caught_up(settings, checkpoint: str, runner: LocalProcessRunner, timeout: float) -> float:
    """Seconds until nothing waits in Kafka and the last batch has been written (its progress recorded)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not runner.is_alive(SPEED_VIEWS):
            raise SystemExit(f"the streaming job died:\n{runner.log_tail(SPEED_VIEWS)}")
        webhdfs = settings.lake_webhdfs
        if kafka_lag(settings, checkpoint) == 0 and latest_batch(checkpoint, "commits", webhdfs) == latest_batch(
            checkpoint, "offsets", webhdfs
        ):
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"the streaming job did not catch up within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000, help="backlog for the throughput figure")
    parser.add_argument("--rate", type=int, default=2_000, help="events per second for the freshness figure")
    parser.add_argument("--seconds", type=int, default=60, help="how long to produce at --rate")
    parser.add_argument("--profile", choices=("default", "cluster"), default="default", help="the stack the job runs on")
    args = parser.parse_args()

    cluster = args.profile == "cluster"
    state_dir = REPO_ROOT / ".local" / ("bench-speed-cluster" if cluster else "bench-speed-stack")
    shutil.rmtree(state_dir, ignore_errors=True)
    ports = {**StackSettings().ports, **PORTS, **(CLUSTER_PORTS if cluster else {})}
    stack = StackSettings(state_dir=state_dir, ports=ports, kafka_brokers=3 if cluster else 1, profile=args.profile)
    services = ["kafka", "cassandra", *(["hdfs", "spark"] if cluster else [])]
    work = Path(tempfile.mkdtemp(prefix="stream-bench-"))
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": Kafka(stack).bootstrap_servers,
        "CASSANDRA_HOSTS": ",".join(Cassandra(stack).hosts),
        "CASSANDRA_PORT": str(PORTS["cassandra"]),
        "SPEED_KEYSPACE": "speed_bench",
        "SPEED_CHECKPOINT_URI": (work / "checkpoints").as_uri(),
        "SPEED_WATERMARK": "10 minutes",
        "SPEED_TRIGGER": "1 second",
    }
    if cluster:  # the settings the cluster's Airflow gives the job, the checkpoints on HDFS
        env.update(cluster_environment(stack), SPARK_MASTER=SparkMaster(stack).url, SPARK_LOCAL_IP=stack.host)
        env["SPEED_CHECKPOINT_URI"] = f"{env['LAKE_URI']}/_checkpoints/bench-{int(time.time())}"
    settings = settings_from_env(env)
    checkpoint = f"{settings.checkpoint_uri}/{SPEED_VIEWS}"
    runner = runner_from_environment({**env, "SPEED_JOBS_DIR": str(work / "jobs")})
    webhdfs = settings.lake_webhdfs
    figures: dict[str, float] = {}
    try:
        manager.up(stack, services, emit=log)
        ensure_topics(settings.speed)
        cassandra.ensure_schema(settings.speed)
        source = EventSource(env["KAFKA_BOOTSTRAP_SERVERS"])

        log(f"producing a backlog of {args.events} events ...")
        started = time.monotonic()
        base = datetime.now(UTC) - timedelta(minutes=30)
        for i in range(args.events):
            source.send(base + timedelta(milliseconds=i * 1_800_000 // args.events))
        source.flush()
        produced_s = time.monotonic() - started
        log(f"  produced in {produced_s:.1f} s; starting the streaming job")
        job_started = time.monotonic()
        runner.start(SPEED_VIEWS)
        while latest_batch(checkpoint, webhdfs=webhdfs) is None:  # JVM, session and Kafka metadata: start-up, not throughput
            if not runner.is_alive(SPEED_VIEWS) or time.monotonic() - job_started > 300:
                raise SystemExit(f"the streaming job did not start:\n{runner.log_tail(SPEED_VIEWS)}")
            time.sleep(0.2)
        startup = time.monotonic() - job_started
        caught_up = wait_until_caught_up(settings, checkpoint, runner, timeout=1800)
        log(f"  started in {startup:.1f} s, then caught up with the backlog in {caught_up:.1f} s; its batches:")
        log_batches(runner)
        figures["cluster_stream_events_per_s" if cluster else "stream_events_per_s"] = round(args.events / caught_up, 0)
        if not cluster:  # the freshness figures are the default profile's
            log(f"producing {args.rate} events/s for {args.seconds} s ...")
            steady_from = datetime.now(UTC)
            for second in range(args.seconds):
                tick = time.monotonic()
                for _ in range(args.rate):
                    source.send(datetime.now(UTC))
                source.producer.poll(0)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
                if second % 10 == 9:
                    log(f"  {second + 1} s")
            source.flush()
            wait_until_caught_up(settings, checkpoint, runner, timeout=600)
            session = cassandra.connect(settings.speed)
            try:
                rows = session.execute(f"SELECT last_event_time, written_at FROM {settings.speed.keyspace}.movie_windows")
                lags = [
                    (r.written_at - r.last_event_time).total_seconds()
                    for r in rows
                    if r.last_event_time is not None and r.last_event_time.replace(tzinfo=UTC) >= steady_from
                ]
            finally:
                session.cluster.shutdown()
            quantiles = statistics.quantiles(lags, n=20)
            figures["stream_freshness_p50_s"] = round(statistics.median(lags), 2)
            figures["stream_freshness_p95_s"] = round(quantiles[18], 2)
            log(f"  freshness over {len(lags)} windows; the last batches:")
            log_batches(runner, last=10)
    finally:
        runner.stop(SPEED_VIEWS)
        manager.down(stack, services, emit=log)
        shutil.rmtree(work, ignore_errors=True)
    record(figures)


if __name__ == "__main__":
    main()
