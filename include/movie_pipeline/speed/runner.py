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

from movie_pipeline.config import PROJECT_ROOT, SpeedSettings, settings_from_env
from movie_pipeline.errors import ConfigError
from movie_pipeline.processes import owned_process, spawn, tail, terminate
from movie_pipeline.spark_conf import STREAMING_CONF, connector_jars, local_driver_env, package_dir, submit_args
from movie_pipeline.speed.jobs import JOBS, PRODUCER, SPEED_VIEWS


def streaming_app(speed: SpeedSettings) -> Path:
    """The streaming job's file: ``SPEED_STREAMING_APP``, or the one of the installed ``spark_jobs`` (found, not imported)."""
    if speed.streaming_app is not None:
        app = speed.streaming_app
    else:
        jobs = package_dir("spark_jobs")
        if jobs is None:
            raise ConfigError("the Spark jobs (spark_jobs) are not installed here: set SPEED_STREAMING_APP to the streaming job's file")
        app = jobs / "streaming" / "speed_views.py"
    if not app.is_file():
        raise ConfigError(
            f"the streaming job {app} does not exist: set SPEED_STREAMING_APP to the file of spark_jobs/streaming/speed_views.py"
        )
    return app


def spark_jars_args(speed: SpeedSettings) -> list[str]:
    """spark-submit's connector arguments: ``--packages`` when SPARK_JARS_PACKAGES is set, else ``--jars`` of SPARK_JARS_DIR."""
    if speed.spark_jars_packages:
        return ["--packages", speed.spark_jars_packages]
    return ["--jars", ",".join(connector_jars(speed.spark_jars_dir))]


def job_command(job: str, speed: SpeedSettings) -> list[str]:
    """The command line of a job; the other settings travel in the environment."""
    bin_dir = Path(sys.executable).parent
    if job == PRODUCER:
        return [str(bin_dir / "movie-pipeline"), "produce"]  # PRODUCER_EVERY_S, PRODUCER_LEDGER in the environment
    if job == SPEED_VIEWS:
        return [
            str(bin_dir / "spark-submit"),
            "--master",
            speed.spark_master,
            *spark_jars_args(speed),
            *submit_args(STREAMING_CONF),
            str(streaming_app(speed)),
            "--trigger",
            speed.trigger,
        ]
    raise ConfigError(f"unknown speed-layer job {job!r}; the jobs are {', '.join(JOBS)}")


class JobRunner(Protocol):
    def start(self, job: str) -> int: ...
    def is_alive(self, job: str) -> bool: ...
    def uptime_s(self, job: str) -> float | None: ...
    def stop(self, job: str) -> None: ...


class LocalProcessRunner:
    def __init__(self, speed: SpeedSettings, env: dict[str, str] | None = None) -> None:
        self.speed = speed
        self.jobs_dir = speed.jobs_dir
        # TZ: PySpark hands timestamps to Python as naive local times, and the Cassandra driver reads naive as UTC
        self.env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "TZ": "UTC", **(env or {})}
        self.env.update(local_driver_env(speed.spark_master, self.env))

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> LocalProcessRunner:
        """A runner whose settings are read from the environment its jobs get: this process's, with ``env`` over it."""
        return cls(settings_from_env({**os.environ, **(env or {})}).speed, env)

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
        return spawn(job_command(job, self.speed), self.log_file(job), self.pid_file(job), self.env, PROJECT_ROOT)

    def stop(self, job: str) -> None:
        process = owned_process(self.pid_file(job))
        if process is not None:
            terminate(process, grace_s=60)

    def log_tail(self, job: str, lines: int = 30) -> str:
        return tail(self.log_file(job), lines)
