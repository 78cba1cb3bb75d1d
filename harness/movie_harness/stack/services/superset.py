"""Superset in its own virtualenv (its pins conflict with Airflow's), the dashboards of deploy/superset.

Prepared once: the virtualenv (``apache-superset`` from PyPI into ``.local/superset-venv``, about a
minute with uv), Superset's metadata DB (SQLite in the service's home), an admin user with a generated
password (``admin-credentials.txt``), then at every start the dashboards bundle is imported over
itself and the ``analytics`` database pointed at this stack's PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from movie_harness import REPO_ROOT
from movie_harness.stack.services.base import Service, StackError
from movie_harness.stack.services.monitoring import http_ok
from movie_harness.stack.services.postgres import ANALYTICS

SUPERSET_VERSION = "5.0.0"
# beside it: the PostgreSQL driver, and what its open-ended requirements would otherwise take too new
# (marshmallow 4 breaks Superset 5.0's schemas at import)
SUPERSET_PINS = ("psycopg2-binary==2.9.13", "marshmallow<4")
SUPERSET_DIR = REPO_ROOT / "deploy" / "superset"
VENV = REPO_ROOT / ".local" / "superset-venv"


class Superset(Service):
    name = "superset"
    optional = True
    depends_on = ("postgres",)
    start_timeout_s = 180.0

    @property
    def superset(self) -> Path:
        return VENV / "bin" / "superset"

    @property
    def credentials_file(self) -> Path:
        return self.home / "admin-credentials.txt"

    def environment(self) -> dict[str, str]:
        secret_file = self.home / "secret-key"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(42))
            secret_file.chmod(0o600)
        return {
            **os.environ,
            "FLASK_APP": "superset",
            "SUPERSET_CONFIG_PATH": str(SUPERSET_DIR / "superset_config.py"),
            "SUPERSET_SECRET_KEY": secret_file.read_text().strip(),
            "SUPERSET_METADATA_DB": f"sqlite:///{self.data_dir / 'superset.db'}",
            "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def _superset(self, *args: str) -> str:
        done = subprocess.run([str(self.superset), *args], env=self.environment(), capture_output=True, text=True, cwd=self.home)
        if done.returncode != 0:
            raise StackError(f"`superset {' '.join(args[:2])}` failed: {(done.stdout + done.stderr).strip()[-1500:]}")
        return done.stdout

    def prepare(self) -> None:
        super().prepare()
        if not self.superset.exists():
            install_superset()
        self._superset("db", "upgrade")
        if not self.credentials_file.exists():
            password = secrets.token_urlsafe(12)
            self._superset("fab", "create-admin", "--username", "admin", "--firstname", "Superset", "--lastname", "Admin",
                           "--email", "admin@localhost", "--password", password)  # fmt: skip
            self.credentials_file.write_text(f"Superset http://{self.host}:{self.port}  user: admin  password: {password}\n")
            self.credentials_file.chmod(0o600)
        self._superset("init")
        bundle = shutil.make_archive(str(self.home / "movie_analytics"), "zip", SUPERSET_DIR, "bundle")
        self._superset("import-dashboards", "--path", bundle, "--username", "admin")
        postgres = f"{self.host}:{self.settings.ports['postgres']}"
        self._superset("set-database-uri", "--database_name", ANALYTICS,
                       "--uri", f"postgresql+psycopg2://{ANALYTICS}:{ANALYTICS}@{postgres}/{ANALYTICS}")  # fmt: skip

    def command(self) -> list[str]:
        return [str(VENV / "bin" / "gunicorn"), "--bind", f"{self.host}:{self.port}", "--workers", "2", "--timeout", "120",
                "superset.app:create_app()"]  # fmt: skip

    def is_ready(self) -> bool:
        return http_ok(f"http://{self.host}:{self.port}/health")


def install_superset() -> None:
    """A virtualenv of its own with apache-superset (and the PostgreSQL driver), with this venv's uv."""
    print(f"installing apache-superset {SUPERSET_VERSION} into {VENV} (once, about a minute) ...", flush=True)
    uv = Path(sys.executable).with_name("uv")
    for command in (
        [sys.executable, "-m", "venv", str(VENV)],
        [str(uv), "pip", "install", "--python", str(VENV / "bin" / "python"), "--quiet",
         f"apache-superset=={SUPERSET_VERSION}", *SUPERSET_PINS],
    ):  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"`{' '.join(command[:3])}` failed: {(done.stdout + done.stderr)[-1500:]}")
