"""Prometheus metrics of the streaming job, from Spark's query progress (served by the driver).

``spark_jobs/streaming/speed_views.py`` feeds every ``StreamingQueryProgress`` to
:meth:`StreamMetrics.observe` and the late events of each micro-batch to
:meth:`StreamMetrics.late`; with ``SPEED_METRICS_PORT`` set they are served at
``http://<host>:<port>/metrics``. Series (label ``query``: ``speed_views``, ``dead_letters``):

- ``movie_stream_input_rows_total``: events read from Kafka
- ``movie_stream_input_rows_per_second`` / ``movie_stream_processed_rows_per_second``: of the last batch
- ``movie_stream_batch_duration_seconds``: histogram of micro-batch durations
- ``movie_stream_consumer_lag``: records in Kafka not yet read (latest offset - end offset, all partitions)
- ``movie_stream_last_batch_timestamp_seconds``: when the last micro-batch ended
- ``movie_stream_late_events_total``: events behind the watermark (kept in ``late_events``, not in the windows)
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

BATCH_SECONDS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


def _offsets(text: str | None) -> dict[tuple[str, str], int]:
    """``{"topic": {"0": 12}}`` (Spark's JSON of Kafka offsets) -> (topic, partition) -> offset."""
    if not text or not text.strip().startswith("{"):
        return {}
    return {(topic, partition): int(offset) for topic, partitions in json.loads(text).items() for partition, offset in partitions.items()}


def consumer_lag(sources: Iterable) -> int:
    """Records not yet read, over every Kafka partition of the query's sources (``latestOffset - endOffset``)."""
    lag = 0
    for source in sources:
        latest, read = _offsets(source.latestOffset), _offsets(source.endOffset)
        lag += sum(max(0, offset - read.get(key, 0)) for key, offset in latest.items())
    return lag


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        labels = ["query"]
        self.input_rows = Counter("movie_stream_input_rows", "events read from Kafka", labels, registry=self.registry)
        self.input_rate = Gauge("movie_stream_input_rows_per_second", "input rate of the last batch", labels, registry=self.registry)
        self.processed_rate = Gauge(
            "movie_stream_processed_rows_per_second", "processing rate of the last batch", labels, registry=self.registry
        )
        self.batch_seconds = Histogram(
            "movie_stream_batch_duration_seconds", "micro-batch duration", labels, buckets=BATCH_SECONDS, registry=self.registry
        )
        self.lag = Gauge("movie_stream_consumer_lag", "records in Kafka not yet read by the query", labels, registry=self.registry)
        self.last_batch = Gauge(
            "movie_stream_last_batch_timestamp_seconds", "when the last micro-batch ended (unix time)", labels, registry=self.registry
        )
        self.late_events = Counter("movie_stream_late_events", "events behind the watermark", registry=self.registry)

    def observe(self, progress) -> None:
        """One ``StreamingQueryProgress``."""
        from datetime import datetime

        query = progress.name or "unnamed"
        self.input_rows.labels(query).inc(progress.numInputRows)
        self.input_rate.labels(query).set(progress.inputRowsPerSecond or 0.0)
        self.processed_rate.labels(query).set(progress.processedRowsPerSecond or 0.0)
        self.batch_seconds.labels(query).observe(progress.batchDuration / 1000)
        self.lag.labels(query).set(consumer_lag(progress.sources))
        ended = datetime.fromisoformat(progress.timestamp.replace("Z", "+00:00")).timestamp() + progress.batchDuration / 1000
        self.last_batch.labels(query).set(ended)

    def late(self, events: int) -> None:
        self.late_events.inc(events)

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        start_http_server(port, addr=host, registry=self.registry)
