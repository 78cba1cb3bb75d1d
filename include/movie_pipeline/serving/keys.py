"""API keys: created once and shown once, stored only as SHA-256 hashes in MongoDB (``api_keys``).

A key is ``mp_`` + 32 random URL-safe characters; its first 8 characters after the prefix are
kept as a visible ``prefix`` so that a key can be named in ``list`` and ``revoke`` without storing
it. Managed with ``movie-pipeline api-keys create|revoke|list``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from movie_pipeline.errors import PipelineError

COLLECTION = "api_keys"
KEY_PREFIX = "mp_"


class ApiKeyError(PipelineError):
    pass


@dataclass(frozen=True)
class ApiKey:
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(db, name: str, now: datetime | None = None) -> str:
    """A new key for ``name`` (unique among active keys); the only time the key itself is seen."""
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
        raise ApiKeyError(f"a key name is 1-64 letters, digits, '-' or '_', got {name!r}")
    if db[COLLECTION].find_one({"name": name, "revoked_at": None}):
        raise ApiKeyError(f"an active key named {name!r} exists: revoke it first, or pick another name")
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    db[COLLECTION].insert_one(
        {"_id": hash_key(key), "name": name, "prefix": key[len(KEY_PREFIX) : len(KEY_PREFIX) + 8], "created_at": now or datetime.now(UTC),
         "revoked_at": None}
    )  # fmt: skip
    return key


def revoke(db, name_or_prefix: str, now: datetime | None = None) -> int:
    """Revoke the active keys with this name or visible prefix; return how many."""
    query = {"$or": [{"name": name_or_prefix}, {"prefix": name_or_prefix}], "revoked_at": None}
    revoked = db[COLLECTION].update_many(query, {"$set": {"revoked_at": now or datetime.now(UTC)}}).modified_count
    if not revoked:
        raise ApiKeyError(f"no active key named or prefixed {name_or_prefix!r}")
    return revoked


def all_keys(db) -> list[ApiKey]:
    return [
        ApiKey(d["name"], d["prefix"], d["created_at"], d.get("revoked_at"))
        for d in db[COLLECTION].find({}, {"_id": 0}).sort("created_at", 1)
    ]


def lookup(db, key: str) -> ApiKey | None:
    """The active key record of a presented key, or None (unknown or revoked)."""
    if not key or not key.startswith(KEY_PREFIX):
        return None
    document = db[COLLECTION].find_one({"_id": hash_key(key), "revoked_at": None})
    return None if document is None else ApiKey(document["name"], document["prefix"], document["created_at"], None)
