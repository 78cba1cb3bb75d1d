"""The serving views in MongoDB, published as versions so that readers never see half of one.

An export writes every view into collections of its own version (``<view>__<version>``, bulk
upserts keyed by ``_id``, indexes created), and only then switches the one document readers
start from (``serving_versions``, ``_id: "current"``): a single-document write, atomic in
MongoDB (and in mongo-java-server, which has no transactions). Until the switch, readers keep the
previous complete version; a failed export leaves it current and is simply run again (the same
version's collections are dropped and rewritten). The previous version is kept for readers
that are mid-request; older ones are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from movie_pipeline.errors import PipelineError

VERSIONS = "serving_versions"
CURRENT = "current"
VIEWS = ("movies", "rankings", "sentiment", "trending", "genre_stats", "year_stats")
# the keys of each view's indexes: what the API filters and sorts on
INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "trending": [[("window", 1), ("rank", 1)], [("window", 1), ("genres", 1), ("rank", 1)]],
    "genre_stats": [[("genre", 1), ("release_month", 1)]],
}
BULK_CHUNK = 1000
_VERSION = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class NoServingVersionError(PipelineError):
    """Nothing has been exported to MongoDB yet."""


def version_for(run_id: str) -> str:
    """A collection-name-safe version from an Airflow run id (a retry of the same run writes the same version)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", run_id).strip("_")[:64] or "manual"


def collection_name(view: str, version: str) -> str:
    return f"{view}__{version}"


def publish(
    db, documents: Mapping[str, Iterable[dict]], version: str, now: datetime | None = None, emit=print, batch_as_of: datetime | None = None
) -> dict[str, int]:
    """Write every view of ``version``, then make it the current one; return the documents per view.

    ``batch_as_of`` (as of when the batch part is) is kept in the version record, for the staleness alerts."""
    from pymongo import ReplaceOne

    if not _VERSION.match(version):
        raise ValueError(f"a serving version is 1-64 letters, digits or '_', got {version!r}")
    counts: dict[str, int] = {}
    for view in VIEWS:
        collection = db[collection_name(view, version)]
        collection.drop()  # a re-run of a failed export starts this version again from nothing
        written = 0
        chunk: list = []
        for document in documents.get(view, ()):
            chunk.append(ReplaceOne({"_id": document["_id"]}, document, upsert=True))
            if len(chunk) == BULK_CHUNK:
                written += _write(collection, chunk)
                chunk = []
        written += _write(collection, chunk)
        for keys in INDEXES.get(view, ()):
            collection.create_index(keys)
        counts[view] = written
        emit(f"  {view}: {written} documents in {collection.name}")
    previous = db[VERSIONS].find_one({"_id": CURRENT})
    previous_version = previous["version"] if previous else None
    db[VERSIONS].replace_one(
        {"_id": CURRENT},
        {"_id": CURRENT, "version": version, "published_at": now or datetime.now(UTC), "counts": counts, "previous": previous_version,
         "previous_published_at": previous["published_at"] if previous else None, "batch_as_of": batch_as_of},
        upsert=True,
    )  # fmt: skip
    _drop_old_versions(db, keep={version, previous_version})
    return counts


def _write(collection, requests: list) -> int:
    if not requests:
        return 0
    result = collection.bulk_write(requests, ordered=False)
    return result.upserted_count + result.matched_count


def _drop_old_versions(db, keep: set[str | None]) -> None:
    for name in db.list_collection_names():
        view, separator, version = name.partition("__")
        if separator and view in VIEWS and version not in keep:
            db.drop_collection(name)


def current(db) -> dict:
    """The current version's record (``version``, ``published_at``, ``counts``, ``previous``, ``previous_published_at``)."""
    record = db[VERSIONS].find_one({"_id": CURRENT})
    if record is None:
        raise NoServingVersionError("no serving views in MongoDB yet: run the movie_serving_export DAG")
    return record


def view(db, name: str, version: str):
    """The collection of one view in one version."""
    if name not in VIEWS:
        raise ValueError(f"unknown serving view {name!r}; the views are {', '.join(VIEWS)}")
    return db[collection_name(name, version)]
