"""Prometheus (Debian package) and the statsd_exporter (Airflow's StatsD -> Prometheus) of the demo.

Prometheus runs ``deploy/prometheus/prometheus.yml`` and its alert rules with the targets rewritten
to this stack's addresses: the job names, and so the rules and the Grafana dashboard, are the same
locally and in docker-compose. The statsd_exporter is built once from its Go module (the Go module
proxy; no Apache/Prometheus download site is reachable here) into ``.local/bin``, with the machine's
Go when it is new enough, else with a Go toolchain fetched from the same proxy.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import yaml

from movie_harness import REPO_ROOT
from movie_harness.stack.services.base import Service, StackError, StackSettings

DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
GRAFANA_DASHBOARDS = DEPLOY / "grafana" / "dashboards"
STATSD_MAPPING = DEPLOY / "statsd" / "airflow-mapping.yml"
STATSD_EXPORTER_MODULE = "github.com/prometheus/statsd_exporter@v0.31.0"
STATSD_EXPORTER = REPO_ROOT / ".local" / "bin" / "statsd_exporter"
GO_MINIMUM = (1, 25)  # what the statsd_exporter's go.mod asks for
GO_TOOLCHAIN = "go1.26.8"  # fetched from the Go module proxy when the machine's Go is older
GO_PROXY = "https://proxy.golang.org"
# scrape job -> the port (StackSettings.ports key) its target listens on locally
LOCAL_TARGETS = {
    "prometheus": "prometheus",
    "movie-api": "api",
    "movie-producer": "producer_metrics",
    "movie-stream": "stream_metrics",
    "airflow": "statsd_exporter",
}


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local URLs only
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def local_prometheus_config(settings: StackSettings) -> dict:
    """``deploy/prometheus/prometheus.yml`` with every job's target at this stack's address."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    for job in config["scrape_configs"]:
        port_name = LOCAL_TARGETS.get(job["job_name"])
        if port_name is None:
            raise StackError(f"the scrape job {job['job_name']!r} of {PROMETHEUS_CONFIG} has no local target: add it to LOCAL_TARGETS")
        job["static_configs"] = [{"targets": [f"{settings.host}:{settings.ports[port_name]}"]}]
    return config


