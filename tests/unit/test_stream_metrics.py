"""The streaming job's Prometheus metrics, from Spark's own progress records (JSON as Spark writes them)."""

import uuid

from prometheus_client import generate_latest
from pyspark.sql.streaming.listener import StreamingQueryProgress

from movie_pipeline.speed.metrics import StreamMetrics, consumer_lag


def progress(batch_id: int, rows: int, duration_ms: int, end: dict, latest: dict) -> StreamingQueryProgress:
    source = {
        "description": "KafkaV2[Subscribe[movie.metrics,movie.reviews]]", "startOffset": None, "endOffset": end,
        "latestOffset": latest, "numInputRows": rows, "inputRowsPerSecond": 10.0, "processedRowsPerSecond": rows / (duration_ms / 1000),
    }  # fmt: skip
    return StreamingQueryProgress.fromJson(
        {
            "id": str(uuid.uuid4()), "runId": str(uuid.uuid4()), "name": "speed_views", "timestamp": "2026-11-28T10:00:00.000Z",
            "batchId": batch_id, "batchDuration": duration_ms, "stateOperators": [], "sources": [source],
            "sink": {"description": "ForeachBatchSink", "numOutputRows": -1}, "numInputRows": rows, "inputRowsPerSecond": 10.0,
            "processedRowsPerSecond": rows / (duration_ms / 1000),
        }
    )  # fmt: skip


def test_the_lag_is_what_kafka_holds_beyond_what_the_query_has_read_over_all_partitions():
    reading = progress(
        3, 40, 2000, {"movie.metrics": {"0": 100, "1": 50}}, {"movie.metrics": {"0": 130, "1": 50}, "movie.reviews": {"0": 7}}
    )
    assert consumer_lag(reading.sources) == 30 + 0 + 7


def test_progress_and_late_events_become_series():
    metrics = StreamMetrics()
    metrics.observe(progress(1, 40, 2000, {"movie.metrics": {"0": 100}}, {"movie.metrics": {"0": 130}}))
    metrics.observe(progress(2, 30, 12_000, {"movie.metrics": {"0": 130}}, {"movie.metrics": {"0": 130}}))
    metrics.late(4)
    text = generate_latest(metrics.registry).decode()
    assert 'movie_stream_input_rows_total{query="speed_views"} 70.0' in text
    assert 'movie_stream_consumer_lag{query="speed_views"} 0.0' in text
    assert 'movie_stream_batch_duration_seconds_bucket{le="2.0",query="speed_views"} 1.0' in text
    assert 'movie_stream_batch_duration_seconds_count{query="speed_views"} 2.0' in text
    assert 'movie_stream_processed_rows_per_second{query="speed_views"} 2.5' in text
    assert "movie_stream_late_events_total 4.0" in text
    # the second batch ended 12 s after it started at 10:00:00 UTC
    assert 'movie_stream_last_batch_timestamp_seconds{query="speed_views"} 1.795860012e+09' in text
