"""A backfill, then re-runs of some of its intervals, gives the same gold as one run over the period.

The backfill's runs merge each interval into silver and apply those merges to gold (the incremental path
of every scheduled run); its silver and gold equal a full rebuild over the same bronze, row for row.

The simulator's clock follows the runs: each interval is ingested as TMDB was 10 minutes after the
interval ended (as a scheduled run would see it, and as a backfill of a deterministic catalogue
does). A history interval a week earlier gives the 7-day velocities and the trending view data.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.testing import assertDataFrameEqual

from movie_harness.tmdb_simulator import Catalogue
from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.ingest import ingest
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import GOLD_VIEWS, SILVER_TABLES, Lake
from spark_jobs import bronze_to_silver, silver_to_gold
from spark_jobs.lake_io import read_state
from tests.conftest import API_KEY

CATALOGUE = Catalogue(240, seed=11)
START = datetime(2026, 11, 20, tzinfo=UTC)
PERIOD = timedelta(hours=4)
HISTORY = Interval(START - timedelta(days=8), START - timedelta(days=8) + PERIOD)
BACKFILL = [Interval(START + k * PERIOD, START + (k + 1) * PERIOD) for k in range(5)]  # 20 hours
RERUN = [BACKFILL[2]]  # a re-run of an older interval, after newer ones


class Clock:
    now = START.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tmdb(start_simulator):
    clock = Clock()
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=2000, now=clock)

    def extract(lake_uri: str, interval: Interval) -> str:
        clock.now = (interval.end + timedelta(minutes=10)).timestamp()
        tmdb = TmdbSettings(base_url=simulator.base_url, api_key=API_KEY, rate_limit=1000.0, timeout=2.0)
        return ingest(Settings(tmdb=tmdb, lake_uri=lake_uri), interval).mode

    return extract


def transform(spark, lake_uri: str, run_id: str) -> str:
    """Bring silver then gold up to date; the mode both took (they take the same one)."""
    bronze_to_silver.run(spark, lake_uri, run_id)
    silver_to_gold.run(spark, lake_uri, run_id)
    modes = {read_state(spark, Lake(lake_uri), layer)["mode"] for layer in ("silver", "gold")}
    assert len(modes) == 1, modes
    return modes.pop()


def assert_same_tables(spark, actual_uri: str, expected_uri: str, tables: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Each layer's tables equal row for row (rejects carry their run id, so they are compared without it)."""
    compared = {}
    for layer, names in tables.items():
        for name in names:
            expected = spark.read.parquet(Lake(expected_uri).spark_uri(layer, name)).drop("run_id")
            actual = spark.read.parquet(Lake(actual_uri).spark_uri(layer, name)).drop("run_id")
            assertDataFrameEqual(actual, expected, checkRowOrder=False)
            compared[name] = expected.count()
    return compared


def test_incremental_runs_backfill_and_reruns_equal_one_run_over_the_period(spark, tmdb, tmp_path):
    backfilled = (tmp_path / "backfilled").as_uri()
    assert tmdb(backfilled, HISTORY) == "full"
    assert transform(spark, backfilled, "history") == "full"
    modes = []
    for k, interval in enumerate(BACKFILL):  # the backfill: one run per interval, in order
        assert tmdb(backfilled, interval) == "incremental"
        modes.append(transform(spark, backfilled, f"backfill-{k}"))
    assert modes == ["incremental"] * len(BACKFILL), "each newer interval is merged into silver and gold, not rebuilt"

    rebuilt = tmp_path / "rebuilt"  # the same bronze, transformed in one run
    shutil.copytree(tmp_path / "backfilled" / "bronze", rebuilt / "bronze")
    assert transform(spark, rebuilt.as_uri(), "rebuilt") == "full"
    incremental = assert_same_tables(spark, backfilled, rebuilt.as_uri(), {"silver": SILVER_TABLES, "gold": GOLD_VIEWS})
    assert incremental["reviews"] > 0 and incremental["sentiment_hourly"] > 0 and incremental["trending"] > 0

    once = (tmp_path / "once").as_uri()  # the same period ingested again, then transformed in one run
    for interval in [HISTORY, *BACKFILL]:
        tmdb(once, interval)
    assert transform(spark, once, "once") == "full"
    for interval in RERUN:
        tmdb(backfilled, interval)
        assert transform(spark, backfilled, f"rerun-{interval.partition}") == "full"
    compared = assert_same_tables(spark, backfilled, once, {"gold": GOLD_VIEWS})
    assert compared["movie_summary"] > 0 and compared["sentiment_daily"] > 0
    assert compared["trending"] > 0, "the week of history gives velocities, so the comparison covers trending too"
    changed = spark.read.parquet(Lake(once).spark_uri("silver", "movie_snapshots")).groupBy("movie_id").count().where("count > 2").count()
    assert changed > 0, "some movies changed during the backfill, so the order of intervals matters"
