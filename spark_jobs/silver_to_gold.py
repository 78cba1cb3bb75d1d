"""spark-submit entrypoint: silver -> gold (movie_summary, genre_monthly, trending, sentiment_daily, sentiment_hourly, year_stats).

    spark-submit spark_jobs/silver_to_gold.py --run-id RUN [--lake-uri file:///.../lake] [--full]

Each run either applies the changes of silver's merges (the scheduled case: the changed movies' summaries,
the rewritten months of the sentiment views) or rebuilds gold from all of silver; see
``spark_jobs/gold_plan.py``. Writes are staged, then moved in by rename; the state file is removed while
they move, so a run that dies there is followed by a rebuild.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_pipeline.lake import GOLD_VIEWS, PARTITION_COLUMN, Lake
from spark_jobs.entrypoint import spark_main
from spark_jobs.gold_plan import GoldPlan, plan_gold
from spark_jobs.lake_io import TableWrite, materialized, month_of, read_state, read_table, write_state, write_tables
from spark_jobs.transforms import gold


def _in_months(column: str, months: tuple[str, ...]) -> Column:
    """``column`` (a timestamp) falls in one of the ``YYYY-MM`` months; as time ranges, so that Parquet skips the row
    groups of other months."""
    condition = F.lit(False)
    for month in months:
        year, number = (int(part) for part in month.split("-"))
        start, end = datetime(year, number, 1), datetime(year + number // 12, number % 12 + 1, 1)
        condition = condition | ((F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end)))
    return condition


def _silver(spark: SparkSession, lake: Lake, name: str) -> DataFrame:
    return read_table(spark, lake, "silver", name).drop(PARTITION_COLUMN)


def _views_of_summary(summary: DataFrame) -> dict[str, TableWrite]:
    """The global views, small enough to recompute from ``movie_summary`` every run."""
    return {
        "movie_summary": TableWrite(summary),
        "genre_monthly": TableWrite(gold.genre_monthly(summary)),
        "trending": TableWrite(gold.trending(summary)),
        "year_stats": TableWrite(gold.year_stats(summary)),
    }


def build_gold(spark: SparkSession, lake: Lake) -> dict[str, TableWrite]:
    """Every gold view from all of silver (nothing written)."""
    movies, snapshots, reviews = (_silver(spark, lake, name) for name in ("movies", "movie_snapshots", "reviews"))
    summary = gold.movie_summary(movies, snapshots, reviews).cache()
    return {
        **_views_of_summary(summary),
        "sentiment_daily": TableWrite(gold.sentiment_daily(reviews).withColumn(PARTITION_COLUMN, month_of("review_date"))),
        "sentiment_hourly": TableWrite(gold.sentiment_hourly(reviews).withColumn(PARTITION_COLUMN, month_of("hour"))),
    }


def update_gold(spark: SparkSession, lake: Lake, plan: GoldPlan) -> dict[str, TableWrite]:
    """The writes that bring gold up to date with silver's merges: the summaries of the movies observed in their
    intervals, recomputed (those of the movies they deleted dropped); the months of the sentiment views they
    rewrote; the global views from the new summary."""
    movies = _silver(spark, lake, "movies")
    observed = F.col("observed_at").isin(*[F.to_timestamp(F.lit(end)) for end in plan.observed]) if plan.observed else F.lit(False)
    changed = materialized(movies.where(observed))
    ids = F.broadcast(changed.select("movie_id"))
    snapshots, reviews = (_silver(spark, lake, name).join(ids, "movie_id", "left_semi") for name in ("movie_snapshots", "reviews"))
    removed = spark.createDataFrame([(movie_id,) for movie_id in plan.removed_movies], "movie_id long")
    replaced = F.broadcast(changed.select("movie_id").unionByName(removed))  # one interval's: small
    kept = read_table(spark, lake, "gold", "movie_summary").join(replaced, "movie_id", "left_anti")
    summary = materialized(kept.unionByName(gold.movie_summary(changed, snapshots, reviews)))
    all_reviews = read_table(spark, lake, "silver", "reviews")
    by_created = all_reviews.where(F.col(PARTITION_COLUMN).isin(*plan.review_months)).drop(PARTITION_COLUMN)
    by_updated = all_reviews.where(_in_months("updated_at", plan.hour_months)).drop(PARTITION_COLUMN)
    daily = gold.sentiment_daily(by_created).withColumn(PARTITION_COLUMN, month_of("review_date"))
    hourly = gold.sentiment_hourly(by_updated).withColumn(PARTITION_COLUMN, month_of("hour"))
    return {
        **_views_of_summary(summary),
        "sentiment_daily": TableWrite(daily, "months", plan.review_months),
        "sentiment_hourly": TableWrite(hourly, "months", plan.hour_months),
    }


def run(spark: SparkSession, lake_uri: str, run_id: str, full: bool = False) -> dict[str, int]:
    lake = Lake(lake_uri)
    try:
        return _update_gold(spark, lake, run_id, full)
    finally:
        spark.catalog.clearCache()  # a cached plan over the same paths would serve the old data to a later run


def _update_gold(spark: SparkSession, lake: Lake, run_id: str, full: bool) -> dict[str, int]:
    started = time.monotonic()
    silver_state = read_state(spark, lake, "silver")
    plan = plan_gold(silver_state, read_state(spark, lake, "gold"), full)
    print(f"gold update: {plan.mode} ({plan.reason})", flush=True)
    if plan.mode == "unchanged":
        return {view: read_table(spark, lake, "gold", view).count() for view in GOLD_VIEWS}
    if plan.mode == "incremental":
        print(f"gold update: {len(plan.observed)} interval(s) of movies; sentiment_daily {', '.join(plan.review_months) or '-'}; "
              f"sentiment_hourly {', '.join(plan.hour_months) or '-'}", flush=True)  # fmt: skip
    writes = update_gold(spark, lake, plan) if plan.mode == "incremental" else build_gold(spark, lake)
    write_state(spark, lake, "gold", None)
    counts = write_tables(spark, lake, "gold", writes, run_id)
    write_state(spark, lake, "gold", plan.state(silver_state))
    print(f"gold update: done in {time.monotonic() - started:.1f} s", flush=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    return spark_main("silver_to_gold: bring gold up to date with silver", run, argv, rebuild_flag=True)


if __name__ == "__main__":
    sys.exit(main())
