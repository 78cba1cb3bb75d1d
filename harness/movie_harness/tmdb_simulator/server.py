"""The TMDB simulator: TMDB v3's HTTP API over the synthetic :class:`Catalogue`.

It reproduces what the client must cope with (``shared/TMDB_API.md`` §7): both credential
styles, TMDB's error envelope and codes, 20-row pages capped at page 500, 100-row change pages,
a per-IP token bucket and connection cap answering 429 with ``Retry-After``, and injectable
faults (5xx, slow responses that time clients out, malformed records). It also serves the daily
ID exports at ``/p/exports/movie_ids_MM_DD_YYYY.json.gz`` (:attr:`TmdbSimulator.exports_url`), as
``files.tmdb.org`` does: gzipped JSON lines, published at 08:00 UTC, kept 3 months, no credential.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sys
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from movie_harness.tmdb_simulator.catalogue import GENRES, Catalogue, paginate

LIST_PAGE_SIZE = 20
CHANGES_PAGE_SIZE = 100
MAX_PAGE = 500
MAX_APPEND = 20
MAX_CHANGES_WINDOW_DAYS = 14
_API_KEY_SHAPE = re.compile(r"^[0-9a-f]{32}$")
_EXPORT_PIECE_LINES = 20_000
_EXPORT_PATH = re.compile(r"^/p/exports/movie_ids_(\d{2})_(\d{2})_(\d{4})\.json\.gz$")

# (HTTP status, TMDB status_code, status_message)
ERRORS = {
    "invalid_key": (401, 7, "Invalid API key: You must be granted a valid key."),
    "not_found": (404, 34, "The resource you requested could not be found."),
    "invalid_page": (400, 22, "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer."),
    "invalid_date": (400, 23, "Invalid date: Dates must be in the format YYYY-MM-DD."),
    "too_many_appends": (400, 27, "Too many append to response objects: The maximum number of remote calls is 20."),
    "window_too_long": (422, 20, "Invalid date range: Should be a range no longer than 14 days."),
    "validation": (400, 18, "Validation failed."),
}
FAULT_5XX = (
    (500, 11, "Internal error: Something went wrong, contact TMDb."),
    (502, 43, "Couldn't connect to the backend server."),
    (503, 9, "Service offline: This service is temporarily offline, try again later."),
    (504, 24, "Your request to the backend server timed out. Try again."),
)
# Discover filters TMDB has and the simulator does not model: refused, never silently ignored.
_UNSUPPORTED_DISCOVER = re.compile(
    r"^(with_|without_|vote_|release_date\.|primary_release_year$|year$|region$|certification|watch_region$)"
)
_SUPPORTED_SORTS = {"primary_release_date.asc", "primary_release_date.desc", "popularity.desc", "popularity.asc"}


class ApiError(Exception):
    def __init__(self, kind: str, detail: str | None = None) -> None:
        self.status, self.code, message = ERRORS[kind]
        self.message = message if detail is None else f"{message} {detail}"
        super().__init__(self.message)


@dataclass
class Faults:
    """Fractions of requests that fail on purpose (each drawn independently)."""

    error_5xx: float = 0.0
    timeout: float = 0.0
    malformed: float = 0.0
    timeout_seconds: float = 15.0

    def __post_init__(self) -> None:
        for name in ("error_5xx", "timeout", "malformed"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault fraction {name}={value} must be between 0 and 1")


@dataclass
class Stats:
    """What the simulator answered, for tests and benchmarks."""

    requests: int = 0
    by_status: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.by_status[status] += 1


class TokenBucket:
    """Per-client token bucket: ``rate`` tokens a second, holding at most ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take a token; return 0 if granted, else the seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens = min(self.burst, self._tokens.get(client, self.burst) + (now - self._stamp.get(client, now)) * self.rate)
            self._stamp[client] = now
            if tokens >= 1.0:
                self._tokens[client] = tokens - 1.0
                return 0.0
            self._tokens[client] = tokens
            return (1.0 - tokens) / self.rate


