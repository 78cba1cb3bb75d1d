"""The speed layer's per-movie window state, on hand-built events (no Spark)."""

import dataclasses

import pytest

from spark_jobs.transforms.speed_windows import WINDOW_MS, Event, MovieWindows, StateShard

T0 = 1_795_500_000_000 - 1_795_500_000_000 % WINDOW_MS  # a window boundary, epoch ms


def metric(at: int, popularity: float, votes: int, offset: int, average: float = 7.0) -> Event:
    return Event(42, "metric", T0 + at, "tmdb.movie_metrics", 0, offset, popularity, average, votes)


def review(at: int, review_id: str, compound: float, offset: int) -> Event:
    return Event(42, "review", T0 + at, "tmdb.movie_reviews", 1, offset, review_id=review_id, compound=compound)


def test_out_of_order_metrics_give_the_latest_values_and_deltas_within_the_window():
    windows = MovieWindows(42)
    rows, late = windows.add([metric(200_000, 12.0, 110, 3), metric(10_000, 10.0, 100, 1), metric(90_000, 11.0, 104, 2)], watermark_ms=0)
    assert late == []
    assert rows == [
        {
            "movie_id": 42,
            "window_start": T0,
            "window_end": T0 + WINDOW_MS,
            "popularity": 12.0,
            "vote_average": 7.0,
            "vote_count": 110,
            "popularity_delta": 2.0,
            "vote_average_delta": 0.0,
            "vote_count_delta": 10,
            "metric_observations": 3,
            "review_count": 0,
            "sentiment_sum": 0,
            "positive": 0,
            "neutral": 0,
            "negative": 0,
            "last_event_time": T0 + 200_000,
        }
    ]


def test_reviews_count_once_per_id_with_their_latest_version():
    windows = MovieWindows(42)
    rows, _ = windows.add([review(1_000, "a", 0.6, 10), review(2_000, "b", -0.4, 11), review(3_000, "a", 0.01, 12)], 0)
    (row,) = rows
    assert (row["review_count"], row["positive"], row["neutral"], row["negative"]) == (2, 0, 1, 1)
    assert row["sentiment_sum"] == pytest.approx(-0.39)
    assert row["popularity"] is None and row["metric_observations"] == 0


def test_a_replayed_batch_gives_the_same_rows_and_nothing_is_counted_twice():
    events = [metric(1_000, 5.0, 10, 1), review(2_000, "a", 0.9, 2), metric(WINDOW_MS + 1_000, 6.0, 12, 3)]
    first = MovieWindows(42)
    once, _ = first.add(events, 0)
    again, _ = first.add(events, 0)
    assert again == once and [r["window_start"] for r in once] == [T0, T0 + WINDOW_MS]
    assert once[0]["review_count"] == 1 and once[0]["metric_observations"] == 1


def test_an_event_of_a_closed_window_is_late_and_not_aggregated():
    windows = MovieWindows(42)
    windows.add([metric(1_000, 5.0, 10, 1)], 0)
    watermark = T0 + WINDOW_MS  # the first window has closed
    rows, late = windows.add([metric(2_000, 50.0, 99, 2), metric(WINDOW_MS + 5, 7.0, 11, 3)], watermark)
    assert [r["window_start"] for r in rows] == [T0 + WINDOW_MS]
    assert late == [
        {
            "movie_id": 42,
            "kind": "metric",
            "event_time": T0 + 2_000,
            "window_start": T0,
            "watermark": watermark,
            "topic": "tmdb.movie_metrics",
            "partition": 0,
            "offset": 2,
            "reason": "behind the watermark",
        }
    ]
    assert windows.row(T0)["popularity"] == 5.0  # untouched by the late event


def test_an_event_of_a_window_past_the_speed_views_lifetime_is_late_whatever_the_watermark():
    """A movie met for the first time brings reviews written weeks ago: their windows would outlive their 48 h at once."""
    windows = MovieWindows(42)
    expire_before = T0 + WINDOW_MS  # now - 48 h - grace: the first window ends there
    rows, late = windows.add(
        [metric(1_000, 5.0, 10, 1), review(WINDOW_MS + 1, "r", 0.2, 2)], watermark_ms=0, expire_before_ms=expire_before
    )
    assert [r["window_start"] for r in rows] == [T0 + WINDOW_MS] and list(windows.windows) == [T0 + WINDOW_MS]
    assert [(r["offset"], r["window_start"], r["reason"]) for r in late] == [(1, T0, "past the speed views' lifetime")]


def test_state_round_trips_and_eviction_forgets_closed_windows():
    windows = MovieWindows(42)
    windows.add([metric(1_000, 5.0, 10, 1), review(WINDOW_MS + 1, "r", 0.2, 2)], 0)
    restored = MovieWindows.from_state(42, windows.to_state())
    assert restored.windows == windows.windows and restored.row(T0) == windows.row(T0)
    restored.evict(T0 + WINDOW_MS)
    assert list(restored.windows) == [T0 + WINDOW_MS]
    assert MovieWindows.from_state(42, None).windows == {}


def test_a_state_shard_folds_each_movie_as_its_own_windows_and_round_trips():
    other = [dataclasses.replace(e, movie_id=7) for e in (metric(3_000, 1.0, 1, 5), review(2 * WINDOW_MS, "x", -0.7, 6))]
    mine = [metric(1_000, 5.0, 10, 1), metric(2_000, 6.0, 12, 2), review(WINDOW_MS + 1, "r", 0.2, 3)]
    shard = StateShard()
    rows, late = shard.add([other[0], mine[0], mine[1], other[1], mine[2]], watermark_ms=0)
    alone = {42: MovieWindows(42), 7: MovieWindows(7)}
    expected = alone[42].add(mine, 0)[0] + alone[7].add(other, 0)[0]
    assert late == [] and sorted(rows, key=lambda r: (r["movie_id"], r["window_start"])) == sorted(
        expected, key=lambda r: (r["movie_id"], r["window_start"])
    )

    restored = StateShard.from_state(shard.to_state())
    assert {movie_id: movie.windows for movie_id, movie in restored.movies.items()} == {42: alone[42].windows, 7: alone[7].windows}
    restored.evict(T0 + 2 * WINDOW_MS)  # 42's windows are closed, 7's last one is still open
    assert list(restored.movies) == [7] and list(restored.movies[7].windows) == [T0 + 2 * WINDOW_MS]
    assert StateShard.from_state(None).movies == {}


def test_a_window_row_lives_until_its_end_plus_48_hours_and_the_grace():
    from datetime import UTC, datetime, timedelta

    from movie_pipeline.config import SpeedSettings
    from movie_pipeline.speed.cassandra import row_ttl_s

    speed = SpeedSettings()
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    end = start + timedelta(minutes=5)
    assert speed.ttl_seconds == 50 * 3600
    assert row_ttl_s(start, speed, now=end) == speed.ttl_seconds
    assert row_ttl_s(start.replace(tzinfo=None), speed, now=end + timedelta(hours=30)) == 20 * 3600  # naive: UTC
    assert row_ttl_s(start, speed, now=end + timedelta(hours=50)) == 0  # expired: not written
    assert row_ttl_s(start, speed, now=start - timedelta(hours=1)) == speed.ttl_seconds + 3900  # a window still to come
