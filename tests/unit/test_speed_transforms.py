"""The speed layer's Spark transforms: Confluent-framed Avro decoding and the windowed fold, on a
file-fed stream of Kafka-shaped rows (the Kafka source itself is exercised by the integration tests)."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from movie_pipeline.schemas.avro import METADATA, METRIC, REVIEW
from movie_pipeline.speed.wire import frame
from spark_jobs.transforms import speed
from tests.integration.test_speed_layer import wait_for

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
KAFKA_ROWS = "topic string, partition int, offset long, key binary, value binary"
IDS = {"metric": 1, "review": 2}
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T0_SPARK = T0.replace(tzinfo=None)  # Spark gives naive datetimes in the session time zone (UTC)
LIFETIME_S = 50 * 3600  # 48 h + the default grace


def metric_message(movie_id: int, at: timedelta, popularity: float, votes: int) -> bytes:
    record = {
        "movie_id": movie_id,
        "event_time": T0 + at,
        "popularity": popularity,
        "vote_average": 7.5,
        "vote_count": votes,
        "source": "t",
    }
    return frame(1, METRIC.parsed, record)


def review_message(movie_id: int, at: timedelta, review_id: str, content: str) -> bytes:
    record = {
        "review_id": review_id,
        "movie_id": movie_id,
        "event_time": T0 + at,
        "created_at": T0,
        "author": "x",
        "rating": None,
        "content": content,
    }
    return frame(2, REVIEW.parsed, record)


def kafka_rows(messages: list[tuple[str, bytes]], first_offset: int) -> list[tuple]:
    return [(topic, 0, first_offset + i, b"k", value) for i, (topic, value) in enumerate(messages)]


def test_decode_keeps_good_records_and_sends_the_rest_to_dead_letters_with_reasons(spark):
    good = metric_message(7, timedelta(seconds=1), 3.5, 10)
    rows = kafka_rows(
        [
            (METRIC.topic, good),
            (REVIEW.topic, review_message(7, timedelta(seconds=2), "r1", "What a wonderful, moving film.")),
            (METRIC.topic, b""),
            (METRIC.topic, b"\x00\x00"),
            (METRIC.topic, b'{"movie_id": 7}'),
            (METRIC.topic, b"\x00\x00\x00\x00\x02" + good[5:]),
            (REVIEW.topic, b"\x00\x00\x00\x00\x02\x02"),
            (METADATA.topic, frame(3, METADATA.parsed, {"movie_id": 7, "event_time": T0})),  # not a windowed topic
        ],
        first_offset=100,
    )
    events, dead = speed.decode(spark.createDataFrame(rows, KAFKA_ROWS), IDS)
    found = sorted(events.collect(), key=lambda r: r.offset)
    assert [(r.movie_id, r.kind, r.event_time, r.offset) for r in found] == [
        (7, "metric", T0_SPARK + timedelta(seconds=1), 100),
        (7, "review", T0_SPARK + timedelta(seconds=2), 101),
    ]
    assert (found[0].popularity, found[0].vote_count, found[0].review_id) == (3.5, 10, None)
    assert found[1].compound == pytest.approx(SentimentIntensityAnalyzer().polarity_scores("What a wonderful, moving film.")["compound"])
    assert sorted((r.offset, r.reason) for r in dead.collect()) == [
        (102, "empty message"),
        (103, "shorter than the 5-byte header (2 bytes)"),
        (104, "magic byte is 123, not 0"),
        (105, "unknown schema id 2"),
        (106, "not valid Avro for schema id 2"),
    ]


def files_read(query):
    """How many files of the file source the query's completed batches have read (its log offset + 1)."""
    assert query.exception() is None  # a failed query: fail now, not at the timeout
    progress = query.lastProgress
    if progress is None or progress["sources"][0]["endOffset"] in (None, "null"):
        return 0
    return json.loads(progress["sources"][0]["endOffset"])["logOffset"] + 1


