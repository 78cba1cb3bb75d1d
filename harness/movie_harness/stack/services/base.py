"""What every service of the local stack is: settings, locations, the start/ready contract.

Every service keeps its data, log and pid under ``<state>/<name>/``. Ports and addresses come
from :class:`StackSettings` (environment variables ``STACK_<SERVICE>_PORT``, ``STACK_HOST``), the
topology from its profile (``STACK_PROFILE``): ``default``, one process per service, or
``cluster``: Spark standalone (master + 2 workers), HDFS NameNode + 3 DataNodes, 3 Kafka brokers,
3 Cassandra nodes on the loopback addresses ``STACK_HOST`` + 0, 1, 2.
"""

from __future__ import annotations

import ipaddress
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from movie_harness import REPO_ROOT
from movie_pipeline.errors import PipelineError
from movie_pipeline.processes import tcp_open

DEFAULT_STATE_DIR = REPO_ROOT / ".local" / "stack"
DEFAULT_PORTS = {
    "postgres": 5432,
    "redis": 6379,
    "kafka": 9092,
    "mongo": 27017,
    "cassandra": 9042,
    "hdfs": 8020,
    "hdfs_http": 9870,
    # the cluster profile's
    "hdfs_datanode": 9864,  # DataNode n: transfer 9864 + 10 (n - 1), HTTP + 1, IPC + 2
    "spark_master": 7077,
    "spark_master_ui": 8081,  # its JSON API too (8080 is Airflow's)
    "spark_rest": 6066,
    "spark_worker_ui": 8082,  # worker n: 8082 + n - 1
    "airflow": 8080,
    # the demo's services (optional: `stack up` starts them only when named, `make demo` names them)
    "tmdb_simulator": 8765,
    "api": 8000,
    "prometheus": 9090,
    "statsd_exporter": 9102,  # its /metrics; Airflow sends StatsD to "statsd" (UDP)
    "statsd": 9125,
    "producer_metrics": 9110,
    "stream_metrics": 9111,
    "superset": 8088,
}


class StackError(PipelineError):
    """A service could not be prepared or started."""


DEFAULT, CLUSTER = "default", "cluster"
PROFILES = (DEFAULT, CLUSTER)


@dataclass(frozen=True)
class StackSettings:
    state_dir: Path = DEFAULT_STATE_DIR
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    kafka_brokers: int = 1
    profile: str = DEFAULT

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise StackError(f"unknown stack profile {self.profile!r}; the profiles are {', '.join(PROFILES)}")

    @property
    def cluster(self) -> bool:
        return self.profile == CLUSTER

    @property
    def cassandra_nodes(self) -> int:
        return 3 if self.cluster else 1

    def node_address(self, node: int) -> str:
        """The loopback address of node ``node`` (1-based) of a multi-node service: ``host`` + node - 1."""
        return str(ipaddress.ip_address(self.host) + node - 1)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, kafka_brokers: int | None = None, profile: str | None = None) -> StackSettings:
        env = os.environ if env is None else env
        ports = {name: int(env.get(f"STACK_{name.upper()}_PORT", port)) for name, port in DEFAULT_PORTS.items()}
        profile = profile or env.get("STACK_PROFILE") or DEFAULT
        brokers = kafka_brokers or int(env.get("STACK_KAFKA_BROKERS") or (3 if profile == CLUSTER else 1))
        # each profile keeps its own state: the cluster's nodes have other names and data than the single services
        default_state = DEFAULT_STATE_DIR if profile == DEFAULT else DEFAULT_STATE_DIR.with_name(f"stack-{profile}")
        return cls(
            state_dir=Path(env.get("STACK_STATE_DIR") or default_state),
            host=env.get("STACK_HOST", "127.0.0.1"),
            ports=ports,
            kafka_brokers=brokers,
            profile=profile,
        )


class Service:
    """One background process. Subclasses say how to prepare, run and probe it."""

    name: str = ""
    depends_on: tuple[str, ...] = ()
    optional = False  # started by `stack up` only when named (the demo's services); always stopped by `stack down`
    start_timeout_s: float = 60.0
    stop_signal: int = signal.SIGTERM

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings

    # ---- locations ------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return self.settings.state_dir / self.name

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def port(self) -> int:
        return self.settings.ports[self.name.replace("-", "_")]

    # ---- behaviour ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Idempotent one-time work before a start (create data dirs, fetch jars, init)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def is_ready(self) -> bool:
        return tcp_open(self.host, self.port)

    def after_ready(self) -> None:
        """Idempotent work once the service answers (create databases, users)."""
