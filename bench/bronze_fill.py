"""A full load's bronze without the HTTP round trips, for the batch benchmark's largest catalogue.

`movie_pipeline.ingest` through the simulator's HTTP server hydrates about 230 movies/s on this
machine (100k movies: 450 s), so a 1M-movie catalogue would take some 75 minutes before the
benchmark's clock even starts; the batch figures time bronze -> gold, not ingestion. This writes
the bronze records a full load writes: the simulator's own answers (``TmdbSimulator.route``, the
body its HTTP server sends) for the genre list, trending (day and week), the details of every
movie discover lists (with the client's appends) and the further review pages, each in the
client's envelope, staged and committed by :class:`BronzeBatch` as ingestion commits. Discover's
pages themselves are left out: silver does not read them. The answers are computed by one worker
process per core.

    python bench/bronze_fill.py --movies 1000000 --lake file:///tmp/lake   # or: from bronze_fill import fill
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context

from movie_harness.tmdb_simulator.catalogue import Catalogue
from movie_harness.tmdb_simulator.server import ApiError, TmdbSimulator
from movie_pipeline.bronze import BronzeBatch
from movie_pipeline.ingest import DISCOVER_FROM
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from movie_pipeline.tmdb.client import DETAIL_APPENDS, MAX_PAGE, TmdbResponse

CHUNK = 500  # movies per task handed to a worker
APPENDS = ",".join(DETAIL_APPENDS)

_simulator: TmdbSimulator | None = None
_now: float = 0.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _envelope(endpoint: str, params: dict, payload: dict, status: int = 200) -> dict:
    """The client's bronze envelope of an answer fetched now (200, or a movie's 404)."""
    fetched_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return TmdbResponse(endpoint, params, status, payload, fetched_at).envelope()


def _start_worker(movies: int, now: float) -> None:
    global _simulator, _now
    _simulator, _now = TmdbSimulator(Catalogue(movies), now=now), now  # never started: route() needs no socket


def _hydrate(movie_ids: list[int]) -> list[tuple[str, dict]]:
    """(entity, envelope) of each movie's details and further review pages, as ingest's hydrate writes them (a movie
    deleted at TMDB, as a changed one may be, is its 404 answer: a tombstone)."""
    written = []
    for movie_id in movie_ids:
        params = {"movie_id": movie_id, "append_to_response": APPENDS}
        try:
            details = _simulator.route(f"/3/movie/{movie_id}", {"append_to_response": APPENDS}, _now)
        except ApiError as error:
            if error.status != 404:
                raise
            body = {"success": False, "status_code": error.code, "status_message": error.message}
            written.append(("movie_details", _envelope("/movie/{movie_id}", params, body, 404)))
            continue
        written.append(("movie_details", _envelope("/movie/{movie_id}", params, details)))
        pages = min(MAX_PAGE, int((details.get("reviews") or {}).get("total_pages") or 1))
        for page in range(2, pages + 1):
            extra = _simulator.route(f"/3/movie/{movie_id}/reviews", {"page": str(page)}, _now)
            written.append(("movie_reviews", _envelope("/movie/{movie_id}/reviews", {"movie_id": movie_id, "page": page}, extra)))
    return written


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def fill(movies: int, interval: Interval, lake_uri: str, workers: int | None = None) -> dict[str, int]:
    """Commit the bronze of a full load of ``interval`` from a catalogue of ``movies``, as TMDB is 10 minutes after its end."""
    now = (interval.end + timedelta(minutes=10)).timestamp()
    simulator = TmdbSimulator(Catalogue(movies), now=now)
    ids = simulator.catalogue.listed_ids(now, DISCOVER_FROM, interval.end.date() + timedelta(days=3653))
    return _commit(simulator, now, ids, interval, lake_uri, "full", workers)


def fill_changed(movies: int, interval: Interval, lake_uri: str, changed: int, workers: int | None = None) -> dict[str, int]:
    """Commit the bronze of an incremental interval that hydrates ``changed`` movies: as many of those TMDB's change
    feed lists for the interval (the simulator's movies updated in it; adult ones left out, as ingestion does),
    evenly spread over the catalogue."""
    now = (interval.end + timedelta(minutes=10)).timestamp()
    simulator = TmdbSimulator(Catalogue(movies), now=now)
    catalogue = simulator.catalogue
    feed = [
        movie_id
        for movie_id in catalogue.changed_ids(interval.start.timestamp(), interval.end.timestamp(), now)
        if not catalogue.is_adult(catalogue.index_of(movie_id))
    ]
    if len(feed) < changed:
        raise SystemExit(f"the change feed of {interval} lists {len(feed)} movies, fewer than the {changed} asked for")
    ids = [feed[i * len(feed) // changed] for i in range(changed)]
    return _commit(simulator, now, ids, interval, lake_uri, "incremental", workers)


def _commit(
    simulator: TmdbSimulator, now: float, ids: list[int], interval: Interval, lake_uri: str, mode: str, workers: int | None
) -> dict[str, int]:
    """The genre list, trending and the hydrated ``ids`` (by one worker process per core), committed as ``mode``."""
    movies = simulator.catalogue.size
    batch = BronzeBatch(Lake(lake_uri), interval, mode)
    started = last_report = time.monotonic()
    try:
        batch.write("genres", _envelope("/genre/movie/list", {"language": "en"}, simulator.route("/3/genre/movie/list", {}, now)))
        for window in ("day", "week"):
            body = simulator.route(f"/3/trending/movie/{window}", {"page": "1"}, now)
            batch.write("trending", _envelope("/trending/movie/{time_window}", {"time_window": window, "page": 1}, body))
        done = 0
        with get_context("fork").Pool(workers or os.cpu_count() or 1, _start_worker, (movies, now)) as pool:
            for chunk, written in zip(_chunks(ids), pool.imap(_hydrate, _chunks(ids)), strict=True):
                for entity, envelope in written:
                    batch.write(entity, envelope)
                done += len(chunk)
                if time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    rate = done / (last_report - started)
                    log(f"  bronze fill: {done:,}/{len(ids):,} movies, {rate:,.0f}/s, ETA {(len(ids) - done) / rate:.0f} s")
        batch.commit()
    finally:
        batch.discard()
    counts = {k: v for k, v in batch.counts.items() if not k.startswith("_")}
    log(f"  bronze fill of {interval} ({mode}): {len(ids):,} movies in {time.monotonic() - started:.0f} s {counts}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", type=int, required=True, help="catalogue size")
    parser.add_argument("--lake", required=True, help="lake URI (file:///...)")
    parser.add_argument("--start", default="2026-11-20T04:00:00Z", help="data interval start")
    parser.add_argument("--end", default="2026-11-20T08:00:00Z", help="data interval end")
    args = parser.parse_args()
    fill(args.movies, Interval.parse(args.start, args.end), args.lake)


if __name__ == "__main__":
    main()
