"""Static checks of what users build and install: pinned requirements, the Dockerfile, the Makefile."""

import re

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
    for source in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", text, re.M):
        for path in source.split():
            assert (REPO / path).exists(), f"Dockerfile copies {path}, which does not exist"
    assert "TMDB_API_KEY=" not in text
    assert re.search(r"^COPY .*expectations /opt/movie-pipeline/expectations$", text, re.M), "the GX suites ship with the package"


def test_ci_runs_make_test_and_the_readme_shows_both_commands():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
