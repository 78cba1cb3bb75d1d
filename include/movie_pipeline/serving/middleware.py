"""Plain ASGI layers in front of the API's routes (a ``BaseHTTPMiddleware`` costs a third of the throughput).

- ``RequestMetrics``: requests and latency per route, for ``/metrics``.
- ``LimitAndCache``: for a ``GET /v1/...`` with a valid key, the per-key rate limit and the response
  cache in one Redis round trip; a hit is answered here without reaching the routes. On a miss the
  route builds the answer, tells this layer how long it may be kept (``CACHE_TTL``) and for which
  export version it was built (``EXPORT_VERSION``), and the answer is stored under the request.

The cache key is the export version, the path and the sorted query string. An entry past its TTL
is still answered ("stale", up to ``STALE_FACTOR`` times the TTL) while one request, holding a
Redis lock, rebuilds it in the background: no client waits for a rebuild of a busy answer, and the
entries cached together do not all rebuild at once on the requests' path. Redis being down
leaves the API answering uncached and unlimited (logged, counted in ``api_cache_total{result="error"}``)
rather than refusing every request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from movie_pipeline.serving.keys import hash_key

log = logging.getLogger(__name__)
CACHE_TTL = "movie_pipeline.cache_ttl_s"  # scope keys shared with the routes
EXPORT_VERSION = "movie_pipeline.export_version"
STALE_FACTOR = 2  # an entry is served up to its TTL fresh, then up to as long again stale while one request refreshes it
REFRESH_LOCK_MS = 5000
MAX_REFRESHES = 4  # per process: entries that went stale together are rebuilt a few at a time, not in one burst
MAX_QUERY_BYTES = 2048  # far above any valid query; longer ones would only make large, unique cache keys


class RequestMetrics:
    """Counts requests by route and status and observes their latency."""

    def __init__(self, app, requests_total, latency) -> None:
        self.app, self.requests_total, self.latency = app, requests_total, latency

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def send_and_note(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.requests_total.labels(route, str(status[0])).inc()
            self.latency.labels(route).observe(time.perf_counter() - started)


class LimitAndCache:
    """The rate limit and the response cache of the ``/v1`` routes (see the module's docstring)."""

    def __init__(self, app, backends, cache_total) -> None:
        self.app, self.backends, self.cache_total = app, backends, cache_total
        self._refreshing: set[asyncio.Task] = set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        if len(scope["query_string"]) > MAX_QUERY_BYTES:
            detail = {"detail": f"the query string is {len(scope['query_string'])} bytes; at most {MAX_QUERY_BYTES} are accepted"}
            await _respond(send, 414, json.dumps(detail).encode(), [])
            return
        presented = _header(scope, b"x-api-key")
        try:
            caller = await self.backends.key(presented) if presented else None
            version = await self.backends.version() if caller else None
        except Exception:  # noqa: BLE001 - the route meets the same failure and answers it (401, 503)
            caller = None
        if caller is None:  # no valid key: the route's dependency answers 401
            await self.app(scope, receive, send)
            return

        settings = self.backends.settings.serving
        limit = settings.rate_limit_per_minute
        counter = f"ratelimit:{hash_key(presented)[:16]}:{int(time.time() // 60)}"
        query = "&".join(sorted(scope["query_string"].decode("latin-1").split("&"))) if scope["query_string"] else ""
        cache_key = f"cache:{version['version']}:{scope['path']}?{query}"
        try:
            pipe = self.backends.redis.pipeline(transaction=False)
            pipe.incr(counter)
            pipe.expire(counter, 120)
            pipe.get(cache_key)
            used, _, cached = await pipe.execute()
        except Exception as error:  # noqa: BLE001 - serve uncached rather than not at all
            log.warning("Redis failed, answering without the cache and the rate limit: %s", error)
            self.cache_total.labels("error").inc()
            await self.app(scope, receive, send)
            return
        if used > limit:
            retry_after = max(1, 60 - int(time.time() % 60))
            detail = {"detail": f"rate limit of {limit} requests per minute exceeded"}
            await _respond(send, 429, json.dumps(detail).encode(), [(b"retry-after", str(retry_after).encode())])
            return
        if cached is not None and settings.cache_ttl_s > 0:
            fresh_until, body = int.from_bytes(cached[:8], "big") / 1000, cached[8:]
            result = "hit"
            if time.time() >= fresh_until:
                result = "stale"
                if len(self._refreshing) < MAX_REFRESHES and await self.backends.redis.set(
                    f"refresh:{cache_key}", 1, nx=True, px=REFRESH_LOCK_MS
                ):
                    task = asyncio.create_task(self._build_and_keep(dict(scope), _empty_request, None, cache_key, version))
                    self._refreshing.add(task)
                    task.add_done_callback(self._refreshing.discard)
            self.cache_total.labels(result).inc()
            await _respond(send, 200, body, [(b"x-cache", result.encode())])
            return

        self.cache_total.labels("miss").inc()
        await self._build_and_keep(scope, receive, send, cache_key, version)

    async def _build_and_keep(self, scope, receive, send, cache_key: str, version: dict) -> None:
        """Let the route answer (to ``send``, or to nobody for a refresh) and cache a 200 for the time it says."""
        scope[EXPORT_VERSION] = version
        status, body = [0], []

        async def send_and_keep(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            if send is not None:
                await send(message)

        try:
            await self.app(scope, receive, send_and_keep)
            ttl = scope.get(CACHE_TTL)
            if status[0] == 200 and ttl:
                fresh_until = int((time.time() + ttl) * 1000).to_bytes(8, "big")
                await self.backends.redis.set(cache_key, fresh_until + b"".join(body), px=int(ttl * 1000 * STALE_FACTOR))
        except Exception as error:
            if send is not None and status[0] == 0:
                raise  # nothing sent yet: the error handlers answer
            log.warning("answering or caching %s failed: %s", scope["path"], error)


async def _empty_request() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})
