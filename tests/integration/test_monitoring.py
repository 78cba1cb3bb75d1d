"""The monitoring as code: the alert rules pass their promtool tests, a real Prometheus (the stack's, from the
Debian package) loads the configuration and accepts every dashboard query and alert expression, and the
statsd_exporter's mapping turns Airflow's StatsD lines into metrics in the units their names say."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from movie_harness.stack.services.monitoring import PROMETHEUS_CONFIG, dashboard_queries, query
from tests.conftest import own_stack

pytestmark = pytest.mark.integration
PORTS = {"prometheus": 19090}
RULES = PROMETHEUS_CONFIG.parent / "alerts.yml"


@pytest.fixture(scope="module")
def prometheus():
    yield from own_stack("test-monitoring-stack", PORTS)


@pytest.fixture(scope="module")
def statsd_exporter():
    yield from own_stack("test-statsd-stack", {"statsd_exporter": 19102, "statsd": 19125}, services=["statsd-exporter"])


def promtool(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: `make setup` installs the Debian package prometheus"
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=PROMETHEUS_CONFIG.parent)


def test_the_alert_rules_pass_their_unit_tests_and_the_configuration_checks():
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    checked = promtool("check", "config", PROMETHEUS_CONFIG.name)
    assert checked.returncode == 0 and "8 rules found" in checked.stdout, checked.stdout + checked.stderr
    # every alert the rules define has a test case
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((PROMETHEUS_CONFIG.parent / "alerts_test.yml").read_text())["tests"]
    assert alerts == {case["alertname"] for test in tests for case in test["alert_rule_test"]}


def test_prometheus_scrapes_and_accepts_every_dashboard_query_and_alert(prometheus):
    deadline = time.monotonic() + 60
    while not query(prometheus, 'up{job="prometheus"} == 1')["result"]:  # its first scrape of itself
        assert time.monotonic() < deadline, "Prometheus did not scrape itself within 60 s"
        time.sleep(2)
    targets = prometheus_api(prometheus, "targets")["activeTargets"]
    assert {target["labels"]["job"] for target in targets} == {
        job["job_name"] for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]
    }
    assert all(target["scrapeUrl"].startswith(f"http://{prometheus.host}:") for target in targets)  # the local addresses
    queries = dashboard_queries()
    assert len(queries) >= 15
    for title, promql in queries:
        assert query(prometheus, promql)["resultType"] in ("vector", "scalar"), title
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            query(prometheus, rule["expr"])  # raises on an expression Prometheus refuses
    rules = [rule for group in prometheus_api(prometheus, "rules")["groups"] for rule in group["rules"]]
    assert {rule["name"] for rule in rules} == {
        rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    }
    assert all(rule["health"] != "err" for rule in rules), rules


def prometheus_api(settings, endpoint: str) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://{settings.host}:{settings.ports['prometheus']}/api/v1/{endpoint}", timeout=10) as response:
        return json.load(response)["data"]


def test_the_statsd_mapping_gives_airflows_timings_in_seconds(statsd_exporter):
    """Airflow sends its timedeltas in milliseconds but a DAG file's parse time in seconds, both as ``|ms`` timers
    (its statsd client sends a float as it is): 1.5 s of schedule delay and a 0.25 s parse must both read as seconds."""
    lines = {
        "airflow.dagrun.schedule_delay.movie_batch:1500|ms": ("airflow_dagrun_schedule_delay_seconds", {"dag_id": "movie_batch"}),
        "airflow.dag_processing.last_duration.dags-folder.movie_batch:0.25|ms": (
            "airflow_dag_processing_last_duration_seconds", {"bundle": "dags-folder", "file": "movie_batch"},
        ),
    }  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for line in lines:
            udp.sendto(line.encode(), (statsd_exporter.host, statsd_exporter.ports["statsd"]))
    metrics_url = f"http://{statsd_exporter.host}:{statsd_exporter.ports['statsd_exporter']}/metrics"
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(metrics_url, timeout=10) as response:
            samples = {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(response.read().decode())
                for sample in family.samples
            }
        sums = {name: samples.get((f"{name}_sum", tuple(sorted(labels.items())))) for name, labels in lines.values()}
        if None not in sums.values() or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # the exporter flushes received lines in batches
    assert sums == {"airflow_dagrun_schedule_delay_seconds": 1.5, "airflow_dag_processing_last_duration_seconds": 0.25}
