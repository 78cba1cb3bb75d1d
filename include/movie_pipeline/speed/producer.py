"""``movie-pipeline produce``: TMDB -> Kafka (Avro, Confluent wire format), polled at a cadence.

Each poll reads, inside the shared TMDB rate limit:

- trending (day and week) pages: a metric event per listed movie;
- the ids changed today (``/movie/changes``) and the top trending movies: their details with the
  first page of reviews: a metric event, a metadata event (or ``deleted`` for a 404), and a review
  event per new or edited review.

Event time is TMDB's own: the response's ``Date`` header for metrics and metadata, ``updated_at``
for reviews. Only what differs from what was already sent is produced (``SentLedger``, on disk),
keyed by movie id, with an idempotent producer (``acks=all``, ``enable.idempotence``). Stop it
with SIGTERM or Ctrl-C: it finishes the poll, flushes and records what Kafka acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from movie_pipeline.config import Settings
from movie_pipeline.errors import TmdbUnavailableError
from movie_pipeline.schemas.avro import METADATA, METRIC, REVIEW, EventType
from movie_pipeline.speed import cassandra
from movie_pipeline.speed.jobs import PRODUCER
from movie_pipeline.speed.ledger import SentLedger, metadata_fingerprint
from movie_pipeline.speed.registry import registry_for
from movie_pipeline.speed.wire import frame
from movie_pipeline.tmdb.client import TmdbClient, TmdbResponse, gather_bounded

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollPlan:
    trending_pages: int = 2  # per window (day, week), 20 movies a page
    max_detail_movies: int = 100  # details (+ reviews) fetched per poll


@dataclass
class ProducerStats:
    polls: int = 0
    sent: dict[str, int] = field(default_factory=dict)  # acknowledged, by topic
    failed: int = 0
    failed_polls: int = 0  # polls given up after TMDB kept failing (the next poll reads the current state again)
    last_poll_at: float | None = None

    def prometheus(self) -> str:
        lines = [
            "# TYPE movie_producer_polls_total counter",
            f"movie_producer_polls_total {self.polls}",
            "# TYPE movie_producer_events_sent_total counter",
            *(f'movie_producer_events_sent_total{{topic="{topic}"}} {count}' for topic, count in sorted(self.sent.items())),
            "# TYPE movie_producer_delivery_failures_total counter",
            f"movie_producer_delivery_failures_total {self.failed}",
            "# TYPE movie_producer_failed_polls_total counter",
            f"movie_producer_failed_polls_total {self.failed_polls}",
            "# TYPE movie_producer_last_poll_timestamp_seconds gauge",
            f"movie_producer_last_poll_timestamp_seconds {self.last_poll_at or 0}",
        ]
        return "\n".join(lines) + "\n"


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def metric_event(movie: dict, at: datetime, source: str) -> dict | None:
    try:
        return {
            "movie_id": int(movie["id"]),
            "event_time": at,
            "popularity": float(movie["popularity"]),
            "vote_average": float(movie["vote_average"]),
            "vote_count": int(movie["vote_count"]),
            "source": source,
        }
    except (KeyError, TypeError, ValueError):
        return None  # a movie without usable metrics is no metric event; bronze keeps the raw answer


def metadata_event(movie_id: int, details: TmdbResponse) -> dict:
    at = details.served_at or datetime.now(UTC)
    if details.status == 404:
        return {"movie_id": movie_id, "event_time": at, "deleted": True}
    payload = details.payload
    return {
        "movie_id": movie_id,
        "event_time": at,
        "deleted": False,
        "title": payload.get("title") or None,
        "original_language": payload.get("original_language") or None,
        "release_date": payload.get("release_date") or None,
        "genre_ids": [int(g["id"]) for g in payload.get("genres") or [] if isinstance(g, dict) and "id" in g],
        "status": payload.get("status") or None,
        "runtime": payload.get("runtime") or None,
        "changed_keys": [],
    }


def review_events(movie_id: int, reviews: dict) -> list[dict]:
    events = []
    for review in reviews.get("results") or []:
        updated, created = _time(review.get("updated_at")), _time(review.get("created_at"))
        if not review.get("id") or updated is None:
            continue
        rating = (review.get("author_details") or {}).get("rating")
        events.append(
            {
                "review_id": review["id"],
                "movie_id": movie_id,
                "event_time": updated,
                "created_at": created or updated,
                "author": review.get("author") or "",
                "rating": None if rating is None else float(rating),
                "content": review.get("content") or "",
            }
        )
    return events


async def poll(client: TmdbClient, ledger: SentLedger, plan: PollPlan) -> list[tuple[EventType, dict]]:
    """One poll of TMDB: the events that differ from what the ledger says was sent."""
    found: list[tuple[EventType, dict]] = []
    trending_day: list[int] = []
    for window in ("day", "week"):
        for page in range(1, plan.trending_pages + 1):
            response = await client.trending(window, page)
            at = response.served_at or datetime.now(UTC)
            for movie in response.payload.get("results") or []:
                event = metric_event(movie, at, f"trending/movie/{window}")
                if event:
                    found.append((METRIC, event))
                    if window == "day":
                        trending_day.append(event["movie_id"])
    today = (response.served_at or datetime.now(UTC)).date()
    changed = [int(item["id"]) for page in await client.changes(today, today) for item in page.payload.get("results") or []]
    movie_ids = list(dict.fromkeys(changed + trending_day))[: plan.max_detail_movies]
    details = await gather_bounded(movie_ids, lambda movie_id: client.movie(movie_id, append=("reviews",)))
    for movie_id, response in zip(movie_ids, details, strict=True):
        found.append((METADATA, metadata_event(movie_id, response)))
        if response.status == 404:
            continue
        metric = metric_event(response.payload, response.served_at or datetime.now(UTC), "movie")
        if metric:
            found.append((METRIC, metric))
        found.extend((REVIEW, event) for event in review_events(movie_id, response.payload.get("reviews") or {}))
    return [(event_type, event) for event_type, event in _latest_metric_per_movie(found) if _is_new(ledger, event_type, event)]


def _latest_metric_per_movie(found: list[tuple[EventType, dict]]) -> list[tuple[EventType, dict]]:
    """A movie listed twice in one poll (day and week, details) gives one metric event: the last seen."""
    last_metric = {event["movie_id"]: i for i, (event_type, event) in enumerate(found) if event_type is METRIC}
    return [pair for i, pair in enumerate(found) if pair[0] is not METRIC or last_metric[pair[1]["movie_id"]] == i]


def _is_new(ledger: SentLedger, event_type: EventType, event: dict) -> bool:
    if event_type is METRIC:
        return ledger.metric_is_new(event["movie_id"], event["popularity"], event["vote_average"], event["vote_count"])
    if event_type is REVIEW:
        return ledger.review_is_new(event["review_id"], int(event["event_time"].timestamp() * 1000))
    return ledger.metadata_is_new(event["movie_id"], metadata_fingerprint(event))


class EventProducer:
    """Kafka side: frames events and records them in the ledger once acknowledged."""

    def __init__(self, settings: Settings, ledger: SentLedger, stats: ProducerStats) -> None:
        from confluent_kafka import Producer

        self.ledger, self.stats = ledger, stats
        registry = registry_for(settings.speed)
        self.schema_ids = {event_type.name: registry.register(event_type) for event_type in (METRIC, REVIEW, METADATA)}
        self.kafka = Producer(
            {
                "bootstrap.servers": settings.speed.kafka_bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 20,
                "compression.type": "lz4",
            }
        )

    def send(self, event_type: EventType, event: dict) -> None:
        def delivered(error, message) -> None:  # noqa: ARG001 - confluent-kafka's delivery callback
            if error is None:
                self.ledger.record(event_type.name, event)
                self.stats.sent[event_type.topic] = self.stats.sent.get(event_type.topic, 0) + 1
            else:
                self.stats.failed += 1
                log.warning("Kafka did not take an event for movie %s on %s: %s", event["movie_id"], event_type.topic, error)

        value = frame(self.schema_ids[event_type.name], event_type.parsed, event)
        while True:
            try:
                self.kafka.produce(event_type.topic, key=str(event["movie_id"]).encode(), value=value, on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain
                self.kafka.poll(0.5)
        self.kafka.poll(0)

    def flush(self, timeout: float = 60.0) -> int:
        """Wait for Kafka's acknowledgements; return how many events are still unacknowledged."""
        left = self.kafka.flush(timeout)
        self.ledger.commit()
        return left


