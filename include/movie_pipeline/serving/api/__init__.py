"""The REST API over the serving views: ``movie-pipeline serve`` (uvicorn), ``create_app()`` for tests.

``create_app`` is the wiring: the backends (``backends``), the middleware, the error handlers and one
router per resource (``movies``, ``analytics``, ``operations``); what every route depends on is in
``deps``, the merged documents are ``serving.documents``'s (the export's own functions).

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

import logging
import sys

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from movie_pipeline.config import Settings, settings_from_env
from movie_pipeline.serving import store
from movie_pipeline.serving.api import analytics, backends, movies, operations
from movie_pipeline.serving.api.backends import VERSION_CACHE_S, Backends
from movie_pipeline.serving.middleware import LimitAndCache, RequestMetrics

__all__ = ["VERSION_CACHE_S", "backends", "create_app"]
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from pymongo.errors import PyMongoError

    # cache hits are answered on the event loop while worker threads build the misses: with the default
    # 5 ms GIL switch interval a hit could wait that long behind each of them
    sys.setswitchinterval(0.0005)
    settings = settings or settings_from_env()
    clients = Backends(settings)
    registry = CollectorRegistry()
    requests_total = Counter("api_requests_total", "API requests", ["route", "status"], registry=registry)
    latency = Histogram("api_request_seconds", "API request latency", ["route"], registry=registry)
    cache_total = Counter("api_cache_total", "API cache lookups", ["result"], registry=registry)
    exposed = registry
    if settings.serving.metrics_dir is not None:  # several uvicorn workers: /metrics adds up every worker's files
        from prometheus_client.multiprocess import MultiProcessCollector

        exposed = CollectorRegistry()
        MultiProcessCollector(exposed, path=str(settings.serving.metrics_dir))

    app = FastAPI(
        title="Movie analytics API",
        version="1",
        description="Movies, sentiment, trending and analytics from the TMDB pipeline: batch views merged with the "
        "last 48 hours of the speed layer. Every /v1 route needs an `X-API-Key` header.",
    )
    app.state.backends = clients
    app.state.metrics_registry = exposed
    app.add_middleware(LimitAndCache, backends=clients, cache_total=cache_total)
    app.add_middleware(RequestMetrics, requests_total=requests_total, latency=latency)  # the outer one: sees the cache's answers

    @app.exception_handler(PyMongoError)
    async def mongo_down(request: Request, error: PyMongoError):
        log.warning("MongoDB failed a request to %s: %s", request.url.path, error)
        return JSONResponse({"detail": f"MongoDB is unavailable ({type(error).__name__}); try again shortly"}, status_code=503)

    @app.exception_handler(store.NoServingVersionError)
    async def no_version(request: Request, error: store.NoServingVersionError):  # noqa: ARG001 - a handler's signature
        return JSONResponse({"detail": str(error)}, status_code=503)

    app.include_router(operations.router)
    app.include_router(movies.router)
    app.include_router(analytics.router)
    return app
