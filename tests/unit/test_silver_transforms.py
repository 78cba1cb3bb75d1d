"""bronze -> silver transforms on tiny hand-built bronze lines, compared as whole DataFrames."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from spark_jobs import schemas
from spark_jobs.transforms import silver

PARTITION = "interval_start=20261120T000000Z"
OBSERVED = datetime(2026, 11, 20, 4)  # the end of PARTITION's interval


def envelope(
    payload: dict, params: dict, status: int = 200, fetched_at: str = "2026-11-20T01:00:00.000Z", endpoint="/movie/{movie_id}"
) -> str:
    return json.dumps({"fetched_at": fetched_at, "endpoint": endpoint, "params": params, "status": status, "payload": payload})


def details_payload(movie_id: int, **overrides) -> dict:
    payload = {
        "id": movie_id,
        "title": f"Movie {movie_id}",
        "original_title": f"Movie {movie_id}",
        "original_language": "en",
        "overview": "",
        "status": "Released",
        "release_date": "2001-05-04",
        "runtime": 0,
        "budget": 1000,
        "revenue": 0,
        "popularity": 12.5,
        "vote_average": 7,
        "vote_count": 40,
        "adult": False,
        "genres": [{"id": 18, "name": "Drama"}, {"id": 35, "name": "Comedy"}],
        "credits": {
            "cast": [{"id": 1, "name": "B Second", "character": "", "order": 1}, {"id": 2, "name": "A First", "character": "", "order": 0}],
            "crew": [{"id": 3, "name": "D Director", "job": "Director"}, {"id": 4, "name": "W Writer", "job": "Screenplay"}],
        },
        "keywords": {"keywords": [{"id": 9, "name": "harbor"}]},
        "reviews": {"page": 1, "total_pages": 1, "total_results": 0, "results": []},
    }
    payload.update(overrides)
    return payload


def lines(spark, *values: str, partition: str = PARTITION, observed: datetime = OBSERVED):
    return spark.createDataFrame([(v, partition, observed) for v in values], "value string, source_partition string, observed_at timestamp")


def details_envelopes(bronze):
    return silver.parse_envelopes(bronze, schemas.MOVIE_DETAILS)


def interval_lines(spark, hours: int, *values: str):
    """Lines of the 4-hour interval starting ``hours`` after PARTITION's."""
    start = datetime(2026, 11, 20) + timedelta(hours=hours)
    return lines(spark, *values, partition=f"interval_start={start:%Y%m%dT%H%M%SZ}", observed=start + timedelta(hours=4))


@pytest.fixture
def genres(spark):
    payload = {"genres": [{"id": 18, "name": "Drama"}, {"id": 35, "name": "Comedy"}]}
    return silver.genre_names(
        silver.parse_envelopes(lines(spark, envelope(payload, {"language": "en"}, endpoint="/genre/movie/list")), schemas.GENRE_LIST)
    )


def test_latest_snapshot_wins_and_a_later_tombstone_removes_the_movie(spark, genres):
    bronze = interval_lines(
        spark,
        0,
        envelope(details_payload(5, vote_count=40), {"movie_id": 5}, fetched_at="2026-11-20T01:00:00.000Z"),
        envelope(details_payload(8), {"movie_id": 8}, fetched_at="2026-11-20T01:00:00.000Z"),
    ).unionByName(
        interval_lines(
            spark,
            4,
            envelope(details_payload(5, vote_count=45, popularity=13.0), {"movie_id": 5}, fetched_at="2026-11-20T05:00:00.000Z"),
            envelope({"success": False, "status_code": 34}, {"movie_id": 8}, status=404, fetched_at="2026-11-20T06:00:00.000Z"),
        )
    )
    details, rejects = silver.movie_details(details_envelopes(bronze))
    assert rejects.count() == 0
    expected = spark.createDataFrame(
        [
            (
                5, "Movie 5", "Movie 5", "en", "", "Released", date(2001, 5, 4), None, 1000, None, 13.0, 7.0, 45,
                [18, 35], ["Drama", "Comedy"], ["A First", "B Second"], ["D Director"], ["harbor"], datetime(2026, 11, 20, 8),
                datetime(2026, 11, 20, 5),
            )
        ],
        schema=silver.schemas.MOVIES,
    )  # fmt: skip
    assertDataFrameEqual(silver.movies_current(details, genres), expected, checkRowOrder=False)
    snapshots = silver.movie_snapshots(details).orderBy("movie_id", "observed_at")
    assert [tuple(r) for r in snapshots.collect()] == [
        (5, datetime(2026, 11, 20, 4), datetime(2026, 11, 20, 1), 12.5, 7.0, 40),
        (5, datetime(2026, 11, 20, 8), datetime(2026, 11, 20, 5), 13.0, 7.0, 45),
        (8, datetime(2026, 11, 20, 4), datetime(2026, 11, 20, 1), 12.5, 7.0, 40),
    ]


