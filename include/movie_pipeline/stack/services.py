"""The services of the local stack: how each is prepared, started and judged ready.

Every service keeps its data, log and pid under ``<state>/<name>/``. Ports and addresses come
from :class:`StackSettings` (environment variables ``STACK_<SERVICE>_PORT``, ``STACK_HOST``).
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from movie_pipeline.airflow_settings import connection_env
from movie_pipeline.config import PROJECT_ROOT
from movie_pipeline.errors import PipelineError
from movie_pipeline.stack import jvm
from movie_pipeline.stack.process import http_ok, tcp_open

DEFAULT_STATE_DIR = PROJECT_ROOT / ".local" / "stack"
DEFAULT_PORTS = {
    "postgres": 5432,
    "redis": 6379,
    "kafka": 9092,
    "mongo": 27017,
    "cassandra": 9042,
    "hdfs": 8020,
    "hdfs_http": 9870,
    "airflow": 8080,
}


class StackError(PipelineError):
    """A service could not be prepared or started."""


@dataclass(frozen=True)
class StackSettings:
    state_dir: Path = DEFAULT_STATE_DIR
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    kafka_brokers: int = 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, kafka_brokers: int | None = None) -> StackSettings:
        env = os.environ if env is None else env
        ports = {name: int(env.get(f"STACK_{name.upper()}_PORT", port)) for name, port in DEFAULT_PORTS.items()}
        return cls(
            state_dir=Path(env.get("STACK_STATE_DIR", DEFAULT_STATE_DIR)),
            host=env.get("STACK_HOST", "127.0.0.1"),
            ports=ports,
            kafka_brokers=kafka_brokers or int(env.get("STACK_KAFKA_BROKERS", "1")),
        )


class Service:
    """One background process. Subclasses say how to prepare, run and probe it."""

    name: str = ""
    depends_on: tuple[str, ...] = ()
    start_timeout_s: float = 60.0
    stop_signal: int = signal.SIGTERM

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings

    # ---- locations ------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return self.settings.state_dir / self.name

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def port(self) -> int:
        return self.settings.ports[self.name]

    # ---- behaviour ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Idempotent one-time work before a start (create data dirs, fetch jars, init)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def is_ready(self) -> bool:
        return tcp_open(self.host, self.port)

    def after_ready(self) -> None:
        """Idempotent work once the service answers (create databases, users)."""


# ---- PostgreSQL ------------------------------------------------------------------------------
def _postgres_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise StackError("PostgreSQL server binaries are missing: run `make setup` (installs the Debian package postgresql)")
    return Path(candidates[-1]).parent


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *command]


class Postgres(Service):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for every client to leave
    database = user = password = "airflow"

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        run_dir = self.home / "run"
        run_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (self.home, run_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        initdb = [
            str(_postgres_bin() / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ]
        done = subprocess.run(_as_postgres_user(initdb), capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"initdb failed for {self.data_dir}: {done.stderr.strip()[-500:]}")

    def command(self) -> list[str]:
        postgres = str(_postgres_bin() / "postgres")
        return _as_postgres_user(
            [
                postgres,
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                self.host,
                "-k",
                str(self.home / "run"),
                "-c",
                "max_connections=200",
            ]
        )

    def _connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user="postgres", dbname=database, connect_timeout=2)

    def is_ready(self) -> bool:
        if not tcp_open(self.host, self.port):
            return False
        try:
            self._connect().close()
            return True
        except Exception:  # noqa: BLE001 - "not ready yet" is any failure to connect
            return False

    def after_ready(self) -> None:
        connection = self._connect()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.user,))
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE ROLE {self.user} LOGIN PASSWORD %s", (self.password,))
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE DATABASE {self.database} OWNER {self.user}")
        connection.close()

    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"


# ---- Redis -----------------------------------------------------------------------------------
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


# ---- Kafka (KRaft) ---------------------------------------------------------------------------
class Kafka(Service):
    """One KRaft node (broker + controller). With ``kafka_brokers=3`` three of them form a quorum."""

    start_timeout_s = 90.0

    def __init__(self, settings: StackSettings, node: int = 1) -> None:
        super().__init__(settings)
        self.node = node
        self.name = "kafka" if settings.kafka_brokers == 1 else f"kafka-{node}"

    @property
    def port(self) -> int:
        return self.settings.ports["kafka"] + 2 * (self.node - 1)

    def controller_port(self, node: int) -> int:
        return self.settings.ports["kafka"] + 2 * (node - 1) + 1

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.host}:{self.settings.ports['kafka'] + 2 * n}" for n in range(self.settings.kafka_brokers))

    @property
    def properties_file(self) -> Path:
        return self.home / "server.properties"

    def prepare(self) -> None:
        super().prepare()
        jars = jvm.fetch("kafka", self.settings.state_dir)
        nodes = range(1, self.settings.kafka_brokers + 1)
        replication = min(3, self.settings.kafka_brokers)
        voters = ",".join(f"{n}@{self.host}:{self.controller_port(n)}" for n in nodes)
        properties = {
            "process.roles": "broker,controller",
            "node.id": self.node,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port(self.node)}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": self.data_dir,
            "num.partitions": 3,
            "default.replication.factor": replication,
            "min.insync.replicas": 1 if replication == 1 else 2,
            "offsets.topic.replication.factor": replication,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": 1 if replication == 1 else 2,
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "true",
        }
        self.properties_file.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
        (self.home / "log4j2.yaml").write_text(_LOG4J2_CONFIG)
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_file = self.settings.state_dir / "kafka-cluster-id"
        if not cluster_file.exists():
            cluster_file.write_text(_kafka_cluster_id())
        fmt = jvm.java_command(
            jars,
            "kafka.tools.StorageTool",
            ["format", "-t", cluster_file.read_text().strip(), "-c", str(self.properties_file), "--ignore-formatted"],
        )
        done = subprocess.run(fmt, capture_output=True, text=True, env=self.environment())
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage in {self.data_dir} failed: {(done.stdout + done.stderr).strip()[-800:]}")

    def environment(self) -> dict[str, str]:
        return {**os.environ, "KAFKA_HEAP_OPTS": "-Xmx512m"}

    def command(self) -> list[str]:
        jars = jvm.jar_dir("kafka", self.settings.state_dir)
        options = ["-Xms256m", "-Xmx512m", f"-Dlog4j2.configurationFile={self.home / 'log4j2.yaml'}", "-Dkafka.logs.dir=" + str(self.home)]
        return jvm.java_command(jars, "kafka.Kafka", [str(self.properties_file)], options)

    def is_ready(self) -> bool:
        if not tcp_open(self.host, self.port):
            return False
        from confluent_kafka.admin import AdminClient

        try:
            metadata = AdminClient({"bootstrap.servers": f"{self.host}:{self.port}"}).list_topics(timeout=3)
            return self.node in metadata.brokers
        except Exception:  # noqa: BLE001 - any failure to fetch metadata means not ready yet
            return False


def _kafka_cluster_id() -> str:
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


_LOG4J2_CONFIG = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        Pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka
        level: WARN
      - name: org.apache.kafka
        level: WARN
      - name: kafka.server.KafkaRaftServer
        level: INFO
"""


