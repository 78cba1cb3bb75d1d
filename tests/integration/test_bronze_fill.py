"""The batch benchmark's bronze fill (bench/bronze_fill.py) writes what a full load through HTTP writes."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import timedelta

from movie_harness.tmdb_simulator import Catalogue
from movie_pipeline.bronze import read_partition
from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.ingest import ingest
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from tests.conftest import API_KEY, REPO

MOVIES = 400
INTERVAL = Interval.parse("2026-11-20T04:00:00Z", "2026-11-20T08:00:00Z")


def load_bronze_fill(monkeypatch):
    spec = importlib.util.spec_from_file_location("bronze_fill", REPO / "bench" / "bronze_fill.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bronze_fill", module)  # the worker pool pickles its functions by module name
    spec.loader.exec_module(module)
    return module


def records(lake_uri: str, entity: str) -> list[str]:
    """The partition's records without their fetch time, in a comparable order."""
    rows = read_partition(Lake(lake_uri), entity, INTERVAL)
    return sorted(json.dumps({k: v for k, v in row.items() if k != "fetched_at"}, sort_keys=True) for row in rows)


def test_the_fill_writes_the_records_of_a_full_load(start_simulator, tmp_path, monkeypatch):
    now = (INTERVAL.end + timedelta(minutes=10)).timestamp()
    simulator = start_simulator(catalogue=Catalogue(MOVIES), rate_limit=1000, now=now)
    ingested, filled = (tmp_path / "ingested").as_uri(), (tmp_path / "filled").as_uri()
    tmdb = TmdbSettings(base_url=simulator.base_url, api_key=API_KEY, rate_limit=400.0, concurrency=8)
    summary = ingest(Settings(tmdb=tmdb, lake_uri=ingested), INTERVAL)

    counts = load_bronze_fill(monkeypatch).fill(MOVIES, INTERVAL, filled, workers=2)

    assert counts["movie_details"] == summary.movies > 350
    assert counts["movie_reviews"] > 0, "the catalogue has movies with a second review page"
    for entity in ("genres", "trending", "movie_details", "movie_reviews"):
        assert records(filled, entity) == records(ingested, entity), entity


def test_a_movie_deleted_at_tmdb_is_filled_as_its_404_tombstone(monkeypatch):
    """A changed movie may have been deleted: ingestion records TMDB's 404 as a tombstone, and so does the fill."""
    bronze_fill = load_bronze_fill(monkeypatch)
    catalogue, now = Catalogue(MOVIES), (INTERVAL.end + timedelta(minutes=10)).timestamp()
    deleted = next(catalogue.movie_id(i) for i in range(MOVIES) if catalogue.is_deleted(i, now))
    bronze_fill._start_worker(MOVIES, now)
    [(entity, envelope)] = bronze_fill._hydrate([deleted])
    assert entity == "movie_details" and envelope["status"] == 404
    assert envelope["params"]["movie_id"] == deleted and envelope["payload"]["status_code"] == 34
