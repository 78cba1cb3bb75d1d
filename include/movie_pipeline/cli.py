"""``movie-pipeline``: the command line of the movie analytics pipeline.

The runtime's commands are here (``ingest``, ``produce``, ``serve``, ``api-keys``); other installed
parts add theirs through the ``movie_pipeline.commands`` entry point group: each entry point is a
``register(commands)`` that adds subparsers with a ``handler`` default (the local harness adds
``tmdb-sim``, ``stack`` and ``demo``). Errors the user can act on are printed as one line,
``movie-pipeline: error: ...``, exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from movie_pipeline.errors import PipelineError

COMMANDS_GROUP = "movie_pipeline.commands"  # entry points adding commands: register(commands)


def fraction(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{raw} is not a fraction between 0 and 1")
    return value


def positive(kind):
    def parse(raw: str):
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{raw} must be positive")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="movie-pipeline",
        description="Lambda-architecture analytics over TMDB movie data: ingestion, the speed layer's producer, the API and its keys.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details (retries, 429 pauses)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        help="ingest one data interval from TMDB into bronze",
        description="Ingest the data interval [START, END) into the lake's bronze layer: a full load when bronze "
        "is empty or --full is given, otherwise the movies TMDB lists as changed on the interval's days. "
        "Re-running a finished interval replaces it; re-running one that was killed or failed resumes it from its last "
        "complete chunk. Settings: TMDB_BASE_URL, TMDB_API_KEY or TMDB_READ_TOKEN, TMDB_RATE_LIMIT, TMDB_CONCURRENCY, "
        "TMDB_EXPORTS_URL, INGEST_CHUNK_MOVIES, LAKE_URI (see the README).",
    )
    ingest.add_argument(
        "--start", required=True, metavar="ISO8601", help="interval start, inclusive (UTC if no zone), e.g. 2026-11-20T00:00:00Z"
    )
    ingest.add_argument("--end", required=True, metavar="ISO8601", help="interval end, exclusive, e.g. 2026-11-20T04:00:00Z")
    ingest.add_argument(
        "--full", action="store_true", help="list every movie (TMDB's daily ID export, else discover), even when bronze has data"
    )
    ingest.set_defaults(handler=_ingest)

    produce = commands.add_parser(
        "produce",
        help="poll TMDB and produce metric, review and metadata events to Kafka (the speed layer's input)",
        description="Poll TMDB every --every seconds (trending, today's changes, details and reviews of active movies) and "
        "produce what is new as Avro events (Confluent wire format) to Kafka; what was sent is remembered in --ledger "
        "across restarts. Stop with SIGTERM or Ctrl-C (it flushes first). Settings: TMDB_*, KAFKA_BOOTSTRAP_SERVERS, "
        "SCHEMA_REGISTRY_URL, CASSANDRA_HOSTS (progress heartbeats), see the README.",
    )
    produce.add_argument(
        "--every", type=positive(float), default=None, metavar="SECONDS", help="poll interval (default PRODUCER_EVERY_S, 60)"
    )
    produce.add_argument("--polls", type=positive(int), default=None, help="stop after this many polls (default: run until stopped)")
    produce.add_argument("--trending-pages", type=positive(int), default=2, help="trending pages per window and poll (default 2)")
    produce.add_argument("--max-movies", type=positive(int), default=100, help="movies whose details are read per poll (default 100)")
    produce.add_argument(
        "--ledger", type=Path, default=None, help="what was sent, on disk (default PRODUCER_LEDGER, .local/speed/producer-ledger.sqlite)"
    )
    produce.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port (default: PRODUCER_METRICS_PORT, else off)"
    )
    produce.set_defaults(handler=_produce)

    serve = commands.add_parser(
        "serve",
        help="run the REST API over the serving views (FastAPI on uvicorn)",
        description="Serve /v1 (movies, sentiment, trending, analytics), /healthz, /readyz, /metrics and the OpenAPI docs "
        "at /docs. Settings: MONGO_URI, MONGO_DATABASE, REDIS_URL, CASSANDRA_*, API_RATE_LIMIT, API_CACHE_TTL_S.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=positive(int), default=1, help="worker processes (default 1)")
    serve.set_defaults(handler=_serve)

    api_keys = commands.add_parser(
        "api-keys",
        help="create, revoke and list the API's keys (stored hashed in MongoDB)",
        description="Keys are shown once, at creation; MongoDB keeps their SHA-256 and a visible prefix. Settings: MONGO_URI, MONGO_DATABASE.",
    )
    key_commands = api_keys.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    create_key = key_commands.add_parser("create", help="create a key and print it (once)")
    create_key.add_argument("name", help="who or what the key is for (letters, digits, '-', '_')")
    revoke_key = key_commands.add_parser("revoke", help="revoke the active keys with this name or prefix")
    revoke_key.add_argument("name_or_prefix")
    key_commands.add_parser("list", help="list the keys: name, prefix, created, revoked")
    api_keys.set_defaults(handler=_api_keys)
    for command in entry_points(group=COMMANDS_GROUP):
        command.load()(commands)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except PipelineError as err:
        print(f"movie-pipeline: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("movie-pipeline: interrupted", file=sys.stderr)
        return 130


def _ingest(args: argparse.Namespace) -> int:
    from movie_pipeline.config import settings_from_env
    from movie_pipeline.ingest import ingest
    from movie_pipeline.intervals import Interval

    interval = Interval.parse(args.start, args.end)
    settings = settings_from_env()

    def emit(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    emit(f"ingesting {interval} from {settings.tmdb.base_url} at up to {settings.tmdb.rate_limit:g} req/s into {settings.lake_uri}")
    summary = ingest(settings, interval, full=args.full, emit=emit)
    print(summary.report())
    return 0


def _produce(args: argparse.Namespace) -> int:
    from movie_pipeline.config import settings_from_env
    from movie_pipeline.speed.producer import PollPlan, run
    from movie_pipeline.speed.topics import ensure_topics

    settings = settings_from_env()
    topics = ensure_topics(settings.speed)
    print(f"producing to {settings.speed.kafka_bootstrap_servers} ({', '.join(topics)}) from {settings.tmdb.base_url}", flush=True)
    stats = run(
        settings,
        args.ledger or settings.speed.producer_ledger,
        args.every or settings.speed.producer_every_s,
        PollPlan(trending_pages=args.trending_pages, max_detail_movies=args.max_movies),
        polls=args.polls,
        metrics_port=args.metrics_port or settings.speed.producer_metrics_port,
        emit=lambda line: print(line, flush=True),
    )
    print(f"stopped after {stats.polls} polls: {sum(stats.sent.values())} events acknowledged, {stats.failed} failed")
    return 0 if stats.failed == 0 else 1


def _serve(args: argparse.Namespace) -> int:
    import tempfile

    import uvicorn

    print(f"API on http://{args.host}:{args.port} (docs: /docs, health: /healthz, readiness: /readyz)", flush=True)
    with tempfile.TemporaryDirectory(prefix="api-metrics-") as metrics_dir:
        if args.workers > 1:  # each worker counts in its own files; /metrics adds them up
            os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", metrics_dir)
        uvicorn.run(
            "movie_pipeline.serving.api:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
            access_log=False,
        )
    return 0


def _api_keys(args: argparse.Namespace) -> int:
    import pymongo

    from movie_pipeline.config import settings_from_env
    from movie_pipeline.serving import keys

    serving = settings_from_env().serving
    client = pymongo.MongoClient(serving.mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True)
    db = client[serving.mongo_database]
    try:
        if args.key_command == "create":
            key = keys.create(db, args.name)
            print(f"API key for {args.name} (shown once; send it as the X-API-Key header):\n{key}")
        elif args.key_command == "revoke":
            print(f"revoked {keys.revoke(db, args.name_or_prefix)} key(s)")
        else:
            rows = keys.all_keys(db)
            print(f"{'name':<24} {'prefix':<10} {'created (UTC)':<20} revoked (UTC)")
            for key in rows:
                revoked = f"{key.revoked_at:%Y-%m-%d %H:%M:%S}" if key.revoked_at else "-"
                print(f"{key.name:<24} {key.prefix:<10} {key.created_at:%Y-%m-%d %H:%M:%S}  {revoked}")
    except pymongo.errors.PyMongoError as error:
        raise PipelineError(
            f"MongoDB at {serving.mongo_database} is not reachable ({type(error).__name__}); start it with `make stack-up`"
        ) from None
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
