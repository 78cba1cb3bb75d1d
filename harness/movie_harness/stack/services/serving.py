"""The demo's TMDB simulator and serving API, run as stack services (``make demo`` starts them)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from movie_harness.stack.services.base import Service
from movie_harness.stack.services.cassandra import Cassandra
from movie_pipeline.processes import http_json

BIN = Path(sys.executable).parent
DEMO_TMDB_KEY = "0123456789abcdef0123456789abcdef"  # the simulator accepts any 32-hex key; not a secret


class TmdbSimulator(Service):
    """The offline TMDB (``movie-pipeline tmdb-sim``); ``DEMO_MOVIES`` movies (default 1000)."""

    name = "tmdb-simulator"
    optional = True

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/3"

    def command(self) -> list[str]:
        movies = os.environ.get("DEMO_MOVIES", "1000")
        return [str(BIN / "movie-pipeline"), "tmdb-sim", "--host", self.host, "--port", str(self.port), "--movies", movies]

    def is_ready(self) -> bool:
        return http_json(f"{self.base_url}/genre/movie/list?api_key={DEMO_TMDB_KEY}") is not None


class ServingApi(Service):
    """``movie-pipeline serve`` on the stack's MongoDB, Redis and Cassandra, two workers."""

    name = "api"
    optional = True
    depends_on = ("mongo", "redis", "cassandra")

    def environment(self) -> dict[str, str]:
        ports, host = self.settings.ports, self.host
        return {
            **os.environ,
            "MONGO_URI": f"mongodb://{host}:{ports['mongo']}",
            "REDIS_URL": f"redis://{host}:{ports['redis']}/0",
            "CASSANDRA_HOSTS": ",".join(Cassandra(self.settings).hosts),
            "CASSANDRA_PORT": str(ports["cassandra"]),
            **({"CASSANDRA_REPLICATION": str(self.settings.cassandra_nodes)} if self.settings.cluster else {}),
        }

    def command(self) -> list[str]:
        return [str(BIN / "movie-pipeline"), "serve", "--host", self.host, "--port", str(self.port), "--workers", "2"]

    def is_ready(self) -> bool:
        return http_json(f"http://{self.host}:{self.port}/healthz") == {"status": "ok"}
