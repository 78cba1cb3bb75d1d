"""The TMDB client against the simulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime

import pytest

from movie_harness.tmdb_simulator import Catalogue, Faults
from movie_pipeline.config import TmdbSettings
from movie_pipeline.errors import TmdbAuthError, TmdbUnavailableError
from movie_pipeline.tmdb.client import TmdbClient, gather_bounded
from tests.conftest import API_KEY

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()


def settings_for(simulator, **overrides) -> TmdbSettings:
    values = {"base_url": simulator.base_url, "api_key": API_KEY, "rate_limit": 200.0, "concurrency": 10, "timeout": 2.0}
    values.update(overrides)
    return TmdbSettings(**values)


async def fetch_movies(settings: TmdbSettings, ids: list[int]) -> tuple[TmdbClient, list]:
    async with TmdbClient(settings) as tmdb:
        responses = await gather_bounded(ids, tmdb.movie)
    return tmdb, responses


def test_concurrent_requests_share_one_limit_and_reach_it(start_simulator):
    catalogue = Catalogue(200)
    simulator = start_simulator(catalogue=catalogue, rate_limit=1000, now=NOW)
    ids = [catalogue.movie_id(i) for i in range(80)]
    started = time.monotonic()
    tmdb, responses = asyncio.run(fetch_movies(settings_for(simulator, rate_limit=20.0, concurrency=10), ids))
    elapsed = time.monotonic() - started
    assert [r.payload["id"] for r in responses if r.status == 200] == [i for i in ids if catalogue.details(i, NOW)]
    assert tmdb.stats.requests == 80
    assert elapsed >= 79 / 20 * 0.98, "80 requests at 20/s cannot take less than 3.95 s"
    assert elapsed <= 79 / 20 * 1.25, f"10 concurrent requests should keep up with 20/s, took {elapsed:.2f} s"


def test_429_retry_after_pauses_then_everything_arrives(start_simulator):
    catalogue = Catalogue(200)
    simulator = start_simulator(catalogue=catalogue, rate_limit=15, burst=5, now=NOW)
    ids = [catalogue.movie_id(i) for i in range(60)]
    tmdb, responses = asyncio.run(fetch_movies(settings_for(simulator, rate_limit=60.0), ids))
    assert tmdb.stats.throttled > 0 and simulator.stats.by_status[429] == tmdb.stats.throttled
    assert [r.payload.get("id") for r in responses if r.status == 200] == [i for i in ids if catalogue.details(i, NOW)]


def test_5xx_and_timeouts_are_retried_until_they_succeed(start_simulator):
    catalogue = Catalogue(200)
    faults = Faults(error_5xx=0.25, timeout=0.1, timeout_seconds=1.0)
    simulator = start_simulator(catalogue=catalogue, rate_limit=1000, faults=faults, now=NOW, fault_seed=3)
    ids = [catalogue.movie_id(i) for i in range(60)]
    tmdb, responses = asyncio.run(fetch_movies(settings_for(simulator, timeout=0.3, max_retries=8), ids))
    assert tmdb.stats.retries > 0 and tmdb.stats.timeouts > 0
    assert sum(simulator.stats.by_status[s] for s in (500, 502, 503, 504)) > 0
    expected = [catalogue.details(i, NOW, ("credits", "keywords", "reviews", "release_dates")) for i in ids]
    assert [r.payload if r.status == 200 else None for r in responses] == expected


def test_discover_splits_windows_past_the_500_page_cap(start_simulator):
    catalogue = Catalogue(24_000, seed=5)
    simulator = start_simulator(catalogue=catalogue, rate_limit=5000, now=NOW)
    pages = []

    async def run():
        async with TmdbClient(settings_for(simulator, rate_limit=2000.0, concurrency=16)) as tmdb:
            total = await tmdb.discover(date(1874, 1, 1), date(2036, 1, 1), pages.append)
        return tmdb, total

    tmdb, total = asyncio.run(run())
    truth = catalogue.listed_ids(NOW)
    assert len(truth) > 10_000, "the catalogue must exceed what one query can page through"
    assert total == len(truth)
    ids = [item["id"] for page in pages for item in page.payload["results"]]
    assert len(ids) == len(set(ids)), "no movie may be listed twice"
    assert sorted(ids) == truth
    assert all(page.payload["page"] <= 500 for page in pages)


def test_bad_credentials_and_unreachable_hosts_fail_clearly(start_simulator):
    simulator = start_simulator(now=NOW)
    with pytest.raises(TmdbAuthError, match="TMDB refused the credentials .*401.*code 7"):
        asyncio.run(fetch_movies(settings_for(simulator, api_key="wrong"), [5]))
    unreachable = TmdbSettings(base_url="http://127.0.0.1:9/3", api_key=API_KEY, max_retries=1)
    with pytest.raises(TmdbUnavailableError, match="failed 2 times in a row .*connection failed"):
        asyncio.run(fetch_movies(unreachable, [5]))


def test_v4_read_token_is_sent_as_a_bearer_header(start_simulator):
    catalogue = Catalogue(50)
    simulator = start_simulator(catalogue=catalogue, now=NOW, read_tokens={"eyJ.test.token"})
    _, responses = asyncio.run(fetch_movies(settings_for(simulator, api_key=None, read_token="eyJ.test.token"), [5]))
    assert responses[0].payload["id"] == 5
    with pytest.raises(TmdbAuthError):
        asyncio.run(fetch_movies(settings_for(simulator, api_key=None, read_token="eyJ.other"), [5]))


@pytest.fixture
def httpx_debug_log(caplog):
    """httpx's own request log at DEBUG, captured even if another library reconfigured logging."""
    caplog.set_level(logging.DEBUG)
    httpx_logger = logging.getLogger("httpx")
    previous = httpx_logger.level
    httpx_logger.setLevel(logging.DEBUG)
    httpx_logger.addHandler(caplog.handler)
    yield caplog
    httpx_logger.removeHandler(caplog.handler)
    httpx_logger.setLevel(previous)


def test_the_key_never_reaches_logs_errors_or_recorded_params(start_simulator, httpx_debug_log):
    caplog = httpx_debug_log
    simulator = start_simulator(catalogue=Catalogue(50), now=NOW, faults=Faults(error_5xx=0.5), fault_seed=1)
    _, responses = asyncio.run(fetch_movies(settings_for(simulator, max_retries=10), [5, 8, 11]))
    dead = TmdbSettings(base_url="http://127.0.0.1:9/3", api_key=API_KEY, max_retries=0)
    with pytest.raises(TmdbUnavailableError) as failure:
        asyncio.run(fetch_movies(dead, [5]))
    assert "api_key=***" in caplog.text, "httpx logs request URLs; they must be redacted, not absent"
    assert API_KEY not in caplog.text
    assert API_KEY not in str(failure.value)
    assert all(API_KEY not in str(r.envelope()) for r in responses)
