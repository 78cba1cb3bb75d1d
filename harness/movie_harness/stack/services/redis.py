"""Redis (Debian package) with an append-only file."""

from __future__ import annotations

import shutil
from pathlib import Path

from movie_harness.stack.services.base import Service, StackError


class Redis(Service):
    name = "redis"

    def command(self) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise StackError("redis-server is missing: run `make setup` (installs the Debian package redis-server)")
        return [
            binary, "--bind", self.host, "--port", str(self.port), "--dir", str(self.data_dir),
            "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no", "--protected-mode", "no",
        ]  # fmt: skip

    def is_ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=self.host, port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False
