"""The clients the API talks to, created on first use, and the few things it remembers."""

from __future__ import annotations

import asyncio
import time

from starlette.concurrency import run_in_threadpool

from movie_pipeline.config import Settings
from movie_pipeline.serving import keys, store
from movie_pipeline.speed.windows import WindowReader

KEY_CACHE_S = 5.0
VERSION_CACHE_S = 1.0
MAX_REMEMBERED_KEYS = 10_000


class Backends:
    """MongoDB (the serving views and the keys), Redis (the cache and the limits), Cassandra (the speed windows)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.windows = WindowReader(settings.speed)
        self._mongo = None
        self._redis: tuple[asyncio.AbstractEventLoop, object] | None = None
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
