"""What every service of the local stack is: settings, locations, the start/ready contract.

Every service keeps its data, log and pid under ``<state>/<name>/``. Ports and addresses come
from :class:`StackSettings` (environment variables ``STACK_<SERVICE>_PORT``, ``STACK_HOST``).
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class StackSettings:
    state_dir: Path = DEFAULT_STATE_DIR
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    kafka_brokers: int = 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, kafka_brokers: int | None = None) -> StackSettings:
        env = os.environ if env is None else env
        ports = {name: int(env.get(f"STACK_{name.upper()}_PORT", port)) for name, port in DEFAULT_PORTS.items()}
        return cls(
            state_dir=Path(env.get("STACK_STATE_DIR", DEFAULT_STATE_DIR)),
            host=env.get("STACK_HOST", "127.0.0.1"),
            ports=ports,
            kafka_brokers=kafka_brokers or int(env.get("STACK_KAFKA_BROKERS", "1")),
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
