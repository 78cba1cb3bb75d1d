"""Data intervals: the half-open time range [start, end) a run is responsible for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from movie_pipeline.errors import IntervalError

PARTITION_FORMAT = "%Y%m%dT%H%M%SZ"


def parse_instant(raw: str, flag: str = "time") -> datetime:
    """An ISO 8601 instant; a value without a time zone is taken as UTC."""
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise IntervalError(f"{flag} {raw!r} is not an ISO 8601 time; use e.g. 2026-11-20T00:00:00Z") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise IntervalError("interval bounds must carry a time zone")
        if self.start >= self.end:
            raise IntervalError(
                f"empty interval: start {self.start.isoformat()} is not before end {self.end.isoformat()}; "
                "the data interval is [start, end)"
            )

    @classmethod
    def latest_complete(cls, moment: datetime, period: timedelta) -> Interval:
        """The last whole ``period`` (aligned on the Unix epoch, UTC) that ends at or before ``moment``."""
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        end = epoch + ((moment.astimezone(UTC) - epoch) // period) * period
        return cls(end - period, end)

    @classmethod
    def parse(cls, start: str, end: str) -> Interval:
        return cls(parse_instant(start, "--start"), parse_instant(end, "--end"))

    @property
    def partition(self) -> str:
        """The partition directory name: ``interval_start=20261120T000000Z``."""
        return f"interval_start={self.start.astimezone(UTC).strftime(PARTITION_FORMAT)}"

    def days(self) -> tuple[date, date]:
        """The first and last calendar day (UTC) the interval touches."""
        last = self.end.astimezone(UTC) - timedelta(microseconds=1)
        return self.start.astimezone(UTC).date(), last.date()

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"
