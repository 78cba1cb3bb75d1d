"""``make demo`` and ``make demo-down``: the whole system on this machine, run by Airflow.

``up``:

1. the local stack of the profile (``STACK_PROFILE``; ``make demo PROFILE=cluster``): PostgreSQL,
   Redis, Kafka, the MongoDB protocol, Cassandra, Airflow (the default profile's lake is local files,
   so no HDFS; the cluster's is on HDFS, its Spark jobs on the standalone master) and the demo's services: the TMDB simulator (unless ``TMDB_API_KEY``
   / ``TMDB_READ_TOKEN`` is set: then the real TMDB), the API, the statsd_exporter, Prometheus and
   Superset;
2. ``movie_speed_supervisor`` and ``movie_batch`` unpaused: the scheduler starts the speed jobs
   and runs the batch for the latest complete 4-hour interval (a full load into an empty bronze);
3. once gold is there, ``movie_serving_export`` unpaused and run: MongoDB and the analytics tables;
4. a demo API key, and where to look.

Safe to run again: running services are left alone, finished runs are not repeated, the API key
is reused while it is valid. ``down`` stops the speed jobs and every service; data stays in
``.local`` (``make clean`` removes it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from movie_harness import REPO_ROOT
from movie_harness.stack import manager
from movie_harness.stack.airflow_api import AirflowApi
from movie_harness.stack.services import StackSettings
from movie_harness.stack.services.airflow import speed_runner, uses_real_tmdb
from movie_harness.stack.services.postgres import ANALYTICS
from movie_harness.stack.services.serving import TmdbSimulator
from movie_harness.stack.services.superset import Superset
from movie_pipeline.errors import PipelineError

DEMO_DIR = REPO_ROOT / ".local" / "demo"
API_KEY_FILE = DEMO_DIR / "api-key"
BATCH, SUPERVISOR, EXPORT = "movie_batch", "movie_speed_supervisor", "movie_serving_export"
DAGS = (BATCH, SUPERVISOR, EXPORT)
# the stack without HDFS (the demo's lake is local files), and the demo's own services
DEMO_SERVICES = ["kafka", "airflow", "api", "statsd-exporter", "prometheus", "superset"]
CLUSTER_SERVICES = ["hdfs", "spark", "cassandra"]  # the cluster profile's lake and Spark
TERMINAL = {"success", "failed"}


def step(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def follow_run(airflow: AirflowApi, dag_id: str, run: dict, timeout_s: float) -> dict:
    """Print each task of the run as it finishes; return the run once it has ended (raise if it failed)."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, str | None] = {}
    started = time.monotonic()
    while True:
        run = next(r for r in airflow.runs(dag_id, 50) if r["dag_run_id"] == run["dag_run_id"])
        for task_id, state in airflow.task_states(dag_id, run["dag_run_id"]).items():
            if state != seen.get(task_id) and state in ("running", "success", "failed", "up_for_retry", "skipped"):
                print(f"  {time.monotonic() - started:6.0f} s  {dag_id}.{task_id}: {state}", flush=True)
            seen[task_id] = state
        if run["state"] == "success":
            return run
        if run["state"] == "failed":
            failed = [task for task, state in seen.items() if state == "failed"]
            raise PipelineError(
                f"{dag_id} run {run['dag_run_id']} failed in {failed}: see its task logs at "
                f"{airflow.base}/dags/{dag_id}/runs/{run['dag_run_id']}"
            )
        if time.monotonic() > deadline:
            raise PipelineError(f"{dag_id} run {run['dag_run_id']} has not ended after {timeout_s:.0f} s (state {run['state']})")
        time.sleep(5)


