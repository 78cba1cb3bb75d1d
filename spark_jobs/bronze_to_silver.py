"""spark-submit entrypoint: bronze -> silver (movies, movie_snapshots, reviews, genres, rejects).

    spark-submit spark_jobs/bronze_to_silver.py --run-id RUN [--lake-uri file:///.../lake] [--full]

Each run either merges the new bronze intervals into silver (the scheduled case) or rebuilds
silver from all of bronze (first run, re-runs and backfills of older intervals); see
``spark_jobs/silver_plan.py``. A merge rewrites ``movies`` (one row per movie), appends to
``movie_snapshots`` and ``rejects``, and rewrites only the months of ``reviews`` that its new and
edited reviews fall in; VADER scores only those. Writes are staged, then moved in by rename, so a
failed run never leaves a half-written table; the state file is removed while they move, so a run
that dies there is followed by a rebuild.
"""

from __future__ import annotations

import sys
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from movie_pipeline.lake import PARTITION_COLUMN, SILVER_TABLES, Lake
from spark_jobs import schemas
from spark_jobs.entrypoint import spark_main
from spark_jobs.lake_io import (
    TableWrite,
    bronze_lines,
    bronze_partitions,
    materialized,
    month_of,
    read_state,
    read_table,
    write_state,
    write_tables,
)
from spark_jobs.silver_plan import BronzePartition, built_partitions, plan_silver, rebuild
from spark_jobs.transforms import silver

PAYLOADS: dict[str, StructType] = {
    "movie_details": schemas.MOVIE_DETAILS,
    "movie_reviews": schemas.REVIEW_PAGE,
    "genres": schemas.GENRE_LIST,
}


def _parsed(spark: SparkSession, lake: Lake, entity: str, partitions: list[BronzePartition]) -> DataFrame:
    return silver.parse_envelopes(bronze_lines(spark, lake, entity, partitions), PAYLOADS[entity])


def _details(spark: SparkSession, lake: Lake, partitions: list[BronzePartition], now: bool = False) -> tuple[DataFrame, DataFrame]:
    """(details, rejects) of the partitions' ``/movie`` answers, parsed once: cached for the tables that read them
    (and computed ``now``, for a merge's one interval)."""
    checked = silver.check_details(_parsed(spark, lake, "movie_details", partitions))
    checked = materialized(checked) if now else checked.cache()
    return silver.usable_details(checked), silver.detail_rejects(checked)


def _ingest_rejects(spark: SparkSession, lake: Lake, partitions: list[BronzePartition]) -> DataFrame:
    return bronze_lines(spark, lake, "_rejects", partitions).select(
        F.lit("ingest").alias("source_entity"),
        "source_partition",
        F.get_json_object("value", "$.reason").alias("reason"),
        F.col("value").alias("raw"),
    )


def _by_month_created(reviews: DataFrame) -> DataFrame:
    return reviews.withColumn(PARTITION_COLUMN, month_of("created_at"))


def build_silver(spark: SparkSession, lake: Lake, partitions: list[BronzePartition], run_id: str) -> dict[str, TableWrite]:
    """The silver tables computed from the given bronze partitions (all of bronze; nothing written)."""
    details, detail_rejects = _details(spark, lake, partitions)
    genres = silver.genre_names(_parsed(spark, lake, "genres", partitions))
    reviews, review_rejects = silver.reviews(details, _parsed(spark, lake, "movie_reviews", partitions))
    rejects = detail_rejects.unionByName(review_rejects).unionByName(_ingest_rejects(spark, lake, partitions))
    tables = {
        "movies": silver.movies_current(details, genres),
        "movie_snapshots": silver.movie_snapshots(details),
        "reviews": _by_month_created(silver.scored(reviews)),
        "genres": genres,
        "rejects": rejects.withColumn("run_id", F.lit(run_id)),
    }
    return {name: TableWrite(frame) for name, frame in tables.items()}


