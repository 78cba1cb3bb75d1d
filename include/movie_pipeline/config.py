"""Every setting of the runtime, declared once: its environment variable, type, default and meaning.

Processes outside Airflow (the API, the speed jobs, the command line) read the environment
(``settings_from_env``). Inside Airflow the connections are the single source of endpoints and
credentials (``settings_from_airflow``): each connection below fills the settings it names, and an
absent connection leaves them to the environment.

| connection          | fills                                                                      |
|---------------------|----------------------------------------------------------------------------|
| ``tmdb_default``    | TMDB_BASE_URL (host), TMDB_API_KEY (password), extra: read_token, rate_limit, concurrency, timeout, max_retries, exports_url; a TMDB variable set explicitly wins (a real key for the stack's connection) |
| ``kafka_default``   | KAFKA_BOOTSTRAP_SERVERS (extra ``bootstrap.servers``)                       |
| ``cassandra_default`` | CASSANDRA_HOSTS (host, comma-separated), CASSANDRA_PORT (port), SPEED_KEYSPACE (schema) |
| ``spark_default``   | SPARK_MASTER (host, with its port when set): where the supervisor submits the streaming job |

A field a connection sets beyond these is logged as changing nothing. ``mongo_default`` and
``analytics_default`` are read by the export DAG's tasks through their hooks;
``spark_default`` by the batch DAG's ``SparkSubmitOperator`` too. ``python -m movie_pipeline.config``
prints the table of every setting (the README's *Configuration* holds it, checked by a test).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from movie_pipeline.errors import ConfigError
from movie_pipeline.speed.jobs import JOBS

log = logging.getLogger(__name__)
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL", "LOCAL_ONE")
JOB_RUNNERS = ("local", "standalone")
NONE = "none"  # a list setting set to "none" is empty (an empty variable keeps the default)


def _pipeline_home() -> Path:
    """``PIPELINE_HOME``; else the checkout this package runs from; else (an installed package) the working directory."""
    if os.environ.get("PIPELINE_HOME"):
        return Path(os.environ["PIPELINE_HOME"])
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


PROJECT_ROOT = _pipeline_home()  # expectations/ and the default places of the local state (.local/)
LOCAL = PROJECT_ROOT / ".local"
REAL_TMDB_URL = "https://api.themoviedb.org/3"
REAL_TMDB_EXPORTS_URL = "https://files.tmdb.org/p/exports"
SPEED_HOURS = 48  # the speed views cover the last 48 hours (the merge cutoff)
TMDB_CONN_ID, KAFKA_CONN_ID, CASSANDRA_CONN_ID, SPARK_CONN_ID = "tmdb_default", "kafka_default", "cassandra_default", "spark_default"
MONGO_CONN_ID, ANALYTICS_CONN_ID = "mongo_default", "analytics_default"


def setting(env: str, default: Any, doc: str, *, secret: bool = False, shown: str | None = None) -> Any:
    """A field read from the environment variable ``env``; ``shown`` is the default as the docs print it."""
    return field(default=default, repr=not secret, metadata={"env": env, "doc": doc, "shown": shown})


@dataclass(frozen=True)
class TmdbSettings:
    base_url: str = setting("TMDB_BASE_URL", REAL_TMDB_URL, "TMDB v3 base URL; the simulator's is `http://127.0.0.1:8765/3`")
    api_key: str | None = setting("TMDB_API_KEY", None, "v3 API key (sent as `api_key`, redacted from logs)", secret=True)
    read_token: str | None = setting(
        "TMDB_READ_TOKEN", None, "v4 API read access token (sent as `Authorization: Bearer`); used instead of the key when set", secret=True
    )
    rate_limit: float = setting("TMDB_RATE_LIMIT", 4.0, "requests per second for the whole process (TMDB tolerates about 40-50)")
    concurrency: int = setting("TMDB_CONCURRENCY", 8, "requests in flight (TMDB allows 20 connections per IP)")
    timeout: float = setting("TMDB_TIMEOUT", 10.0, "seconds before a request is abandoned and retried")
    max_retries: int = setting("TMDB_MAX_RETRIES", 6, "retries of timeouts, lost connections and 5xx (backoff 0.5 s doubling, jittered)")
    exports_url: str | None = setting(
        "TMDB_EXPORTS_URL",
        None,
        "where the daily ID exports are, which full loads list the catalogue from; unset: `https://files.tmdb.org/p/exports` for "
        "the real API, `/p/exports` on TMDB_BASE_URL's host otherwise (the simulator serves both)",
        shown="derived",
    )
    chunk_movies: int = setting(
        "INGEST_CHUNK_MOVIES", 500, "movies an ingestion hydrates per chunk: a killed run resumes from its last complete chunk"
    )

    def __post_init__(self) -> None:
        if self.chunk_movies < 1:
            raise ConfigError(f"INGEST_CHUNK_MOVIES must be at least 1, got {self.chunk_movies}")
        if self.exports_url is not None and not self.exports_url.startswith(("http://", "https://")):
            raise ConfigError(f"TMDB_EXPORTS_URL must be an http(s) URL, got {self.exports_url!r}")
        if self.rate_limit <= 0:
            raise ConfigError(f"TMDB_RATE_LIMIT must be a positive number of requests per second, got {self.rate_limit}")
        if not 1 <= self.concurrency <= 20:
            raise ConfigError(f"TMDB_CONCURRENCY must be between 1 and 20 (TMDB allows 20 connections), got {self.concurrency}")
        if self.timeout <= 0 or self.max_retries < 0:
            raise ConfigError("TMDB_TIMEOUT must be positive and TMDB_MAX_RETRIES at least 0")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"TMDB_BASE_URL must be an http(s) URL, got {self.base_url!r}")

    @property
    def id_exports_url(self) -> str:
        """Where the daily ID exports are: ``TMDB_EXPORTS_URL``, else TMDB's file host for the real API, else
        ``/p/exports`` on the API's own host (a simulator or a proxy serves both)."""
        if self.exports_url:
            return self.exports_url.rstrip("/")
        if self.base_url.rstrip("/") == REAL_TMDB_URL:
            return REAL_TMDB_EXPORTS_URL
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}/p/exports"

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
class SpeedSettings:
    kafka_bootstrap_servers: str = setting("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", "the speed layer's Kafka")
    kafka_partitions: int = setting("KAFKA_PARTITIONS", 6, "partitions of each event topic, when the topics are created")
    kafka_replication: int = setting("KAFKA_REPLICATION", 1, "replication factor of the topics, when they are created")
    kafka_retention_hours: float = setting("KAFKA_RETENTION_HOURS", 168.0, "retention of the metric and review topics")
    schema_registry_url: str | None = setting(
        "SCHEMA_REGISTRY_URL", None, "a Confluent-API schema registry; unset: the ids checked in beside the schemas"
    )
    cassandra_hosts: tuple[str, ...] = setting(
        "CASSANDRA_HOSTS", ("127.0.0.1",), "the speed views' Cassandra contact points, comma-separated"
    )
    cassandra_port: int = setting("CASSANDRA_PORT", 9042, "their CQL port")
    cassandra_replication: int = setting("CASSANDRA_REPLICATION", 1, "replication factor of the speed keyspace, when it is created")
    cassandra_consistency: str = setting(
        "CASSANDRA_CONSISTENCY", "QUORUM", "consistency of the speed views' writes and reads (QUORUM of 3 replicas: one node may be down)"
    )
    keyspace: str = setting("SPEED_KEYSPACE", "movie_speed", "the speed views' keyspace")
    ttl_grace_hours: float = setting("SPEED_TTL_GRACE_HOURS", 2.0, "speed rows live 48 h plus this")
    watermark: str = setting("SPEED_WATERMARK", "10 minutes", "how late an event may arrive and still be counted")
    checkpoint_uri: str | None = setting(
        "SPEED_CHECKPOINT_URI", None, "the streaming job's checkpoints", shown="`<LAKE_URI>/_checkpoints/speed`"
    )
    replay_from: str | None = setting(
        "SPEED_REPLAY_FROM", None, "an ISO instant: a streaming job started on a new checkpoint reads Kafka from there (see *Operations*)"
    )
    producer_every_s: float = setting("PRODUCER_EVERY_S", 60.0, "the producer's poll interval (its `--every` wins)")
    producer_ledger: Path = setting(
        "PRODUCER_LEDGER", LOCAL / "speed" / "producer-ledger.sqlite", "what the producer has sent (its `--ledger` wins)"
    )
    producer_metrics_port: int | None = setting(
        "PRODUCER_METRICS_PORT", None, "Prometheus `/metrics` of the producer (the stack's Airflow sets 9110)", shown="off"
    )
    stream_metrics_port: int | None = setting(
        "SPEED_METRICS_PORT", None, "Prometheus `/metrics` of the streaming job's driver (the stack's Airflow sets 9111)", shown="off"
    )
    metrics_host: str = setting("METRICS_HOST", "127.0.0.1", "where those two listen (0.0.0.0 in containers)")
    jobs: tuple[str, ...] = setting(
        "SPEED_JOBS", JOBS, "the jobs the supervisor keeps running here (a job run elsewhere is left out; `none`: no job)"
    )
    jobs_dir: Path = setting("SPEED_JOBS_DIR", LOCAL / "speed" / "jobs", "the local runner's pid and log of each job")
    max_lag: int = setting("SPEED_MAX_LAG", 50_000, "events waiting in Kafka for the streaming job above which the lag check fails")
    spark_master: str = setting(
        "SPARK_MASTER", "local[2]", "where the supervisor submits the streaming job (inside Airflow: `spark_default`)"
    )
    job_runner: str = setting(
        "SPEED_JOB_RUNNER",
        "local",
        "how the supervisor runs the jobs: `local` (detached processes) or `standalone` (the streaming job watched and "
        "killed through the Spark standalone master's API)",
    )
    spark_master_ui_url: str | None = setting(
        "SPARK_MASTER_UI_URL", None, "the Spark standalone master's web UI, whose JSON API the `standalone` runner reads"
    )
    trigger: str = setting("SPEED_TRIGGER", "2 seconds", "the streaming job's micro-batch trigger")
    streaming_app: Path | None = setting(
        "SPEED_STREAMING_APP", None, "the streaming job's file", shown="the installed `spark_jobs/streaming/speed_views.py`"
    )
    spark_jars_dir: Path = setting(
        "SPARK_JARS_DIR",
        LOCAL / "jars" / "spark-connectors",
        "the streaming job's Kafka and Avro connector jars (the image bakes them in `/opt/movie-pipeline/jars`)",
    )
    spark_jars_packages: str | None = setting(
        "SPARK_JARS_PACKAGES", None, "Maven coordinates Spark resolves itself (`spark.jars.packages`), instead of SPARK_JARS_DIR"
    )

    def __post_init__(self) -> None:
        if self.producer_every_s <= 0:
            raise ConfigError(f"PRODUCER_EVERY_S must be a positive number of seconds, got {self.producer_every_s}")
        if self.kafka_partitions < 1 or self.kafka_replication < 1:
            raise ConfigError("KAFKA_PARTITIONS and KAFKA_REPLICATION must be at least 1")
        if self.ttl_grace_hours < 0:
            raise ConfigError(f"SPEED_TTL_GRACE_HOURS must not be negative, got {self.ttl_grace_hours}")
        unknown = sorted(set(self.jobs) - set(JOBS))
        if unknown:
            raise ConfigError(f"SPEED_JOBS names unknown jobs {', '.join(unknown)}; the jobs are {', '.join(JOBS)} (or {NONE}: no job)")
        if self.max_lag < 0:
            raise ConfigError(f"SPEED_MAX_LAG must not be negative, got {self.max_lag}")
        if not self.keyspace.isidentifier():
            raise ConfigError(f"SPEED_KEYSPACE must be a CQL identifier, got {self.keyspace!r}")
        if self.cassandra_replication < 1:
            raise ConfigError(f"CASSANDRA_REPLICATION must be at least 1, got {self.cassandra_replication}")
        if self.cassandra_consistency.upper() not in CONSISTENCY_LEVELS:
            raise ConfigError(f"CASSANDRA_CONSISTENCY must be one of {', '.join(CONSISTENCY_LEVELS)}, got {self.cassandra_consistency!r}")
        if self.job_runner not in JOB_RUNNERS:
            raise ConfigError(f"SPEED_JOB_RUNNER must be one of {', '.join(JOB_RUNNERS)}, got {self.job_runner!r}")

    @property
    def ttl_seconds(self) -> int:
        """The speed rows' time to live: 48 hours plus the grace, so no bucket goes missing at the merge cutoff."""
        return int((SPEED_HOURS + self.ttl_grace_hours) * 3600)


