"""spark-submit entrypoint: bronze -> silver (movies, movie_snapshots, reviews, genres, rejects).

    spark-submit spark_jobs/bronze_to_silver.py --run-id RUN [--lake-uri file:///.../lake] [--full]

Each run either merges the new bronze intervals into silver (the scheduled case) or rebuilds
silver from all of bronze (first run, re-runs and backfills of older intervals); see
``spark_jobs/silver_plan.py``. Tables are staged, then swapped in by rename, so a failed run never
leaves a half-written table; the state file is removed during the swap, so a run that dies there
is followed by a rebuild.
"""

from __future__ import annotations

import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from movie_pipeline.lake import SILVER_TABLES, Lake
from spark_jobs import schemas
from spark_jobs.entrypoint import spark_main
from spark_jobs.lake_io import bronze_lines, bronze_partitions, read_state, read_table, replace_tables, write_state
from spark_jobs.silver_plan import BronzePartition, built_partitions, plan_silver, rebuild
from spark_jobs.transforms import silver

PAYLOADS: dict[str, StructType] = {
    "movie_details": schemas.MOVIE_DETAILS,
    "movie_reviews": schemas.REVIEW_PAGE,
    "genres": schemas.GENRE_LIST,
}


def _parsed(spark: SparkSession, lake: Lake, entity: str, partitions: list[BronzePartition]) -> DataFrame:
    return silver.parse_envelopes(bronze_lines(spark, lake, entity, partitions), PAYLOADS[entity])


def _details(spark: SparkSession, lake: Lake, partitions: list[BronzePartition]) -> tuple[DataFrame, DataFrame]:
    """(details, rejects) of the partitions' ``/movie`` answers, parsed once: cached for the tables that read them."""
    checked = silver.check_details(_parsed(spark, lake, "movie_details", partitions)).cache()
    return silver.usable_details(checked), silver.detail_rejects(checked)


def _ingest_rejects(spark: SparkSession, lake: Lake, partitions: list[BronzePartition]) -> DataFrame:
    return bronze_lines(spark, lake, "_rejects", partitions).select(
        F.lit("ingest").alias("source_entity"),
        "source_partition",
        F.get_json_object("value", "$.reason").alias("reason"),
        F.col("value").alias("raw"),
    )


def build_silver(spark: SparkSession, lake: Lake, partitions: list[BronzePartition], run_id: str) -> dict[str, DataFrame]:
    """The silver tables computed from the given bronze partitions (all of bronze; nothing written)."""
    details, detail_rejects = _details(spark, lake, partitions)
    genres = silver.genre_names(_parsed(spark, lake, "genres", partitions))
    reviews, review_rejects = silver.reviews(details, _parsed(spark, lake, "movie_reviews", partitions))
    rejects = detail_rejects.unionByName(review_rejects).unionByName(_ingest_rejects(spark, lake, partitions))
    return {
        "movies": silver.movies_current(details, genres),
        "movie_snapshots": silver.movie_snapshots(details),
        "reviews": silver.scored(reviews),
        "genres": genres,
        "rejects": rejects.withColumn("run_id", F.lit(run_id)),
    }


def merge_into_silver(spark: SparkSession, lake: Lake, new: list[BronzePartition], run_id: str) -> dict[str, DataFrame] | None:
    """Silver plus newer bronze intervals; None when they change the genre list (a rebuild is needed)."""
    existing = {name: read_table(spark, lake, "silver", name) for name in SILVER_TABLES}
    new_genres = silver.genre_names(_parsed(spark, lake, "genres", new))
    names = {(r.genre_id, r.genre_name) for r in new_genres.collect()}
    if names and names != {(r.genre_id, r.genre_name) for r in existing["genres"].collect()}:
        return None
    details, detail_rejects = _details(spark, lake, new)
    known = existing["movie_snapshots"].select("movie_id").unionByName(silver.known_movies(details)).distinct()
    reviews, review_rejects = silver.reviews(details, _parsed(spark, lake, "movie_reviews", new), known)
    rejects = detail_rejects.unionByName(review_rejects).unionByName(_ingest_rejects(spark, lake, new))
    return {
        "movies": silver.merge_movies(existing["movies"], details, existing["genres"]),
        "movie_snapshots": silver.merge_snapshots(existing["movie_snapshots"], silver.movie_snapshots(details)),
        "reviews": silver.merge_reviews(existing["reviews"], reviews),
        "genres": existing["genres"],
        "rejects": existing["rejects"].unionByName(rejects.withColumn("run_id", F.lit(run_id))),
    }


def run(spark: SparkSession, lake_uri: str, run_id: str, full: bool = False) -> dict[str, int]:
    try:
        return _update_silver(spark, Lake(lake_uri), run_id, full)
    finally:
        spark.catalog.clearCache()  # a cached plan over the same paths would serve the old data to a later run


def _update_silver(spark: SparkSession, lake: Lake, run_id: str, full: bool) -> dict[str, int]:
    state = read_state(spark, lake, "silver")
    bronze = bronze_partitions(spark, lake, built_partitions(state))
    plan = plan_silver(bronze, state, full)
    tables = None
    if plan.mode == "incremental":
        tables = merge_into_silver(spark, lake, plan.partitions, run_id)
        if tables is None:
            plan = rebuild(bronze, "the new intervals change the genre list")
    print(f"silver update: {plan.mode} ({plan.reason})", flush=True)
    if plan.mode == "unchanged":
        return {name: read_table(spark, lake, "silver", name).count() for name in SILVER_TABLES}
    if tables is None:
        tables = build_silver(spark, lake, plan.partitions, run_id)
    write_state(spark, lake, "silver", None)
    counts = replace_tables(spark, lake, "silver", {name: tables[name] for name in SILVER_TABLES}, run_id)
    write_state(spark, lake, "silver", {**plan.state(bronze), "mode": plan.mode, "run_id": run_id})
    return counts


def main(argv: list[str] | None = None) -> int:
    return spark_main("bronze_to_silver: bring silver up to date with bronze", run, argv, rebuild_flag=True)


if __name__ == "__main__":
    sys.exit(main())