def test_a_re_fetched_older_interval_does_not_override_a_newer_one(spark, genres):
    newer = interval_lines(spark, 4, envelope(details_payload(5, vote_count=45), {"movie_id": 5}, fetched_at="2026-11-20T09:00:00.000Z"))
    # interval 0 re-run later (a backfill): fetched after the newer interval, but observed for an older one
    older = interval_lines(spark, 0, envelope(details_payload(5, vote_count=99), {"movie_id": 5}, fetched_at="2026-11-21T09:00:00.000Z"))
    details, _ = silver.movie_details(details_envelopes(newer.unionByName(older)))
    assert [r.vote_count for r in silver.movies_current(details, genres).collect()] == [45]


def test_merging_a_newer_interval_equals_building_from_all_of_bronze(spark, genres):
    first = interval_lines(
        spark,
        0,
        envelope(details_payload(5, vote_count=40), {"movie_id": 5}),
        envelope(details_payload(8), {"movie_id": 8}),
        envelope(details_payload(9), {"movie_id": 9}),
    )
    second = interval_lines(
        spark,
        4,
        envelope(details_payload(5, vote_count=45), {"movie_id": 5}, fetched_at="2026-11-20T05:00:00.000Z"),
        envelope({"success": False, "status_code": 34}, {"movie_id": 8}, status=404, fetched_at="2026-11-20T05:00:00.000Z"),
        envelope(details_payload(11), {"movie_id": 11}, fetched_at="2026-11-20T05:00:00.000Z"),
    )
    old, _ = silver.movie_details(details_envelopes(first))
    new, _ = silver.movie_details(details_envelopes(second))
    everything, _ = silver.movie_details(details_envelopes(first.unionByName(second)))
    merged = silver.merge_movies(silver.movies_current(old, genres), new, genres)
    assertDataFrameEqual(merged, silver.movies_current(everything, genres), checkRowOrder=False)
    assert sorted(r.movie_id for r in merged.collect()) == [5, 9, 11]
    assertDataFrameEqual(
        silver.merge_snapshots(silver.movie_snapshots(old), silver.movie_snapshots(new)), silver.movie_snapshots(everything)
    )


@pytest.mark.parametrize(
    ("payload", "params", "reason"),
    [
        (details_payload(5, id="not-an-id-5"), {"movie_id": 5}, "movie id missing or not an integer"),
        (details_payload(6), {"movie_id": 5}, "payload id differs from the requested movie"),
        (details_payload(5, title=None), {"movie_id": 5}, "title missing"),
        (details_payload(5, vote_average=11.5), {"movie_id": 5}, "vote_average missing or outside 0..10"),
        (details_payload(5, vote_count=-1), {"movie_id": 5}, "vote_count missing or negative"),
        (details_payload(5, popularity="high"), {"movie_id": 5}, "popularity missing or negative"),
        (details_payload(5, budget=-5), {"movie_id": 5}, "negative budget, revenue or runtime"),
        (details_payload(5, release_date="31/12/2001"), {"movie_id": 5}, "implausible release_date"),
        (details_payload(5, release_date="1066-10-14"), {"movie_id": 5}, "implausible release_date"),
    ],
)
def test_bad_details_are_rejected_with_their_reason(spark, payload, params, reason):
    raw = envelope(payload, params)
    details, rejects = silver.movie_details(details_envelopes(lines(spark, raw)))
    assert details.count() == 0
    assertDataFrameEqual(
        rejects,
        spark.createDataFrame(
            [("movie_details", PARTITION, reason, raw)], "source_entity string, source_partition string, reason string, raw string"
        ),
    )


def review(review_id: str, content: str, updated_at: str = "2026-11-01T10:00:00Z", rating=None) -> dict:
    return {
        "id": review_id,
        "author": "ava1",
        "author_details": {"name": "", "username": "ava1", "avatar_path": None, "rating": rating},
        "content": content,
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": updated_at,
        "url": f"https://www.themoviedb.org/review/{review_id}",
    }