@dataclass(frozen=True)
class ServingSettings:
    mongo_uri: str = setting(
        "MONGO_URI",
        "mongodb://127.0.0.1:27017",
        "the serving views, for the API and `api-keys` (the export DAG: `mongo_default`)",
        secret=True,
    )
    mongo_database: str = setting("MONGO_DATABASE", "movies", "their database")
    redis_url: str = setting("REDIS_URL", "redis://127.0.0.1:6379/0", "the API's cache and rate-limit counters", secret=True)
    rate_limit_per_minute: int = setting("API_RATE_LIMIT", 600, "requests per minute and API key")
    cache_ttl_s: float = setting("API_CACHE_TTL_S", 10.0, "seconds an answer with speed data stays fresh (0: no cache)")
    metrics_dir: Path | None = setting(
        "PROMETHEUS_MULTIPROC_DIR", None, "where several API workers keep their metrics (`serve --workers N` sets it)", shown="off"
    )

    def __post_init__(self) -> None:
        if self.rate_limit_per_minute < 1:
            raise ConfigError(f"API_RATE_LIMIT must be at least 1 request per minute, got {self.rate_limit_per_minute}")
        if self.cache_ttl_s < 0:
            raise ConfigError(f"API_CACHE_TTL_S must not be negative, got {self.cache_ttl_s}")


