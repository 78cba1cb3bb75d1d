"""Running a layer's checkpoint: validate each table against its suite, render Data Docs, report.

The run's report (which tables, how many expectations passed, which critical ones failed, and the
Data Docs page of each table) is also written to ``<DATA_QUALITY_DIR>/runs/<dag>/<run>.json``:
the Airflow plugin lists runs from there.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlparse

from movie_pipeline.quality.suites import load_suite

if TYPE_CHECKING:
    import pandas as pd

DATASOURCE = "lake"
DOCS_SITE = "local_site"


@dataclass
class TableResult:
    table: str
    rows: int
    evaluated: int
    passed: int
    critical_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    page: str | None = None  # the Data Docs page, relative to the site root


@dataclass
class LayerReport:
    dag_id: str
    run_id: str
    layer: str
    tables: list[TableResult]
    validated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def evaluated(self) -> int:
        return sum(t.evaluated for t in self.tables)

    @property
    def pass_rate(self) -> float:
        """Passed expectations / evaluated expectations (1.0 when nothing was evaluated)."""
        return sum(t.passed for t in self.tables) / self.evaluated if self.evaluated else 1.0

    @property
    def critical_failures(self) -> list[str]:
        return [f"{self.layer}.{t.table}: {failure}" for t in self.tables for failure in t.critical_failures]

    def lines(self) -> list[str]:
        out = [f"data quality of {self.layer}: {self.pass_rate:.1%} of {self.evaluated} expectations passed"]
        for t in self.tables:
            out.append(f"  {self.layer}.{t.table}: {t.passed}/{t.evaluated} passed on {t.rows} rows")
            out += [f"    CRITICAL {failure}" for failure in t.critical_failures]
            out += [f"    warning  {warning}" for warning in t.warnings]
        return out


def docs_root(quality_dir: Path) -> Path:
    """The Data Docs site (static HTML)."""
    return quality_dir / "gx" / "uncommitted" / "data_docs" / DOCS_SITE


def report_path(quality_dir: Path, dag_id: str, run_id: str, layer: str) -> Path:
    return quality_dir / "runs" / quote(dag_id, safe="") / quote(run_id, safe="") / f"{layer}.json"


def run_reports(quality_dir: Path, dag_id: str, run_id: str) -> list[dict]:
    """The layer reports written for one run, in pipeline order."""
    order = {"bronze": 0, "silver": 1, "gold": 2}
    directory = report_path(quality_dir, dag_id, run_id, "x").parent
    reports = [json.loads(p.read_text()) for p in directory.glob("*.json")] if directory.exists() else []
    return sorted(reports, key=lambda r: order.get(r["layer"], 9))


def run_report_url(ui_url: str, dag_id: str, run_id: str) -> str:
    """The run's report in the Airflow UI (served by plugins/data_quality.py)."""
    return f"{ui_url}/data-quality/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"


def list_runs(quality_dir: Path) -> list[tuple[str, str, float]]:
    """(dag_id, run_id, modified) of every run with a report, newest first."""
    base = quality_dir / "runs"
    runs = [
        (unquote(d.parent.name), unquote(d.name), max(p.stat().st_mtime for p in d.glob("*.json")))
        for d in base.glob("*/*")
        if any(d.glob("*.json"))
    ]
    return sorted(runs, key=lambda r: -r[2])


def _describe(result) -> str:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "result_format")}
    if "observed_value" in result.result:
        detail = f" (observed {result.result['observed_value']})"
    elif result.result.get("unexpected_count") is not None:
        detail = f" ({result.result['unexpected_count']} of {result.result.get('element_count')} rows unexpected)"
    else:
        detail = ""
    return f"{config.type}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}){detail}: {config.meta.get('why', '')}"


def _context(quality_dir: Path):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    quality_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
    bars = context.variables.progress_bars
    if bars is None or (bars.get("globally", True) if isinstance(bars, dict) else bars.globally):
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.variables.save()
    return context


def _checkpoint(context, layer: str, table: str):
    """The checkpoint of one table: its suite (refreshed from the checked-in JSON) on a DataFrame."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    spec = load_suite(layer, table)
    suite = context.suites.add_or_update(ExpectationSuite(name=spec["name"], expectations=spec["expectations"], meta=spec.get("meta")))
    source = context.data_sources.add_or_update_pandas(DATASOURCE)
    name = f"{layer}.{table}"
    asset = next((a for a in source.assets if a.name == name), None) or source.add_dataframe_asset(name)
    batch = next((b for b in asset.batch_definitions if b.name == "whole"), None) or asset.add_batch_definition_whole_dataframe("whole")
    definition = context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs", site_names=[DOCS_SITE])],
            result_format="SUMMARY",
        )
    )


def validate_layer(quality_dir: Path, layer: str, frames: dict[str, pd.DataFrame], dag_id: str, run_id: str) -> LayerReport:
    """Validate every table of a layer; write Data Docs and the run's report. Never raises on failures."""
    import great_expectations as gx

    context = _context(quality_dir)
    site = docs_root(quality_dir)
    tables = []
    for table, frame in frames.items():
        result = _checkpoint(context, layer, table).run(
            batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=f"{dag_id}.{run_id}")
        )
        (identifier, validation), *_ = result.run_results.items()
        failed = [r for r in validation.results if not r.success]
        urls = context.get_docs_sites_urls(resource_identifier=identifier, site_names=[DOCS_SITE])
        page = Path(unquote(urlparse(urls[0]["site_url"]).path)).relative_to(site).as_posix() if urls and urls[0]["site_url"] else None
        tables.append(
            TableResult(
                table=table,
                rows=len(frame),
                evaluated=len(validation.results),
                passed=len(validation.results) - len(failed),
                critical_failures=[_describe(r) for r in failed if r.expectation_config.meta.get("critical")],
                warnings=[_describe(r) for r in failed if not r.expectation_config.meta.get("critical")],
                page=page,
            )
        )
    report = LayerReport(dag_id=dag_id, run_id=run_id, layer=layer, tables=tables)
    path = report_path(quality_dir, dag_id, run_id, layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**asdict(report), "pass_rate": report.pass_rate}, indent=1))
    return report
