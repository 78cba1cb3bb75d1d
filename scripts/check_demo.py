"""After `make demo`: every URL it printed answers, the sample API calls answer with data, every
query of the Grafana dashboards returns data from the running Prometheus, no Airflow page or API
answers without a login, and no log of the demo holds the TMDB key or the demo's API key.

    .venv/bin/python scripts/check_demo.py [--wait 300] [--run]

With ``--run`` (the last step of ``make test``) it brings the demo up first and down afterwards,
unless the demo was running already: then it is checked and left running. Exit status 0 when all
hold; otherwise each failure is printed. Rates need two scrapes (15 s apart)
of a counter that moved: the script makes its API requests first and retries the dashboard queries
for up to --wait seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from movie_harness import REPO_ROOT, demo
from movie_harness.stack.airflow_api import AirflowApi, open_without_login
from movie_harness.stack.services import StackSettings, all_services
from movie_harness.stack.services.monitoring import dashboard_queries, query
from movie_harness.stack.services.serving import DEMO_TMDB_KEY
from movie_pipeline.processes import tcp_open
from movie_pipeline.secrets_scan import find_secrets, log_files
from movie_pipeline.speed.jobs import JOBS
from movie_pipeline.speed.runner import LocalProcessRunner


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the local demo
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error).encode()


def check_urls(settings: StackSettings, key: str) -> list[str]:
    host, ports = settings.host, settings.ports
    airflow_login = {"Authorization": f"Bearer {AirflowApi(settings).token}"}
    api = f"http://{host}:{ports['api']}"
    pages = {
        "Airflow UI": f"http://{host}:{ports['airflow']}/",
        "data quality": f"http://{host}:{ports['airflow']}/data-quality/",
        "API docs": f"{api}/docs",
        "API OpenAPI": f"{api}/openapi.json",
        "Prometheus": f"http://{host}:{ports['prometheus']}/classic/alerts",
        "Superset": f"http://{host}:{ports['superset']}/login/",
    }
    failures = []
    for name, url in pages.items():
        status, _ = get(url, airflow_login if name == "data quality" else None)
        print(f"  {status}  {name:<14} {url}")
        if status != 200:
            failures.append(f"{name} ({url}) answered {status}")
    calls = [
        f"{api}/v1/movies?sort=popularity&limit=3",
        f"{api}/v1/trending?window=24h",  # the speed layer's (batch trending needs 7 days of history)
        f"{api}/v1/analytics/years",
    ]
    for round_ in range(3):  # repeated: the cache answers the later rounds (the dashboard's hit ratio)
        for url in calls:
            status, body = get(url, {"X-API-Key": key})
            data = json.loads(body).get("data") if status == 200 else None
            if round_ == 0:
                print(f"  {status}  {url}  ({len(data or [])} items)")
            if status != 200 or not data:
                failures.append(f"{url} answered {status}: {body[:200]!r}")
    movie_id = json.loads(get(calls[0], {"X-API-Key": key})[1])["data"][0]["movie_id"]
    for url in (f"{api}/v1/movies/{movie_id}", f"{api}/v1/movies/{movie_id}/sentiment?window=7d"):
        status, body = get(url, {"X-API-Key": key})
        print(f"  {status}  {url}")
        if status != 200:
            failures.append(f"{url} answered {status}: {body[:200]!r}")
    return failures


def check_security(settings: StackSettings, key: str) -> list[str]:
    answered, asked = open_without_login(settings)
    failures = [f"Airflow {path} answered {status} without a login" for path, status in answered.items()]
    print(f"  Airflow without a login: {asked} GET operations and pages asked, {len(answered)} answered")
    tmdb_key = os.environ.get("TMDB_API_KEY") or os.environ.get("TMDB_READ_TOKEN") or DEMO_TMDB_KEY
    files = list(log_files([REPO_ROOT / ".local"]))
    leaks, searched = find_secrets(files, {"TMDB key": tmdb_key, "demo API key": key})
    print(f"  {searched} log files searched for the TMDB key and the demo API key: {len(leaks)} found")
    unsearched = sorted(set(demo_logs(settings)) - set(files))
    failures += [f"secret in a log: {leak}" for leak in leaks]
    return failures + [f"a log the demo must have written was not searched: {path.relative_to(REPO_ROOT)}" for path in unsearched]


def demo_logs(settings: StackSettings) -> list[Path]:
    """The logs a demo run must have written, so that a search finding nothing had them to search: every running
    service's, the speed jobs' and the task logs of each DAG (a directory when a DAG has none)."""
    services = [service.log_file for service in all_services(settings) if service.is_ready()]
    jobs = [LocalProcessRunner.from_environment().log_file(job) for job in JOBS]
    task_logs = settings.state_dir / "airflow" / "logs"
    dags = [task_logs / f"dag_id={dag_id}" for dag_id in demo.DAGS]
    return services + jobs + [min(dag.rglob("*.log"), default=dag) for dag in dags]


def check_dashboards(settings: StackSettings, wait_s: float) -> list[str]:
    deadline = time.monotonic() + wait_s
    pending = dashboard_queries()
    while True:
        pending = [(title, promql) for title, promql in pending if not query(settings, promql)["result"]]
        if not pending or time.monotonic() > deadline:
            break
        print(f"  {len(pending)} dashboard queries without data yet; retrying ...", flush=True)
        time.sleep(15)
    answered = len(dashboard_queries()) - len(pending)
    print(f"  {answered} of {len(dashboard_queries())} dashboard queries return data")
    return [f"no data for {title}: {promql}" for title, promql in pending]


def check(settings: StackSettings, wait_s: float) -> int:
    if not demo.API_KEY_FILE.exists():
        print(f"no demo API key at {demo.API_KEY_FILE}: run `make demo` first", file=sys.stderr)
        return 1
    print("URLs and the sample API calls:")
    failures = check_urls(settings, demo.API_KEY_FILE.read_text().strip())
    print("Security:")
    failures += check_security(settings, demo.API_KEY_FILE.read_text().strip())
    print("Grafana dashboard queries against Prometheus:")
    failures += check_dashboards(settings, wait_s)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    print("demo check: " + ("all answered" if not failures else f"{len(failures)} failure(s)"))
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description="check a running `make demo`")
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for the dashboard queries to return data")
    parser.add_argument("--run", action="store_true", help="bring the demo up first and down afterwards (unless it was running)")
    args = parser.parse_args()
    settings = StackSettings.from_env()
    if not args.run:
        return check(settings, args.wait)
    was_running = tcp_open(settings.host, settings.ports["airflow"])
    started = time.monotonic()
    try:
        if demo.main(["up"]) != 0:
            return 1
        print(f"demo up after {time.monotonic() - started:.0f} s; checking it", flush=True)
        return check(settings, args.wait)
    finally:
        if was_running:
            print("the demo was running before this check: left running (make demo-down stops it)")
        else:
            demo.main(["down"])


if __name__ == "__main__":
    sys.exit(main())
