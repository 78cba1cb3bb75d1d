"""Every path of the data lake, and the filesystem that reaches it.

The lake lives at one base URI, ``LAKE_URI``: ``file:///...`` by default and ``hdfs://...``
(or ``webhdfs://...``) in production. Paths are built here and nowhere else; I/O goes through
fsspec, so the same code writes the local disk and HDFS.

Layout::

    <lake>/bronze/<entity>/interval_start=<YYYYmmddTHHMMSSZ>/part-00000.jsonl
    <lake>/bronze/<entity>/interval_start=.../_manifest.json
    <lake>/bronze/_rejects/interval_start=.../part-00000.jsonl
    <lake>/silver/<table>/                (Parquet, from bronze: movies, movie_snapshots, reviews, genres, rejects)
    <lake>/silver/_state.json             (the bronze partitions silver was built from)
    <lake>/gold/<view>/                   (Parquet, from silver: movie_summary, genre_monthly, trending, ...)
    <lake>/_staging/<run id>/...        (in-progress writes, renamed into place when complete)
    <lake>/_trash/<run id>/...          (replaced partitions, deleted after the swap)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import fsspec
from fsspec import AbstractFileSystem

from movie_pipeline.intervals import Interval

SILVER_TABLES = ("movies", "movie_snapshots", "reviews", "genres", "rejects")
GOLD_VIEWS = ("movie_summary", "genre_monthly", "trending", "sentiment_daily", "sentiment_hourly", "year_stats")
# Bronze entities, one per kind of TMDB response the ingestion records.
BRONZE_ENTITIES = ("genres", "discover", "changes", "trending", "movie_details", "movie_reviews")
REJECTS = "_rejects"
PART_FILE = "part-00000.jsonl"
MANIFEST_FILE = "_manifest.json"
# Which bronze partitions a layer was built from (see spark_jobs/silver_plan.py).
STATE_FILE = "_state.json"


@dataclass(frozen=True)
class Lake:
    uri: str

    @cached_property
    def fs(self) -> AbstractFileSystem:
        return fsspec.core.url_to_fs(self.uri)[0]

    @cached_property
    def root(self) -> str:
        """The base path as the filesystem names it (no scheme)."""
        return fsspec.core.url_to_fs(self.uri)[1].rstrip("/")

    def path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def url(self, path: str) -> str:
        """A filesystem path as a URI a user (or Spark) can open."""
        return self.fs.unstrip_protocol(path)

    def spark_uri(self, *parts: str) -> str:
        """A lake location as Spark (Hadoop) names it: the base URI plus the parts."""
        return "/".join((self.uri.rstrip("/"), *parts))

    # ---- bronze ---------------------------------------------------------------------------
    def bronze(self, entity: str) -> str:
        return self.path("bronze", entity)

    def bronze_partition(self, entity: str, interval: Interval) -> str:
        return self.path("bronze", entity, interval.partition)

    def staging(self, run_id: str) -> str:
        return self.path("_staging", run_id)

    def trash(self, run_id: str) -> str:
        return self.path("_trash", run_id)

    def has_bronze(self, entity: str = "movie_details") -> bool:
        """True when some interval of ``entity`` has been committed."""
        base = self.bronze(entity)
        if not self.fs.exists(base):
            return False
        return any(p.rsplit("/", 1)[-1].startswith("interval_start=") for p in self.fs.ls(base, detail=False))
