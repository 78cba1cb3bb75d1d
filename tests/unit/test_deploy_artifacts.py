"""The deployment artifacts, checked statically (no Docker engine or cluster here): the Dockerfile,
deploy/docker-compose.yaml, the Kubernetes manifests and the Airflow chart values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from movie_harness.stack.services.base import DEFAULT_PORTS
from movie_pipeline.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
K8S_FILES = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
K8S_OBJECTS = [doc for path in K8S_FILES if path.name != "airflow-values.yaml" for doc in yaml.safe_load_all(path.read_text()) if doc]
VALUES = yaml.safe_load((DEPLOY / "kubernetes" / "airflow-values.yaml").read_text())
CONFIGMAP = next(o for o in K8S_OBJECTS if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "movie-pipeline")["data"]
PINNED = re.compile(r"^[\w./-]+:(?!latest$)v?\d[\w.-]*$")
# read by the code but not deployment settings: the local stack's, the demo's, set by the CLI itself, the system's,
# Spark's own (SPARK_LOCAL_IP, defaulted for a local master only: a deployment's containers have resolvable names)
LOCAL_ONLY = re.compile(r"^(STACK_|DEMO_)|^(PROMETHEUS_MULTIPROC_DIR|PATH|SPARK_LOCAL_IP)$")
SECRETS = {"TMDB_API_KEY", "TMDB_READ_TOKEN"}


def environment_variables_the_code_reads() -> set[str]:
    """The declared settings, and any variable read elsewhere (the scan of the next test finds none in the runtime)."""
    from movie_pipeline.config import declared

    pattern = re.compile(r"""(?:environ(?:\.get)?|env\.get|getenv)\s*[\[(]?\s*["']([A-Z][A-Z0-9_]+)["']""")
    names = {name for name, _, _ in declared()}
    for folder in ("include", "spark_jobs", "dags", "plugins"):
        for path in (REPO / folder).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    return names


def containers(obj: dict) -> list[dict]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) + spec.get("initContainers", [])


def test_every_file_parses():
    for path in DEPLOY.rglob("*"):
        if path.suffix in (".yaml", ".yml"):
            assert list(yaml.safe_load_all(path.read_text())), path
        elif path.suffix == ".json":
            assert json.loads(path.read_text()), path


def test_the_image_is_airflow_3_3_with_java_17_and_the_project():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.\d+-python3\.11$", dockerfile, re.M)
    assert "openjdk-17-jre-headless" in dockerfile and "JAVA_HOME=/usr/lib/jvm/java-17" in dockerfile
    for part in ("requirements.txt", "include", "spark_jobs", "dags", "plugins", "expectations"):
        assert re.search(rf"^COPY .*\b{part}\b", dockerfile, re.M), part


def test_every_image_tag_is_pinned():
    images = [service["image"] for service in COMPOSE["services"].values() if "image" in service]
    images += [c["image"] for obj in K8S_OBJECTS for c in containers(obj)]
    images.append(f"{VALUES['images']['airflow']['repository']}:{VALUES['images']['airflow']['tag']}")
    assert len(images) > 20
    assert not [image for image in images if not PINNED.match(image)]
    assert (
        COMPOSE["x-airflow"]["image"] == "movie-pipeline:" + re.search(r'^version = "(.+)"', (REPO / "pyproject.toml").read_text(), re.M)[1]
    )


def test_every_setting_the_code_reads_is_set_in_compose_and_kubernetes():
    read = environment_variables_the_code_reads()
    assert {"LAKE_URI", "KAFKA_BOOTSTRAP_SERVERS", "SPEED_METRICS_PORT", "SPEED_MAX_LAG", "API_CACHE_TTL_S"} <= read  # the scan finds them
    settings = {name for name in read if not LOCAL_ONLY.match(name)} - SECRETS
    assert not settings - set(COMPOSE["x-pipeline-env"]), "missing in docker-compose's x-pipeline-env"
    assert not settings - set(CONFIGMAP), "missing in the Kubernetes ConfigMap movie-pipeline"
    # secrets: passed through from the host in compose, from a Secret in Kubernetes, never a value in the repo
    assert all(COMPOSE["x-pipeline-env"][name] == f"${{{name}:-}}" for name in SECRETS)
    assert not SECRETS & set(CONFIGMAP) and "secretRef:\n    name: tmdb" in VALUES["extraEnvFrom"]
    # the Airflow connections the DAGs use are all defined
    in_settings = {c["conn_id"].upper() for c in yaml.safe_load((REPO / "airflow_settings.yaml").read_text())["airflow"]["connections"]}
    compose_conns = {k.removeprefix("AIRFLOW_CONN_") for k in COMPOSE["x-airflow"]["environment"] if k.startswith("AIRFLOW_CONN_")}
    values_conns = {
        e["name"].removeprefix("AIRFLOW_CONN_") for e in yaml.safe_load(VALUES["extraEnv"]) if e["name"].startswith("AIRFLOW_CONN_")
    }
    assert in_settings == compose_conns == values_conns


def test_ports_agree_with_the_code_defaults():
    def published(service: str) -> set[int]:
        return {int(str(p).split(":")[-1]) for p in COMPOSE["services"][service].get("ports", [])}

    serve = build_parser().parse_args(["serve"])
    env = COMPOSE["x-pipeline-env"]
    assert published("api") == {serve.port} and f'--port", "{serve.port}' in json.dumps(COMPOSE["services"]["api"]["command"])
    for service, port in (("postgres", "postgres"), ("redis", "redis"), ("kafka", "kafka"), ("mongo", "mongo"), ("cassandra", "cassandra"),
                          ("airflow-api-server", "airflow"), ("prometheus", "prometheus"), ("statsd-exporter", "statsd_exporter"),
                          ("superset", "superset")):  # fmt: skip
        assert DEFAULT_PORTS[port] in published(service), service
    assert env["KAFKA_BOOTSTRAP_SERVERS"].endswith(f":{DEFAULT_PORTS['kafka']}") and env["CASSANDRA_PORT"] == str(
        DEFAULT_PORTS["cassandra"]
    )
    assert env["MONGO_URI"].endswith(f":{DEFAULT_PORTS['mongo']}") and f":{DEFAULT_PORTS['redis']}/" in env["REDIS_URL"]
    statsd_port = str(DEFAULT_PORTS["statsd"])
    assert (
        COMPOSE["x-airflow"]["environment"]["AIRFLOW__METRICS__STATSD_PORT"]
        == statsd_port
        == str(VALUES["config"]["metrics"]["statsd_port"])
    )
    # Prometheus scrapes the ports the components listen on, in compose and Kubernetes alike
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0]
        for job in yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    }
    assert targets["movie-api"] == f"api:{serve.port}"
    assert (
        targets["movie-producer"].endswith(":" + env["PRODUCER_METRICS_PORT"])
        and env["PRODUCER_METRICS_PORT"] == CONFIGMAP["PRODUCER_METRICS_PORT"]
    )
    assert (
        targets["movie-stream"].endswith(":" + env["SPEED_METRICS_PORT"]) and env["SPEED_METRICS_PORT"] == CONFIGMAP["SPEED_METRICS_PORT"]
    )
    assert targets["airflow"] == f"statsd-exporter:{DEFAULT_PORTS['statsd_exporter']}"
    services = {o["metadata"]["name"]: {p["port"] for p in o["spec"]["ports"]} for o in K8S_OBJECTS if o["kind"] == "Service"}
    for target in targets.values():
        host, port = target.split(":")
        assert host in services or host in COMPOSE["services"], target
        if host in services:
            assert int(port) in services[host], target
    datasource = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == f"http://prometheus:{DEFAULT_PORTS['prometheus']}"


