"""The serving views as MongoDB documents, built from gold rows and speed windows (pure; no I/O).

One function per collection. Every document carries ``sources`` (which layer each part came from
and as of when) and the export's ``as_of``; the merge itself is ``movie_pipeline.merge``.

- ``movies``      one per movie: gold's metadata and review mix, the freshest metrics (batch or speed)
- ``sentiment``   one per movie: its hourly review sentiment over the last ``SENTIMENT_DAYS``,
                  merged across the 48 h cutoff
- ``trending``    one per window and rank: ``1h``/``24h`` from the speed windows (popularity gained),
                  ``7d``/``30d``/``90d`` from gold (popularity velocity)
- ``genre_stats`` one per genre and release month (gold ``genre_monthly``)
- ``year_stats``  one per release year (gold ``year_stats``)
- ``rankings``    the order of the movies for each listing (sort x genre/year filter), in chunks of
                  ids: a page of ``/v1/movies`` is two reads by ``_id`` instead of a sort over all
                  movies, and a cursor is a position in an immutable version
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

import numpy as np

from movie_pipeline.merge import BATCH, SPEED, Observation, SentimentBucket, SpeedWindow, merge_current, merge_sentiment

SENTIMENT_DAYS = 30
TRENDING_TOP = 100
RANKING_SORTS = {"popularity": True, "vote_average": True, "release_date": True, "title": False}  # field -> descending
RANKING_CHUNK = 1000
SPEED_TRENDING_WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
BATCH_TRENDING_WINDOWS = {7: "7d", 30: "30d", 90: "90d"}
MOVIE_FIELDS = (
    "title", "release_date", "genres", "original_language", "status", "runtime_min", "budget_usd", "revenue_usd",
    "review_count", "positive_reviews", "neutral_reviews", "negative_reviews", "mean_sentiment",
    "popularity_velocity_7d", "popularity_velocity_30d", "popularity_velocity_90d",
)  # fmt: skip


def clean(value):
    """A value MongoDB (BSON) can hold: NaN -> None, dates -> midnight UTC datetimes, numpy values -> Python."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return [clean(item) for item in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (float, datetime)) and value != value:  # NaN, and pandas' NaT
        return None
    if isinstance(value, datetime):  # pandas Timestamps too
        value = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, (list, tuple)):
        return [clean(item) for item in value]
    return value


def movie_document(summary: Mapping, speed_windows: Iterable[SpeedWindow], exported_at: datetime) -> dict:
    """A movie: gold's ``movie_summary`` row with the freshest metrics of batch and speed."""
    movie_id = int(summary["movie_id"])
    batch_as_of = clean(summary.get("as_of"))
    batch = None
    if summary.get("popularity") is not None and batch_as_of is not None:
        batch = Observation(BATCH, batch_as_of, clean(summary["popularity"]), clean(summary["vote_average"]), clean(summary["vote_count"]))
    release = clean(summary.get("release_date"))
    document = {
        "_id": movie_id,
        "movie_id": movie_id,
        **{name: clean(summary.get(name)) for name in MOVIE_FIELDS},
        "genres": clean(summary.get("genres")) or [],
        "release_year": release.year if release else None,
        "sources": {
            "metadata": {"source": BATCH, "as_of": batch_as_of},
            "reviews": {"source": BATCH, "as_of": batch_as_of},
        },
        "as_of": exported_at,
    }
    with_current_metrics(document, batch, speed_windows)
    return document


def exported_metrics(document: Mapping) -> Observation | None:
    """The metrics an exported movie document holds, as the merge's observation."""
    metrics = document["sources"].get("metrics")
    if not metrics:
        return None
    return Observation(metrics["source"], metrics["as_of"], document["popularity"], document["vote_average"], document["vote_count"])


def with_current_metrics(document: dict, known: Observation | None, speed_windows: Iterable[SpeedWindow]) -> datetime | None:
    """Give a movie document the freshest of ``known`` and the speed windows' metrics (the export, and the API at request
    time on the exported document); return the newest speed event seen, if any."""
    windows = list(speed_windows)
    current = merge_current(known, windows)
    document["popularity"] = current.popularity if current else None
    document["vote_average"] = current.vote_average if current else None
    document["vote_count"] = current.vote_count if current else None
    document["sources"]["metrics"] = {"source": current.source, "as_of": current.at} if current else None
    return max((w.last_event_time for w in windows if w.last_event_time), default=None)


