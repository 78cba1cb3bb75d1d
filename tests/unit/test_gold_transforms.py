"""silver -> gold views on a hand-built silver, compared as whole DataFrames."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pyspark.testing import assertDataFrameEqual

from spark_jobs.schemas import MOVIES
from spark_jobs.transforms import gold

AS_OF = datetime(2026, 11, 20)
REVIEWS = "review_id string, movie_id long, created_at timestamp, updated_at timestamp, sentiment_compound double, sentiment_label string"


@pytest.fixture
def silver(spark):
    movies = spark.createDataFrame(
        [
            (
                1,
                "A",
                "A",
                "en",
                "",
                "Released",
                date(2001, 5, 4),
                100,
                100,
                500,
                20.0,
                8.0,
                100,
                [18, 35],
                ["Drama", "Comedy"],
                [],
                [],
                [],
                AS_OF,
                AS_OF,
            ),
            (
                2,
                "B",
                "B",
                "fr",
                "",
                "Released",
                date(2001, 5, 20),
                None,
                None,
                None,
                10.0,
                6.0,
                300,
                [18],
                ["Drama"],
                [],
                [],
                [],
                AS_OF,
                AS_OF,
            ),
        ],
        schema=MOVIES,
    )
    snapshots = spark.createDataFrame(
        [
            (1, AS_OF, 20.0, 8.0, 100),
            (1, datetime(2026, 11, 12), 12.0, 8.0, 90),
            (1, datetime(2026, 10, 1), 5.0, 7.0, 50),
            (2, AS_OF, 10.0, 6.0, 300),
        ],
        "movie_id long, observed_at timestamp, popularity double, vote_average double, vote_count long",
    )
    reviews = spark.createDataFrame(
        [
            ("r1", 1, datetime(2026, 11, 1, 9), datetime(2026, 11, 2, 10, 59), 0.8, "positive"),  # edited the next day
            ("r2", 1, datetime(2026, 11, 1, 17), datetime(2026, 11, 1, 17), -0.6, "negative"),
        ],
        REVIEWS,
    )
    return movies, snapshots, reviews


def test_movie_summary(spark, silver):
    movies, snapshots, reviews = silver
    expected = spark.createDataFrame(
        [
            (
                1,
                "A",
                date(2001, 5, 4),
                ["Drama", "Comedy"],
                "en",
                "Released",
                100,
                100,
                500,
                20.0,
                8.0,
                100,
                AS_OF,
                2,
                1,
                0,
                1,
                0.1,
                0.2,
                1.0,
                0.3,
                None,
            ),
            (
                2,
                "B",
                date(2001, 5, 20),
                ["Drama"],
                "fr",
                "Released",
                None,
                None,
                None,
                10.0,
                6.0,
                300,
                AS_OF,
                0,
                0,
                0,
                0,
                None,
                0.0,
                None,
                None,
                None,
            ),
        ],
        "movie_id long, title string, release_date date, genres array<string>, original_language string, status string, runtime_min long, "
        "budget_usd long, revenue_usd long, popularity double, vote_average double, vote_count long, as_of timestamp, review_count long, "
        "positive_reviews long, neutral_reviews long, negative_reviews long, mean_sentiment double, sentiment_sum double, "
        "popularity_velocity_7d double, "
        "popularity_velocity_30d double, popularity_velocity_90d double",
    )
    assertDataFrameEqual(gold.movie_summary(movies, snapshots, reviews), expected, checkRowOrder=False, ignoreNullable=True)


def test_genre_monthly_trending_sentiment_and_year_stats(spark, silver):
    movies, snapshots, reviews = silver
    may = date(2001, 5, 1)
    summary = gold.movie_summary(movies, snapshots, reviews)
    assertDataFrameEqual(
        gold.genre_monthly(summary),
        spark.createDataFrame(
            [("Drama", may, 2, 6.5, 400, 15.0, 0.1, 500, 100), ("Comedy", may, 1, 8.0, 100, 20.0, 0.1, 500, 100)],
            "genre string, release_month date, movies long, vote_weighted_rating double, votes long, mean_popularity double, "
            "mean_sentiment double, revenue_usd long, budget_usd long",
        ),
        checkRowOrder=False,
        ignoreNullable=True,
    )
    assertDataFrameEqual(
        gold.trending(summary),
        spark.createDataFrame(
            [(7, 1, 1, "A", 1.0), (30, 1, 1, "A", 0.3)], "window_days int, rank int, movie_id long, title string, popularity_growth double"
        ),
        checkRowOrder=False,
        ignoreNullable=True,
    )
    assertDataFrameEqual(
        gold.sentiment_daily(reviews),
        spark.createDataFrame(
            [(1, date(2026, 11, 1), 2, 0.1, 1, 0, 1)],
            "movie_id long, review_date date, reviews long, mean_compound double, positive long, neutral long, negative long",
        ),
        checkRowOrder=False,
        ignoreNullable=True,
    )
    another = spark.createDataFrame([("r3", 2, datetime(2026, 11, 2, 10), datetime(2026, 11, 2, 10, 5), 0.0, "neutral")], REVIEWS)
    assertDataFrameEqual(
        gold.sentiment_hourly(reviews.unionByName(another)),
        spark.createDataFrame(
            [
                (1, datetime(2026, 11, 2, 10), 1, 0.8, 1, 0, 0),
                (1, datetime(2026, 11, 1, 17), 1, -0.6, 0, 0, 1),
                (2, datetime(2026, 11, 2, 10), 1, 0.0, 0, 1, 0),
            ],
            "movie_id long, hour timestamp, reviews long, sentiment_sum double, positive long, neutral long, negative long",
        ),
        checkRowOrder=False,
        ignoreNullable=True,
    )
    assertDataFrameEqual(
        gold.year_stats(movies),
        spark.createDataFrame(
            [(2001, 2, 6.5, 400, 15.0, 500, None, None)],
            "release_year int, movies long, vote_weighted_rating double, votes long, mean_popularity double, revenue_usd long, "
            "movies_yoy_change long, rating_yoy_change double",
        ),
        ignoreNullable=True,
    )
