"""The cluster profile: cold start, idle memory, and the 100k-movie batch on Spark standalone + HDFS
beside local Spark on files, measured in the same run of the machine.

A fresh cluster stack (its own state directory and ports) is started with ``stack up --profile
cluster`` (jars cached), left idle, its resident memory summed over every node. A 100k-movie
bronze is filled locally (bench/bronze_fill.py), copied to the cluster's HDFS, and both batch jobs
run from scratch by spark-submit, as the DAG's SparkSubmitOperator runs them: once with
``--master local[2]`` on the local files, once on the standalone master with the lake on HDFS.

    cluster_stack_start_s   seconds from `stack up --profile cluster` to every node ready
    cluster_stack_rss_mb    the nodes' idle resident memory, MiB (target < 16,000)
    cluster_batch_100k_s    bronze -> silver -> gold from scratch on the cluster, 100k movies, seconds
    cluster_batch_ratio     that / the same jobs on local[2] and local files in this run: two workers
                            on the same two cores are not faster, and HDFS writes every block thrice
    cluster_batch_local_100k_s  those same jobs on local[2] and files, by spark-submit beside the idle
                            cluster (batch_100k_s is batch_bench's: one warm session, nothing beside it)

    python bench/cluster_bench.py [--movies 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bronze_fill import fill, log
from results import record

import spark_jobs
from movie_harness import REPO_ROOT
from movie_harness.stack import manager
from movie_harness.stack.services import HdfsNameNode, SparkMaster, StackSettings
from movie_harness.stack.services.airflow import cluster_environment
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from movie_pipeline.spark_conf import SESSION_CONF, local_driver_env, submit_args

PORTS = {
    "postgres": 6632, "redis": 7579, "kafka": 10292, "mongo": 28217, "cassandra": 10242, "hdfs": 9220, "hdfs_http": 11070,
    "hdfs_datanode": 11164, "spark_master": 11077, "spark_master_ui": 11081, "spark_rest": 11066, "spark_worker_ui": 11082,
    "airflow": 9280,
}  # fmt: skip
IDLE_S = 30
INTERVAL = Interval.parse("2026-11-20T04:00:00Z", "2026-11-20T08:00:00Z")


def batch(master: str, lake_uri: str, env: dict[str, str]) -> float:
    """Both batch jobs from scratch by spark-submit; their seconds."""
    started = time.monotonic()
    for job, extra in (("bronze_to_silver", ["--full"]), ("silver_to_gold", [])):
        command = [str(Path(sys.executable).with_name("spark-submit")), "--master", master, *submit_args(SESSION_CONF)]
        command += [str(Path(spark_jobs.__file__).with_name(f"{job}.py")), "--run-id", "bench", "--lake-uri", lake_uri, *extra]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{job} on {master} failed:\n{done.stderr[-3000:]}")
        log(f"  {job} on {master}: {done.stdout.strip().splitlines()[-1]}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", type=int, default=100_000, help="catalogue size of the batch figures")
    args = parser.parse_args()

    state_dir = REPO_ROOT / ".local" / "bench-cluster-stack"
    shutil.rmtree(state_dir, ignore_errors=True)
    env = {"STACK_STATE_DIR": str(state_dir), **{f"STACK_{name.upper()}_PORT": str(port) for name, port in PORTS.items()}}
    stack = StackSettings.from_env(env, profile="cluster")
    work = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    figures: dict[str, float] = {}
    try:
        figures["cluster_stack_start_s"] = round(manager.up(stack, emit=log), 1)
        log(f"idle for {IDLE_S} s ...")
        time.sleep(IDLE_S)
        rows = manager.status(stack)
        not_ready = [row["name"] for row in rows if row["state"] != "ready"]
        if not_ready:
            raise SystemExit(f"not ready after the idle wait: {not_ready}")
        for row in rows:
            log(f"  {row['name']:<22} {row['rss_mb']:>8.0f} MiB")
        figures["cluster_stack_rss_mb"] = round(sum(row["rss_mb"] for row in rows))

        local = Lake((work / "lake").as_uri())
        log(f"bronze of {args.movies} movies ...")
        fill(args.movies, INTERVAL, local.uri)
        base_env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
        local_s = batch("local[2]", local.uri, {**base_env, **local_driver_env("local[2]", base_env)})
        label = f"{args.movies // 1000}k"

        cluster_env = {**base_env, **cluster_environment(stack), "SPARK_LOCAL_IP": stack.host}
        hdfs = Lake(cluster_env["LAKE_URI"], cluster_env["LAKE_WEBHDFS"])
        log("copying bronze to HDFS ...")
        hdfs.fs.put(local.path("bronze"), hdfs.path("bronze"), recursive=True)
        cluster_s = batch(SparkMaster(stack).url, f"{HdfsNameNode(stack).uri}/lake", cluster_env)
        log(f"{label}: local[2] on files {local_s:.1f} s, the cluster on HDFS {cluster_s:.1f} s")
        figures[f"cluster_batch_{label}_s"] = round(cluster_s, 1)
        figures[f"cluster_batch_local_{label}_s"] = round(local_s, 1)
        figures["cluster_batch_ratio"] = round(cluster_s / local_s, 2)
    finally:
        manager.down(stack, emit=log)
        shutil.rmtree(work, ignore_errors=True)
    record(figures)


if __name__ == "__main__":
    main()
