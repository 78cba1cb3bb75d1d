"""
### movie_serving_export: batch + speed -> the MongoDB serving views

Runs when `movie_batch` publishes new gold (the gold Assets) and, in any case, every 15 minutes
(the speed views change all the time).

**export_serving_views** reads gold from the lake and the speed windows of the last 48 hours
from Cassandra, merges them by the rule in `include/movie_pipeline/merge.py` (hours older than
the cutoff from gold, newer ones from the speed layer, the freshest metrics win; every document
says which source each part came from and as of when) and writes a new version of the views
`movies`, `rankings`, `sentiment`, `trending`, `genre_stats` and `year_stats` (bulk upserts, indexes) before
switching readers to it in one write: the API never sees a half-written export. A failed run
leaves the previous version current and is safe to re-run. The run's `serving.views` Asset event
carries the version and the documents per view.

**publish_analytics** copies that version into the `analytics` schema of PostgreSQL
(`analytics_default`), flattened for SQL, in one transaction: the Superset dashboards' source
(`movies`, `movie_genres`, `sentiment_hourly`, `trending`, `genre_stats`, `year_stats` and
`freshness`, as of when each view's batch and speed parts are).

Connections: `mongo_default` (database = its schema), `analytics_default` (PostgreSQL); Cassandra and the lake from the speed and
lake settings (`CASSANDRA_*`, `SPEED_KEYSPACE`, `LAKE_URI`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from movie_pipeline.assets import GOLD_ASSETS, SERVING_ASSET


@dag(
    dag_id="movie_serving_export",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone="UTC"),
        assets=list(GOLD_ASSETS.values()),  # all of them: movie_batch's validate_gold updates them together
    ),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["movies", "serving", "mongodb"],
    default_args={"owner": "data-engineering", "retries": 3, "retry_delay": timedelta(seconds=30)},
)
def movie_serving_export():
    @task(outlets=[SERVING_ASSET], execution_timeout=timedelta(minutes=30))
    def export_serving_views(run_id=None, outlet_events=None) -> dict:  # context values, passed by name
        """Merge gold and the speed views; publish a new version of the serving views to MongoDB."""
        from movie_pipeline.tasks import export_serving_views

        return export_serving_views(run_id, outlet_events)

    @task(execution_timeout=timedelta(minutes=15))
    def publish_analytics(exported: dict) -> dict:
        """Copy the exported version into the PostgreSQL `analytics` tables the dashboards read."""
        from movie_pipeline.tasks import publish_analytics

        return publish_analytics(exported)

    publish_analytics(export_serving_views())


movie_serving_export()
