"""Writing one data interval of bronze: stage everything, then swap partitions into place.

Records are appended to JSON-lines files under ``_staging/<run id>/`` while the ingestion runs.
:meth:`BronzeBatch.commit` then, per entity, moves the interval's old partition (if any) to
``_trash``, renames the staged one into place and deletes the old one. A run that fails before
commit discards its staging and leaves bronze untouched; re-running an interval replaces that
interval and never appends to it.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import IO

from movie_pipeline.intervals import Interval
from movie_pipeline.lake import BRONZE_ENTITIES, MANIFEST_FILE, PART_FILE, REJECTS, Lake


def read_partition(lake: Lake, entity: str, interval: Interval) -> list[dict]:
    """Every record of one committed bronze partition ([] when the partition does not exist)."""
    path = f"{lake.bronze_partition(entity, interval)}/{PART_FILE}"
    if not lake.fs.exists(path):
        return []
    with lake.fs.open(path, "rb") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class BronzeBatch:
    def __init__(self, lake: Lake, interval: Interval, mode: str) -> None:
        self.lake, self.interval, self.mode = lake, interval, mode
        self.run_id = f"{interval.partition.split('=', 1)[1]}-{uuid.uuid4().hex[:8]}"
        self.counts: Counter[str] = Counter()
        self.reject_reasons: Counter[str] = Counter()
        self._files: dict[str, IO[bytes]] = {}
        self._staging = lake.staging(self.run_id)
        self._committed = False

    def write(self, entity: str, envelope: dict) -> None:
        if entity not in BRONZE_ENTITIES:
            raise ValueError(f"unknown bronze entity {entity!r}")
        self._append(entity, envelope)

    def reject(self, endpoint: str, reason: str, record: object, fetched_at: str) -> None:
        """Keep a record we cannot use, with the reason, in the interval's rejects partition."""
        self.reject_reasons[reason] += 1
        self._append(REJECTS, {"fetched_at": fetched_at, "endpoint": endpoint, "reason": reason, "record": record})

    @property
    def rejects(self) -> int:
        return self.counts[REJECTS]

    def _append(self, entity: str, row: dict) -> None:
        handle = self._files.get(entity)
        if handle is None:
            fs = self.lake.fs
            directory = f"{self._staging}/{entity}"
            fs.makedirs(directory, exist_ok=True)
            handle = self._files[entity] = fs.open(f"{directory}/{PART_FILE}", "wb")
        handle.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
        self.counts[entity] += 1

    def commit(self) -> list[str]:
        """Swap every entity's partition for this interval into place; return the written URIs."""
        fs, lake = self.lake.fs, self.lake
        for handle in self._files.values():
            handle.close()
        committed_at = datetime.now(UTC).isoformat(timespec="seconds")
        written = []
        trash = lake.trash(self.run_id)
        for entity in (*BRONZE_ENTITIES, REJECTS):
            final = lake.bronze_partition(entity, self.interval)
            staged = f"{self._staging}/{entity}"
            if fs.exists(final):
                fs.makedirs(trash, exist_ok=True)
                fs.mv(final, f"{trash}/{entity}", recursive=True)
            if entity in self._files:
                manifest = {
                    "entity": entity,
                    "interval_start": self.interval.start.isoformat(),
                    "interval_end": self.interval.end.isoformat(),
                    "mode": self.mode,
                    "records": self.counts[entity],
                    "committed_at": committed_at,
                    "run_id": self.run_id,
                }
                with fs.open(f"{staged}/{MANIFEST_FILE}", "w") as out:
                    json.dump(manifest, out, indent=2)
                fs.makedirs(lake.bronze(entity), exist_ok=True)
                fs.mv(staged, final, recursive=True)
                written.append(lake.url(final))
        if fs.exists(trash):
            fs.rm(trash, recursive=True)
        self.discard()
        self._committed = True
        return written

    def discard(self) -> None:
        """Drop the staged files (after a commit, or when the run failed)."""
        for handle in self._files.values():
            if not handle.closed:
                handle.close()
        if self.lake.fs.exists(self._staging):
            self.lake.fs.rm(self._staging, recursive=True)