def test_reviews_are_deduplicated_scored_and_bad_ones_rejected(spark):
    first_page = {
        "page": 1,
        "total_pages": 2,
        "total_results": 3,
        "results": [review("r1", "A wonderful, brilliant film."), review("", "no id")],
    }
    second_page = {
        "id": 5,
        "page": 2,
        "total_pages": 2,
        "total_results": 3,
        "results": [
            review("r1", "Awful, boring and terrible.", updated_at="2026-11-02T10:00:00.123Z"),
            review("r2", "It was released in May."),
        ],
    }
    stray_page = {"id": 77, "page": 2, "total_pages": 2, "results": [review("r9", "Great.")]}
    details_lines = lines(spark, envelope(details_payload(5, reviews=first_page), {"movie_id": 5}))
    page_lines = lines(
        spark,
        envelope(second_page, {"movie_id": 5, "page": 2}, endpoint="/movie/{movie_id}/reviews"),
        envelope(stray_page, {"movie_id": 77, "page": 2}, endpoint="/movie/{movie_id}/reviews"),
    )
    details, _ = silver.movie_details(details_envelopes(details_lines))
    reviews, rejects = silver.reviews(details, silver.parse_envelopes(page_lines, schemas.REVIEW_PAGE))
    rows = {r.review_id: r for r in silver.scored(reviews).collect()}
    assert set(rows) == {"r1", "r2"}
    assert rows["r1"].content == "Awful, boring and terrible." and rows["r1"].updated_at == datetime(2026, 11, 2, 10, 0, 0, 123000)
    assert rows["r1"].sentiment_label == "negative" and rows["r1"].sentiment_compound <= -0.05
    assert rows["r2"].sentiment_label == "neutral" and rows["r2"].sentiment_compound == 0.0
    assert sorted(r.reason for r in rejects.collect()) == ["review id missing or not a string", "review of an unknown movie"]


def test_merged_reviews_keep_what_silver_has_and_score_only_new_and_edited_ones(spark):
    """A newer interval's reviews merged into silver: a review seen again unchanged keeps its row (first observed,
    and its stored score: VADER does not run on it again), an edited one is replaced and scored, a new one is added;
    the result is the full rebuild's over both intervals."""
    first = interval_lines(
        spark,
        0,
        envelope(
            details_payload(5, reviews={"page": 1, "total_pages": 1, "results": [review("r1", "Great."), review("r2", "Dull.")]}),
            {"movie_id": 5},
        ),
    )
    edited = review("r2", "A wonderful surprise.", updated_at="2026-11-20T06:00:00Z")
    second = interval_lines(
        spark,
        4,
        envelope(
            details_payload(5, reviews={"page": 1, "total_pages": 1, "results": [review("r1", "Great."), edited, review("r3", "Awful.")]}),
            {"movie_id": 5},
            fetched_at="2026-11-20T05:00:00.000Z",
        ),
    )

    def unscored(bronze):
        return silver.reviews(
            silver.movie_details(details_envelopes(bronze))[0], silver.parse_envelopes(lines(spark), schemas.REVIEW_PAGE)
        )[0]

    stored = silver.scored(unscored(first)).withColumn(
        "sentiment_compound", F.when(F.col("review_id") == "r1", F.lit(0.5)).otherwise(F.col("sentiment_compound"))
    )  # a stored score VADER would not give: kept only if r1 is not scored again
    merged = {r.review_id: r for r in silver.merge_reviews(stored, silver.unseen_reviews(unscored(second), stored)).collect()}
    assert sorted(merged) == ["r1", "r2", "r3"]
    assert merged["r1"].sentiment_compound == 0.5 and merged["r1"].observed_at == OBSERVED
    assert merged["r2"].content == "A wonderful surprise." and merged["r2"].sentiment_label == "positive"
    assert merged["r3"].sentiment_label == "negative" and merged["r3"].observed_at == OBSERVED + timedelta(hours=4)
    rebuilt = silver.scored(unscored(first.unionByName(second)))
    held = silver.scored(unscored(first))
    assertDataFrameEqual(silver.merge_reviews(held, silver.unseen_reviews(unscored(second), held)), rebuilt, checkRowOrder=False)


def test_unseen_reviews_are_found_by_their_newest_version_and_kept_once(spark):
    """A review seen twice in one interval counts by its newest version: silver holding that one, the older version
    it lacks is not unseen; a review silver lacks is unseen once, as first fetched."""
    at = datetime(2026, 11, 20, 8)
    schema = "review_id string, movie_id long, content string, updated_at timestamp, observed_at timestamp, fetched_at timestamp"
    versions = spark.createDataFrame(
        [
            ("r1", 5, "older", at - timedelta(days=1), at, at),
            ("r1", 5, "newer", at, at, at),
            ("r2", 5, "new", at, at, at + timedelta(minutes=1)),
            ("r2", 5, "new", at, at, at),
        ],
        schema,
    )
    held = spark.createDataFrame([("r1", at)], "review_id string, updated_at timestamp")
    assert [(r.review_id, r.fetched_at) for r in silver.unseen_reviews(versions, held).collect()] == [("r2", at)]
