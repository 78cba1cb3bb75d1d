"""The benchmark report: every figure, its target, when it was measured.

- ``bench/results/latest.json``: one flat object of figure name -> number, merged across scripts
  (a script run alone replaces only its own figures);
- ``bench/results/measured.json``: figure name -> when it was last measured (UTC);
- ``bench/results/latest.md``: the report (``python bench/report.py``, the last step of ``make
  bench``): the machine, the versions and each figure beside its target.

Targets live here, in one table, so the scripts, the printed tables and the report agree.
"""

from __future__ import annotations

import json
import operator
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS = RESULTS_DIR / "latest.json"
MEASURED = RESULTS_DIR / "measured.json"
BATCH_SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}

_COMPARE = {">=": operator.ge, "<=": operator.le, "<": operator.lt, "==": operator.eq}


def _batch(label: str, target_s: float | None = None) -> dict[str, tuple[str | None, float | None, str]]:
    movies = f"{BATCH_SIZES[label]:,} movies"
    return {
        f"batch_{label}_s": (
            "<=" if target_s else None,
            target_s,
            f"bronze -> silver -> gold from scratch, {movies} (~10 reviews each), seconds",
        ),
        f"batch_{label}_rows_per_s": (None, None, f"bronze records (movies + reviews) turned into gold per second, {movies}"),
        f"batch_{label}_peak_rss_mb": (None, None, f"peak resident memory of the Spark driver and its Python workers, {movies}, MiB"),
    }


