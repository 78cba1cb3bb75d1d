"""Schema ids for the wire format: from a schema registry, or from the ids checked in beside the schemas.

With ``SCHEMA_REGISTRY_URL`` set, schemas are registered through the Confluent Schema Registry REST
API (which Apicurio serves under ``/apis/ccompat/v7``) and ids come from the registry. Without it,
ids come from ``schemas/avro/ids.json``: no registry server can be installed on the development
machine (see the README), and a schema edited without a new id there is refused, so producers
and consumers can never disagree about what an id means.
"""

from __future__ import annotations

import hashlib
import json
from typing import Protocol

import httpx

from movie_pipeline.config import SpeedSettings
from movie_pipeline.errors import ConfigError, PipelineError
from movie_pipeline.schemas.avro import AVRO_DIR, EVENT_TYPES, EventType

CHECKED_IN_IDS = AVRO_DIR / "ids.json"
REGISTRY_MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistry(Protocol):
    def register(self, event_type: EventType) -> int:
        """The id of the event type's current schema (registering it if the registry lacks it)."""

    def schemas_by_id(self) -> dict[int, dict]:
        """Every schema a consumer may meet, parsed, by id."""


def fingerprint(event_type: EventType) -> str:
    return hashlib.sha256(event_type.schema_text.encode()).hexdigest()


class CheckedInIds:
    def __init__(self) -> None:
        self.table: dict[str, dict] = json.loads(CHECKED_IN_IDS.read_text())

    def register(self, event_type: EventType) -> int:
        entry = self.table.get(event_type.subject)
        if entry is None:
            raise ConfigError(f"{CHECKED_IN_IDS} has no id for {event_type.subject}")
        if entry["sha256"] != fingerprint(event_type):
            raise ConfigError(
                f"{event_type.schema_file} changed but its id in {CHECKED_IN_IDS.name} did not: give the new schema a new id "
                f"(and sha256 {fingerprint(event_type)}) so that old messages keep meaning what they meant"
            )
        return entry["id"]

    def schemas_by_id(self) -> dict[int, dict]:
        return {self.register(event_type): event_type.parsed for event_type in EVENT_TYPES}


class ConfluentRegistry:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict | None = None, missing_ok: bool = False):
        try:
            response = httpx.request(
                method, f"{self.url}{path}", json=body, headers={"Content-Type": REGISTRY_MEDIA_TYPE}, timeout=self.timeout
            )
        except httpx.HTTPError as error:
            raise PipelineError(f"schema registry {self.url} unreachable: {error}") from error
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise PipelineError(f"schema registry {method} {path} -> HTTP {response.status_code}: {response.text[:300]}")
        return response.json()

    def register(self, event_type: EventType) -> int:
        return self._call("POST", f"/subjects/{event_type.subject}/versions", {"schema": event_type.schema_text})["id"]

    def schemas_by_id(self) -> dict[int, dict]:
        import fastavro

        known: dict[int, dict] = {}
        for event_type in EVENT_TYPES:
            versions = self._call("GET", f"/subjects/{event_type.subject}/versions", missing_ok=True)
            for version in versions or []:  # a subject nobody registered yet has no versions
                entry = self._call("GET", f"/subjects/{event_type.subject}/versions/{version}")
                known[entry["id"]] = fastavro.parse_schema(json.loads(entry["schema"]))
        return known


def registry_for(speed: SpeedSettings) -> SchemaRegistry:
    url = speed.schema_registry_url
    return ConfluentRegistry(url) if url else CheckedInIds()
