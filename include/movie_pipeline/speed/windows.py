"""Reading the speed windows (Cassandra's ``movie_windows``) as merge inputs: the one module that does.

``windows_since`` scans them for the export (a session of its own, shut down after the scan);
``WindowReader`` reads one movie's at a time for the API on a session it keeps, and stands aside
while Cassandra is unreachable (the API then answers from the export alone).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime

from movie_pipeline.config import SpeedSettings
from movie_pipeline.merge import SpeedWindow
from movie_pipeline.speed.cassandra import connect

log = logging.getLogger(__name__)
# the columns of movie_windows a SpeedWindow is made of
WINDOW_READ = (
    "movie_id, window_start, written_at, review_count, sentiment_sum, positive, neutral, negative, "
    "popularity, popularity_delta, vote_average, vote_count, last_event_time"
)
RETRY_AFTER_S = 30.0


def _utc(value: datetime | None) -> datetime | None:
    """The driver returns timestamps as naive UTC datetimes."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def window_from_row(row: Mapping) -> SpeedWindow:
    """A ``movie_windows`` row as a merge window (a window without reviews counts none)."""
    return SpeedWindow(
        window_start=_utc(row["window_start"]),
        written_at=_utc(row["written_at"]),
        review_count=int(row["review_count"] or 0),
        sentiment_sum=float(row["sentiment_sum"] or 0.0),
        positive=int(row["positive"] or 0),
        neutral=int(row["neutral"] or 0),
        negative=int(row["negative"] or 0),
        popularity=row["popularity"],
        popularity_delta=row["popularity_delta"],
        vote_average=row["vote_average"],
        vote_count=row["vote_count"],
        last_event_time=_utc(row["last_event_time"]),
    )


def windows_since(speed: SpeedSettings, since: datetime) -> dict[int, list[SpeedWindow]]:
    """Every movie's windows that started at or after ``since`` (the table holds at most 48 h + grace)."""
    session = connect(speed)
    try:
        by_movie: dict[int, list[SpeedWindow]] = defaultdict(list)
        for row in session.execute(f"SELECT {WINDOW_READ} FROM {speed.keyspace}.movie_windows", timeout=120):
            window = window_from_row(row._asdict())
            if window.window_start >= since:
                by_movie[int(row.movie_id)].append(window)
        return by_movie
    finally:
        session.cluster.shutdown()


class WindowReader:
    """One movie's windows at a time, on a long-lived session; None while Cassandra is unreachable (retried every 30 s)."""

    def __init__(self, speed: SpeedSettings) -> None:
        self.speed = speed
        self._lock = threading.Lock()
        self._session = self._query = None
        self._failed_at = 0.0

    def session(self):
        with self._lock:
            if self._session is None and time.monotonic() - self._failed_at > RETRY_AFTER_S:
                try:
                    session = connect(self.speed, timeout=3)
                    self._query = session.prepare(
                        f"SELECT {WINDOW_READ} FROM {self.speed.keyspace}.movie_windows WHERE movie_id = ? AND window_start >= ?"
                    )
                    self._session = session
                except Exception as error:  # noqa: BLE001 - any driver failure means: serve without the speed merge
                    log.warning("Cassandra unreachable, answering from the export alone: %s", error)
                    self._failed_at = time.monotonic()
            return self._session

    def movie(self, movie_id: int, since: datetime) -> list[SpeedWindow] | None:
        """The movie's windows since ``since``, or None when Cassandra is unreachable."""
        session = self.session()
        if session is None:
            return None
        try:
            return [window_from_row(row._asdict()) for row in session.execute(self._query, (movie_id, since))]
        except Exception as error:  # noqa: BLE001 - serve the export's copy rather than fail the request
            log.warning("reading the speed windows of movie %s failed: %s", movie_id, error)
            return None

    def ping(self) -> None:
        session = self.session()
        if session is None:
            raise ConnectionError("unreachable")
        session.execute("SELECT release_version FROM system.local")