# ---- MongoDB protocol (mongo-java-server) ----------------------------------------------------
class Mongo(Service):
    name = "mongo"

    def prepare(self) -> None:
        super().prepare()
        jvm.fetch("mongo", self.settings.state_dir)
        jvm.compile_main("MongoServerMain", "mongo", self.settings.state_dir)

    def command(self) -> list[str]:
        classpath = jvm.classpath("mongo", self.settings.state_dir, with_classes=True)
        database = self.data_dir / "mongo.mv.db"
        return [
            "java",
            "-Xmx384m",
            "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire=warn",
            "-cp",
            classpath,
            "MongoServerMain",
            self.host,
            str(self.port),
            str(database),
        ]

    def is_ready(self) -> bool:
        if not tcp_open(self.host, self.port):
            return False
        import pymongo

        try:
            client = pymongo.MongoClient(self.host, self.port, serverSelectionTimeoutMS=1500)
            client.admin.command("ping")
            client.close()
            return True
        except pymongo.errors.PyMongoError:
            return False


# ---- Cassandra -------------------------------------------------------------------------------
# From Cassandra 5.0's conf/jvm17-server.options: the module openings it needs on Java 17.
_CASSANDRA_JVM17 = """
-Djdk.attach.allowAttachSelf=true
--add-exports java.base/jdk.internal.misc=ALL-UNNAMED
--add-exports java.base/jdk.internal.ref=ALL-UNNAMED
--add-exports java.base/sun.nio.ch=ALL-UNNAMED
--add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
--add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
--add-exports java.sql/java.sql=ALL-UNNAMED
--add-exports java.base/java.lang.ref=ALL-UNNAMED
--add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
--add-opens java.base/java.lang.module=ALL-UNNAMED
--add-opens java.base/jdk.internal.loader=ALL-UNNAMED
--add-opens java.base/jdk.internal.ref=ALL-UNNAMED
--add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
--add-opens java.base/jdk.internal.math=ALL-UNNAMED
--add-opens java.base/jdk.internal.module=ALL-UNNAMED
--add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
--add-opens java.base/sun.nio.ch=ALL-UNNAMED
--add-opens java.base/java.io=ALL-UNNAMED
--add-opens java.base/java.nio=ALL-UNNAMED
--add-opens java.base/java.util.concurrent=ALL-UNNAMED
--add-opens java.base/java.util=ALL-UNNAMED
--add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED
--add-opens java.base/java.lang=ALL-UNNAMED
--add-opens java.base/java.math=ALL-UNNAMED
--add-opens java.base/java.lang.reflect=ALL-UNNAMED
--add-opens java.base/java.net=ALL-UNNAMED
""".split("\n")

