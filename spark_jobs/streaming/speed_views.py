"""spark-submit entrypoint (long-running): Kafka -> 5-minute speed views in Cassandra.

    spark-submit --jars <connector jars> spark_jobs/streaming/speed_views.py [--trigger "2 seconds"]

Two streaming queries in one application, each with its checkpoint under
``SPEED_CHECKPOINT_URI`` (on the lake):

- ``speed_views``: metric and review events -> per-movie windows (``movie_windows``,
  ``trending_windows``) and the late events (``late_events``), written in ``foreachBatch`` with
  prepared statements keyed by ``(movie_id, window_start)``; a replayed batch overwrites.
- ``dead_letters``: every record that is not a framed Avro record of its topic's schema -> the
  dead-letter topic, with the reason and its origin in the headers (at least once: a replayed
  batch may repeat a dead letter).

After each micro-batch a query records its progress in ``stream_progress`` (what the supervisor
DAG watches). If either query fails, the application exits non-zero and the supervisor restarts
it from the checkpoints: nothing is lost (Kafka offsets are committed with the state) and
nothing is counted twice (the writes are upserts of complete window values).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQueryListener

from movie_pipeline.config import Settings, SpeedSettings, settings_from_env
from movie_pipeline.schemas.avro import DEAD_LETTER_TOPIC, METRIC, REVIEW
from movie_pipeline.spark_conf import STREAMING_CONF
from movie_pipeline.speed import cassandra
from movie_pipeline.speed.jobs import DEAD_LETTERS_QUERY, SPEED_VIEWS, VIEWS_QUERY, query_checkpoint
from movie_pipeline.speed.metrics import StreamMetrics
from movie_pipeline.speed.registry import registry_for
from spark_jobs.transforms import speed


def read_kafka(spark: SparkSession, speed_settings: SpeedSettings) -> DataFrame:
    """The event topics; where a new checkpoint starts: the earliest offsets, or ``SPEED_REPLAY_FROM`` (a replay).

    A query with a checkpoint resumes from its checkpoint whatever the start options say."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", speed_settings.kafka_bootstrap_servers)
        .option("subscribe", f"{METRIC.topic},{REVIEW.topic}")
        .option("failOnDataLoss", "false")  # records past the topic retention are gone; keep serving the rest
    )
    if speed_settings.replay_from:
        from movie_pipeline.intervals import parse_instant

        start_ms = int(parse_instant(speed_settings.replay_from).timestamp() * 1000)
        return reader.option("startingTimestamp", str(start_ms)).option("startingOffsetsByTimestampStrategy", "latest").load()
    return reader.option("startingOffsets", "earliest").load()


def _write_partition(speed_settings: SpeedSettings, rows) -> None:
    """One partition of a micro-batch's output: window rows, trending rows, late events."""
    windows, trending, late = [], [], []
    for row in rows:
        if row["row_type"] == "window":
            windows.append(row)
            if row["popularity_delta"] is not None:
                trending.append(row)
        else:
            late.append({**row.asDict(), "day": row["event_time"].date()})
    cassandra.write_rows(speed_settings, "movie_windows", cassandra.WINDOW_COLUMNS, windows)
    cassandra.write_rows(speed_settings, "trending_windows", cassandra.TRENDING_COLUMNS, trending)
    cassandra.write_rows(speed_settings, "late_events", cassandra.LATE_COLUMNS, late)


def write_views(speed_settings: SpeedSettings, metrics: StreamMetrics, batch: DataFrame, batch_id: int) -> None:
    batch.persist()  # two actions below; the windows and VADER scores are computed once
    try:
        batch.foreachPartition(partial(_write_partition, speed_settings))
        late = batch.filter(F.col("row_type") == "late").count()
    finally:
        batch.unpersist()
    cassandra.record_progress(speed_settings, VIEWS_QUERY, batch_id, late_events=late)
    metrics.late(late)


def _header(name: str, value) -> Column:
    return F.struct(F.lit(name).alias("key"), value.cast("string").cast("binary").alias("value"))


