"""Pieces of the speed layer's supervision and the producer that need no service."""

import socket
import urllib.request

from movie_pipeline.speed.health import checkpoint_offsets, latest_batch
from movie_pipeline.speed.producer import ProducerStats, serve_metrics

# a Kafka-source offsets log entry as Spark 4 writes it: version, batch metadata, one line per source
OFFSETS_ENTRY = """v1
{"batchWatermarkMs":1795500000000,"batchTimestampMs":1795500600000,"conf":{"spark.sql.shuffle.partitions":"4"}}
{"tmdb.movie_metrics":{"2":120,"1":98,"0":131},"tmdb.movie_reviews":{"0":7}}"""


def test_the_latest_batch_of_a_checkpoint_gives_the_offsets_read(tmp_path):
    offsets = tmp_path / "speed_views" / "offsets"
    offsets.mkdir(parents=True)
    (offsets / "0").write_text(OFFSETS_ENTRY.replace("120", "10"))
    (offsets / "1").write_text(OFFSETS_ENTRY)
    (offsets / "10").write_text(OFFSETS_ENTRY.replace("131", "1310"))  # batch ids compare as numbers, not names
    (offsets / ".1.crc").write_text("ignored")
    assert checkpoint_offsets((tmp_path / "speed_views").as_uri()) == {
        "tmdb.movie_metrics": {0: 1310, 1: 98, 2: 120},
        "tmdb.movie_reviews": {0: 7},
    }
    assert checkpoint_offsets((tmp_path / "never_started").as_uri()) == {}
    assert (latest_batch((tmp_path / "speed_views").as_uri()), latest_batch((tmp_path / "speed_views").as_uri(), "commits")) == (10, None)


def test_the_producer_serves_its_counters_as_prometheus_text():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stats = ProducerStats(
        polls=3, sent={"tmdb.movie_metrics": 40, "tmdb.movie_reviews": 2}, failed=1, failed_polls=2, last_poll_at=1795500000.5
    )
    serve_metrics(stats, port)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert "movie_producer_polls_total 3\n" in text
    assert 'movie_producer_events_sent_total{topic="tmdb.movie_metrics"} 40\n' in text
    assert "movie_producer_delivery_failures_total 1\n" in text
    assert "movie_producer_failed_polls_total 2\n" in text
    assert "movie_producer_last_poll_timestamp_seconds 1795500000.5\n" in text
    stats.polls = 4  # the endpoint reads the live counters
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert "movie_producer_polls_total 4\n" in response.read().decode()
