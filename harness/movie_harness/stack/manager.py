"""``movie-pipeline stack up|down|status|logs``: the local stack as a whole.

Services start in waves (a service waits for the ones it depends on) and, within a wave, side by
side; each wave is awaited with the services' readiness checks. ``up`` and ``down`` are
idempotent: a ready service is left alone (unless ``up`` has just started one it depends on), a
stopped one is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from movie_harness.stack.services import Service, StackError, StackSettings, all_services
from movie_pipeline.processes import owned_process, rss_mb, spawn, tail, terminate, terminate_together

POLL_S = 0.5


def _group(name: str, services: list[Service]) -> list[str]:
    """A service's name, or a group's (``airflow``, ``kafka``, ``cassandra``, ``hdfs``, ``spark``): the names it stands for."""
    return [s.name for s in services if s.name == name or s.name.startswith(f"{name}-")]


def _dependencies(service: Service, services: list[Service]) -> set[str]:
    """What a service depends on, groups expanded (the API's ``cassandra`` is every Cassandra node of the profile)."""
    return {member for dependency in service.depends_on for member in _group(dependency, services)}


def select(settings: StackSettings, names: list[str] | None, with_dependencies: bool, everything: bool = False) -> list[Service]:
    """The services named (``airflow``, ``kafka``, ``cassandra``, ``hdfs`` and ``spark`` name their groups), in start order.

    No names: the core services, or with ``everything`` the optional ones (the demo's) as well."""
    services = all_services(settings)
    if not names:
        return services if everything else [s for s in services if not s.optional]
    by_name = {s.name: s for s in services}
    wanted: set[str] = set()
    for name in names:
        group = _group(name, services)
        if not group:
            groups = sorted({s.name.split("-")[0] for s in services if "-" in s.name})
            raise StackError(
                f"unknown service {name!r}; the {settings.profile} profile has: {', '.join(by_name)} (and the groups {', '.join(groups)})"
            )
        wanted.update(group)
    if with_dependencies:
        pending = list(wanted)
        while pending:
            for dependency in _dependencies(by_name[pending.pop()], services):
                if dependency not in wanted:
                    wanted.add(dependency)
                    pending.append(dependency)
    return [s for s in services if s.name in wanted]


def _waves(services: list[Service]) -> list[list[Service]]:
    names = {s.name for s in services}
    done: set[str] = set()
    waves = []
    remaining = list(services)
    while remaining:
        wave = [s for s in remaining if all(d in done or d not in names for d in _dependencies(s, services))]
        if not wave:
            raise StackError(f"dependency cycle among {[s.name for s in remaining]}")
        waves.append(wave)
        done.update(s.name for s in wave)
        remaining = [s for s in remaining if s not in wave]
    return waves


def up(settings: StackSettings, names: list[str] | None = None, emit: Callable[[str], None] = print) -> float:
    """Start the services (and what they depend on); return the seconds it took."""
    started = time.monotonic()
    started_now: set[str] = set()
    for wave in _waves(select(settings, names, with_dependencies=True)):
        starting: list[Service] = []
        for service in wave:
            process = owned_process(service.pid_file)
            restarted_dependencies = sorted(started_now.intersection(_dependencies(service, all_services(settings))))
            if process is not None and restarted_dependencies:
                # it still holds connections to the dependency's old process: Airflow's components exit on them,
                # some only seconds after this up would have found them ready
                emit(f"{service.name:<22} restarting: {', '.join(restarted_dependencies)} started again")
                terminate(process, service.stop_signal)
                service.pid_file.unlink(missing_ok=True)
                process = None
            elif process is not None and service.is_ready():
                emit(f"{service.name:<22} ready (already running, pid {process.pid})")
                continue
            if process is None:
                _start(service, emit)
                started_now.add(service.name)
            starting.append(service)
        _await_ready(starting, emit)
    elapsed = time.monotonic() - started
    emit(f"stack ready in {elapsed:.1f} s")
    return elapsed


def _start(service: Service, emit: Callable[[str], None]) -> None:
    service.prepare()
    pid = spawn(service.command(), service.log_file, service.pid_file, service.environment(), service.home)
    emit(f"{service.name:<22} starting (pid {pid}, log {service.log_file})")


def _await_ready(services: list[Service], emit: Callable[[str], None]) -> None:
    """Wait for the services to be ready; one that exits during start-up is started once more.

    The retry is for a dependency that answered its readiness probe and then briefly went away
    again (PostgreSQL restarted after a crash can do this while it finishes recovery): the
    service is started again after its dependencies answer once more. A second exit fails.
    """
    begun = time.monotonic()
    waiting = list(services)
    restarted: set[str] = set()
    while waiting:
        for service in list(waiting):
            if owned_process(service.pid_file) is None:
                exited = f"{service.name} exited during start-up; the end of {service.log_file}:\n{tail(service.log_file)}"
                if service.name in restarted:
                    raise StackError(exited)
                emit(exited)
                _await_dependencies(service, emit)
                restarted.add(service.name)
                _start(service, emit)
            elif service.is_ready():
                service.after_ready()
                emit(f"{service.name:<22} ready after {time.monotonic() - begun:.1f} s")
                waiting.remove(service)
            elif time.monotonic() - begun > service.start_timeout_s:
                raise StackError(
                    f"{service.name} was not ready after {service.start_timeout_s:.0f} s; the end of {service.log_file}:\n{tail(service.log_file)}"
                )
        if waiting:
            time.sleep(POLL_S)


def _await_dependencies(service: Service, emit: Callable[[str], None]) -> None:
    services = all_services(service.settings)
    dependencies = [s for s in services if s.name in _dependencies(service, services)]
    for dependency in dependencies:
        deadline = time.monotonic() + dependency.start_timeout_s
        while not dependency.is_ready():
            if owned_process(dependency.pid_file) is None or time.monotonic() > deadline:
                raise StackError(f"{service.name} cannot be restarted: {dependency.name}, which it needs, is not ready")
            time.sleep(POLL_S)
    emit(f"{service.name:<22} restarting once: {', '.join(service.depends_on) or 'nothing it needs'} ready again")


def down(settings: StackSettings, names: list[str] | None = None, emit: Callable[[str], None] = print) -> None:
    """Stop the services by their recorded pids only: dependents first, each wave side by side."""
    selected = select(settings, names, with_dependencies=False, everything=True)
    for wave in reversed(_waves(selected)):
        stopping = []
        for service in wave:
            process = owned_process(service.pid_file)
            if process is None:
                service.pid_file.unlink(missing_ok=True)
                continue
            emit(f"{service.name:<22} stopping (pid {process.pid})")
            stopping.append((service, process))
        if not stopping:
            continue
        begun = time.monotonic()
        terminate_together([(process, service.stop_signal) for service, process in stopping])
        for service, _ in stopping:
            service.pid_file.unlink(missing_ok=True)
        emit(f"{', '.join(s.name for s, _ in stopping)} stopped in {time.monotonic() - begun:.1f} s")


def status(settings: StackSettings, names: list[str] | None = None) -> list[dict]:
    """One entry per service: name, state (ready/down/failed), host, port, pid, rss_mb, log."""
    rows = []
    for service in select(settings, names, with_dependencies=False, everything=True):
        if service.optional and not names and owned_process(service.pid_file) is None:
            continue  # a demo service that is not running is no news
        process = owned_process(service.pid_file)
        if process is None:
            state = "failed" if service.pid_file.exists() else "down"
        else:
            state = "ready" if service.is_ready() else "failed"
        rows.append(
            {
                "name": service.name,
                "state": state,
                "host": service.host,
                "port": service.port,
                "pid": process.pid if process else None,
                "rss_mb": rss_mb(process) if process else 0.0,
                "log": str(service.log_file),
            }
        )
    return rows


def logs(settings: StackSettings, names: list[str] | None = None, lines: int = 40) -> str:
    parts = []
    for service in select(settings, names, with_dependencies=False, everything=True):
        if service.optional and not names and not service.log_file.exists():
            continue
        parts.append(f"==> {service.log_file} <==\n{tail(service.log_file, lines)}")
    return "\n\n".join(parts)
