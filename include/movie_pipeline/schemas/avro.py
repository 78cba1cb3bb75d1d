"""The speed layer's event types: their Avro schemas (checked in as ``avro/*.avsc``) and topics.

Subjects follow Confluent's TopicNameStrategy (``<topic>-value``), so the same names work with
Confluent Schema Registry and Apicurio's ``ccompat`` API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import fastavro

AVRO_DIR = Path(__file__).with_name("avro")
DEAD_LETTER_TOPIC = "tmdb.dead_letter"


@dataclass(frozen=True)
class EventType:
    name: str
    topic: str
    schema_file: str
    compacted: bool = False  # keep only the latest event per key (movie id)

    @cached_property
    def schema(self) -> dict:
        return json.loads((AVRO_DIR / self.schema_file).read_text())

    @cached_property
    def schema_text(self) -> str:
        """The schema as registered and as Spark's ``from_avro`` takes it."""
        return json.dumps(self.schema, separators=(",", ":"))

    @cached_property
    def parsed(self) -> dict:
        return fastavro.parse_schema(self.schema)

    @property
    def subject(self) -> str:
        return f"{self.topic}-value"


METRIC = EventType("metric", "tmdb.movie_metrics", "movie_metric.avsc")
REVIEW = EventType("review", "tmdb.movie_reviews", "movie_review.avsc")
METADATA = EventType("metadata", "tmdb.movie_metadata", "movie_metadata.avsc", compacted=True)
EVENT_TYPES = (METRIC, REVIEW, METADATA)
