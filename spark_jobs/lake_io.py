"""Reading bronze and replacing lake tables from Spark, through Hadoop's FileSystem (file:// and hdfs://)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_pipeline.lake import MANIFEST_FILE, PART_GLOB, PARTITION_COLUMN, PARTITIONED, STATE_FILE, Lake
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


def materialized(frame: DataFrame) -> DataFrame:
    """``frame`` cached and computed now. A frame cached but first computed inside a larger query may be computed
    more than once there (its references run as separate stages); the merge paths' small frames are made once."""
    frame = frame.cache()
    frame.count()
    return frame


def month_of(column: str) -> Column:
    """The partition value (``YYYY-MM``) of a timestamp or date column."""
    return F.date_format(column, "yyyy-MM")


@dataclass(frozen=True)
class TableWrite:
    """What a run does to one table: ``replace`` it whole, ``append`` rows to it, or replace the listed
    ``months`` of a partitioned table (a month ``frame`` has no rows for is emptied)."""

    frame: DataFrame
    how: str = "replace"
    months: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.how not in ("replace", "append", "months"):
            raise ValueError(f"a table write is 'replace', 'append' or 'months', not {self.how!r}")


def _delete(spark: SparkSession, uri: str) -> None:
    fs, path = _filesystem(spark, uri)
    if fs.exists(path):
        fs.delete(path, True)


def swap_in(spark: SparkSession, staged_uri: str, final_uri: str, aside_uri: str | None = None) -> None:
    """Replace ``final_uri`` by ``staged_uri`` with renames; the old copy is moved to ``aside_uri`` (default: beside
    it, ``.replaced``) and deleted after."""
    fs, final = _filesystem(spark, final_uri)
    _, staged = _filesystem(spark, staged_uri)
    jvm = spark.sparkContext._jvm
    old = jvm.org.apache.hadoop.fs.Path(aside_uri or final_uri.rstrip("/") + ".replaced")
    if fs.exists(old):
        fs.delete(old, True)
    if fs.exists(final):
        fs.mkdirs(old.getParent())
        fs.rename(final, old)
    fs.mkdirs(final.getParent())
    if not fs.rename(staged, final):
        raise RuntimeError(f"could not move {staged_uri} to {final_uri}")
    if fs.exists(old):
        fs.delete(old, True)
    staging_run = staged.getParent()
    if fs.exists(staging_run) and not fs.listStatus(staging_run):
        fs.delete(staging_run, True)


def _append_files(spark: SparkSession, staged_uri: str, final_uri: str) -> None:
    """Move the Parquet files of a staged write into the table at ``final_uri``."""
    fs, staged = _filesystem(spark, staged_uri)
    _, final = _filesystem(spark, final_uri)
    fs.mkdirs(final)
    jvm = spark.sparkContext._jvm
    for status in fs.listStatus(staged):
        name = status.getPath().getName()
        if name.startswith("part-") and not fs.rename(status.getPath(), jvm.org.apache.hadoop.fs.Path(final, name)):
            raise RuntimeError(f"could not move {status.getPath()} into {final_uri}")
    fs.delete(staged, True)


def _replace_months(spark: SparkSession, staged_uri: str, final_uri: str, months: tuple[str, ...], aside_uri: str) -> None:
    """Swap the staged month directories into the table; a month with no staged rows is removed from it."""
    fs, _ = _filesystem(spark, staged_uri)
    for month in months:
        directory = f"{PARTITION_COLUMN}={month}"
        staged, final = f"{staged_uri}/{directory}", f"{final_uri}/{directory}"
        if fs.exists(_filesystem(spark, staged)[1]):
            swap_in(spark, staged, final, f"{aside_uri}/{directory}")
        else:
            _delete(spark, final)
    _delete(spark, staged_uri)
    _delete(spark, aside_uri)


def write_tables(spark: SparkSession, lake: Lake, layer: str, writes: dict[str, TableWrite], run_id: str) -> dict[str, int]:
    """Apply each table's write to ``<lake>/<layer>/<name>`` (Parquet); return the tables' row counts.

    Every write is staged before any table changes, so new rows may be computed from the old ones, and a
    failure while computing leaves the layer as it was. The tables of ``PARTITIONED`` are written one
    directory (and file) per month.
    """
    staged = {}
    for name, write in writes.items():
        started = time.monotonic()
        staged[name] = lake.staging_uri(f"{layer}-{run_id}", name)
        frame = write.frame
        if name in PARTITIONED.get(layer, ()):
            frame.repartition(PARTITION_COLUMN).write.mode("overwrite").partitionBy(PARTITION_COLUMN).parquet(staged[name])
        else:
            frame.write.mode("overwrite").parquet(staged[name])
        print(f"{layer}.{name}: {write.how} {', '.join(write.months)} staged in {time.monotonic() - started:.1f} s", flush=True)
    counts, moving = {}, time.monotonic()
    for name, uri in staged.items():
        final, write = lake.spark_uri(layer, name), writes[name]
        if write.how == "append":
            _append_files(spark, uri, final)
        elif write.how == "months":
            _replace_months(spark, uri, final, write.months, lake.staging_uri(f"{layer}-{run_id}", f"{name}.replaced"))
        else:
            swap_in(spark, uri, final)
        counts[name] = spark.read.parquet(final).count()
    print(f"{layer}: {len(staged)} tables moved in and counted in {time.monotonic() - moving:.1f} s", flush=True)
    _delete(spark, lake.staging_uri(f"{layer}-{run_id}"))
    return counts


def replace_tables(spark: SparkSession, lake: Lake, layer: str, tables: dict[str, DataFrame], run_id: str) -> dict[str, int]:
    """Replace each table whole (``write_tables`` with every write a ``replace``)."""
    return write_tables(spark, lake, layer, {name: TableWrite(frame) for name, frame in tables.items()}, run_id)