def dead_letter_records(dead: DataFrame) -> DataFrame:
    """Dead letters as Kafka records: the original key and bytes, why and where from in the headers."""
    return dead.select(
        "key",
        "value",
        F.array(
            _header("reason", F.col("reason")),
            _header("source_topic", F.col("topic")),
            _header("source_partition", F.col("partition")),
            _header("source_offset", F.col("offset")),
        ).alias("headers"),
    )


def write_dead_letters(speed_settings: SpeedSettings, batch: DataFrame, batch_id: int) -> None:
    dead_letter_records(batch).write.format("kafka").option("kafka.bootstrap.servers", speed_settings.kafka_bootstrap_servers).option(
        "topic", DEAD_LETTER_TOPIC
    ).save()
    cassandra.record_progress(speed_settings, DEAD_LETTERS_QUERY, batch_id)


class ProgressLog(StreamingQueryListener):
    """One line per micro-batch with input rows (what a data engineer reads in the job's log); the Prometheus metrics."""

    def __init__(self, metrics: StreamMetrics) -> None:
        super().__init__()
        self.metrics = metrics

    def onQueryStarted(self, event) -> None:  # noqa: N802 - Spark's listener API
        pass

    def onQueryProgress(self, event) -> None:  # noqa: N802
        progress = event.progress
        self.metrics.observe(progress)
        if progress.numInputRows:
            durations = progress.durationMs
            print(
                f"{progress.name} batch {progress.batchId}: {progress.numInputRows} events in {progress.batchDuration} ms "
                f"({progress.processedRowsPerSecond:.0f}/s; planning {durations.get('queryPlanning', 0)} ms, "
                f"offsets {durations.get('latestOffset', 0)} ms, processing and writing {durations.get('addBatch', 0)} ms)",
                flush=True,
            )

    def onQueryIdle(self, event) -> None:  # noqa: N802
        pass

    def onQueryTerminated(self, event) -> None:  # noqa: N802
        pass


def start(spark: SparkSession, settings: Settings, trigger: str, metrics: StreamMetrics) -> list:
    speed_settings = settings.speed
    registry = registry_for(speed_settings)
    schema_ids = {event_type.name: registry.register(event_type) for event_type in (METRIC, REVIEW)}
    events, dead = speed.decode(read_kafka(spark, speed_settings), schema_ids)
    views = (
        speed.window(events, speed_settings.watermark, speed_settings.ttl_seconds)
        .writeStream.queryName(VIEWS_QUERY)
        .outputMode("update")
        .foreachBatch(partial(write_views, speed_settings, metrics))
        .option("checkpointLocation", query_checkpoint(settings.checkpoint_uri, VIEWS_QUERY))
        .trigger(processingTime=trigger)
        .start()
    )
    dead_letters = (
        dead.writeStream.queryName(DEAD_LETTERS_QUERY)
        .foreachBatch(partial(write_dead_letters, speed_settings))
        .option("checkpointLocation", query_checkpoint(settings.checkpoint_uri, DEAD_LETTERS_QUERY))
        .trigger(processingTime=trigger)
        .start()
    )
    return [views, dead_letters]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="speed_views: Kafka -> 5-minute speed views in Cassandra (runs until stopped)")
    parser.add_argument("--trigger", default="2 seconds", help="micro-batch interval (default: 2 seconds)")
    args = parser.parse_args(argv)
    settings = settings_from_env()
    cassandra.ensure_schema(settings.speed)
    spark = SparkSession.builder.appName(SPEED_VIEWS).config(map=STREAMING_CONF).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")  # a long-running job: its log is for progress and problems
    metrics = StreamMetrics()
    if settings.speed.stream_metrics_port:
        metrics.serve(settings.speed.stream_metrics_port, settings.speed.metrics_host)
        print(f"metrics: http://{settings.speed.metrics_host}:{settings.speed.stream_metrics_port}/metrics", flush=True)
    spark.streams.addListener(ProgressLog(metrics))
    queries = start(spark, settings, args.trigger, metrics)
    print(f"streaming: {', '.join(q.name for q in queries)}; checkpoints under {settings.checkpoint_uri}", flush=True)
    try:
        spark.streams.awaitAnyTermination()
    finally:
        failed = [q for q in queries if q.exception() is not None]
        for query in queries:
            query.stop()
        spark.stop()
    for query in failed:
        print(f"query {query.name} failed: {query.exception()}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
