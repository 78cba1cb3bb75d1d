"""A small client of the local stack's Airflow REST API (``/api/v2``), as the admin user.

For the demo, the UI tour and the demo check: unpause DAGs, follow runs, create backfills."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from movie_pipeline.stack.services.base import StackError, StackSettings


class AirflowApi:
    def __init__(self, settings: StackSettings) -> None:
        self.base = f"http://{settings.host}:{settings.ports['airflow']}"
        passwords = settings.state_dir / "airflow" / "passwords.json"
        if not passwords.exists():
            raise StackError(f"no Airflow admin password at {passwords}: start the stack's Airflow first (movie-pipeline stack up)")
        self.password = json.loads(passwords.read_text())["admin"]
        self.token = self._request("/auth/token", "POST", {"username": "admin", "password": self.password})["access_token"]

    def _request(self, path: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the local stack
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise StackError(f"Airflow {method} {path}: HTTP {error.code} {error.read()[:500].decode(errors='replace')}") from None

    def __call__(self, path: str, method: str = "GET", body: dict | None = None) -> dict:
        return self._request(path, method, body, self.token)

    def wait_for_dags(self, dag_ids: list[str], timeout_s: float = 300) -> None:
        """Until the dag-processor has parsed every one of ``dag_ids``."""
        deadline = time.monotonic() + timeout_s
        while True:
            known = {d["dag_id"] for d in self("/api/v2/dags?limit=100")["dags"]}
            missing = sorted(set(dag_ids) - known)
            if not missing:
                return
            if time.monotonic() > deadline:
                errors = self("/api/v2/importErrors").get("import_errors") or []
                raise StackError(f"Airflow has not loaded {missing} after {timeout_s:.0f} s; import errors: {errors}")
            time.sleep(3)

    def unpause(self, dag_id: str) -> None:
        self(f"/api/v2/dags/{dag_id}", "PATCH", {"is_paused": False})

    def runs(self, dag_id: str, limit: int = 20) -> list[dict]:
        """The newest runs first."""
        return self(f"/api/v2/dags/{dag_id}/dagRuns?limit={limit}&order_by=-run_after")["dag_runs"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        quoted = urllib.request.quote(run_id, safe="")
        instances = self(f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=100")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in instances}
