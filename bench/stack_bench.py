"""Local stack: cold start time (jars already cached) and idle memory of every service.

A fresh state directory on its own ports is started with `stack up`, left idle for a while, its
resident memory summed over all services (Airflow included), then stopped. Figures are merged
into bench/results/latest.json:

    stack_start_s    seconds from `stack up` to every service ready (target < 120)
    stack_rss_mb     sum of the services' RSS when idle, MiB (target < 8000)
"""

from __future__ import annotations

import shutil
import time

from results import record

from movie_pipeline.config import PROJECT_ROOT
from movie_pipeline.stack import manager
from movie_pipeline.stack.services import StackSettings

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


def main() -> None:
    state_dir = PROJECT_ROOT / ".local" / "bench-stack"
    shutil.rmtree(state_dir, ignore_errors=True)
    settings = StackSettings(state_dir=state_dir, ports=PORTS)
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
    finally:
        manager.down(settings)
    record({"stack_start_s": round(started, 1), "stack_rss_mb": rss}, {"stack_start_s": "< 120", "stack_rss_mb": "< 8000"})


if __name__ == "__main__":
    main()
