"""The speed views in Cassandra: schema (created idempotently) and the idempotent writers.

A window's rows live until 48 hours plus a grace after the window's **end** (event time, not the write:
``USING TTL`` per row, see ``row_ttl_s``); a window already past that is not written (the streaming job
counts its events as late). The other rows live 48 hours plus the grace from their write
(``default_time_to_live``). The tables use TimeWindowCompactionStrategy, so expired windows leave
whole SSTables to drop.
Rows are keyed so that writing a replayed micro-batch again overwrites:

- ``movie_windows``   ((movie_id), window_start DESC): latest metrics, deltas, review sentiment
- ``trending_windows`` ((window_start), movie_id): popularity growth of every movie in a window,
  ranked at read time
- ``late_events``     ((day), topic, partition, offset): events that arrived after their window closed
- ``stream_progress`` ((job)): the last micro-batch a streaming job committed (the supervisor's
  liveness signal)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from movie_pipeline.config import SpeedSettings

WINDOW = timedelta(minutes=5)  # the speed views' tumbling windows
# why an event is a late event (late_events.reason)
BEHIND_WATERMARK = "behind the watermark"
EXPIRED = "past the speed views' lifetime"

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
LATE_COLUMNS = ("day", "topic", "partition", "offset", "movie_id", "kind", "event_time", "window_start", "watermark", "reason")
# the tables whose rows expire by their window's event time
EVENT_TIME_TTL = ("movie_windows", "trending_windows")


def _view_options(speed: SpeedSettings) -> str:
    return (
        f"default_time_to_live = {speed.ttl_seconds} AND compaction = "
        "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'HOURS', 'compaction_window_size': 6}"
    )


def schema_statements(speed: SpeedSettings) -> list[str]:
    keyspace = speed.keyspace
    return [
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
        f"{{'class': 'SimpleStrategy', 'replication_factor': {speed.cassandra_replication}}}",
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
            event_time timestamp, window_start timestamp, watermark timestamp, reason text, written_at timestamp,
            PRIMARY KEY ((day), topic, partition, offset)
        ) WITH {_view_options(speed)}""",
        f"""CREATE TABLE IF NOT EXISTS {keyspace}.stream_progress (
            job text PRIMARY KEY, batch_id bigint, committed_at timestamp, late_events bigint
        )""",
    ]


# columns added after a table was first released: a keyspace created before gets them on the next ensure_schema
ADDED_COLUMNS = (("late_events", "reason", "text"),)


def connect(speed: SpeedSettings, timeout: float = 30.0):
    """A session on the cluster whose statements run at ``CASSANDRA_CONSISTENCY`` (the caller shuts ``session.cluster`` down).

    At QUORUM a write that fewer than a majority of replicas take fails (``Unavailable``) instead of being
    acknowledged: the streaming job's micro-batch then fails and is replayed from its checkpoint."""
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile

    profile = ExecutionProfile(consistency_level=ConsistencyLevel.name_to_value[speed.cassandra_consistency.upper()])
    # the control connection's queries of the system tables wait 2 s by default: too short for a Cassandra
    # sharing 2 cores with a starting Spark job (seen as NoHostAvailable: OperationTimedOut in CI)
    cluster = Cluster(
        list(speed.cassandra_hosts),
        port=speed.cassandra_port,
        connect_timeout=timeout,
        control_connection_timeout=timeout,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
    return cluster.connect()


def ensure_schema(speed: SpeedSettings) -> list[str]:
    """Create the keyspace and tables if missing; return the tables that exist afterwards."""
    session = connect(speed)
    try:
        for statement in schema_statements(speed):
            session.execute(statement, timeout=60)
        for table, column, kind in ADDED_COLUMNS:
            found = session.execute(
                "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s AND column_name = %s",
                (speed.keyspace, table, column),
            ).one()
            if found is None:
                session.execute(f"ALTER TABLE {speed.keyspace}.{table} ADD {column} {kind}", timeout=60)
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
    ttl = " USING TTL ?" if table in EVENT_TIME_TTL else ""
    return f"INSERT INTO {keyspace}.{table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}){ttl}"


def row_ttl_s(window_start: datetime, speed: SpeedSettings, now: datetime) -> int:
    """Seconds a window's row has left at ``now``: until its end + 48 h + grace (0 or less: already expired).

    A naive ``window_start`` is UTC (Spark hands the job's timestamps over naive, in its UTC time zone)."""
    start = window_start if window_start.tzinfo is not None else window_start.replace(tzinfo=UTC)
    return math.ceil((start + WINDOW - now).total_seconds()) + speed.ttl_seconds


BATCH_ROWS = 50  # rows of one partition per unlogged batch (about 3 KiB: under Cassandra's 5 KiB warning)


def write_rows(speed: SpeedSettings, table: str, columns: tuple[str, ...], rows: Iterable) -> int:
    """Upsert Spark rows (one partition of a micro-batch) with a prepared statement; return how many.

    ``columns[0]`` is the table's partition key: the rows of one partition go in unlogged batches
    (one round trip, applied as one mutation), the batches run concurrently. A window row gets the
    time it has left (``row_ttl_s``); one that has none left is not written (the streaming job has
    already counted such events as late; only a window expiring between its fold and its write gets here).
    """
    from cassandra.concurrent import execute_concurrent
    from cassandra.query import BatchStatement, BatchType

    written_at = datetime.now(UTC)
    by_event_time = table in EVENT_TIME_TTL
    by_partition: dict[object, list[tuple]] = {}
    for row in rows:
        values = (*(row[c] for c in columns), written_at)
        if by_event_time:
            ttl = row_ttl_s(row["window_start"], speed, written_at)
            if ttl <= 0:
                continue
            values = (*values, ttl)
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
