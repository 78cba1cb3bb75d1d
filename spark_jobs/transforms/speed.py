"""Kafka records -> speed-layer windows: pure DataFrame -> DataFrame transforms (streaming or not).

1. ``decode``: Kafka rows (``topic, partition, offset, key, value``) are checked for the Confluent
   header (byte 0, then a 4-byte schema id of the topic's event type) and decoded with
   ``from_avro``; whatever fails goes to the dead letters with its reason, in the words of
   ``movie_pipeline.speed.wire.decode`` (which also refuses bytes left over after a record;
   Spark's reader ignores them).
2. ``window``: per movie, 5-minute event-time windows folded by ``MovieWindows`` (see
   ``speed_windows.py``; Spark's state is kept per shard of movies) under a watermark; one output holds both the changed windows
   (``row_type = 'window'``) and the late events (``row_type = 'late'``): behind the watermark, or in a window that has
   outlived the speed views (end + 48 h + grace before the micro-batch's processing time).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from movie_pipeline.schemas.avro import METRIC, REVIEW, EventType
from spark_jobs.sentiment import vader_compound
from spark_jobs.transforms.speed_windows import STATE_SHARDS, WINDOW_MS, Event, StateShard

DEAD_LETTER_COLUMNS = ("topic", "partition", "offset", "key", "value", "reason")
EVENT_COLUMNS = (
    "movie_id",
    "kind",
    "event_time",
    "topic",
    "partition",
    "offset",
    "popularity",
    "vote_average",
    "vote_count",
    "review_id",
    "compound",
)
OUTPUT_SCHEMA = (
    "row_type string, movie_id long, window_start long, window_end long, popularity double, vote_average double, "
    "vote_count long, popularity_delta double, vote_average_delta double, vote_count_delta long, metric_observations int, "
    "review_count int, sentiment_sum double, positive int, neutral int, negative int, last_event_time long, "
    "kind string, event_time long, watermark long, topic string, partition int, offset long, reason string"
)
STATE_SCHEMA = "windows string"


def _header_problem(schema_id: Column, expected_id: int) -> Column:
    """Why a message is not a framed record of the expected schema (null when it is)."""
    length = F.length("value")
    return (
        F.when(F.col("value").isNull() | (length == 0), F.lit("empty message"))
        .when(length < 5, F.concat(F.lit("shorter than the 5-byte header ("), length.cast("string"), F.lit(" bytes)")))
        .when(
            F.substring("value", 1, 1) != F.lit(bytearray(1)),
            F.concat(F.lit("magic byte is "), F.conv(F.hex(F.substring("value", 1, 1)), 16, 10), F.lit(", not 0")),
        )
        .when(schema_id != expected_id, F.concat(F.lit("unknown schema id "), schema_id.cast("string")))
    )


def _decoded(event_type: EventType, body: Column, problem: Column) -> Column:
    """The Avro record of ``event_type`` in ``body`` (null on the other topic or when the header is wrong)."""
    return F.when((F.col("topic") == event_type.topic) & problem.isNull(), from_avro(body, event_type.schema_text, {"mode": "PERMISSIVE"}))


def decode(raw: DataFrame, schema_ids: dict[str, int]) -> tuple[DataFrame, DataFrame]:
    """Kafka rows of the metric and review topics -> (events in ``EVENT_COLUMNS``, dead letters).

    ``schema_ids`` maps each event type's name to the id its messages must carry. One pass over
    the source: each row is decoded with the schema of its own topic.
    """
    expected_id = F.when(F.col("topic") == METRIC.topic, F.lit(schema_ids[METRIC.name])).otherwise(F.lit(schema_ids[REVIEW.name]))
    framed = raw.filter(F.col("topic").isin(METRIC.topic, REVIEW.topic)).withColumn(
        "schema_id", F.conv(F.hex(F.substring("value", 2, 4)), 16, 10).cast("long")
    )
    framed = framed.withColumn("reason", _header_problem(F.col("schema_id"), expected_id))
    body = F.expr("substring(value, 6, length(value) - 5)")
    decoded = framed.withColumn("metric", _decoded(METRIC, body, F.col("reason"))).withColumn(
        "review", _decoded(REVIEW, body, F.col("reason"))
    )
    movie_id = F.coalesce(F.col("metric.movie_id"), F.col("review.movie_id"))
    decoded = decoded.withColumn(
        "reason",
        F.coalesce(
            # PERMISSIVE from_avro gives a row of nulls for bytes it cannot read; movie_id is required in every schema
            "reason",
            F.when(movie_id.isNull(), F.concat(F.lit("not valid Avro for schema id "), F.col("schema_id").cast("string"))),
        ),
    )
    good = decoded.filter(F.col("reason").isNull())
    is_metric = F.col("topic") == METRIC.topic
    events = good.select(
        movie_id.alias("movie_id"),
        F.when(is_metric, F.lit("metric")).otherwise(F.lit("review")).alias("kind"),
        F.coalesce(F.col("metric.event_time"), F.col("review.event_time")).alias("event_time"),
        "topic",
        "partition",
        "offset",
        F.col("metric.popularity").alias("popularity"),
        F.col("metric.vote_average").alias("vote_average"),
        F.col("metric.vote_count").alias("vote_count"),
        F.col("review.review_id").alias("review_id"),
        F.when(~is_metric, vader_compound(F.col("review.content"))).alias("compound"),
    )
    dead = decoded.filter(F.col("reason").isNotNull()).select(*DEAD_LETTER_COLUMNS)
    return events, dead


def _fold(
    lifetime_ms: int,
    now_ms: Callable[[], float],
    key: tuple,  # noqa: ARG001 - applyInPandasWithState's
    batches: Iterator[pd.DataFrame],
    state: GroupState,
) -> Iterator[pd.DataFrame]:
    """One state shard's events of a micro-batch (or its timeout) -> changed windows and late events."""
    watermark = state.getCurrentWatermarkMs()
    expire_before = int(now_ms()) - lifetime_ms
    shard = StateShard.from_state(state.get[0] if state.exists else None)
    rows: list[dict] = []
    late: list[dict] = []
    if not state.hasTimedOut:
        # all of the micro-batch first (Arrow may cut a group into several frames): each changed window is emitted once,
        # so one write of the batch never holds two versions of a row (in one Cassandra batch they would tie)
        events = [
            Event(
                movie_id=int(r.movie_id),
                kind=r.kind,
                event_time=int(r.event_ms),
                topic=r.topic,
                partition=int(r.partition),
                offset=int(r.offset),
                popularity=None if pd.isna(r.popularity) else float(r.popularity),
                vote_average=None if pd.isna(r.vote_average) else float(r.vote_average),
                vote_count=None if pd.isna(r.vote_count) else int(r.vote_count),
                review_id=r.review_id,
                compound=None if pd.isna(r.compound) else float(r.compound),
            )
            for batch in batches
            for r in batch.itertuples(index=False)
        ]
        rows, late = shard.add(events, watermark, expire_before)
    shard.evict(watermark)
    if shard.movies:
        state.update((shard.to_state(),))
        state.setTimeoutDuration(WINDOW_MS)  # come back to evict what the watermark closes
    else:
        state.remove()
    output = [{"row_type": "window", **row} for row in rows] + [{"row_type": "late", **row} for row in late]
    columns = [field.split(" ")[0] for field in OUTPUT_SCHEMA.split(", ")]
    yield pd.DataFrame(output, columns=columns)


def _wall_clock_ms() -> float:
    return time.time() * 1000


def window(events: DataFrame, watermark_delay: str, lifetime_s: int, now_ms: Callable[[], float] = _wall_clock_ms) -> DataFrame:
    """Events -> changed windows and late events (``OUTPUT_SCHEMA``, times as timestamps).

    ``lifetime_s``: how long after its end a window is a speed row (48 h + grace); ``now_ms`` the clock that judges it."""
    fold = functools.partial(_fold, lifetime_s * 1000, now_ms)
    folded = (
        events.withWatermark("event_time", watermark_delay)
        .withColumn("event_ms", F.unix_millis("event_time"))
        .withColumn("state_shard", F.pmod(F.col("movie_id"), F.lit(STATE_SHARDS)))
        .groupBy("state_shard")
        .applyInPandasWithState(fold, OUTPUT_SCHEMA, STATE_SCHEMA, "update", GroupStateTimeout.ProcessingTimeTimeout)
    )
    for column in ("window_start", "window_end", "last_event_time", "event_time", "watermark"):
        folded = folded.withColumn(column, F.timestamp_millis(column))
    return folded
