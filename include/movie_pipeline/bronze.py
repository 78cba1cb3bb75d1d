"""Writing one data interval of bronze: staged in chunks that survive a killed run, then swapped into place.

Records are appended to JSON-lines files under ``_staging/<interval>/<entity>/`` while the ingestion
runs: the listing (genres, trending, the ID export or the list pages) in ``part-00000.jsonl``, then
the hydrated movies chunk by chunk, chunk ``k`` in ``part-<k+1>.jsonl``. A chunk's files are written
under a ``.partial`` name and renamed when the chunk is complete, and ``_progress.json`` records
the chunks done with their counts: a run killed with ``kill -9`` and run again for the same
interval and mode finds them (:attr:`BronzeBatch.resumed`) and fetches only the chunks left, after
dropping the partial files of the one it was killed in.

:meth:`BronzeBatch.commit` then, per entity, moves the interval's old partition (if any) to
``_trash``, renames the staged one into place and deletes the old one, so a reader (silver) sees an
interval whole or not at all, and a re-run of a finished interval replaces it (its staging is gone
after the commit, so it starts from the beginning).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from typing import IO

from movie_pipeline.intervals import Interval
from movie_pipeline.lake import BRONZE_ENTITIES, MANIFEST_FILE, PART_GLOB, REJECTS, Lake, part_file

PROGRESS_FILE = "_progress.json"
LISTING_FILE = "_listing.json"
_PARTIAL = ".partial"


def partition_files(lake: Lake, entity: str, interval: Interval) -> list[str]:
    """The part files of one committed bronze partition, in order ([] when the partition does not exist)."""
    return sorted(lake.fs.glob(f"{lake.bronze_partition(entity, interval)}/{PART_GLOB}"))


def read_partition(lake: Lake, entity: str, interval: Interval) -> list[dict]:
    """Every record of one committed bronze partition ([] when the partition does not exist)."""
    records = []
    for path in partition_files(lake, entity, interval):
        with lake.fs.open(path, "rb") as handle:
            records += [json.loads(line) for line in handle if line.strip()]
    return records


class BronzeBatch:
    """The staged bronze of one interval and mode. ``write``/``reject`` append to the current part (the listing's,
    or the chunk's between :meth:`begin_chunk` and :meth:`end_chunk`); ``commit`` swaps it all into place."""

    def __init__(self, lake: Lake, interval: Interval, mode: str) -> None:
        self.lake, self.interval, self.mode = lake, interval, mode
        self.run_id = f"{interval.partition.split('=', 1)[1]}-{mode}"
        self.counts: Counter[str] = Counter()
        self.reject_reasons: Counter[str] = Counter()
        self.done_chunks: set[int] = set()
        self.listing: dict | None = None  # what the listing found, once it is staged (see stage_listing)
        self.extra: Counter[str] = Counter()  # the caller's own tallies, kept with the progress (hydrated, tombstones)
        self._files: dict[str, IO[bytes]] = {}
        self._part = 0
        self._staging = lake.staging(self.run_id)
        self._committed = False
        self.resumed = self._resume()

    # ---- resuming -------------------------------------------------------------------------
    def _resume(self) -> bool:
        """Pick up a killed run's staged chunks; False (a clean staging) when there is nothing to resume."""
        fs = self.lake.fs
        progress_path, listing_path = f"{self._staging}/{PROGRESS_FILE}", f"{self._staging}/{LISTING_FILE}"
        if not (fs.exists(progress_path) and fs.exists(listing_path)):
            # a run killed before its listing was staged has nothing worth keeping, nor has one of another mode
            for stale in fs.glob(f"{self.lake.staging(self.run_id.rsplit('-', 1)[0])}-*"):
                fs.rm(stale, recursive=True)
            return False
        with fs.open(progress_path, "r") as handle:
            progress = json.load(handle)
        with fs.open(listing_path, "r") as handle:
            self.listing = json.load(handle)
        self.done_chunks = set(progress["done"])
        self.counts.update(progress["counts"])
        self.reject_reasons.update(progress["reject_reasons"])
        self.extra.update(progress["extra"])
        for path in fs.glob(f"{self._staging}/*/part-*"):
            # the chunk the run was killed in is fetched again: its partial files go, and its complete ones if the
            # run died between their renames and the progress recording them
            part = int(path.rsplit("/", 1)[1].split(".")[0].removeprefix("part-"))
            if path.endswith(_PARTIAL) or (part > 0 and part - 1 not in self.done_chunks):
                fs.rm(path)
        return True

    def _save_progress(self) -> None:
        progress = {
            "done": sorted(self.done_chunks),
            "counts": dict(self.counts),
            "reject_reasons": dict(self.reject_reasons),
            "extra": dict(self.extra),
        }
        self._write_json(PROGRESS_FILE, progress)

    def _write_json(self, name: str, value: dict) -> None:
        """Write a staging file whole or not at all (a temporary name, then a rename)."""
        fs, path = self.lake.fs, f"{self._staging}/{name}"
        fs.makedirs(self._staging, exist_ok=True)
        with fs.open(path + _PARTIAL, "w") as out:
            json.dump(value, out)
        if fs.exists(path):
            fs.rm(path)
        fs.mv(path + _PARTIAL, path)

    # ---- the listing and the chunks -------------------------------------------------------
    def stage_listing(self, listing: dict) -> None:
        """The listing is complete: make its records and ``listing`` (JSON: the ids to hydrate, the chunk size, where
        they came from) durable. From here on a killed run resumes instead of starting again."""
        self._close_part()
        self.listing = listing
        self._write_json(LISTING_FILE, listing)
        self._save_progress()

    def begin_chunk(self, k: int) -> None:
        self._close_part()
        self._part = k + 1

    def end_chunk(self, k: int) -> None:
        """Chunk ``k`` is complete: its files take their final names and the progress records it."""
        self._close_part()
        self.done_chunks.add(k)
        self._save_progress()

    def _close_part(self) -> None:
        fs = self.lake.fs
        for handle in self._files.values():
            handle.close()
        for entity in self._files:
            name = f"{self._staging}/{entity}/{part_file(self._part)}"
            fs.mv(name + _PARTIAL, name)
        self._files = {}

    # ---- writing --------------------------------------------------------------------------
    def write(self, entity: str, envelope: dict) -> None:
        if entity not in BRONZE_ENTITIES:
            raise ValueError(f"unknown bronze entity {entity!r}")
        self._append(entity, envelope)

    def write_file(self, entity: str, name: str, source: IO[bytes], records: int) -> None:
        """Stage a file as received (the ID export's gzip) as the entity's partition; ``records`` is its line count."""
        if entity not in BRONZE_ENTITIES:
            raise ValueError(f"unknown bronze entity {entity!r}")
        fs = self.lake.fs
        fs.makedirs(f"{self._staging}/{entity}", exist_ok=True)
        with fs.open(f"{self._staging}/{entity}/{name}", "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        self.counts[entity] += records

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
            handle = self._files[entity] = fs.open(f"{directory}/{part_file(self._part)}{_PARTIAL}", "wb")
        handle.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
        self.counts[entity] += 1

    # ---- committing -----------------------------------------------------------------------
    def commit(self) -> list[str]:
        """Swap every entity's partition for this interval into place; return the written URIs."""
        self._close_part()
        fs, lake = self.lake.fs, self.lake
        committed_at = datetime.now(UTC).isoformat(timespec="seconds")
        written = []
        trash = lake.trash(self.run_id)
        for entity in (*BRONZE_ENTITIES, REJECTS):
            final = lake.bronze_partition(entity, self.interval)
            staged = f"{self._staging}/{entity}"
            if fs.exists(final):
                fs.makedirs(trash, exist_ok=True)
                fs.mv(final, f"{trash}/{entity}", recursive=True)
            if fs.exists(staged):
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

    def abandon(self) -> None:
        """The run failed: close the open files and leave the staging as it is, for a re-run to resume (the current
        chunk's ``.partial`` files are dropped then)."""
        for handle in self._files.values():
            if not handle.closed:
                handle.close()
        self._files = {}

    def discard(self) -> None:
        """Drop the staged files (after a commit, or to start the interval over)."""
        for handle in self._files.values():
            if not handle.closed:
                handle.close()
        self._files = {}
        if self.lake.fs.exists(self._staging):
            self.lake.fs.rm(self._staging, recursive=True)
