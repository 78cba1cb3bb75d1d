"""The shared command line of the spark-submit entrypoints: --run-id, --lake-uri, a session, a summary."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pyspark.sql import SparkSession

from movie_pipeline.config import settings_from_env
from movie_pipeline.spark_conf import SESSION_CONF


def spark_main(description: str, run: Callable[..., dict[str, int]], argv: list[str] | None = None, rebuild_flag: bool = False) -> int:
    """Parse the arguments, run ``run(spark, lake_uri, run_id[, full])`` in a session, print the row counts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--lake-uri", help="the lake's base URI (file://... or hdfs://...); default: LAKE_URI")
    parser.add_argument("--run-id", required=True, help="the Airflow run (recorded with every reject)")
    if rebuild_flag:
        parser.add_argument("--full", action="store_true", help="rebuild from all of the input instead of merging what is new")
    args = parser.parse_args(argv)
    options = {"full": args.full} if rebuild_flag else {}
    spark = SparkSession.builder.appName(description.split(":")[0]).config(map=SESSION_CONF).getOrCreate()
    try:
        counts = run(spark, args.lake_uri or settings_from_env().lake_uri, args.run_id, **options)
    finally:
        spark.stop()
    print("rows written: " + ", ".join(f"{name}={count}" for name, count in counts.items()))
    return 0
