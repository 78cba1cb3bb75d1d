"""Ingestion throughput against the TMDB simulator: does the client use its rate limit fully,
without tripping the server's?

For each limit the simulator runs in its own process with the same per-client limit (as TMDB
would), and a full load of a catalogue sized for at least 600 requests is timed. Figures go to
bench/results/latest.json (flat name -> number) and are printed as a table.

    make bench                      # both limits
    python bench/ingest_bench.py --limits 40 --movies 1500
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from results import record

from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.ingest import ingest
from movie_pipeline.intervals import Interval

API_KEY = "0123456789abcdef0123456789abcdef"
NOW = "2026-11-20T12:00:00Z"
INTERVAL = Interval.parse("2026-11-20T04:00:00Z", "2026-11-20T08:00:00Z")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(limit: float, movies: int) -> dict[str, float]:
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
        with tempfile.TemporaryDirectory() as lake:
            settings = Settings(
                tmdb=TmdbSettings(base_url=f"http://127.0.0.1:{port}/3", api_key=API_KEY, rate_limit=limit), lake_uri=Path(lake).as_uri()
            )
            print(f"limit {limit:g} req/s: full load of {movies} movies ...", file=sys.stderr, flush=True)
            summary = ingest(settings, INTERVAL, full=True, emit=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", type=float, nargs="+", default=[4.0, 40.0], help="rate limits to measure (req/s)")
    parser.add_argument("--movies", type=int, default=600, help="catalogue size (about one request per movie)")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for limit in args.limits:
        figures.update(measure(limit, args.movies))
    record(figures)


if __name__ == "__main__":
    main()
