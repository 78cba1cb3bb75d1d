"""Background processes of the local stack: started detached, tracked by pid file, stopped by pid.

A pid alone is not trusted: the pid file records the pid and the process's start time, and a
pid is only "ours" while the live process has that start time, so a recycled pid is never
signalled. (Command lines and environments are no good for this: Airflow, Redis and PostgreSQL
rewrite their process titles over that memory.) On Linux the start time is the kernel's count of
clock ticks since boot, not a wall-clock time: psutil's create_time() adds the boot time, which
the kernel derives from the wall clock, so it moves when the clock is stepped (NTP, a resumed VM)
and a live process would look like a stranger.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

TICKS = "ticks:"


def start_stamp(process: psutil.Process) -> str:
    """When the process started, in a form no change of the system clock moves (see the module's docstring)."""
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
        return TICKS + stat.rsplit(")", 1)[1].split()[19]  # field 22, starttime; the name in (...) may hold spaces
    except (OSError, IndexError):
        return f"{process.create_time():.3f}"


def owned_process(pid_file: Path) -> psutil.Process | None:
    """The live process recorded in ``pid_file``, if it is still the one that was started."""
    try:
        pid_text, started_text = pid_file.read_text().split()
        process = psutil.Process(int(pid_text))
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if started_text.startswith(TICKS) and start_stamp(process) == started_text:
            return process
        if not started_text.startswith(TICKS) and abs(process.create_time() - float(started_text)) < 0.01:
            return process  # a pid file written before the ticks, or where there is no /proc
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    return None


def spawn(command: list[str], log_file: Path, pid_file: Path, env: dict[str, str], cwd: Path) -> int:
    """Start ``command`` in its own session, output appended to ``log_file``; record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True
        )
    pid_file.write_text(f"{process.pid} {start_stamp(psutil.Process(process.pid))}\n")
    return process.pid


def terminate(process: psutil.Process, stop_signal: int = signal.SIGTERM, grace_s: float = 30.0) -> None:
    """Signal the process to stop; SIGKILL it and any descendant still alive after ``grace_s``."""
    terminate_together([(process, stop_signal)], grace_s)


def terminate_together(processes: list[tuple[psutil.Process, int]], grace_s: float = 30.0) -> None:
    """Signal every process at once, then wait for them all; SIGKILL whatever is alive after ``grace_s``.

    Stopping side by side costs the slowest process's shutdown, not the sum of them all."""
    family: list[psutil.Process] = []
    for process, stop_signal in processes:
        try:
            members = [process, *process.children(recursive=True)]
            process.send_signal(stop_signal)
        except psutil.NoSuchProcess:
            continue
        family.extend(members)
    _, alive = psutil.wait_procs(family, timeout=grace_s)
    for member in alive:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


def rss_mb(process: psutil.Process) -> float:
    """Resident memory of the process and all its descendants, in MiB."""
    total = 0
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for member in family:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return round(total / 2**20, 1)


def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_json(url: str, timeout: float = 3.0) -> dict | None:
    """The JSON object a local URL answers with, or None when it does not answer (one request)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local URLs only
            body = json.load(response) if 200 <= response.status < 300 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log written)"
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 16384))
        text = handle.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])
