"""The Airflow UI tour behind docs/screenshots/: a backfill created through the REST API (as the
UI's Backfill dialog does) on the local stack's PostgreSQL-backed Airflow, run to completion,
then screenshots taken with headless Chromium of the backfilled runs, a run's Data quality tab,
the Data quality page and a Great Expectations report.

    make ui-tour          # installs Chromium (Debian) and Playwright (PyPI) when missing

Uses the stack on its default ports (starts PostgreSQL and Airflow if they are not running),
the simulator on 8765 (what airflow_settings.yaml points tmdb_default at) and the default lake.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from browser import airflow_login, photograph  # scripts/, beside this file

from movie_harness import REPO_ROOT
from movie_harness.stack import manager
from movie_harness.stack.airflow_api import AirflowApi as Api
from movie_harness.stack.services import StackSettings
from movie_pipeline.intervals import parse_instant

SHOTS = REPO_ROOT / "docs" / "screenshots"
BIN = Path(sys.executable).parent
DEMO_KEY = "0123456789abcdef0123456789abcdef"


def run_backfill(api: Api, start: datetime, end: datetime, timeout: float) -> list[dict]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any(d["dag_id"] == "movie_batch" for d in api("/api/v2/dags")["dags"]):
        time.sleep(3)
    api("/api/v2/dags/movie_batch", "PATCH", {"is_paused": False})
    body = {"dag_id": "movie_batch", "from_date": start.isoformat(), "to_date": end.isoformat(), "max_active_runs": 1}
    backfill = api("/api/v2/backfills", "POST", {**body, "reprocess_behavior": "completed"})
    print(f"backfill {backfill['id']} created: movie_batch from {start} to {end}", flush=True)
    deadline = time.monotonic() + timeout
    while True:
        runs = [r for r in api("/api/v2/dags/movie_batch/dagRuns?limit=100")["dag_runs"] if r["run_type"] == "backfill"]
        runs = [r for r in runs if start <= parse_instant(r["logical_date"]) <= end]
        states = sorted(r["state"] for r in runs)
        print(f"  backfill runs: {states}", flush=True)
        if runs and all(s in ("success", "failed") for s in states):
            return runs
        if time.monotonic() > deadline:
            raise SystemExit(f"the backfill did not finish within {timeout:.0f} s: {states}")
        time.sleep(15)


def screenshots(api: Api, run_id: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    taken = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        airflow_login(page, api)
        views = {
            "backfill-runs.png": f"{api.base}/dags/movie_batch/runs",
            "run-data-quality-tab.png": f"{api.base}/dags/movie_batch/runs/{run_id}/plugin/data-quality-run",
            "data-quality-page.png": f"{api.base}/data-quality/",
            "data-quality-run.png": f"{api.base}/data-quality/runs/movie_batch/{urllib.request.quote(run_id, safe='')}",
        }
        taken += photograph(page, views, SHOTS)
        page.goto(views["data-quality-run.png"])
        page.click("text=report")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SHOTS / "great-expectations-report.png", full_page=False)
        taken.append(SHOTS / "great-expectations-report.png")
        browser.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-date", default="2026-11-26T00:00:00Z", help="first logical date of the backfill")
    parser.add_argument("--intervals", type=int, default=3, help="4-hour intervals to backfill")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the backfill")
    parser.add_argument("--screenshots-only", action="store_true", help="photograph the runs of an earlier tour")
    args = parser.parse_args()
    start = parse_instant(args.from_date)
    end = start + timedelta(hours=4) * (args.intervals - 1)

    settings = StackSettings.from_env()
    manager.up(settings, ["airflow"])
    if args.screenshots_only:
        api = Api(settings)
        runs = [r for r in api("/api/v2/dags/movie_batch/dagRuns?limit=100")["dag_runs"] if r["run_type"] == "backfill"]
        if not runs:
            raise SystemExit("no backfill runs of movie_batch yet: run `make ui-tour` without --screenshots-only")
        for path in screenshots(api, runs[0]["dag_run_id"]):
            print(f"  screenshot: {path.relative_to(REPO_ROOT)}")
        return
    simulator = subprocess.Popen(
        [str(BIN / "movie-pipeline"), "tmdb-sim", "--movies", "600", "--rate-limit", "100"], stdout=subprocess.PIPE
    )
    try:
        print(simulator.stdout.readline().decode().strip(), flush=True)
        previous = start - timedelta(hours=4)
        env_key = {"TMDB_BASE_URL": "http://127.0.0.1:8765/3", "TMDB_API_KEY": DEMO_KEY, "TMDB_RATE_LIMIT": "40"}
        print("full load of the interval before the backfill (the backfill's runs are then incremental) ...", flush=True)
        subprocess.run(
            [str(BIN / "movie-pipeline"), "ingest", "--start", previous.isoformat(), "--end", start.isoformat(), "--full"],
            env={**os.environ, **env_key},
            check=True,
        )
        api = Api(settings)
        runs = run_backfill(api, start, end, args.timeout)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
    failed = [r["dag_run_id"] for r in runs if r["state"] != "success"]
    if failed:
        raise SystemExit(f"backfill runs failed: {failed}; see {api.base}/dags/movie_batch/runs")
    print(f"all {len(runs)} backfill runs succeeded", flush=True)
    for path in screenshots(api, runs[0]["dag_run_id"]):
        print(f"  screenshot: {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