def test_compose_references_resolve():
    services = COMPOSE["services"]
    for name, service in services.items():
        depends = service.get("depends_on") or []
        for dependency in depends if isinstance(depends, list) else depends.keys():
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"
    assert {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "schema-registry", "namenode",
            "datanode", "api", "superset", "prometheus", "grafana"} <= set(services)  # fmt: skip


@pytest.mark.parametrize("obj", K8S_OBJECTS, ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_kubernetes_objects_validate_against_their_schemas(obj):
    kubernetes_validate.validate(obj, "1.31.0", strict=True)  # raises ValidationError with the path of the problem
    if obj["kind"] == "StatefulSet":
        assert obj["spec"].get("volumeClaimTemplates"), "a StatefulSet keeps its data on a persistent volume"


def test_kustomization_names_every_manifest_and_config_file():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert {f"kubernetes/{p.name}" for p in K8S_FILES if p.name != "airflow-values.yaml"} == set(kustomization["resources"])
    generated = {c["name"] for c in kustomization["configMapGenerator"]}
    for generator in kustomization["configMapGenerator"]:
        assert all((DEPLOY / f).exists() for f in generator["files"]), generator
    used = {
        v["configMap"]["name"]
        for obj in K8S_OBJECTS
        for v in obj.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])
        if "configMap" in v
    }
    assert used <= generated


