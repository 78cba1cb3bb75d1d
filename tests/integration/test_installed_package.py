"""The runtime as a user installs it: its wheel in a fresh venv with the pinned requirements, no checkout on
the path and no harness. The CLI, the DAG files and the supervisor's command for the streaming job must work
from there, with Maven nowhere on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding requirements.txt and the runtime's wheel (non-editable); returns its bin/ directory."""
    work = tmp_path_factory.mktemp("installed")
    uv = Path(sys.executable).with_name("uv")
    source = work / "source"  # a copy of what the wheel is built from: setuptools writes build/ beside its input
    for part in ("include", "spark_jobs"):
        shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / part, source / part)
    run([str(uv), "build", "--wheel", "--out-dir", str(work / "dist"), str(source)], cwd=work)
    wheels = list((work / "dist").glob("movie_pipeline-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    run([str(uv), "venv", "--python", sys.executable, str(venv)], cwd=work)
    python = venv / "bin" / "python"
    run([str(uv), "pip", "install", "--python", str(python), "--quiet", "-r", str(REPO / "requirements.txt")], cwd=work, timeout=1200)
    run([str(uv), "pip", "install", "--python", str(python), "--quiet", "--no-deps", str(wheels[0])], cwd=work)
    return venv / "bin"


def clean_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    """No checkout on the path, no Maven: PATH is the venv and the JDK's bin/ (Spark needs java)."""
    java = shutil.which("java")
    path = [str(bin_dir)] + ([str(Path(java).resolve().parent)] if java else [])
    env = {"PATH": os.pathsep.join(path), "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", **extra}
    return env


def test_the_wheel_holds_the_runtime_and_the_spark_jobs_and_not_the_harness(installed, tmp_path):
    out = run([str(installed / "python"), "-c", textwrap.dedent("""
        import importlib.util, json, movie_pipeline, spark_jobs
        print(json.dumps({"runtime": movie_pipeline.__file__, "jobs": spark_jobs.__file__,
                          "harness": importlib.util.find_spec("movie_harness") is not None}))
    """)], cwd=tmp_path, env=clean_env(installed))  # fmt: skip
    found = json.loads(out)
    site = str(installed.parent / "lib")
    assert found["runtime"].startswith(site) and found["jobs"].startswith(site), found  # installed, not the checkout
    assert found["harness"] is False


def test_the_installed_cli_has_the_runtime_commands_only(installed, tmp_path):
    help_text = run([str(installed / "movie-pipeline"), "--help"], cwd=tmp_path, env=clean_env(installed))
    for command in ("ingest", "produce", "serve", "api-keys"):
        assert command in help_text
    for harness_command in ("stack", "tmdb-sim", "demo"):
        assert f"    {harness_command} " not in help_text
    done = subprocess.run(
        [str(installed / "movie-pipeline"), "ingest", "--start", "2026-11-20T00:00:00Z", "--end", "2026-11-20T04:00:00Z"],
        cwd=tmp_path,
        env=clean_env(installed, LAKE_URI=(tmp_path / "lake").as_uri()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "movie-pipeline: error: no TMDB credentials" in done.stderr  # an error to act on, not a traceback


def test_every_dag_file_imports_from_the_installed_package(installed, tmp_path):
    script = textwrap.dedent("""
        import json, sys
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder=sys.argv[1])
        print(json.dumps({"dags": sorted(bag.dag_ids), "errors": {path: str(error) for path, error in bag.import_errors.items()}}))
    """)
    env = clean_env(installed, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    found = json.loads(run([str(installed / "python"), "-c", script, str(REPO / "dags")], cwd=tmp_path, env=env).splitlines()[-1])
    assert found["errors"] == {}
    assert found["dags"] == sorted(path.stem for path in (REPO / "dags").glob("*.py"))


def test_the_supervisors_streaming_job_command_resolves_without_maven(installed, tmp_path, spark_connector_jars):
    jars_dir = Path(spark_connector_jars[0]).parent
    env = clean_env(installed, SPARK_JARS_DIR=str(jars_dir), SPEED_JOBS_DIR=str(tmp_path / "jobs"))
    assert shutil.which("mvn", path=env["PATH"]) is None
    script = textwrap.dedent("""
        import json
        from movie_pipeline.speed.runner import LocalProcessRunner, job_command
        runner = LocalProcessRunner.from_environment()
        print(json.dumps(job_command("speed_views", runner.speed)))
    """)
    command = json.loads(run([str(installed / "python"), "-c", script], cwd=tmp_path, env=env))
    assert command[0] == str(installed / "spark-submit")
    app = Path(command[command.index("--trigger") - 1])
    assert app.is_file() and app.name == "speed_views.py" and str(app).startswith(str(installed.parent / "lib"))
    jars = command[command.index("--jars") + 1].split(",")
    assert jars == spark_connector_jars and any("spark-sql-kafka" in jar for jar in jars)
    # without the jars the runner says what to set, instead of fetching them
    done = subprocess.run(
        [str(installed / "python"), "-c", script],
        cwd=tmp_path,
        env={**env, "SPARK_JARS_DIR": str(tmp_path / "no-jars")},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "set SPARK_JARS_DIR" in done.stderr
