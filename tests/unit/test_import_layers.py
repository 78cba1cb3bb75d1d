"""The direction runtime <- Spark jobs <- local harness, as `make lint` checks it (import-linter, the contract in
pyproject.toml): clean on the code as it is, broken by a reverse import of either kind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = {
    "movie_pipeline": REPO / "include" / "movie_pipeline",
    "spark_jobs": REPO / "spark_jobs",
    "movie_harness": REPO / "harness" / "movie_harness",
}


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the three packages and pyproject.toml, importable from ``tmp_path`` first."""
    for name, source in PACKAGES.items():
        shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.java", "*.xml"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_code_keeps_the_direction(tree):
    done = lint_imports(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 1 kept, 0 broken." in done.stdout


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("movie_pipeline.speed.reverse", "spark_jobs.lake_io"),  # runtime -> Spark jobs
        ("movie_pipeline.reverse", "movie_harness.stack.jvm"),  # runtime -> harness
        ("spark_jobs.reverse", "movie_harness.tmdb_simulator"),  # Spark jobs -> harness
    ],
)
def test_a_reverse_import_breaks_the_contract(tree, importer, imported):
    module = tree.joinpath(*importer.split(".")).with_suffix(".py")
    module.write_text(f"import {imported}  # the wrong way round\n")
    done = lint_imports(tree)
    assert done.returncode != 0
    assert "BROKEN" in done.stdout and f"{importer} -> {imported}" in done.stdout, done.stdout
