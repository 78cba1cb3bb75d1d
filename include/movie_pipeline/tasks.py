"""What the DAGs' tasks do. DAG files only wire these; nothing here runs at import time.

Each takes what it needs from its run as arguments (the interval, the DAG and run ids, the outlet
events), not Airflow's context dict; settings come from ``settings_from_airflow`` (the connections
over the environment).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from movie_pipeline.config import ANALYTICS_CONN_ID, MONGO_CONN_ID
from movie_pipeline.intervals import Interval

log = logging.getLogger(__name__)

BATCH_PERIOD = timedelta(hours=4)


def interval_for_run(
    data_interval_start: datetime | None, data_interval_end: datetime | None, dag_run: Any, period: timedelta = BATCH_PERIOD
) -> Interval:
    """The data interval a run is responsible for.

    Scheduled runs and backfills carry their interval. A manual run may have no logical date
    (Airflow 3); its rule is: **the latest complete period before the run was requested**, i.e.
    for a run requested at 09:30 UTC with a 4-hour schedule, [04:00, 08:00).
    """
    start, end = data_interval_start, data_interval_end
    if start is not None and end is not None and start < end:
        return Interval(_utc(start), _utc(end))
    requested = getattr(dag_run, "run_after", None) or datetime.now(UTC)
    interval = Interval.latest_complete(_utc(requested), period)
    log.warning(
        "run %s has no data interval (manual run without a logical date); using the latest complete one, %s",
        getattr(dag_run, "run_id", "?"),
        interval,
    )
    return interval


def extract_to_bronze(interval: Interval, full: bool = False) -> dict[str, Any]:
    """The batch DAG's extract step: ingest the run's interval into bronze; return a summary."""
    from movie_pipeline.config import settings_from_airflow
    from movie_pipeline.ingest import ingest

    settings = settings_from_airflow()
    log.info(
        "ingesting %s from %s at up to %g req/s into %s", interval, settings.tmdb.base_url, settings.tmdb.rate_limit, settings.lake_uri
    )
    summary = ingest(settings, interval, full=full, emit=log.info)
    log.info("%s", summary.report())
    return {
        "interval_start": interval.start.isoformat(),
        "interval_end": interval.end.isoformat(),
        "mode": summary.mode,
        "listing": summary.listing,
        "resumed_chunks": summary.resumed_chunks,
        "requests": summary.requests,
        "movies": summary.movies,
        "tombstones": summary.tombstones,
        "rejects": summary.rejects,
        "records": summary.records,
        "seconds": round(summary.seconds, 2),
        "partitions": summary.partitions,
    }


def validate_bronze(interval: Interval, dag_id: str, run_id: str) -> dict[str, Any]:
    """Check the run's bronze interval (the bronze checkpoint)."""
    from movie_pipeline.config import settings_from_airflow
    from movie_pipeline.quality.tables import bronze_frames

    settings = settings_from_airflow()
    return _validate(settings, "bronze", bronze_frames(settings.lake, interval), dag_id, run_id)


def validate_tables(layer: str, dag_id: str, run_id: str) -> dict[str, Any]:
    """Check every table of ``silver`` or ``gold`` (that layer's checkpoint)."""
    from movie_pipeline.config import settings_from_airflow
    from movie_pipeline.quality.tables import table_frames

    settings = settings_from_airflow()
    return _validate(settings, layer, table_frames(settings.lake, layer), dag_id, run_id)


def publish_gold(quality: dict[str, Any], interval: Interval, outlet_events: Any) -> dict[str, Any]:
    """Validate gold, then attach rows, rejects and the data-quality pass rate to the gold Assets' events."""
    import pyarrow.parquet as pq

    from movie_pipeline.assets import GOLD_ASSETS
    from movie_pipeline.config import settings_from_airflow

    lake = settings_from_airflow().lake
    silver_rejects = pq.read_table(lake.path("silver", "rejects"), columns=[], filesystem=lake.fs).num_rows
    for view, asset in GOLD_ASSETS.items():
        outlet_events[asset].extra = {
            "rows": quality["rows"][view],  # counted by the gold checkpoint, which read every view
            "silver_rejects": silver_rejects,
            "dq_pass_rate": quality["pass_rate"],
            "dq_report": quality["report_url"],
            "interval_start": interval.start.isoformat(),
            "interval_end": interval.end.isoformat(),
        }
    return {**quality, "silver_rejects": silver_rejects}


