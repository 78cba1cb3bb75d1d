"""The producer's poll against the TMDB simulator: which events, with TMDB's times, and nothing twice."""

import asyncio
from datetime import UTC, datetime, timedelta

from movie_harness.tmdb_simulator import Catalogue, Faults
from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.schemas.avro import METADATA, METRIC, REVIEW
from movie_pipeline.speed.ledger import SentLedger
from movie_pipeline.speed.producer import PollPlan, poll, run
from movie_pipeline.tmdb.client import TmdbClient
from tests.conftest import API_KEY

CATALOGUE = Catalogue(400, seed=5)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PLAN = PollPlan(trending_pages=1, max_detail_movies=30)


def poll_at(simulator, ledger):
    async def run():
        async with TmdbClient(TmdbSettings(base_url=simulator.base_url, api_key=API_KEY, rate_limit=500)) as client:
            return await poll(client, ledger, PLAN)

    return asyncio.run(run())


def test_a_poll_yields_tmdb_timed_events_once(start_simulator, tmp_path):
    clock = {"now": NOW.timestamp()}
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=lambda: clock["now"])
    ledger = SentLedger(tmp_path / "ledger.sqlite")
    found = poll_at(simulator, ledger)
    by_type = {t: [e for et, e in found if et is t] for t in (METRIC, REVIEW, METADATA)}

    metric_ids = [e["movie_id"] for e in by_type[METRIC]]
    assert len(metric_ids) == len(set(metric_ids)) >= 20  # one metric event per movie and poll
    assert {e["event_time"] for e in by_type[METRIC]} == {NOW}  # the Date header, on the simulator's clock
    assert len(by_type[METADATA]) == 30 and all(not e["deleted"] and e["title"] for e in by_type[METADATA])
    for event in by_type[METADATA]:
        truth = CATALOGUE.details(event["movie_id"], NOW.timestamp())
        assert (event["title"], event["genre_ids"]) == (truth["title"], [g["id"] for g in truth["genres"]])
    for review in by_type[REVIEW]:
        assert review["event_time"] <= NOW and review["content"]

    for event_type, event in found:
        ledger.record(event_type.name, event)
    clock["now"] = (NOW + timedelta(minutes=1)).timestamp()
    again = poll_at(simulator, ledger)
    sent = {e["movie_id"]: (e["popularity"], e["vote_average"], e["vote_count"]) for e in by_type[METRIC]}
    for event_type, event in again:
        if event_type is METRIC and event["movie_id"] in sent:
            assert (event["popularity"], event["vote_average"], event["vote_count"]) != sent[event["movie_id"]]
    assert not [e for t, e in again if t is REVIEW or t is METADATA], "nothing changed at TMDB in a minute: no review or metadata event"
    ledger.close()


def test_a_poll_that_tmdb_keeps_failing_is_given_up_and_the_producer_polls_on(start_simulator, tmp_path):
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=1000, faults=Faults(error_5xx=1.0))
    settings = Settings(tmdb=TmdbSettings(base_url=simulator.base_url, api_key=API_KEY, rate_limit=500, max_retries=1))
    lines = []
    stats = run(settings, tmp_path / "ledger.sqlite", every_s=0.1, plan=PLAN, polls=3, emit=lines.append)
    assert (stats.failed_polls, stats.polls, lines) == (3, 0, [])
    assert simulator.stats.requests == 3 * 2  # each poll's first request, tried twice
