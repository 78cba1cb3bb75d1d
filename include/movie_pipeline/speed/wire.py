"""Confluent's wire format: byte 0, the schema id (4 bytes, big-endian), then the Avro binary body.

Producers write it through ``frame``; consumers that are not Spark (tests, tools) read it with
``decode``. The streaming jobs do the same checks on the bytes in SQL (see
``spark_jobs/transforms/speed.py``): the two must agree, and the tests check both.
"""

from __future__ import annotations

import io
import struct

import fastavro

from movie_pipeline.errors import PipelineError

MAGIC_BYTE = 0
HEADER = struct.Struct(">bI")  # magic byte, schema id
HEADER_SIZE = HEADER.size  # 5


class WireFormatError(PipelineError):
    """A message that is not a framed Avro record of a known schema; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def frame(schema_id: int, parsed_schema: dict, record: dict) -> bytes:
    body = io.BytesIO()
    body.write(HEADER.pack(MAGIC_BYTE, schema_id))
    fastavro.schemaless_writer(body, parsed_schema, record)
    return body.getvalue()


def unframe(message: bytes | None) -> tuple[int, bytes]:
    """The schema id and the Avro body of a framed message."""
    if not message:
        raise WireFormatError("empty message")
    if len(message) < HEADER_SIZE:
        raise WireFormatError(f"shorter than the 5-byte header ({len(message)} bytes)")
    magic, schema_id = HEADER.unpack_from(message)
    if magic != MAGIC_BYTE:
        raise WireFormatError(f"magic byte is {magic}, not {MAGIC_BYTE}")
    return schema_id, message[HEADER_SIZE:]


def decode(message: bytes | None, schemas_by_id: dict[int, dict]) -> tuple[int, dict]:
    """The schema id and the record of a framed message, checked against the known schemas."""
    schema_id, body = unframe(message)
    if schema_id not in schemas_by_id:
        raise WireFormatError(f"unknown schema id {schema_id}")
    stream = io.BytesIO(body)
    try:
        record = fastavro.schemaless_reader(stream, schemas_by_id[schema_id], None)
    except Exception as error:  # noqa: BLE001 - fastavro raises many kinds for bad bytes
        raise WireFormatError(f"not valid Avro for schema id {schema_id}: {type(error).__name__}: {error}") from None
    if stream.tell() != len(body):
        raise WireFormatError(f"not valid Avro for schema id {schema_id}: {len(body) - stream.tell()} bytes left over")
    return schema_id, record
