"""The merged serving views as SQL tables (schema ``analytics``), the data source of the dashboards.

The export DAG publishes a version of the serving views to MongoDB, then ``publish`` copies that
same version into PostgreSQL: one table per view, flattened for SQL (a movie's genres are an
array and a row each in ``movie_genres``; a movie's sentiment is a row per hour), plus
``freshness``: per view, the export version and as of when its batch and speed parts are.

All tables are replaced in one transaction (``TRUNCATE`` + ``INSERT``): a dashboard query sees the
previous export or the new one, never a mix. Table definitions are created when missing; a
changed definition needs its table dropped once (``DROP TABLE analytics.<table>``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from movie_pipeline.merge import SPEED
from movie_pipeline.serving import store

SCHEMA = "analytics"
READ_VIEWS = ("movies", "sentiment", "trending", "genre_stats", "year_stats")

# table -> (column, SQL type) in insert order; the first columns named in PRIMARY_KEYS are the key
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "movies": (
        ("movie_id", "integer"), ("title", "text"), ("release_date", "date"), ("release_year", "integer"),
        ("genres", "text[]"), ("original_language", "text"), ("runtime_min", "integer"),
        ("popularity", "double precision"), ("vote_average", "double precision"), ("vote_count", "integer"),
        ("review_count", "integer"), ("mean_sentiment", "double precision"),
        ("popularity_velocity_7d", "double precision"), ("metrics_source", "text"), ("metrics_as_of", "timestamptz"),
        ("batch_as_of", "timestamptz"), ("exported_at", "timestamptz"),
    ),
    "movie_genres": (("movie_id", "integer"), ("genre", "text")),
    "sentiment_hourly": (
        ("movie_id", "integer"), ("hour", "timestamptz"), ("reviews", "integer"), ("sentiment_sum", "double precision"),
        ("mean_sentiment", "double precision"), ("positive", "integer"), ("neutral", "integer"), ("negative", "integer"),
        ("source", "text"),
    ),
    "trending": (
        ("time_window", "text"), ("rank", "integer"), ("movie_id", "integer"), ("title", "text"), ("genres", "text[]"),
        ("score", "double precision"), ("source", "text"), ("exported_at", "timestamptz"),
    ),
    "genre_stats": (
        ("genre", "text"), ("release_month", "date"), ("movies", "integer"), ("vote_weighted_rating", "double precision"),
        ("votes", "bigint"), ("mean_popularity", "double precision"), ("mean_sentiment", "double precision"),
        ("revenue_usd", "bigint"), ("budget_usd", "bigint"),
    ),
    "year_stats": (
        ("release_year", "integer"), ("movies", "integer"), ("vote_weighted_rating", "double precision"), ("votes", "bigint"),
        ("mean_popularity", "double precision"), ("revenue_usd", "bigint"), ("movies_yoy_change", "integer"),
        ("rating_yoy_change", "double precision"),
    ),
    "freshness": (
        ("view", "text"), ("version", "text"), ("exported_at", "timestamptz"), ("batch_as_of", "timestamptz"),
        ("speed_as_of", "timestamptz"), ("row_count", "integer"),
    ),
}  # fmt: skip
PRIMARY_KEYS = {
    "movies": ("movie_id",),
    "movie_genres": ("movie_id", "genre"),
    "sentiment_hourly": ("movie_id", "hour"),
    "trending": ("time_window", "rank"),
    "genre_stats": ("genre", "release_month"),
    "year_stats": ("release_year",),
    "freshness": ("view",),
}


def _utc(value):
    """MongoDB hands back naive datetimes (UTC): say so, for ``timestamptz``."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def _columns(table: str, document: Mapping, **overrides) -> tuple:
    return tuple(_utc(overrides[name] if name in overrides else document.get(name)) for name, _ in TABLES[table])


def table_rows(views: Mapping[str, Iterable[Mapping]], version: str, exported_at: datetime) -> dict[str, list[tuple]]:
    """The rows of every analytics table from one version's serving documents (pure)."""
    rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
    batch_as_of: dict[str, datetime | None] = {}
    speed_as_of: dict[str, datetime | None] = {}

    def seen(view: str, source: str | None, at: datetime | None) -> None:
        if at is None:
            return
        at = _utc(at)
        latest = speed_as_of if source == SPEED else batch_as_of
        if latest.get(view) is None or at > latest[view]:
            latest[view] = at

    for movie in views.get("movies", ()):
        metrics = (movie.get("sources") or {}).get("metrics") or {}
        metadata = (movie.get("sources") or {}).get("metadata") or {}
        seen("movies", metrics.get("source"), metrics.get("as_of"))
        seen("movies", "batch", metadata.get("as_of"))
        rows["movies"].append(
            _columns(
                "movies",
                movie,
                metrics_source=metrics.get("source"),
                metrics_as_of=metrics.get("as_of"),
                batch_as_of=metadata.get("as_of"),
                exported_at=movie.get("as_of"),
            )  # fmt: skip
        )
        rows["movie_genres"].extend((movie["movie_id"], genre) for genre in dict.fromkeys(movie.get("genres") or ()))
    for document in views.get("sentiment", ()):
        for bucket in document.get("buckets") or ():
            seen("sentiment_hourly", bucket["source"], bucket["start"])
            mean = bucket["sentiment_sum"] / bucket["reviews"] if bucket["reviews"] else None
            rows["sentiment_hourly"].append(
                _columns("sentiment_hourly", bucket, movie_id=document["movie_id"], hour=bucket["start"], mean_sentiment=mean)
            )
    for document in views.get("trending", ()):
        seen("trending", document.get("source"), document.get("as_of"))
        rows["trending"].append(_columns("trending", document, time_window=document["window"], exported_at=document.get("as_of")))
    for view in ("genre_stats", "year_stats"):
        for document in views.get(view, ()):
            seen(view, "batch", document.get("as_of"))
            rows[view].append(_columns(view, document))
    rows["freshness"] = [
        (table, version, _utc(exported_at), batch_as_of.get(table), speed_as_of.get(table), len(rows[table]))
        for table in TABLES
        if table not in ("freshness", "movie_genres")
    ]
    return rows


def ddl() -> list[str]:
    """CREATE statements of the schema and its tables (idempotent)."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"]
    for table, columns in TABLES.items():
        body = ", ".join(f"{name} {kind}" for name, kind in columns)
        statements.append(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table} ({body}, PRIMARY KEY ({', '.join(PRIMARY_KEYS[table])}))")
    return statements


def read_version(db, version: str) -> dict[str, list[dict]]:
    """One version's documents of the views the tables are made of, from MongoDB."""
    return {view: list(store.view(db, view, version).find()) for view in READ_VIEWS}


def publish(connection, rows: Mapping[str, list[tuple]], emit: Callable[[str], None] = print) -> dict[str, int]:
    """Replace every analytics table with ``rows`` in one transaction (psycopg2 connection); return rows per table."""
    from psycopg2.extras import execute_values

    with connection:  # one transaction: commit at the end, roll back on any error
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # dates of timestamps are UTC dates
            for statement in ddl():
                cursor.execute(statement)
            cursor.execute("TRUNCATE " + ", ".join(f"{SCHEMA}.{table}" for table in TABLES))
            for table, columns in TABLES.items():
                names = ", ".join(name for name, _ in columns)
                execute_values(cursor, f"INSERT INTO {SCHEMA}.{table} ({names}) VALUES %s", rows.get(table, []), page_size=1000)
                emit(f"  {SCHEMA}.{table}: {len(rows.get(table, []))} rows")
    return {table: len(rows.get(table, [])) for table in TABLES}
