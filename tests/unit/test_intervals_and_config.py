from datetime import UTC, date, datetime

import pytest

from movie_pipeline.config import settings_from_env
from movie_pipeline.errors import ConfigError, IntervalError
from movie_pipeline.intervals import Interval
from movie_pipeline.tasks import interval_for_run


def test_interval_parsing_partition_and_days():
    interval = Interval.parse("2026-11-20T20:00:00Z", "2026-11-21T00:00:00+00:00")
    assert interval.partition == "interval_start=20261120T200000Z"
    assert interval.days() == (date(2026, 11, 20), date(2026, 11, 20))
    assert Interval.parse("2026-11-20T22:00", "2026-11-21T02:00").days() == (date(2026, 11, 20), date(2026, 11, 21))


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [("yesterday", "2026-11-20", "not an ISO 8601 time"), ("2026-11-20T04:00Z", "2026-11-20T04:00Z", "empty interval")],
)
def test_bad_intervals_say_what_is_wrong(start, end, message):
    with pytest.raises(IntervalError, match=message):
        Interval.parse(start, end)


def test_settings_from_env_defaults_and_errors():
    settings = settings_from_env({})
    assert settings.tmdb.base_url == "https://api.themoviedb.org/3" and settings.tmdb.rate_limit == 4
    assert settings.lake_uri.startswith("file://")
    with pytest.raises(ConfigError, match="TMDB_RATE_LIMIT must be a float"):
        settings_from_env({"TMDB_RATE_LIMIT": "fast"})
    with pytest.raises(ConfigError, match="no TMDB credentials"):
        settings.tmdb.require_credentials()
    secret = settings_from_env({"TMDB_API_KEY": "f" * 32})
    assert "f" * 32 not in repr(secret)


class _Run:
    run_after = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    run_id = "manual__x"


def test_runs_use_their_interval_and_manual_runs_the_latest_complete_one():
    scheduled = {"data_interval_start": datetime(2026, 11, 20, 4, tzinfo=UTC), "data_interval_end": datetime(2026, 11, 20, 8, tzinfo=UTC)}
    assert interval_for_run(**scheduled, dag_run=None) == Interval(
        datetime(2026, 11, 20, 4, tzinfo=UTC), datetime(2026, 11, 20, 8, tzinfo=UTC)
    )
    assert interval_for_run(None, None, _Run()) == Interval(datetime(2026, 11, 20, 4, tzinfo=UTC), datetime(2026, 11, 20, 8, tzinfo=UTC))
