"""Where a full bronze -> silver -> gold rebuild spends its time, stage by stage.

Bronze of N movies is written by bench/bronze_fill.py; then each stage of the rebuild is timed on
its own, computed into Spark's ``noop`` sink (every row produced, nothing written):

- ``read``: bronze's text lines, every entity silver reads;
- ``details``: the envelopes and the ``/movie`` answers parsed (``from_json``) and validated, into
  the cache (as the silver build caches them; the two review stages read them from there);
- ``reviews``: the reviews parsed, validated and deduplicated by id, without their score;
- ``vader``: the same with VADER's compound score (the difference is VADER's cost);
- ``silver``: the real silver build from an empty cache, staged and swapped in (``bronze_to_silver.run --full``);
- ``gold``: the real gold build from that silver (``silver_to_gold.run``).

The stages overlap (``silver`` repeats ``details`` and ``vader``); their sum is not the rebuild's time.

    python bench/batch_profile.py --movies 100000     # prints the table, writes bench/results/profile_100k.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from batch_bench import FIRST, PeakMemory, local_session, size_label
from bronze_fill import fill, log
from results import RESULTS_DIR

from movie_pipeline.lake import Lake


def stages(spark, lake_uri: str) -> dict:
    """stage -> a function computing it."""
    from pyspark.sql import functions as F

    from spark_jobs import bronze_to_silver, silver_to_gold
    from spark_jobs.lake_io import bronze_lines, bronze_partitions
    from spark_jobs.silver_plan import SILVER_SOURCES
    from spark_jobs.transforms import silver

    lake = Lake(lake_uri)
    partitions = [p for p in bronze_partitions(spark, lake) if p.entity in SILVER_SOURCES]

    def noop(frame) -> None:
        frame.write.format("noop").mode("overwrite").save()

    def read() -> None:
        for entity in SILVER_SOURCES:
            noop(bronze_lines(spark, lake, entity, partitions))

    def parsed(entity: str):
        return silver.parse_envelopes(bronze_lines(spark, lake, entity, partitions), bronze_to_silver.PAYLOADS[entity])

    checked = silver.check_details(parsed("movie_details")).cache()  # as the silver build caches it
    details = silver.usable_details(checked)

    def reviews():
        return silver.reviews(details, parsed("movie_reviews"))[0]

    return {
        "read": read,
        "details": lambda: noop(details),
        "reviews": lambda: noop(reviews()),
        "vader": lambda: noop(silver.scored(reviews()).select("review_id", F.col("sentiment_compound"))),
        "silver": lambda: bronze_to_silver.run(spark, lake_uri, "profile", full=True),
        "gold": lambda: silver_to_gold.run(spark, lake_uri, "profile"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", type=int, default=100_000, help="catalogue size (movies, about 10 reviews each)")
    args = parser.parse_args()

    spark = local_session("batch-profile")
    profile: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="batch-profile-") as work:
        lake_uri = (Path(work) / "lake").as_uri()
        log(f"catalogue of {args.movies} movies")
        fill(args.movies, FIRST, lake_uri)
        for name, stage in stages(spark, lake_uri).items():
            if name == "silver":
                spark.catalog.clearCache()  # the real build parses the details itself
            with PeakMemory() as memory:
                started = time.monotonic()
                stage()
                seconds = time.monotonic() - started
            profile[name] = {"seconds": round(seconds, 1), "peak_rss_mb": round(memory.peak_mb)}
            log(f"  {name:<8} {seconds:8.1f} s   peak {memory.peak_mb:,.0f} MiB")
    spark.stop()
    out = RESULTS_DIR / f"profile_{size_label(args.movies)}.json"
    out.write_text(json.dumps({"movies": args.movies, "stages": profile}, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
