"""What the speed supervisor DAG's tasks do (``dags/movie_speed_supervisor.py`` only wires them).

Settings: the speed settings of ``movie_pipeline.config``: ``SPEED_JOBS`` (the jobs this supervisor
keeps running; a job run elsewhere is left out and its tasks are skipped), ``SPEED_JOBS_DIR``
(where the local runner keeps each job's pid and log), ``SPEED_MAX_LAG`` (events waiting in Kafka
above which the lag check fails), and how the streaming job is submitted (``SPARK_MASTER``,
``SPARK_JARS_DIR`` or ``SPARK_JARS_PACKAGES``, ``SPEED_STREAMING_APP``).
"""

from __future__ import annotations

import logging

from movie_pipeline.config import environment_from_airflow, settings_from_airflow
from movie_pipeline.speed.jobs import RESTART_VERDICTS, SPEED_VIEWS, STALLED, STARTING, UNSUPERVISED
from movie_pipeline.speed.runner import LocalProcessRunner, runner_for, runner_from_environment

log = logging.getLogger(__name__)


def runner() -> LocalProcessRunner:
    """The runner SPEED_JOB_RUNNER names, its jobs getting the task's environment with the settings of the Airflow connections."""
    return runner_from_environment(environment_from_airflow())


def ensure_topics_and_tables() -> dict[str, list[str]]:
    from movie_pipeline.speed.cassandra import ensure_schema
    from movie_pipeline.speed.topics import ensure_topics

    speed = settings_from_airflow().speed
    topics, tables = ensure_topics(speed), ensure_schema(speed)
    log.info("Kafka topics: %s; Cassandra tables in %s: %s", ", ".join(topics), speed.keyspace, ", ".join(tables))
    return {"topics": topics, "tables": tables}


def watch(job: str) -> tuple[bool, dict]:
    """One poke of a job's sensor: (is the verdict final, the status). A starting job is poked again."""
    from movie_pipeline.speed.health import JobStatus, job_status

    settings = settings_from_airflow()
    if job not in settings.speed.jobs:
        log.info("%s is not in SPEED_JOBS (%s): not supervised here", job, ",".join(settings.speed.jobs) or "none")
        return True, JobStatus(job, UNSUPERVISED, "not in SPEED_JOBS").as_dict()
    status = job_status(settings, runner_for(settings.speed), job)
    log.info("%s: %s (%s)", job, status.verdict, status.detail)
    return status.verdict != STARTING, status.as_dict()


def needs_restart(status: dict) -> bool:
    return status["verdict"] in RESTART_VERDICTS


def restart(status: dict) -> dict:
    """Stop a stalled job, start it again (from its checkpoint / ledger); log where its log is.

    A job gets the task's environment with what the connections define: TMDB (``tmdb_default``), Kafka, Cassandra and
    the Spark master."""
    job = status["job"]
    jobs = runner()
    if status["verdict"] == STALLED:
        log.warning("%s is stalled (%s): stopping it", job, status["detail"])
        jobs.stop(job)
    pid = jobs.start(job)
    log.warning("restarted %s (was %s): pid %d, log %s", job, status["verdict"], pid, jobs.log_file(job))
    return {"job": job, "was": status["verdict"], "pid": pid, "log": str(jobs.log_file(job))}


def check_lag(status: dict) -> int:
    """Fail (visibly) when more than SPEED_MAX_LAG events wait for the streaming job."""
    from airflow.sdk.exceptions import AirflowFailException

    max_lag = settings_from_airflow().speed.max_lag
    lag = status.get("lag")
    if status["job"] != SPEED_VIEWS or lag is None:
        return 0
    if lag > max_lag:
        raise AirflowFailException(f"{lag} events wait in Kafka for {SPEED_VIEWS} (more than SPEED_MAX_LAG={max_lag})")
    log.info("Kafka lag of %s: %d events (limit %d)", SPEED_VIEWS, lag, max_lag)
    return lag
