"""Every path of the data lake, and the filesystem that reaches it.

The lake lives at one base URI, ``LAKE_URI``: ``file:///...`` by default and ``hdfs://...``
(or ``webhdfs://...``) in production. Paths are built here and nowhere else; I/O goes through
fsspec, so the same code writes the local disk and HDFS. Spark reaches an ``hdfs://`` lake over
HDFS RPC; the Python side (ingest, the quality checks, the export, the supervisor's checkpoint
reads) over WebHDFS at ``LAKE_WEBHDFS`` (the NameNode's HTTP address), which needs no native
libhdfs: the same files, by the same paths.

Layout::

    <lake>/bronze/<entity>/interval_start=<YYYYmmddTHHMMSSZ>/part-NNNNN.jsonl   (00000: the listing's; then a chunk's each)
    <lake>/bronze/<entity>/interval_start=.../_manifest.json
    <lake>/bronze/movie_ids_export/interval_start=.../movie_ids_MM_DD_YYYY.json.gz   (TMDB's daily ID export, as downloaded)
    <lake>/bronze/_rejects/interval_start=.../part-NNNNN.jsonl
    <lake>/silver/<table>/                (Parquet, from bronze: movies, movie_snapshots, reviews, genres, rejects)
    <lake>/silver/reviews/month=YYYY-MM/  (reviews by the month they were created in)
    <lake>/silver/_state.json             (the bronze partitions silver was built from, and what its merges changed)
    <lake>/gold/<view>/                   (Parquet, from silver: movie_summary, genre_monthly, trending, ...)
    <lake>/gold/sentiment_daily/month=YYYY-MM/    (by the month of review_date)
    <lake>/gold/sentiment_hourly/month=YYYY-MM/   (by the month of hour)
    <lake>/gold/_state.json               (the silver run gold was last brought up to date with)
    <lake>/_staging/<run id>/...        (in-progress writes, renamed into place when complete; an ingestion's
                                         chunks and _progress.json stay there until its interval is committed)
    <lake>/_trash/<run id>/...          (replaced partitions, deleted after the swap)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit, urlunsplit

import fsspec
from fsspec import AbstractFileSystem

from movie_pipeline.intervals import Interval

SILVER_TABLES = ("movies", "movie_snapshots", "reviews", "genres", "rejects")
GOLD_VIEWS = ("movie_summary", "genre_monthly", "trending", "sentiment_daily", "sentiment_hourly", "year_stats")
# Tables kept in one directory per month (PARTITION_COLUMN=YYYY-MM), so that an interval's run rewrites only the months
# its reviews touch; readers see the partition as a string column of that name.
PARTITION_COLUMN = "month"
PARTITIONED = {"silver": ("reviews",), "gold": ("sentiment_daily", "sentiment_hourly")}
# Bronze entities, one per kind of TMDB response the ingestion records.
ID_EXPORT = "movie_ids_export"  # TMDB's daily ID export a full load listed the catalogue from, kept as downloaded
BRONZE_ENTITIES = ("genres", ID_EXPORT, "discover", "changes", "trending", "movie_details", "movie_reviews")
REJECTS = "_rejects"
PART_GLOB = "part-*.jsonl"  # a partition's records: the listing's part, then one part per chunk of movies


def part_file(part: int) -> str:
    return f"part-{part:05d}.jsonl"


MANIFEST_FILE = "_manifest.json"
# Which bronze partitions a layer was built from (see spark_jobs/silver_plan.py).
STATE_FILE = "_state.json"


def path_safe(name: str) -> str:
    """A run id as a path component HDFS accepts (no ``:``, which Airflow's run ids hold: ``scheduled__...T16:00:00+00:00``)."""
    return re.sub(r"[^A-Za-z0-9_.+=-]", "_", name)


def filesystem(uri: str, webhdfs: str | None = None) -> tuple[AbstractFileSystem, str]:
    """fsspec's filesystem for ``uri`` and the path in it; an ``hdfs://`` URI is reached over WebHDFS at
    ``webhdfs`` (host:port) when given."""
    parts = urlsplit(uri)
    if parts.scheme == "hdfs" and webhdfs:
        return fsspec.core.url_to_fs(f"webhdfs://{webhdfs}{parts.path}")
    return fsspec.core.url_to_fs(uri)


@dataclass(frozen=True)
class Lake:
    uri: str
    webhdfs: str | None = None  # the NameNode's HTTP address (host:port): how Python reaches an hdfs:// lake

    @cached_property
    def fs(self) -> AbstractFileSystem:
        return filesystem(self.uri, self.webhdfs)[0]

    @cached_property
    def root(self) -> str:
        """The base path as the filesystem names it (no scheme)."""
        return filesystem(self.uri, self.webhdfs)[1].rstrip("/")

    def path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def url(self, path: str) -> str:
        """A filesystem path as a URI a user (or Spark) can open (``hdfs://`` for an HDFS lake, however Python reaches it)."""
        base = urlsplit(self.uri)
        if base.scheme == "hdfs":
            return urlunsplit(("hdfs", base.netloc, path, "", ""))
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
        return self.path("_staging", path_safe(run_id))

    def staging_uri(self, run_id: str, *parts: str) -> str:
        """Where a Spark job stages a run's tables, as Spark names it."""
        return self.spark_uri("_staging", path_safe(run_id), *parts)

    def trash(self, run_id: str) -> str:
        return self.path("_trash", path_safe(run_id))

    def has_bronze(self, entity: str = "movie_details") -> bool:
        """True when some interval of ``entity`` has been committed."""
        base = self.bronze(entity)
        if not self.fs.exists(base):
            return False
        return any(p.rsplit("/", 1)[-1].startswith("interval_start=") for p in self.fs.ls(base, detail=False))
