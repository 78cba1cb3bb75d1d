"""spark-submit entrypoint: silver -> gold (movie_summary, genre_monthly, trending, sentiment_daily, year_stats).

    spark-submit spark_jobs/silver_to_gold.py --run-id RUN [--lake-uri file:///.../lake]

Gold is derived from silver as a whole and each view is swapped in by rename (see lake_io).
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import DataFrame, SparkSession

from movie_pipeline.config import settings_from_env
from movie_pipeline.lake import Lake
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
        "year_stats": gold.year_stats(movies),
    }


def run(spark: SparkSession, lake_uri: str, run_id: str) -> dict[str, int]:
    lake = Lake(lake_uri)
    return replace_tables(spark, lake, "gold", build_gold(spark, lake), run_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake-uri", help="the lake's base URI (file://... or hdfs://...); default: LAKE_URI")
    parser.add_argument("--run-id", required=True, help="the Airflow run")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("silver_to_gold").config("spark.sql.session.timeZone", "UTC").getOrCreate()
    try:
        counts = run(spark, args.lake_uri or settings_from_env().lake_uri, args.run_id)
    finally:
        spark.stop()
    print("gold rows: " + ", ".join(f"{name}={count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
