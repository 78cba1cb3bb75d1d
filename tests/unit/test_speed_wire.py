"""The speed layer's event schemas and Confluent wire format, with fastavro (no services)."""

from datetime import UTC, datetime

import pytest

from movie_pipeline.config import SpeedSettings
from movie_pipeline.errors import ConfigError
from movie_pipeline.schemas.avro import EVENT_TYPES, METADATA, METRIC, REVIEW, EventType
from movie_pipeline.speed.registry import CheckedInIds, ConfluentRegistry, registry_for
from movie_pipeline.speed.wire import WireFormatError, decode, frame

AT = datetime(2026, 11, 20, 8, 3, 12, 345000, tzinfo=UTC)
METRIC_EVENT = {
    "movie_id": 603,
    "event_time": AT,
    "popularity": 81.5,
    "vote_average": 8.2,
    "vote_count": 26312,
    "source": "trending/movie/day",
}
REVIEW_EVENT = {
    "review_id": "5b1c1f",
    "movie_id": 603,
    "event_time": AT,
    "created_at": AT,
    "author": "a",
    "rating": None,
    "content": "Great film.",
}


def test_every_event_type_has_its_own_topic_and_a_subject_by_topic_name():
    assert [e.topic for e in EVENT_TYPES] == ["tmdb.movie_metrics", "tmdb.movie_reviews", "tmdb.movie_metadata"]
    assert [e.subject for e in EVENT_TYPES] == [f"{e.topic}-value" for e in EVENT_TYPES]
    assert [e.compacted for e in EVENT_TYPES] == [False, False, True]
    assert all(e.schema["fields"][0]["name"] == "movie_id" or e is REVIEW for e in EVENT_TYPES)


@pytest.mark.parametrize(("event_type", "record"), [(METRIC, METRIC_EVENT), (REVIEW, REVIEW_EVENT)])
def test_a_framed_record_starts_with_magic_byte_and_schema_id_and_decodes_to_itself(event_type, record):
    message = frame(7, event_type.parsed, record)
    assert message[:5] == b"\x00\x00\x00\x00\x07"
    assert decode(message, {7: event_type.parsed}) == (7, record)


def test_metadata_defaults_fill_what_a_change_does_not_carry():
    message = frame(3, METADATA.parsed, {"movie_id": 1, "event_time": AT, "deleted": True})
    _, record = decode(message, {3: METADATA.parsed})
    assert record == {
        "movie_id": 1,
        "event_time": AT,
        "deleted": True,
        "title": None,
        "original_language": None,
        "release_date": None,
        "genre_ids": [],
        "status": None,
        "runtime": None,
        "changed_keys": [],
    }


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (None, "empty message"),
        (b"", "empty message"),
        (b"\x00\x00\x01", "shorter than the 5-byte header (3 bytes)"),
        (b'{"movie_id": 1}', "magic byte is 123, not 0"),
        (b"\x00\x00\x00\x00\x09" + b"\x02", "unknown schema id 9"),
        (b"\x00\x00\x00\x00\x07" + b"\x02", "not valid Avro for schema id 7: "),
        (frame(7, METRIC.parsed, METRIC_EVENT) + b"\x00", "not valid Avro for schema id 7: 1 bytes left over"),
    ],
)
def test_what_is_not_a_framed_record_of_a_known_schema_is_refused_with_its_reason(message, reason):
    with pytest.raises(WireFormatError) as refused:
        decode(message, {7: METRIC.parsed})
    assert refused.value.reason.startswith(reason)


def test_checked_in_ids_name_each_current_schema_once():
    registry = CheckedInIds()
    ids = {event_type.name: registry.register(event_type) for event_type in EVENT_TYPES}
    assert ids == {"metric": 1, "review": 2, "metadata": 3}
    assert registry.schemas_by_id() == {1: METRIC.parsed, 2: REVIEW.parsed, 3: METADATA.parsed}
    assert isinstance(registry_for(SpeedSettings()), CheckedInIds)
    assert isinstance(registry_for(SpeedSettings(schema_registry_url="http://registry:8080/apis/ccompat/v7")), ConfluentRegistry)


def test_a_schema_edited_without_a_new_id_is_refused():
    edited = EventType("metric", METRIC.topic, METRIC.schema_file)
    edited.__dict__["schema_text"] = METRIC.schema_text.replace('"source"', '"origin"')
    with pytest.raises(ConfigError, match="movie_metric.avsc changed but its id in ids.json did not"):
        CheckedInIds().register(edited)
