"""The REST API over the serving views: ``movie-pipeline serve`` (uvicorn), ``create_app()`` for tests.

- Answers come from the current version of the MongoDB serving views (``serving.store``); for a
  movie and its sentiment, the speed windows in Cassandra are merged in at request time by the
  same rule as the export (``movie_pipeline.merge``), so an answer is as fresh as the speed layer.
  Every response has a ``freshness`` block. Without Cassandra the exported speed part is served
  and ``speed_merged`` is false.
- Keys: ``X-API-Key`` on every ``/v1`` route (401 without a valid, unrevoked key; see
  ``serving.keys``). A key is looked up in MongoDB and remembered for ``KEY_CACHE_S`` seconds, so
  a revocation takes effect within that time.
- Rate limit: ``API_RATE_LIMIT`` requests per minute and key, counted in Redis (fixed one-minute
  windows); over it: 429 with ``Retry-After``.
- Cache: Redis, keyed by the export version and the request: answers with the speed merge for
  ``API_CACHE_TTL_S`` seconds, answers from the export alone for ``EXPORT_ANSWER_TTL_S``; a new
  export changes the version, so its answers never mix with the previous one's. The limit and the
  cache are ``serving.middleware.LimitAndCache``: a hit never reaches the routes.
- Listing: a page of ``/v1/movies`` reads the export's precomputed order (``rankings``) and the
  page's movies by id; its cursor is a position in that export version, valid while the version is
  kept (the current and the previous one).
- MongoDB and Cassandra are read in worker threads on a cache miss; the rest is async.
- ``/healthz`` (the process), ``/readyz`` (MongoDB, Redis, Cassandra), ``/metrics`` (Prometheus).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response, Security
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from movie_pipeline.config import Settings, settings_from_env
from movie_pipeline.merge import Observation, SentimentBucket, cutoff, merge_current, merge_sentiment
from movie_pipeline.serving import keys, store
from movie_pipeline.serving.documents import RANKING_CHUNK, ranking_filters, ranking_id, window_from_row
from movie_pipeline.serving.export import WINDOW_READ
from movie_pipeline.serving.middleware import CACHE_TTL, EXPORT_VERSION, LimitAndCache, RequestMetrics
from movie_pipeline.serving.models import (
    ErrorResponse,
    GenreStatsResponse,
    Health,
    MovieListResponse,
    MovieResponse,
    Readiness,
    SentimentResponse,
    TrendingResponse,
    YearStatsResponse,
)

log = logging.getLogger(__name__)
KEY_CACHE_S = 5.0
VERSION_CACHE_S = 1.0
MAX_REMEMBERED_KEYS = 10_000
EXPORT_ANSWER_TTL_S = 3600.0
MAX_PAGE = 100
SENTIMENT_WINDOWS = {"48h": timedelta(hours=48), "7d": timedelta(days=7), "30d": timedelta(days=30)}
ERRORS = {
    401: {"model": ErrorResponse, "description": "no API key, or an unknown or revoked one"},
    429: {"model": ErrorResponse, "description": "over the key's rate limit; see Retry-After"},
    503: {"model": ErrorResponse, "description": "nothing exported yet, or MongoDB unreachable"},
}


class Backends:
    """The clients the API talks to, created on first use, and the few things it remembers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._mongo = self._cassandra = self.windows_query = None
        self._redis: tuple[asyncio.AbstractEventLoop, object] | None = None
        self._cassandra_failed_at = 0.0
        self._keys: dict[str, tuple[float, keys.ApiKey | None]] = {}
        self._version: tuple[float, dict] | None = None

    @property
    def db(self):
        if self._mongo is None:
            import pymongo

            self._mongo = pymongo.MongoClient(self.settings.serving.mongo_uri, serverSelectionTimeoutMS=3000, tz_aware=True)
        return self._mongo[self.settings.serving.mongo_database]

    @property
    def redis(self):
        """The asyncio Redis client of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._redis is None or self._redis[0] is not loop:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(self.settings.serving.redis_url, socket_timeout=2, socket_connect_timeout=2)
            self._redis = (loop, client)
        return self._redis[1]

    def cassandra(self):
        """A Cassandra session, or None while it is unreachable (retried every 30 s); ``windows_query`` is prepared on it."""
        with self._lock:
            if self._cassandra is None and time.monotonic() - self._cassandra_failed_at > 30:
                from movie_pipeline.speed.cassandra import connect

                try:
                    session = connect(self.settings.speed, timeout=3)
                    self.windows_query = session.prepare(
                        f"SELECT {WINDOW_READ} FROM {self.settings.speed.keyspace}.movie_windows WHERE movie_id = ? AND window_start >= ?"
                    )
                    self._cassandra = session
                except Exception as error:  # noqa: BLE001 - any driver failure means: serve without the speed merge
                    log.warning("Cassandra unreachable, answering from the export alone: %s", error)
                    self._cassandra_failed_at = time.monotonic()
            return self._cassandra

    async def key(self, presented: str) -> keys.ApiKey | None:
        """The presented key's record (None: unknown or revoked), looked up in MongoDB at most every KEY_CACHE_S."""
        now = time.monotonic()
        cached = self._keys.get(presented)
        if cached and now - cached[0] < KEY_CACHE_S:
            return cached[1]
        found = await run_in_threadpool(keys.lookup, self.db, presented)
        if len(self._keys) >= MAX_REMEMBERED_KEYS:  # presented garbage must not grow the process
            self._keys.clear()
        self._keys[presented] = (now, found)
        return found

    async def version(self) -> dict:
        """The current export version, read from MongoDB at most every VERSION_CACHE_S."""
        now = time.monotonic()
        if self._version is None or now - self._version[0] > VERSION_CACHE_S:
            self._version = (now, await run_in_threadpool(store.current, self.db))
        return self._version[1]


