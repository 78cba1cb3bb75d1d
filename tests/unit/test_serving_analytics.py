"""The analytics tables (the dashboards' SQL source) flattened from the serving documents (no services)."""

from datetime import UTC, datetime, timedelta

from movie_pipeline.merge import BATCH, SPEED, SentimentBucket, cutoff
from movie_pipeline.serving import analytics
from movie_pipeline.serving.documents import movie_document, sentiment_document, trending_documents
from tests.unit.test_serving_documents import NOW, SUMMARY, speed


def columns(table: str, row: tuple) -> dict:
    return dict(zip((name for name, _ in analytics.TABLES[table]), row, strict=True))


def views() -> dict[str, list[dict]]:
    boundary = cutoff(NOW)
    gold_hour = SentimentBucket(boundary - timedelta(hours=2), 4, 2.0, 3, 1, 0)
    movie = movie_document(SUMMARY, [speed(20, 25.0, 1.0, reviews=2)], NOW)
    sentiment = sentiment_document(7, [gold_hour], datetime(2026, 11, 28, 8, tzinfo=UTC), [speed(20, 25.0, 1.0, reviews=2)], NOW)
    trending = trending_documents([], {"1h": [(7, 1.0)]}, {7: SUMMARY}, NOW)
    return {"movies": [movie], "sentiment": [sentiment], "trending": trending, "genre_stats": [], "year_stats": []}


def test_every_view_becomes_rows_with_its_sources_and_the_freshness_of_each_part():
    rows = analytics.table_rows(views(), "v1", NOW)
    movie = columns("movies", rows["movies"][0])
    assert (movie["movie_id"], movie["title"], movie["genres"], movie["popularity"], movie["metrics_source"]) == (
        7, "A", ["Drama", "Comedy"], 25.0, SPEED,
    )  # fmt: skip
    assert movie["metrics_as_of"] == NOW - timedelta(minutes=20) and movie["batch_as_of"] == datetime(2026, 11, 28, 8, tzinfo=UTC)
    assert rows["movie_genres"] == [(7, "Drama"), (7, "Comedy")]
    hours = [columns("sentiment_hourly", row) for row in rows["sentiment_hourly"]]
    assert [(h["hour"], h["reviews"], h["mean_sentiment"], h["source"]) for h in hours] == [
        (cutoff(NOW) - timedelta(hours=2), 4, 0.5, BATCH),
        (NOW.replace(minute=0) - timedelta(hours=1 if NOW.minute < 20 else 0), 2, 0.5, SPEED),
    ]
    assert [columns("trending", row)["time_window"] for row in rows["trending"]] == ["1h"]
    freshness = {row[0]: columns("freshness", row) for row in rows["freshness"]}
    assert set(freshness) == {"movies", "sentiment_hourly", "trending", "genre_stats", "year_stats"}
    assert freshness["movies"]["speed_as_of"] == NOW - timedelta(minutes=20) and freshness["movies"]["row_count"] == 1
    assert freshness["sentiment_hourly"]["batch_as_of"] == cutoff(NOW) - timedelta(hours=2)
    assert freshness["genre_stats"] == {
        "view": "genre_stats", "version": "v1", "exported_at": NOW, "batch_as_of": None, "speed_as_of": None, "row_count": 0
    }  # fmt: skip


def test_naive_datetimes_from_mongodb_are_read_as_utc():
    document = views()["movies"][0] | {"as_of": datetime(2026, 11, 28, 12, 7)}
    row = columns("movies", analytics.table_rows({"movies": [document]}, "v1", NOW)["movies"][0])
    assert row["exported_at"] == datetime(2026, 11, 28, 12, 7, tzinfo=UTC)


def test_the_tables_are_created_with_their_keys():
    statements = analytics.ddl()
    assert statements[0] == "CREATE SCHEMA IF NOT EXISTS analytics"
    assert any(s.startswith("CREATE TABLE IF NOT EXISTS analytics.sentiment_hourly (movie_id integer,") for s in statements)
    assert all("PRIMARY KEY" in s for s in statements[1:]) and len(statements) == len(analytics.TABLES) + 1
