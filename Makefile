# Movie analytics pipeline. `make demo` runs it, `make test` proves it; both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCAL := .local
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup setup-system check-java lint format test test-unit test-dags test-integration test-extended chaos chaos-cluster audit demo demo-down demo-check screenshots bench ui-tour lock clean stack-up stack-down stack-status

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# the Debian packages first (they bring the JDK that check-java then finds), then the venv
setup: setup-system $(STAMP) check-java ## Debian packages of the stack, .venv with the pinned dependencies (idempotent)

setup-system: ## install the local stack's Debian packages when missing (JDK, PostgreSQL, Redis, Maven, Prometheus)
	@scripts/ensure-debian-packages.sh

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml harness/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements-dev.txt
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e . -e harness
	@touch $@

check-java: ## Spark needs Java 17 or newer
	@command -v java >/dev/null || { echo "Java 17+ is required for Spark: install openjdk-17-jre-headless (apt) and retry"; exit 1; }
	@v=$$(java -version 2>&1 | awk -F'"' '/version/ {split($$2, p, "."); print (p[1] == "1" ? p[2] : p[1])}'); \
	  [ "$$v" -ge 17 ] 2>/dev/null || { echo "Java 17+ is required for Spark, found Java $$v: install openjdk-17-jre-headless or set JAVA_HOME"; exit 1; }

lint: $(STAMP) ## ruff format --check, ruff check (AIR3 rules included), the import-layer contracts (runtime <- Spark jobs <- harness)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/ruff check --select AIR3 dags/
	$(BIN)/lint-imports

format: $(STAMP) ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup ## every test tier: unit, DAG integrity, integration and chaos (starts what it needs), then a demo run checked (URLs, logins, no secret in its logs)
	$(BIN)/pytest -q -ra --durations=15 -m "not extended" tests
	$(BIN)/python scripts/check_demo.py --run

test-unit: setup
	$(BIN)/pytest -q tests/unit

test-dags: setup
	$(BIN)/pytest -q tests/dags

test-integration: setup
	$(BIN)/pytest -q -ra tests/integration

test-extended: setup ## the tests beyond make test's time budget (marked extended; the README says which and why)
	$(BIN)/pytest -q -ra -s -m extended tests

chaos: setup ## faults under load (kill -9, broker restart, Cassandra/MongoDB down, TMDB 5xx, malformed records): lost, double counted, API errors, recovery
	$(BIN)/pytest -q -ra tests/chaos

chaos-cluster: setup ## the cluster profile: the same answers as one node, and kill -9 of a DataNode, a Cassandra node (then two), a Spark worker, a Kafka broker
	$(BIN)/pytest -q -ra -s tests/integration/test_cluster_profile.py

audit: setup ## pip-audit of the pinned requirements (needs PyPI's or OSV's vulnerability data; see docs/security.md)
	@$(BIN)/python -c 'import pip_audit' 2>/dev/null || $(BIN)/uv pip install --python $(BIN)/python --quiet pip-audit==2.10.1
	$(BIN)/pip-audit --requirement requirements.txt --no-deps --disable-pip --progress-spinner off

demo: setup ## the whole system run by Airflow: stack, TMDB simulator, DAGs unpaused, first batch, speed jobs, export, API, monitoring; prints the URLs (PROFILE=cluster: on Spark standalone, HDFS, 3 Kafka brokers, 3 Cassandra nodes)
	$(if $(PROFILE),STACK_PROFILE=$(PROFILE)) $(BIN)/movie-pipeline demo up

demo-down: ## stop the demo: the speed jobs and every service (data stays in .local)
	@test -x $(BIN)/movie-pipeline && $(if $(PROFILE),STACK_PROFILE=$(PROFILE)) $(BIN)/movie-pipeline demo down || true

ui-tour: setup ## backfill movie_batch on the stack's Airflow via its REST API, then screenshot the UI into docs/screenshots
	@command -v chromium >/dev/null || { [ "$$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || { echo "install Chromium: sudo apt-get install -y chromium"; exit 1; }
	@$(BIN)/python -c 'import playwright' 2>/dev/null || $(BIN)/uv pip install --python $(BIN)/python --quiet playwright==1.65.2
	$(BIN)/python scripts/ui_tour.py

screenshots: setup ## of a running demo: Airflow grid and asset graph, data quality, the Superset dashboard -> docs/screenshots (checks every chart rendered)
	@command -v chromium >/dev/null || { [ "$$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || { echo "install Chromium: sudo apt-get install -y chromium"; exit 1; }
	@$(BIN)/python -c 'import playwright' 2>/dev/null || $(BIN)/uv pip install --python $(BIN)/python --quiet playwright==1.65.2
	$(BIN)/python scripts/screenshots.py

demo-check: setup ## of a running demo: every printed URL and the sample API calls answer, every Grafana query has data, no Airflow page without a login, no secret in any log
	$(BIN)/python scripts/check_demo.py

bench: setup ## every benchmark (well over an hour on 2 cores: the 1M-movie batch alone about 45 min) -> bench/results/latest.json + latest.md
	@command -v wrk >/dev/null || { [ "$$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; } || { echo "install wrk: sudo apt-get install -y wrk"; exit 1; }
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/batch_bench.py
	$(BIN)/python bench/batch_bench.py --sizes 1000000 --bronze-fill
	$(BIN)/python bench/stream_bench.py
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/stack_bench.py
	$(BIN)/python bench/cluster_bench.py
	$(BIN)/python bench/stream_bench.py --profile cluster
	$(BIN)/python bench/report.py

stack-up: setup ## start the local stack (PostgreSQL, Airflow, Redis, Kafka, MongoDB protocol)
	$(BIN)/movie-pipeline stack up

stack-down: ## stop the local stack
	@test -x $(BIN)/movie-pipeline && $(BIN)/movie-pipeline stack down || true

stack-status: ## show the local stack's services
	@$(BIN)/movie-pipeline stack status

lock: ## recompile requirements.txt (runtime) and requirements-dev.txt (runtime + tools, same pins) from their .in files
	$(BIN)/uv pip compile --python-version 3.11 --no-header --no-annotate requirements.in -o requirements.txt
	$(BIN)/uv pip compile --python-version 3.11 --no-header --no-annotate requirements-dev.in -c requirements.txt -o requirements-dev.txt

clean: ## remove local state (lake, logs, Airflow home); keeps .venv
	rm -rf $(LOCAL)
