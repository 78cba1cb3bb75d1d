"""The merge rule, property-based: against a ground truth of reviews, whatever the times, versions and order."""

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from movie_pipeline.config import SpeedSettings
from movie_pipeline.merge import (
    BATCH,
    SPEED,
    Observation,
    SentimentBucket,
    SpeedWindow,
    cutoff,
    floor_hour,
    merge_current,
    merge_sentiment,
)
from movie_pipeline.sentiment import sentiment_label

T0 = datetime(2026, 11, 20, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
TTL = timedelta(seconds=SpeedSettings().ttl_seconds)

# seconds before now: half of them around the cutoff (46-50 h ago), where a rule would break
reviews_strategy = st.lists(
    st.tuples(
        st.one_of(st.integers(46 * 3600, 50 * 3600), st.integers(0, 8 * 24 * 3600)),
        st.floats(-1, 1, allow_nan=False).map(lambda c: round(c, 4)),
    ),
    max_size=80,
)
now_strategy = st.integers(5 * 24 * 3600, 10 * 24 * 3600).map(lambda s: T0 + timedelta(seconds=s))


def bucket_of(start: datetime, compounds: list[float]) -> SentimentBucket:
    labels = [sentiment_label(c) for c in compounds]
    return SentimentBucket(
        start, len(compounds), sum(compounds), labels.count("positive"), labels.count("neutral"), labels.count("negative")
    )


def window_start(at: datetime) -> datetime:
    return at - timedelta(minutes=at.minute % 5, seconds=at.second, microseconds=at.microsecond)


def batch_views(reviews, until: datetime) -> list[SentimentBucket]:
    """Gold: the reviews updated before the batch's data ends, per hour."""
    hours = defaultdict(list)
    for at, compound in reviews:
        if at < until:
            hours[floor_hour(at)].append(compound)
    return [bucket_of(hour, compounds) for hour, compounds in hours.items()]


def speed_views(reviews, now: datetime, rng: random.Random) -> list[SpeedWindow]:
    """Cassandra: the windows still alive (TTL), each in one or more versions (earlier ones partial)."""
    windows = defaultdict(list)
    for at, compound in sorted(reviews):
        if now - TTL < at <= now:
            windows[window_start(at)].append((at, compound))
    versions = []
    for start, events in windows.items():
        for n in sorted({len(events), *(rng.randint(1, len(events)) for _ in range(rng.randint(0, 2)))}):
            prefix = events[:n]
            bucket = bucket_of(start, [c for _, c in prefix])
            written = prefix[-1][0] + timedelta(seconds=1)
            versions.append(
                SpeedWindow(
                    start, written, bucket.reviews, bucket.sentiment_sum, bucket.positive, bucket.neutral, bucket.negative,
                    last_event_time=prefix[-1][0],
                )
            )  # fmt: skip
    return versions


def truth(reviews, now: datetime) -> dict[datetime, SentimentBucket]:
    hours = defaultdict(list)
    for at, compound in reviews:
        if at <= now:
            hours[floor_hour(at)].append(compound)
    return {hour: bucket_of(hour, compounds) for hour, compounds in hours.items()}


def totals(merged) -> dict[datetime, SentimentBucket]:
    return {bucket.start: bucket for bucket, _ in merged.buckets}


def same(a: SentimentBucket, b: SentimentBucket) -> bool:
    counts = (a.start, a.reviews, a.positive, a.neutral, a.negative) == (b.start, b.reviews, b.positive, b.neutral, b.negative)
    return counts and math.isclose(a.sentiment_sum, b.sentiment_sum, abs_tol=1e-9)


@settings(max_examples=300, deadline=None)
@given(raw=reviews_strategy, now=now_strategy, batch_lag_s=st.integers(0, 48 * 3600), seed=st.integers(0, 2**16))
def test_every_hour_once_and_none_missing_whatever_the_batch_lag_and_the_versions(raw, now, batch_lag_s, seed):
    reviews = [(now - timedelta(seconds=s), c) for s, c in raw]
    batch_until = max(now - timedelta(seconds=batch_lag_s), cutoff(now))  # the batch runs every 4 h: it reaches the cutoff
    merged = merge_sentiment(batch_views(reviews, batch_until), batch_until, speed_views(reviews, now, random.Random(seed)), now)

    starts = [bucket.start for bucket, _ in merged.buckets]
    assert len(starts) == len(set(starts)), "an hour counted twice"
    expected, got = truth(reviews, now), totals(merged)
    assert set(got) == set(expected), "an hour missing or invented"
    assert all(same(got[hour], expected[hour]) for hour in expected)
    assert all((source == BATCH) == (bucket.start < merged.cutoff) for bucket, source in merged.buckets)
    assert merged.gap is None


@settings(max_examples=150, deadline=None)
@given(raw=reviews_strategy, now=now_strategy, seed=st.integers(0, 2**16))
def test_the_merge_is_idempotent_and_independent_of_arrival_order(raw, now, seed):
    reviews = [(now - timedelta(seconds=s), c) for s, c in raw]
    rng = random.Random(seed)
    batch, windows = batch_views(reviews, now - timedelta(hours=3)), speed_views(reviews, now, rng)
    once = merge_sentiment(batch, now - timedelta(hours=3), windows, now)
    shuffled_batch, shuffled_windows = batch[:], windows + windows  # the exported copy beside Cassandra's: versions repeat
    rng.shuffle(shuffled_batch)
    rng.shuffle(shuffled_windows)
    again = merge_sentiment(shuffled_batch, now - timedelta(hours=3), shuffled_windows, now)
    assert again == once
    assert merge_sentiment(batch, now - timedelta(hours=3), windows, now) == once


def test_a_batch_that_has_not_reached_the_cutoff_leaves_a_named_gap():
    now = T0 + timedelta(days=5, minutes=30)
    reviews = [(T0 + timedelta(days=d, hours=h), 0.5) for d in range(5) for h in (1, 13)]
    stale = now - timedelta(hours=60)
    merged = merge_sentiment(batch_views(reviews, stale), stale, speed_views(reviews, now, random.Random(1)), now)
    assert merged.gap == (floor_hour(stale), cutoff(now))
    assert not [b for b, _ in merged.buckets if floor_hour(stale) <= b.start < cutoff(now)]
    assert merge_sentiment([], None, [], now).gap == (None, cutoff(now))


def test_the_freshest_metrics_win_and_the_batch_on_a_tie():
    at = T0 + timedelta(hours=5)
    batch = Observation(BATCH, at, 10.0, 7.0, 100)
    older = SpeedWindow(window_start(at - WINDOW), at - timedelta(minutes=1), popularity=9.0, vote_average=6.9, vote_count=99,
                        last_event_time=at - timedelta(minutes=1))  # fmt: skip
    newer = SpeedWindow(window_start(at), at + timedelta(minutes=2), popularity=12.0, vote_average=7.1, vote_count=104,
                        last_event_time=at + timedelta(minutes=2))  # fmt: skip
    tie = SpeedWindow(window_start(at), at, popularity=11.0, vote_average=7.0, vote_count=101, last_event_time=at)
    assert merge_current(batch, [older, newer]) == Observation(SPEED, newer.last_event_time, 12.0, 7.1, 104)
    assert merge_current(batch, [older]) == batch
    assert merge_current(batch, [tie]) == batch
    assert merge_current(None, [SpeedWindow(window_start(at), at, review_count=2)]) is None
