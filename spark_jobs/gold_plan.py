"""Deciding how to bring gold up to date with silver: nothing, the changes of silver's merges, or a rebuild.

Gold records the silver version it was last brought up to date with (``gold/_state.json``). Silver's state
lists its ``build`` (last rebuild) and the ``changes`` of each merge since: the interval ends whose movies
it replaced, the months of reviews (by creation) and of review hours (by last update) it rewrote, and the
movies it removed (deleted at TMDB).
A run then

- does nothing when silver has not changed since;
- applies the merges gold has not seen (**incremental**): recomputes ``movie_summary`` for the movies
  observed in those intervals (the movies they deleted, which silver lists, are dropped), ``sentiment_daily`` and
  ``sentiment_hourly`` for the months rewritten, and the small global views (``trending``,
  ``genre_monthly``, ``year_stats``) from the new ``movie_summary``;
- rebuilds gold from all of silver (**full**) otherwise: the first run, after silver was rebuilt, when
  gold is further behind than silver's kept changes, or when asked.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GoldPlan:
    mode: str  # "full", "incremental" or "unchanged"
    reason: str
    observed: tuple[str, ...] = ()  # incremental: interval ends whose movies are recomputed
    review_months: tuple[str, ...] = ()  # incremental: months of sentiment_daily to recompute
    hour_months: tuple[str, ...] = ()  # incremental: months of sentiment_hourly to recompute
    removed_movies: tuple[int, ...] = ()  # incremental: movies deleted at TMDB, whose summaries are dropped

    def state(self, silver: dict) -> dict:
        """The state file gold has after this plan ran over ``silver`` (silver's state)."""
        return {"silver_build": silver.get("build"), "silver_version": silver.get("version"), "mode": self.mode}


def plan_gold(silver: dict | None, gold: dict | None, full: bool = False) -> GoldPlan:
    if silver is None:
        raise ValueError("silver has no state: run bronze_to_silver first (or it stopped mid-swap: re-run it)")
    if full:
        return GoldPlan("full", "a full rebuild was requested")
    if gold is None or not silver.get("build"):
        return GoldPlan("full", "gold has no state yet (first run, or an earlier run stopped mid-swap)")
    at = gold.get("silver_version")
    if gold.get("silver_build") != silver["build"]:
        return GoldPlan("full", f"silver was rebuilt ({silver['build']}) since gold was built")
    if at == silver.get("version"):
        return GoldPlan("unchanged", "silver has not changed since gold was built")
    versions = [change["version"] for change in silver.get("changes", [])]
    if at == silver["build"]:
        pending = silver["changes"]
    elif at in versions:
        pending = silver["changes"][versions.index(at) + 1 :]
    else:
        return GoldPlan("full", f"gold (at silver {at}) is behind the changes silver keeps")
    if any("removed_movies" not in change for change in pending):
        return GoldPlan("full", "silver's change log was written by an earlier version of its job (no removed movies)")

    def union(key: str) -> tuple:  # of str (months, interval ends) or int (movie ids)
        return tuple(sorted({value for change in pending for value in change.get(key, [])}))

    return GoldPlan(
        "incremental",
        f"{len(pending)} silver merge(s) since silver {at}",
        union("observed"),
        union("review_months"),
        union("hour_months"),
        union("removed_movies"),
    )
