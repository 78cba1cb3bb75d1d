"""How bronze_to_silver chooses between nothing, an incremental merge and a rebuild."""

from __future__ import annotations

from spark_jobs.silver_plan import BronzePartition, plan_silver


def partition(hour: int, entity: str = "movie_details", version: str = "1700000000000") -> BronzePartition:
    return BronzePartition(entity, f"interval_start=20261120T{hour:02d}0000Z", f"2026-11-20T{hour + 4:02d}:00:00+00:00", version)


BUILT = [partition(0), partition(0, "movie_reviews"), partition(4), partition(4, "discover")]
STATE = plan_silver(BUILT, None).state(BUILT)


def test_the_first_run_rebuilds_from_the_entities_silver_reads():
    plan = plan_silver(BUILT, None)
    assert plan.mode == "full" and "no state" in plan.reason
    assert sorted(p.entity for p in plan.partitions) == ["movie_details", "movie_details", "movie_reviews"]


def test_nothing_new_means_nothing_to_do():
    assert plan_silver(BUILT, STATE).mode == "unchanged"


def test_a_newer_interval_is_merged_incrementally():
    newer = [partition(8), partition(8, "genres")]
    plan = plan_silver(BUILT + newer, STATE)
    assert plan.mode == "incremental" and sorted(plan.partitions) == sorted(newer)


def test_a_rewritten_interval_forces_a_rebuild():
    plan = plan_silver([partition(0, version="1700000000001"), *BUILT[1:]], STATE)
    assert plan.mode == "full" and "rewritten" in plan.reason and "movie_details/interval_start=20261120T000000Z" in plan.reason


def test_a_backfilled_older_interval_forces_a_rebuild():
    older = BronzePartition("movie_details", "interval_start=20261119T200000Z", "2026-11-20T00:00:00+00:00", "1700000000000")
    plan = plan_silver([older, *BUILT], STATE)
    assert plan.mode == "full" and "not newer" in plan.reason


def test_a_removed_interval_forces_a_rebuild_and_full_is_honoured():
    assert plan_silver(BUILT[1:], STATE).mode == "full"
    assert plan_silver(BUILT, STATE, full=True).mode == "full"


def test_a_merge_keeps_the_build_and_logs_what_it_changed_for_gold():
    newer = [partition(8)]
    full = STATE
    merged = plan_silver(BUILT + newer, full).state(
        BUILT + newer, "run-8", full, {"review_months": ["2026-11"], "hour_months": ["2026-11"]}
    )
    assert merged["build"] == full["build"] and merged["version"] != full["version"] and merged["mode"] == "incremental"
    [change] = merged["changes"]
    assert change == {
        "version": merged["version"],
        "observed": ["2026-11-20T12:00:00+00:00"],
        "review_months": ["2026-11"],
        "hour_months": ["2026-11"],
    }
    rebuilt = plan_silver(BUILT + newer, merged, full=True).state(BUILT + newer, "run-8", merged)
    assert rebuilt["build"] == rebuilt["version"] != merged["build"] and rebuilt["changes"] == []


def test_a_state_without_a_change_log_is_rebuilt():
    old = {"bronze": STATE["bronze"], "mode": "full", "run_id": "old"}
    plan = plan_silver([*BUILT, partition(8)], old)
    assert plan.mode == "full" and "earlier version" in plan.reason
