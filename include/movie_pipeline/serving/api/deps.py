"""What every route depends on: the backends, the caller's key, and how an answer is built and marked for the cache."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from movie_pipeline.serving import keys, store
from movie_pipeline.serving.api.backends import Backends
from movie_pipeline.serving.middleware import CACHE_TTL, EXPORT_VERSION
from movie_pipeline.serving.models import ErrorResponse

EXPORT_ANSWER_TTL_S = 3600.0
MAX_PAGE = 100
ERRORS = {
    401: {"model": ErrorResponse, "description": "no API key, or an unknown or revoked one"},
    429: {"model": ErrorResponse, "description": "over the key's rate limit; see Retry-After"},
    503: {"model": ErrorResponse, "description": "nothing exported yet, or MongoDB unreachable"},
}
NOT_FOUND = {404: {"model": ErrorResponse}}


def backends(request: Request) -> Backends:
    return request.app.state.backends


BackendsDep = Annotated[Backends, Depends(backends)]
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="a key from `movie-pipeline api-keys create`")


async def api_key(backends: BackendsDep, presented: Annotated[str | None, Security(API_KEY_HEADER)] = None) -> keys.ApiKey:
    """The dependency of every /v1 route: a valid, unrevoked key (its rate limit is counted by ``LimitAndCache``)."""
    if not presented:
        raise HTTPException(401, "missing X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"})
    found = await backends.key(presented)
    if found is None:
        raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "X-API-Key"})
    return found


Key = Annotated[keys.ApiKey, Depends(api_key)]


class Answers:
    """Builds a route's answer for the export version of the request, and says how long the cache may keep it."""

    def __init__(self, request: Request, backends: BackendsDep) -> None:
        self.request, self.backends = request, backends

    async def __call__(self, build: Callable[[dict], BaseModel], speed_merged: bool = False) -> Response:
        """Build the answer in a worker thread (MongoDB and Cassandra are synchronous clients) for the export
        version ``LimitAndCache`` looked the request up under; an answer with speed windows merged in may be cached
        ``API_CACHE_TTL_S`` (+-10%, so that entries cached together do not expire together), one from the export
        alone, which cannot change within its version, ``EXPORT_ANSWER_TTL_S``."""
        version = self.request.scope.get(EXPORT_VERSION) or await self.backends.version()
        body = (await run_in_threadpool(build, version)).model_dump_json(by_alias=True).encode()
        ttl = self.backends.settings.serving.cache_ttl_s
        if ttl > 0:
            self.request.scope[CACHE_TTL] = ttl * random.uniform(0.9, 1.1) if speed_merged else EXPORT_ANSWER_TTL_S
        return Response(body, media_type="application/json", headers={"X-Cache": "miss"})


AnswersDep = Annotated[Answers, Depends()]


def freshness(version: dict, speed_merged: bool = False, speed_as_of: datetime | None = None) -> dict:
    """The ``freshness`` block of every answer."""
    return {
        "served_at": datetime.now(UTC),
        "export_version": version["version"],
        "exported_at": version["published_at"],
        "speed_merged": speed_merged,
        "speed_as_of": speed_as_of,
    }


def view(backends: Backends, name: str, version: dict):
    """A serving view's collection in the answer's export version."""
    return store.view(backends.db, name, version["version"])
