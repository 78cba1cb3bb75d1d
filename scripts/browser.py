"""What the screenshot scripts share: signing in to Airflow's UI and photographing pages (Playwright)."""

from __future__ import annotations

from pathlib import Path

from movie_harness.stack.airflow_api import AirflowApi


def airflow_login(page, airflow: AirflowApi) -> None:
    page.goto(f"{airflow.base}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", airflow.password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)
    page.wait_for_load_state("networkidle")


def photograph(page, views: dict[str, str], folder: Path, settle_ms: int = 1500) -> list[Path]:
    """Each URL once it is idle (and ``settle_ms`` later, for the charts' animations), as ``folder/<name>``."""
    taken = []
    for name, url in views.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(settle_ms)
        page.screenshot(path=folder / name)
        taken.append(folder / name)
    return taken
