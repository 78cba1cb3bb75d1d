"""How silver_to_gold chooses between nothing, applying silver's merges and a rebuild."""

from __future__ import annotations

import pytest

from spark_jobs.gold_plan import plan_gold


def change(version: str, end: str, months: list[str], hours: list[str], removed: tuple[int, ...] = ()) -> dict:
    return {"version": version, "observed": [end], "review_months": months, "hour_months": hours, "removed_movies": list(removed)}


BUILD = {"build": "b@1", "version": "b@1", "run_id": "b", "changes": []}
MERGED = {
    **BUILD,
    "version": "m2@3",
    "changes": [
        change("m1@2", "2026-11-20T08:00:00+00:00", ["2026-11"], ["2026-11"]),
        change("m2@3", "2026-11-20T12:00:00+00:00", ["2024-03"], ["2026-11", "2026-10"], removed=(42, 7)),
    ],
}


def test_the_first_run_and_a_rebuilt_silver_rebuild_gold():
    assert plan_gold(BUILD, None).mode == "full"
    assert "rebuilt" in plan_gold({**BUILD, "build": "b@9", "version": "b@9"}, {"silver_build": "b@1", "silver_version": "b@1"}).reason
    assert plan_gold(BUILD, plan_gold(BUILD, None).state(BUILD), full=True).mode == "full"


def test_gold_applies_every_merge_it_has_not_seen_and_nothing_twice():
    after_build = plan_gold(BUILD, None).state(BUILD)
    both = plan_gold(MERGED, after_build)
    assert both.mode == "incremental"
    assert both.observed == ("2026-11-20T08:00:00+00:00", "2026-11-20T12:00:00+00:00")
    assert both.review_months == ("2024-03", "2026-11") and both.hour_months == ("2026-10", "2026-11")
    assert both.removed_movies == (7, 42)
    last = plan_gold(MERGED, {"silver_build": "b@1", "silver_version": "m1@2"})
    assert last.observed == ("2026-11-20T12:00:00+00:00",) and last.review_months == ("2024-03",)
    assert plan_gold(MERGED, both.state(MERGED)).mode == "unchanged"


def test_gold_behind_the_kept_changes_is_rebuilt_and_without_silver_it_fails_loudly():
    assert plan_gold(MERGED, {"silver_build": "b@1", "silver_version": "gone@0"}).mode == "full"
    older = {**MERGED, "changes": [{k: v for k, v in c.items() if k != "removed_movies"} for c in MERGED["changes"]]}
    assert "no removed movies" in plan_gold(older, {"silver_build": "b@1", "silver_version": "b@1"}).reason
    with pytest.raises(ValueError, match="run bronze_to_silver first"):
        plan_gold(None, None)
