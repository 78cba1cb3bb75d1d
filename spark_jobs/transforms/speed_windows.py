"""The speed layer's per-movie window state: 5-minute event-time windows, late events, eviction.

Pure Python (no Spark), driven by ``spark_jobs/transforms/speed.py`` through
``applyInPandasWithState`` and tested on its own. One ``MovieWindows`` holds the open windows of
one movie; Spark's state is kept per ``StateShard`` (the movies whose id falls in one of
``STATE_SHARDS`` buckets), because ``applyInPandasWithState`` pays a fixed cost per group and
batch (a pandas frame in and out, several milliseconds): grouped by movie, 2,000 active movies
cost ~25 s a batch whatever the number of events. Events arrive in any order; an event whose window has already closed (window end at
or before the watermark) is *late*: it is reported, never aggregated; so is an event whose window has outlived
the speed views (its end + 48 h + grace before now: ``expire_before_ms``), which a speed row could not hold. A window is emitted every
time an event changes it (update mode), always with its complete values, so writing the row
again (a replayed micro-batch) overwrites instead of adding.

Per window:
- metrics: the latest observation by event time (ties: the later Kafka offset) and the deltas
  latest - earliest within the window; ``metric_observations`` counts distinct event times. The
  state keeps only the first and last observations and the set of event times: it is read and
  written whole in every micro-batch that touches the movie, so its size is the job's cost.
- reviews: distinct review ids updated in the window, each with its latest version's VADER
  compound score; ``sentiment_sum`` and the positive/neutral/negative counts are over those
  (``movie_pipeline.sentiment``'s thresholds, as in silver).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from movie_pipeline.sentiment import sentiment_label
from movie_pipeline.speed.cassandra import BEHIND_WATERMARK, EXPIRED, WINDOW, WINDOW_COLUMNS

WINDOW_MS = int(WINDOW.total_seconds() * 1000)
STATE_SHARDS = 64  # part of the streaming state's key: changing it needs a fresh checkpoint

WINDOW_FIELDS = WINDOW_COLUMNS  # a window row is a row of the Cassandra table movie_windows
LATE_FIELDS = ("movie_id", "kind", "event_time", "window_start", "watermark", "topic", "partition", "offset", "reason")


@dataclass(frozen=True)
class Event:
    """One decoded event; times in epoch milliseconds."""

    movie_id: int
    kind: str  # "metric" or "review"
    event_time: int
    topic: str
    partition: int
    offset: int
    popularity: float | None = None
    vote_average: float | None = None
    vote_count: int | None = None
    review_id: str | None = None
    compound: float | None = None


def window_start(event_time_ms: int) -> int:
    return event_time_ms - event_time_ms % WINDOW_MS


def _windows_to_json(windows: dict[int, dict]) -> dict:
    return {start: {**window, "times": sorted(window["times"])} for start, window in windows.items()}


def _windows_from_json(windows: dict) -> dict[int, dict]:
    return {int(start): {**window, "times": set(window["times"])} for start, window in windows.items()}


class MovieWindows:
    """The open windows of one movie, serialisable to one JSON string (the Spark state)."""

    def __init__(self, movie_id: int, windows: dict[int, dict] | None = None) -> None:
        self.movie_id = movie_id
        self.windows = windows or {}

    @classmethod
    def from_state(cls, movie_id: int, state: str | None) -> MovieWindows:
        return cls(movie_id, _windows_from_json(json.loads(state))) if state else cls(movie_id)

    def to_state(self) -> str:
        return json.dumps(_windows_to_json(self.windows), separators=(",", ":"))

    def add(self, events: Iterable[Event], watermark_ms: int, expire_before_ms: int = 0) -> tuple[list[dict], list[dict]]:
        """Fold the events in; return (the windows they changed, as output rows; the late events).

        ``expire_before_ms``: a window ending at or before it has outlived the speed views (now - 48 h - grace)."""
        changed: set[int] = set()
        late: list[dict] = []
        for event in events:
            start = window_start(event.event_time)
            if start + WINDOW_MS <= watermark_ms:
                late.append(self._late_row(event, start, watermark_ms, BEHIND_WATERMARK))
                continue
            if start + WINDOW_MS <= expire_before_ms:
                late.append(self._late_row(event, start, watermark_ms, EXPIRED))
                continue
            window = self.windows.setdefault(start, {"first": None, "last": None, "times": set(), "reviews": {}})
            if event.kind == "metric":
                observation = [event.event_time, event.offset, event.popularity, event.vote_average, event.vote_count]
                first, last = window["first"], window["last"]
                # at one instant the later offset counts, for the first observation as for the last
                if first is None or event.event_time < first[0] or (event.event_time == first[0] and event.offset >= first[1]):
                    window["first"] = observation
                if last is None or (event.event_time, event.offset) >= (last[0], last[1]):
                    window["last"] = observation
                window["times"].add(event.event_time)
            else:
                known = window["reviews"].get(event.review_id)
                if known is None or (event.event_time, event.offset) >= (known[0], known[1]):
                    window["reviews"][event.review_id] = [event.event_time, event.offset, event.compound]
            changed.add(start)
        return [self.row(start) for start in sorted(changed)], late

    def evict(self, watermark_ms: int) -> None:
        """Forget the windows the watermark has closed (they were emitted when they last changed)."""
        self.windows = {start: w for start, w in self.windows.items() if start + WINDOW_MS > watermark_ms}

    def row(self, start: int) -> dict:
        window = self.windows[start]
        row = dict.fromkeys(WINDOW_FIELDS)
        row.update(movie_id=self.movie_id, window_start=start, window_end=start + WINDOW_MS, metric_observations=len(window["times"]))
        times = []
        if window["last"] is not None:
            first, last = window["first"], window["last"]
            row.update(
                popularity=last[2],
                vote_average=last[3],
                vote_count=last[4],
                popularity_delta=last[2] - first[2],
                vote_average_delta=last[3] - first[3],
                vote_count_delta=last[4] - first[4],
            )
            times.append(last[0])
        reviews = window["reviews"].values()
        labels = [sentiment_label(compound) for _, _, compound in reviews]
        row.update(
            review_count=len(labels),
            sentiment_sum=sum(compound for _, _, compound in reviews),
            positive=labels.count("positive"),
            neutral=labels.count("neutral"),
            negative=labels.count("negative"),
        )
        times.extend(time for time, _, _ in reviews)
        row["last_event_time"] = max(times)
        return row

    def _late_row(self, event: Event, start: int, watermark_ms: int, reason: str) -> dict:
        return {
            "movie_id": self.movie_id,
            "kind": event.kind,
            "event_time": event.event_time,
            "window_start": start,
            "watermark": watermark_ms,
            "topic": event.topic,
            "partition": event.partition,
            "offset": event.offset,
            "reason": reason,
        }


class StateShard:
    """The open windows of the movies of one shard, serialisable to one JSON string (the Spark state)."""

    def __init__(self, movies: dict[int, MovieWindows] | None = None) -> None:
        self.movies = movies or {}

    @classmethod
    def from_state(cls, state: str | None) -> StateShard:
        if not state:
            return cls()
        return cls(
            {int(movie_id): MovieWindows(int(movie_id), _windows_from_json(windows)) for movie_id, windows in json.loads(state).items()}
        )

    def to_state(self) -> str:
        return json.dumps({movie_id: _windows_to_json(movie.windows) for movie_id, movie in self.movies.items()}, separators=(",", ":"))

    def add(self, events: Iterable[Event], watermark_ms: int, expire_before_ms: int = 0) -> tuple[list[dict], list[dict]]:
        """Fold the events in, movie by movie; return (changed windows as rows, late events)."""
        by_movie: dict[int, list[Event]] = {}
        for event in events:
            by_movie.setdefault(event.movie_id, []).append(event)
        rows: list[dict] = []
        late: list[dict] = []
        for movie_id, movie_events in by_movie.items():
            changed, too_late = self.movies.setdefault(movie_id, MovieWindows(movie_id)).add(movie_events, watermark_ms, expire_before_ms)
            rows.extend(changed)
            late.extend(too_late)
        return rows, late

    def evict(self, watermark_ms: int) -> None:
        for movie in self.movies.values():
            movie.evict(watermark_ms)
        self.movies = {movie_id: movie for movie_id, movie in self.movies.items() if movie.windows}
