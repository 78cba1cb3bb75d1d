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
| PIPELINE_HOME      | the checkout                     | where expectations/ is, and .local/ for the defaults below |
| LAKE_URI           | file://<repo>/.local/lake        | base URI of the data lake                 |
| DATA_QUALITY_DIR   | <repo>/.local/quality            | GX context: validation results, Data Docs |
| AIRFLOW_UI_URL     | http://localhost:8080            | where links to reports point              |
| KAFKA_BOOTSTRAP_SERVERS | 127.0.0.1:9092              | the speed layer's Kafka brokers           |
| KAFKA_PARTITIONS   | 6                                | partitions of each event topic (on creation) |
| KAFKA_REPLICATION  | 1                                | replication factor of the topics (on creation) |
| KAFKA_RETENTION_HOURS | 168                           | retention of the metric/review topics     |
| SCHEMA_REGISTRY_URL |                                 | Confluent-API registry; unset: checked-in ids |
| CASSANDRA_HOSTS    | 127.0.0.1                        | comma-separated contact points            |
| CASSANDRA_PORT     | 9042                             | CQL port                                  |
| SPEED_KEYSPACE     | movie_speed                      | keyspace of the speed views               |
| SPEED_TTL_GRACE_HOURS | 2                             | speed rows live 48 h plus this grace      |
| SPEED_WATERMARK    | 10 minutes                       | how late an event may be and still count  |
| SPEED_CHECKPOINT_URI | <lake>/_checkpoints/speed      | streaming checkpoints (on the lake)       |
| SPEED_REPLAY_FROM  |                                  | ISO instant a new checkpoint starts reading Kafka from (replays) |
| SPEED_JOBS         | producer,speed_views             | the jobs the supervisor keeps running here |
| SPEED_JOBS_DIR     | <repo>/.local/speed/jobs         | the local runner's pid and log per job    |
| SPEED_MAX_LAG      | 50000                            | events waiting in Kafka that fail the lag check |
| SPARK_MASTER       | local[2]                         | where the supervisor submits the streaming job |
| SPEED_TRIGGER      | 2 seconds                        | the streaming job's micro-batch trigger   |
| SPEED_STREAMING_APP | spark_jobs/streaming/speed_views.py of the installed package | the streaming job's file |
| SPARK_JARS_DIR     | <repo>/.local/jars/spark-connectors | the Kafka and Avro connector jars (the image bakes them) |
| SPARK_JARS_PACKAGES |                                 | Maven coordinates for spark.jars.packages, instead of SPARK_JARS_DIR |
| PRODUCER_EVERY_S   | 60                               | seconds between the producer's TMDB polls |
| PRODUCER_LEDGER    | <repo>/.local/speed/producer-ledger.sqlite | what the producer has sent (SQLite) |
| MONGO_URI          | mongodb://127.0.0.1:27017        | the serving views' MongoDB (API, CLI)     |
| MONGO_DATABASE     | movies                           | their database                            |
| REDIS_URL          | redis://127.0.0.1:6379/0         | the API's cache and rate limits           |
| API_RATE_LIMIT     | 600                              | requests per minute and API key           |
| API_CACHE_TTL_S    | 10                               | seconds an answer with speed data stays fresh; 0: no cache |

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
from movie_pipeline.speed.jobs import JOBS

REAL_TMDB_URL = "https://api.themoviedb.org/3"


def _pipeline_home() -> Path:
    """``PIPELINE_HOME``; else the checkout this package runs from; else (an installed package) the working directory."""
    if os.environ.get("PIPELINE_HOME"):
        return Path(os.environ["PIPELINE_HOME"])
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


PROJECT_ROOT = _pipeline_home()  # expectations/ and the default places of the local state (.local/)
DEFAULT_LAKE_URI = (PROJECT_ROOT / ".local" / "lake").as_uri()
DEFAULT_QUALITY_DIR = PROJECT_ROOT / ".local" / "quality"
DEFAULT_UI_URL = "http://localhost:8080"
DEFAULT_PRODUCER_LEDGER = PROJECT_ROOT / ".local" / "speed" / "producer-ledger.sqlite"
DEFAULT_JOBS_DIR = PROJECT_ROOT / ".local" / "speed" / "jobs"
DEFAULT_SPARK_JARS_DIR = PROJECT_ROOT / ".local" / "jars" / "spark-connectors"  # where the harness's Maven fetch puts them
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


