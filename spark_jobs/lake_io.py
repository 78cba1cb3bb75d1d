"""Reading bronze and replacing lake tables from Spark, through Hadoop's FileSystem (file:// and hdfs://)."""

from __future__ import annotations

import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_pipeline.lake import MANIFEST_FILE, PART_GLOB, STATE_FILE, Lake
from spark_jobs.silver_plan import BronzePartition

_PARTITION = r"(interval_start=[^/]+)"


def _filesystem(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _read_text(spark: SparkSession, fs, path) -> str:
    """A small file's text, read on the driver (Spark's file sources skip ``_``-files like ours)."""
    stream = fs.open(path)
    try:
        return spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()


def bronze_partitions(spark: SparkSession, lake: Lake, known: dict[str, BronzePartition] | None = None) -> list[BronzePartition]:
    """Every committed bronze partition, found by its manifest (written last, at commit).

    A manifest's modification time is the partition's version. Manifests are read on the driver
    (Spark's file sources skip ``_``-files), and only those not already in ``known`` (key ->
    partition) at the same version.
    """
    known = known or {}
    fs, pattern = _filesystem(spark, lake.spark_uri("bronze", "*", "interval_start=*", MANIFEST_FILE))
    found = []
    for status in fs.globStatus(pattern) or []:
        path = status.getPath()
        entity, partition = path.getParent().getParent().getName(), path.getParent().getName()
        version = str(status.getModificationTime())
        cached = known.get(f"{entity}/{partition}")
        if cached is not None and cached.version == version:
            found.append(cached)
            continue
        manifest = json.loads(_read_text(spark, fs, path))
        found.append(BronzePartition(entity, partition, manifest["interval_end"], version))
    return sorted(found)


def bronze_lines(spark: SparkSession, lake: Lake, entity: str, partitions: list[BronzePartition]) -> DataFrame:
    """The lines of an entity's given bronze partitions as (value, source_partition, observed_at).

    ``observed_at`` is the end of the data interval the partition was ingested for.
    """
    chosen = [p for p in partitions if p.entity == entity]
    if not chosen:
        return spark.createDataFrame([], "value string, source_partition string, observed_at timestamp")
    observed = spark.createDataFrame([(p.partition, p.interval_end) for p in chosen], "source_partition string, interval_end string")
    observed = observed.select("source_partition", F.to_timestamp("interval_end").alias("observed_at"))
    paths = [lake.spark_uri("bronze", entity, p.partition, PART_GLOB) for p in chosen]
    lines = spark.read.text(paths).select("value", F.regexp_extract(F.input_file_name(), _PARTITION, 1).alias("source_partition"))
    return lines.join(F.broadcast(observed), "source_partition").select("value", "source_partition", "observed_at")


def read_table(spark: SparkSession, lake: Lake, layer: str, name: str) -> DataFrame:
    return spark.read.parquet(lake.spark_uri(layer, name))


def read_state(spark: SparkSession, lake: Lake, layer: str) -> dict | None:
    """The layer's state file (None when absent)."""
    fs, path = _filesystem(spark, lake.spark_uri(layer, STATE_FILE))
    return json.loads(_read_text(spark, fs, path)) if fs.exists(path) else None


def write_state(spark: SparkSession, lake: Lake, layer: str, state: dict | None) -> None:
    """Write the layer's state file, or delete it with ``None``."""
    fs, path = _filesystem(spark, lake.spark_uri(layer, STATE_FILE))
    if state is None:
        if fs.exists(path):
            fs.delete(path, False)
        return
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(json.dumps(state, indent=1, sort_keys=True).encode()))
    finally:
        stream.close()


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
    """Write each table to ``<lake>/<layer>/<name>`` (Parquet); return row counts.

    Every table is staged before any is swapped in, so the new tables may be computed from the
    old ones, and a failure while computing leaves the layer as it was.
    """
    staged = {}
    for name, frame in tables.items():
        staged[name] = lake.staging_uri(f"{layer}-{run_id}", name)
        frame.write.mode("overwrite").parquet(staged[name])
    counts = {}
    for name, uri in staged.items():
        final = lake.spark_uri(layer, name)
        swap_in(spark, uri, final)
        counts[name] = spark.read.parquet(final).count()
    return counts
