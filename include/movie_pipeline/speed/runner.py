"""The speed layer's long-running jobs, and where they run.

``JobRunner`` is the small interface the supervisor DAG uses: start a job (detached), say whether
it is alive, stop it. ``LocalProcessRunner`` runs each job as a detached local process with its
pid and log under ``<state dir>/<job>/``; a runner that submits to Spark on Kubernetes or YARN
implements the same three methods, and the job's command line (``job_command``) already takes
the master from ``SPARK_MASTER``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Protocol

from movie_pipeline.config import PROJECT_ROOT
from movie_pipeline.errors import ConfigError
from movie_pipeline.stack.process import owned_process, spawn, tail, terminate

PRODUCER = "producer"
SPEED_VIEWS = "speed_views"
JOBS = (PRODUCER, SPEED_VIEWS)
DEFAULT_JOBS_DIR = PROJECT_ROOT / ".local" / "speed" / "jobs"


def job_command(job: str, env: dict[str, str]) -> list[str]:
    """The command line of a job; the settings travel in the environment."""
    bin_dir = Path(sys.executable).parent
    if job == PRODUCER:
        return [str(bin_dir / "movie-pipeline"), "produce"]  # PRODUCER_EVERY_S, PRODUCER_LEDGER in the environment
    if job == SPEED_VIEWS:
        from movie_pipeline.stack.jvm import spark_connector_jars
        from spark_jobs.streaming import speed_views

        return [
            str(bin_dir / "spark-submit"),
            "--master",
            env.get("SPARK_MASTER", "local[2]"),
            "--jars",
            ",".join(spark_connector_jars()),
            "--conf",
            "spark.sql.session.timeZone=UTC",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.sql.shuffle.partitions=4",
            speed_views.__file__,
            "--trigger",
            env.get("SPEED_TRIGGER", "2 seconds"),
        ]
    raise ConfigError(f"unknown speed-layer job {job!r}; the jobs are {', '.join(JOBS)}")


class JobRunner(Protocol):
    def start(self, job: str) -> int: ...
    def is_alive(self, job: str) -> bool: ...
    def uptime_s(self, job: str) -> float | None: ...
    def stop(self, job: str) -> None: ...


class LocalProcessRunner:
    def __init__(self, jobs_dir: Path = DEFAULT_JOBS_DIR, env: dict[str, str] | None = None) -> None:
        self.jobs_dir = jobs_dir
        # TZ: PySpark hands timestamps to Python as naive local times, and the Cassandra driver reads naive as UTC
        self.env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "TZ": "UTC", **(env or {})}

    def pid_file(self, job: str) -> Path:
        return self.jobs_dir / job / "pid"

    def log_file(self, job: str) -> Path:
        return self.jobs_dir / job / f"{job}.log"

    def pid(self, job: str) -> int | None:
        process = owned_process(self.pid_file(job))
        return None if process is None else process.pid

    def is_alive(self, job: str) -> bool:
        return self.pid(job) is not None

    def uptime_s(self, job: str) -> float | None:
        process = owned_process(self.pid_file(job))
        return None if process is None else time.time() - process.create_time()

    def start(self, job: str) -> int:
        """Start the job unless it runs already; return its pid."""
        running = self.pid(job)
        if running is not None:
            return running
        self.pid_file(job).parent.mkdir(parents=True, exist_ok=True)
        return spawn(job_command(job, self.env), self.log_file(job), self.pid_file(job), self.env, PROJECT_ROOT)

    def stop(self, job: str) -> None:
        process = owned_process(self.pid_file(job))
        if process is not None:
            terminate(process, grace_s=60)

    def log_tail(self, job: str, lines: int = 30) -> str:
        return tail(self.log_file(job), lines)
