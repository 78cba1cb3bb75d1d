"""Static checks of what users build and install: pinned requirements, the Dockerfile, the Makefile."""

import re
from pathlib import Path

from tests.conftest import REPO


def pins() -> dict[str, str]:
    result = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"requirements.txt: {line!r} is not pinned with =="
            result[name.lower()] = version
    return result


def test_requirements_pin_the_designed_versions():
    versions = pins()
    assert versions["apache-airflow"].startswith("3.3.")
    assert versions["pyspark"].startswith("4.2.")
    assert versions["great-expectations"].startswith("1.")
    assert int(versions["pandas"].split(".")[0]) < 3
    for provider in ("apache-spark", "apache-kafka", "mongo", "apache-cassandra", "standard"):
        assert f"apache-airflow-providers-{provider}" in versions
    assert "airflow-provider-great-expectations" not in versions  # conflicts with Airflow 3.3 (ARCHITECTURE §7)


def test_dockerfile_builds_from_the_pinned_airflow_and_copies_what_exists():
    text = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM apache/airflow:(\S+)-python3\.11$", text, re.M)
    assert base and base.group(1) == pins()["apache-airflow"]
    for source in re.findall(r"^COPY (?!.*--from=)(?:--\S+ )*(.+) \S+$", text, re.M):
        for path in source.split():
            assert (REPO / path).exists(), f"Dockerfile copies {path}, which does not exist"
    assert "TMDB_API_KEY=" not in text
    assert re.search(r"^COPY .*expectations /opt/movie-pipeline/expectations$", text, re.M), "the GX suites ship with the package"


def test_ci_runs_make_test_and_the_readme_shows_both_commands():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def declared_dependencies() -> set[str]:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {normalized(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]) for requirement in project["dependencies"]}


def normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_pyproject_declares_every_package_the_runtime_and_the_spark_jobs_import():
    import ast
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    imported = set()
    for folder in (REPO / "include" / "movie_pipeline", REPO / "spark_jobs"):
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name in distributions and name not in ("movie_pipeline", "spark_jobs")}
    assert {"pyspark", "fastapi", "cassandra", "confluent_kafka"} <= third_party  # the scan finds them
    declared = declared_dependencies()
    # a module is covered when one of the distributions providing it is declared (airflow.* comes from several)
    undeclared = {name: distributions[name] for name in third_party if not {normalized(d) for d in distributions[name]} & declared}
    assert not undeclared, "imported but not declared in pyproject.toml's dependencies"
    assert {normalized(name) for name in pins()} >= declared, "declared but not pinned in requirements.txt"


def test_the_runtime_lock_holds_no_tools_and_the_dev_lock_the_same_pins():
    dev = {}
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        if line.split("#")[0].strip():
            name, _, version = line.strip().partition("==")
            dev[name.lower()] = version
    runtime = pins()
    assert {name: dev.get(name) for name in runtime} == runtime
    for tool in ("pytest", "ruff", "hypothesis", "schemathesis", "import-linter", "kubernetes-validate"):
        assert tool in dev and tool not in runtime, tool


def test_the_image_installs_the_wheel_with_the_jars_baked_and_no_harness():
    text = (REPO / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM ") :]  # the production stage
    assert re.search(r"^RUN pip install --no-cache-dir --no-deps /tmp/dist/movie_pipeline-\S+\.whl$", final, re.M)
    assert " -e " not in final and "mvn" not in final and "harness" not in final
    assert "requirements-dev" not in text
    assert re.search(r"^COPY --from=connector-jars .* /opt/movie-pipeline/jars$", final, re.M)
    assert "SPARK_JARS_DIR=/opt/movie-pipeline/jars" in final and "PIPELINE_HOME=/opt/movie-pipeline" in final
    assert re.search(r"^RUN mvn .*-Pspark-connectors dependency:copy-dependencies", text, re.M)


def readme_layout() -> list[Path]:
    """The paths the README's Layout block names: a line's first word, indented lines under the last folder above."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    paths, parent = [], REPO
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        if line.startswith(" "):
            if line.lstrip() == line.strip() and line.startswith("    ") and not line.startswith("     "):
                paths.append(parent / line.split()[0])
            continue  # a continued description
        words = line.split()
        if len(line.split("  ")[0].split()) == 1 and "  " in line and all(re.fullmatch(r"[\w./-]+", w) for w in line.split()):
            paths.extend(REPO / w for w in words)  # a line of paths only
        else:
            paths.append(REPO / words[0])
        if words[0].endswith("/"):
            parent = REPO / words[0]
    return paths


def test_the_readme_layout_names_paths_that_exist_and_every_package():
    named = readme_layout()
    assert len(named) > 20
    missing = [str(path.relative_to(REPO)) for path in named if not path.exists()]
    assert not missing, f"the README's Layout names paths that do not exist: {missing}"
    packages = [
        init.parent
        for root in ("include/movie_pipeline", "spark_jobs", "harness/movie_harness")
        for init in (REPO / root).glob("*/__init__.py")
    ]
    resolved = {path.resolve() for path in named}
    unnamed = [str(p.relative_to(REPO)) for p in packages if p.resolve() not in resolved]
    assert not unnamed, f"packages the README's Layout does not name: {unnamed}"