@dataclass(frozen=True)
class Settings:
    tmdb: TmdbSettings = field(default_factory=TmdbSettings)
    lake_uri: str = setting(
        "LAKE_URI", (LOCAL / "lake").as_uri(), "the data lake's base URI (`hdfs://...` in production)", shown="`file://<repo>/.local/lake`"
    )
    lake_webhdfs: str | None = setting(
        "LAKE_WEBHDFS",
        None,
        "host:port of the NameNode's HTTP server: how the Python tasks reach an `hdfs://` lake (over WebHDFS; Spark uses HDFS RPC)",
    )
    quality_dir: Path = setting("DATA_QUALITY_DIR", LOCAL / "quality", "Great Expectations results and Data Docs")
    ui_url: str = setting("AIRFLOW_UI_URL", "http://localhost:8080", "where the links to data-quality reports point")
    speed: SpeedSettings = field(default_factory=SpeedSettings)
    serving: ServingSettings = field(default_factory=ServingSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ui_url", self.ui_url.rstrip("/"))

    @property
    def checkpoint_uri(self) -> str:
        return self.speed.checkpoint_uri or f"{self.lake_uri.rstrip('/')}/_checkpoints/speed"

    @property
    def lake(self):
        """The lake (``movie_pipeline.lake.Lake``), as the Python side reaches it."""
        from movie_pipeline.lake import Lake

        return Lake(self.lake_uri, self.lake_webhdfs)


_PARSERS: dict[str, Callable[[str], Any]] = {"str": str, "int": int, "float": float, "Path": Path}


def _parser(annotation: str) -> Callable[[str], Any]:
    """How a field's variable is read, from its annotation (``int | None``, ``tuple[str, ...]``: a comma-separated list, or ``none``)."""
    base = annotation.removesuffix(" | None")
    if base.startswith("tuple["):
        return lambda raw: () if raw.strip() == NONE else tuple(part.strip() for part in raw.split(",") if part.strip())
    return _PARSERS[base]


def _read(cls: type, env: Mapping[str, str], nested: Mapping[str, Any]) -> Any:
    values = dict(nested)
    for spec in fields(cls):
        name = spec.metadata.get("env")
        raw = env.get(name) if name else None
        if raw is None or raw == "":
            continue
        parse = _parser(spec.type)
        try:
            values[spec.name] = parse(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a {getattr(parse, '__name__', 'value')}, got {raw!r}") from None
    return cls(**values)


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of the environment (this process's unless given); unset or empty variables keep their defaults."""
    env = os.environ if env is None else env
    nested = {"tmdb": _read(TmdbSettings, env, {}), "speed": _read(SpeedSettings, env, {}), "serving": _read(ServingSettings, env, {})}
    return _read(Settings, env, nested)


def declared() -> Iterator[tuple[str, str, str]]:
    """(variable, default as shown, meaning) of every setting, in declaration order."""

    def walk(cls: type) -> Iterator[tuple[str, str, str]]:
        for spec in fields(cls):
            if "env" in spec.metadata:
                yield spec.metadata["env"], spec.metadata["shown"] or _shown(spec.default), spec.metadata["doc"]
            elif is_dataclass(spec.default_factory):
                yield from walk(spec.default_factory)

    yield (
        "PIPELINE_HOME",
        "the checkout",
        "where `expectations/` is, and the base of the `<repo>/.local/...` defaults (the image: `/opt/movie-pipeline`)",
    )
    yield from walk(Settings)


def _shown(default: Any) -> str:
    if default is None:
        return ""
    if isinstance(default, tuple):
        default = ",".join(default)
    if isinstance(default, Path):
        default = f"<repo>/{default.relative_to(PROJECT_ROOT)}" if default.is_relative_to(PROJECT_ROOT) else default
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"`{default}`"


def markdown_table() -> str:
    """The table of every setting, as the README's *Configuration* holds it."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | {shown} | {doc} |" for name, shown, doc in declared()]
    return "\n".join(rows)


def settings_from_airflow(env: Mapping[str, str] | None = None) -> Settings:
    """Settings for a task: the environment with what the Airflow connections define filled in (see the module doc)."""
    return settings_from_env(environment_from_airflow(env))


def environment_from_airflow(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment with the settings the Airflow connections define filled in, for a task itself and for the
    processes it starts (the speed jobs). A connection that is not defined leaves its settings to the environment."""
    env = dict(os.environ if env is None else env)
    tmdb = _connection(TMDB_CONN_ID)
    if tmdb is not None:
        extra = tmdb.extra_dejson
        from_tmdb = {
            "TMDB_BASE_URL": tmdb.host,
            "TMDB_API_KEY": tmdb.password,
            "TMDB_READ_TOKEN": extra.get("read_token"),
            "TMDB_RATE_LIMIT": extra.get("rate_limit"),
            "TMDB_CONCURRENCY": extra.get("concurrency"),
            "TMDB_TIMEOUT": extra.get("timeout"),
            "TMDB_MAX_RETRIES": extra.get("max_retries"),
            "TMDB_EXPORTS_URL": extra.get("exports_url"),
        }
        # a TMDB variable set explicitly wins: a real key over the connection of a local stack
        env = {**{k: str(v) for k, v in from_tmdb.items() if v not in (None, "")}, **{k: v for k, v in env.items() if v}}
    endpoints: dict[str, Any] = {}
    if (kafka := _connection(KAFKA_CONN_ID)) is not None:
        endpoints["KAFKA_BOOTSTRAP_SERVERS"] = kafka.extra_dejson.get("bootstrap.servers")
        _warn_unused(KAFKA_CONN_ID, [f"extra.{key}" for key in kafka.extra_dejson if key not in _KAFKA_EXTRA_READ])
    if (cassandra := _connection(CASSANDRA_CONN_ID)) is not None:
        endpoints.update(CASSANDRA_HOSTS=cassandra.host, CASSANDRA_PORT=cassandra.port, SPEED_KEYSPACE=cassandra.schema)
        unused = [name for name in ("login", "password") if getattr(cassandra, name)]
        _warn_unused(CASSANDRA_CONN_ID, unused + [f"extra.{key}" for key in cassandra.extra_dejson])
    if (spark := _connection(SPARK_CONN_ID)) is not None and spark.host:
        endpoints["SPARK_MASTER"] = f"{spark.host}:{spark.port}" if spark.port else spark.host
    env.update({k: str(v) for k, v in endpoints.items() if v not in (None, "")})  # the connections are the source of endpoints
    return env


# the consumer group is the job's own (each speed job names its group), so a group.id is not an unused field
_KAFKA_EXTRA_READ = ("bootstrap.servers", "group.id")


def _warn_unused(conn_id: str, unused: list[str]) -> None:
    """Say so when a connection sets a field the speed jobs cannot be given: a user editing it would otherwise see
    nothing change. Kafka and Cassandra are read as endpoint fields, not through the providers' hooks, because their
    users are the speed jobs, processes outside Airflow that receive them as variables."""
    if unused:
        log.warning(
            "connection %s sets %s, which the pipeline does not use (it reads only the fields in the README's "
            "connection table): those values change nothing",
            conn_id,
            ", ".join(unused),
        )


def _connection(conn_id: str):
    from airflow.sdk import Connection  # only inside a running task
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


if __name__ == "__main__":
    sys.stdout.write(markdown_table() + "\n")