# figure -> (comparison, target, what it measures); a figure without a comparison is reported, not judged
TARGETS: dict[str, tuple[str | None, float | None, str]] = {
    "ingest_rps_at_4": (">=", 3.8, "TMDB requests/s achieved at the client's 4 req/s limit (simulator)"),
    "ingest_429_at_4": ("==", 0, "429 answers received at steady state, limit 4 req/s"),
    "ingest_wall_ratio_at_4": ("<=", 1.05, "wall time / (requests / 4): how well the limit is used"),
    "ingest_rps_at_40": (">=", 38, "TMDB requests/s achieved at a 40 req/s limit"),
    "ingest_429_at_40": ("==", 0, "429 answers received at steady state, limit 40 req/s"),
    "ingest_wall_ratio_at_40": (None, None, "wall time / (requests / 40)"),
    "ingest_requests_at_4": (None, None, "requests measured at 4 req/s (at least 600)"),
    "ingest_requests_at_40": (None, None, "requests measured at 40 req/s (at least 600)"),
    "ingest_seconds_at_4": (None, None, "wall seconds of the run at 4 req/s"),
    "ingest_seconds_at_40": (None, None, "wall seconds of the run at 40 req/s"),
    "ingest_full_requests_per_movie": ("<=", 1.02, "requests of a full load (listed by the daily ID export) per movie, 20,000 movies"),
    "ingest_full_listing_requests": ("<=", 20, "requests of that full load that are not a movie's details or further review pages"),
    "ingest_discover_listing_requests": (None, None, "requests discover's release-date windows take to list the same catalogue"),
    "ingest_export_listing_1m_s": (None, None, "seconds to download and read the 1M-movie daily ID export (the simulator builds it)"),
    "ingest_export_listing_1m_rss_mb": (None, None, "the growth of the ingesting process's peak resident memory meanwhile, MiB"),
    **_batch("10k"),
    **_batch("100k"),
    **_batch("1m", target_s=1800),
    "batch_incremental_ratio": ("<=", 0.25, "one incremental 4-hour interval over the largest history / its full recompute"),
    **{
        f"batch_incremental_{label}_s": (
            "<=" if label == "1m" else None,
            120 if label == "1m" else None,
            f"an interval of 1% of {size:,} movies changed (their details and reviews), bronze -> gold, seconds",
        )
        for label, size in BATCH_SIZES.items()
    },
    **{
        f"batch_incremental_{label}_ratio": (
            "<=" if label == "1m" else None,
            0.03 if label == "1m" else None,
            f"that / the full rebuild of {size:,} movies",
        )
        for label, size in BATCH_SIZES.items()
    },
    **{
        f"batch_incremental_{label}_differing_rows": (
            "==",
            0,
            "rows by which that interval's silver and gold differ from a full rebuild of them",
        )
        for label in BATCH_SIZES
    },
    "gx_overhead_ratio": ("<=", 0.5, "Great Expectations checkpoints (bronze, silver, gold) / the full transform"),
    "gx_import_s": (None, None, "Great Expectations' one-off import, seconds (not in the ratio)"),
    "stream_events_per_s": (">=", 5000, "events/s sustained producer -> Kafka -> Spark -> Cassandra"),
    "stream_freshness_p50_s": (None, None, "produce -> row in Cassandra, median seconds, at 2,000 events/s"),
    "stream_freshness_p95_s": ("<=", 30, "produce -> row in Cassandra, 95th percentile seconds"),
    "api_cached_rps": (">=", 2000, "API requests/s with the Redis cache, 2 workers on 2 cores (wrk)"),
    "api_cached_p99_ms": ("<=", 25, "API p99 latency with the cache, ms"),
    "api_cache_hit_ratio": (None, None, "cache hits (fresh + stale) / lookups during the cached run"),
    "api_uncached_rps": (None, None, "API requests/s with the cache off"),
    "api_uncached_p99_ms": ("<=", 100, "API p99 latency with the cache off, ms"),
    "dag_parse_max_s": ("<", 1.0, "slowest DAG file's parse time in the dag-processor (its dag_processing.last_duration)"),
    "airflow_task_start_delay_s": ("<=", 5.0, "worst scheduled run's dagrun.first_task_start_delay: run queued -> first task running, s"),
    "airflow_task_scheduled_p95_s": (
        None,
        None,
        "p95 of the scheduler's dag.<dag>.<task>.scheduled_duration: task schedulable -> queued, s",
    ),
    "stack_start_s": ("<", 120, "local stack cold start (jars cached), seconds"),
    "stack_rss_mb": ("<", 8000, "local stack idle resident memory, all services, MiB"),
    "cluster_stack_start_s": (None, None, "the cluster profile's cold start (jars cached), seconds"),
    "cluster_stack_rss_mb": ("<", 16000, "the cluster profile's idle resident memory, every node, MiB"),
    "cluster_batch_100k_s": (None, None, "bronze -> gold from scratch on Spark standalone + HDFS, 100,000 movies, seconds"),
    "cluster_batch_ratio": (None, None, "that / local[2] on files in the same run (2 workers on the same 2 cores: not faster)"),
    "cluster_stream_events_per_s": (None, None, "events/s Kafka (3 brokers) -> Spark standalone -> Cassandra (3 nodes, QUORUM)"),
}


def verdict(name: str, value: float) -> str:
    """'met', 'missed' or '' (no target) for a figure's value."""
    comparison, target, _ = TARGETS.get(name, (None, None, ""))
    if comparison is None:
        return ""
    return "met" if _COMPARE[comparison](value, target) else "missed"


def target_text(name: str) -> str:
    comparison, target, _ = TARGETS.get(name, (None, None, ""))
    return "" if comparison is None else f"{comparison} {target:g}"


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def record(figures: dict[str, float]) -> None:
    """Merge the figures into latest.json (with their measurement time) and print them beside their targets."""
    unknown = sorted(set(figures) - set(TARGETS))
    if unknown:
        raise ValueError(f"figures without an entry in bench/results.py TARGETS: {unknown}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    RESULTS.write_text(json.dumps({**_load(RESULTS), **figures}, indent=2, sort_keys=True) + "\n")
    MEASURED.write_text(json.dumps({**_load(MEASURED), **dict.fromkeys(figures, now)}, indent=2, sort_keys=True) + "\n")
    print(f"\n{'figure':<28} {'value':>10}  {'target':<8} verdict")
    for name, value in figures.items():
        print(f"{name:<28} {value:>10}  {target_text(name):<8} {verdict(name, value)}")
    print(f"\nwritten to {RESULTS}")