def export_freshness(version: dict) -> str:
    """Gauges of the current export: when it was published, and as of when its batch part is (Prometheus text)."""
    lines = []
    for name, help_text, at in (
        ("movie_serving_export_timestamp_seconds", "when the current serving version was published", version.get("published_at")),
        (
            "movie_serving_batch_as_of_timestamp_seconds",
            "as of when the batch views of the current version are",
            version.get("batch_as_of"),
        ),
    ):
        if at is not None:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {at.timestamp():.3f}"]
    return "\n".join(lines) + "\n" if lines else ""


API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="a key from `movie-pipeline api-keys create`")


async def api_key(request: Request, presented: Annotated[str | None, Security(API_KEY_HEADER)] = None) -> keys.ApiKey:
    """The dependency of every /v1 route: a valid, unrevoked key (its rate limit is counted by ``LimitAndCache``)."""
    backends: Backends = request.app.state.backends
    if not presented:
        raise HTTPException(401, "missing X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"})
    found = await backends.key(presented)
    if found is None:
        raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "X-API-Key"})
    return found


Key = Annotated[keys.ApiKey, Depends(api_key)]


def create_app(settings: Settings | None = None) -> FastAPI:
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    # cache hits are answered on the event loop while worker threads build the misses: with the default
    # 5 ms GIL switch interval a hit could wait that long behind each of them
    sys.setswitchinterval(0.0005)
    backends = Backends(settings or settings_from_env())
    registry = CollectorRegistry()
    requests_total = Counter("api_requests_total", "API requests", ["route", "status"], registry=registry)
    latency = Histogram("api_request_seconds", "API request latency", ["route"], registry=registry)
    cache_total = Counter("api_cache_total", "API cache lookups", ["result"], registry=registry)
    exposed = registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several uvicorn workers: /metrics adds up every worker's files
        from prometheus_client.multiprocess import MultiProcessCollector

        exposed = CollectorRegistry()
        MultiProcessCollector(exposed)

    app = FastAPI(
        title="Movie analytics API",
        version="1",
        description="Movies, sentiment, trending and analytics from the TMDB pipeline: batch views merged with the "
        "last 48 hours of the speed layer. Every /v1 route needs an `X-API-Key` header.",
    )
    app.state.backends = backends
    app.add_middleware(LimitAndCache, backends=backends, cache_total=cache_total)
    app.add_middleware(RequestMetrics, requests_total=requests_total, latency=latency)  # the outer one: sees the cache's answers

    from pymongo.errors import PyMongoError

    @app.exception_handler(PyMongoError)
    async def mongo_down(request: Request, error: PyMongoError):
        log.warning("MongoDB failed a request to %s: %s", request.url.path, error)
        return JSONResponse({"detail": f"MongoDB is unavailable ({type(error).__name__}); try again shortly"}, status_code=503)

    @app.exception_handler(store.NoServingVersionError)
    async def no_version(request: Request, error: store.NoServingVersionError):
        return JSONResponse({"detail": str(error)}, status_code=503)

    async def answer(request: Request, build: Callable[[dict], BaseModel], speed_merged: bool = False) -> Response:
        """Build the answer in a worker thread (MongoDB and Cassandra are synchronous clients) for the export
        version ``LimitAndCache`` looked the request up under, and say how long it may be cached: an answer
        with speed windows merged in ``API_CACHE_TTL_S`` (+-10%, so that entries cached together do not
        expire together), one from the export alone, which cannot change within its version, ``EXPORT_ANSWER_TTL_S``."""
        version = request.scope.get(EXPORT_VERSION) or await backends.version()
        body = (await run_in_threadpool(build, version)).model_dump_json(by_alias=True).encode()
        ttl = backends.settings.serving.cache_ttl_s
        if ttl > 0:
            request.scope[CACHE_TTL] = ttl * random.uniform(0.9, 1.1) if speed_merged else EXPORT_ANSWER_TTL_S
        return Response(body, media_type="application/json", headers={"X-Cache": "miss"})

    def freshness(version: dict, speed_merged: bool = False, speed_as_of: datetime | None = None) -> dict:
        return {
            "served_at": datetime.now(UTC),
            "export_version": version["version"],
            "exported_at": version["published_at"],
            "speed_merged": speed_merged,
            "speed_as_of": speed_as_of,
        }

    def speed_windows(movie_id: int, since: datetime) -> list | None:
        """The movie's speed windows since ``since`` from Cassandra, or None when Cassandra is unreachable."""
        session = backends.cassandra()
        if session is None:
            return None
        try:
            rows = session.execute(backends.windows_query, (movie_id, since))
            return [window_from_row(row._asdict()) for row in rows]
        except Exception as error:  # noqa: BLE001 - serve the export's copy rather than fail the request
            log.warning("reading the speed windows of movie %s failed: %s", movie_id, error)
            return None

    def movie_document(movie_id: int, version: dict) -> dict:
        document = store.view(backends.db, "movies", version["version"]).find_one({"_id": movie_id})
        if document is None:
            raise HTTPException(404, f"no movie {movie_id} in the serving views (export {version['version']})")
        return document

    @app.get("/healthz", response_model=Health, tags=["operations"])
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}}, tags=["operations"])
    async def readyz(response: Response) -> dict:
        checks = {}
        for name, probe in (
            ("mongodb", lambda: run_in_threadpool(backends.db.command, "ping")),
            ("redis", lambda: backends.redis.ping()),
            ("cassandra", lambda: run_in_threadpool(_cassandra_ping, backends)),
        ):
            try:
                await probe()
                checks[name] = "ok"
            except Exception as error:  # noqa: BLE001 - readiness reports any failure
                checks[name] = f"{type(error).__name__}: {error}"[:200]
        ready = all(value == "ok" for value in checks.values())
        response.status_code = 200 if ready else 503
        return {"status": "ready" if ready else "not ready", "checks": checks}

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"])
    async def metrics() -> PlainTextResponse:
        """The request, latency and cache series, and how old the serving views are (what the staleness alerts watch)."""
        text = generate_latest(exposed).decode()
        try:
            text += export_freshness(await backends.version())
        except (store.NoServingVersionError, PyMongoError) as error:
            log.info("no export freshness in /metrics: %s", error)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @app.get("/v1/movies/{movie_id}", response_model=MovieResponse, responses={**ERRORS, 404: {"model": ErrorResponse}}, tags=["movies"])
    async def get_movie(movie_id: Annotated[int, Path(ge=1, le=2**31)], request: Request, _: Key) -> Response:
        def build(version: dict) -> MovieResponse:
            document = movie_document(movie_id, version)
            metrics = document["sources"].get("metrics")
            windows = speed_windows(movie_id, version["published_at"] - timedelta(minutes=10))
            speed_as_of = None
            if metrics and windows:
                exported = Observation(
                    metrics["source"], metrics["as_of"], document["popularity"], document["vote_average"], document["vote_count"]
                )
                current = merge_current(exported, windows)
                if current is not exported:
                    document.update(popularity=current.popularity, vote_average=current.vote_average, vote_count=current.vote_count)
                    document["sources"]["metrics"] = {"source": current.source, "as_of": current.at}
                speed_as_of = max((w.last_event_time for w in windows if w.last_event_time), default=None)
            return MovieResponse(data=document, freshness=freshness(version, windows is not None, speed_as_of))

        return await answer(request, build, speed_merged=True)

    @app.get("/v1/movies", response_model=MovieListResponse, responses={**ERRORS, 400: {"model": ErrorResponse}}, tags=["movies"])
    async def list_movies(
        request: Request,
        _: Key,
        genre: Annotated[str | None, Query(max_length=64, description="e.g. Drama")] = None,
        year: Annotated[int | None, Query(ge=1870, le=2100, description="release year")] = None,
        sort: Annotated[Literal["popularity", "vote_average", "release_date", "title"], Query()] = "popularity",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    ) -> Response:
        def build(version: dict) -> MovieListResponse:
            filters = ranking_filters(genre, year)
            if cursor:  # a page of the version the first page came from, while it is kept (current or previous)
                read, position = _decode_cursor(cursor, sort, filters, version)
            else:
                read, position = version, 0
            chunks = [ranking_id(sort, filters, n) for n in range(position // RANKING_CHUNK, (position + limit) // RANKING_CHUNK + 1)]
            found = {d["_id"]: d["ids"] for d in store.view(backends.db, "rankings", read["version"]).find({"_id": {"$in": chunks}})}
            ids = [movie_id for chunk in chunks for movie_id in found.get(chunk, ())]
            offset = position - position // RANKING_CHUNK * RANKING_CHUNK
            page_ids, more = ids[offset : offset + limit], len(ids) > offset + limit
            movies = {d["_id"]: d for d in store.view(backends.db, "movies", read["version"]).find({"_id": {"$in": page_ids}})}
            page = [movies[movie_id] for movie_id in page_ids if movie_id in movies]
            next_cursor = _encode_cursor(read["version"], sort, filters, position + limit) if more else None
            return MovieListResponse(data=page, next_cursor=next_cursor, freshness=freshness(read))

        return await answer(request, build)

    @app.get(
        "/v1/movies/{movie_id}/sentiment",
        response_model=SentimentResponse,
        responses={**ERRORS, 404: {"model": ErrorResponse}},
        tags=["movies"],
    )
    async def movie_sentiment(
        movie_id: Annotated[int, Path(ge=1, le=2**31)],
        request: Request,
        _: Key,
        window: Annotated[Literal["48h", "7d", "30d"], Query(description="hourly buckets for 48h and 7d, daily for 30d")] = "48h",
    ) -> Response:
        def build(version: dict) -> SentimentResponse:
            now = datetime.now(UTC)
            document = store.view(backends.db, "sentiment", version["version"]).find_one({"_id": movie_id})
            if document is None:
                movie_document(movie_id, version)  # 404 for an unknown movie
                document = {"buckets": [], "sources": []}  # a movie without reviews
            exported = document["buckets"]
            batch = [_bucket(b) for b in exported if b["source"] == "batch"]
            batch_as_of = next((part["as_of"] for part in document["sources"] if part["source"] == "batch"), None)
            windows = speed_windows(movie_id, cutoff(now))
            if windows is None:  # no Cassandra: the export's speed hours stand in for the windows
                merged_buckets = [(_bucket(b), b["source"]) for b in exported]
                boundary, gap, speed_as_of = document.get("cutoff") or cutoff(now), document.get("gap"), None
            else:
                merged = merge_sentiment(batch, batch_as_of, windows, now)
                merged_buckets, boundary = merged.buckets, merged.cutoff
                gap = None if merged.gap is None else {"from": merged.gap[0], "until": merged.gap[1]}
                speed_as_of = next((part.as_of for part in merged.sources if part.source == "speed"), None)
            since = now - SENTIMENT_WINDOWS[window]
            points = _points([(b, s) for b, s in merged_buckets if b.start >= since - timedelta(hours=1)], daily=window == "30d")
            return SentimentResponse(
                movie_id=movie_id,
                window=window,
                bucket="day" if window == "30d" else "hour",
                cutoff=boundary,
                data=points,
                gap=gap,
                freshness=freshness(version, windows is not None, speed_as_of),
            )

        return await answer(request, build, speed_merged=True)

    @app.get("/v1/trending", response_model=TrendingResponse, responses=ERRORS, tags=["analytics"])
    async def trending(
        request: Request,
        _: Key,
        window: Annotated[Literal["1h", "24h", "7d"], Query()] = "24h",
        genre: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    ) -> Response:
        def build(version: dict) -> TrendingResponse:
            query = {"window": window, **({"genres": genre} if genre else {})}
            items = list(store.view(backends.db, "trending", version["version"]).find(query).sort("rank", 1).limit(limit))
            data = [{**item, "rank": rank} for rank, item in enumerate(items, start=1)]
            return TrendingResponse(window=window, genre=genre, data=data, freshness=freshness(version))

        return await answer(request, build)

    @app.get(
        "/v1/genres/{genre}/stats",
        response_model=GenreStatsResponse,
        responses={**ERRORS, 404: {"model": ErrorResponse}},
        tags=["analytics"],
    )
    async def genre_stats(genre: Annotated[str, Path(min_length=1, max_length=64)], request: Request, _: Key) -> Response:
        def build(version: dict) -> GenreStatsResponse:
            months = list(store.view(backends.db, "genre_stats", version["version"]).find({"genre": genre}).sort("release_month", 1))
            if not months:
                raise HTTPException(404, f"no genre {genre!r} in the serving views")
            return GenreStatsResponse(genre=genre, data=months, freshness=freshness(version))

        return await answer(request, build)

    @app.get("/v1/analytics/years", response_model=YearStatsResponse, responses=ERRORS, tags=["analytics"])
    async def year_stats(request: Request, _: Key) -> Response:
        def build(version: dict) -> YearStatsResponse:
            years = list(store.view(backends.db, "year_stats", version["version"]).find().sort("_id", 1))
            return YearStatsResponse(data=years, freshness=freshness(version))

        return await answer(request, build)

    return app


def _cassandra_ping(backends: Backends) -> None:
    session = backends.cassandra()
    if session is None:
        raise ConnectionError("unreachable")
    session.execute("SELECT release_version FROM system.local")


def _bucket(document: dict) -> SentimentBucket:
    return SentimentBucket(
        document["start"], document["reviews"], document["sentiment_sum"], document["positive"], document["neutral"], document["negative"]
    )


def _points(buckets: list[tuple[SentimentBucket, str]], daily: bool) -> list[dict]:
    """Response points, per hour or summed per day (a day's source: speed when any of its hours is)."""
    if daily:
        days: dict[datetime, tuple[SentimentBucket, str]] = {}
        for bucket, source in buckets:
            day = bucket.start.replace(hour=0)
            as_day = SentimentBucket(day, bucket.reviews, bucket.sentiment_sum, bucket.positive, bucket.neutral, bucket.negative)
            if day in days:
                known, known_source = days[day]
                days[day] = (known + as_day, "speed" if "speed" in (known_source, source) else "batch")
            else:
                days[day] = (as_day, source)
        buckets = sorted(days.values(), key=lambda pair: pair[0].start)
    return [
        {
            "start": b.start, "reviews": b.reviews, "sentiment_sum": b.sentiment_sum,
            "mean_compound": b.sentiment_sum / b.reviews if b.reviews else None,
            "positive": b.positive, "neutral": b.neutral, "negative": b.negative, "source": source,
        }
        for b, source in buckets
    ]  # fmt: skip


def _encode_cursor(version: str, sort: str, filters: str, position: int) -> str:
    raw = json.dumps([version, sort, filters, position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str, filters: str, current: dict) -> tuple[dict, int]:
    """The version record and position a cursor points at; 400 for a forged, mismatched or expired one."""
    try:
        version, cursor_sort, cursor_filters, position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (cursor_sort, cursor_filters) != (sort, filters):
            raise ValueError("the cursor is of another sort or filter")
        if not isinstance(position, int) or not 0 < position < 2**31:
            raise ValueError("not a position")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise HTTPException(
            400, f"invalid cursor ({error}); pass next_cursor from the previous page with the same sort and filters"
        ) from None
    if version == current["version"]:
        return current, position
    if version == current.get("previous") and current.get("previous_published_at"):
        return {"version": version, "published_at": current["previous_published_at"]}, position
    raise HTTPException(400, f"the cursor's export ({version}) has been replaced since; start again without a cursor")
