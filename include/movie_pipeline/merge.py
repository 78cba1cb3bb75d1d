"""The Lambda merge rule: one answer, exact for the past and fresh for the last 48 hours.

Shared by the export DAG (gold + Cassandra -> MongoDB) and the API (the exported documents + the
speed windows written since the export). Pure functions over plain values; no I/O.

- **The cutoff** is ``now - 48 h`` floored to the hour (``cutoff``). Time buckets are hours: gold
  keeps review sentiment per hour, the speed layer per 5-minute window, and a 5-minute window lies
  inside one hour, so the two never split a bucket between them.
- **Time-bucketed series** (``merge_sentiment``): hours before the cutoff come from the batch views
  only, hours from the cutoff on from the speed views only (their windows summed per hour). The
  speed rows live 48 h plus a grace (``SPEED_TTL_GRACE_HOURS``, at least the hour the floor adds),
  so the hour at the cutoff is still there; the batch runs every 4 hours, so its views reach past
  the cutoff. No hour is counted twice and none is missing at the boundary. When the batch has not
  caught up with the cutoff (its data ends before it), the hours between are a gap: the result
  says so (``MergedSeries.gap``) rather than pretending to be complete.
- **Versions of a speed window**: a window is rewritten every time it changes, and the API sees the
  exported copy beside the one in Cassandra. The latest version (``written_at``, then the values)
  wins; versions are never added up, so the merge is idempotent and independent of input order.
- **Current-state fields** (popularity, vote average, vote count; ``merge_current``): the freshest
  observation wins, the batch's on a tie.

Every result says where each part came from and as of when (``sources``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from movie_pipeline.config import SPEED_HOURS

BUCKET = timedelta(hours=1)
BATCH, SPEED = "batch", "speed"


def floor_hour(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=0, second=0, microsecond=0)


def cutoff(now: datetime) -> datetime:
    """The first hour served by the speed views: ``now - 48 h``, floored to the hour."""
    return floor_hour(now - timedelta(hours=SPEED_HOURS))


@dataclass(frozen=True)
class SentimentBucket:
    """Review sentiment of one movie in one hour (by the review's last update): additive counts."""

    start: datetime
    reviews: int = 0
    sentiment_sum: float = 0.0
    positive: int = 0
    neutral: int = 0
    negative: int = 0

    def __add__(self, other: SentimentBucket) -> SentimentBucket:
        return SentimentBucket(
            self.start,
            self.reviews + other.reviews,
            self.sentiment_sum + other.sentiment_sum,
            self.positive + other.positive,
            self.neutral + other.neutral,
            self.negative + other.negative,
        )


@dataclass(frozen=True)
class SpeedWindow:
    """One version of a 5-minute speed window of a movie (a row of Cassandra's ``movie_windows``)."""

    window_start: datetime
    written_at: datetime
    review_count: int = 0
    sentiment_sum: float = 0.0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    popularity: float | None = None
    vote_average: float | None = None
    vote_count: int | None = None
    last_event_time: datetime | None = None
    popularity_delta: float | None = None  # within the window (for trending)

    def version(self) -> tuple:
        """Later versions first by write time; equal times fall back to the values, so the choice never depends on order."""
        return (self.written_at, self.last_event_time or self.written_at, self.review_count, self.sentiment_sum, self.popularity or 0.0)


@dataclass(frozen=True)
class Observation:
    """A movie's current-state metrics as one source saw them at ``at``."""

    source: str
    at: datetime
    popularity: float | None
    vote_average: float | None
    vote_count: int | None


@dataclass(frozen=True)
class SourcePart:
    source: str
    since: datetime | None  # first hour served by this source (None: from the beginning)
    until: datetime | None  # first hour not served by it (None: up to now)
    as_of: datetime | None  # how fresh its data is (None: it had none)


@dataclass(frozen=True)
class MergedSeries:
    buckets: list[tuple[SentimentBucket, str]]  # (bucket, source), by hour
    sources: list[SourcePart]
    gap: tuple[datetime | None, datetime] | None = None  # hours neither source could serve (from None: all before)
    cutoff: datetime | None = None

    def as_dict(self) -> dict:
        return {
            "cutoff": self.cutoff,
            "buckets": [{**asdict(bucket), "source": source} for bucket, source in self.buckets],
            "sources": [asdict(part) for part in self.sources],
            "gap": None if self.gap is None else {"from": self.gap[0], "until": self.gap[1]},
        }


def latest_versions(windows: Iterable[SpeedWindow]) -> dict[datetime, SpeedWindow]:
    """window_start -> its latest version."""
    latest: dict[datetime, SpeedWindow] = {}
    for window in windows:
        known = latest.get(window.window_start)
        if known is None or window.version() > known.version():
            latest[window.window_start] = window
    return latest


def speed_hours(windows: Iterable[SpeedWindow]) -> dict[datetime, SentimentBucket]:
    """The latest version of each 5-minute window, summed per hour."""
    hours: dict[datetime, SentimentBucket] = {}
    for start, window in sorted(latest_versions(windows).items()):
        hour = floor_hour(start)
        part = SentimentBucket(hour, window.review_count, window.sentiment_sum, window.positive, window.neutral, window.negative)
        hours[hour] = hours[hour] + part if hour in hours else part
    return hours


def merge_sentiment(
    batch_hours: Iterable[SentimentBucket], batch_as_of: datetime | None, speed_windows: Iterable[SpeedWindow], now: datetime
) -> MergedSeries:
    """A movie's hourly review sentiment: batch before the cutoff, speed from it (see the module's rule).

    ``batch_as_of`` is the end of the data the batch views were built from (gold's ``as_of``).
    """
    boundary = cutoff(now)
    from_batch: dict[datetime, SentimentBucket] = {}
    for bucket in batch_hours:
        if bucket.start in from_batch:
            raise ValueError(f"the batch views hold the hour {bucket.start.isoformat()} twice")
        if bucket.start < boundary:
            from_batch[bucket.start] = bucket
    windows = list(speed_windows)
    from_speed = {hour: bucket for hour, bucket in speed_hours(windows).items() if boundary <= hour <= now}
    buckets = sorted(
        [(bucket, BATCH) for bucket in from_batch.values()] + [(bucket, SPEED) for bucket in from_speed.values()],
        key=lambda pair: pair[0].start,
    )
    speed_as_of = max((w.last_event_time or w.written_at for w in windows if boundary <= w.window_start <= now), default=None)
    gap = None
    if batch_as_of is None or batch_as_of < boundary:  # the batch has not reached the cutoff: its last (partial) hour on is missing
        gap = (None if batch_as_of is None else floor_hour(batch_as_of), boundary)
    return MergedSeries(
        buckets=buckets,
        sources=[SourcePart(BATCH, None, boundary, batch_as_of), SourcePart(SPEED, boundary, None, speed_as_of)],
        gap=gap,
        cutoff=boundary,
    )


def merge_current(batch: Observation | None, speed_windows: Iterable[SpeedWindow]) -> Observation | None:
    """The freshest observation of a movie's metrics: the speed window with the latest event, or the batch's.

    A speed window's time is its last event of any kind (Cassandra keeps no separate metric time),
    so a window's metrics may look up to five minutes fresher than they are.
    """
    candidates = [batch] if batch is not None else []
    for window in latest_versions(speed_windows).values():
        if window.popularity is not None and window.last_event_time is not None:
            candidates.append(Observation(SPEED, window.last_event_time, window.popularity, window.vote_average, window.vote_count))
    if not candidates:
        return None
    return max(candidates, key=lambda o: (o.at, o.source == BATCH, o.popularity or 0.0, o.vote_count or 0))
