"""The synthetic catalogue's fast paths agree with brute force over the whole catalogue."""

from datetime import UTC, date, datetime

import pytest

from movie_harness.tmdb_simulator.catalogue import GENRES, Catalogue

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(size=3000, seed=7)


def test_genres_are_tmdbs_nineteen_with_real_ids():
    assert len(GENRES) == 19
    assert dict(GENRES)[878] == "Science Fiction" and dict(GENRES)[10770] == "TV Movie"
    assert 10769 not in dict(GENRES)  # "Foreign" was retired


def test_release_dates_never_decrease_and_ranges_match_brute_force(catalogue):
    dates = [catalogue.release_date(i) for i in range(catalogue.size)]
    assert dates == sorted(dates)
    assert dates[0].year < 1960 and dates[-1].year >= 2026
    for gte, lte in [(date(1990, 1, 1), date(1999, 12, 31)), (date(2026, 11, 20), date(2026, 11, 20)), (None, date(1950, 6, 1))]:
        lo, hi = catalogue.index_range(gte, lte)
        expected = [i for i, d in enumerate(dates) if (gte is None or d >= gte) and (lte is None or d <= lte)]
        assert list(range(lo, hi)) == expected


def test_listing_counts_and_pages_match_brute_force(catalogue):
    lo, hi = catalogue.index_range(date(1980, 1, 1), date(2020, 12, 31))
    for include_adult in (False, True):
        listed = [i for i in range(lo, hi) if (include_adult or not catalogue.is_adult(i)) and not catalogue.is_deleted(i, NOW)]
        assert catalogue.count_listed(lo, hi, NOW, include_adult) == len(listed)
        for start in (0, 20, 440, len(listed) - 5):
            assert catalogue.listed_slice(lo, hi, start, 20, NOW, include_adult, False) == listed[start : start + 20]
            assert catalogue.listed_slice(lo, hi, start, 20, NOW, include_adult, True) == listed[::-1][start : start + 20]


def test_change_feed_matches_a_scan_of_every_movie(catalogue):
    start = datetime(2026, 11, 19, tzinfo=UTC).timestamp()
    for end in (start + 4 * 3600, start + 86400, start + 9 * 86400):
        stop = min(end, NOW)
        expected = [catalogue.movie_id(i) for i in range(catalogue.size) if catalogue._updated_within(i, start, stop)]
        assert catalogue.changed_ids(start, end, NOW) == expected
        assert expected, "the window should hold updates"
    # a movie in the feed has really changed in the window
    movie_id = catalogue.changed_ids(start, start + 86400, NOW)[0]
    index = catalogue.index_of(movie_id)
    assert catalogue.updates_by(index, start) < catalogue.updates_by(index, start + 86400)


def test_values_evolve_only_forward_and_deleted_movies_vanish(catalogue):
    index = 11
    times = [NOW + k * 86400 for k in range(0, 40, 3)]
    counts = [catalogue.vote_count(index, t) for t in times]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    reviews = [len(catalogue.reviews(catalogue.movie_id(index), t)) for t in times]
    assert reviews == sorted(reviews)
    deleted = next(i for i in range(catalogue.size) if catalogue.deleted_at(i) and catalogue.deleted_at(i) < NOW)
    assert catalogue.details(catalogue.movie_id(deleted), NOW) is None
    assert catalogue.details(catalogue.movie_id(deleted), catalogue.deleted_at(deleted) - 1) is not None
    assert catalogue.movie_id(deleted) in catalogue.changed_ids(catalogue.deleted_at(deleted) - 60, catalogue.deleted_at(deleted) + 60, NOW)


def test_reviews_carry_their_sentiment_and_tmdb_shapes(catalogue):
    reviews = [r for i in range(200) for r in catalogue.reviews(catalogue.movie_id(i), NOW)]
    assert {r.sentiment for r in reviews} == {"positive", "negative", "neutral"}
    created = [r.created_at for r in catalogue.reviews(catalogue.movie_id(3), NOW)]
    assert created == sorted(created)
    sample = reviews[0].payload
    assert len(sample["id"]) == 24 and sample["created_at"].endswith("Z") and "\r\n" in sample["content"]
    assert sample["url"] == f"https://www.themoviedb.org/review/{sample['id']}"


def test_details_follow_tmdb_types(catalogue):
    details = catalogue.details(catalogue.movie_id(5), NOW, ("credits", "keywords", "reviews", "release_dates"))
    assert isinstance(details["budget"], int) and isinstance(details["popularity"], float)
    assert set(details) >= {"credits", "keywords", "reviews", "release_dates", "genres", "imdb_id", "belongs_to_collection"}
    assert "id" not in details["credits"] and "id" not in details["reviews"]
    assert details["status"] in {"Released", "Post Production", "In Production", "Planned"}
    assert catalogue.details(4, NOW) is None  # not an id of the catalogue


def test_a_million_movie_catalogue_answers_without_materialising():
    big = Catalogue(size=1_000_000, seed=1)
    lo, hi = big.index_range(date(2010, 1, 1), date(2010, 12, 31))
    assert 10_000 < hi - lo < 30_000
    page = big.listed_slice(lo, hi, 9_980, 20, NOW, False, False)
    assert len(page) == 20 and all(lo <= i < hi for i in page)
    assert big.details(big.movie_id(999_999), NOW)["id"] == big.movie_id(999_999)
    day = datetime(2026, 11, 19, tzinfo=UTC).timestamp()
    assert len(big.changed_ids(day, day + 3600, NOW)) > 5_000
    assert big.release_date(999_999) <= date(2027, 12, 31) and big.release_date(0) >= date(1950, 1, 1)
