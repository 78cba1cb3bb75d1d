"""The full load at catalogue scale, against the simulator: listed by TMDB's daily ID export in a few requests, and
resumed after ``kill -9`` without fetching again what was done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from movie_harness.tmdb_simulator import Catalogue
from movie_pipeline.bronze import PROGRESS_FILE, read_partition
from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.ingest import ingest
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from movie_pipeline.tmdb.exports import export_name
from tests.bronze_truth import assert_bronze_matches
from tests.conftest import API_KEY

CLI = str(Path(sys.executable).with_name("movie-pipeline"))
CATALOGUE = Catalogue(1500, seed=7)
INTERVAL = Interval.parse("2026-11-20T04:00:00Z", "2026-11-20T08:00:00Z")
NOW = (INTERVAL.end + timedelta(hours=2)).timestamp()  # 10:00: the day's export is out (08:00)


def settings(simulator, lake_uri: str, **tmdb) -> Settings:
    values = {"base_url": simulator.base_url, "api_key": API_KEY, "rate_limit": 1000.0, "concurrency": 8, "timeout": 5.0}
    return Settings(tmdb=TmdbSettings(**{**values, **tmdb}), lake_uri=lake_uri)


def requests_of(simulator, run) -> int:
    before = simulator.stats.requests
    run()
    return simulator.stats.requests - before


def test_a_full_load_lists_the_catalogue_from_the_daily_export(start_simulator, tmp_path):
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=2000, now=NOW)
    lake_uri = (tmp_path / "export").as_uri()
    summaries = []
    by_export = requests_of(simulator, lambda: summaries.append(ingest(settings(simulator, lake_uri), INTERVAL)))
    summary = summaries[0]
    assert summary.listing == f"export {export_name(INTERVAL.end.date())}"
    truth = assert_bronze_matches(lake_uri, CATALOGUE, INTERVAL, NOW, full=True)
    movies, review_pages = truth["movies"] + truth["tombstones"], summary.records.get("movie_reviews", 0)
    listing_requests = by_export - movies - review_pages  # the export, the genre list, trending by day and by week
    assert listing_requests == 4 and by_export == summary.requests

    # the file as downloaded is bronze's own entity
    lake = Lake(lake_uri)
    [stored] = lake.fs.glob(f"{lake.bronze_partition('movie_ids_export', INTERVAL)}/movie_ids_*.json.gz")
    with lake.fs.open(stored, "rb") as handle:
        assert handle.read() == b"".join(simulator.export_chunks(INTERVAL.end.date()))

    # the same load listed by discover (no export where it is looked for)
    discover_lake = (tmp_path / "discover").as_uri()
    missing = {"exports_url": f"{simulator.exports_url}/nowhere"}
    by_discover = requests_of(simulator, lambda: summaries.append(ingest(settings(simulator, discover_lake, **missing), INTERVAL)))
    assert summaries[1].listing == "discover"
    print(
        f"full load of {movies} movies: {by_export} requests listed by the export ({listing_requests} for the listing, "
        f"{review_pages} further review pages), {by_discover} listed by discover"
    )
    assert by_discover - by_export >= movies // 20, "discover pages 20 movies at a time"


def test_before_the_days_export_is_published_the_day_before_lists(start_simulator, tmp_path):
    early = (INTERVAL.end - timedelta(minutes=30)).timestamp()  # 07:30: today's file is not out yet
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=2000, now=early)
    lake_uri = (tmp_path / "lake").as_uri()
    summary = ingest(settings(simulator, lake_uri), INTERVAL)
    assert summary.listing == f"export {export_name(INTERVAL.end.date() - timedelta(days=1))}"
    assert_bronze_matches(lake_uri, CATALOGUE, INTERVAL, early, full=True)


def cli_ingest(simulator, lake_uri: str, chunk: int, rate: int) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TMDB_")}
    environment.update(
        TMDB_BASE_URL=simulator.base_url, TMDB_API_KEY=API_KEY, TMDB_RATE_LIMIT=str(rate), INGEST_CHUNK_MOVIES=str(chunk),
        LAKE_URI=lake_uri,
    )  # fmt: skip
    command = [CLI, "ingest", "--start", INTERVAL.start.isoformat(), "--end", INTERVAL.end.isoformat()]
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_full_load_killed_half_way_resumes_where_it_stopped(start_simulator, tmp_path):
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=2000, now=NOW)
    uninterrupted = requests_of(simulator, lambda: ingest(settings(simulator, (tmp_path / "whole").as_uri()), INTERVAL))

    lake_uri = (tmp_path / "lake").as_uri()
    lake = Lake(lake_uri)
    progress = f"{lake.staging(INTERVAL.partition.split('=', 1)[1] + '-full')}/{PROGRESS_FILE}"
    chunk, chunks = 30, -(-len(CATALOGUE.export_ids(INTERVAL.end.date())) // 30)
    before = simulator.stats.requests
    killed = cli_ingest(simulator, lake_uri, chunk, rate=150)
    done: list[int] = []
    deadline = time.monotonic() + 120
    while len(done) < chunks // 2:
        assert killed.poll() is None, killed.communicate()
        assert time.monotonic() < deadline, "the load made no progress"
        if lake.fs.exists(progress):
            with lake.fs.open(progress, "r") as handle:
                done = json.load(handle)["done"]
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=10)
    first_run = simulator.stats.requests - before
    assert not lake.fs.exists(lake.bronze_partition("movie_details", INTERVAL)), "nothing is committed by a killed run"

    before = simulator.stats.requests
    resumed = cli_ingest(simulator, lake_uri, chunk, rate=1000)
    stdout, stderr = resumed.communicate(timeout=300)
    second_run = simulator.stats.requests - before
    assert resumed.returncode == 0, stderr
    assert "resuming" in stderr and "resumed after" in stdout, (stdout, stderr)

    truth = assert_bronze_matches(lake_uri, CATALOGUE, INTERVAL, NOW, full=True)  # every movie exactly once
    assert len(read_partition(lake, "movie_details", INTERVAL)) == truth["movies"] + truth["tombstones"]
    assert not lake.fs.exists(lake.staging(INTERVAL.partition.split("=", 1)[1] + "-full"))
    print(f"killed after {len(done)}/{chunks} chunks: {first_run} + {second_run} requests against {uninterrupted} uninterrupted")
    assert first_run + second_run <= 1.05 * uninterrupted
