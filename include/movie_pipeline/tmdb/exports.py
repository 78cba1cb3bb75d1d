"""TMDB's daily ID exports (``movie_ids_MM_DD_YYYY.json.gz``): the file a day has, and reading one line by line.

A file is gzipped JSON lines (one object per line, ``adult``, ``id``, ``original_title``,
``popularity``, ``video``), published by about 08:00 UTC and kept three months; see
``shared/TMDB_API.md`` §5.1. It is read in pieces, so a million lines take constant memory.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO

READ_BYTES = 1 << 20


def export_name(day: date) -> str:
    return f"movie_ids_{day:%m_%d_%Y}.json.gz"


@dataclass(frozen=True)
class ExportLine:
    number: int  # 1-based, in the file
    record: dict | None  # the parsed object; None when the line is not a JSON object with a positive integer id
    text: str

    @property
    def movie_id(self) -> int | None:
        return self.record["id"] if self.record is not None else None

    @property
    def wanted(self) -> bool:
        """A movie a full load hydrates: not adult, not a video (discover's include_adult / include_video false)."""
        return self.record is not None and self.record.get("adult") is not True and self.record.get("video") is not True


def read_export(handle: IO[bytes]) -> Iterator[ExportLine]:
    """Every non-empty line of a gzipped JSON-lines file, decompressed ``READ_BYTES`` at a time."""
    unpacker = zlib.decompressobj(wbits=31)  # a gzip stream
    carry = b""
    number = 0
    while chunk := handle.read(READ_BYTES):
        lines = (carry + unpacker.decompress(chunk)).split(b"\n")
        carry = lines.pop()
        for raw in lines:
            number += 1
            if raw.strip():
                yield _line(number, raw)
    tail = carry + unpacker.flush()
    if not unpacker.eof:
        raise ValueError("the export ends before its gzip stream does (a truncated download)")
    if tail.strip():
        yield _line(number + 1, tail)


def _line(number: int, raw: bytes) -> ExportLine:
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        record = json.loads(text)
    except ValueError:
        return ExportLine(number, None, text)
    movie_id = record.get("id") if isinstance(record, dict) else None
    ok = isinstance(movie_id, int) and not isinstance(movie_id, bool) and movie_id > 0
    return ExportLine(number, record if ok else None, text)
