"""Deciding how to bring silver up to date with bronze: nothing, one newer interval, or a rebuild.

Silver records the bronze partitions it was built from (``silver/_state.json``: entity/partition ->
its version, the modification time of the manifest written when the partition was committed, and
its interval's end). A run then

- does nothing when bronze has not changed since;
- merges only the new partitions (**incremental**) when every one of them is newer than all the
  partitions silver already holds and none of those has been rewritten or removed (the scheduled
  4-hourly case);
- rebuilds silver from all of bronze (**full**) otherwise: the first run, a re-run or backfill of an
  older interval (its partition was rewritten, or it lands before newer ones), or when asked.

Both paths give the same tables; the backfill-equivalence test holds them to it.

The state also tells gold what changed: ``build`` (the version of the last rebuild) and ``changes``, one
entry per merge since (its version, the interval ends it observed, and the months of reviews and of review hours it
rewrote), so that ``silver_to_gold`` recomputes only those (``spark_jobs/gold_plan.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

# The bronze entities silver reads; the others (discover, changes, trending) only steer ingestion.
SILVER_SOURCES = ("movie_details", "movie_reviews", "genres", "_rejects")
# Merges kept in the state for gold to catch up with (a week of 4-hourly runs); a gold further behind is rebuilt.
KEPT_CHANGES = 42


@dataclass(frozen=True, order=True)
class BronzePartition:
    entity: str
    partition: str  # interval_start=YYYYmmddTHHMMSSZ: sorts chronologically
    interval_end: str
    version: str  # changes whenever the partition is rewritten

    @property
    def key(self) -> str:
        return f"{self.entity}/{self.partition}"


@dataclass(frozen=True)
class SilverPlan:
    mode: str  # "full", "incremental" or "unchanged"
    reason: str
    partitions: list[BronzePartition] = field(default_factory=list)  # what to read: all (full) or the new ones

    def state(self, bronze: list[BronzePartition], run_id: str = "", previous: dict | None = None, change: dict | None = None) -> dict:
        """The state file silver has after this plan ran as ``run_id``. Each write gets a new ``version`` (a re-run
        under the same run id is another write); a rebuild starts a new ``build``; a merge keeps the ``previous``
        state's and adds its ``change`` (what it rewrote) to ``changes``."""
        version = f"{run_id}@{uuid.uuid4().hex[:12]}"
        state = {
            "bronze": {p.key: [p.version, p.interval_end] for p in bronze if p.entity in SILVER_SOURCES},
            "mode": self.mode,
            "run_id": run_id,
            "version": version,
            "build": version,
            "changes": [],
        }
        if self.mode == "incremental" and previous is not None:
            entry = {"version": version, "observed": sorted({p.interval_end for p in self.partitions}), **(change or {})}
            state["build"] = previous.get("build")
            state["changes"] = [*previous.get("changes", []), entry][-KEPT_CHANGES:]
        return state


def built_partitions(state: dict | None) -> dict[str, BronzePartition]:
    """The partitions a state file records, by key."""
    built = {}
    for key, (version, interval_end) in (state or {}).get("bronze", {}).items():
        entity, partition = key.split("/", 1)
        built[key] = BronzePartition(entity, partition, interval_end, version)
    return built


def rebuild(bronze: list[BronzePartition], reason: str) -> SilverPlan:
    return SilverPlan("full", reason, [p for p in bronze if p.entity in SILVER_SOURCES])


def plan_silver(bronze: list[BronzePartition], state: dict | None, full: bool = False) -> SilverPlan:
    sources = [p for p in bronze if p.entity in SILVER_SOURCES]
    if full:
        return rebuild(bronze, "a full rebuild was requested")
    if state is None:
        return rebuild(bronze, "silver has no state yet (first run, or an earlier run stopped mid-swap)")
    if "build" not in state:
        return rebuild(bronze, "silver was written by an earlier version of this job (no change log in its state)")
    built = built_partitions(state)
    current = {p.key: p for p in sources}
    rewritten = sorted(key for key, p in built.items() if current.get(key) != p)
    if rewritten:
        return rebuild(bronze, f"bronze partitions rewritten or removed since the last build: {', '.join(rewritten[:5])}")
    new = [p for p in sources if p.key not in built]
    if not new:
        return SilverPlan("unchanged", "bronze has not changed since the last build")
    newest_built = max((key.split("/", 1)[1] for key in built), default="")
    older = sorted({p.partition for p in new if p.partition <= newest_built})
    if older:
        return rebuild(bronze, f"new partitions are not newer than silver ({', '.join(older[:5])} <= {newest_built})")
    return SilverPlan("incremental", f"{len({p.partition for p in new})} new interval(s) after {newest_built}", new)
