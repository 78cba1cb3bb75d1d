"""Compare a committed bronze interval with the simulator's ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from movie_harness.tmdb_simulator import Catalogue
from movie_pipeline.bronze import read_partition
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import Lake
from movie_pipeline.tmdb.client import DETAIL_APPENDS


def expected_ids(catalogue: Catalogue, interval: Interval, now: float, full: bool) -> tuple[set[int], set[int]]:
    """(ids that must be hydrated, ids that must be tombstones) for an ingestion at ``now``."""
    if full:  # the ID export of the interval's last day, or the day before while that one is not published
        _, last = interval.days()
        day = last if catalogue.export_published(last, now) else last - timedelta(days=1)
        listed = catalogue.export_ids(day)
        deleted = {movie_id for movie_id in listed if catalogue.details(movie_id, now) is None}
        return set(listed) - deleted, deleted
    first, last = interval.days()
    start = datetime.combine(first, datetime.min.time(), UTC).timestamp()
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC).timestamp() - 1e-6
    rows = [r for r in catalogue.change_rows(start, end, now) if r["adult"] is not True]
    deleted = {r["id"] for r in rows if catalogue.details(r["id"], now) is None}
    return {r["id"] for r in rows} - deleted, deleted


def assert_bronze_matches(lake_uri: str, catalogue: Catalogue, interval: Interval, now: float, full: bool) -> dict[str, int]:
    """Every movie and review of the interval is in bronze exactly once, equal to the truth."""
    lake = Lake(lake_uri)
    live, deleted = expected_ids(catalogue, interval, now, full)
    details = read_partition(lake, "movie_details", interval)
    written = Counter(r["params"]["movie_id"] for r in details)
    assert max(written.values(), default=1) == 1, f"movies written twice: {[i for i, n in written.items() if n > 1][:10]}"
    hydrated = {r["params"]["movie_id"] for r in details if r["status"] == 200}
    assert hydrated == live, f"hydrated ids differ: missing {sorted(live - hydrated)[:10]}, extra {sorted(hydrated - live)[:10]}"
    tombstones = {r["params"]["movie_id"] for r in details if r["status"] == 404}
    assert tombstones == deleted
    reviews_by_movie: dict[int, list[dict]] = {}
    for record in details:
        if record["status"] == 200:
            payload = record["payload"]
            assert payload == catalogue.details(payload["id"], now, DETAIL_APPENDS), f"details of {payload['id']} differ"
            reviews_by_movie[payload["id"]] = list(payload["reviews"]["results"])
    for record in read_partition(lake, "movie_reviews", interval):
        reviews_by_movie[record["payload"]["id"]].extend(record["payload"]["results"])
    review_count = 0
    for movie_id, reviews in reviews_by_movie.items():
        assert reviews == [r.payload for r in catalogue.reviews(movie_id, now)], f"reviews of {movie_id} differ"
        review_count += len(reviews)
    for record in details:
        assert set(record) == {"fetched_at", "endpoint", "params", "status", "payload"}
    return {"movies": len(live), "tombstones": len(deleted), "reviews": review_count}
