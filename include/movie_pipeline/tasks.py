"""What the DAGs' tasks do. DAG files only wire these; nothing here runs at import time."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from movie_pipeline.intervals import Interval

log = logging.getLogger(__name__)

BATCH_PERIOD = timedelta(hours=4)


def interval_for_run(context: dict[str, Any], period: timedelta = BATCH_PERIOD) -> Interval:
    """The data interval a run is responsible for.

    Scheduled runs and backfills carry their interval. A manual run may have no logical date
    (Airflow 3); its rule is: **the latest complete period before the run was requested**, i.e.
    for a run requested at 09:30 UTC with a 4-hour schedule, [04:00, 08:00).
    """
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is not None and end is not None and start < end:
        return Interval(_utc(start), _utc(end))
    dag_run = context.get("dag_run")
    requested = getattr(dag_run, "run_after", None) or datetime.now(UTC)
    interval = Interval.latest_complete(_utc(requested), period)
    log.warning(
        "run %s has no data interval (manual run without a logical date); using the latest complete one, %s",
        getattr(dag_run, "run_id", "?"),
        interval,
    )
    return interval


def extract_to_bronze(context: dict[str, Any], full: bool = False) -> dict[str, Any]:
    """The batch DAG's extract step: ingest the run's interval into bronze; return a summary."""
    from movie_pipeline.config import settings_from_airflow
    from movie_pipeline.ingest import ingest

    interval = interval_for_run(context)
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
        "requests": summary.requests,
        "movies": summary.movies,
        "tombstones": summary.tombstones,
        "rejects": summary.rejects,
        "records": summary.records,
        "seconds": round(summary.seconds, 2),
        "partitions": summary.partitions,
    }


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
