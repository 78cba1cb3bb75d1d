"""Every setting in one place: environment variables, or an Airflow connection inside Airflow.

| variable           | default                          | meaning                                   |
|--------------------|----------------------------------|-------------------------------------------|
| TMDB_BASE_URL      | https://api.themoviedb.org/3     | TMDB v3 base URL (or the simulator's)     |
| TMDB_API_KEY       |                                  | v3 key, sent as ``api_key``               |
| TMDB_READ_TOKEN    |                                  | v4 read access token, sent as Bearer      |
| TMDB_RATE_LIMIT    | 4                                | requests per second, for the whole process|
| TMDB_CONCURRENCY   | 8                                | requests in flight at once (TMDB caps 20) |
| TMDB_TIMEOUT       | 10                               | seconds before a request is abandoned     |
| TMDB_MAX_RETRIES   | 6                                | retries of a timeout / 5xx / lost connection |
| LAKE_URI           | file://<repo>/.local/lake        | base URI of the data lake                 |
| DATA_QUALITY_DIR   | <repo>/.local/quality            | GX context: validation results, Data Docs |
| AIRFLOW_UI_URL     | http://localhost:8080            | where links to reports point              |

Inside Airflow the connection ``tmdb_default`` supplies the same TMDB settings: ``host`` is the
base URL, ``password`` the API key, and ``extra`` may hold ``read_token``, ``rate_limit``,
``concurrency``, ``timeout`` and ``max_retries``. Environment variables set explicitly win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from movie_pipeline.errors import ConfigError

REAL_TMDB_URL = "https://api.themoviedb.org/3"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LAKE_URI = (PROJECT_ROOT / ".local" / "lake").as_uri()
DEFAULT_QUALITY_DIR = PROJECT_ROOT / ".local" / "quality"
DEFAULT_UI_URL = "http://localhost:8080"
TMDB_CONN_ID = "tmdb_default"


@dataclass(frozen=True)
class TmdbSettings:
    base_url: str = REAL_TMDB_URL
    api_key: str | None = field(default=None, repr=False)
    read_token: str | None = field(default=None, repr=False)
    rate_limit: float = 4.0
    concurrency: int = 8
    timeout: float = 10.0
    max_retries: int = 6

    def __post_init__(self) -> None:
        if self.rate_limit <= 0:
            raise ConfigError(f"TMDB_RATE_LIMIT must be a positive number of requests per second, got {self.rate_limit}")
        if not 1 <= self.concurrency <= 20:
            raise ConfigError(f"TMDB_CONCURRENCY must be between 1 and 20 (TMDB allows 20 connections), got {self.concurrency}")
        if self.timeout <= 0 or self.max_retries < 0:
            raise ConfigError("TMDB_TIMEOUT must be positive and TMDB_MAX_RETRIES at least 0")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"TMDB_BASE_URL must be an http(s) URL, got {self.base_url!r}")

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never be written anywhere."""
        return tuple(s for s in (self.api_key, self.read_token) if s)

    def require_credentials(self) -> None:
        if not self.secrets:
            raise ConfigError(
                "no TMDB credentials: set TMDB_API_KEY (v3 key) or TMDB_READ_TOKEN (v4 read access token); "
                "for the offline simulator any 32-hex-character key works, e.g. TMDB_API_KEY=$(openssl rand -hex 16)"
            )


@dataclass(frozen=True)
class Settings:
    tmdb: TmdbSettings = field(default_factory=TmdbSettings)
    lake_uri: str = DEFAULT_LAKE_URI
    quality_dir: Path = DEFAULT_QUALITY_DIR
    ui_url: str = DEFAULT_UI_URL


def _number(env: Mapping[str, str], name: str, kind: type, default):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    tmdb = TmdbSettings(
        base_url=env.get("TMDB_BASE_URL") or REAL_TMDB_URL,
        api_key=env.get("TMDB_API_KEY") or None,
        read_token=env.get("TMDB_READ_TOKEN") or None,
        rate_limit=_number(env, "TMDB_RATE_LIMIT", float, 4.0),
        concurrency=_number(env, "TMDB_CONCURRENCY", int, 8),
        timeout=_number(env, "TMDB_TIMEOUT", float, 10.0),
        max_retries=_number(env, "TMDB_MAX_RETRIES", int, 6),
    )
    return Settings(
        tmdb=tmdb,
        lake_uri=env.get("LAKE_URI") or DEFAULT_LAKE_URI,
        quality_dir=Path(env.get("DATA_QUALITY_DIR") or DEFAULT_QUALITY_DIR),
        ui_url=(env.get("AIRFLOW_UI_URL") or DEFAULT_UI_URL).rstrip("/"),
    )


def settings_from_airflow(conn_id: str = TMDB_CONN_ID, env: Mapping[str, str] | None = None) -> Settings:
    """Settings for a task: the Airflow connection, overridden by explicitly set variables."""
    from airflow.sdk import Connection  # only inside a running task
    from airflow.sdk.exceptions import AirflowNotFoundException

    env = os.environ if env is None else env
    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        if not (env.get("TMDB_API_KEY") or env.get("TMDB_READ_TOKEN")):
            raise ConfigError(
                f"the Airflow connection {conn_id!r} is not defined and TMDB_API_KEY / TMDB_READ_TOKEN are not set: "
                "add the connection (see airflow_settings.yaml) or set the variables"
            ) from None
        return settings_from_env(env)
    extra = conn.extra_dejson
    from_conn = {
        "TMDB_BASE_URL": conn.host,
        "TMDB_API_KEY": conn.password,
        "TMDB_READ_TOKEN": extra.get("read_token"),
        "TMDB_RATE_LIMIT": extra.get("rate_limit"),
        "TMDB_CONCURRENCY": extra.get("concurrency"),
        "TMDB_TIMEOUT": extra.get("timeout"),
        "TMDB_MAX_RETRIES": extra.get("max_retries"),
    }
    merged = {k: str(v) for k, v in from_conn.items() if v not in (None, "")}
    merged.update({k: v for k, v in env.items() if v})
    return settings_from_env(merged)
