"""Ingestion against the TMDB simulator: does the client use its rate limit fully, without
tripping the server's, and what does a full load cost in requests?

For each limit the simulator runs in its own process with the same per-client limit (as TMDB
would), and a full load of a catalogue sized for at least 600 requests is timed. Then a full load
of 20,000 movies, unthrottled, counts its requests per movie (listed by the daily ID export)
against what discover's listing of the same catalogue takes, and the 1M-movie export is downloaded
and read (time, memory). Figures go to bench/results/latest.json (flat name -> number) and are
printed as a table.

    make bench                      # everything
    python bench/ingest_bench.py --limits 40 --movies 1500 --scale-movies 0
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from results import record

from movie_pipeline.bronze import BronzeBatch
from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.ingest import IngestRun, Progress, ingest
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from movie_pipeline.tmdb.client import TmdbClient

API_KEY = "0123456789abcdef0123456789abcdef"
NOW = "2026-11-20T12:00:00Z"
INTERVAL = Interval.parse("2026-11-20T04:00:00Z", "2026-11-20T08:00:00Z")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def simulator_process(movies: int, limit: float):
    """``movie-pipeline tmdb-sim`` in its own process; yields its API base URL."""
    port = free_port()
    cli = str(Path(sys.executable).with_name("movie-pipeline"))
    simulator = subprocess.Popen(
        [cli, "tmdb-sim", "--port", str(port), "--movies", str(movies), "--rate-limit", str(limit), "--now", NOW],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if "serving" not in simulator.stdout.readline():
            raise SystemExit("the simulator did not start")
        yield f"http://127.0.0.1:{port}/3"
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def measure(limit: float, movies: int) -> dict[str, float]:
    with simulator_process(movies, limit) as base_url, tempfile.TemporaryDirectory() as lake:
        settings = Settings(tmdb=TmdbSettings(base_url=base_url, api_key=API_KEY, rate_limit=limit), lake_uri=Path(lake).as_uri())
        say(f"limit {limit:g} req/s: full load of {movies} movies ...")
        summary = ingest(settings, INTERVAL, full=True, emit=say)
    tag = f"at_{limit:g}"
    if summary.requests < 600:
        raise SystemExit(f"only {summary.requests} requests at {limit:g} req/s; raise --movies")
    return {
        f"ingest_rps_{tag}": round(summary.achieved_rps, 3),
        f"ingest_429_{tag}": summary.throttled,
        f"ingest_wall_ratio_{tag}": round(summary.seconds / (summary.requests / limit), 4),
        f"ingest_requests_{tag}": summary.requests,
        f"ingest_seconds_{tag}": round(summary.seconds, 2),
    }


def measure_full_load(movies: int) -> dict[str, float]:
    """A full load's requests per movie, and what listing the same catalogue by discover takes."""
    with simulator_process(movies, 5000) as base_url, tempfile.TemporaryDirectory() as lake:
        tmdb = TmdbSettings(base_url=base_url, api_key=API_KEY, rate_limit=2000, concurrency=16)
        say(f"full load of {movies:,} movies, listed by the daily ID export ...")
        summary = ingest(Settings(tmdb=tmdb, lake_uri=Path(lake).as_uri()), INTERVAL, full=True, emit=say)
        listed = summary.movies + summary.tombstones
        listing = summary.requests - listed - summary.records.get("movie_reviews", 0)
        say("listing the same catalogue by discover ...")
        discover = asyncio.run(_discover_requests(tmdb, lake))
    return {
        "ingest_full_requests_per_movie": round(summary.requests / listed, 4),
        "ingest_full_listing_requests": listing,
        "ingest_discover_listing_requests": discover,
    }


async def _discover_requests(tmdb: TmdbSettings, lake: str) -> int:
    async with TmdbClient(tmdb) as client:
        batch = BronzeBatch(Lake(Path(lake).as_uri() + "/discover"), INTERVAL, "full")
        await IngestRun(client, batch, Progress(None)).discover_all(INTERVAL)
        batch.discard()
        return client.stats.requests


def measure_export_listing(movies: int) -> dict[str, float]:
    """Download and read the daily ID export of a ``movies`` catalogue: seconds and the growth of peak memory."""
    label = f"{movies // 1_000_000}m" if movies % 1_000_000 == 0 else f"{movies // 1000}k"
    with simulator_process(movies, 5000) as base_url, tempfile.TemporaryDirectory() as lake:
        tmdb = TmdbSettings(base_url=base_url, api_key=API_KEY, timeout=30)
        say(f"reading the daily ID export of {movies:,} movies ...")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        source, ids = asyncio.run(_export_listing(tmdb, lake))
        seconds = time.monotonic() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    if not source.startswith("export"):
        raise SystemExit(f"the listing came from {source}, not the export")
    say(f"  {len(ids):,} ids from {source} in {seconds:.1f} s, peak memory +{grown:.0f} MiB")
    return {f"ingest_export_listing_{label}_s": round(seconds, 1), f"ingest_export_listing_{label}_rss_mb": round(grown, 1)}


async def _export_listing(tmdb: TmdbSettings, lake: str) -> tuple[str, list[int]]:
    async with TmdbClient(tmdb) as client:
        batch = BronzeBatch(Lake(Path(lake).as_uri()), INTERVAL, "full")
        listed = await IngestRun(client, batch, Progress(say)).list_catalogue(INTERVAL)
        batch.discard()
        return listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", type=float, nargs="+", default=[4.0, 40.0], help="rate limits to measure (req/s)")
    parser.add_argument("--movies", type=int, default=650, help="catalogue size (about one request per listed movie: 650 gives over 600)")
    parser.add_argument("--scale-movies", type=int, default=20_000, help="the full load counted in requests (0: skip)")
    parser.add_argument("--export-movies", type=int, default=1_000_000, help="the ID export downloaded and read (0: skip)")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for limit in args.limits:
        figures.update(measure(limit, args.movies))
    if args.scale_movies:
        figures.update(measure_full_load(args.scale_movies))
    if args.export_movies:
        figures.update(measure_export_listing(args.export_movies))
    record(figures)


if __name__ == "__main__":
    main()
