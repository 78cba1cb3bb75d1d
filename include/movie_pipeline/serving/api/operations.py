"""``/healthz`` (the process), ``/readyz`` (MongoDB, Redis, Cassandra), ``/metrics`` (Prometheus)."""

from __future__ import annotations

import logging
from datetime import UTC

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from pymongo.errors import PyMongoError
from starlette.concurrency import run_in_threadpool

from movie_pipeline.serving import store
from movie_pipeline.serving.api.deps import BackendsDep
from movie_pipeline.serving.models import Health, Readiness

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(response: Response, backends: BackendsDep) -> dict:
    checks = {}
    for name, probe in (
        ("mongodb", lambda: run_in_threadpool(backends.db.command, "ping")),
        ("redis", lambda: backends.redis.ping()),
        ("cassandra", lambda: run_in_threadpool(backends.windows.ping)),
    ):
        try:
            await probe()
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001 - readiness reports any failure
            checks[name] = f"{type(error).__name__}: {error}"[:200]
    ready = all(value == "ok" for value in checks.values())
    response.status_code = 200 if ready else 503
    return {"status": "ready" if ready else "not ready", "checks": checks}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, backends: BackendsDep) -> PlainTextResponse:
    """The request, latency and cache series, and how old the serving views are (what the staleness alerts watch)."""
    from prometheus_client import generate_latest

    text = generate_latest(request.app.state.metrics_registry).decode()
    try:
        text += export_freshness(await backends.version())
    except (store.NoServingVersionError, PyMongoError) as error:
        log.info("no export freshness in /metrics: %s", error)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


def export_freshness(version: dict) -> str:
    """Gauges of the current export: when it was published, and as of when its batch part is (Prometheus text)."""
    lines = []
    for name, help_text, at in (
        ("movie_serving_export_timestamp_seconds", "when the current serving version was published", version.get("published_at")),
        (
            "movie_serving_batch_as_of_timestamp_seconds",
            "as of when the batch views of the current version are",
            version.get("batch_as_of"),
        ),
    ):
        if at is not None:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {at.timestamp():.3f}"]
    return "\n".join(lines) + "\n" if lines else ""