def merge_into_silver(
    spark: SparkSession, lake: Lake, new: list[BronzePartition], run_id: str
) -> tuple[dict[str, TableWrite], dict] | None:
    """Silver plus newer bronze intervals, as the writes that change it and what they change (for gold): the
    movies they name are replaced, their snapshots and rejects appended, and only the months of reviews their new
    and edited reviews fall in rewritten. None when they change the genre list (a rebuild is needed)."""
    genres = read_table(spark, lake, "silver", "genres")
    new_genres = silver.genre_names(_parsed(spark, lake, "genres", new))
    names = {(r.genre_id, r.genre_name) for r in new_genres.collect()}
    if names and names != {(r.genre_id, r.genre_name) for r in genres.collect()}:
        return None
    details, detail_rejects = _details(spark, lake, new, now=True)
    pages = _parsed(spark, lake, "movie_reviews", new)
    # the movies a review may belong to: known from earlier intervals (their snapshots) or valid in these; only
    # the interval's own review movies are looked up, so the history is scanned, not joined
    earlier = read_table(spark, lake, "silver", "movie_snapshots").select("movie_id")
    earlier = earlier.join(F.broadcast(silver.review_movies(details, pages)), "movie_id", "left_semi")
    known = earlier.unionByName(silver.known_movies(details)).distinct()
    versions, review_rejects = silver.review_versions(details, pages, known)
    versions = materialized(_by_month_created(versions))
    reviews = read_table(spark, lake, "silver", "reviews")
    # silver's rows of the incoming review ids, in one scan of the review keys: the versions already held, and
    # those the new and edited ones replace (their months lose a review, and their hours, for gold)
    held = reviews.select("review_id", "updated_at", PARTITION_COLUMN).join(
        F.broadcast(versions.select("review_id")), "review_id", "left_semi"
    )
    held = materialized(held)
    unseen = materialized(silver.unseen_reviews(versions, held))
    replaced = held.join(F.broadcast(unseen.select("review_id")), "review_id", "left_semi")
    changed = [(r[0], r[1]) for r in unseen.select(PARTITION_COLUMN, "updated_at").unionByName(replaced.drop("review_id"))
               .select(PARTITION_COLUMN, month_of("updated_at")).distinct().collect()]  # fmt: skip
    months, hour_months = sorted({m for m, _ in changed}), sorted({h for _, h in changed})
    rejects = detail_rejects.unionByName(review_rejects).unionByName(_ingest_rejects(spark, lake, new))
    writes = {
        "movies": TableWrite(silver.merge_movies(read_table(spark, lake, "silver", "movies"), details, genres)),
        "movie_snapshots": TableWrite(silver.movie_snapshots(details), "append"),
        "reviews": TableWrite(silver.merge_reviews(reviews.where(F.col(PARTITION_COLUMN).isin(months)), unseen), "months", tuple(months)),
        "rejects": TableWrite(rejects.withColumn("run_id", F.lit(run_id)), "append"),
    }
    # the movies the interval deleted at TMDB (their latest record a tombstone): gold drops their summaries by id
    removed = sorted(r.movie_id for r in silver.latest_details(details).where("is_tombstone").select("movie_id").collect())
    return writes, {"review_months": months, "hour_months": hour_months, "removed_movies": removed}


def run(spark: SparkSession, lake_uri: str, run_id: str, full: bool = False) -> dict[str, int]:
    try:
        return _update_silver(spark, Lake(lake_uri), run_id, full)
    finally:
        spark.catalog.clearCache()  # a cached plan over the same paths would serve the old data to a later run


def _update_silver(spark: SparkSession, lake: Lake, run_id: str, full: bool) -> dict[str, int]:
    started = time.monotonic()
    state = read_state(spark, lake, "silver")
    bronze = bronze_partitions(spark, lake, built_partitions(state))
    plan = plan_silver(bronze, state, full)
    merged = None
    if plan.mode == "incremental":
        merged = merge_into_silver(spark, lake, plan.partitions, run_id)
        if merged is None:
            plan = rebuild(bronze, "the new intervals change the genre list")
    print(f"silver update: {plan.mode} ({plan.reason})", flush=True)
    if plan.mode == "unchanged":
        return {name: read_table(spark, lake, "silver", name).count() for name in SILVER_TABLES}
    writes, change = merged if merged is not None else (build_silver(spark, lake, plan.partitions, run_id), None)
    if change:
        print(
            f"silver update: planned in {time.monotonic() - started:.1f} s: reviews of {', '.join(change['review_months']) or 'no month'}",
            flush=True,
        )
    write_state(spark, lake, "silver", None)
    counts = write_tables(spark, lake, "silver", writes, run_id)
    write_state(spark, lake, "silver", plan.state(bronze, run_id, state, change))
    print(f"silver update: done in {time.monotonic() - started:.1f} s", flush=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    return spark_main("bronze_to_silver: bring silver up to date with bronze", run, argv, rebuild_flag=True)


if __name__ == "__main__":
    sys.exit(main())