def sentiment_document(
    movie_id: int, batch_hours: Iterable[SentimentBucket], batch_as_of: datetime | None, speed_windows: Iterable[SpeedWindow], now: datetime
) -> dict:
    """A movie's hourly sentiment over the last ``SENTIMENT_DAYS``, merged across the cutoff."""
    merged = merge_sentiment(batch_hours, batch_as_of, speed_windows, now)
    since = now - timedelta(days=SENTIMENT_DAYS)
    document = merged.as_dict()
    document["buckets"] = [bucket for bucket in document["buckets"] if bucket["start"] >= since - timedelta(hours=1)]
    return {"_id": int(movie_id), "movie_id": int(movie_id), **document, "as_of": now}


def current_sentiment(exported: Mapping, speed_windows: Iterable[SpeedWindow], now: datetime) -> dict:
    """The sentiment document of an exported one with the speed windows of now merged in again (the API, at request
    time): the exported batch hours, the same merge as the export's."""
    batch = [bucket_from_document(b) for b in exported["buckets"] if b["source"] == BATCH]
    batch_as_of = next((part["as_of"] for part in exported["sources"] if part["source"] == BATCH), None)
    return sentiment_document(exported["movie_id"], batch, batch_as_of, speed_windows, now)


def bucket_from_document(bucket: Mapping) -> SentimentBucket:
    """A bucket of a sentiment document as a merge bucket."""
    return SentimentBucket(
        bucket["start"], bucket["reviews"], bucket["sentiment_sum"], bucket["positive"], bucket["neutral"], bucket["negative"]
    )


def sentiment_points(buckets: Iterable[Mapping], daily: bool) -> list[dict]:
    """A sentiment document's buckets as the API's points, per hour or summed per day (a day's source: speed when
    any of its hours is)."""
    pairs = [(bucket_from_document(b), b["source"]) for b in buckets]
    if daily:
        days: dict[datetime, tuple[SentimentBucket, str]] = {}
        for bucket, source in pairs:
            day = bucket.start.replace(hour=0)
            as_day = SentimentBucket(day, bucket.reviews, bucket.sentiment_sum, bucket.positive, bucket.neutral, bucket.negative)
            if day in days:
                known, known_source = days[day]
                days[day] = (known + as_day, SPEED if SPEED in (known_source, source) else BATCH)
            else:
                days[day] = (as_day, source)
        pairs = sorted(days.values(), key=lambda pair: pair[0].start)
    return [
        {
            "start": b.start, "reviews": b.reviews, "sentiment_sum": b.sentiment_sum,
            "mean_compound": b.sentiment_sum / b.reviews if b.reviews else None,
            "positive": b.positive, "neutral": b.neutral, "negative": b.negative, "source": source,
        }
        for b, source in pairs
    ]  # fmt: skip


def speed_trending(windows_by_movie: Mapping[int, Iterable[SpeedWindow]], now: datetime) -> dict[str, list[tuple[int, float]]]:
    """Per speed window (``1h``, ``24h``): (movie, popularity gained) ranked, from the 5-minute windows that started in it."""
    ranked: dict[str, list[tuple[int, float]]] = {}
    for name, span in SPEED_TRENDING_WINDOWS.items():
        gained: dict[int, float] = defaultdict(float)
        for movie_id, windows in windows_by_movie.items():
            for window in windows:
                if now - span <= window.window_start <= now and window.popularity is not None:
                    gained[movie_id] += window.popularity_delta or 0.0
        ranked[name] = sorted(gained.items(), key=lambda item: (-item[1], item[0]))[:TRENDING_TOP]
    return ranked


