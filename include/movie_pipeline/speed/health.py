"""Is a speed-layer job alive and making progress? What the supervisor DAG's sensors ask.

- ``producer``: alive, and its last poll (``stream_progress``) is recent (3 poll intervals).
- ``speed_views``: alive, and either nothing waits in Kafka or its queries committed a batch
  recently. Its Kafka lag is the end offsets of the topics minus the offsets of the latest batch
  in the query's checkpoint (Spark keeps them there, not in a consumer group).

Verdicts: ``healthy``; ``starting`` (alive, no progress yet, still within the start grace);
``dead`` (no process); ``stalled`` (alive but no progress while work waits).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from movie_pipeline.config import Settings
from movie_pipeline.schemas.avro import METRIC, REVIEW
from movie_pipeline.speed.jobs import DEAD, HEALTHY, PRODUCER, SPEED_VIEWS, STALLED, STARTING, VIEWS_QUERY, query_checkpoint
from movie_pipeline.speed.runner import JobRunner

START_GRACE_S = 180.0
STALL_AFTER_S = 120.0


@dataclass(frozen=True)
class JobStatus:
    job: str
    verdict: str
    detail: str
    progress_age_s: float | None = None
    lag: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def last_progress(settings: Settings, job: str) -> datetime | None:
    from movie_pipeline.speed.cassandra import connect

    session = connect(settings.speed)
    try:
        row = session.execute(f"SELECT committed_at FROM {settings.speed.keyspace}.stream_progress WHERE job = %s", (job,)).one()
    finally:
        session.cluster.shutdown()
    return None if row is None or row.committed_at is None else row.committed_at.replace(tzinfo=UTC)


def latest_batch(checkpoint_uri: str, log: str = "offsets", webhdfs: str | None = None) -> int | None:
    """The id of the latest batch in a query's checkpoint log: ``offsets`` (planned) or ``commits`` (written).

    ``webhdfs``: how an ``hdfs://`` checkpoint is reached (``LAKE_WEBHDFS``)."""
    from movie_pipeline.lake import filesystem

    fs, root = filesystem(f"{checkpoint_uri.rstrip('/')}/{log}", webhdfs)
    if not fs.exists(root):
        return None
    batches = [int(name.rsplit("/", 1)[-1]) for name in fs.ls(root, detail=False) if name.rsplit("/", 1)[-1].isdigit()]
    return max(batches, default=None)


def checkpoint_offsets(checkpoint_uri: str, log: str = "offsets", webhdfs: str | None = None) -> dict[str, dict[int, int]]:
    """The Kafka offsets a query's latest batch read up to: topic -> partition -> offset.

    ``log="commits"``: of the latest batch whose output is written (a planned batch may still run)."""
    from movie_pipeline.lake import filesystem

    batch = latest_batch(checkpoint_uri, log, webhdfs)
    if batch is None:
        return {}
    fs, path = filesystem(f"{checkpoint_uri.rstrip('/')}/offsets/{batch}", webhdfs)
    offsets: dict[str, dict[int, int]] = {}
    for line in fs.cat_file(path).decode().splitlines()[2:]:  # version, batch metadata, then one line per source
        for topic, partitions in json.loads(line).items():
            offsets[topic] = {int(p): int(o) for p, o in partitions.items()}
    return offsets


def kafka_lag(settings: Settings, checkpoint_uri: str) -> int:
    """Events in the metric and review topics that the streaming job's latest batch has not read."""
    from confluent_kafka import Consumer

    from movie_pipeline.speed.topics import watermarks

    read = checkpoint_offsets(checkpoint_uri, webhdfs=settings.lake_webhdfs)
    consumer = Consumer({"bootstrap.servers": settings.speed.kafka_bootstrap_servers, "group.id": "movie-speed-supervisor"})
    try:
        marks = watermarks(consumer, (METRIC.topic, REVIEW.topic))
        return sum(max(0, high - read.get(topic, {}).get(partition, low)) for topic, partition, low, high in marks)
    finally:
        consumer.close()


def job_status(settings: Settings, runner: JobRunner, job: str, now: datetime | None = None) -> JobStatus:
    """The verdict on one job."""
    now = now or datetime.now(UTC)
    started_s_ago = runner.uptime_s(job)
    if started_s_ago is None:
        return JobStatus(job, DEAD, f"{job} has no running process")
    progress = last_progress(settings, job)
    age = None if progress is None else (now - progress).total_seconds()
    lag = kafka_lag(settings, query_checkpoint(settings.checkpoint_uri, VIEWS_QUERY)) if job == SPEED_VIEWS else None
    if job == PRODUCER:
        fresh = age is not None and age <= 3 * settings.speed.producer_every_s + 30
        waiting = True
    else:
        fresh = age is not None and age <= STALL_AFTER_S
        waiting = bool(lag)
    if fresh or not waiting:
        return JobStatus(job, HEALTHY, f"last progress {_age(age)} ago, lag {lag}", age, lag)
    if started_s_ago is not None and started_s_ago < START_GRACE_S:
        return JobStatus(job, STARTING, f"started {started_s_ago:.0f} s ago, no progress yet", age, lag)
    return JobStatus(job, STALLED, f"no progress for {_age(age)} while {lag if lag is not None else 'work'} waits", age, lag)


def _age(seconds: float | None) -> str:
    return "ever" if seconds is None else f"{seconds:.0f} s"
