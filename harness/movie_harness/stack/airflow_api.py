"""A small client of the local stack's Airflow REST API (``/api/v2``), as the admin user.

For the demo, the UI tour and the demo check: unpause DAGs, follow runs, create backfills."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

from movie_harness.stack.services.base import StackError, StackSettings


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

    def pause(self, dag_id: str) -> None:
        """No new run starts (one already running goes on; a queued one waits for the unpause)."""
        self(f"/api/v2/dags/{dag_id}", "PATCH", {"is_paused": True})

    def runs(self, dag_id: str, limit: int = 20) -> list[dict]:
        """The newest runs first."""
        return self(f"/api/v2/dags/{dag_id}/dagRuns?limit={limit}&order_by=-run_after")["dag_runs"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        quoted = urllib.request.quote(run_id, safe="")
        instances = self(f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=100")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in instances}


# Answer without a login by design: the health probe, the login flow itself, the API's own description.
PUBLIC_PATHS = (
    "/api/v2/monitor/health",
    "/api/v2/version",
    "/auth/",
    "/api/v2/auth/",
    "/openapi.json",
    "/api/v2/openapi.json",
    "/docs",
    "/redoc",
)


def open_without_login(settings: StackSettings) -> tuple[dict[str, int], int]:
    """Every GET of Airflow's REST API and of the UI's API (from the API server's OpenAPI document) and of the
    plugin views, asked without credentials: the ones that answered anything but 401/403 (the public ones above
    aside; a 422 for a missing required parameter reveals nothing either), with their status; and how many were asked."""
    base = f"http://{settings.host}:{settings.ports['airflow']}"
    # the REST API and the UI's own API, both in the API server's OpenAPI document
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=30) as response:  # noqa: S310 - the local stack
        document = json.loads(response.read())
    # path parameters get a placeholder: a route behind the login refuses before it looks anything up
    paths = [re.sub(r"\{[^}]+\}", "x", path) for path, operations in document["paths"].items() if "get" in operations]
    paths += ["/data-quality/", "/data-quality/runs/movie_batch/any", "/data-quality/docs/index.html"]
    open_paths = {}
    paths = [path for path in paths if not path.startswith(PUBLIC_PATHS)]
    for path in paths:
        try:
            with urllib.request.urlopen(base + path, timeout=30) as response:  # noqa: S310 - the local stack
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        if status not in (401, 403, 422):
            open_paths[path] = status
    return open_paths, len(paths)
