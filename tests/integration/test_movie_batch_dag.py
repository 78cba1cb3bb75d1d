"""``movie_batch`` run by Airflow itself (``dag.test()``) against the simulator, faults included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from movie_pipeline.airflow_settings import connection_env
from movie_pipeline.bronze import read_partition
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from movie_pipeline.tmdb.simulator import Faults
from tests.bronze_truth import assert_bronze_matches, expected_ids
from tests.conftest import API_KEY
from tests.integration.test_ingest import CATALOGUE, DAY, NOW


@pytest.fixture(scope="module")
def airflow_db():
    """A migrated metadata DB in the test session's AIRFLOW_HOME (see tests/conftest.py)."""
    done = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture
def movie_batch(airflow_db, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    lake_uri = (tmp_path / "lake").as_uri()
    monkeypatch.setenv("LAKE_URI", lake_uri)
    dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).get_dag("movie_batch")
    return dag, lake_uri


def use_simulator(monkeypatch, simulator, **extra) -> None:
    tmdb = {"host": simulator.base_url, "password": API_KEY, "extra": {"rate_limit": 300, "timeout": 2, **extra}}
    for name, value in connection_env(overrides={"tmdb_default": tmdb}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # spark-submit of this venv


def silver_rows(lake_uri: str, table: str, layer: str = "silver") -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(Lake(lake_uri).path(layer, table)).to_pylist()


def extract_result(run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id="extract", key="return_value").one()
        return row.value if isinstance(row.value, dict) else json.loads(row.value)


def test_scheduled_runs_fill_bronze_with_the_ground_truth_despite_faults(movie_batch, start_simulator, monkeypatch):
    dag, lake_uri = movie_batch
    faults = Faults(error_5xx=0.10, timeout=0.02, timeout_seconds=1.0)
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=60, faults=faults, now=NOW, fault_seed=21)
    # the client asks for twice what the simulator allows: 429 bursts on top of 10% 5xx and 2% timeouts
    use_simulator(monkeypatch, simulator, rate_limit=120, timeout=0.4, max_retries=8)

    first = dag.test(logical_date=DAY + timedelta(hours=4))
    assert first.state == "success"
    result = extract_result(first)
    interval = Interval.parse(result["interval_start"], result["interval_end"])
    assert interval == Interval(DAY, DAY + timedelta(hours=4)), "a run ingests its own data interval"
    assert result["mode"] == "full"
    truth = assert_bronze_matches(lake_uri, CATALOGUE, interval, NOW, full=True)
    assert result["movies"] == truth["movies"]
    assert sorted(r["movie_id"] for r in silver_rows(lake_uri, "movies")) == CATALOGUE.listed_ids(NOW)

    second = dag.test(logical_date=DAY + timedelta(hours=8))
    assert second.state == "success"
    result = extract_result(second)
    interval = Interval.parse(result["interval_start"], result["interval_end"])
    assert result["mode"] == "incremental"
    truth = assert_bronze_matches(lake_uri, CATALOGUE, interval, NOW, full=False)
    assert result["tombstones"] == truth["tombstones"] >= 1
    deleted = set(expected_ids(CATALOGUE, interval, NOW, full=False)[1])
    assert deleted and not deleted & {r["movie_id"] for r in silver_rows(lake_uri, "movies")}, "tombstones remove movies from silver"
    assert sum(simulator.stats.by_status[s] for s in (429, 500, 502, 503, 504)) > 0, "faults were injected"
    assert_gold_matches_the_catalogue(lake_uri)


def assert_gold_matches_the_catalogue(lake_uri: str) -> None:
    """Gold against the catalogue, computed here in plain Python (not with the transforms)."""
    live = CATALOGUE.listed_ids(NOW)
    summary = {r["movie_id"]: r for r in silver_rows(lake_uri, "movie_summary", layer="gold")}
    assert sorted(summary) == live
    for movie_id in live:
        truth = CATALOGUE.reviews(movie_id, NOW)
        row = summary[movie_id]
        assert row["review_count"] == len(truth)
        assert (row["positive_reviews"], row["neutral_reviews"], row["negative_reviews"]) == tuple(
            sum(1 for r in truth if r.sentiment == label) for label in ("positive", "neutral", "negative")
        )
    per_year: dict[int, int] = {}
    for movie_id in live:
        year = CATALOGUE.release_date(CATALOGUE.index_of(movie_id)).year
        per_year[year] = per_year.get(year, 0) + 1
    assert {r["release_year"]: r["movies"] for r in silver_rows(lake_uri, "year_stats", layer="gold")} == per_year


def test_a_run_without_a_logical_date_ingests_the_latest_complete_interval(movie_batch, start_simulator, monkeypatch):
    dag, lake_uri = movie_batch
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=NOW)
    use_simulator(monkeypatch, simulator)
    run = dag.test(logical_date=None, mark_success_pattern="bronze_to_silver|silver_to_gold")  # only extract matters here
    assert run.state == "success"
    result = extract_result(run)
    interval = Interval.parse(result["interval_start"], result["interval_end"])
    assert interval.end - interval.start == timedelta(hours=4) and interval.end <= run.run_after
    assert run.run_after - interval.end < timedelta(hours=4)
    assert len(read_partition(Lake(lake_uri), "movie_details", interval)) == result["movies"] + result["tombstones"] > 0
