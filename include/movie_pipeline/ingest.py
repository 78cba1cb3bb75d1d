"""Bronze ingestion of one data interval [start, end) from TMDB.

- **Full load** (bronze is empty, or ``full=True``): every movie discover lists, by primary
  release-date windows from ``DISCOVER_FROM`` to ten years ahead (TMDB_API.md §6).
- **Incremental**: the movies in ``/movie/changes`` for the calendar days the interval touches.
  TMDB's change feed is day-granular, so a 4-hour interval re-reads its whole day up to now; the
  overlap between intervals of one day is harmless because silver keeps the latest snapshot.
- Then each movie is hydrated with one ``/movie/{id}`` call (credits, keywords, reviews and
  release dates appended) plus the further review pages; a 404 is recorded as a tombstone.
- Genres and the first page of trending (day and week) are recorded on every run.

Records that cannot be used (no integer id, a payload for another movie) go to the interval's
rejects with a reason; the raw response is still kept in bronze.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from movie_pipeline.bronze import BronzeBatch
from movie_pipeline.config import Settings
from movie_pipeline.intervals import Interval
from movie_pipeline.tmdb.client import TmdbClient, TmdbResponse, gather_bounded

DISCOVER_FROM = date(1874, 1, 1)  # before the first surviving film
PROGRESS_EVERY_S = 5.0


@dataclass
class IngestSummary:
    interval: Interval
    mode: str
    requests: int = 0
    records: dict[str, int] = field(default_factory=dict)
    movies: int = 0
    tombstones: int = 0
    rejects: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0
    timeouts: int = 0
    seconds: float = 0.0
    partitions: list[str] = field(default_factory=list)

    @property
    def achieved_rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def report(self) -> str:
        lines = [
            f"ingested {self.interval} ({self.mode} load)",
            f"  requests   {self.requests}  ({self.achieved_rps:.2f} req/s over {self.seconds:.1f} s;"
            f" {self.retries} retries, {self.throttled} x 429, {self.timeouts} timeouts)",
            f"  movies     {self.movies} hydrated, {self.tombstones} tombstones (deleted at TMDB)",
            "  records    " + ", ".join(f"{k}={v}" for k, v in sorted(self.records.items())),
            f"  rejects    {self.rejects}"
            + (f"  ({', '.join(f'{r}: {n}' for r, n in self.reject_reasons.items())})" if self.rejects else ""),
        ]
        if self.partitions:
            lines.append("  written    " + "\n             ".join(self.partitions))
        return "\n".join(lines)


class Progress:
    """Counts requests and hydrated movies; prints a line every few seconds through ``emit``."""

    def __init__(self, emit: Callable[[str], None] | None, every_s: float = PROGRESS_EVERY_S) -> None:
        self.emit, self.every_s = emit, every_s
        self.started = self._last = time.monotonic()
        self.requests = 0
        self.phase = "starting"
        self.done = 0
        self.total = 0
        self._phase_started = self.started

    def request(self) -> None:
        self.requests += 1
        self._maybe_print()

    def start_phase(self, phase: str, total: int = 0) -> None:
        self.phase, self.total, self.done = phase, total, 0
        self._phase_started = time.monotonic()
        if self.emit:
            self.emit(f"{phase}" + (f": {total} to go" if total else ""))

    def advance(self) -> None:
        self.done += 1

    def _maybe_print(self) -> None:
        now = time.monotonic()
        if self.emit is None or now - self._last < self.every_s:
            return
        self._last = now
        rate = self.requests / max(1e-9, now - self.started)
        line = f"  {self.requests} requests, {rate:.1f} req/s, {self.phase}"
        if self.total:
            per_item = (now - self._phase_started) / max(1, self.done)
            line += f" {self.done}/{self.total}, ETA {_duration((self.total - self.done) * per_item)}"
        self.emit(line)


def ingest(settings: Settings, interval: Interval, full: bool = False, emit: Callable[[str], None] | None = None) -> IngestSummary:
    """Ingest the interval into bronze (blocking); see the module docstring."""
    return asyncio.run(ingest_async(settings, interval, full, emit))


async def ingest_async(
    settings: Settings, interval: Interval, full: bool = False, emit: Callable[[str], None] | None = None
) -> IngestSummary:
    settings.tmdb.require_credentials()
    lake = settings.lake
    mode = "full" if full or not lake.has_bronze() else "incremental"
    progress = Progress(emit)
    batch = BronzeBatch(lake, interval, mode)
    summary = IngestSummary(interval, mode)
    started = time.monotonic()
    try:
        async with TmdbClient(settings.tmdb, on_request=progress.request) as tmdb:
            run = _Run(tmdb, batch, progress)
            progress.start_phase(f"{mode} load: listing movies")
            # genres and trending do not depend on the listing: fetch them alongside it
            listing = run.discover_all(interval) if mode == "full" else run.changed_ids(interval)
            (genres, *trending), ids = await asyncio.gather(
                asyncio.gather(tmdb.genres(), tmdb.trending("day"), tmdb.trending("week")), listing
            )
            batch.write("genres", genres.envelope())
            for response in trending:
                batch.write("trending", response.envelope())
            progress.start_phase("hydrating movies", len(ids))
            await gather_bounded(ids, run.hydrate, workers=4 * settings.tmdb.concurrency)
            summary.partitions = batch.commit()
            stats = tmdb.stats
    finally:
        batch.discard()
    summary.seconds = time.monotonic() - started
    summary.requests, summary.retries, summary.throttled, summary.timeouts = stats.requests, stats.retries, stats.throttled, stats.timeouts
    summary.records = {k: v for k, v in batch.counts.items() if not k.startswith("_")}
    summary.movies, summary.tombstones = run.hydrated, run.tombstones
    summary.rejects, summary.reject_reasons = batch.rejects, dict(batch.reject_reasons)
    return summary


class _Run:
    """The state of one ingestion: the ids found so far and what was written."""

    def __init__(self, tmdb: TmdbClient, batch: BronzeBatch, progress: Progress) -> None:
        self.tmdb, self.batch, self.progress = tmdb, batch, progress
        self.hydrated = 0
        self.tombstones = 0

    def _valid_ids(self, response: TmdbResponse, keep: Callable[[dict], bool] = lambda _item: True) -> list[int]:
        ids = []
        for item in response.payload.get("results") or []:
            movie_id = item.get("id") if isinstance(item, dict) else None
            if not _is_id(movie_id):
                self.batch.reject(response.endpoint, "list item without an integer id", item, response.fetched_at)
            elif keep(item):
                ids.append(movie_id)
        return ids

    async def discover_all(self, interval: Interval) -> list[int]:
        found: dict[int, None] = {}

        def on_page(response: TmdbResponse) -> None:
            self.batch.write("discover", response.envelope())
            found.update(dict.fromkeys(self._valid_ids(response)))

        horizon = interval.end.date() + timedelta(days=3653)
        await self.tmdb.discover(DISCOVER_FROM, horizon, on_page)
        return list(found)

    async def changed_ids(self, interval: Interval) -> list[int]:
        first_day, last_day = interval.days()
        found: dict[int, None] = {}
        for response in await self.tmdb.changes(first_day, last_day):
            self.batch.write("changes", response.envelope())
            # adult titles are left out, as in the full load (include_adult=false)
            found.update(dict.fromkeys(self._valid_ids(response, keep=lambda item: item.get("adult") is not True)))
        return list(found)

    async def hydrate(self, movie_id: int) -> None:
        response = await self.tmdb.movie(movie_id)
        self.batch.write("movie_details", response.envelope())
        self.progress.advance()
        if response.status == 404:
            self.tombstones += 1
            return
        payload = response.payload
        if payload.get("id") != movie_id:
            self.batch.reject(
                response.endpoint, f"details payload id {payload.get('id')!r} is not the requested {movie_id}", payload, response.fetched_at
            )
            return
        self.hydrated += 1
        reviews = payload.get("reviews") or {}
        self._check_reviews(response, reviews.get("results") or [])
        pages = min(500, int(reviews.get("total_pages") or 1))
        for page in range(2, pages + 1):
            extra = await self.tmdb.reviews_page(movie_id, page)
            self.batch.write("movie_reviews", extra.envelope())
            self._check_reviews(extra, extra.payload.get("results") or [])

    def _check_reviews(self, response: TmdbResponse, reviews: list) -> None:
        for review in reviews:
            if not (isinstance(review, dict) and isinstance(review.get("id"), str) and review["id"]):
                self.batch.reject(response.endpoint, "review without a string id", review, response.fetched_at)


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
