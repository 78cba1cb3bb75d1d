"""
### movie_batch: the 4-hourly batch layer

Every 4 hours (UTC), for the run's data interval `[data_interval_start, data_interval_end)`:

1. **extract**: TMDB -> bronze. A full load (discover) when bronze is empty, otherwise the movies
   TMDB lists as changed on the interval's days, each hydrated with credits, keywords, reviews and
   release dates. Re-running a run replaces its interval's bronze partitions, so retries and
   backfills (`airflow backfill create --dag-id movie_batch --from-date ... --to-date ...`) are safe.

A manual run without a logical date ingests the latest complete 4-hour interval before it was
triggered. TMDB settings come from the connection `tmdb_default`; the lake from `LAKE_URI`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task


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
    @task(execution_timeout=timedelta(hours=3))
    def extract(**context) -> dict:
        """Ingest the run's data interval from TMDB into bronze."""
        from movie_pipeline.tasks import extract_to_bronze

        return extract_to_bronze(context)

    extract()


movie_batch()
