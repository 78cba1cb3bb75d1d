"""The REST API under load: wrk (a separate process, loopback) against `movie-pipeline serve`.

MongoDB (wire protocol), Redis and Cassandra are started on their own ports; a synthetic gold
(--movies movies, hourly sentiment and speed windows for a tenth of them) is exported as the
export DAG does; the API runs with --workers processes. Then:

    api_cached_rps          requests/s over a hot set (100 movies with their sentiment, trending,
    api_cached_p99_ms       listings, genre and year stats) with the Redis cache on, after one pass
    api_cache_hit_ratio     that cached each answer; (fresh + stale hits) / lookups from the API's /metrics during the
                            run (answers with speed windows expire after API_CACHE_TTL_S and miss again)
    api_uncached_p99_ms     the same mix over 2,000 movies with the Redis cache off (API_CACHE_TTL_S=0),
                            from two connections, after a warm-up pass: every request reads MongoDB,
                            and Cassandra for a movie and its sentiment

Every request passes the key check and the rate limit (a limit high enough not to refuse any).

    python bench/api_bench.py [--movies 10000] [--seconds 30] [--connections 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pymongo
from results import record

from movie_harness import REPO_ROOT
from movie_harness.stack import manager
from movie_harness.stack.services import StackSettings
from movie_pipeline.config import settings_from_env
from movie_pipeline.lake import Lake
from movie_pipeline.merge import cutoff
from movie_pipeline.serving import export, keys
from movie_pipeline.speed import cassandra

PORTS = {"mongo": 14017, "redis": 14379, "cassandra": 14042}
API_PORT = 14080
WARM_UP_S = 20  # steady state: the JVMs behind the API (freshly started here) compile their hot paths in the first seconds
UNCACHED_CONNECTIONS = 2
UNCACHED_MOVIES = 2_000  # the Redis cache is off, not the databases': a set the warm-up goes through about once  # latency of a miss, not of a queue: two clients back to back keep both workers busy
GENRES = ("Drama", "Comedy", "Action", "Thriller", "Horror", "Romance", "Documentary", "Animation")
WRK_SCRIPT = """
paths = {%(paths)s}
counter = 0
wrk.headers["X-API-Key"] = "%(key)s"
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "socket_errors": %%d, "non_2xx": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_gold(lake: Lake, view: str, rows: list[dict]) -> None:
    path = lake.path("gold", view)
    lake.fs.makedirs(path, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), f"{path}/part-00000.parquet", filesystem=lake.fs)


