"""The README's screenshots of a running `make demo`, with headless Chromium (Playwright):
the Airflow grid of movie_batch, the asset graph, the data-quality page and report, and the Superset
dashboard. Also a check: every chart of the Superset dashboard rendered, none with an error.

    make screenshots      # installs Chromium (Debian) and Playwright (PyPI) when missing

Writes docs/screenshots/*.png; exit status 1 when a page or a chart failed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from browser import airflow_login, photograph  # scripts/, beside this file

from movie_harness import REPO_ROOT
from movie_harness.stack.airflow_api import AirflowApi
from movie_harness.stack.services import StackSettings
from movie_harness.stack.services.superset import Superset

SHOTS = REPO_ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}


def airflow_pages(page, airflow: AirflowApi) -> list[Path]:
    airflow_login(page, airflow)
    gold = next(a for a in airflow("/api/v2/assets?limit=100")["assets"] if a["name"].endswith("movie_summary"))
    views = {
        "airflow-grid.png": f"{airflow.base}/dags/movie_batch",
        "airflow-asset-graph.png": f"{airflow.base}/assets/{gold['id']}",  # gold -> movie_serving_export -> serving views
        "data-quality-page.png": f"{airflow.base}/data-quality/",
    }
    return photograph(page, views, SHOTS, settle_ms=2000)


def superset_dashboard(page, settings: StackSettings) -> tuple[Path, list[str]]:
    """The dashboard's screenshot, and the problems: charts that did not render or show an error."""
    superset = Superset(settings)
    password = re.search(r"password: (\S+)", superset.credentials_file.read_text())[1]
    base = f"http://{settings.host}:{settings.ports['superset']}"
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
    page.set_viewport_size({"width": 1600, "height": 1500})
    page.goto(f"{base}/superset/dashboard/movie-analytics/?standalone=1")
    page.wait_for_selector(".dashboard-component-chart-holder", timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(5000)
    problems = []
    holders = page.locator(".dashboard-component-chart-holder")
    for index in range(holders.count()):
        holder = holders.nth(index)
        title = holder.locator(".header-title").first.inner_text() if holder.locator(".header-title").count() else f"chart {index}"
        if holder.locator(".alert-danger, .ant-alert-error, [role=alert]").count():
            problems.append(f"{title}: {holder.inner_text()[:300]!r}")
        elif not holder.locator("canvas, svg, table, .big-number, .header-line").count():
            problems.append(f"{title}: nothing rendered")
    path = SHOTS / "superset-dashboard.png"
    page.screenshot(path=path, full_page=True)
    return path, problems


def main() -> int:
    from playwright.sync_api import sync_playwright

    settings = StackSettings.from_env()
    airflow = AirflowApi(settings)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        taken = airflow_pages(browser.new_page(viewport=VIEWPORT), airflow)
        dashboard, problems = superset_dashboard(browser.new_page(viewport=VIEWPORT), settings)
        browser.close()
    for path in [*taken, dashboard]:
        print(f"  screenshot: {path.relative_to(REPO_ROOT)}")
    for problem in problems:
        print(f"FAILED chart {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
