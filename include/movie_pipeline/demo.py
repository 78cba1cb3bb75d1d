"""``make demo``: the pipeline on local defaults, end to end as far as it is built.

1. starts the offline TMDB simulator (its own process);
2. ingests the previous 4-hour interval with a full load (the ``movie-pipeline ingest`` CLI);
3. runs the ``movie_batch`` DAG in Airflow (``airflow dags test``) for the latest complete
   interval: an incremental load through the Airflow connection ``tmdb_default``, then
   bronze -> silver -> gold on Spark (``spark_default``), Great Expectations after each layer;
4. says what was written where and what to open next.

Safe to run again: each interval's bronze partitions are replaced, never appended to.
Tunables: DEMO_MOVIES (catalogue size, default 1000), DEMO_RATE_LIMIT (req/s, default 40).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from movie_pipeline.airflow_settings import connection_env
from movie_pipeline.config import DEFAULT_LAKE_URI, PROJECT_ROOT, settings_from_env
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import BRONZE_ENTITIES, GOLD_VIEWS, MANIFEST_FILE, SILVER_TABLES, Lake
from movie_pipeline.quality.checks import docs_root
from movie_pipeline.tasks import BATCH_PERIOD

DEMO_KEY = "0123456789abcdef0123456789abcdef"  # the simulator accepts any 32-hex key; not a secret
BIN = Path(sys.executable).parent
AIRFLOW_HOME = PROJECT_ROOT / ".local" / "airflow"
RUN_LOG = AIRFLOW_HOME / "movie_batch-demo-run.log"


def step(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def run(command: list[str], env: dict[str, str], log: Path | None = None) -> None:
    """Run a step; with ``log`` its output goes to that file (printed in full if it fails)."""
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=log is not None, text=True)
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        if log is not None:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"demo: `{' '.join(command[:3])} ...` failed with exit code {done.returncode}")


def latest_intervals(now: datetime) -> tuple[Interval, Interval]:
    latest = Interval.latest_complete(now, BATCH_PERIOD)
    return Interval(latest.start - BATCH_PERIOD, latest.start), latest


def main() -> None:
    movies = os.environ.get("DEMO_MOVIES", "1000")
    rate = os.environ.get("DEMO_RATE_LIMIT", "40")
    lake_uri = os.environ.get("LAKE_URI") or DEFAULT_LAKE_URI
    port = free_port(8765)
    base_url = f"http://127.0.0.1:{port}/3"
    previous, latest = latest_intervals(datetime.now(UTC))

    step(f"1/4 TMDB simulator: {movies} synthetic movies on {base_url}")
    simulator = subprocess.Popen(
        [str(BIN / "movie-pipeline"), "tmdb-sim", "--port", str(port), "--movies", movies, "--rate-limit", "50"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        print(simulator.stdout.readline().strip(), flush=True)
        env = {**os.environ, "TMDB_BASE_URL": base_url, "TMDB_API_KEY": DEMO_KEY, "TMDB_RATE_LIMIT": rate, "LAKE_URI": lake_uri}

        step(f"2/4 full load of {previous} into bronze (movie-pipeline ingest --full)")
        run(
            [str(BIN / "movie-pipeline"), "ingest", "--start", previous.start.isoformat(), "--end", previous.end.isoformat(), "--full"], env
        )

        step(f"3/4 Airflow runs movie_batch for {latest}: incremental load, then bronze -> silver -> gold on Spark")
        airflow_env = {
            **{k: v for k, v in env.items() if not k.startswith("TMDB_")},  # inside Airflow, the connection supplies TMDB settings
            **connection_env(overrides={"tmdb_default": {"host": base_url, "password": DEMO_KEY, "extra": {"rate_limit": float(rate)}}}),
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
        print("migrating Airflow's metadata DB (SQLite, first run only takes a while) ...", flush=True)
        run([str(BIN / "airflow"), "db", "migrate"], airflow_env, log=AIRFLOW_HOME / "db-migrate.log")
        run([str(BIN / "airflow"), "dags", "test", "movie_batch", latest.end.isoformat()], airflow_env, log=RUN_LOG)
        print(f"movie_batch run for {latest}: success", flush=True)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)

    step("4/4 what was written, and where to look")
    lake = Lake(lake_uri)
    print(f"lake: {lake_uri}")
    for entity in BRONZE_ENTITIES:
        for interval in (previous, latest):
            manifest_path = f"{lake.bronze_partition(entity, interval)}/{MANIFEST_FILE}"
            if lake.fs.exists(manifest_path):
                with lake.fs.open(manifest_path) as handle:
                    manifest = json.load(handle)
                print(f"  bronze/{entity:<14} {interval.partition}  {manifest['records']:>6} records ({manifest['mode']} load)")
    for layer, tables in (("silver", SILVER_TABLES), ("gold", GOLD_VIEWS)):
        for table in tables:
            path = lake.path(layer, table)
            if lake.fs.exists(path):
                print(f"  {layer}/{table:<{22 - len(layer)}} {pq.read_table(path).num_rows:>6} rows (Parquet)")
    details = lake.bronze_partition("movie_details", previous)
    quality = settings_from_env().quality_dir
    print(
        "\ndata quality (Great Expectations after each layer):\n"
        f"  - Data Docs of every validation:  {docs_root(quality) / 'index.html'}\n"
        "  - in the Airflow UI, with each run's pass rate per layer: `make stack-up`, run or backfill\n"
        "    movie_batch there, then open http://localhost:8080/data-quality/ (or a run's Data quality tab)"
    )
    print(
        "\nnext:\n"
        f"  - a movie as TMDB sent it, in its bronze envelope:\n      head -c 700 {details}/part-00000.jsonl\n"
        f"  - the Airflow run, task log included (progress, summary):\n      less {RUN_LOG}\n"
        "  - the simulator, to explore the API by hand:\n"
        f"      .venv/bin/movie-pipeline tmdb-sim   then   curl 'http://127.0.0.1:8765/3/movie/5?api_key={DEMO_KEY}&append_to_response=reviews'\n"
        "  - ingest any interval yourself (see README, Configuration):\n"
        "      .venv/bin/movie-pipeline ingest --start 2026-11-20T00:00:00Z --end 2026-11-20T04:00:00Z"
    )


if __name__ == "__main__":
    main()
