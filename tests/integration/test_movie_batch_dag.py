"""``movie_batch`` run by Airflow itself (``dag.test()``) against the simulator, faults included."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from movie_harness.airflow_settings import connection_env
from movie_harness.tmdb_simulator import Faults
from movie_pipeline.bronze import read_partition
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import GOLD_VIEWS, Lake
from tests.bronze_truth import assert_bronze_matches, expected_ids
from tests.conftest import API_KEY
from tests.integration.test_ingest import CATALOGUE, DAY, NOW


@pytest.fixture
def movie_batch(airflow_db, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    lake_uri = (tmp_path / "lake").as_uri()
    monkeypatch.setenv("LAKE_URI", lake_uri)
    monkeypatch.setenv("DATA_QUALITY_DIR", str(tmp_path / "quality"))
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


def extract_result(run, task_id: str = "extract") -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key="return_value").one()
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
    assert_quality_reported_and_gold_assets_updated(second, lake_uri)


def gold_asset_events(run) -> dict[str, dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetModel.name, AssetEvent.extra)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetEvent.source_run_id == run.run_id)
            .all()
        )
    return {name: extra for name, extra in rows}


def assert_quality_reported_and_gold_assets_updated(run, lake_uri: str) -> None:
    from movie_pipeline.quality.checks import run_reports

    quality = {layer: extract_result(run, f"validate_{layer}") for layer in ("bronze", "silver", "gold")}
    assert all(q["evaluated"] > 0 and 0 < q["pass_rate"] <= 1 for q in quality.values())
    assert quality["gold"]["report_url"].endswith(f"/data-quality/runs/movie_batch/{quote(run.run_id, safe='')}")
    reports = run_reports(Path(os.environ["DATA_QUALITY_DIR"]), "movie_batch", run.run_id)
    assert [r["layer"] for r in reports] == ["bronze", "silver", "gold"]
    events = gold_asset_events(run)
    assert set(events) == {f"gold.{view}" for view in GOLD_VIEWS}
    summary = events["gold.movie_summary"]
    assert summary["rows"] == len(silver_rows(lake_uri, "movie_summary", layer="gold")) > 0
    assert summary["dq_pass_rate"] == quality["gold"]["pass_rate"] and summary["silver_rejects"] == 0


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


def test_a_manual_run_ingests_the_latest_complete_interval_and_stays_green_with_bad_records(movie_batch, start_simulator, monkeypatch):
    dag, lake_uri = movie_batch
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=NOW, faults=Faults(malformed=0.1), fault_seed=5)
    use_simulator(monkeypatch, simulator)
    run = dag.test(logical_date=None)
    assert run.state == "success", "bad records are warnings, not critical failures"
    result = extract_result(run)
    interval = Interval.parse(result["interval_start"], result["interval_end"])
    assert interval.end - interval.start == timedelta(hours=4) and interval.end <= run.run_after
    assert run.run_after - interval.end < timedelta(hours=4)
    details = read_partition(Lake(lake_uri), "movie_details", interval)
    assert len(details) >= result["movies"] + result["tombstones"] > 0, "every answer is kept, unusable ones too"

    rejects = silver_rows(lake_uri, "rejects")
    reasons = {r["reason"] for r in rejects}
    assert rejects and all(r["raw"] and r["run_id"] == run.run_id for r in rejects)
    assert len(reasons) >= 3, f"several kinds of bad record, each with its reason: {reasons}"
    silver_report = extract_result(run, "validate_silver")
    assert silver_report["rows"]["rejects"] == len(rejects) and silver_report["warnings"] >= 1 and silver_report["pass_rate"] < 1
    assert gold_asset_events(run)["gold.movie_summary"]["silver_rejects"] == len(rejects)