def dashboard_queries() -> list[tuple[str, str]]:
    """(dashboard / panel title, PromQL) of every query in the checked-in Grafana dashboards."""
    import json

    queries = []
    for path in sorted(GRAFANA_DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", ()):
                queries.append((f"{dashboard['title']} / {panel['title']}", target["expr"]))
    return queries


def query(settings: StackSettings, promql: str) -> dict:
    """Prometheus's answer to an instant query (``data``: resultType, result); raises on an error answer."""
    import json
    import urllib.parse

    url = f"http://{settings.host}:{settings.ports['prometheus']}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the local stack
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        answer = json.load(error)
    if answer.get("status") != "success":
        raise StackError(f"Prometheus refused {promql!r}: {answer.get('errorType')}: {answer.get('error')}")
    return answer["data"]


class StatsdExporter(Service):
    name = "statsd-exporter"
    optional = True

    def prepare(self) -> None:
        super().prepare()
        if not STATSD_EXPORTER.exists():
            install_statsd_exporter()

    def command(self) -> list[str]:
        statsd = f"{self.host}:{self.settings.ports['statsd']}"
        return [
            str(STATSD_EXPORTER), f"--statsd.mapping-config={STATSD_MAPPING}", f"--web.listen-address={self.host}:{self.port}",
            f"--statsd.listen-udp={statsd}", f"--statsd.listen-tcp={statsd}",
        ]  # fmt: skip

    def is_ready(self) -> bool:
        return http_ok(f"http://{self.host}:{self.port}/metrics")


def install_statsd_exporter() -> None:
    """``go install`` the pinned statsd_exporter into ``.local/bin`` (about 2 minutes, once)."""
    go = go_binary()
    print(f"building {STATSD_EXPORTER_MODULE} with {go} (once, about 2 minutes) ...", flush=True)
    local = REPO_ROOT / ".local"
    env = {
        **os.environ,
        "GOBIN": str(STATSD_EXPORTER.parent),
        "GOPATH": str(local / "go"),
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
    }
    done = subprocess.run([str(go), "install", STATSD_EXPORTER_MODULE], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise StackError(f"`go install {STATSD_EXPORTER_MODULE}` failed: {(done.stdout + done.stderr)[-1500:]}")


def go_version(go: str | Path) -> tuple[int, int]:
    """(major, minor) of a go command, (0, 0) when it does not answer."""
    try:
        done = subprocess.run(
            [str(go), "env", "GOVERSION"], capture_output=True, text=True, timeout=60, env={**os.environ, "GOTOOLCHAIN": "local"}
        )
    except OSError:
        return (0, 0)
    match = re.match(r"go(\d+)\.(\d+)", done.stdout.strip())
    return (int(match[1]), int(match[2])) if done.returncode == 0 and match else (0, 0)


def go_binary() -> Path:
    """A go command of at least GO_MINIMUM: the machine's, or GO_TOOLCHAIN fetched once from the Go module proxy.

    Debian 12 ships Go 1.19, older than the statsd_exporter needs; the proxy serves the Go toolchain itself as the
    module ``golang.org/toolchain`` (how ``GOTOOLCHAIN`` switches versions), so no download site is needed."""
    machine = shutil.which("go")
    if machine and go_version(machine) >= GO_MINIMUM:
        return Path(machine)
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    version = f"v0.0.1-{GO_TOOLCHAIN}.linux-{arch}"
    home = REPO_ROOT / ".local" / "go-toolchain" / version
    go = home / "bin" / "go"
    if go.exists() and go_version(go) >= GO_MINIMUM:
        return go
    proxy = next((p for p in os.environ.get("GOPROXY", GO_PROXY).split(",") if p.startswith("http")), GO_PROXY).rstrip("/")
    url = f"{proxy}/golang.org/toolchain/@v/{version}.zip"
    found = f"Go {'.'.join(map(str, go_version(machine)))} at {machine}" if machine else "no Go"
    print(
        f"the statsd_exporter needs Go >= {GO_MINIMUM[0]}.{GO_MINIMUM[1]} ({found}): fetching {GO_TOOLCHAIN} from {url} (once) ...",
        flush=True,
    )
    archive = home.parent / f"{version}.zip"
    home.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=300) as response, archive.open("wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as error:
        raise StackError(
            f"cannot fetch the Go toolchain {url} ({error}): install Go >= {GO_MINIMUM[0]}.{GO_MINIMUM[1]} and retry"
        ) from None
    prefix = f"golang.org/toolchain@{version}/"
    shutil.rmtree(home, ignore_errors=True)
    with zipfile.ZipFile(archive) as bundle:
        for entry in bundle.infolist():
            if entry.is_dir() or not entry.filename.startswith(prefix):
                continue
            target = home / entry.filename.removeprefix(prefix)
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(entry) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod((entry.external_attr >> 16) & 0o777 or 0o644)
    archive.unlink()
    if go_version(go) < GO_MINIMUM:
        raise StackError(f"the fetched Go toolchain at {go} does not run: install Go >= {GO_MINIMUM[0]}.{GO_MINIMUM[1]} and retry")
    return go


class Prometheus(Service):
    name = "prometheus"
    optional = True

    @property
    def config_file(self) -> Path:
        return self.home / "prometheus.yml"

    def prepare(self) -> None:
        super().prepare()
        self.config_file.write_text(yaml.safe_dump(local_prometheus_config(self.settings), sort_keys=False))
        for rule_file in yaml.safe_load(PROMETHEUS_CONFIG.read_text()).get("rule_files") or ():
            shutil.copy(PROMETHEUS_CONFIG.parent / rule_file, self.home / rule_file)

    def command(self) -> list[str]:
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        if not Path(binary).exists():
            raise StackError("prometheus is missing: run `make setup` (installs the Debian package prometheus)")
        return [
            binary, f"--config.file={self.config_file}", f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address={self.host}:{self.port}", "--storage.tsdb.retention.time=2d", "--web.enable-lifecycle",
        ]  # fmt: skip

    def is_ready(self) -> bool:
        return http_ok(f"http://{self.host}:{self.port}/-/ready")