def newest_run(airflow: AirflowApi, dag_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        runs = airflow.runs(dag_id)
        if runs:
            return runs[0]
        if time.monotonic() > deadline:
            raise PipelineError(f"the scheduler has not started a {dag_id} run within {timeout_s:.0f} s: is airflow-scheduler up?")
        time.sleep(3)


def wait_for_speed_jobs(settings: StackSettings, timeout_s: float) -> None:
    from movie_pipeline.speed.jobs import JOBS

    jobs = speed_runner(settings)
    deadline = time.monotonic() + timeout_s
    while not all(jobs.is_alive(job) for job in JOBS):
        if time.monotonic() > deadline:
            states = {job: "running" if jobs.is_alive(job) else "not running" for job in JOBS}
            raise PipelineError(f"the speed jobs are not all running after {timeout_s:.0f} s: {states}; logs under {jobs.jobs_dir}")
        time.sleep(5)
    for job in JOBS:
        print(f"  {job}: pid {jobs.pid(job)}, log {jobs.log_file(job)}", flush=True)


def demo_api_key(settings: StackSettings) -> str:
    """The demo's API key: the one kept in ``.local/demo/api-key`` while it is valid, else a new one."""
    import pymongo

    from movie_pipeline.serving import keys

    db = pymongo.MongoClient(settings.host, settings.ports["mongo"], tz_aware=True)["movies"]
    if API_KEY_FILE.exists() and keys.lookup(db, API_KEY_FILE.read_text().strip()) is not None:
        return API_KEY_FILE.read_text().strip()
    if any(record.name == "demo" and record.revoked_at is None for record in keys.all_keys(db)):
        keys.revoke(db, "demo")
    key = keys.create(db, "demo")
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    API_KEY_FILE.write_text(key + "\n")
    API_KEY_FILE.chmod(0o600)
    return key


def analytics_rows(settings: StackSettings) -> int:
    import psycopg2

    connection = psycopg2.connect(host=settings.host, port=settings.ports["postgres"], user=ANALYTICS, password=ANALYTICS, dbname=ANALYTICS)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM analytics.movies")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def up(settings: StackSettings) -> None:
    real_tmdb = uses_real_tmdb()
    simulator = TmdbSimulator(settings)
    step("1/5 the local stack and the demo's services (first run: JVM jars, Airflow's DB, Superset's venv, a Go build; minutes)")
    cluster = CLUSTER_SERVICES if settings.cluster else []
    manager.up(settings, [*([] if real_tmdb else [simulator.name]), *cluster, *DEMO_SERVICES])
    print(f"profile: {settings.profile} (state in {settings.state_dir})")
    print(f"TMDB: {'the real TMDB API (TMDB_API_KEY / TMDB_READ_TOKEN is set)' if real_tmdb else f'the simulator at {simulator.base_url}'}")

    step("2/5 Airflow: the speed supervisor and the batch DAG unpaused")
    airflow = AirflowApi(settings)
    airflow.wait_for_dags(list(DAGS))
    for dag_id in (SUPERVISOR, BATCH):
        airflow.unpause(dag_id)
        print(f"  {dag_id}: unpaused", flush=True)
    batch = newest_run(airflow, BATCH, 180)
    print(f"  {BATCH}: run {batch['dag_run_id']} ({batch['state']}): TMDB -> bronze -> silver -> gold on Spark, GX after each layer")
    batch = follow_run(airflow, BATCH, batch, 3600)

    step("3/5 the serving export: gold + the speed views -> MongoDB and the analytics tables")
    airflow.unpause(EXPORT)
    export = airflow(f"/api/v2/dags/{EXPORT}/dagRuns", "POST", {"logical_date": None, "note": "make demo"})
    print(f"  {EXPORT}: run {export['dag_run_id']} triggered (it also runs every 15 minutes and after each new gold)")
    export = follow_run(airflow, EXPORT, export, 1800)
    print(f"  analytics.movies: {analytics_rows(settings)} rows (PostgreSQL, database {ANALYTICS})")

    step("4/5 the speed layer (started by movie_speed_supervisor)")
    wait_for_speed_jobs(settings, 600)

    step("5/5 ready")
    key = demo_api_key(settings)
    where_to_look(settings, key)


def shown(path: Path) -> Path:
    """A path as the demo prints it: from the checkout when under it (STACK_STATE_DIR may be anywhere)."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def where_to_look(settings: StackSettings, key: str) -> None:
    host, ports = settings.host, settings.ports
    credentials = settings.state_dir / "airflow" / "admin-credentials.txt"
    superset = Superset(settings).credentials_file
    api = f"http://{host}:{ports['api']}"
    print(
        f"""
Airflow UI          http://{host}:{ports["airflow"]}   (user admin; password in {shown(credentials)})
data quality        http://{host}:{ports["airflow"]}/data-quality/   (and a run's "Data quality" tab)
API docs            {api}/docs
Superset            http://{host}:{ports["superset"]}/superset/dashboard/movie-analytics/   (user admin; password in {shown(superset)})
Prometheus          http://{host}:{ports["prometheus"]}/classic/alerts   (Debian's build has the classic UI; rules: deploy/prometheus/alerts.yml)
demo API key        {key}   (kept in {shown(API_KEY_FILE)}; more: .venv/bin/movie-pipeline api-keys create NAME)

try:
  curl -s -H "X-API-Key: {key}" '{api}/v1/movies?sort=popularity&limit=3'
  curl -s -H "X-API-Key: {key}" '{api}/v1/trending?window=24h'

services: .venv/bin/movie-pipeline stack status      stop everything: make demo-down""",
        flush=True,
    )


def down(settings: StackSettings) -> None:
    from movie_pipeline.speed.jobs import JOBS

    manager.down(settings, ["airflow"])  # first, so that the supervisor cannot restart the jobs
    jobs = speed_runner(settings)
    for job in JOBS:
        if jobs.is_alive(job):
            print(f"{job:<22} stopping (pid {jobs.pid(job)})", flush=True)
            jobs.stop(job)
    manager.down(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the whole pipeline on this machine, run by Airflow")
    parser.add_argument("action", choices=["up", "down"])
    args = parser.parse_args(argv)
    settings = StackSettings.from_env()
    try:
        up(settings) if args.action == "up" else down(settings)
    except PipelineError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
