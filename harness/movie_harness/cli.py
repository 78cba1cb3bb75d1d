"""The harness's commands of ``movie-pipeline``: ``tmdb-sim``, ``stack`` and ``demo``.

The harness registers them through the ``movie_pipeline.commands`` entry point group (see
``harness/pyproject.toml``); an install without the harness has the runtime's commands only.
"""

from __future__ import annotations

import argparse
import signal

from movie_harness.stack.services.base import PROFILES
from movie_pipeline.cli import fraction, positive
from movie_pipeline.errors import PipelineError


def register(commands: argparse._SubParsersAction) -> None:
    """Add the harness's commands to ``movie-pipeline``'s parser."""
    sim = commands.add_parser(
        "tmdb-sim",
        help="serve the offline TMDB simulator until interrupted",
        description="Serve TMDB's v3 HTTP API over a deterministic synthetic catalogue, with TMDB's rate "
        "limiting and optional injected faults. Point TMDB_BASE_URL at the printed URL; any 32-hex-character "
        "TMDB_API_KEY (or a TMDB_READ_TOKEN starting with eyJ) is accepted.",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    sim.add_argument("--movies", type=positive(int), default=2000, help="catalogue size (default 2000; 1000000 works)")
    sim.add_argument("--seed", type=int, default=42, help="catalogue seed: same seed, same catalogue (default 42)")
    sim.add_argument(
        "--rate-limit",
        type=positive(float),
        default=50.0,
        metavar="REQ_PER_S",
        help="requests per second per client IP before 429 (default 50, TMDB's ceiling)",
    )
    sim.add_argument("--fault-5xx", type=fraction, default=0.0, metavar="FRACTION", help="fraction of requests answered 500/502/503/504")
    sim.add_argument(
        "--fault-timeout",
        type=fraction,
        default=0.0,
        metavar="FRACTION",
        help="fraction of requests answered only after --fault-timeout-seconds",
    )
    sim.add_argument(
        "--fault-timeout-seconds",
        type=positive(float),
        default=15.0,
        metavar="SECONDS",
        help="delay of a slow response (default 15, past the client's 10 s timeout)",
    )
    sim.add_argument(
        "--fault-malformed",
        type=fraction,
        default=0.0,
        metavar="FRACTION",
        help="fraction of responses with one malformed record (a non-integer id)",
    )
    sim.add_argument("--now", metavar="ISO8601", help="freeze the simulator's clock at this time (default: real time)")
    sim.set_defaults(handler=_serve_simulator)

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
        sub.add_argument(
            "services",
            nargs="*",
            metavar="SERVICE",
            help="postgres, redis, kafka, mongo, cassandra, hdfs, airflow, spark (or one node, e.g. kafka-2)",
        )
        sub.add_argument(
            "--profile",
            choices=PROFILES,
            default=None,
            help="default: one process per service; cluster: Spark standalone, HDFS NameNode + 3 DataNodes, 3 Kafka brokers, "
            "3 Cassandra nodes (default: STACK_PROFILE, else default)",
        )
        sub.add_argument(
            "--kafka-brokers", type=int, choices=(1, 3), default=None, help="Kafka nodes: 1 or a 3-node quorum (default: the profile's)"
        )
        if action == "status":
            sub.add_argument("--json", action="store_true", help="print a JSON list (name, state, host, port, pid, rss_mb, log)")
        if action == "logs":
            sub.add_argument("-n", "--lines", type=int, default=40, help="lines per log (default 40)")
    stack.set_defaults(handler=_stack)

    demo = commands.add_parser(
        "demo",
        help="the whole system on this machine, run by Airflow (make demo / make demo-down)",
        description="up: the stack, the TMDB simulator (or the real TMDB), the DAGs unpaused, the first batch, the speed jobs, "
        "the export, the API and the monitoring, then where to look. down: the speed jobs and every service (data stays in .local).",
    )
    demo.add_argument("action", choices=["up", "down"])
    demo.set_defaults(handler=_demo)


def _serve_simulator(args: argparse.Namespace) -> int:
    from movie_harness.tmdb_simulator import Catalogue, Faults, TmdbSimulator
    from movie_pipeline.intervals import parse_instant

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
        f"TMDB simulator: {args.movies} movies (seed {args.seed}), {args.rate_limit:g} req/s per client, serving {simulator.base_url}"
        f" (daily ID exports at {simulator.exports_url})",
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

    from movie_harness.stack import manager
    from movie_harness.stack.services import StackSettings

    settings = StackSettings.from_env(kafka_brokers=args.kafka_brokers, profile=args.profile)
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


def _interrupt(signum: int, frame: object) -> None:  # noqa: ARG001 - a signal handler's signature
    raise KeyboardInterrupt  # stop serving on SIGTERM as on Ctrl-C


def _demo(args: argparse.Namespace) -> int:
    from movie_harness import demo

    return demo.main([args.action])
