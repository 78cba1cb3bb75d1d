"""A token-bucket rate limiter shared by every request of the process.

Implemented as GCRA (the "virtual scheduling" form of a token bucket): each caller reserves the
next free slot under a lock and then sleeps until it, so any number of concurrent requests,
threads or coroutines, together never exceed ``rate`` requests a second and, when enough are
in flight, reach it.

The shared limiter tolerates a burst of a tenth of a second's worth of requests (at least one):
after a stall of the event loop (an import, a GC pause) it can catch up on those slots instead
of losing them, while staying far inside the server's own bucket (TMDB: a second's worth).
"""

from __future__ import annotations

import asyncio
import threading
import time


class RateLimiter:
    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        # Start "full": the burst tolerance only lets callers catch up on slots lost after a
        # stall, it never grants a head start, so over any run the average stays <= rate.
        self._theoretical_arrival = time.monotonic() + self._tolerance
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Reserve the next slot; return how many seconds to wait before using it."""
        with self._lock:
            now = time.monotonic()
            arrival = max(self._theoretical_arrival, now)
            self._theoretical_arrival = arrival + self._interval
            return max(0.0, arrival - self._tolerance - now)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (the server said Retry-After)."""
        with self._lock:
            resume = time.monotonic() + seconds
            self._theoretical_arrival = max(self._theoretical_arrival, resume + self._tolerance)

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


CATCH_UP_S = 0.1
_shared: dict[str, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(key: str, rate: float) -> RateLimiter:
    """The process-wide limiter for one API host (``key``), created on first use.

    If the configured rate changes, the limiter is replaced: the newest setting wins.
    """
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None or limiter.rate != rate:
            limiter = _shared[key] = RateLimiter(rate, burst=max(1, int(rate * CATCH_UP_S)))
        return limiter
