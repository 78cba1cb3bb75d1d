"""spark-submit entrypoint: silver -> gold (movie_summary, genre_monthly, trending, sentiment_daily, sentiment_hourly, year_stats).

    spark-submit spark_jobs/silver_to_gold.py --run-id RUN [--lake-uri file:///.../lake]

Gold is derived from silver as a whole and each view is swapped in by rename (see lake_io).
"""

from __future__ import annotations

import sys

from pyspark.sql import DataFrame, SparkSession

from movie_pipeline.lake import Lake
from spark_jobs.entrypoint import spark_main
from spark_jobs.lake_io import replace_tables
from spark_jobs.transforms import gold


def build_gold(spark: SparkSession, lake: Lake) -> dict[str, DataFrame]:
    movies, snapshots, reviews = (spark.read.parquet(lake.spark_uri("silver", name)) for name in ("movies", "movie_snapshots", "reviews"))
    summary = gold.movie_summary(movies, snapshots, reviews).cache()
    return {
        "movie_summary": summary,
        "genre_monthly": gold.genre_monthly(movies, reviews),
        "trending": gold.trending(summary),
        "sentiment_daily": gold.sentiment_daily(reviews),
        "sentiment_hourly": gold.sentiment_hourly(reviews),
        "year_stats": gold.year_stats(movies),
    }


def run(spark: SparkSession, lake_uri: str, run_id: str) -> dict[str, int]:
    lake = Lake(lake_uri)
    try:
        return replace_tables(spark, lake, "gold", build_gold(spark, lake), run_id)
    finally:
        spark.catalog.clearCache()  # a cached plan over the same paths would serve the old data to a later run


def main(argv: list[str] | None = None) -> int:
    return spark_main("silver_to_gold: derive the gold views from silver", run, argv)


if __name__ == "__main__":
    sys.exit(main())
