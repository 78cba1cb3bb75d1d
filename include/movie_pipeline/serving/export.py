"""The export: gold (the lake) + the speed views (Cassandra) -> merged serving views -> MongoDB.

What ``dags/movie_serving_export.py`` runs. Reads happen here, the documents are built by
``serving.documents`` (pure) and published as one version by ``serving.store``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from movie_pipeline.config import SpeedSettings
from movie_pipeline.errors import PipelineError
from movie_pipeline.lake import PARTITION_COLUMN, Lake
from movie_pipeline.merge import SpeedWindow, cutoff
from movie_pipeline.serving import documents, store
from movie_pipeline.speed.windows import windows_since

EXPORTED_GOLD = ("movie_summary", "sentiment_hourly", "trending", "genre_monthly", "year_stats")


def read_gold(lake: Lake, view: str, since: datetime | None = None) -> list[dict]:
    """A gold view's rows (Parquet written by Spark; ``_``-files are skipped). Of a view kept by month, only the
    months from ``since`` on are read, without their ``month`` column."""
    import pyarrow.dataset as ds

    path = lake.path("gold", view)
    if not lake.fs.exists(path):
        raise PipelineError(f"the gold view {view} is missing at {lake.url(path)}: run the movie_batch DAG first")
    dataset = ds.dataset(path, filesystem=lake.fs, format="parquet", partitioning="hive")
    if PARTITION_COLUMN not in dataset.schema.names:
        return dataset.to_table().to_pylist()
    months = ds.field(PARTITION_COLUMN) >= since.strftime("%Y-%m") if since is not None else None
    columns = [name for name in dataset.schema.names if name != PARTITION_COLUMN]
    return dataset.to_table(columns=columns, filter=months).to_pylist()


def gold_as_of(summaries: list[dict]) -> datetime | None:
    """As of when the batch part is: the newest ``as_of`` of gold's ``movie_summary``."""
    return max((documents.clean(row["as_of"]) for row in summaries if row.get("as_of") is not None), default=None)


def sentiment_since(now: datetime) -> datetime:
    """The oldest hour of gold's ``sentiment_hourly`` the serving views use."""
    return now - timedelta(days=documents.SENTIMENT_DAYS + 1)


def build_views(gold: dict[str, list[dict]], windows: dict[int, list[SpeedWindow]], now: datetime) -> dict[str, list[dict]]:
    """Every serving view's documents from the gold rows and the speed windows."""
    summaries = {int(row["movie_id"]): row for row in gold["movie_summary"]}
    batch_as_of = gold_as_of(gold["movie_summary"])
    hours: dict[int, list] = defaultdict(list)
    since = sentiment_since(now)
    for row in gold["sentiment_hourly"]:
        bucket = documents.bucket_from_row(row)
        if bucket.start >= since:
            hours[int(row["movie_id"])].append(bucket)
    movies = [documents.movie_document(row, windows.get(movie_id, ()), now) for movie_id, row in summaries.items()]
    sentiment = [
        documents.sentiment_document(movie_id, hours.get(movie_id, ()), batch_as_of, windows.get(movie_id, ()), now)
        for movie_id in sorted(set(hours) | set(windows))
    ]
    return {
        "movies": movies,
        "rankings": documents.ranking_documents(movies, now),
        "sentiment": sentiment,
        "trending": documents.trending_documents(gold["trending"], documents.speed_trending(windows, now), summaries, now),
        "genre_stats": documents.genre_documents(gold["genre_monthly"], now),
        "year_stats": documents.year_documents(gold["year_stats"], now),
    }


def export(
    lake: Lake, speed: SpeedSettings, db, version: str, now: datetime | None = None, emit: Callable[[str], None] = print
) -> dict[str, int]:
    """Read, merge and publish one version of the serving views; return the documents per view."""
    now = now or datetime.now(UTC)
    gold = {view: read_gold(lake, view, sentiment_since(now)) for view in EXPORTED_GOLD}
    emit("gold: " + ", ".join(f"{view} {len(rows)} rows" for view, rows in gold.items()))
    windows = windows_since(speed, cutoff(now))
    emit(f"speed: {sum(len(w) for w in windows.values())} windows of {len(windows)} movies since {cutoff(now):%Y-%m-%d %H:%M} UTC")
    views = build_views(gold, windows, now)
    emit(f"publishing version {version} to MongoDB database {db.name}")
    return store.publish(db, views, version, now, emit, batch_as_of=gold_as_of(gold["movie_summary"]))
