"""Secrets come from the environment or Airflow connections only: no tracked file holds one.

The one 32-hex value allowed is the simulator's documented demo key (the simulator takes any
well-formed key; it opens nothing else). The local PostgreSQL roles (the stack's, on loopback, and
docker-compose's, on its private network) have their own name as password, as Airflow's own
compose file does; production takes them from secrets (docs/security.md)."""

import re
import subprocess

from movie_harness.stack.services.serving import DEMO_TMDB_KEY
from tests.conftest import API_KEY, REPO

PATTERNS = {
    "a TMDB v3 key (32 hex characters)": re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{32}(?![0-9a-fA-F])"),
    "a TMDB v4 read token or another JWT": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}"),
    "an API key of ours": re.compile(r"\bmp_[A-Za-z0-9_-]{32}"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a password in a URL": re.compile(r"://(?P<user>[^/\s:@'\"]+):(?!\$|\{|<|\*)(?P<password>[^@/\s'\"]{3,})@"),
}
ALLOWED = {DEMO_TMDB_KEY, API_KEY}


def _local_role(match: re.Match) -> bool:
    groups = match.groupdict()
    return bool(groups.get("user")) and groups["user"] == groups.get("password")


def tracked_text_files():
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        path = REPO / name
        if path.is_file() and b"\0" not in (data := path.read_bytes())[:8192]:
            yield name, data.decode("utf-8", errors="replace")


def test_no_tracked_file_holds_a_secret():
    found = []
    for name, text in tracked_text_files():
        for what, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                if match.group(0) not in ALLOWED and not _local_role(match):
                    found.append(f"{name}:{text.count(chr(10), 0, match.start()) + 1}: {what}")
    assert API_KEY == DEMO_TMDB_KEY and not found, found
