"""The serving documents built from gold rows and speed windows (no services)."""

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from movie_pipeline.merge import BATCH, SPEED, SentimentBucket, SpeedWindow, cutoff
from movie_pipeline.serving.documents import (
    bucket_from_row,
    clean,
    genre_documents,
    movie_document,
    sentiment_document,
    speed_trending,
    trending_documents,
    year_documents,
)
from movie_pipeline.speed.windows import window_from_row

NOW = datetime(2026, 11, 28, 12, 7, tzinfo=UTC)
SUMMARY = {
    "movie_id": np.int64(7), "title": "A", "release_date": date(2001, 5, 3), "genres": np.array(["Drama", "Comedy"]),
    "original_language": "en", "status": "Released", "runtime_min": 101, "budget_usd": None, "revenue_usd": float("nan"),
    "popularity": 20.0, "vote_average": 8.0, "vote_count": np.int64(100), "as_of": datetime(2026, 11, 28, 8, 0),
    "review_count": 2, "positive_reviews": 1, "neutral_reviews": 0, "negative_reviews": 1, "mean_sentiment": 0.1,
    "popularity_velocity_7d": 1.0, "popularity_velocity_30d": None, "popularity_velocity_90d": None,
}  # fmt: skip


def speed(minutes_ago: int, popularity: float | None = None, delta: float | None = None, reviews: int = 0) -> SpeedWindow:
    at = NOW - timedelta(minutes=minutes_ago)
    start = at - timedelta(minutes=at.minute % 5, seconds=at.second)
    return SpeedWindow(
        start, at, reviews, 0.5 * reviews, reviews, 0, 0, popularity, 8.1, 105 if popularity else None, at, popularity_delta=delta
    )


def test_values_become_bson_friendly():
    assert clean(np.int64(3)) == 3 and type(clean(np.int64(3))) is int
    assert clean(float("nan")) is None and clean(None) is None
    assert clean(date(2001, 5, 3)) == datetime(2001, 5, 3, tzinfo=UTC)
    assert clean(datetime(2026, 1, 1, 4)) == datetime(2026, 1, 1, 4, tzinfo=UTC)
    assert clean(np.array(["a", "b"])) == ["a", "b"]
    assert clean(pd.NaT) is None and clean(pd.Timestamp("2026-11-01 17:00")) == datetime(2026, 11, 1, 17, tzinfo=UTC)


def test_a_movie_takes_the_freshest_metrics_and_says_where_each_part_came_from():
    fresh = movie_document(SUMMARY, [speed(20, 25.0, 1.0), speed(90, 23.0)], NOW)
    assert (fresh["_id"], fresh["title"], fresh["genres"], fresh["release_year"], fresh["revenue_usd"]) == (
        7,
        "A",
        ["Drama", "Comedy"],
        2001,
        None,
    )
    assert (fresh["popularity"], fresh["vote_count"]) == (25.0, 105)
    assert fresh["sources"]["metrics"] == {"source": SPEED, "as_of": NOW - timedelta(minutes=20)}
    assert fresh["sources"]["reviews"] == {"source": BATCH, "as_of": datetime(2026, 11, 28, 8, 0, tzinfo=UTC)}
    stale_speed = movie_document(SUMMARY, [speed(60 * 5, 19.0)], NOW)  # older than gold's as_of
    assert (stale_speed["popularity"], stale_speed["sources"]["metrics"]["source"]) == (20.0, BATCH)


def test_sentiment_keeps_thirty_days_of_hours_merged_at_the_cutoff():
    boundary = cutoff(NOW)
    batch = [SentimentBucket(boundary - timedelta(hours=h), 2, 0.4, 1, 1, 0) for h in range(1, 40 * 24)]
    batch.append(SentimentBucket(boundary, 9, 9.0, 9, 0, 0))  # at the cutoff: speed's hour, never counted from gold
    document = sentiment_document(7, batch, NOW - timedelta(hours=4), [speed(45, reviews=3), speed(55, reviews=1)], NOW)
    starts = [b["start"] for b in document["buckets"]]
    assert min(starts) >= NOW - timedelta(days=30, hours=1) and len(starts) == len(set(starts))
    assert [b["source"] for b in document["buckets"] if b["start"] >= boundary] == [SPEED]
    assert document["buckets"][-1]["reviews"] == 4 and document["gap"] is None and document["cutoff"] == boundary


def test_trending_ranks_popularity_gained_in_the_speed_windows_and_keeps_gold_ranks():
    by_movie = {1: [speed(10, 5.0, 2.0), speed(30, 4.0, 1.5)], 2: [speed(5, 9.0, 3.0)], 3: [speed(600, 50.0, 40.0)]}
    ranked = speed_trending(by_movie, NOW)
    assert ranked["1h"] == [(1, 3.5), (2, 3.0)]
    assert ranked["24h"] == [(3, 40.0), (1, 3.5), (2, 3.0)]
    gold = [{"window_days": 7, "rank": 1, "movie_id": 9, "title": "Nine", "popularity_growth": 1.5}]
    movies = {1: {"title": "One", "genres": ["Drama"]}, 2: {"title": "Two", "genres": []}, 3: {"title": "Three", "genres": None}}
    documents = trending_documents(gold, ranked, movies, NOW)
    by_id = {d["_id"]: d for d in documents}
    assert (by_id["1h:1"]["movie_id"], by_id["1h:1"]["title"], by_id["1h:1"]["source"]) == (1, "One", SPEED)
    assert by_id["1h:1"]["genres"] == ["Drama"] and by_id["24h:1"]["genres"] == [] and by_id["7d:1"]["title"] == "Nine"
    assert (by_id["7d:1"]["movie_id"], by_id["7d:1"]["score"], by_id["7d:1"]["source"]) == (9, 1.5, BATCH)
    assert len(documents) == 6