def test_the_superset_bundle_reads_the_analytics_tables_the_export_writes():
    from movie_pipeline.serving.analytics import SCHEMA, TABLES

    bundle = DEPLOY / "superset" / "bundle"
    database = yaml.safe_load((bundle / "databases" / "analytics.yaml").read_text())
    datasets = {d["uuid"]: d for d in (yaml.safe_load(p.read_text()) for p in (bundle / "datasets").rglob("*.yaml"))}
    assert {d["table_name"] for d in datasets.values()} == set(TABLES)
    for dataset in datasets.values():
        assert dataset["schema"] == SCHEMA and dataset["database_uuid"] == database["uuid"]
        assert [c["column_name"] for c in dataset["columns"]] == [name for name, _ in TABLES[dataset["table_name"]]]
    charts = [yaml.safe_load(p.read_text()) for p in (bundle / "charts").glob("*.yaml")]
    assert all(chart["dataset_uuid"] in datasets for chart in charts)
    for chart in charts:  # the columns a chart names exist in its table
        columns = {c["column_name"] for c in datasets[chart["dataset_uuid"]]["columns"]}
        named = set(chart["params"].get("all_columns", [])) | set(chart["params"].get("groupby", [])) | {chart["params"].get("x_axis")}
        assert named - {None} <= columns, chart["slice_name"]
    dashboard = yaml.safe_load((bundle / "dashboards" / "Movie_analytics.yaml").read_text())
    placed = {item["meta"]["uuid"] for item in dashboard["position"].values() if isinstance(item, dict) and item.get("type") == "CHART"}
    assert placed == {chart["uuid"] for chart in charts}
    # the four subjects of the dashboard
    names = " | ".join(chart["slice_name"] for chart in charts).lower()
    assert all(subject in names for subject in ("genre trends", "top movies", "trending", "sentiment over time", "freshness"))


def test_the_readme_documents_every_setting_the_code_reads():
    readme = (REPO / "README.md").read_text()
    undocumented = {name for name in environment_variables_the_code_reads() if f"`{name}`" not in readme and name not in readme}
    assert not undocumented - {"PATH", "PROMETHEUS_MULTIPROC_DIR"}, "add them to the README's Configuration"


def test_only_the_settings_module_reads_the_environment():
    """One settings object: no other module of the runtime or the Spark jobs reads a variable itself."""
    reads = re.compile(r"""os\.environ\s*(?:\.get\s*\(|\[)\s*["']|os\.getenv\(""")
    readers = []
    for folder in ("include", "spark_jobs", "dags", "plugins"):
        for path in (REPO / folder).rglob("*.py"):
            if path != REPO / "include" / "movie_pipeline" / "config.py" and reads.search(path.read_text()):
                readers.append(str(path.relative_to(REPO)))
    assert readers == []


def test_the_readme_configuration_table_is_the_settings():
    from movie_pipeline.config import markdown_table

    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- settings table: python -m movie_pipeline.config -->\n", 1)[1].split(
        "\n<!-- end of the settings table -->", 1
    )[0]
    assert table == markdown_table(), "regenerate the README's table with: python -m movie_pipeline.config"
