"""Local stack: cold start time (jars already cached), idle memory, and Airflow's own scheduling figures.

A fresh state directory on its own ports is started with `stack up`, left idle for a while, its
resident memory summed over all services (Airflow included). Airflow's StatsD metrics go to a
UDP listener here; `movie_speed_supervisor` (its jobs unsupervised: nothing is started) is run
RUNS times through the REST API. Then the stack is stopped. Figures are merged into
bench/results/latest.json:

    stack_start_s               seconds from `stack up` to every service ready (target < 120)
    stack_rss_mb                sum of the services' RSS when idle, MiB (target < 8000)
    dag_parse_max_s             the slowest DAG file's parse time, from the dag-processor's
                                dag_processing.last_duration (target < 1)
    airflow_task_start_delay_s  the worst dagrun.first_task_start_delay of the scheduled runs: from a run being
                                queued until its first task runs (target <= 5)
    airflow_task_scheduled_p95_s  p95 over the runs' task instances of dag.<dag>.<task>.scheduled_duration:
                                from a task being schedulable until the scheduler queues it
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import threading
import time
from collections import defaultdict

from results import record

from movie_harness import REPO_ROOT
from movie_harness.stack import manager
from movie_harness.stack.airflow_api import AirflowApi
from movie_harness.stack.services import DEFAULT_PORTS, StackSettings

PORTS = {
    "postgres": 6532,
    "redis": 7479,
    "kafka": 10192,
    "mongo": 28117,
    "cassandra": 10142,
    "hdfs": 9120,
    "hdfs_http": 10970,
    "airflow": 9180,
}
IDLE_S = 30


RUNS = 3
TIMING = re.compile(r"^(?P<name>[\w.\-]+):(?P<value>[\d.]+)\|ms", re.MULTILINE)


class StatsdListener:
    """Airflow's StatsD timings received on a UDP port, by name without the ``airflow.`` prefix, as sent.

    The values are what the StatsD client sent with ``|ms``: milliseconds for durations Airflow passes as
    timedeltas (the task durations), but seconds for dag_processing.last_duration, which it passes as a
    float of seconds (StatsD sends a number as it is)."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.timings: dict[str, list[float]] = defaultdict(list)
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            datagram = self.socket.recv(65535).decode(errors="replace")
            for match in TIMING.finditer(datagram):
                self.timings[match["name"].removeprefix("airflow.")].append(float(match["value"]))

    def matching(self, suffix: str) -> dict[str, list[float]]:
        return {name: values for name, values in list(self.timings.items()) if name.endswith(suffix)}


def finished_run(api: AirflowApi, dag_id: str, matches, what: str, timeout_s: float = 300) -> str:
    """Wait until the DAG's run that ``matches`` has finished; its state."""
    deadline = time.monotonic() + timeout_s
    while True:
        states = [run["state"] for run in api.runs(dag_id) if matches(run)]
        if states and states[0] in ("success", "failed"):
            return states[0]
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} of {dag_id} did not finish in {timeout_s:.0f} s (state {states[0] if states else 'not created'})")
        time.sleep(2)


def airflow_figures(settings: StackSettings, statsd: StatsdListener) -> dict[str, float]:
    api = AirflowApi(settings)
    dag_id = "movie_speed_supervisor"
    api.wait_for_dags([dag_id])
    api.unpause(dag_id)
    # the start delay is the scheduled run's (queued -> first task): let it finish before the manual runs, or with
    # max_active_runs=1 it may wait queued behind one of them and the figure measures that wait
    finished_run(api, dag_id, lambda run: run["run_type"] == "scheduled", "the scheduled run")
    for i in range(RUNS):
        run_id = f"bench-{i}"
        api(f"/api/v2/dags/{dag_id}/dagRuns", "POST", {"dag_run_id": run_id, "logical_date": None})
        state = finished_run(api, dag_id, lambda run, run_id=run_id: run["dag_run_id"] == run_id, f"run {run_id}")
        print(f"  run {run_id}: {state}", flush=True)
        if state != "success":
            raise SystemExit(f"run {run_id} of {dag_id} failed: its task logs are under {settings.state_dir / 'airflow' / 'logs'}")
    time.sleep(5)  # the last StatsD packets
    # one timing per DAG file and parse: the legacy name carries the bundle and the file, the bare one neither
    parses = {name.removeprefix("dag_processing.last_duration").lstrip(".") or "(any file)": max(values)
              for name, values in statsd.matching("").items() if name.startswith("dag_processing.last_duration")}  # fmt: skip
    for name, seconds in sorted(parses.items()):
        print(f"  parse {name:<40} {seconds:.3f} s")
    # timedeltas, so in ms; first_task_start_delay comes from scheduled runs only (the unpaused DAG's own),
    # scheduled_duration under the legacy per-task names (dag.<dag>.<task>.scheduled_duration)
    start_delays = [ms / 1000 for ms in statsd.timings.get("dagrun.first_task_start_delay", [])]
    scheduled = [ms / 1000 for values in statsd.matching(".scheduled_duration").values() for ms in values]
    if not parses or not start_delays or not scheduled:
        raise SystemExit(f"no Airflow timings received over StatsD on port {statsd.port}: {sorted(statsd.timings)[:30]}")
    print(f"  runs queued -> first task running: {', '.join(f'{d:.2f}' for d in start_delays)} s")
    print(f"  tasks scheduled -> queued: {len(scheduled)} task instances, median {statistics.median(scheduled):.2f} s, "
          f"p95 {p95(scheduled):.2f} s, max {max(scheduled):.2f} s")  # fmt: skip
    return {
        "dag_parse_max_s": round(max(parses.values()), 3),
        "airflow_task_start_delay_s": round(max(start_delays), 2),
        "airflow_task_scheduled_p95_s": round(p95(scheduled), 2),
    }


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def main() -> None:
    state_dir = REPO_ROOT / ".local" / "bench-stack"
    shutil.rmtree(state_dir, ignore_errors=True)
    statsd = StatsdListener()
    os.environ["SPEED_JOBS"] = "none"  # the supervisor's runs start nothing
    settings = StackSettings(state_dir=state_dir, ports={**DEFAULT_PORTS, **PORTS, "statsd": statsd.port})
    try:
        started = manager.up(settings)
        print(f"idle for {IDLE_S} s before measuring memory ...", flush=True)
        time.sleep(IDLE_S)
        rows = manager.status(settings)
        for row in rows:
            print(f"  {row['name']:<22} {row['state']:<7} {row['rss_mb']:>8.1f} MiB")
        if any(row["state"] != "ready" for row in rows):
            raise SystemExit("a service is not ready; see `movie-pipeline stack logs`")
        rss = round(sum(row["rss_mb"] for row in rows), 1)
        scheduling = airflow_figures(settings, statsd)
    finally:
        manager.down(settings)
    record({"stack_start_s": round(started, 1), "stack_rss_mb": rss, **scheduling})


if __name__ == "__main__":
    main()
