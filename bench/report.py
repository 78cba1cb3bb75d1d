"""bench/results/latest.md: the benchmark report, from latest.json (and chaos.json when `make chaos` ran).

    python bench/report.py

The machine and the versions are read here, when the report is written (the last step of
`make bench`); each figure says when it was measured. A figure with no measurement yet is listed
as such, never left out.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from results import MEASURED, RESULTS, RESULTS_DIR, TARGETS, target_text, verdict

from movie_harness.stack import jvm

REPORT = RESULTS_DIR / "latest.md"
CHAOS = RESULTS_DIR / "chaos.json"
PYTHON_PACKAGES = (
    "apache-airflow",
    "pyspark",
    "great_expectations",
    "fastapi",
    "uvicorn",
    "confluent-kafka",
    "cassandra-driver",
    "pymongo",
    "redis",
    "pandas",
)
JARS = {"Kafka": r"kafka_2\.13-([\d.]+)\.jar", "Cassandra": r"cassandra-all-([\d.]+)\.jar", "mongo-java-server": r"mongo-java-server-core-([\d.]+)\.jar",
        "Hadoop (MiniDFSCluster)": r"hadoop-client-minicluster-([\d.]+)\.jar"}  # fmt: skip


def _command_version(command: list[str], pattern: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    found = re.search(pattern, done.stdout + done.stderr)
    return found.group(1) if found else "unknown"


def machine() -> list[tuple[str, str]]:
    cpuinfo, meminfo = Path("/proc/cpuinfo").read_text().splitlines(), Path("/proc/meminfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor())
    memory_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("memory", f"{memory_kib / 1024 / 1024:.1f} GiB"),
        ("OS", f"{platform.platform()}"),
    ]


def versions() -> list[tuple[str, str]]:
    rows = [("Python", platform.python_version()), ("Java", _command_version(["java", "-version"], r'version "([^"]+)"'))]
    for package in PYTHON_PACKAGES:
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    jar_names = " ".join(path.name for path in (jvm.JAR_CACHE.rglob("*.jar") if jvm.JAR_CACHE.exists() else []))
    for name, pattern in JARS.items():
        found = re.search(pattern, jar_names)
        rows.append((name, found.group(1) if found else "jars not fetched yet"))
    rows.append(("Redis", _command_version(["redis-server", "--version"], r"v=([\d.]+)")))
    rows.append(("PostgreSQL", _command_version(["psql", "--version"], r"([\d.]+)")))
    return rows


def figure_rows(figures: dict, measured: dict) -> list[str]:
    rows = ["| figure | value | target | verdict | measured (UTC) | what it measures |", "|---|---:|---|---|---|---|"]
    for name, (_, _, meaning) in TARGETS.items():
        if name in figures:
            value = figures[name]
            rows.append(f"| `{name}` | {value:,} | {target_text(name)} | {verdict(name, value)} | {measured.get(name, '')} | {meaning} |")
        else:
            rows.append(f"| `{name}` | not measured | {target_text(name)} | | | {meaning} |")
    return rows


def chaos_rows() -> list[str]:
    if not CHAOS.exists():
        return ["`make chaos` has not written bench/results/chaos.json on this machine yet."]
    rows = json.loads(CHAOS.read_text())
    columns = ("fault", "fault_s", "events_produced", "events_lost", "double_counts", "api_requests", "api_error_rate", "recovery_s")
    written = datetime.fromtimestamp(CHAOS.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"From the chaos suite (`make chaos`, also part of `make test`), {written} (targets: 0 events lost, 0 double counts).", "", "| " + " | ".join(columns) + " |",
             "|" + "---|" * len(columns)]  # fmt: skip
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return lines


def main() -> None:
    figures = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    measured = json.loads(MEASURED.read_text()) if MEASURED.exists() else {}
    judged = [name for name in figures if verdict(name, figures[name])]
    missed = [name for name in judged if verdict(name, figures[name]) == "missed"]
    absent = [name for name in TARGETS if name not in figures]
    lines = [
        "# Benchmark report",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M UTC} by `make bench` (`python bench/report.py`) from `bench/results/latest.json`.",
        f"{len(judged) - len(missed)} of {len(judged)} figures with a target meet it"
        + (f"; missed: {', '.join(f'`{m}`' for m in missed)}" if missed else "")
        + (f"; {len(absent)} figures not measured yet." if absent else "; every figure measured."),
        "",
        "## Machine",
        "",
        *[f"- {name}: {value}" for name, value in machine()],
        "",
        "## Versions",
        "",
        *[f"- {name}: {value}" for name, value in versions()],
        "",
        "## Figures",
        "",
        *figure_rows(figures, measured),
        "",
        "## Faults (`make chaos`)",
        "",
        *chaos_rows(),
        "",
    ]
    REPORT.write_text("\n".join(lines))
    print(f"report written to {REPORT}")


if __name__ == "__main__":
    main()
