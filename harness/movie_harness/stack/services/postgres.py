"""PostgreSQL (Debian package): Airflow's metadata DB, a private cluster made with initdb."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from movie_harness.stack.services.base import Service, StackError
from movie_pipeline.processes import tcp_open


def _postgres_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise StackError("PostgreSQL server binaries are missing: run `make setup` (installs the Debian package postgresql)")
    return Path(candidates[-1]).parent


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the ``postgres`` user when we are root (from ``/``: the
    checkout's directory may be one that user cannot enter, such as root's home)."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", "/bin/sh", "-c", 'cd / && exec "$0" "$@"', *command]


def _postgres_can_write(path: Path) -> bool:
    return subprocess.run(_as_postgres_user(["test", "-w", str(path)]), capture_output=True).returncode == 0


# where the cluster lives when root runs the stack from a checkout the postgres user cannot reach (under /root)
OUTSIDE_ROOT = Path("/var/lib/movie-pipeline-stack")


# the database and role of the dashboards' tables (the export DAG's ``analytics_default``); the
# password is the role's name: a local-only stack, like Airflow's ``airflow``/``airflow``
ANALYTICS = "analytics"


class Postgres(Service):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for every client to leave
    database = user = password = "airflow"

    @property
    def cluster_dir(self) -> Path:
        """The data and socket directories' parent: the service's home, or (root, and the postgres user cannot reach
        the home, as under /root) a directory of its own under OUTSIDE_ROOT, named after the home and recorded in
        the home's ``cluster`` file (so that a new clone or ``make clean`` starts a new cluster, not the old one)."""
        if os.geteuid() != 0:
            return self.home
        marker = self.home / "cluster"
        if marker.exists():
            return Path(marker.read_text().strip())
        self.home.mkdir(parents=True, exist_ok=True)
        entry = pwd.getpwnam("postgres")
        os.chown(self.home, entry.pw_uid, entry.pw_gid)
        if _postgres_can_write(self.home):  # asked once: the answer is recorded either way
            cluster = self.home
        else:
            cluster = OUTSIDE_ROOT / hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:16]
            shutil.rmtree(cluster, ignore_errors=True)  # a cluster of a checkout that is gone
            cluster.mkdir(parents=True)
        marker.write_text(f"{cluster}\n")
        return cluster

    @property
    def data_dir(self) -> Path:
        return self.cluster_dir / "data"

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        cluster = self.cluster_dir
        run_dir = cluster / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (self.home, cluster, run_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        initdb = [
            str(_postgres_bin() / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ]
        done = subprocess.run(_as_postgres_user(initdb), capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"initdb failed for {self.data_dir}: {done.stderr.strip()[-500:]}")

    def command(self) -> list[str]:
        postgres = str(_postgres_bin() / "postgres")
        return _as_postgres_user(
            [
                postgres,
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                self.host,
                "-k",
                str(self.cluster_dir / "run"),
                "-c",
                "max_connections=200",
            ]
        )

    def _connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user="postgres", dbname=database, connect_timeout=2)

    def is_ready(self) -> bool:
        if not tcp_open(self.host, self.port):
            return False
        try:
            self._connect().close()
            return True
        except Exception:  # noqa: BLE001 - "not ready yet" is any failure to connect
            return False

    def after_ready(self) -> None:
        connection = self._connect()
        connection.autocommit = True
        with connection.cursor() as cursor:
            for name in (self.user, ANALYTICS):
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f"CREATE ROLE {name} LOGIN PASSWORD %s", (name,))
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f"CREATE DATABASE {name} OWNER {name}")
        connection.close()

    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"
