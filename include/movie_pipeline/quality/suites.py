"""The checked-in expectation suites: ``expectations/<layer>/<table>.json`` (GX suite JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from movie_pipeline.config import PROJECT_ROOT

SUITES_DIR = PROJECT_ROOT / "expectations"
COLUMN_ARGUMENTS = ("column", "column_A", "column_B")


def suite_path(layer: str, table: str) -> Path:
    return SUITES_DIR / layer / f"{table}.json"


def suite_tables(layer: str) -> list[str]:
    """The tables of a layer that have a suite."""
    return sorted(p.stem for p in (SUITES_DIR / layer).glob("*.json"))


def load_suite(layer: str, table: str) -> dict:
    path = suite_path(layer, table)
    suite = json.loads(path.read_text())
    for expectation in suite["expectations"]:
        if not isinstance(expectation.get("meta", {}).get("critical"), bool):
            raise ValueError(f"{path}: expectation {expectation['type']} must say meta.critical: true or false")
    return suite


def columns_used(suite: dict) -> list[str]:
    """Every column a suite's expectations look at (so only those are read)."""
    columns: list[str] = []
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        names = [kwargs[a] for a in COLUMN_ARGUMENTS if a in kwargs] + list(kwargs.get("column_list", []))
        columns += [n for n in names if n not in columns]
    return columns