class TmdbSimulator:
    """Serves the catalogue over HTTP. Use as a context manager or call start()/stop().

    ``now`` fixes the simulator's clock (epoch seconds or a callable); by default it is real time.
    ``api_keys``/``read_tokens`` restrict the accepted credentials; by default any well-formed
    v3 key (32 hex characters) or v4 token (a JWT, ``eyJ...``) is accepted.
    """

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: float = 50.0,
        burst: float | None = None,
        max_connections_per_ip: int = 20,
        faults: Faults | None = None,
        now: float | Callable[[], float] | None = None,
        api_keys: set[str] | None = None,
        read_tokens: set[str] | None = None,
        fault_seed: int | None = None,
    ) -> None:
        self.catalogue = catalogue or Catalogue()
        self.faults = faults or Faults()
        self.stats = Stats()
        self.bucket = TokenBucket(rate_limit, burst if burst is not None else max(1.0, rate_limit))
        self.max_connections_per_ip = max_connections_per_ip
        self.api_keys, self.read_tokens = api_keys, read_tokens
        self._clock = now if callable(now) else (lambda: now) if now is not None else time.time
        self._random = random.Random(fault_seed)
        self._random_lock = threading.Lock()
        self._connections: dict[str, int] = defaultdict(int)
        self._connections_lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self
        self._thread: threading.Thread | None = None
        self._exports: dict[date, bytes] = {}
        self._exports_lock = threading.Lock()

    # ---- lifecycle ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/3"

    @property
    def exports_url(self) -> str:
        """Where the daily ID exports are (``https://files.tmdb.org/p/exports`` at TMDB)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/p/exports"

    def now(self) -> float:
        return self._clock()

    def export_day(self, path: str, now: float | None = None) -> date | None:
        """The day of an export path when that file is published at ``now``; else None."""
        match = _EXPORT_PATH.match(path)
        if match is None:
            return None
        month, day_of_month, year = (int(part) for part in match.groups())
        try:
            day = date(year, month, day_of_month)
        except ValueError:
            return None
        return day if self.catalogue.export_published(day, self.now() if now is None else now) else None

    def export_chunks(self, day: date) -> Iterator[bytes]:
        """The gzipped export of ``day`` in pieces, built as it is sent (a 1M-movie file takes half a minute) and
        kept for the next download (the last two days)."""
        with self._exports_lock:
            cached = self._exports.get(day)
        if cached is not None:
            yield cached
            return
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
        pieces: list[bytes] = []
        lines: list[bytes] = []
        for line in self.catalogue.export_lines(day):
            lines.append(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            if len(lines) == _EXPORT_PIECE_LINES:
                if piece := packer.compress(b"".join(lines)):
                    pieces.append(piece)
                    yield piece
                lines = []
        piece = packer.compress(b"".join(lines)) + packer.flush()
        pieces.append(piece)
        yield piece
        with self._exports_lock:
            self._exports = {**dict(list(self._exports.items())[-1:]), day: b"".join(pieces)}

    def start(self) -> TmdbSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="tmdb-sim", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> TmdbSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- request handling ----------------------------------------------------------------
    def chance(self, fraction: float) -> bool:
        if fraction <= 0:
            return False
        with self._random_lock:
            return self._random.random() < fraction

    def pick(self, options: tuple | list):
        with self._random_lock:
            return self._random.choice(options)

    def connection_opened(self, client: str) -> int:
        with self._connections_lock:
            self._connections[client] += 1
            return self._connections[client]

    def connection_closed(self, client: str) -> None:
        with self._connections_lock:
            self._connections[client] -= 1

    def authenticate(self, query: dict[str, str], authorization: str | None) -> None:
        key = query.get("api_key")
        token = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else None
        if key is not None:
            ok = key in self.api_keys if self.api_keys is not None else bool(_API_KEY_SHAPE.match(key))
        elif token is not None:
            ok = token in self.read_tokens if self.read_tokens is not None else token.startswith("eyJ")
        else:
            ok = False
        if not ok:
            raise ApiError("invalid_key")

    def route(self, path: str, query: dict[str, str], now: float | None = None) -> dict:
        """The answer to a GET of ``path`` as TMDB would give it at ``now`` (default: the clock's time)."""
        now = self.now() if now is None else now
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] != "3":
            raise ApiError("not_found")
        parts = parts[1:]
        page = _page(query)
        if parts == ["genre", "movie", "list"]:
            return {"genres": [{"id": gid, "name": name} for gid, name in GENRES]}
        if parts == ["discover", "movie"]:
            return self._discover(query, page, now)
        if parts == ["movie", "changes"]:
            return self._changes(query, page, now)
        if len(parts) == 3 and parts[:2] == ["trending", "movie"] and parts[2] in ("day", "week"):
            return self._trending(parts[2], page, now)
        if len(parts) in (2, 3) and parts[0] == "movie" and parts[1].isdigit():
            movie_id = int(parts[1])
            if len(parts) == 2:
                append = tuple(a for a in query.get("append_to_response", "").split(",") if a)
                if len(append) > MAX_APPEND:
                    raise ApiError("too_many_appends")
                payload = self.catalogue.details(movie_id, now, append)
                if payload is None:
                    raise ApiError("not_found")
                return payload
            if parts[2] == "reviews":
                if self.catalogue.details(movie_id, now) is None:
                    raise ApiError("not_found")
                return {"id": movie_id, **self.catalogue.review_page(movie_id, page, now)}
        raise ApiError("not_found")

    def _discover(self, query: dict[str, str], page: int, now: float) -> dict:
        unsupported = sorted(k for k in query if _UNSUPPORTED_DISCOVER.match(k))
        if unsupported:
            raise ApiError("validation", f"The TMDB simulator does not model the filter(s) {', '.join(unsupported)}.")
        sort_by = query.get("sort_by", "popularity.desc")
        if sort_by not in _SUPPORTED_SORTS:
            raise ApiError("validation", f"The TMDB simulator supports sort_by {sorted(_SUPPORTED_SORTS)}.")
        include_adult = query.get("include_adult", "false").lower() == "true"
        gte = _date(query.get("primary_release_date.gte"))
        lte = _date(query.get("primary_release_date.lte"))
        catalogue = self.catalogue
        lo, hi = catalogue.index_range(gte, lte)
        total = catalogue.count_listed(lo, hi, now, include_adult)
        start = (page - 1) * LIST_PAGE_SIZE
        if sort_by.startswith("popularity"):
            ranked = catalogue.ranked_by_popularity(lo, hi, now, include_adult)
            if sort_by.endswith(".asc"):
                ranked.reverse()
            indexes = ranked[start : start + LIST_PAGE_SIZE]
        else:
            indexes = catalogue.listed_slice(lo, hi, start, LIST_PAGE_SIZE, now, include_adult, sort_by.endswith(".desc"))
        return {
            "page": page,
            "results": [catalogue.list_item(i, now) for i in indexes],
            "total_pages": max(1, math.ceil(total / LIST_PAGE_SIZE)),
            "total_results": total,
        }

    def _changes(self, query: dict[str, str], page: int, now: float) -> dict:
        start_day, end_day = _date(query.get("start_date")), _date(query.get("end_date"))
        if start_day is None and end_day is None:
            start, end = now - 86400, now
        else:
            end_day = end_day or datetime.fromtimestamp(now, UTC).date()
            start_day = start_day or end_day - timedelta(days=1)
            if (end_day - start_day).days > MAX_CHANGES_WINDOW_DAYS:
                raise ApiError("window_too_long")
            start = datetime.combine(start_day, datetime.min.time(), UTC).timestamp()
            end = datetime.combine(end_day + timedelta(days=1), datetime.min.time(), UTC).timestamp() - 1e-6
        rows = self.catalogue.change_rows(start, end, now)
        return paginate(rows, page, CHANGES_PAGE_SIZE)

    def _trending(self, window: str, page: int, now: float) -> dict:
        catalogue = self.catalogue
        if window == "week":  # a week's trend: popularity as of a few days ago counts too
            ranked = sorted(
                (i for i in range(catalogue.size) if not catalogue.is_deleted(i, now)),
                key=lambda i: (-(catalogue.popularity(i, now) + catalogue.popularity(i, now - 3 * 86400)), i),
            )
        else:
            ranked = catalogue.ranked_by_popularity(0, catalogue.size, now, include_adult=True)
        ranked = ranked[: MAX_PAGE * LIST_PAGE_SIZE]
        body = paginate(ranked, page, LIST_PAGE_SIZE)
        body["results"] = [{**catalogue.list_item(i, now), "media_type": "movie"} for i in body["results"]]
        return body

    def malform(self, body: dict) -> dict:
        """Damage one record of a response the way a bad upstream record looks: a wrong-typed id."""
        records = body.get("results") if isinstance(body.get("results"), list) else None
        if records:
            victim = self.pick(range(len(records)))
            records[victim] = {**records[victim], "id": f"not-an-id-{records[victim].get('id')}"}
        elif "id" in body:
            body["id"] = None
        return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    simulator: TmdbSimulator

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away (killed, timed out) is no error
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self._client = self.client_address[0]
        self._open_connections = self.server.simulator.connection_opened(self._client)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.simulator.connection_closed(self._client)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header on the simulator's clock, as TMDB's own time: the instant the answer was computed for
        (a fast test clock would otherwise move between the body and the header)."""
        if timestamp is None:
            timestamp = getattr(self, "_answered_at", None) or self.server.simulator.now()
        return super().date_time_string(timestamp)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # the access log would carry api_key query parameters; stats are counted instead

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        sim = self.server.simulator
        url = urlsplit(self.path)
        self._answered_at: float | None = None
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path.startswith("/p/exports/"):
            return self._send_export(url.path)
        try:
            if self._open_connections > sim.max_connections_per_ip:
                return self._rate_limited(1)
            sim.authenticate(query, self.headers.get("Authorization"))
            wait = sim.bucket.take(self._client)
            if wait > 0:
                return self._rate_limited(max(1, math.ceil(wait)))
            if sim.chance(sim.faults.timeout):
                time.sleep(sim.faults.timeout_seconds)
            if sim.chance(sim.faults.error_5xx):
                status, code, message = sim.pick(FAULT_5XX)
                return self._send(status, _error_body(code, message))
            self._answered_at = sim.now()
            body = sim.route(url.path, query, self._answered_at)
            if sim.chance(sim.faults.malformed):
                body = sim.malform(body)
            self._send(200, body, cache=True)
        except ApiError as err:
            self._send(err.status, _error_body(err.code, err.message))

    def _send_export(self, path: str) -> None:
        """An export file as CloudFront serves it (no credential, no rate limit, chunked while it is built); a
        missing one is a 404."""
        sim = self.server.simulator
        self._answered_at = sim.now()
        day = sim.export_day(path, self._answered_at)
        sim.stats.count(200 if day is not None else 404)
        try:
            if day is None:
                body = b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                self.send_response(404)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in sim.export_chunks(day):
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _rate_limited(self, retry_after: int) -> None:
        count = self.server.simulator.stats.by_status.get(429, 0) + 1
        body = _error_body(25, f"Your request count ({count}) is over the allowed limit of (40).")
        self._send(429, body, headers={"Retry-After": str(retry_after)})

    def _send(self, status: int, body: dict, cache: bool = False, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.server.simulator.stats.count(status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Server", "openresty")
            if cache:
                self.send_header("Cache-Control", "public, max-age=28800")
                self.send_header("ETag", f'W/"{hashlib.md5(data).hexdigest()}"')
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout fault); nothing to answer


def _error_body(code: int, message: str) -> dict:
    return {"success": False, "status_code": code, "status_message": message}


def _page(query: dict[str, str]) -> int:
    raw = query.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise ApiError("invalid_page")
    return int(raw)


def _date(raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError("invalid_date") from None