def export_serving_views(run_id: str, outlet_events: Any, mongo_conn_id: str = MONGO_CONN_ID) -> dict[str, Any]:
    """Merge gold and the speed views into a new version of the MongoDB serving views; record the counts on the Asset."""
    from airflow.providers.mongo.hooks.mongo import MongoHook

    from movie_pipeline.assets import SERVING_ASSET
    from movie_pipeline.config import settings_from_airflow
    from movie_pipeline.serving import export, store

    settings = settings_from_airflow()  # the lake, and Cassandra's speed windows (cassandra_default)
    hook = MongoHook(mongo_conn_id=mongo_conn_id)
    database = _mongo_database(hook)
    version = store.version_for(run_id)
    with hook:
        counts = export.export(settings.lake, settings.speed, hook.get_conn()[database], version, emit=log.info)
    outlet_events[SERVING_ASSET].extra = {"version": version, "database": database, **counts}
    return {"version": version, "counts": counts}


def publish_analytics(
    exported: dict[str, Any], mongo_conn_id: str = MONGO_CONN_ID, postgres_conn_id: str = ANALYTICS_CONN_ID
) -> dict[str, int]:
    """Copy the version just exported to MongoDB into the ``analytics`` tables of the dashboards (one transaction)."""
    from airflow.providers.mongo.hooks.mongo import MongoHook
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from movie_pipeline.serving import analytics

    version = exported["version"]
    mongo = MongoHook(mongo_conn_id=mongo_conn_id)
    with mongo:
        views = analytics.read_version(mongo.get_conn()[_mongo_database(mongo)], version)
    rows = analytics.table_rows(views, version, datetime.now(UTC))
    import psycopg2

    # the hook's own get_conn() may hand out psycopg 3; the publish uses psycopg2's execute_values
    conn = PostgresHook(postgres_conn_id=postgres_conn_id).connection
    log.info(
        "publishing version %s to %s (%s:%s/%s, schema %s)", version, postgres_conn_id, conn.host, conn.port, conn.schema, analytics.SCHEMA
    )
    connection = psycopg2.connect(host=conn.host, port=conn.port or 5432, user=conn.login, password=conn.password, dbname=conn.schema)
    try:
        return analytics.publish(connection, rows, emit=log.info)
    finally:
        connection.close()


def _validate(settings, layer: str, frames, dag_id: str, run_id: str) -> dict[str, Any]:
    from movie_pipeline.quality.checks import run_report_url, validate_layer

    report = validate_layer(settings.quality_dir, layer, frames, dag_id, run_id)
    url = run_report_url(settings.ui_url, dag_id, run_id)
    for line in report.lines():
        log.info("%s", line)
    log.info("data quality report of this run: %s", url)
    if report.critical_failures:
        from airflow.sdk.exceptions import AirflowFailException  # fail without retries: the data would not change

        raise AirflowFailException(
            f"{len(report.critical_failures)} critical expectation(s) failed in {layer}: "
            + "; ".join(report.critical_failures)
            + f" (report: {url})"
        )
    return {
        "layer": layer,
        "pass_rate": round(report.pass_rate, 4),
        "evaluated": report.evaluated,
        "warnings": sum(len(t.warnings) for t in report.tables),
        "rows": {t.table: t.rows for t in report.tables},
        "report_url": url,
    }


def _mongo_database(hook: Any) -> str:
    """The serving views' database: the connection's schema (the default database's name when it has none)."""
    from movie_pipeline.config import ServingSettings

    return hook.connection.schema or ServingSettings.mongo_database


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
