"""Bronze ingestion of one data interval [start, end) from TMDB.

- **Full load** (bronze is empty, or ``full=True``): every movie of TMDB's daily ID export for the
  interval's last day (the day before while that one is not published yet), adult and video
  titles left out; one download instead of tens of thousands of discover pages. When neither file
  can be had, discover's primary release-date windows from ``DISCOVER_FROM`` to ten years ahead
  (TMDB_API.md §6), logged as such.
- **Incremental**: the movies in ``/movie/changes`` for the calendar days the interval touches.
  TMDB's change feed is day-granular, so a 4-hour interval re-reads its whole day up to now; the
  overlap between intervals of one day is harmless because silver keeps the latest snapshot.
- Then each movie is hydrated with one ``/movie/{id}`` call (credits, keywords, reviews and
  release dates appended) plus the further review pages; a 404 is recorded as a tombstone. The
  listed ids (sorted) are hydrated in chunks of ``INGEST_CHUNK_MOVIES``, each made durable when
  done (:mod:`movie_pipeline.bronze`): a run killed at hour six and run again resumes at its last
  complete chunk, with the listing it had, and fetches nothing twice but the chunk it died in.
- Genres and the first page of trending (day and week) are recorded on every run.

Records that cannot be used (no integer id, a payload for another movie) go to the interval's
rejects with a reason; the raw response is still kept in bronze.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from movie_pipeline.bronze import BronzeBatch
from movie_pipeline.config import Settings
from movie_pipeline.errors import TmdbUnavailableError
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import ID_EXPORT
from movie_pipeline.tmdb.client import TmdbClient, TmdbResponse, gather_bounded
from movie_pipeline.tmdb.exports import export_name, read_export

log = logging.getLogger(__name__)
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
    listing: str = ""  # where the ids came from: "export movie_ids_....json.gz", "discover" or "changes"
    resumed_chunks: int = 0  # chunks an earlier, killed run had completed

    @property
    def achieved_rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def report(self) -> str:
        lines = [
            f"ingested {self.interval} ({self.mode} load, listed by {self.listing}"
            + (f"; resumed after {self.resumed_chunks} chunks an earlier run completed)" if self.resumed_chunks else ")"),
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
        self._done_at_start = 0
        self._phase_started = self.started

    def request(self) -> None:
        self.requests += 1
        self._maybe_print()

    def start_phase(self, phase: str, total: int = 0, done: int = 0) -> None:
        self.phase, self.total, self.done = phase, total, done
        self._done_at_start = done
        self._phase_started = time.monotonic()
        self.say(f"{phase}" + (f": {total - done} to go" if total else ""))

    def say(self, line: str) -> None:
        if self.emit:
            self.emit(line)

    def advance(self) -> None:
        self.done += 1

    def rate(self) -> float:
        """This run's requests per second so far."""
        return self.requests / max(1e-9, time.monotonic() - self.started)

    def _maybe_print(self) -> None:
        now = time.monotonic()
        if self.emit is None or now - self._last < self.every_s:
            return
        self._last = now
        rate = self.requests / max(1e-9, now - self.started)
        line = f"  {self.requests} requests, {rate:.1f} req/s, {self.phase}"
        if self.total:
            per_item = (now - self._phase_started) / max(1, self.done - self._done_at_start)
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
            run = IngestRun(tmdb, batch, progress)
            if batch.resumed:
                listing = batch.listing
                progress.say(f"{mode} load of {interval}: resuming ({len(batch.done_chunks)} chunks staged by an earlier run)")
            else:
                progress.start_phase(f"{mode} load: listing movies")
                # genres and trending do not depend on the listing: fetch them alongside it
                (genres, *trending), (source, ids) = await asyncio.gather(
                    asyncio.gather(tmdb.genres(), tmdb.trending("day"), tmdb.trending("week")),
                    run.list_catalogue(interval) if mode == "full" else run.changed_ids(interval),
                )
                batch.write("genres", genres.envelope())
                for response in trending:
                    batch.write("trending", response.envelope())
                listing = {"source": source, "ids": sorted(ids), "chunk_movies": settings.tmdb.chunk_movies}
                batch.stage_listing(listing)
            await run.hydrate_in_chunks(listing, workers=4 * settings.tmdb.concurrency)
            summary.partitions = batch.commit()
            stats = tmdb.stats
    except BaseException:
        batch.abandon()  # the chunks done stay staged: a re-run resumes from them
        raise
    summary.seconds = time.monotonic() - started
    summary.requests, summary.retries, summary.throttled, summary.timeouts = stats.requests, stats.retries, stats.throttled, stats.timeouts
    summary.records = {k: v for k, v in batch.counts.items() if not k.startswith("_")}
    summary.movies, summary.tombstones = batch.extra["hydrated"], batch.extra["tombstones"]
    summary.rejects, summary.reject_reasons = batch.rejects, dict(batch.reject_reasons)
    summary.listing = listing["source"]
    summary.resumed_chunks = run.resumed_chunks
    return summary