def synthetic_gold(lake: Lake, movies: int, now: datetime, rng: random.Random) -> None:
    """Gold views shaped as Spark writes them (naive UTC timestamps)."""
    as_of = (now - timedelta(hours=4)).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    summaries = []
    for movie_id in range(1, movies + 1):
        summaries.append({
            "movie_id": movie_id, "title": f"Movie {movie_id}", "release_date": date(1950 + movie_id % 75, 1 + movie_id % 12, 1),
            "genres": rng.sample(GENRES, 2), "popularity": rng.uniform(1, 500), "vote_average": rng.uniform(0, 10),
            "vote_count": rng.randint(0, 20_000), "as_of": as_of, "review_count": rng.randint(0, 50), "mean_sentiment": rng.uniform(-1, 1),
        })  # fmt: skip
    write_gold(lake, "movie_summary", summaries)
    first_hour = as_of - timedelta(days=3)
    write_gold(
        lake,
        "sentiment_hourly",
        [
            {"movie_id": movie_id, "hour": first_hour + timedelta(hours=h), "reviews": 2, "sentiment_sum": 0.4, "positive": 1, "neutral": 1,
             "negative": 0}
            for movie_id in range(1, movies + 1, 10) for h in range(0, 72, 3)
        ],
    )  # fmt: skip
    write_gold(
        lake,
        "trending",
        [{"window_days": days, "rank": rank, "movie_id": rank * 7, "title": f"Movie {rank * 7}", "popularity_growth": 100.0 / rank}
         for days in (7, 30, 90) for rank in range(1, 101)],
    )  # fmt: skip
    write_gold(
        lake,
        "genre_monthly",
        [{"genre": genre, "release_month": date(year, month, 1), "movies": 10, "vote_weighted_rating": 6.5}
         for genre in GENRES for year in range(2000, 2026) for month in (1, 4, 7, 10)],
    )  # fmt: skip
    write_gold(lake, "year_stats", [{"release_year": year, "movies": movies // 75} for year in range(1950, 2025)])


def speed_windows(movies: int, now: datetime) -> list[dict]:
    """A window every 2 hours since the cutoff for every tenth movie."""
    rows = []
    for movie_id in range(1, movies + 1, 10):
        for h in range(0, 48, 2):
            start = cutoff(now) + timedelta(hours=h, minutes=5)
            if start + timedelta(minutes=5) > now:
                break
            rows.append({
                "movie_id": movie_id, "window_start": start, "window_end": start + timedelta(minutes=5), "popularity": 10.0 + h,
                "vote_average": 7.0, "vote_count": 100 + h, "popularity_delta": 0.5, "vote_average_delta": 0.0, "vote_count_delta": 1,
                "metric_observations": 2, "review_count": 1, "sentiment_sum": 0.3, "positive": 1, "neutral": 0, "negative": 0,
                "last_event_time": start + timedelta(minutes=4),
            })  # fmt: skip
    return rows


def request_mix(movie_ids: list[int]) -> list[str]:
    """The paths of one pass: mostly single movies, then their sentiment, listings and analytics."""
    paths = []
    for i, movie_id in enumerate(movie_ids):
        paths.append(f"/v1/movies/{movie_id}")
        if i % 2 == 0:
            paths.append(f"/v1/movies/{movie_id}/sentiment?window={('48h', '7d', '30d')[i % 3]}")
        if i % 5 == 0:
            genre = GENRES[i % len(GENRES)]
            paths += [
                f"/v1/movies?genre={genre}&sort=popularity&limit=20",
                f"/v1/trending?window={('1h', '24h', '7d')[i % 3]}&genre={genre}",
            ]
        if i % 10 == 0:
            paths += [f"/v1/genres/{GENRES[i % len(GENRES)]}/stats", "/v1/analytics/years"]
    return paths


class Api:
    """`movie-pipeline serve` as a separate process group."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.log_path = log_path
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "movie-pipeline"), "serve", "--port", str(API_PORT), "--workers", str(workers)],
            env=env,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/readyz", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the API did not become ready in 60 s; see {log_path}")

    def get_each(self, paths: list[str], key: str) -> None:
        for path in paths:
            request = urllib.request.Request(f"http://127.0.0.1:{API_PORT}{path}", headers={"X-API-Key": key})
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()

    def cache_lookups(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/metrics", timeout=5) as response:
            text = response.read().decode()
        return {result: float(count) for result, count in re.findall(r'^api_cache_total\{result="(\w+)"\} ([\d.e+]+)$', text, re.MULTILINE)}

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def wait_until_idle(threshold: float = 15.0, calm_s: int = 3, limit_s: int = 90) -> None:
    import psutil

    started, calm = time.monotonic(), 0
    while calm < calm_s and time.monotonic() - started < limit_s:
        calm = calm + 1 if psutil.cpu_percent(interval=1) < threshold else 0
    log(
        f"machine idle after {time.monotonic() - started:.0f} s"
        if calm >= calm_s
        else f"machine still busy after {limit_s} s; measuring anyway"
    )


def run_wrk(paths: list[str], key: str, seconds: int, connections: int, workdir: Path) -> dict:
    script = workdir / "mix.lua"
    script.write_text(WRK_SCRIPT % {"paths": ", ".join(json.dumps(p) for p in paths), "key": key})
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), f"http://127.0.0.1:{API_PORT}"],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    figures = json.loads(line.removeprefix("RESULT "))
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    log(
        f"  {figures['requests']:,} requests in {figures['duration_us'] / 1e6:.1f} s = {figures['rps']:,.0f}/s, "
        f"p50 {figures['p50_us'] / 1000:.1f} ms, p99 {figures['p99_us'] / 1000:.1f} ms, "
        f"{figures['non_2xx']} non-2xx, {figures['socket_errors']} socket errors"
    )
    if figures["non_2xx"] or figures["socket_errors"]:
        raise RuntimeError(f"the API answered {figures['non_2xx']} requests with an error status; see the API log")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movies", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (make bench installs it)")

    state_dir = REPO_ROOT / ".local" / "bench-api-stack"
    shutil.rmtree(state_dir, ignore_errors=True)
    stack = StackSettings.from_env({"STACK_STATE_DIR": str(state_dir), **{f"STACK_{n.upper()}_PORT": str(p) for n, p in PORTS.items()}})
    env = {
        **os.environ,
        "CASSANDRA_HOSTS": stack.host, "CASSANDRA_PORT": str(PORTS["cassandra"]), "SPEED_KEYSPACE": "bench_api",
        "MONGO_URI": f"mongodb://{stack.host}:{PORTS['mongo']}", "MONGO_DATABASE": "bench_api",
        "REDIS_URL": f"redis://{stack.host}:{PORTS['redis']}/0", "API_RATE_LIMIT": "100000000",
    }  # fmt: skip
    settings = settings_from_env(env)
    rng = random.Random(7)
    now = datetime.now(UTC)
    api = None
    with tempfile.TemporaryDirectory(prefix="api-bench-") as scratch:
        workdir = Path(scratch)
        try:
            log("starting MongoDB, Redis and Cassandra")
            manager.up(stack, list(PORTS), emit=log)
            lake = Lake((workdir / "lake").as_uri())
            synthetic_gold(lake, args.movies, now, rng)
            cassandra.ensure_schema(settings.speed)
            windows = speed_windows(args.movies, now)
            cassandra.write_rows(settings.speed, "movie_windows", cassandra.WINDOW_COLUMNS, windows)
            db = pymongo.MongoClient(settings.serving.mongo_uri, tz_aware=True)[settings.serving.mongo_database]
            db.client.drop_database(db.name)
            export.export(lake, settings.speed, db, "bench", now=now, emit=lambda line: log(f"  export: {line}"))
            key = keys.create(db, "bench")
            wait_until_idle()  # Cassandra flushes and compacts what was just written: not part of any request

            log(f"API with the cache on, {args.workers} workers; hot set of 100 movies, {args.connections} connections")
            api = Api(env, args.workers, workdir / "api.log")
            hot = request_mix(rng.sample(range(1, args.movies + 1), 100))
            api.get_each(hot, key)  # warm-up: connections made, every answer cached
            run_wrk(hot, key, WARM_UP_S, args.connections, workdir)  # and the JVMs of MongoDB and Cassandra compiled
            before = api.cache_lookups()
            cached = run_wrk(hot, key, args.seconds, args.connections, workdir)
            after = api.cache_lookups()
            hits, stale, misses = (after.get(r, 0) - before.get(r, 0) for r in ("hit", "stale", "miss"))
            hits += stale  # answered from the cache too (while one request rebuilds the entry)
            api.stop()

            log(f"API with the cache off; {UNCACHED_MOVIES:,} movies, {UNCACHED_CONNECTIONS} connections")
            api = Api({**env, "API_CACHE_TTL_S": "0"}, args.workers, workdir / "api.log")
            sample = request_mix(rng.sample(range(1, args.movies + 1), UNCACHED_MOVIES))
            run_wrk(sample, key, WARM_UP_S, 4, workdir)  # warm-up: connections, the JVMs' JIT, the databases' caches
            uncached = run_wrk(sample, key, args.seconds, UNCACHED_CONNECTIONS, workdir)
        except BaseException:
            log_file = workdir / "api.log"
            if log_file.exists():
                log(log_file.read_text()[-3000:])
            raise
        finally:
            if api is not None:
                api.stop()
            manager.down(stack, list(PORTS), emit=log)
    record(
        {
            "api_cached_rps": round(cached["rps"]),
            "api_cached_p99_ms": round(cached["p99_us"] / 1000, 1),
            "api_cache_hit_ratio": round(hits / (hits + misses), 3) if hits + misses else 0.0,
            "api_uncached_p99_ms": round(uncached["p99_us"] / 1000, 1),
            "api_uncached_rps": round(uncached["rps"]),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