def serve_metrics(stats: ProducerStats, port: int, host: str = "127.0.0.1") -> None:
    """Prometheus text at http://<host>:<port>/metrics, from a daemon thread."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            body = stats.prometheus().encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="producer-metrics", daemon=True).start()


def run(
    settings: Settings,
    ledger_path: Path,
    every_s: float,
    plan: PollPlan = PollPlan(),  # noqa: B008 - frozen dataclass
    polls: int | None = None,
    metrics_port: int | None = None,
    emit: Callable[[str], None] = print,
) -> ProducerStats:
    """Poll every ``every_s`` seconds until stopped (or ``polls`` times); return the counts."""
    settings.tmdb.require_credentials()
    stats = ProducerStats()
    ledger = SentLedger(ledger_path)
    producer = EventProducer(settings, ledger, stats)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    if metrics_port:
        serve_metrics(stats, metrics_port, settings.speed.metrics_host)
    try:
        while not stopping.is_set() and (polls is None or stats.polls + stats.failed_polls < polls):
            started = time.monotonic()
            try:
                events = asyncio.run(_poll_once(settings, ledger, plan))
            except TmdbUnavailableError as error:
                # TMDB's answers are states, not a stream: the next poll reads what this one missed
                stats.failed_polls += 1
                log.error("poll given up, TMDB kept failing (%d polls given up so far): %s", stats.failed_polls, error)
                stopping.wait(every_s)
                continue
            for event_type, event in events:
                producer.send(event_type, event)
            unacknowledged = producer.flush()
            stats.polls += 1
            stats.last_poll_at = time.time()
            _heartbeat(settings, stats.polls)
            emit(f"poll {stats.polls}: {len(events)} new events, {unacknowledged} unacknowledged, ledger {ledger.counts()}")
            stopping.wait(max(0.0, every_s - (time.monotonic() - started)))
    finally:
        producer.flush()
        ledger.close()
    return stats


def _heartbeat(settings: Settings, polls: int) -> None:
    """Tell the supervisor this poll finished; a missing Cassandra must not stop the producing."""
    try:
        cassandra.record_progress(settings.speed, PRODUCER, polls)
    except Exception as error:  # noqa: BLE001 - any driver failure is the same "no heartbeat"
        log.warning("could not record the producer's progress in Cassandra: %s", error)


async def _poll_once(settings: Settings, ledger: SentLedger, plan: PollPlan) -> list[tuple[EventType, dict]]:
    async with TmdbClient(settings.tmdb) as client:
        return await poll(client, ledger, plan)
