"""The stack's planning and process bookkeeping, without starting any service."""

import sys

import psutil
import pytest

from movie_harness.stack import manager
from movie_harness.stack.services import Service, StackError, StackSettings
from movie_pipeline.processes import owned_process, spawn, start_stamp, terminate


@pytest.fixture
def settings(tmp_path):
    return StackSettings(state_dir=tmp_path / "stack")


def test_naming_a_group_selects_it_and_what_it_needs(settings):
    names = [s.name for s in manager.select(settings, ["airflow"], with_dependencies=True)]
    assert names == ["postgres", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]
    assert [s.name for s in manager.select(settings, ["airflow-scheduler"], with_dependencies=False)] == ["airflow-scheduler"]
    with pytest.raises(StackError, match="unknown service 'mysql'"):
        manager.select(settings, ["mysql"], with_dependencies=False)


def test_waves_start_dependencies_first(settings):
    waves = [[s.name for s in wave] for wave in manager._waves(manager.select(settings, None, with_dependencies=True))]
    assert waves[0] == ["postgres", "redis", "kafka", "mongo", "cassandra", "hdfs"]
    assert waves[1] == ["airflow-api-server"]
    assert set(waves[2]) == {"airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}


def test_three_kafka_brokers_form_one_quorum(tmp_path):
    settings = StackSettings(state_dir=tmp_path, kafka_brokers=3)
    kafkas = [s for s in manager.select(settings, ["kafka"], with_dependencies=False)]
    assert [k.name for k in kafkas] == ["kafka-1", "kafka-2", "kafka-3"]
    assert [k.port for k in kafkas] == [9092, 9094, 9096]
    assert kafkas[0].bootstrap_servers == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"


def test_the_cluster_profile_starts_every_node_after_what_it_needs(tmp_path):
    settings = StackSettings.from_env({"STACK_STATE_DIR": str(tmp_path)}, profile="cluster")
    assert settings.kafka_brokers == 3 and settings.cassandra_nodes == 3
    waves = [[s.name for s in wave] for wave in manager._waves(manager.select(settings, None, with_dependencies=True))]
    assert waves[0] == ["postgres", "redis", "kafka-1", "kafka-2", "kafka-3", "mongo", "cassandra-1", "hdfs-namenode", "spark-master"]
    assert waves[1] == [
        "cassandra-2",
        "cassandra-3",
        "hdfs-datanode-1",
        "hdfs-datanode-2",
        "hdfs-datanode-3",
        "spark-worker-1",
        "spark-worker-2",
        "airflow-api-server",
    ]
    cassandra = manager.select(settings, ["cassandra"], with_dependencies=False)
    assert [(c.host, c.port, c.jmx_port) for c in cassandra] == [
        ("127.0.0.1", 9042, 7199),
        ("127.0.0.2", 9042, 7200),
        ("127.0.0.3", 9042, 7201),
    ]
    api = manager.select(settings, ["api"], with_dependencies=True)  # its `cassandra` is the group of three nodes
    assert {"cassandra-1", "cassandra-2", "cassandra-3", "mongo", "redis", "api"} == {s.name for s in api}
    assert [s.port for s in manager.select(settings, ["hdfs-datanode"], with_dependencies=False)] == [9864, 9874, 9884]
    with pytest.raises(StackError, match="unknown stack profile 'big'"):
        StackSettings(state_dir=tmp_path, profile="big")


def test_each_profile_keeps_its_own_state(tmp_path):
    assert StackSettings.from_env({}).state_dir.name == "stack"
    assert StackSettings.from_env({}, profile="cluster").state_dir.name == "stack-cluster"
    assert StackSettings.from_env({"STACK_STATE_DIR": str(tmp_path)}, profile="cluster").state_dir == tmp_path


def test_status_of_a_stopped_stack_is_down_with_the_contract_fields(settings):
    rows = manager.status(settings)
    assert rows and all(row["state"] == "down" and row["pid"] is None for row in rows)
    assert all(set(row) >= {"name", "state", "host", "port", "pid", "rss_mb"} for row in rows)


def test_a_recorded_pid_is_only_ours_while_it_is_the_same_process(tmp_path):
    pid_file = tmp_path / "pid"
    pid = spawn([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "log", pid_file, {}, tmp_path)
    process = owned_process(pid_file)
    assert process is not None and process.pid == pid
    started = pid_file.read_text().split()[1]
    assert started == start_stamp(process)
    recycled = f"ticks:{int(started.removeprefix('ticks:')) - 100}" if started.startswith("ticks:") else process.create_time() - 100
    pid_file.write_text(f"{pid} {recycled}\n")  # same pid, another start time: a recycled pid
    assert owned_process(pid_file) is None
    process.kill()
    process.wait(5)
    pid_file.write_text(f"{pid} 0\n")
    assert owned_process(pid_file) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the start in clock ticks is read from /proc")
def test_a_recorded_pid_stays_ours_when_the_system_clock_is_stepped(tmp_path, monkeypatch):
    # the kernel's boot time is wall clock minus uptime: stepping the clock (NTP, a resumed VM) moves it, and with it
    # every psutil create_time(); a CI run once restarted its live API on such a step and found the port taken
    pid_file = tmp_path / "pid"
    spawn([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "log", pid_file, {}, tmp_path)
    process = owned_process(pid_file)
    assert process is not None
    before_the_step = process.create_time()
    stepped = psutil._pslinux.boot_time() + 3
    monkeypatch.setattr(psutil._pslinux, "boot_time", lambda: stepped)
    assert abs(psutil.Process(process.pid).create_time() - before_the_step - 3) < 0.01
    assert owned_process(pid_file) is not None
    process.kill()
    process.wait(5)


class ExitsOnItsFirstStarts(Service):
    """A real process that exits with an error on its first ``failures`` starts, then runs and is ready."""

    name = "flaky"
    start_timeout_s = 20.0
    failures = 1

    def command(self) -> list[str]:
        script = (
            "import pathlib, sys, time\n"
            f"starts = pathlib.Path({str(self.home / 'starts')!r})\n"
            "starts.write_text(starts.read_text() + 'x' if starts.exists() else 'x')\n"
            f"if len(starts.read_text()) <= {self.failures}: sys.exit('not yet')\n"
            f"pathlib.Path({str(self.home / 'ready')!r}).touch()\n"
            "time.sleep(60)\n"
        )
        return [sys.executable, "-c", script]

    def is_ready(self) -> bool:
        return (self.home / "ready").exists()


def start_and_await(service: Service) -> list[str]:
    lines: list[str] = []
    manager._start(service, lines.append)
    try:
        manager._await_ready([service], lines.append)
    finally:
        process = owned_process(service.pid_file)
        if process is not None:
            terminate(process, grace_s=5)
    return lines


def test_a_service_that_exits_during_start_up_is_started_once_more(settings):
    service = ExitsOnItsFirstStarts(settings)
    lines = start_and_await(service)
    assert (service.home / "starts").read_text() == "xx"
    assert any("flaky exited during start-up" in line and "not yet" in line for line in lines), lines
    assert any(line.startswith("flaky") and "ready after" in line for line in lines), lines


def test_a_service_that_exits_twice_during_start_up_fails_with_its_log(settings):
    service = ExitsOnItsFirstStarts(settings)
    service.failures = 2
    with pytest.raises(StackError, match="flaky exited during start-up(.|\\n)*not yet"):
        start_and_await(service)
    assert (service.home / "starts").read_text() == "xx"


def test_kafka_cluster_ids_never_start_with_a_dash():
    from movie_harness.stack.services.kafka import _kafka_cluster_id

    ids = {_kafka_cluster_id() for _ in range(3000)}  # about 47 would start with '-' if nothing prevented it
    assert len(ids) == 3000 and not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids)
