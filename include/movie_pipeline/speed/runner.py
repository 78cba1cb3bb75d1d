"""The speed layer's long-running jobs, and where they run.

``JobRunner`` is the small interface the supervisor DAG uses: start a job (detached), say whether
it is alive (and for how long), stop it. ``SPEED_JOB_RUNNER`` chooses the runner (``runner_for``):

- ``local``: ``LocalProcessRunner`` runs each job as a detached local process with its pid and
  log under ``<state dir>/<job>/``.
- ``standalone``: ``StandaloneRunner`` puts the streaming job on a Spark standalone cluster
  (``SPARK_MASTER=spark://...``) and judges and kills it through the master's API.

A runner for Spark on Kubernetes or YARN implements the same methods; the job's command line
(``job_command``) already takes the master from ``SPARK_MASTER``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Protocol

from movie_pipeline.config import PROJECT_ROOT, SpeedSettings, settings_from_env
from movie_pipeline.errors import ConfigError, PipelineError
from movie_pipeline.processes import http_json, owned_process, spawn, tail, terminate
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


class StandaloneRunner(LocalProcessRunner):
    """The streaming job on a Spark standalone cluster; the producer, not a Spark job, as with the local runner.

    The job's driver runs here in client mode (a standalone master runs no Python driver in cluster
    mode) and its executors on the workers. The master's JSON API (``SPARK_MASTER_UI_URL/json/``)
    is the truth: the job is alive while the master lists its application (running, or waiting for
    executors), its uptime is the application's; a driver that has not registered yet counts as
    starting for ``REGISTER_GRACE_S``. ``stop`` kills the application through the master (the
    executors go with it), then the driver.
    """

    REGISTER_GRACE_S = 120.0

    def __init__(self, speed: SpeedSettings, env: dict[str, str] | None = None) -> None:
        super().__init__(speed, env)
        if not (speed.spark_master.startswith("spark://") and speed.spark_master_ui_url):
            raise ConfigError(
                "SPEED_JOB_RUNNER=standalone needs SPARK_MASTER=spark://host:port (inside Airflow: the spark_default connection) "
                f"and SPARK_MASTER_UI_URL (the master's web UI), got SPARK_MASTER={speed.spark_master!r}, "
                f"SPARK_MASTER_UI_URL={speed.spark_master_ui_url!r}"
            )
        self.master_ui = speed.spark_master_ui_url.rstrip("/")

    def application(self, job: str) -> dict | None:
        """The master's entry of the job's live application (the newest, should there be two), or None."""
        state = http_json(f"{self.master_ui}/json/", timeout=10)
        if state is None:
            raise PipelineError(f"the Spark master does not answer at {self.master_ui}/json/: cannot tell whether {job} runs")
        apps = [app for app in state.get("activeapps", []) if app.get("name") == job and app.get("state") in LIVE_APP_STATES]
        return max(apps, key=lambda app: app.get("starttime", 0)) if apps else None

    def is_alive(self, job: str) -> bool:
        return self.uptime_s(job) is not None

    def uptime_s(self, job: str) -> float | None:
        if job != SPEED_VIEWS:
            return super().uptime_s(job)
        app = self.application(job)
        if app is not None:
            return max(0.0, time.time() - app["starttime"] / 1000)
        age = super().uptime_s(job)  # the local driver's, not yet registered
        return age if age is not None and age < self.REGISTER_GRACE_S else None

    def start(self, job: str) -> int:
        """Submit the job unless the master runs it (or its driver is still registering); return the driver's pid.
        A driver left behind by an application the master no longer lists is stopped first."""
        if job == SPEED_VIEWS and not self.is_alive(job) and self.pid(job) is not None:
            super().stop(job)
        return super().start(job)

    def stop(self, job: str) -> None:
        if job == SPEED_VIEWS and (app := self.application(job)) is not None:
            self.kill_application(app["id"])
        super().stop(job)

    def kill_application(self, app_id: str) -> None:
        """Kill an application through the master's UI (``spark.ui.killEnabled``, on by default), as its (kill) link
        does: the form on the master's page carries the CSRF token Spark 4.2 requires of a state-changing request."""
        import re
        import urllib.parse
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.master_ui}/", timeout=10) as response:  # noqa: S310 - the configured master
                page = response.read().decode(errors="replace")
            token = re.search(r'name="csrfToken" value="([0-9a-fA-F]+)"', page)
            form = {"id": app_id, "terminate": "true", **({"csrfToken": token[1]} if token else {})}
            with urllib.request.urlopen(f"{self.master_ui}/app/kill/", data=urllib.parse.urlencode(form).encode(), timeout=10):  # noqa: S310
                pass
        except OSError as error:
            raise PipelineError(f"the Spark master at {self.master_ui} did not kill {app_id}: {error}") from error


LIVE_APP_STATES = ("RUNNING", "WAITING")
RUNNERS = {"local": LocalProcessRunner, "standalone": StandaloneRunner}


def runner_for(speed: SpeedSettings, env: dict[str, str] | None = None) -> LocalProcessRunner:
    """The runner ``SPEED_JOB_RUNNER`` names, its jobs getting ``env`` over this process's environment."""
    return RUNNERS[speed.job_runner](speed, env)


def runner_from_environment(env: dict[str, str] | None = None) -> LocalProcessRunner:
    """The runner of the settings read from the environment its jobs get: this process's, with ``env`` over it."""
    return runner_for(settings_from_env({**os.environ, **(env or {})}).speed, env)
