"""Batch layer timings: bronze -> gold on catalogues of 10k and 100k movies (about 10 reviews each).

For each size: the simulator (own process) serves TMDB as of 08:10 UTC and a full load of the
[04:00, 08:00) interval fills bronze; silver and gold are then computed from scratch and timed
(batch_<size>_s), with the bronze records (movies + reviews) turned into gold per second
(batch_<size>_rows_per_s) and the peak resident memory of this process, its Spark driver JVM and
the Python workers, sampled every 0.2 s (batch_<size>_peak_rss_mb). For the largest size the simulator moves to 12:10, the next interval is ingested
incrementally, and the incremental silver merge + gold is timed against the full recompute
(batch_incremental_ratio), and the three Great Expectations checkpoints are timed against the
full transform (gx_overhead_ratio; GX's one-off import is reported apart as gx_import_s).

    make bench
    python bench/batch_bench.py --sizes 10000      # one size only
    python bench/batch_bench.py --sizes 1000000 --bronze-fill   # 1M movies, a 1% interval, a rebuild to compare (about 45 min)

``--bronze-fill`` writes each size's bronze with bench/bronze_fill.py (the simulator's answers
without HTTP; the same records) instead of ingesting it; then the largest size's next interval
hydrates 1% of its catalogue (movies the change feed lists for it) and is timed incrementally
(batch_incremental_<size>_s and _ratio: the 4-hourly run at TMDB's scale), without the GX checks;
the same bronze is then rebuilt in full and compared with it row for row
(batch_incremental_<size>_differing_rows: 0 when equal).
``--full-only`` times only the full builds, keeping the last measurement of the other figures.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psutil
from bronze_fill import fill, fill_changed, log
from ingest_bench import API_KEY, free_port
from results import record

from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.ingest import ingest
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake

FIRST = Interval.parse("2026-11-20T04:00:00Z", "2026-11-20T08:00:00Z")
SECOND = Interval.parse("2026-11-20T08:00:00Z", "2026-11-20T12:00:00Z")


def ingest_interval(movies: int, interval: Interval, lake_uri: str) -> None:
    port = free_port()
    now = (interval.end + timedelta(minutes=10)).isoformat()
    cli = str(Path(sys.executable).with_name("movie-pipeline"))
    simulator = subprocess.Popen(
        [cli, "tmdb-sim", "--port", str(port), "--movies", str(movies), "--rate-limit", "100000", "--now", now],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if "serving" not in simulator.stdout.readline():
            raise SystemExit("the simulator did not start")
        tmdb = TmdbSettings(base_url=f"http://127.0.0.1:{port}/3", api_key=API_KEY, rate_limit=5000, concurrency=20)
        started = time.monotonic()
        summary = ingest(Settings(tmdb=tmdb, lake_uri=lake_uri), interval)
        log(
            f"  ingested {interval} ({summary.mode}): {summary.movies} movies, {summary.requests} requests in {time.monotonic() - started:.0f} s"
        )
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def timed(label: str, action, *args, **kwargs) -> float:
    started = time.monotonic()
    result = action(*args, **kwargs)
    seconds = time.monotonic() - started
    log(f"  {label}: {seconds:.1f} s {result if isinstance(result, dict) else ''}")
    return seconds


class PeakMemory:
    """The peak RSS of this process and all its descendants (the Spark JVM, its Python workers), sampled in a thread."""

    def __init__(self, every_s: float = 0.2) -> None:
        self.every_s, self.peak_mb = every_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self.every_s):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def size_label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def transform(spark, lake_uri: str, run_id: str, full: bool) -> dict[str, int]:
    from spark_jobs import bronze_to_silver, silver_to_gold

    return {**bronze_to_silver.run(spark, lake_uri, run_id, full=full), **silver_to_gold.run(spark, lake_uri, run_id, full=full)}


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _unmatched(only_one: list, only_other: list, doubles: set[str]) -> int:
    """Rows of ``only_one`` with no row of ``only_other`` equal to it but for doubles within a relative 1e-9
    (sums taken in another order differ in their last bits), and the rows of ``only_other`` left over."""
    pool: dict = {}
    for row in only_other:
        key = tuple(_hashable(v) for k, v in row.asDict().items() if k not in doubles)
        pool.setdefault(key, []).append(row)
    unmatched = 0
    for row in only_one:
        key = tuple(_hashable(v) for k, v in row.asDict().items() if k not in doubles)
        candidates = pool.get(key, [])
        close = next(
            (
                c
                for c in candidates
                if all(
                    row[d] == c[d] or (row[d] is not None and c[d] is not None and math.isclose(row[d], c[d], rel_tol=1e-9))
                    for d in doubles
                )
            ),
            None,
        )
        if close is None:
            unmatched += 1
        else:
            candidates.remove(close)
    return unmatched + sum(len(rows) for rows in pool.values())


def rebuilt_difference(spark, lake: Path) -> int:
    """Rows by which the incremental result differs from a full rebuild over the same bronze (0 when equal): its
    silver and gold are set aside, rebuilt, and each table compared both ways (rejects without their run id)."""
    from pyspark.sql.types import DoubleType

    from movie_pipeline.lake import GOLD_VIEWS, SILVER_TABLES

    aside = lake.parent / "incremental"
    for layer in ("silver", "gold"):
        shutil.copytree(lake / layer, aside / layer)
    timed("the same bronze rebuilt in full, to compare", transform, spark, lake.as_uri(), "rebuilt", full=True)
    differing = 0
    for layer, names in (("silver", SILVER_TABLES), ("gold", GOLD_VIEWS)):
        for name in names:
            incremental = spark.read.parquet((aside / layer / name).as_uri()).drop("run_id")
            rebuilt = spark.read.parquet((lake / layer / name).as_uri()).drop("run_id").select(*incremental.columns)
            doubles = {f.name for f in incremental.schema if isinstance(f.dataType, DoubleType)}
            rows = _unmatched(incremental.exceptAll(rebuilt).collect(), rebuilt.exceptAll(incremental).collect(), doubles)
            log(f"  {layer}.{name}: {rows} rows differ")
            differing += rows
    return differing


def validate_all(lake_uri: str, quality_dir: Path) -> None:
    from movie_pipeline.quality.checks import validate_layer
    from movie_pipeline.quality.tables import bronze_frames, table_frames

    lake = Lake(lake_uri)
    validate_layer(quality_dir, "bronze", bronze_frames(lake, SECOND), "bench", "run")
    for layer in ("silver", "gold"):
        validate_layer(quality_dir, layer, table_frames(lake, layer), "bench", "run")


def local_session(app_name: str):
    """A Spark session on every core of this machine, as the benchmarks run it (6 GiB driver)."""
    from pyspark.sql import SparkSession

    from movie_pipeline.spark_conf import SESSION_CONF, local_driver_env

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers need this venv (pandas, VADER)
    os.environ.update(local_driver_env("local[*]", os.environ))
    spark = (
        SparkSession.builder.master("local[*]")
        .appName(app_name)
        .config("spark.driver.memory", "6g")
        .config("spark.ui.showConsoleProgress", "false")
        .config(map=SESSION_CONF)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="catalogue sizes (movies)")
    parser.add_argument("--bronze-fill", action="store_true", help="fill bronze from the catalogue in-process instead of ingesting it")
    parser.add_argument("--full-only", action="store_true", help="time the full builds only (no incremental run, no GX checks)")
    args = parser.parse_args()

    spark = local_session("batch-bench")
    figures: dict[str, float] = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="batch-bench-") as work:
            lake_uri = (Path(work) / "lake").as_uri()
            log(f"catalogue of {size} movies")
            (fill if args.bronze_fill else ingest_interval)(size, FIRST, lake_uri)
            with PeakMemory() as memory:
                started = time.monotonic()
                counts = transform(spark, lake_uri, "full", full=True)
                full = time.monotonic() - started
            log(f"  bronze -> silver -> gold, from scratch: {full:.1f} s, peak {memory.peak_mb:,.0f} MiB {counts}")
            label = size_label(size)
            figures[f"batch_{label}_s"] = round(full, 1)
            figures[f"batch_{label}_rows_per_s"] = round((counts["movies"] + counts["reviews"]) / full)
            figures[f"batch_{label}_peak_rss_mb"] = round(memory.peak_mb)
            if args.full_only or size != max(args.sizes):
                continue
            if args.bronze_fill:  # the 4-hourly run at TMDB's scale: 1% of the catalogue changed
                fill_changed(size, SECOND, lake_uri, size // 100)
            else:
                ingest_interval(size, SECOND, lake_uri)
            incremental = timed("the next interval, incrementally", transform, spark, lake_uri, "next", full=False)
            if args.bronze_fill:
                figures[f"batch_incremental_{label}_s"] = round(incremental, 1)
                figures[f"batch_incremental_{label}_ratio"] = round(incremental / full, 3)
                figures[f"batch_incremental_{label}_differing_rows"] = rebuilt_difference(spark, Path(work) / "lake")
                continue
            figures["batch_incremental_ratio"] = round(incremental / full, 3)
            gx_import = timed("import great_expectations", __import__, "great_expectations")
            checks = timed("bronze, silver and gold checkpoints", validate_all, lake_uri, Path(work) / "quality")
            figures["gx_import_s"] = round(gx_import, 1)
            figures["gx_overhead_ratio"] = round(checks / full, 3)
    spark.stop()
    record(figures)


if __name__ == "__main__":
    main()
