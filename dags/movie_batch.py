"""
### movie_batch: the 4-hourly batch layer

Every 4 hours (UTC), for the run's data interval `[data_interval_start, data_interval_end)`:

1. **extract**: TMDB -> bronze. A full load (TMDB's daily ID export) when bronze is empty, otherwise
   the movies TMDB lists as changed on the interval's days, each hydrated with credits, keywords,
   reviews and release dates, in chunks (the log shows each: done/total, req/s, ETA). A retry of a
   failed or killed extract resumes from its last complete chunk; re-running a finished run
   replaces its interval's bronze partitions, so retries and backfills
   (`airflow backfill create --dag-id movie_batch --from-date ... --to-date ...`) are safe.
2. **validate_bronze**: the bronze checkpoint (Great Expectations) on the interval's bronze.
3. **bronze_to_silver** (Spark, `spark_default` connection): silver `movies`, `movie_snapshots`,
   `reviews` (VADER sentiment), `genres` and `rejects` (every unusable record with its reason).
   A scheduled run merges just its new interval; a re-run or a backfill of an older interval
   rebuilds silver from all of bronze (same result; see `spark_jobs/silver_plan.py`).
4. **validate_silver**: the silver checkpoint.
5. **silver_to_gold** (Spark): the gold views `movie_summary`, `genre_monthly`, `trending`,
   `sentiment_daily`, `sentiment_hourly`, `year_stats` (columns documented in
   `spark_jobs/transforms/gold.py`). After a merge only what it changed is recomputed (the
   hydrated movies' summaries, the months of reviews it rewrote); after a rebuild, all of gold
   (see `spark_jobs/gold_plan.py`).
6. **validate_gold**: the gold checkpoint; on success it updates the gold **Assets** with
   event metadata (rows, silver rejects, data-quality pass rate, report link).

**Data quality**: a failed *critical* expectation fails its validate task (and the run); the
others are logged as warnings. Every validate task logs the link to the run's report; the
**Data quality** page of the UI (menu, and a tab on each run) lists the reports.

**Backfill** a date range from the UI (*Trigger* > *Backfill*) or with
`airflow backfill create --dag-id movie_batch --from-date 2026-11-20T00:00:00Z --to-date 2026-11-22T00:00:00Z`.
Runs execute one at a time in order. Every task replaces only its own interval's output (or
rebuilds derived tables), so re-running any run or range gives the same result.

A manual run without a logical date ingests the latest complete 4-hour interval before it was
triggered. TMDB settings come from the connection `tmdb_default`; the lake from `LAKE_URI`;
reports go to `DATA_QUALITY_DIR`.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import CronDataIntervalTimetable, dag, task
from airflow.sdk.types import RuntimeTaskInstanceProtocol

import spark_jobs
from movie_pipeline.assets import GOLD_ASSETS
from movie_pipeline.spark_conf import SESSION_CONF

SPARK_JOBS = Path(spark_jobs.__file__).parent  # installed with the project's package


@dag(
    dag_id="movie_batch",
    schedule=CronDataIntervalTimetable("0 */4 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["movies", "batch", "tmdb"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=2)},
)
def movie_batch():
    # Airflow passes these context values by name: the run's interval (absent for a manual run without a logical
    # date: interval_for_run's rule), the run, the task instance (its dag_id and run_id) and the outlet events

    @task(execution_timeout=timedelta(hours=3))
    def extract(data_interval_start=None, data_interval_end=None, dag_run=None) -> dict:
        """Ingest the run's data interval from TMDB into bronze."""
        from movie_pipeline.tasks import extract_to_bronze, interval_for_run

        return extract_to_bronze(interval_for_run(data_interval_start, data_interval_end, dag_run))

    @task
    def validate_bronze(ti: RuntimeTaskInstanceProtocol, data_interval_start=None, data_interval_end=None, dag_run=None) -> dict:
        """Great Expectations on the interval's bronze."""
        from movie_pipeline.tasks import interval_for_run, validate_bronze

        return validate_bronze(interval_for_run(data_interval_start, data_interval_end, dag_run), ti.dag_id, ti.run_id)

    @task
    def validate_silver(ti: RuntimeTaskInstanceProtocol) -> dict:
        """Great Expectations on silver."""
        from movie_pipeline.tasks import validate_tables

        return validate_tables("silver", ti.dag_id, ti.run_id)

    @task(outlets=list(GOLD_ASSETS.values()))
    def validate_gold(
        ti: RuntimeTaskInstanceProtocol, outlet_events=None, data_interval_start=None, data_interval_end=None, dag_run=None
    ) -> dict:
        """Great Expectations on gold; then the gold Assets' events, with metadata."""
        from movie_pipeline.tasks import interval_for_run, publish_gold, validate_tables

        interval = interval_for_run(data_interval_start, data_interval_end, dag_run)
        return publish_gold(validate_tables("gold", ti.dag_id, ti.run_id), interval, outlet_events)

    def spark_step(job: str) -> SparkSubmitOperator:
        return SparkSubmitOperator(
            task_id=job,
            conn_id="spark_default",
            application=str(SPARK_JOBS / f"{job}.py"),
            application_args=["--run-id", "{{ run_id }}"],
            env_vars={"PYSPARK_PYTHON": sys.executable},  # workers need the project's environment (VADER, pandas)
            conf=SESSION_CONF,
            name=f"movie_batch.{job}",
            max_active_tis_per_dag=1,  # one writer of a layer at a time, across scheduled and backfill runs
        )

    (
        extract()
        >> validate_bronze()
        >> spark_step("bronze_to_silver")
        >> validate_silver()
        >> spark_step("silver_to_gold")
        >> validate_gold()
    )


movie_batch()