SPEED_HOURS = 48  # the speed views cover the last 48 hours (the merge cutoff)


@dataclass(frozen=True)
class SpeedSettings:
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_partitions: int = 6
    kafka_replication: int = 1
    kafka_retention_hours: float = 168.0
    schema_registry_url: str | None = None
    cassandra_hosts: tuple[str, ...] = ("127.0.0.1",)
    cassandra_port: int = 9042
    keyspace: str = "movie_speed"
    ttl_grace_hours: float = 2.0
    watermark: str = "10 minutes"
    checkpoint_uri: str | None = None  # default: <lake>/_checkpoints/speed
    replay_from: str | None = None  # ISO instant: a new checkpoint starts reading Kafka there (else: earliest)
    producer_every_s: float = 60.0
    producer_ledger: Path = DEFAULT_PRODUCER_LEDGER
    producer_metrics_port: int | None = None  # Prometheus /metrics of the producer (off when unset)
    stream_metrics_port: int | None = None  # Prometheus /metrics of the streaming job's driver (off when unset)
    metrics_host: str = "127.0.0.1"  # where those two listen (0.0.0.0 in containers)
    jobs: tuple[str, ...] = JOBS  # the jobs this supervisor keeps running (a job run elsewhere is left out)
    jobs_dir: Path = DEFAULT_JOBS_DIR  # the local runner's pid and log of each job
    max_lag: int = 50_000  # events waiting in Kafka for the streaming job above which the lag check fails
    spark_master: str = "local[2]"
    trigger: str = "2 seconds"
    streaming_app: Path | None = None  # default: spark_jobs/streaming/speed_views.py of the installed spark_jobs
    spark_jars_dir: Path = DEFAULT_SPARK_JARS_DIR
    spark_jars_packages: str | None = None  # Maven coordinates Spark resolves itself, instead of spark_jars_dir

    def __post_init__(self) -> None:
        if self.producer_every_s <= 0:
            raise ConfigError(f"PRODUCER_EVERY_S must be a positive number of seconds, got {self.producer_every_s}")
        if self.kafka_partitions < 1 or self.kafka_replication < 1:
            raise ConfigError("KAFKA_PARTITIONS and KAFKA_REPLICATION must be at least 1")
        if self.ttl_grace_hours < 0:
            raise ConfigError(f"SPEED_TTL_GRACE_HOURS must not be negative, got {self.ttl_grace_hours}")
        unknown = sorted(set(self.jobs) - set(JOBS))
        if unknown:
            raise ConfigError(f"SPEED_JOBS names unknown jobs {', '.join(unknown)}; the jobs are {', '.join(JOBS)}")
        if self.max_lag < 0:
            raise ConfigError(f"SPEED_MAX_LAG must not be negative, got {self.max_lag}")
        if not self.keyspace.isidentifier():
            raise ConfigError(f"SPEED_KEYSPACE must be a CQL identifier, got {self.keyspace!r}")

    @property
    def ttl_seconds(self) -> int:
        """The speed rows' time to live: 48 hours plus the grace, so no bucket goes missing at the merge cutoff."""
        return int((SPEED_HOURS + self.ttl_grace_hours) * 3600)


@dataclass(frozen=True)
class ServingSettings:
    mongo_uri: str = field(default="mongodb://127.0.0.1:27017", repr=False)  # may hold a password
    mongo_database: str = "movies"
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)
    rate_limit_per_minute: int = 600
    cache_ttl_s: float = 10.0

    def __post_init__(self) -> None:
        if self.rate_limit_per_minute < 1:
            raise ConfigError(f"API_RATE_LIMIT must be at least 1 request per minute, got {self.rate_limit_per_minute}")
        if self.cache_ttl_s < 0:
            raise ConfigError(f"API_CACHE_TTL_S must not be negative, got {self.cache_ttl_s}")