def test_genre_and_year_documents_are_keyed_for_upserts():
    genres = genre_documents(
        [{"genre": "Drama", "release_month": date(2001, 5, 1), "movies": np.int64(2), "mean_sentiment": float("nan")}], NOW
    )
    assert genres[0]["_id"] == "Drama:2001-05" and genres[0]["movies"] == 2 and genres[0]["mean_sentiment"] is None
    years = year_documents([{"release_year": np.int32(2001), "movies": 2, "movies_yoy_change": None}], NOW)
    assert years[0]["_id"] == 2001 and years[0]["source"] == BATCH


def test_rows_of_gold_and_cassandra_become_merge_inputs():
    bucket = bucket_from_row(
        {"hour": datetime(2026, 11, 1, 17), "reviews": 1, "sentiment_sum": -0.6, "positive": 0, "neutral": 0, "negative": 1}
    )
    assert bucket == SentimentBucket(datetime(2026, 11, 1, 17, tzinfo=UTC), 1, -0.6, 0, 0, 1)
    row = {
        "window_start": datetime(2026, 11, 28, 12, 5), "written_at": datetime(2026, 11, 28, 12, 6), "review_count": None,
        "sentiment_sum": None, "positive": None, "neutral": None, "negative": None, "popularity": 3.0, "popularity_delta": 0.5,
        "vote_average": 7.0, "vote_count": 10, "last_event_time": datetime(2026, 11, 28, 12, 5, 30),
    }  # fmt: skip
    window = window_from_row(row)
    assert (window.review_count, window.popularity_delta, window.window_start.tzinfo) == (0, 0.5, UTC)
    assert not math.isnan(window.sentiment_sum)


def test_rankings_hold_every_listing_in_order_in_chunks(monkeypatch):
    from movie_pipeline.serving import documents

    monkeypatch.setattr(documents, "RANKING_CHUNK", 2)
    movies = [
        {"_id": 3, "popularity": 5.0, "title": "C", "genres": ["Drama", "Drama"], "release_year": 2001},
        {"_id": 1, "popularity": 5.0, "title": "A", "genres": ["Drama"], "release_year": 2001},
        {"_id": 2, "popularity": 9.0, "title": None, "genres": [], "release_year": None},
        {"_id": 4, "popularity": None, "title": "B", "genres": ["Comedy"], "release_year": 2001},
    ]
    by_id = {d["_id"]: d for d in documents.ranking_documents(movies, NOW)}

    def listing(sort, filters):
        chunks = sorted((key for key in by_id if key.startswith(f"{sort}|{filters}|")), key=lambda key: int(key.rsplit("|", 1)[1]))
        return [movie_id for key in chunks for movie_id in by_id[key]["ids"]]

    assert listing("popularity", "all") == [2, 1, 3, 4]  # descending, a tie by id, no value last
    assert listing("title", "all") == [1, 4, 3, 2]  # ascending
    assert listing("popularity", "genre=Drama") == [1, 3]  # a genre listed twice counts once
    assert listing("popularity", "year=2001") == [1, 3, 4]
    assert listing("popularity", "genre=Comedy&year=2001") == [4]
    assert by_id["popularity|all|0"]["ids"] == [2, 1] and by_id["popularity|all|1"]["total"] == 4
    assert not [key for key in by_id if "year=None" in key or "genre=None" in key]


def test_the_request_path_merges_an_exported_movie_and_its_sentiment_as_the_export_would():
    """The API re-merges the newest windows into the exported documents with the export's own functions: exporting
    with every window at once gives the same metrics and buckets as exporting early and merging the rest later."""
    from movie_pipeline.serving.documents import current_sentiment, exported_metrics, with_current_metrics

    early, late = [speed(90, 23.0)], [speed(20, 25.0, 1.0)]
    at_once = movie_document(SUMMARY, early + late, NOW)
    exported = movie_document(SUMMARY, early, NOW)
    assert exported["popularity"] == 23.0
    speed_as_of = with_current_metrics(exported, exported_metrics(exported), late)
    assert exported == at_once and speed_as_of == NOW - timedelta(minutes=20)

    boundary = cutoff(NOW)
    batch = [SentimentBucket(boundary - timedelta(hours=h), 2, 0.4, 1, 1, 0) for h in range(1, 72)]
    first, second = [speed(300, reviews=2)], [speed(45, reviews=3)]
    whole = sentiment_document(7, batch, NOW - timedelta(hours=4), first + second, NOW)
    merged = current_sentiment(sentiment_document(7, batch, NOW - timedelta(hours=4), first, NOW), first + second, NOW)
    assert merged["buckets"] == whole["buckets"] and merged["cutoff"] == whole["cutoff"] and merged["sources"] == whole["sources"]
