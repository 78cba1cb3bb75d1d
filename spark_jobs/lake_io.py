"""Reading bronze and replacing lake tables from Spark, through Hadoop's FileSystem (file:// and hdfs://)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_pipeline.lake import PART_FILE, Lake


def _filesystem(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def bronze_lines(spark: SparkSession, lake: Lake, entity: str) -> DataFrame:
    """Every committed line of a bronze entity as (value, source_partition); empty when none."""
    pattern = lake.spark_uri("bronze", entity, "interval_start=*", PART_FILE)
    fs, path = _filesystem(spark, pattern)
    if not fs.globStatus(path):
        return spark.createDataFrame([], "value string, source_partition string")
    return spark.read.text(pattern).select(
        "value", F.regexp_extract(F.input_file_name(), r"(interval_start=[^/]+)", 1).alias("source_partition")
    )


def swap_in(spark: SparkSession, staged_uri: str, final_uri: str) -> None:
    """Replace ``final_uri`` by ``staged_uri`` with renames (the old copy is deleted after)."""
    fs, final = _filesystem(spark, final_uri)
    _, staged = _filesystem(spark, staged_uri)
    jvm = spark.sparkContext._jvm
    old = jvm.org.apache.hadoop.fs.Path(final_uri.rstrip("/") + ".replaced")
    if fs.exists(old):
        fs.delete(old, True)
    if fs.exists(final):
        fs.rename(final, old)
    fs.mkdirs(final.getParent())
    if not fs.rename(staged, final):
        raise RuntimeError(f"could not move {staged_uri} to {final_uri}")
    if fs.exists(old):
        fs.delete(old, True)
    staging_run = staged.getParent()
    if fs.exists(staging_run) and not fs.listStatus(staging_run):
        fs.delete(staging_run, True)


def replace_tables(spark: SparkSession, lake: Lake, layer: str, tables: dict[str, DataFrame], run_id: str) -> dict[str, int]:
    """Write each table to ``<lake>/<layer>/<name>`` (Parquet) by staging and swap; return row counts."""
    counts = {}
    for name, frame in tables.items():
        staged = lake.spark_uri("_staging", f"{layer}-{run_id}", name)
        frame.write.mode("overwrite").parquet(staged)
        final = lake.spark_uri(layer, name)
        swap_in(spark, staged, final)
        counts[name] = spark.read.parquet(final).count()
    return counts
