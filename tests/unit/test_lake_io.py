"""Writing lake tables: whole, appended to, or month by month, with the untouched files left as they were."""

from __future__ import annotations

from pathlib import Path

from movie_pipeline.lake import Lake
from spark_jobs.lake_io import TableWrite, write_tables

REVIEWS = "review_id string, sentiment_compound double, month string"


def files(table: Path) -> dict[str, float]:
    return {str(p.relative_to(table)): p.stat().st_mtime_ns for p in table.rglob("part-*.parquet")}


def test_months_are_replaced_one_by_one_and_appends_keep_what_is_there(spark, tmp_path):
    lake = Lake((tmp_path / "lake").as_uri())
    reviews = spark.createDataFrame([("a", 0.1, "2026-09"), ("b", 0.2, "2026-10"), ("c", 0.3, "2026-11")], REVIEWS)
    rejects = spark.createDataFrame([("bad", "r1")], "reason string, run_id string")
    counts = write_tables(spark, lake, "silver", {"reviews": TableWrite(reviews), "rejects": TableWrite(rejects)}, "r1")
    assert counts == {"reviews": 3, "rejects": 1}
    table = tmp_path / "lake" / "silver" / "reviews"
    assert sorted(p.name for p in table.glob("month=*")) == ["month=2026-09", "month=2026-10", "month=2026-11"]
    before = files(table)

    november = spark.createDataFrame([("c", 0.3, "2026-11"), ("d", -0.4, "2026-11")], REVIEWS)
    writes = {
        "reviews": TableWrite(november, "months", ("2026-09", "2026-11")),  # September has no rows left: emptied
        "rejects": TableWrite(spark.createDataFrame([("worse", "r2")], "reason string, run_id string"), "append"),
    }
    assert write_tables(spark, lake, "silver", writes, "r2") == {"reviews": 3, "rejects": 2}
    after = files(table)
    assert sorted(p.name for p in table.glob("month=*")) == ["month=2026-10", "month=2026-11"]
    october = {name: mtime for name, mtime in before.items() if name.startswith("month=2026-10")}
    assert october and all(after.get(name) == mtime for name, mtime in october.items()), "an untouched month keeps its files"
    rows = spark.read.parquet(lake.spark_uri("silver", "reviews")).collect()
    assert sorted((r.review_id, r.month) for r in rows) == [("b", "2026-10"), ("c", "2026-11"), ("d", "2026-11")]
    assert sorted(r.run_id for r in spark.read.parquet(lake.spark_uri("silver", "rejects")).collect()) == ["r1", "r2"]
    assert not (tmp_path / "lake" / "_staging").exists() or not any((tmp_path / "lake" / "_staging").iterdir())
