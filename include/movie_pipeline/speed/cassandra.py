"""The speed views in Cassandra: schema (created idempotently) and the idempotent writers.

Every view row lives 48 hours plus a grace (``default_time_to_live``; see ``SpeedSettings``) and
the tables use TimeWindowCompactionStrategy, so expired windows leave whole SSTables to drop.
Rows are keyed so that writing a replayed micro-batch again overwrites:

- ``movie_windows``   ((movie_id), window_start DESC): latest metrics, deltas, review sentiment
- ``trending_windows`` ((window_start), movie_id): popularity growth of every movie in a window,
  ranked at read time
- ``late_events``     ((day), topic, partition, offset): events that arrived after their window closed
- ``stream_progress`` ((job)): the last micro-batch a streaming job committed (the supervisor's
  liveness signal)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from movie_pipeline.config import SpeedSettings

WINDOW_COLUMNS = (
    "movie_id",
    "window_start",
    "window_end",
    "popularity",
    "vote_average",
    "vote_count",
    "popularity_delta",
    "vote_average_delta",
    "vote_count_delta",
    "metric_observations",
    "review_count",
    "sentiment_sum",
    "positive",
    "neutral",
    "negative",
    "last_event_time",
)
TRENDING_COLUMNS = ("window_start", "movie_id", "popularity", "popularity_delta", "vote_count_delta")
LATE_COLUMNS = ("day", "topic", "partition", "offset", "movie_id", "kind", "event_time", "window_start", "watermark")


def _view_options(speed: SpeedSettings) -> str:
    return (
        f"default_time_to_live = {speed.ttl_seconds} AND compaction = "
        "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'HOURS', 'compaction_window_size': 6}"
    )


def schema_statements(speed: SpeedSettings, replication_factor: int = 1) -> list[str]:
    keyspace = speed.keyspace
    return [
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
        f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}",
        f"""CREATE TABLE IF NOT EXISTS {keyspace}.movie_windows (
            movie_id bigint, window_start timestamp, window_end timestamp,
            popularity double, vote_average double, vote_count bigint,
            popularity_delta double, vote_average_delta double, vote_count_delta bigint, metric_observations int,
            review_count int, sentiment_sum double, positive int, neutral int, negative int,
            last_event_time timestamp, written_at timestamp,
            PRIMARY KEY ((movie_id), window_start)
        ) WITH CLUSTERING ORDER BY (window_start DESC) AND {_view_options(speed)}""",
        f"""CREATE TABLE IF NOT EXISTS {keyspace}.trending_windows (
            window_start timestamp, movie_id bigint, popularity double, popularity_delta double, vote_count_delta bigint,
            written_at timestamp,
            PRIMARY KEY ((window_start), movie_id)
        ) WITH {_view_options(speed)}""",
        f"""CREATE TABLE IF NOT EXISTS {keyspace}.late_events (
            day date, topic text, partition int, offset bigint, movie_id bigint, kind text,
            event_time timestamp, window_start timestamp, watermark timestamp, written_at timestamp,
            PRIMARY KEY ((day), topic, partition, offset)
        ) WITH {_view_options(speed)}""",
        f"""CREATE TABLE IF NOT EXISTS {keyspace}.stream_progress (
            job text PRIMARY KEY, batch_id bigint, committed_at timestamp, late_events bigint
        )""",
    ]


def connect(speed: SpeedSettings, timeout: float = 30.0):
    """A session on the cluster (the caller shuts ``session.cluster`` down)."""
    from cassandra.cluster import Cluster

    # the control connection's queries of the system tables wait 2 s by default: too short for a Cassandra
    # sharing 2 cores with a starting Spark job (seen as NoHostAvailable: OperationTimedOut in CI)
    cluster = Cluster(list(speed.cassandra_hosts), port=speed.cassandra_port, connect_timeout=timeout, control_connection_timeout=timeout)
    return cluster.connect()


def ensure_schema(speed: SpeedSettings) -> list[str]:
    """Create the keyspace and tables if missing; return the tables that exist afterwards."""
    session = connect(speed)
    try:
        for statement in schema_statements(speed):
            session.execute(statement, timeout=60)
        rows = session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (speed.keyspace,))
        return sorted(row.table_name for row in rows)
    finally:
        session.cluster.shutdown()


_SESSIONS: dict = {}


def shared_session(speed: SpeedSettings):
    """One session per process for the writers: Spark reuses its Python workers across micro-batches."""
    if speed not in _SESSIONS:
        _SESSIONS[speed] = connect(speed)
    return _SESSIONS[speed]


def close_shared_sessions() -> None:
    """Shut down the shared sessions' clusters (a process that wrote in-process, as the tests do, before it exits)."""
    while _SESSIONS:
        _SESSIONS.popitem()[1].cluster.shutdown()


def _insert(keyspace: str, table: str, columns: Iterable[str]) -> str:
    columns = (*columns, "written_at")
    return f"INSERT INTO {keyspace}.{table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


BATCH_ROWS = 50  # rows of one partition per unlogged batch (about 3 KiB: under Cassandra's 5 KiB warning)


def write_rows(speed: SpeedSettings, table: str, columns: tuple[str, ...], rows: Iterable) -> int:
    """Upsert Spark rows (one partition of a micro-batch) with a prepared statement; return how many.

    ``columns[0]`` is the table's partition key: the rows of one partition go in unlogged batches
    (one round trip, applied as one mutation), the batches run concurrently.
    """
    from cassandra.concurrent import execute_concurrent
    from cassandra.query import BatchStatement, BatchType

    written_at = datetime.now(UTC)
    by_partition: dict[object, list[tuple]] = {}
    for row in rows:
        values = (*(row[c] for c in columns), written_at)
        by_partition.setdefault(values[0], []).append(values)
    if not by_partition:
        return 0
    session = shared_session(speed)
    statement = session.prepare(_insert(speed.keyspace, table, columns))  # the driver caches prepared statements
    batches = []
    for partition_rows in by_partition.values():
        for chunk in range(0, len(partition_rows), BATCH_ROWS):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for values in partition_rows[chunk : chunk + BATCH_ROWS]:
                batch.add(statement, values)
            batches.append((batch, None))
    for success, result in execute_concurrent(session, batches, concurrency=64, raise_on_first_error=False):
        if not success:
            raise result
    return sum(len(partition_rows) for partition_rows in by_partition.values())


def record_progress(speed: SpeedSettings, job: str, batch_id: int, late_events: int = 0) -> None:
    """Note that ``job`` committed micro-batch ``batch_id`` now (and how many late events it met)."""
    shared_session(speed).execute(
        f"INSERT INTO {speed.keyspace}.stream_progress (job, batch_id, committed_at, late_events) VALUES (%s, %s, %s, %s)",
        (job, batch_id, datetime.now(UTC), late_events),
    )
