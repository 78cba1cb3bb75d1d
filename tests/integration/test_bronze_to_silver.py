"""bronze -> silver on a lake ingested from the simulator, checked against the catalogue in plain Python."""

from __future__ import annotations

from datetime import UTC, datetime

from movie_harness.tmdb_simulator import Catalogue, Faults
from movie_pipeline.config import Settings, TmdbSettings
from movie_pipeline.ingest import ingest
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from spark_jobs import bronze_to_silver
from tests.conftest import API_KEY

CATALOGUE = Catalogue(150, seed=3)
NOW = datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()
INTERVAL = Interval(datetime(2026, 11, 20, 4, tzinfo=UTC), datetime(2026, 11, 20, 8, tzinfo=UTC))


def ingest_into(simulator, lake_uri: str) -> None:
    tmdb = TmdbSettings(base_url=simulator.base_url, api_key=API_KEY, rate_limit=500.0, timeout=2.0)
    ingest(Settings(tmdb=tmdb, lake_uri=lake_uri), INTERVAL)


def test_silver_equals_the_catalogue(spark, start_simulator, tmp_path):
    lake_uri = (tmp_path / "lake").as_uri()
    ingest_into(start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=NOW), lake_uri)
    counts = bronze_to_silver.run(spark, lake_uri, "test-run")
    lake = Lake(lake_uri)

    movies = {r.movie_id: r for r in spark.read.parquet(lake.spark_uri("silver", "movies")).collect()}
    expected_ids = CATALOGUE.listed_ids(NOW)
    assert sorted(movies) == expected_ids and counts["movies"] == len(expected_ids)
    for movie_id in expected_ids:
        truth = CATALOGUE.details(movie_id, NOW, ("credits",))
        row = movies[movie_id]
        assert (row.title, row.vote_count, row.popularity) == (truth["title"], truth["vote_count"], truth["popularity"])
        assert row.genres == [g["name"] for g in truth["genres"]]
        assert row.directors == [c["name"] for c in truth["credits"]["crew"] if c["job"] == "Director"]
        assert row.runtime_min == (truth["runtime"] or None) and row.budget_usd == (truth["budget"] or None)

    reviews = {r.review_id: r for r in spark.read.parquet(lake.spark_uri("silver", "reviews")).collect()}
    truth_reviews = {r.review_id: r for movie_id in expected_ids for r in CATALOGUE.reviews(movie_id, NOW)}
    assert set(reviews) == set(truth_reviews) and reviews
    assert all(
        reviews[i].sentiment_label == truth_reviews[i].sentiment and reviews[i].movie_id == truth_reviews[i].movie_id for i in reviews
    )
    assert counts["rejects"] == 0 and counts["movie_snapshots"] == len(expected_ids)


def test_malformed_records_land_in_silver_rejects(spark, start_simulator, tmp_path):
    lake_uri = (tmp_path / "lake").as_uri()
    simulator = start_simulator(catalogue=CATALOGUE, rate_limit=1000, now=NOW, faults=Faults(malformed=0.15), fault_seed=8)
    ingest_into(simulator, lake_uri)
    bronze_to_silver.run(spark, lake_uri, "bad-run")
    rejects = spark.read.parquet(Lake(lake_uri).spark_uri("silver", "rejects")).collect()
    assert rejects and {r.run_id for r in rejects} == {"bad-run"}
    assert all(r.reason and r.raw and r.source_partition == INTERVAL.partition for r in rejects)
    assert {r.source_entity for r in rejects} <= {"ingest", "movie_details", "reviews"}
    movies = spark.read.parquet(Lake(lake_uri).spark_uri("silver", "movies")).count()
    assert 0 < movies < len(CATALOGUE.listed_ids(NOW)), "movies whose details were malformed are not in silver"
