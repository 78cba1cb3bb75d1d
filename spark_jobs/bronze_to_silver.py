"""spark-submit entrypoint: bronze -> silver (movies, movie_snapshots, reviews, rejects).

    spark-submit spark_jobs/bronze_to_silver.py --run-id RUN [--lake-uri file:///.../lake]

Silver is derived data: every table is rebuilt from all of bronze, written beside the old one and
swapped in by rename, so a re-run or a failed run never leaves a half-written table.
"""

from __future__ import annotations

import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_pipeline.lake import SILVER_TABLES, Lake
from spark_jobs.entrypoint import spark_main
from spark_jobs.lake_io import bronze_lines, replace_tables
from spark_jobs.transforms import silver


def build_silver(spark: SparkSession, lake: Lake, run_id: str) -> dict[str, DataFrame]:
    """The silver tables computed from the lake's bronze (nothing written)."""
    details, detail_rejects = silver.movie_details(silver.parse_envelopes(bronze_lines(spark, lake, "movie_details")))
    details = details.cache()
    genres = silver.genre_names(silver.parse_envelopes(bronze_lines(spark, lake, "genres")))
    reviews, review_rejects = silver.reviews(details, silver.parse_envelopes(bronze_lines(spark, lake, "movie_reviews")))
    ingest_rejects = bronze_lines(spark, lake, "_rejects").select(
        F.lit("ingest").alias("source_entity"),
        "source_partition",
        F.get_json_object("value", "$.reason").alias("reason"),
        F.col("value").alias("raw"),
    )
    rejects = detail_rejects.unionByName(review_rejects).unionByName(ingest_rejects).withColumn("run_id", F.lit(run_id))
    return {
        "movies": silver.movies_current(details, genres),
        "movie_snapshots": silver.movie_snapshots(details),
        "reviews": reviews,
        "rejects": rejects,
    }


def run(spark: SparkSession, lake_uri: str, run_id: str) -> dict[str, int]:
    lake = Lake(lake_uri)
    tables = build_silver(spark, lake, run_id)
    return replace_tables(spark, lake, "silver", {name: tables[name] for name in SILVER_TABLES}, run_id)


def main(argv: list[str] | None = None) -> int:
    return spark_main("bronze_to_silver: rebuild silver from bronze", run, argv)


if __name__ == "__main__":
    sys.exit(main())
