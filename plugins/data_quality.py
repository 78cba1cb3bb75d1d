"""The "Data quality" view of the Airflow UI: the batch layer's data-quality reports.

A FastAPI app mounted on the API server at ``/data-quality``:

- ``/data-quality/``                       every run with a report, newest first
- ``/data-quality/runs/<dag_id>/<run_id>`` one run: each layer's pass rate, critical failures,
                                            warnings, and links to the Great Expectations Data Docs
- ``/data-quality/docs/...``               the Data Docs site itself

It appears in the UI's navigation and as a tab of every DAG run. Reports are read from
``DATA_QUALITY_DIR`` (see ``movie_pipeline.config``); the validate tasks of ``movie_batch`` write
them. Every page, the Data Docs included, needs an Airflow login (the UI's session cookie, or a
bearer token from ``POST /auth/token``): a plugin app is not behind Airflow's login by itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from movie_pipeline.config import settings_from_env
from movie_pipeline.quality.checks import docs_root, list_runs, run_reports

STYLE = """<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2937}table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border:1px solid #d1d5db;padding:.3rem .6rem;text-align:left}th{background:#f3f4f6}.bad{color:#b91c1c}.warn{color:#92400e}
.ok{color:#047857}code{font-size:.85em}</style>"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>{STYLE}</head><body>{body}</body></html>"
    )


def _rate(rate: float) -> str:
    return f"<span class='{'ok' if rate == 1 else 'warn'}'>{rate:.1%}</span>"


def create_app() -> FastAPI:
    quality_dir = settings_from_env().quality_dir
    app = FastAPI(title="Data quality", description="Great Expectations reports of the movie pipeline")
    _require_login(app)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        rows = []
        for dag_id, run_id, modified in list_runs(quality_dir):
            layers = " ".join(f"{escape(r['layer'])} {_rate(r['pass_rate'])}" for r in run_reports(quality_dir, dag_id, run_id))
            href = f"runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"
            when = datetime.fromtimestamp(modified, UTC).strftime("%Y-%m-%d %H:%M UTC")
            rows.append(f"<tr><td>{escape(dag_id)}</td><td><a href='{href}'>{escape(run_id)}</a></td><td>{layers}</td><td>{when}</td></tr>")
        table = "<table><tr><th>DAG</th><th>run</th><th>pass rate by layer</th><th>validated</th></tr>" + "".join(rows) + "</table>"
        empty = "<p>No reports yet: they appear when a <code>movie_batch</code> run reaches its validate tasks.</p>"
        return _page("Data quality", f"<h1>Data quality</h1><p><a href='docs/index.html'>All Data Docs</a></p>{table if rows else empty}")

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse)
    def run(dag_id: str, run_id: str) -> HTMLResponse:
        reports = run_reports(quality_dir, dag_id, run_id)
        if not reports:
            raise HTTPException(404, f"no data-quality report for run {run_id!r} of {dag_id!r} (yet): its validate tasks have not run")
        parts = [f"<h1>Data quality of {escape(dag_id)} / {escape(run_id)}</h1><p><a href='../..'>All runs</a></p>"]
        for report in reports:
            parts.append(f"<h2>{escape(report['layer'])}: {_rate(report['pass_rate'])} of expectations passed</h2>")
            parts.append("<table><tr><th>table</th><th>rows</th><th>passed</th><th>failed (critical in red)</th><th>Data Docs</th></tr>")
            for table in report["tables"]:
                failures = [f"<div class='bad'>{escape(f)}</div>" for f in table["critical_failures"]]
                failures += [f"<div class='warn'>{escape(w)}</div>" for w in table["warnings"]]
                docs = f"<a href='../../docs/{quote(table['page'])}'>report</a>" if table.get("page") else ""
                parts.append(
                    f"<tr><td>{escape(table['table'])}</td><td>{table['rows']}</td><td>{table['passed']}/{table['evaluated']}</td>"
                    f"<td>{''.join(failures) or '-'}</td><td>{docs}</td></tr>"
                )
            parts.append("</table>")
        return _page(f"Data quality of {run_id}", "".join(parts))

    app.mount("/docs", StaticFiles(directory=docs_root(quality_dir), html=True, check_dir=False), name="docs")
    return app


def _require_login(app: FastAPI) -> None:
    """Refuse every request without a valid Airflow token (a middleware, so that the mounted Data Docs are covered too)."""

    @app.middleware("http")
    async def require_login(request: Request, call_next):
        from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
        from airflow.api_fastapi.core_api.security import resolve_user_from_token

        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
        try:
            await resolve_user_from_token(token)
        except HTTPException as refused:
            detail = f"{refused.detail}: log in to Airflow first (/auth/login), or send a bearer token from POST /auth/token"
            return JSONResponse({"detail": detail}, status_code=refused.status_code)
        return await call_next(request)


class DataQualityPlugin(AirflowPlugin):
    name = "data_quality"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/data-quality", "name": "Data quality"}]
    external_views = [
        {"name": "Data quality", "href": "data-quality/", "destination": "nav", "url_route": "data-quality"},
        {"name": "Data quality", "href": "data-quality/runs/{DAG_ID}/{RUN_ID}", "destination": "dag_run", "url_route": "data-quality-run"},
    ]
