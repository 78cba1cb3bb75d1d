"""``movie-pipeline``: the command line of the movie analytics pipeline.

Errors the user can act on are printed as one line, ``movie-pipeline: error: ...``, exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from movie_pipeline.errors import PipelineError


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{raw} is not a fraction between 0 and 1")
    return value


def _positive(kind):
    def parse(raw: str):
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{raw} must be positive")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="movie-pipeline",
        description="Lambda-architecture analytics over TMDB movie data: ingestion, the offline TMDB simulator and more.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details (retries, 429 pauses)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = commands.add_parser(
        "tmdb-sim",
        help="serve the offline TMDB simulator until interrupted",
        description="Serve TMDB's v3 HTTP API over a deterministic synthetic catalogue, with TMDB's rate "
        "limiting and optional injected faults. Point TMDB_BASE_URL at the printed URL; any 32-hex-character "
        "TMDB_API_KEY (or a TMDB_READ_TOKEN starting with eyJ) is accepted.",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    sim.add_argument("--movies", type=_positive(int), default=2000, help="catalogue size (default 2000; 1000000 works)")
    sim.add_argument("--seed", type=int, default=42, help="catalogue seed: same seed, same catalogue (default 42)")
    sim.add_argument(
        "--rate-limit",
        type=_positive(float),
        default=50.0,
        metavar="REQ_PER_S",
        help="requests per second per client IP before 429 (default 50, TMDB's ceiling)",
    )
    sim.add_argument("--fault-5xx", type=_fraction, default=0.0, metavar="FRACTION", help="fraction of requests answered 500/502/503/504")
    sim.add_argument(
        "--fault-timeout",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="fraction of requests answered only after --fault-timeout-seconds",
    )
    sim.add_argument(
        "--fault-timeout-seconds",
        type=_positive(float),
        default=15.0,
        metavar="SECONDS",
        help="delay of a slow response (default 15, past the client's 10 s timeout)",
    )
    sim.add_argument(
        "--fault-malformed",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="fraction of responses with one malformed record (a non-integer id)",
    )
    sim.add_argument("--now", metavar="ISO8601", help="freeze the simulator's clock at this time (default: real time)")

    ingest = commands.add_parser(
        "ingest",
        help="ingest one data interval from TMDB into bronze",
        description="Ingest the data interval [START, END) into the lake's bronze layer: a full load when bronze "
        "is empty or --full is given, otherwise the movies TMDB lists as changed on the interval's days. "
        "Re-running an interval replaces it. Settings: TMDB_BASE_URL, TMDB_API_KEY or TMDB_READ_TOKEN, "
        "TMDB_RATE_LIMIT, TMDB_CONCURRENCY, LAKE_URI (see the README).",
    )
    ingest.add_argument(
        "--start", required=True, metavar="ISO8601", help="interval start, inclusive (UTC if no zone), e.g. 2026-11-20T00:00:00Z"
    )
    ingest.add_argument("--end", required=True, metavar="ISO8601", help="interval end, exclusive, e.g. 2026-11-20T04:00:00Z")
    ingest.add_argument("--full", action="store_true", help="list every movie with discover, even when bronze has data")

    produce = commands.add_parser(
        "produce",
        help="poll TMDB and produce metric, review and metadata events to Kafka (the speed layer's input)",
        description="Poll TMDB every --every seconds (trending, today's changes, details and reviews of active movies) and "
        "produce what is new as Avro events (Confluent wire format) to Kafka; what was sent is remembered in --ledger "
        "across restarts. Stop with SIGTERM or Ctrl-C (it flushes first). Settings: TMDB_*, KAFKA_BOOTSTRAP_SERVERS, "
        "SCHEMA_REGISTRY_URL, CASSANDRA_HOSTS (progress heartbeats), see the README.",
    )
    produce.add_argument(
        "--every", type=_positive(float), default=None, metavar="SECONDS", help="poll interval (default PRODUCER_EVERY_S, 60)"
    )
    produce.add_argument("--polls", type=_positive(int), default=None, help="stop after this many polls (default: run until stopped)")
    produce.add_argument("--trending-pages", type=_positive(int), default=2, help="trending pages per window and poll (default 2)")
    produce.add_argument("--max-movies", type=_positive(int), default=100, help="movies whose details are read per poll (default 100)")
    produce.add_argument(
        "--ledger", type=Path, default=None, help="what was sent, on disk (default PRODUCER_LEDGER, .local/speed/producer-ledger.sqlite)"
    )
    produce.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port (default: PRODUCER_METRICS_PORT, else off)"
    )

    serve = commands.add_parser(
        "serve",
        help="run the REST API over the serving views (FastAPI on uvicorn)",
        description="Serve /v1 (movies, sentiment, trending, analytics), /healthz, /readyz, /metrics and the OpenAPI docs "
        "at /docs. Settings: MONGO_URI, MONGO_DATABASE, REDIS_URL, CASSANDRA_*, API_RATE_LIMIT, API_CACHE_TTL_S.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=_positive(int), default=1, help="worker processes (default 1)")

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

    stack = commands.add_parser(
        "stack",
        help="run the local stack of real services (PostgreSQL, Airflow, Redis, Kafka, MongoDB protocol)",
        description="Start, stop and inspect the local services as background processes; data, logs and pids live "
        "under .local/stack (STACK_STATE_DIR). Ports: STACK_<SERVICE>_PORT, e.g. STACK_POSTGRES_PORT (see the README).",
    )
    stack_commands = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")
    for action, text in (
        ("up", "start the services (all, or those named, with what they need) and wait until they are ready"),
        ("down", "stop the services (all, or those named) by the pids the stack recorded"),
        ("status", "show each service's state, address, pid and memory"),
        ("logs", "show the end of the services' logs"),
    ):
        sub = stack_commands.add_parser(action, help=text, description=text)
        sub.add_argument("services", nargs="*", metavar="SERVICE", help="postgres, redis, kafka, mongo, airflow (or one airflow-* part)")
        sub.add_argument("--kafka-brokers", type=int, choices=(1, 3), default=None, help="Kafka nodes: 1 (default) or a 3-node quorum")
        if action == "status":
            sub.add_argument("--json", action="store_true", help="print a JSON list (name, state, host, port, pid, rss_mb, log)")
        if action == "logs":
            sub.add_argument("-n", "--lines", type=int, default=40, help="lines per log (default 40)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "tmdb-sim":
            return _serve_simulator(args)
        if args.command == "ingest":
            return _ingest(args)
        if args.command == "stack":
            return _stack(args)
        if args.command == "produce":
            return _produce(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "api-keys":
            return _api_keys(args)
    except PipelineError as err:
        print(f"movie-pipeline: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("movie-pipeline: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _serve_simulator(args: argparse.Namespace) -> int:
    from movie_pipeline.intervals import parse_instant
    from movie_pipeline.tmdb.simulator import Catalogue, Faults, TmdbSimulator

    now = parse_instant(args.now, "--now").timestamp() if args.now else None
    faults = Faults(
        error_5xx=args.fault_5xx, timeout=args.fault_timeout, malformed=args.fault_malformed, timeout_seconds=args.fault_timeout_seconds
    )
    try:
        simulator = TmdbSimulator(
            Catalogue(args.movies, args.seed), args.host, args.port, rate_limit=args.rate_limit, faults=faults, now=now
        )
    except OSError as err:
        raise PipelineError(f"cannot listen on {args.host}:{args.port} ({err.strerror}); pick another --port") from None
    signal.signal(signal.SIGTERM, _interrupt)
    print(
        f"TMDB simulator: {args.movies} movies (seed {args.seed}), {args.rate_limit:g} req/s per client, serving {simulator.base_url}",
        flush=True,
    )
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        print(f"TMDB simulator stopped after {simulator.stats.requests} requests", flush=True)
    return 0


def _stack(args: argparse.Namespace) -> int:
    import json

    from movie_pipeline.stack import manager
    from movie_pipeline.stack.services import StackSettings

    settings = StackSettings.from_env(kafka_brokers=args.kafka_brokers)
    names = args.services or None
    if args.stack_command == "up":
        manager.up(settings, names)
    elif args.stack_command == "down":
        manager.down(settings, names)
    elif args.stack_command == "logs":
        print(manager.logs(settings, names, args.lines))
    else:
        rows = manager.status(settings, names)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for row in rows:
                print(
                    f"{row['name']:<22} {row['state']:<7} {row['host']}:{row['port']:<6} pid {row['pid'] or '-':<8} {row['rss_mb']:>8.1f} MiB"
                )
        return 0 if all(row["state"] == "ready" for row in rows) else 1
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # stop serving on SIGTERM as on Ctrl-C


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
