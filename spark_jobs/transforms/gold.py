"""silver -> gold: the analytic views, as pure DataFrame -> DataFrame transforms.

Columns (every view):

movie_summary    movie_id, title, release_date, genres, original_language, status, runtime_min,
                 budget_usd, revenue_usd (null = unknown), popularity, vote_average, vote_count (the
                 latest snapshot), as_of (the end of the data interval it was observed in), review_count, positive_reviews,
                 neutral_reviews, negative_reviews, mean_sentiment (mean VADER compound, null without
                 reviews), sentiment_sum (their sum, 0 without), popularity_velocity_7d / _30d / _90d (popularity change per day since the
                 latest snapshot observed at least N days earlier; null when there is none)
genre_monthly    genre, release_month (first day of the month), movies, vote_weighted_rating
                 (sum(vote_average * vote_count) / sum(vote_count)), votes, mean_popularity,
                 mean_sentiment (over the genre's reviews), revenue_usd, budget_usd (sums over movies
                 where known)
trending         window_days (7, 30, 90), rank (1 = fastest growing), movie_id, title,
                 popularity_growth (the movie's popularity velocity over the window)
sentiment_daily  movie_id, review_date, reviews, mean_compound, positive, neutral, negative
sentiment_hourly movie_id, hour (of the review's last update: the speed layer's event time), reviews,
                 sentiment_sum, positive, neutral, negative; additive, so the serving layer's merge
                 joins it to the speed windows at the 48 h cutoff (``movie_pipeline.merge``)
year_stats       release_year, movies, vote_weighted_rating, votes, mean_popularity, revenue_usd,
                 movies_yoy_change, rating_yoy_change (against the previous release year; null for
                 the first year)
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

VELOCITY_WINDOWS = (7, 30, 90)


def _sentiment_counts() -> list[Column]:
    return [
        F.count("review_id").alias("review_count"),
        F.sum("sentiment_compound").alias("sentiment_sum"),
        F.sum(F.when(F.col("sentiment_label") == "positive", 1).otherwise(0)).alias("positive_reviews"),
        F.sum(F.when(F.col("sentiment_label") == "neutral", 1).otherwise(0)).alias("neutral_reviews"),
        F.sum(F.when(F.col("sentiment_label") == "negative", 1).otherwise(0)).alias("negative_reviews"),
        F.avg("sentiment_compound").alias("mean_sentiment"),
    ]


def popularity_velocity(movies: DataFrame, snapshots: DataFrame) -> DataFrame:
    """movie_id -> popularity change per day over each window, from the snapshot time series."""
    latest = movies.select("movie_id", F.col("popularity").alias("latest_popularity"), F.col("observed_at").alias("as_of"))
    result = latest
    for days in VELOCITY_WINDOWS:
        cutoff = F.col("as_of") - F.make_dt_interval(F.lit(days))
        baseline_rank = Window.partitionBy("movie_id").orderBy(F.col("observed_at").desc())
        baseline = (
            snapshots.join(latest, "movie_id")
            .where(F.col("observed_at") <= cutoff)
            .withColumn("rank", F.row_number().over(baseline_rank))
            .where("rank = 1")
            .select("movie_id", F.col("popularity").alias("base_popularity"), F.col("observed_at").alias("base_at"))
        )
        elapsed_days = (F.col("as_of").cast("double") - F.col("base_at").cast("double")) / 86400.0
        velocity = F.when(F.col("base_at").isNotNull(), (F.col("latest_popularity") - F.col("base_popularity")) / elapsed_days)
        result = (
            result.join(baseline, "movie_id", "left")
            .withColumn(f"popularity_velocity_{days}d", velocity)
            .drop("base_popularity", "base_at")
        )
    return result.drop("latest_popularity")


def movie_summary(movies: DataFrame, snapshots: DataFrame, reviews: DataFrame) -> DataFrame:
    sentiment = reviews.groupBy("movie_id").agg(*_sentiment_counts())
    velocity = popularity_velocity(movies, snapshots)
    counts = ["review_count", "positive_reviews", "neutral_reviews", "negative_reviews"]
    return (
        movies.join(sentiment, "movie_id", "left")
        .join(velocity, "movie_id", "left")
        .select(
            "movie_id", "title", "release_date", "genres", "original_language", "status", "runtime_min", "budget_usd", "revenue_usd",
            "popularity", "vote_average", "vote_count", "as_of",
            *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in counts],
            "mean_sentiment",
            F.coalesce(F.col("sentiment_sum"), F.lit(0.0)).alias("sentiment_sum"),
            *[f"popularity_velocity_{d}d" for d in VELOCITY_WINDOWS],
        )
    )  # fmt: skip


def _vote_weighted_rating() -> Column:
    weighted = F.sum(F.col("vote_average") * F.col("vote_count"))
    votes = F.sum("vote_count")
    return F.when(votes > 0, weighted / votes).alias("vote_weighted_rating")


def genre_monthly(summary: DataFrame) -> DataFrame:
    """From ``movie_summary`` (one row per movie, with its review count and sentiment sum), so it never reads reviews."""
    by_genre = summary.where(F.col("release_date").isNotNull()).select(
        "movie_id", F.explode(F.array_distinct("genres")).alias("genre"), F.trunc("release_date", "month").alias("release_month"),
        "vote_average", "vote_count", "popularity", "revenue_usd", "budget_usd", "review_count", "sentiment_sum",
    )  # fmt: skip
    reviews = F.sum("review_count")
    return by_genre.groupBy("genre", "release_month").agg(
        F.count("movie_id").alias("movies"),  # one row per movie and genre (array_distinct)
        _vote_weighted_rating(),
        F.sum("vote_count").alias("votes"),
        F.avg("popularity").alias("mean_popularity"),
        F.when(reviews > 0, F.sum("sentiment_sum") / reviews).alias("mean_sentiment"),
        F.sum("revenue_usd").alias("revenue_usd"),
        F.sum("budget_usd").alias("budget_usd"),
    )


def trending(summary: DataFrame) -> DataFrame:
    frames = []
    for days in VELOCITY_WINDOWS:
        growth = f"popularity_velocity_{days}d"
        ranked = Window.orderBy(F.col(growth).desc(), F.col("movie_id"))
        frames.append(
            summary.where(F.col(growth).isNotNull()).select(
                F.lit(days).alias("window_days"),
                F.row_number().over(ranked).alias("rank"),
                "movie_id",
                "title",
                F.col(growth).alias("popularity_growth"),
            )
        )
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def sentiment_daily(reviews: DataFrame) -> DataFrame:
    return reviews.groupBy("movie_id", F.to_date("created_at").alias("review_date")).agg(
        F.count("review_id").alias("reviews"),
        F.avg("sentiment_compound").alias("mean_compound"),
        F.sum(F.when(F.col("sentiment_label") == "positive", 1).otherwise(0)).alias("positive"),
        F.sum(F.when(F.col("sentiment_label") == "neutral", 1).otherwise(0)).alias("neutral"),
        F.sum(F.when(F.col("sentiment_label") == "negative", 1).otherwise(0)).alias("negative"),
    )


def sentiment_hourly(reviews: DataFrame) -> DataFrame:
    label = F.col("sentiment_label")
    return reviews.groupBy("movie_id", F.date_trunc("hour", "updated_at").alias("hour")).agg(
        F.count("review_id").alias("reviews"),
        F.sum("sentiment_compound").alias("sentiment_sum"),
        *[F.sum(F.when(label == name, 1).otherwise(0)).alias(name) for name in ("positive", "neutral", "negative")],
    )


def year_stats(movies: DataFrame) -> DataFrame:
    """From ``movies`` or ``movie_summary`` (both one row per movie with its release date and metrics)."""
    yearly = (
        movies.where(F.col("release_date").isNotNull())
        .groupBy(F.year("release_date").alias("release_year"))
        .agg(
            F.count("movie_id").alias("movies"),
            _vote_weighted_rating(),
            F.sum("vote_count").alias("votes"),
            F.avg("popularity").alias("mean_popularity"),
            F.sum("revenue_usd").alias("revenue_usd"),
        )
    )
    previous = Window.orderBy("release_year")
    return yearly.withColumn("movies_yoy_change", F.col("movies") - F.lag("movies").over(previous)).withColumn(
        "rating_yoy_change", F.col("vote_weighted_rating") - F.lag("vote_weighted_rating").over(previous)
    )