_CASSANDRA_LOGBACK = """<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="com.datastax" level="WARN"/>
</configuration>
"""


class Cassandra(Service):
    """A single Cassandra 5.0 node from cassandra-all on Java 17, heap capped at 1 GiB."""

    name = "cassandra"
    start_timeout_s = 240.0

    @property
    def storage_port(self) -> int:
        return self.port - 2042  # 7000 beside the default 9042

    @property
    def jmx_port(self) -> int:
        return self.port - 1843  # 7199 beside the default 9042

    def prepare(self) -> None:
        super().prepare()
        jvm.fetch("cassandra", self.settings.state_dir)
        directories = {key: self.data_dir / key for key in ("data", "commitlog", "saved_caches", "hints", "cdc_raw")}
        for directory in directories.values():
            directory.mkdir(parents=True, exist_ok=True)
        config = {
            "cluster_name": "movie-pipeline",
            "num_tokens": 16,
            "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
            "endpoint_snitch": "SimpleSnitch",
            "seed_provider": [
                {
                    "class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                    "parameters": [{"seeds": f"{self.host}:{self.storage_port}"}],
                }
            ],
            "listen_address": self.host,
            "rpc_address": self.host,
            "storage_port": self.storage_port,
            "native_transport_port": self.port,
            "start_native_transport": True,
            "data_file_directories": [str(directories["data"])],
            "commitlog_directory": str(directories["commitlog"]),
            "saved_caches_directory": str(directories["saved_caches"]),
            "hints_directory": str(directories["hints"]),
            "cdc_raw_directory": str(directories["cdc_raw"]),
            "commitlog_sync": "periodic",
            "commitlog_sync_period": "1000ms",
            "concurrent_reads": 8,
            "concurrent_writes": 8,
            "concurrent_compactors": 1,
            "authenticator": "AllowAllAuthenticator",
            "authorizer": "AllowAllAuthorizer",
        }
        (self.home / "cassandra.yaml").write_text(json.dumps(config, indent=2))  # JSON is YAML
        (self.home / "logback.xml").write_text(_CASSANDRA_LOGBACK)

    def command(self) -> list[str]:
        options = [
            "-Xms512m", "-Xmx1g", "-Xss256k", "-XX:+UseG1GC", "-XX:+HeapDumpOnOutOfMemoryError",
            *[line.strip().replace(" ", "=", 1) for line in _CASSANDRA_JVM17 if line.strip()],
            f"-Dcassandra.config={(self.home / 'cassandra.yaml').as_uri()}",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.storagedir={self.data_dir}",
            f"-Dcassandra.logdir={self.home}",
            f"-Dcassandra.jmx.local.port={self.jmx_port}",
            f"-Dlogback.configurationFile={self.home / 'logback.xml'}",
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        ]  # fmt: skip
        return jvm.java_command(
            jvm.jar_dir("cassandra", self.settings.state_dir), "org.apache.cassandra.service.CassandraDaemon", [], options
        )

    def cluster(self, **options):
        """A cassandra-driver Cluster for this node (protocol v5, the local data centre)."""
        from cassandra.cluster import Cluster
        from cassandra.policies import DCAwareRoundRobinPolicy

        policy = DCAwareRoundRobinPolicy(local_dc="datacenter1")
        return Cluster([self.host], port=self.port, protocol_version=5, load_balancing_policy=policy, **options)

    def is_ready(self) -> bool:
        if not tcp_open(self.host, self.port):
            return False
        cluster = self.cluster(connect_timeout=3, control_connection_timeout=3)
        try:
            session = cluster.connect()
            return session.execute("SELECT release_version FROM system.local").one() is not None
        except Exception:  # noqa: BLE001 - not answering CQL yet
            return False
        finally:
            cluster.shutdown()


