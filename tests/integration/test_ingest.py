"""Bronze ingestion against the simulator: complete, exact, idempotent, fault-tolerant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from movie_harness.tmdb_simulator import Catalogue, Faults
from movie_pipeline.bronze import read_partition
from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.ingest import ingest
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from tests.bronze_truth import assert_bronze_matches
from tests.conftest import API_KEY

CATALOGUE = Catalogue(300, seed=42)


def day_with_a_deletion(catalogue: Catalogue) -> datetime:
    """A day (UTC midnight) on which some movie of the catalogue is deleted at TMDB."""
    after = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    moment = min(t for i in range(catalogue.size) if (t := catalogue.deleted_at(i)) and t > after)
    return datetime.fromtimestamp(moment, UTC).replace(hour=0, minute=0, second=0, microsecond=0)


DAY = day_with_a_deletion(CATALOGUE)
NOW = (DAY + timedelta(days=1, hours=1)).timestamp()
FIRST = Interval(DAY, DAY + timedelta(hours=4))
SECOND = Interval(DAY + timedelta(hours=4), DAY + timedelta(hours=8))


def settings(simulator, lake_uri: str, **tmdb) -> Settings:
    values = {"base_url": simulator.base_url, "api_key": API_KEY, "rate_limit": 400.0, "concurrency": 8, "timeout": 2.0}
    values.update(tmdb)
    return Settings(tmdb=TmdbSettings(**values), lake_uri=lake_uri)


@pytest.fixture
def lake_uri(tmp_path) -> str:
    return (tmp_path / "lake").as_uri()


def test_full_then_incremental_load_equal_the_ground_truth(start_simulator, lake_uri):
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=NOW)
    full = ingest(settings(simulator, lake_uri), FIRST)
    assert full.mode == "full"
    truth = assert_bronze_matches(lake_uri, CATALOGUE, FIRST, NOW, full=True)
    assert full.movies == truth["movies"] > 250 and truth["reviews"] > 0

    incremental = ingest(settings(simulator, lake_uri), SECOND)
    assert incremental.mode == "incremental"
    truth = assert_bronze_matches(lake_uri, CATALOGUE, SECOND, NOW, full=False)
    assert truth["tombstones"] >= 1, "the chosen day has a deletion: it must arrive as a tombstone"
    assert incremental.tombstones == truth["tombstones"] and incremental.movies == truth["movies"]


def test_rerunning_an_interval_replaces_it(start_simulator, lake_uri):
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=NOW)
    ingest(settings(simulator, lake_uri), FIRST)
    lake = Lake(lake_uri)
    before = read_partition(lake, "movie_details", FIRST)
    again = ingest(settings(simulator, lake_uri), FIRST, full=True)
    after = read_partition(lake, "movie_details", FIRST)
    assert len(after) == len(before) == again.records["movie_details"]
    key = lambda record: record["params"]["movie_id"]  # noqa: E731 - the order of concurrent writes varies
    assert sorted(after, key=key) != [] and [r["payload"] for r in sorted(after, key=key)] == [
        r["payload"] for r in sorted(before, key=key)
    ]
    assert_bronze_matches(lake_uri, CATALOGUE, FIRST, NOW, full=True)
    assert not lake.fs.exists(lake.path("_trash")) or not lake.fs.ls(lake.path("_trash"))


def test_faults_lose_nothing(start_simulator, lake_uri):
    faults = Faults(error_5xx=0.10, timeout=0.02, timeout_seconds=1.0)
    # the simulator allows 60 req/s while the client asks for 120: bursts of 429 on top of the faults
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=60, faults=faults, now=NOW, fault_seed=11)
    summary = ingest(settings(simulator, lake_uri, rate_limit=120.0, timeout=0.4, max_retries=8), FIRST)
    assert summary.retries > 0 and summary.throttled > 0 and summary.timeouts > 0
    assert_bronze_matches(lake_uri, CATALOGUE, FIRST, NOW, full=True)


def test_malformed_records_are_rejected_with_a_reason(start_simulator, lake_uri):
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=NOW, faults=Faults(malformed=0.2), fault_seed=4)
    summary = ingest(settings(simulator, lake_uri), FIRST)
    rejects = read_partition(Lake(lake_uri), "_rejects", FIRST)
    assert summary.rejects == len(rejects) > 0
    reasons = ("list item without an integer id", "review without a string id", "details payload id")
    assert all(r["reason"].startswith(reasons) for r in rejects), {r["reason"] for r in rejects}
    assert all(r["record"] is not None and r["endpoint"].startswith("/") for r in rejects)