@dataclass(frozen=True)
class Settings:
    tmdb: TmdbSettings = field(default_factory=TmdbSettings)
    lake_uri: str = DEFAULT_LAKE_URI
    quality_dir: Path = DEFAULT_QUALITY_DIR
    ui_url: str = DEFAULT_UI_URL
    speed: SpeedSettings = field(default_factory=SpeedSettings)
    serving: ServingSettings = field(default_factory=ServingSettings)

    @property
    def checkpoint_uri(self) -> str:
        return self.speed.checkpoint_uri or f"{self.lake_uri.rstrip('/')}/_checkpoints/speed"


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
    speed = SpeedSettings(
        kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or SpeedSettings.kafka_bootstrap_servers,
        kafka_partitions=_number(env, "KAFKA_PARTITIONS", int, SpeedSettings.kafka_partitions),
        kafka_replication=_number(env, "KAFKA_REPLICATION", int, SpeedSettings.kafka_replication),
        kafka_retention_hours=_number(env, "KAFKA_RETENTION_HOURS", float, SpeedSettings.kafka_retention_hours),
        schema_registry_url=env.get("SCHEMA_REGISTRY_URL") or None,
        cassandra_hosts=tuple(h.strip() for h in (env.get("CASSANDRA_HOSTS") or "127.0.0.1").split(",") if h.strip()),
        cassandra_port=_number(env, "CASSANDRA_PORT", int, SpeedSettings.cassandra_port),
        keyspace=env.get("SPEED_KEYSPACE") or SpeedSettings.keyspace,
        ttl_grace_hours=_number(env, "SPEED_TTL_GRACE_HOURS", float, SpeedSettings.ttl_grace_hours),
        watermark=env.get("SPEED_WATERMARK") or SpeedSettings.watermark,
        checkpoint_uri=env.get("SPEED_CHECKPOINT_URI") or None,
        replay_from=env.get("SPEED_REPLAY_FROM") or None,
        producer_every_s=_number(env, "PRODUCER_EVERY_S", float, SpeedSettings.producer_every_s),
        producer_metrics_port=_number(env, "PRODUCER_METRICS_PORT", int, None),
        stream_metrics_port=_number(env, "SPEED_METRICS_PORT", int, None),
        metrics_host=env.get("METRICS_HOST") or SpeedSettings.metrics_host,
        producer_ledger=Path(env.get("PRODUCER_LEDGER") or DEFAULT_PRODUCER_LEDGER),
        jobs=tuple(job.strip() for job in env["SPEED_JOBS"].split(",") if job.strip()) if env.get("SPEED_JOBS") else JOBS,
        jobs_dir=Path(env.get("SPEED_JOBS_DIR") or DEFAULT_JOBS_DIR),
        max_lag=_number(env, "SPEED_MAX_LAG", int, SpeedSettings.max_lag),
        spark_master=env.get("SPARK_MASTER") or SpeedSettings.spark_master,
        trigger=env.get("SPEED_TRIGGER") or SpeedSettings.trigger,
        streaming_app=Path(env["SPEED_STREAMING_APP"]) if env.get("SPEED_STREAMING_APP") else None,
        spark_jars_dir=Path(env.get("SPARK_JARS_DIR") or DEFAULT_SPARK_JARS_DIR),
        spark_jars_packages=env.get("SPARK_JARS_PACKAGES") or None,
    )
    serving = ServingSettings(
        mongo_uri=env.get("MONGO_URI") or ServingSettings.mongo_uri,
        mongo_database=env.get("MONGO_DATABASE") or ServingSettings.mongo_database,
        redis_url=env.get("REDIS_URL") or ServingSettings.redis_url,
        rate_limit_per_minute=_number(env, "API_RATE_LIMIT", int, ServingSettings.rate_limit_per_minute),
        cache_ttl_s=_number(env, "API_CACHE_TTL_S", float, ServingSettings.cache_ttl_s),
    )
    return Settings(
        tmdb=tmdb,
        lake_uri=env.get("LAKE_URI") or DEFAULT_LAKE_URI,
        quality_dir=Path(env.get("DATA_QUALITY_DIR") or DEFAULT_QUALITY_DIR),
        ui_url=(env.get("AIRFLOW_UI_URL") or DEFAULT_UI_URL).rstrip("/"),
        speed=speed,
        serving=serving,
    )


def settings_from_airflow(conn_id: str = TMDB_CONN_ID, env: Mapping[str, str] | None = None) -> Settings:
    """Settings for a task: the Airflow connection, overridden by explicitly set variables."""
    return settings_from_env(environment_from_airflow(conn_id, env))


def environment_from_airflow(conn_id: str = TMDB_CONN_ID, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment with the TMDB variables of the Airflow connection filled in (explicitly set ones win).

    Inside a task: for the task itself and for the processes it starts (the speed layer's producer)."""
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
        return dict(env)
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
    return merged