def test_windows_fold_out_of_order_events_and_report_late_ones(spark, tmp_path):
    source = tmp_path / "kafka"
    source.mkdir()
    first = kafka_rows(
        [
            (METRIC.topic, metric_message(1, timedelta(seconds=200), 12.0, 110)),
            (METRIC.topic, metric_message(1, timedelta(seconds=10), 10.0, 100)),
            (REVIEW.topic, review_message(1, timedelta(seconds=50), "good", "I love this wonderful film")),
            (REVIEW.topic, review_message(1, timedelta(seconds=60), "bad", "Terrible, boring and awful.")),
            (METRIC.topic, metric_message(1, timedelta(seconds=100), 11.0, 104)),
            (METRIC.topic, metric_message(2, timedelta(minutes=20), 3.0, 5)),  # moves the watermark to T0 + 15 min
            (METRIC.topic, metric_message(3, -timedelta(days=3), 1.0, 1)),  # ended over 50 h before the clock: late, not a row
        ],
        first_offset=0,
    )
    second = kafka_rows(
        [
            (METRIC.topic, metric_message(1, timedelta(seconds=30), 99.0, 999)),  # its window closed at T0 + 5 min: late
            (METRIC.topic, metric_message(1, timedelta(minutes=16), 13.0, 120)),  # window [15, 20) is still open
        ],
        first_offset=7,
    )
    for number, rows in enumerate((first, second)):
        spark.createDataFrame(rows, KAFKA_ROWS).coalesce(1).write.parquet(str(source / f"batch={number}"))
        for part in (source / f"batch={number}").iterdir():
            os.utime(part, (1_000_000 + number, 1_000_000 + number))
    raw = spark.readStream.schema(KAFKA_ROWS).option("maxFilesPerTrigger", 1).option("recursiveFileLookup", "true").parquet(str(source))
    events, _ = speed.decode(raw, IDS)
    emitted = []
    query = (
        speed.window(events, "5 minutes", LIFETIME_S, now_ms=lambda: (T0 + timedelta(minutes=30)).timestamp() * 1000)
        .writeStream.outputMode("update")
        .foreachBatch(lambda batch, batch_id: emitted.extend((batch_id, row) for row in batch.collect()))
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .start()
    )
    try:
        # neither availableNow nor processAllAvailable(): the state's processing-time timeout asks for a
        # no-data batch after every batch, so neither ever ends; wait for the batch that read the last file
        wait_for(lambda: files_read(query) == 2, 120, "the batch that read the last file")
    finally:
        query.stop()

    latest = {}
    for _, row in sorted(emitted, key=lambda pair: pair[0]):
        if row.row_type == "window":
            latest[(row.movie_id, row.window_start)] = row
    vader = SentimentIntensityAnalyzer()
    love, hate = (vader.polarity_scores(t)["compound"] for t in ("I love this wonderful film", "Terrible, boring and awful."))
    first_window = latest[(1, T0_SPARK)]
    assert (first_window.popularity, first_window.vote_count, first_window.popularity_delta, first_window.vote_count_delta) == (
        12.0,
        110,
        2.0,
        10,
    )
    assert (first_window.metric_observations, first_window.review_count, first_window.positive, first_window.negative) == (3, 2, 1, 1)
    assert first_window.sentiment_sum == pytest.approx(love + hate)
    assert first_window.last_event_time == T0_SPARK + timedelta(seconds=200)
    assert latest[(1, T0_SPARK + timedelta(minutes=15))].popularity == 13.0
    assert sorted(latest) == [(1, T0_SPARK), (1, T0_SPARK + timedelta(minutes=15)), (2, T0_SPARK + timedelta(minutes=20))]
    late = [row for _, row in emitted if row.row_type == "late"]
    assert sorted((r.movie_id, r.offset, r.window_start, r.reason) for r in late) == [
        (1, 7, T0_SPARK, "behind the watermark"),
        (3, 6, T0_SPARK - timedelta(days=3), "past the speed views' lifetime"),
    ]
    assert [r.watermark for r in late if r.movie_id == 1] == [T0_SPARK + timedelta(minutes=15)]
