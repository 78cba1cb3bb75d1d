"""The ``movie-pipeline`` command as a user runs it: a real simulator process, one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import API_KEY

CLI = str(Path(sys.executable).with_name("movie-pipeline"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TMDB_")}
    environment.update(env)
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=environment, timeout=120)


@pytest.fixture(scope="module")
def simulator_url():
    port = free_port()
    process = subprocess.Popen(
        [CLI, "tmdb-sim", "--port", str(port), "--movies", "120", "--rate-limit", "500", "--now", "2026-11-20T12:00:00Z"],
        stdout=subprocess.PIPE,
        text=True,
    )
    banner = process.stdout.readline()
    assert "serving http://127.0.0.1" in banner, banner
    yield f"http://127.0.0.1:{port}/3"
    process.terminate()
    assert process.wait(timeout=10) == 0
    assert "stopped after" in process.stdout.read()


def assert_one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("movie-pipeline: error:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_every_command_explains_itself():
    for args in ([], ["tmdb-sim"], ["ingest"]):
        done = run(*args, "--help")
        assert done.returncode == 0 and "usage: movie-pipeline" in done.stdout


def test_ingest_prints_progress_and_a_summary(simulator_url, tmp_path):
    lake = (tmp_path / "lake").as_uri()
    done = run(
        "ingest",
        "--start",
        "2026-11-20T04:00:00Z",
        "--end",
        "2026-11-20T08:00:00Z",
        TMDB_BASE_URL=simulator_url,
        TMDB_API_KEY=API_KEY,
        TMDB_RATE_LIMIT="200",
        LAKE_URI=lake,
    )
    assert done.returncode == 0, done.stderr
    assert "full load" in done.stdout and "hydrating movies" in done.stderr
    for label in ("requests", "req/s", "rejects", "records", "written"):
        assert label in done.stdout
    assert f"{lake}/bronze/movie_details/interval_start=20261120T040000Z" in done.stdout
    again = run(
        "ingest",
        "--start",
        "2026-11-20T08:00:00Z",
        "--end",
        "2026-11-20T12:00:00Z",
        TMDB_BASE_URL=simulator_url,
        TMDB_API_KEY=API_KEY,
        TMDB_RATE_LIMIT="200",
        LAKE_URI=lake,
    )
    assert again.returncode == 0 and "incremental load" in again.stdout


def test_invalid_interval(tmp_path):
    assert_one_line_error(
        run("ingest", "--start", "2026-11-20T08:00Z", "--end", "2026-11-20T04:00Z", TMDB_API_KEY=API_KEY), "empty interval"
    )
    assert_one_line_error(
        run("ingest", "--start", "last tuesday", "--end", "2026-11-20T04:00Z", TMDB_API_KEY=API_KEY), "--start", "ISO 8601"
    )


def test_missing_and_invalid_keys(simulator_url, tmp_path):
    lake = (tmp_path / "lake").as_uri()
    interval = ("--start", "2026-11-20T00:00Z", "--end", "2026-11-20T04:00Z")
    assert_one_line_error(run("ingest", *interval, TMDB_BASE_URL=simulator_url, LAKE_URI=lake), "TMDB_API_KEY", "TMDB_READ_TOKEN")
    done = run("ingest", *interval, TMDB_BASE_URL=simulator_url, TMDB_API_KEY="not-a-real-key", LAKE_URI=lake)
    assert_one_line_error(done, "401", "TMDB_API_KEY")
    assert "not-a-real-key" not in done.stderr + done.stdout


def test_unreachable_tmdb(tmp_path):
    started = time.monotonic()
    done = run(
        "ingest", "--start", "2026-11-20T00:00Z", "--end", "2026-11-20T04:00Z",
        TMDB_BASE_URL=f"http://127.0.0.1:{free_port()}/3", TMDB_API_KEY=API_KEY, TMDB_MAX_RETRIES="1", LAKE_URI=(tmp_path / "lake").as_uri(),
    )  # fmt: skip
    assert_one_line_error(done, "reachable", "TMDB_BASE_URL")
    assert time.monotonic() - started < 60


def test_simulator_port_in_use(simulator_url):
    port = simulator_url.rsplit(":", 1)[1].split("/")[0]
    assert_one_line_error(run("tmdb-sim", "--port", port), "cannot listen", "--port")
