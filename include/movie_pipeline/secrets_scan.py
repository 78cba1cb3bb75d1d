"""Search log files for secrets: the TMDB key and API keys must never be written to any log.

``find_secrets(roots, secrets)`` walks the given directories for log files (``*.log``, ``*.out``,
``*.err`` and every file under a ``logs`` directory, as Airflow writes its task logs) and returns
where each secret appears, raw or URL-encoded. Data directories of the stores (Kafka's segment
files are also named ``*.log``) are skipped: they hold records, not logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

LOG_SUFFIXES = (".log", ".out", ".err")
DATA_DIRS = {"data", "jars", "checkpoints", "site-packages"}  # a store's records, downloaded code: not logs


@dataclass(frozen=True)
class Leak:
    secret: str  # the secret's name, never its value
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.secret} in {self.path}:{self.line}"


def log_files(roots: Iterable[Path]) -> Iterator[Path]:
    """Every log file under the roots (a root may itself be a file)."""
    for root in roots:
        if root.is_file():
            yield root
            continue
        for path in sorted(root.rglob("*")) if root.is_dir() else ():
            relative = path.relative_to(root).parts
            if not path.is_file() or DATA_DIRS & set(relative[:-1]):
                continue
            if path.suffix in LOG_SUFFIXES or "logs" in relative[:-1]:
                yield path


def find_secrets(roots: Iterable[Path], secrets: Mapping[str, str]) -> tuple[list[Leak], int]:
    """(every place a secret appears in a log file under the roots, the number of files searched)."""
    forms = {name: {value, quote(value, safe="")} for name, value in secrets.items() if value}
    leaks, searched = [], 0
    for path in log_files(roots):
        searched += 1
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.decode("utf-8", errors="replace")
                leaks.extend(Leak(name, path, number) for name, values in forms.items() if any(v in line for v in values))
    return leaks, searched
