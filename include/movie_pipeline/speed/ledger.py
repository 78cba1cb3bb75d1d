"""What the producer has already sent, on disk (SQLite), so a restart neither repeats nor skips.

An event is recorded only once Kafka acknowledged it (``acks=all``). A crash between the
acknowledgement and the record sends that event again after the restart; that is harmless,
because the streaming job keys metrics by event time and reviews by review id within a window.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics (movie_id INTEGER PRIMARY KEY, popularity REAL, vote_average REAL, vote_count INTEGER);
CREATE TABLE IF NOT EXISTS reviews (review_id TEXT PRIMARY KEY, updated_at INTEGER);
CREATE TABLE IF NOT EXISTS metadata (movie_id INTEGER PRIMARY KEY, fingerprint TEXT);
"""


class SentLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # ---- questions ------------------------------------------------------------------------
    def metric_is_new(self, movie_id: int, popularity: float, vote_average: float, vote_count: int) -> bool:
        row = self._db.execute("SELECT popularity, vote_average, vote_count FROM metrics WHERE movie_id = ?", (movie_id,)).fetchone()
        return row != (popularity, vote_average, vote_count)

    def review_is_new(self, review_id: str, updated_at_ms: int) -> bool:
        row = self._db.execute("SELECT updated_at FROM reviews WHERE review_id = ?", (review_id,)).fetchone()
        return row is None or row[0] < updated_at_ms

    def metadata_is_new(self, movie_id: int, fingerprint: str) -> bool:
        row = self._db.execute("SELECT fingerprint FROM metadata WHERE movie_id = ?", (movie_id,)).fetchone()
        return row is None or row[0] != fingerprint

    # ---- records (after Kafka's acknowledgement) -------------------------------------------
    def record(self, kind: str, event: dict) -> None:
        if kind == "metric":
            self._db.execute(
                "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?)",
                (event["movie_id"], event["popularity"], event["vote_average"], event["vote_count"]),
            )
        elif kind == "review":
            self._db.execute("INSERT OR REPLACE INTO reviews VALUES (?, ?)", (event["review_id"], _ms(event["event_time"])))
        else:
            self._db.execute("INSERT OR REPLACE INTO metadata VALUES (?, ?)", (event["movie_id"], metadata_fingerprint(event)))

    def commit(self) -> None:
        self._db.commit()

    def counts(self) -> dict[str, int]:
        return {table: self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("metrics", "reviews", "metadata")}


def metadata_fingerprint(event: dict) -> str:
    """What identifies a metadata state: every field but the time it was seen."""
    return json.dumps({k: v for k, v in event.items() if k != "event_time"}, sort_keys=True, default=str)


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)
