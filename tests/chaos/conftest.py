"""The chaos suite's report: one row per fault, printed at the end of the run and kept in
``bench/results/chaos.json`` (beside the benchmark figures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPORT_FILE = Path(__file__).resolve().parents[2] / "bench" / "results" / "chaos.json"
COLUMNS = ("fault", "fault_s", "events_produced", "events_lost", "double_counts", "api_requests", "api_error_rate", "recovery_s")
_ROWS: list[dict] = []


@pytest.fixture(scope="session")
def chaos_report() -> list[dict]:
    """The rows of the report; a fault's test appends its row once it has measured it."""
    return _ROWS


def pytest_terminal_summary(terminalreporter) -> None:
    if not _ROWS:
        return
    terminalreporter.section("chaos: per fault")
    terminalreporter.write_line(" ".join(f"{name:>15}" if name != "fault" else f"{name:<33}" for name in COLUMNS))
    for row in _ROWS:
        terminalreporter.write_line(" ".join(f"{row[name]!s:>15}" if name != "fault" else f"{row[name]:<33}" for name in COLUMNS))
    terminalreporter.write_line("fault_s: how long the fault lasted; recovery_s: from its end until the streaming job had caught up;")
    terminalreporter.write_line("api_error_rate: failed API requests / requests from the fault's start to the recovery")
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    REPORT_FILE.write_text(json.dumps(_ROWS, indent=2) + "\n")
    terminalreporter.write_line(f"written to {REPORT_FILE}")