# ---- HDFS (MiniDFSCluster) -------------------------------------------------------------------
class Hdfs(Service):
    """1 NameNode + 3 DataNodes in one JVM (hadoop-client-minicluster), WebHDFS on."""

    name = "hdfs"
    datanodes = 3
    start_timeout_s = 180.0

    @property
    def http_port(self) -> int:
        return self.settings.ports["hdfs_http"]

    @property
    def uri(self) -> str:
        return f"hdfs://{self.host}:{self.port}"

    def prepare(self) -> None:
        super().prepare()
        jvm.fetch("hdfs", self.settings.state_dir)
        jvm.compile_main("MiniHdfsMain", "hdfs", self.settings.state_dir)

    def command(self) -> list[str]:
        classpath = jvm.classpath("hdfs", self.settings.state_dir, with_classes=True)
        args = [self.host, str(self.port), str(self.http_port), str(self.data_dir), str(self.datanodes)]
        return ["java", "-Xmx768m", "-cp", classpath, "MiniHdfsMain", *args]

    def is_ready(self) -> bool:
        url = f"http://{self.host}:{self.http_port}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState"
        if not http_ok(url):
            return False
        import urllib.request

        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - local URL
            beans = json.load(response).get("beans") or [{}]
        state = beans[0]
        return state.get("NumLiveDataNodes") == self.datanodes and state.get("FSState") == "Operational"


# ---- Airflow ---------------------------------------------------------------------------------
class AirflowComponent(Service):
    """One Airflow 3 component on the stack's PostgreSQL, LocalExecutor, this project's DAGs."""

    depends_on = ("airflow-api-server",)  # it migrates the metadata DB and serves the health check
    start_timeout_s = 120.0
    component = ""
    health_key = ""

    def __init__(self, settings: StackSettings, component: str, health_key: str) -> None:
        super().__init__(settings)
        self.component, self.health_key = component, health_key
        self.name = f"airflow-{component}"

    @property
    def airflow_home(self) -> Path:
        return self.settings.state_dir / "airflow"

    @property
    def home(self) -> Path:
        return self.airflow_home / self.component

    @property
    def port(self) -> int:
        return self.settings.ports["airflow"]

    def environment(self) -> dict[str, str]:
        return airflow_environment(self.settings)

    def command(self) -> list[str]:
        return [str(Path(sys.executable).with_name("airflow")), self.component]

    def is_ready(self) -> bool:
        health = airflow_health(self.settings)
        if health is None:
            return False
        if not self.health_key:
            return True
        return (health.get(self.health_key) or {}).get("status") == "healthy"


class AirflowApiServer(AirflowComponent):
    def __init__(self, settings: StackSettings) -> None:
        super().__init__(settings, "api-server", "")
        self.depends_on = ("postgres",)

    def prepare(self) -> None:
        super().prepare()
        env = self.environment()
        done = subprocess.run([self.command()[0], "db", "migrate"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"`airflow db migrate` failed: {(done.stdout + done.stderr).strip()[-1200:]}")

    def command(self) -> list[str]:
        return [*super().command(), "--port", str(self.port), "--host", self.host]

    def after_ready(self) -> None:
        credentials = self.airflow_home / "admin-credentials.txt"
        if credentials.exists():
            return
        passwords_file = self.airflow_home / "passwords.json"
        if passwords_file.exists():
            password = json.loads(passwords_file.read_text()).get("admin")
            credentials.write_text(f"Airflow UI http://{self.host}:{self.port}  user: admin  password: {password}\n")
            credentials.chmod(0o600)
            print(f"Airflow admin credentials (shown once, kept in {credentials}): user admin, password {password}")


def airflow_environment(settings: StackSettings) -> dict[str, str]:
    """The environment every Airflow process of the stack shares."""
    home = settings.state_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    secret_file = home / "jwt-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    postgres = Postgres(settings)
    base_url = f"http://{settings.host}:{settings.ports['airflow']}"
    env = {
        **os.environ,
        **connection_env(),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",  # LocalExecutor keeps this many worker processes: sized for 2 cores
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.sqlalchemy_url(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": secret_file.read_text().strip(),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD", None)
    return env


def airflow_health(settings: StackSettings) -> dict | None:
    """The api-server's ``/api/v2/monitor/health`` document, or None when it does not answer."""
    import urllib.request

    url = f"http://{settings.host}:{settings.ports['airflow']}/api/v2/monitor/health"
    if not http_ok(url):
        return None
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - local URL
        return json.load(response)


def all_services(settings: StackSettings) -> list[Service]:
    """Every service in start order (dependencies first)."""
    kafka = [Kafka(settings, node) for node in range(1, settings.kafka_brokers + 1)]
    airflow = [
        AirflowApiServer(settings),
        AirflowComponent(settings, "scheduler", "scheduler"),
        AirflowComponent(settings, "dag-processor", "dag_processor"),
        AirflowComponent(settings, "triggerer", "triggerer"),
    ]
    return [Postgres(settings), Redis(settings), *kafka, Mongo(settings), Cassandra(settings), Hdfs(settings), *airflow]
