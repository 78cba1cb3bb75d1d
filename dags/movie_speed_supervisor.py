"""
### movie_speed_supervisor: keep the speed layer running

Every 5 minutes:

1. **ensure_topics_and_tables**: the Kafka topics (metric and review events, the compacted
   metadata topic, the dead letters) and the Cassandra views exist (idempotent).
2. **watch_&lt;job&gt;** (a sensor per long-running job: `producer`, `speed_views`): is the job's process
   alive, and is it making progress? Progress is the last micro-batch (or poll) recorded in
   Cassandra's `stream_progress`; for the streaming job it only counts when events wait in Kafka
   (its lag, from the offsets in its checkpoint). A job that was just started is given time to
   report (the sensor pokes again).
3. **&lt;job&gt;_needs_restart → restart_&lt;job&gt;**: a dead or stalled job is (stopped and) started
   again. The streaming job resumes from its checkpoint on the lake and the producer from its
   ledger, so nothing is lost or counted twice. A run in which `restart_*` succeeded (rather than
   being skipped) is a run that restarted something; its log names the job's log file.
4. **check_speed_lag**: fails, visibly, when more than `SPEED_MAX_LAG` events wait in Kafka.

Jobs run as detached local processes (`SPEED_JOBS_DIR`); running them on Spark on Kubernetes or
YARN is a change of runner and `SPARK_MASTER`, not of this DAG. Stop the speed layer by pausing
this DAG and stopping the jobs (`kill` the pids in `SPEED_JOBS_DIR/<job>/pid`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import PokeReturnValue, dag, task

from movie_pipeline.speed.jobs import JOBS, SPEED_VIEWS


@dag(
    dag_id="movie_speed_supervisor",
    schedule=timedelta(minutes=5),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["movies", "speed", "supervisor"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(seconds=30)},
)
def movie_speed_supervisor():
    @task
    def ensure_topics_and_tables() -> dict:
        """Kafka topics and Cassandra tables of the speed layer, created if missing."""
        from movie_pipeline.speed.supervisor import ensure_topics_and_tables

        return ensure_topics_and_tables()

    @task.sensor(poke_interval=20, timeout=300, mode="poke")
    def watch(job: str) -> PokeReturnValue:
        """Alive and making progress? (pokes again while a just-started job has not reported yet)"""
        from movie_pipeline.speed.supervisor import watch

        done, status = watch(job)
        return PokeReturnValue(is_done=done, xcom_value=status)

    @task.short_circuit
    def needs_restart(status: dict) -> bool:
        """True for a dead or stalled job; otherwise the restart is skipped."""
        from movie_pipeline.speed.supervisor import needs_restart

        return needs_restart(status)

    @task
    def restart(status: dict) -> dict:
        """Start the job again (stopping it first if it hangs)."""
        from movie_pipeline.speed.supervisor import restart

        return restart(status)

    @task
    def check_speed_lag(status: dict) -> int:
        """Fail when too many events wait in Kafka for the streaming job."""
        from movie_pipeline.speed.supervisor import check_lag

        return check_lag(status)

    ensured = ensure_topics_and_tables()
    for job in JOBS:
        status = watch.override(task_id=f"watch_{job}")(job)
        ensured >> status
        needs_restart.override(task_id=f"{job}_needs_restart")(status) >> restart.override(task_id=f"restart_{job}")(status)
        if job == SPEED_VIEWS:
            check_speed_lag(status)


movie_speed_supervisor()