def trending_documents(
    gold_trending: Iterable[Mapping],
    speed_ranked: Mapping[str, list[tuple[int, float]]],
    movies: Mapping[int, Mapping],
    exported_at: datetime,
) -> list[dict]:
    """Ranked documents per window; each carries the movie's genres so that a genre filter is one indexed query."""
    documents = []
    for name, ranked in speed_ranked.items():
        for rank, (movie_id, gained) in enumerate(ranked, start=1):
            documents.append(_trending(name, rank, movie_id, movies.get(movie_id, {}), gained, SPEED, exported_at))
    for row in gold_trending:
        name = BATCH_TRENDING_WINDOWS.get(int(row["window_days"]))
        if name and int(row["rank"]) <= TRENDING_TOP:
            documents.append(
                _trending(
                    name,
                    int(row["rank"]),
                    int(row["movie_id"]),
                    movies.get(int(row["movie_id"]), row),
                    clean(row["popularity_growth"]),
                    BATCH,
                    exported_at,
                )  # fmt: skip
            )
    return documents


def _trending(window: str, rank: int, movie_id: int, movie: Mapping, score: float, source: str, exported_at: datetime) -> dict:
    return {
        "_id": f"{window}:{rank}",
        "window": window,
        "rank": rank,
        "movie_id": movie_id,
        "title": movie.get("title"),
        "genres": list(clean(movie.get("genres")) or ()),
        "score": score,
        "source": source,
        "as_of": exported_at,
    }


def genre_documents(rows: Iterable[Mapping], exported_at: datetime) -> list[dict]:
    documents = []
    for row in rows:
        month = clean(row["release_month"])
        document = {key: clean(value) for key, value in row.items()}
        documents.append({**document, "_id": f"{row['genre']}:{month:%Y-%m}", "source": BATCH, "as_of": exported_at})
    return documents


def year_documents(rows: Iterable[Mapping], exported_at: datetime) -> list[dict]:
    return [
        {**{key: clean(value) for key, value in row.items()}, "_id": int(row["release_year"]), "source": BATCH, "as_of": exported_at}
        for row in rows
    ]


def bucket_from_row(row: Mapping) -> SentimentBucket:
    """A gold ``sentiment_hourly`` row as a merge bucket."""
    return SentimentBucket(
        clean(row["hour"]),
        int(row["reviews"]),
        float(row["sentiment_sum"]),
        int(row["positive"]),
        int(row["neutral"]),
        int(row["negative"]),
    )


def ranking_filters(genre: str | None, year: int | None) -> str:
    """The filter part of a ranking's key: ``all``, ``genre=Drama``, ``year=2001`` or ``genre=Drama&year=2001``."""
    parts = ([f"genre={genre}"] if genre else []) + ([f"year={year}"] if year else [])
    return "&".join(parts) or "all"


def ranking_id(sort: str, filters: str, chunk: int) -> str:
    return f"{sort}|{filters}|{chunk}"


def ranking_documents(movies: Iterable[Mapping], exported_at: datetime) -> list[dict]:
    """For every sort and every filter a movie falls under, the movie ids in order, ``RANKING_CHUNK`` per document.

    Order: the sort field (descending except for the title), ties and then movies without a value by id.
    """
    movies = sorted(movies, key=lambda movie: movie["_id"])
    documents = []
    for sort, descending in RANKING_SORTS.items():
        valued = sorted((m for m in movies if m.get(sort) is not None), key=lambda m: m[sort], reverse=descending)  # stable
        by_filter: dict[str, list[int]] = defaultdict(list)
        for movie in valued + [m for m in movies if m.get(sort) is None]:
            year = movie.get("release_year")
            for genre in [None, *dict.fromkeys(movie.get("genres") or ())]:
                by_filter[ranking_filters(genre, None)].append(movie["_id"])
                if year:
                    by_filter[ranking_filters(genre, year)].append(movie["_id"])
        for filters, ids in by_filter.items():
            for chunk, first in enumerate(range(0, len(ids), RANKING_CHUNK)):
                documents.append(
                    {"_id": ranking_id(sort, filters, chunk), "ids": ids[first : first + RANKING_CHUNK], "total": len(ids),
                     "as_of": exported_at}
                )  # fmt: skip
    return documents
