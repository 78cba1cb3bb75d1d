"""Read ``airflow_settings.yaml`` (astro CLI format) into Airflow connection environment variables.

Airflow reads a connection ``X`` from ``AIRFLOW_CONN_X`` (JSON) before its metadata DB, so local
runs (the demo, tests, the local stack) get the file's connections without a DB import step.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from movie_harness import REPO_ROOT

SETTINGS_FILE = REPO_ROOT / "airflow_settings.yaml"
_FIELDS = {
    "conn_type": "conn_type",
    "conn_host": "host",
    "conn_port": "port",
    "conn_schema": "schema",
    "conn_login": "login",
    "conn_password": "password",
}


def connections(path: Path = SETTINGS_FILE) -> dict[str, dict]:
    """conn_id -> connection as Airflow's JSON form (conn_type, host, port, ..., extra)."""
    document = yaml.safe_load(path.read_text()) or {}
    result = {}
    for entry in (document.get("airflow") or {}).get("connections") or []:
        conn = {target: entry[source] for source, target in _FIELDS.items() if entry.get(source) not in (None, "")}
        if entry.get("conn_extra"):
            conn["extra"] = entry["conn_extra"]
        result[entry["conn_id"]] = conn
    return result


def connection_env(path: Path = SETTINGS_FILE, overrides: dict[str, dict] | None = None) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` variables for every connection, with per-connection field overrides (``extra`` merged)."""
    conns = connections(path)
    for conn_id, changes in (overrides or {}).items():
        conn = conns.get(conn_id, {})
        extra = {**conn.get("extra", {}), **changes.get("extra", {})}
        conns[conn_id] = {**conn, **changes, **({"extra": extra} if extra else {})}
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in conns.items()}
