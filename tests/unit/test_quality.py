"""The data-quality checks: checked-in suites, critical vs warning, reports, and the UI plugin's pages."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from movie_pipeline.lake import GOLD_VIEWS
from movie_pipeline.quality.checks import list_runs, run_reports, validate_layer
from movie_pipeline.quality.suites import SUITES_DIR, columns_used, load_suite, suite_tables

RUN = "scheduled__2026-11-20T04:00:00+00:00"


def test_every_layer_has_suites_and_every_expectation_says_whether_it_is_critical():
    assert suite_tables("bronze") == ["ingest_rejects", "movie_details"]
    assert set(suite_tables("silver")) == {"movies", "movie_snapshots", "reviews", "rejects"}
    assert set(suite_tables("gold")) == set(GOLD_VIEWS)
    for path in SUITES_DIR.glob("*/*.json"):
        suite = load_suite(path.parent.name, path.stem)
        assert suite["name"] == f"{path.parent.name}.{path.stem}"
        assert any(e["meta"]["critical"] for e in suite["expectations"]), f"{path} has no critical expectation"
    assert columns_used(load_suite("silver", "movie_snapshots"))[:2] == ["movie_id", "observed_at"]


def movies(**overrides) -> pd.DataFrame:
    frame = {
        "movie_id": [1, 2, 3],
        "title": ["A", "B", "C"],
        "vote_average": [7.0, 5.5, 0.0],
        "vote_count": [10, 3, 0],
        "popularity": [1.5, 0.2, 0.0],
        "release_date": pd.to_datetime(["2001-05-04", "1999-01-01", "2026-12-01"]),
        "original_language": ["en", "fr", "ja"],
        "runtime_min": [120, None, 95],
    }
    frame.update(overrides)
    return pd.DataFrame(frame)


def test_a_warning_is_reported_without_failing_and_written_for_the_ui(tmp_path):
    report = validate_layer(tmp_path, "silver", {"movies": movies(runtime_min=[120, 4000, 95])}, "movie_batch", RUN)
    assert report.critical_failures == []
    (table,) = report.tables
    assert (table.rows, table.evaluated, table.passed) == (3, 9, 8)
    assert len(table.warnings) == 1 and "runtime_min" in table.warnings[0] and "1 of 3 rows unexpected" in table.warnings[0]
    assert report.pass_rate == pytest.approx(8 / 9)
    assert (tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / table.page).is_file()
    (saved,) = run_reports(tmp_path, "movie_batch", RUN)
    assert saved["pass_rate"] == pytest.approx(8 / 9) and saved["tables"][0]["warnings"] == table.warnings
    assert [(dag, run) for dag, run, _ in list_runs(tmp_path)] == [("movie_batch", RUN)]


def test_critical_failures_are_named(tmp_path):
    bad = movies(movie_id=[1, 1, 3], vote_average=[7.0, 11.0, 0.0])
    report = validate_layer(tmp_path, "silver", {"movies": bad}, "movie_batch", RUN)
    failures = report.critical_failures
    assert len(failures) == 2
    assert any("expect_column_values_to_be_unique" in f and "movie_id" in f for f in failures)
    assert any("vote_average" in f and "1 of 3 rows unexpected" in f for f in failures)


def test_the_plugin_lists_runs_and_links_each_table_to_its_data_docs_to_logged_in_users_only(tmp_path, monkeypatch, airflow_db):
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    validate_layer(tmp_path, "silver", {"movies": movies()}, "movie_batch", RUN)
    monkeypatch.setenv("DATA_QUALITY_DIR", str(tmp_path))
    from plugins.data_quality import create_app

    anonymous = TestClient(create_app())
    for path in ("/", "/runs/movie_batch/nope", "/docs/index.html"):
        refused = anonymous.get(path)
        assert refused.status_code == 401 and "log in to Airflow" in refused.json()["detail"], path
    auth_manager = init_auth_manager()  # as the API server does at start
    assert anonymous.get("/", headers={"Authorization": "Bearer not-a-token"}).status_code == 403
    token = auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    client = TestClient(create_app(), cookies={"_token": token})  # the UI's session cookie
    index = client.get("/")
    assert index.status_code == 200 and "scheduled__2026-11-20T04:00:00+00:00" in index.text
    page = client.get("/runs/movie_batch/scheduled__2026-11-20T04%3A00%3A00%2B00%3A00")
    assert page.status_code == 200 and "100.0%" in page.text
    link = page.text.split("href='../../docs/", 1)[1].split("'", 1)[0]
    docs = client.get(f"/docs/{link}")
    assert docs.status_code == 200 and "silver.movies" in docs.text
    missing = client.get("/runs/movie_batch/nope")
    assert missing.status_code == 404 and "no data-quality report" in json.loads(missing.text)["detail"]