class IngestRun:
    """One ingestion: listing the movies, then hydrating them chunk by chunk into the batch."""

    def __init__(self, tmdb: TmdbClient, batch: BronzeBatch, progress: Progress) -> None:
        self.tmdb, self.batch, self.progress = tmdb, batch, progress
        self.resumed_chunks = 0

    async def hydrate_in_chunks(self, listing: dict, workers: int) -> None:
        """Hydrate the listed ids in chunks of ``chunk_movies``, skipping those a killed run completed; each chunk is
        durable once done, with a progress line (done/total, requests/s, ETA)."""
        ids, size = listing["ids"], listing["chunk_movies"]
        chunks = -(-len(ids) // size)
        done = self.batch.done_chunks
        self.resumed_chunks = len(done)
        movies_done = sum(len(ids[k * size : (k + 1) * size]) for k in done)
        self.progress.start_phase("hydrating movies", len(ids), done=movies_done)
        started, movies_before = time.monotonic(), movies_done
        for k in range(chunks):
            if k in done:
                continue
            chunk = ids[k * size : (k + 1) * size]
            self.batch.begin_chunk(k)
            await gather_bounded(chunk, self.hydrate, workers=workers)
            self.batch.end_chunk(k)
            movies_done += len(chunk)
            elapsed = time.monotonic() - started
            per_movie = elapsed / max(1, movies_done - movies_before)
            self.progress.say(
                f"  chunk {k + 1}/{chunks} done: {movies_done:,}/{len(ids):,} movies, {self.progress.rate():.1f} req/s,"
                f" ETA {_duration((len(ids) - movies_done) * per_movie)}"
            )

    async def list_catalogue(self, interval: Interval) -> tuple[str, list[int]]:
        """The full load's listing: the daily ID export of the interval's (last) day or the day before; discover's
        release-date windows when neither can be had."""
        _, last_day = interval.days()
        for day in (last_day, last_day - timedelta(days=1)):
            listed = await self._export_ids(export_name(day))
            if listed is not None:
                return listed
        self.progress.say(
            f"  no ID export for {last_day} or the day before at {self.tmdb.settings.id_exports_url}: listing by discover instead"
        )
        return "discover", await self.discover_all(interval)

    async def _export_ids(self, name: str) -> tuple[str, list[int]] | None:
        """The ids to hydrate from one export file (recorded in bronze as downloaded); None when it cannot be had."""
        endpoint = f"/p/exports/{name}"
        with tempfile.TemporaryFile() as raw:
            try:
                if not await self.tmdb.download_export(name, raw):
                    self.progress.say(f"  {name} is not published (yet, or any more)")
                    return None
            except TmdbUnavailableError as err:
                log.warning("the ID export cannot be downloaded: %s", err)
                self.progress.say(f"  {name} cannot be downloaded ({err})")
                return None
            raw.seek(0)
            fetched_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            ids, skipped, lines = [], Counter(), 0
            try:
                for line in read_export(raw):
                    lines += 1
                    if line.record is None:
                        self.batch.reject(endpoint, "export line without an integer id", line.text, fetched_at)
                    elif line.wanted:
                        ids.append(line.movie_id)
                    else:
                        skipped["adult" if line.record.get("adult") is True else "video"] += 1
            except (zlib.error, ValueError) as err:
                self.progress.say(f"  {name} is not a readable gzip file ({err})")
                return None
            raw.seek(0)
            self.batch.write_file(ID_EXPORT, name, raw, records=lines)
        self.progress.say(
            f"  listing: {name}: {lines:,} lines, {len(ids):,} movies to hydrate"
            f" ({skipped['adult']:,} adult and {skipped['video']:,} video titles skipped)"
        )
        return f"export {name}", ids

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

    async def changed_ids(self, interval: Interval) -> tuple[str, list[int]]:
        first_day, last_day = interval.days()
        found: dict[int, None] = {}
        for response in await self.tmdb.changes(first_day, last_day):
            self.batch.write("changes", response.envelope())
            # adult titles are left out, as in the full load (include_adult=false)
            found.update(dict.fromkeys(self._valid_ids(response, keep=lambda item: item.get("adult") is not True)))
        return "changes", list(found)

    async def hydrate(self, movie_id: int) -> None:
        response = await self.tmdb.movie(movie_id)
        self.batch.write("movie_details", response.envelope())
        self.progress.advance()
        if response.status == 404:
            self.batch.extra["tombstones"] += 1
            return
        payload = response.payload
        if payload.get("id") != movie_id:
            self.batch.reject(
                response.endpoint, f"details payload id {payload.get('id')!r} is not the requested {movie_id}", payload, response.fetched_at
            )
            return
        self.batch.extra["hydrated"] += 1
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
