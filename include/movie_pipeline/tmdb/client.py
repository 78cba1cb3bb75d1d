"""The TMDB v3 client: rate-limited, retrying, paginating, and careful with the credential.

- One token bucket per process and API host (:func:`shared_limiter`) paces every request, so
  concurrency raises throughput up to ``rate_limit`` and never past it.
- 429: the whole process pauses for ``Retry-After`` seconds (1 when absent), then retries.
- Timeouts, lost connections, 5xx and unparsable bodies: retried up to ``max_retries`` times with
  exponential backoff (0.5 s doubling, capped at 30 s) and jitter.
- The daily ID exports (:meth:`TmdbClient.download_export`) come from TMDB's file host, retried alike.
- 401/400/422 are not retried: they raise a :class:`TmdbError` whose message says what to do.
- The API key travels only in the query string of the wire request: responses record their
  parameters without it, errors name only the path, and httpx's own log lines are redacted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import IO

import httpx

from movie_pipeline.config import TmdbSettings
from movie_pipeline.errors import TmdbAuthError, TmdbError, TmdbRequestError, TmdbUnavailableError
from movie_pipeline.tmdb.ratelimit import shared_limiter

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_PAGE = 500
LIST_PAGE_SIZE = 20
MAX_REACHABLE = MAX_PAGE * LIST_PAGE_SIZE
MAX_CHANGES_WINDOW = timedelta(days=14)
DETAIL_APPENDS = ("credits", "keywords", "reviews", "release_dates")
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.5, 30.0
MAX_THROTTLED_RETRIES = 100


class _RedactApiKey(logging.Filter):
    """Blanks ``api_key=...`` in httpx/httpcore log lines, which print full request URLs."""

    _pattern = re.compile(r"(api_key=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "api_key=" in message:
            record.msg, record.args = self._pattern.sub(r"\1***", message), None
        return True


for _name in ("httpx", "httpcore"):
    if not any(isinstance(f, _RedactApiKey) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_RedactApiKey())


@dataclass
class TmdbResponse:
    """One successful (or 404) response, with what bronze's envelope needs."""

    endpoint: str
    params: dict
    status: int
    payload: dict
    fetched_at: str
    served_at: datetime | None = None  # TMDB's own clock: the response's Date header (not recorded in bronze)

    def envelope(self) -> dict:
        return {
            "fetched_at": self.fetched_at,
            "endpoint": self.endpoint,
            "params": self.params,
            "status": self.status,
            "payload": self.payload,
        }


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    timeouts: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class TmdbClient:
    """Async TMDB client. ``async with TmdbClient(settings) as tmdb: await tmdb.genres()``."""

    def __init__(self, settings: TmdbSettings, on_request: Callable[[], None] | None = None) -> None:
        settings.require_credentials()
        self.settings = settings
        self.stats = ClientStats()
        self.limiter = shared_limiter(settings.base_url, settings.rate_limit)
        self._on_request = on_request
        self._slots = asyncio.Semaphore(settings.concurrency)
        headers = {"Accept": "application/json", "User-Agent": "movie-pipeline/0.1"}
        self._auth_params: dict[str, str] = {}
        if settings.read_token:
            headers["Authorization"] = f"Bearer {settings.read_token}"
        else:
            self._auth_params["api_key"] = settings.api_key or ""
        self._http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(settings.timeout),
            # TLS only matters for https; skipping the CA bundle for plain http saves 0.2 s of start-up
            verify=settings.base_url.startswith("https://"),
            limits=httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency),
        )
        # the daily ID exports: another host, public files, no credential sent
        self._files = httpx.AsyncClient(
            headers={"User-Agent": headers["User-Agent"]},
            timeout=httpx.Timeout(settings.timeout),
            verify=settings.id_exports_url.startswith("https://"),
        )

    async def __aenter__(self) -> TmdbClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()
        await self._files.aclose()

    # ---- the one request path -------------------------------------------------------------
    async def get(
        self, path: str, params: dict | None = None, endpoint: str | None = None, allow_404: bool = False, path_params: dict | None = None
    ) -> TmdbResponse:
        """GET ``path``; retry what is retryable; return the parsed JSON body.

        ``endpoint`` is the path template recorded in bronze (``/movie/{movie_id}``) and
        ``path_params`` its values, recorded with the query parameters. With ``allow_404`` a 404 is
        returned (status 404, TMDB's error body) instead of raised.
        """
        params = dict(params or {})
        recorded = {**(path_params or {}), **params}
        endpoint = endpoint or path
        where = f"{self.settings.base_url.rstrip('/')}{path}"
        failures = 0
        throttled = 0
        while True:
            async with self._slots:
                await self.limiter.acquire()
                self.stats.requests += 1
                if self._on_request:
                    self._on_request()
                fetched_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                try:
                    response = await self._http.get(path, params={**params, **self._auth_params})
                    problem = None
                except httpx.TimeoutException:
                    self.stats.timeouts += 1
                    problem = f"timed out after {self.settings.timeout:g} s"
                except httpx.TransportError as err:
                    problem = f"connection failed ({type(err).__name__}: {self._redact(_first_line(err))})"
            if problem is None:
                status = response.status_code
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
                if status == 429:
                    throttled += 1
                    self.stats.throttled += 1
                    if throttled > MAX_THROTTLED_RETRIES:
                        raise TmdbUnavailableError(
                            f"TMDB kept answering 429 to {where} ({throttled} times); lower TMDB_RATE_LIMIT"
                        ) from None
                    retry_after = _retry_after(response)
                    log.debug("429 from %s; pausing all requests for %.1f s", where, retry_after)
                    self.limiter.pause(retry_after)
                    continue
                if status in RETRY_STATUSES:
                    problem = f"HTTP {status}{_tmdb_code(response)}"
                elif status == 401:
                    raise TmdbAuthError(
                        f"TMDB refused the credentials (HTTP 401{_tmdb_code(response)}): set a valid TMDB_API_KEY "
                        "or TMDB_READ_TOKEN (or the password / read_token of the Airflow connection tmdb_default)"
                    ) from None
                elif status == 404 and allow_404:
                    return TmdbResponse(endpoint, recorded, 404, _json_or_empty(response), fetched_at, _served_at(response))
                elif status >= 400:
                    raise TmdbRequestError(f"TMDB rejected {endpoint} with {params} (HTTP {status}{_tmdb_code(response)})") from None
                else:
                    try:
                        payload = response.json()
                    except ValueError:
                        problem = "an unparsable JSON body"
                    else:
                        if isinstance(payload, dict):
                            return TmdbResponse(endpoint, recorded, status, payload, fetched_at, _served_at(response))
                        problem = "a JSON body that is not an object"
            failures += 1
            await self._back_off(failures, problem, where, "TMDB_BASE_URL")

    async def _back_off(self, failures: int, problem: str, where: str, setting: str) -> None:
        """Wait before retry ``failures`` (0.5 s doubling, capped, jittered), or give up past ``max_retries``."""
        if failures > self.settings.max_retries:
            raise TmdbUnavailableError(
                f"TMDB at {where} failed {failures} times in a row (last: {problem}); check {setting} "
                "and that TMDB (or `movie-pipeline tmdb-sim`) is reachable, then re-run: a re-run resumes the interval"
            ) from None
        self.stats.retries += 1
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (failures - 1))
        log.debug("%s from %s; retry %d in %.2f s", problem, where, failures, delay)
        await asyncio.sleep(delay / 2 + random.uniform(0, delay / 2))

    async def download_export(self, name: str, into: IO[bytes]) -> bool:
        """Download the daily export file ``name`` (its gzip bytes, as served) into ``into``; False when that file is not
        published (yet, or any more: TMDB's file host answers 403 or 404). Retried as API requests are; no credential
        is sent (the files are public)."""
        where = f"{self.settings.id_exports_url}/{name}"
        failures = 0
        while True:
            self.stats.requests += 1
            if self._on_request:
                self._on_request()
            into.seek(0)
            into.truncate()
            try:
                async with self._files.stream("GET", where) as response:
                    status = response.status_code
                    self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
                    if status in (403, 404):
                        return False
                    if status in RETRY_STATUSES:
                        problem = f"HTTP {status}"
                    elif status >= 400:
                        raise TmdbRequestError(f"TMDB's file host refused {where} (HTTP {status})") from None
                    else:
                        async for piece in response.aiter_raw():
                            into.write(piece)
                        return True
            except httpx.TimeoutException:
                self.stats.timeouts += 1
                problem = f"timed out after {self.settings.timeout:g} s"
            except httpx.TransportError as err:
                problem = f"connection failed ({type(err).__name__}: {_first_line(err)})"
            failures += 1
            await self._back_off(failures, problem, where, "TMDB_EXPORTS_URL")

    def _redact(self, text: str) -> str:
        for secret in self.settings.secrets:
            text = text.replace(secret, "***")
        return text

    # ---- endpoints ------------------------------------------------------------------------
    async def genres(self) -> TmdbResponse:
        return await self.get("/genre/movie/list", {"language": "en"})

    async def discover_page(self, gte: date, lte: date, page: int, sort_by: str = "primary_release_date.asc") -> TmdbResponse:
        params = {
            "primary_release_date.gte": gte.isoformat(),
            "primary_release_date.lte": lte.isoformat(),
            "sort_by": sort_by,
            "include_adult": "false",
            "include_video": "false",
            "page": page,
        }
        return await self.get("/discover/movie", params)

    async def discover(self, gte: date, lte: date, on_page: Callable[[TmdbResponse], Awaitable[None] | None]) -> int:
        """Every page of discover for the release-date window [gte, lte], beyond the 500-page cap.

        A window with more than 10,000 results is bisected by date (one primary release date per
        movie, so no movie lands in two windows); a single day over the cap is read in both sort
        orders. Returns the number of results TMDB reported for the whole window.
        """
        first = await self.discover_page(gte, lte, 1)
        total = int(first.payload.get("total_results", 0))
        if total <= MAX_REACHABLE:
            await _call(on_page, first)
            pages = min(MAX_PAGE, int(first.payload.get("total_pages", 1)))
            await gather_bounded(range(2, pages + 1), lambda p: self._discover_into(gte, lte, p, "primary_release_date.asc", on_page))
            return total
        if gte < lte:
            middle = gte + (lte - gte) // 2
            left = await self.discover(gte, middle, on_page)
            right = await self.discover(middle + timedelta(days=1), lte, on_page)
            return left + right
        if total > 2 * MAX_REACHABLE:
            raise TmdbError(f"discover lists {total} movies released on {gte}; more than 20,000 on one day cannot be paged")
        await _call(on_page, first)
        await gather_bounded(range(2, MAX_PAGE + 1), lambda p: self._discover_into(gte, lte, p, "primary_release_date.asc", on_page))
        tail_pages = -(-(total - MAX_REACHABLE) // LIST_PAGE_SIZE)
        await gather_bounded(range(1, tail_pages + 1), lambda p: self._discover_into(gte, lte, p, "primary_release_date.desc", on_page))
        return total

    async def _discover_into(self, gte: date, lte: date, page: int, sort_by: str, on_page) -> None:
        await _call(on_page, await self.discover_page(gte, lte, page, sort_by))

    async def changes(self, start: date, end: date) -> list[TmdbResponse]:
        """Every page of ``/movie/changes`` for the days [start, end], in 14-day slices."""
        pages: list[TmdbResponse] = []
        slice_start = start
        while slice_start <= end:
            slice_end = min(end, slice_start + MAX_CHANGES_WINDOW - timedelta(days=1))
            params = {"start_date": slice_start.isoformat(), "end_date": slice_end.isoformat()}
            first = await self.get("/movie/changes", {**params, "page": 1})
            pages.append(first)
            total_pages = min(MAX_PAGE, int(first.payload.get("total_pages", 1)))
            rest = await gather_bounded(range(2, total_pages + 1), lambda p, q=params: self.get("/movie/changes", {**q, "page": p}))
            pages.extend(rest)
            slice_start = slice_end + timedelta(days=1)
        return pages

    async def movie(self, movie_id: int, append: Iterable[str] = DETAIL_APPENDS) -> TmdbResponse:
        """``/movie/{id}`` with sub-requests appended; a 404 (deleted at TMDB) comes back as status 404."""
        params = {"append_to_response": ",".join(append)} if append else {}
        return await self.get(
            f"/movie/{movie_id}", params, endpoint="/movie/{movie_id}", allow_404=True, path_params={"movie_id": movie_id}
        )

    async def reviews_page(self, movie_id: int, page: int) -> TmdbResponse:
        return await self.get(
            f"/movie/{movie_id}/reviews",
            {"page": page},
            endpoint="/movie/{movie_id}/reviews",
            allow_404=True,
            path_params={"movie_id": movie_id},
        )

    async def trending(self, window: str, page: int = 1) -> TmdbResponse:
        if window not in ("day", "week"):
            raise ValueError("trending window is 'day' or 'week'")
        return await self.get(
            f"/trending/movie/{window}", {"page": page}, endpoint="/trending/movie/{time_window}", path_params={"time_window": window}
        )


async def gather_bounded(items: Iterable, work: Callable[[object], Awaitable], workers: int = 32) -> list:
    """Run ``work(item)`` for every item with at most ``workers`` coroutines alive; results in order.

    The client's own semaphore bounds the requests in flight; this bounds the coroutines, so a
    million-item work list does not create a million tasks at once.
    """
    items = list(items)
    results: list = [None] * len(items)
    cursor = iter(range(len(items)))

    async def worker() -> None:
        for position in cursor:
            results[position] = await work(items[position])

    await asyncio.gather(*(worker() for _ in range(min(workers, len(items)))))
    return results


async def _call(callback, value) -> None:
    outcome = callback(value)
    if asyncio.iscoroutine(outcome):
        await outcome


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return min(60.0, max(0.0, float(raw)))
    except ValueError:
        return 1.0


def _served_at(response: httpx.Response) -> datetime | None:
    try:
        return parsedate_to_datetime(response.headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _tmdb_code(response: httpx.Response) -> str:
    body = _json_or_empty(response)
    if "status_code" in body:
        return f", TMDB code {body['status_code']}: {body.get('status_message', '')}".rstrip(": ")
    return ""


def _json_or_empty(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "no detail"
