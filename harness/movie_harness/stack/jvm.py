"""JVM parts of the local stack: jars from Maven Central (via the checked-in pom.xml), small mains.

``fetch(service)`` runs ``mvn dependency:copy-dependencies`` for the service's profile into
``.local/jars/<service>/`` once; the copy is reused until pom.xml changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from movie_harness import REPO_ROOT
from movie_pipeline.errors import PipelineError
from movie_pipeline.spark_conf import connector_jars

JVM_DIR = Path(__file__).resolve().parent / "jvm"
POM = JVM_DIR / "pom.xml"
JAR_CACHE = REPO_ROOT / ".local" / "jars"


def jar_dir(service: str) -> Path:
    """Jars are cached per checkout, not per state directory: a test stack reuses them."""
    return JAR_CACHE / service


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()[:16]


def fetch(service: str) -> Path:
    """The directory holding the service's jars, fetched from Maven Central when missing or stale."""
    target = jar_dir(service)
    stamp = target / ".pom-digest"
    if stamp.exists() and stamp.read_text() == _pom_digest():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PipelineError("Maven (mvn) is needed to fetch the stack's jars from Maven Central: install the Debian package maven")
    if target.exists():
        shutil.rmtree(target)
    print(f"fetching {service} jars from Maven Central into {target} (once) ...", flush=True)
    command = [mvn, "-q", "-B", "-f", str(POM), f"-P{service}", "dependency:copy-dependencies", f"-DoutputDirectory={target}"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(
            f"fetching the {service} jars failed (mvn exit {done.returncode}): {(done.stdout + done.stderr).strip()[-800:]}"
        )
    stamp.write_text(_pom_digest())
    return target


def classes_dir(service: str) -> Path:
    return JAR_CACHE / f"{service}-classes"


def classpath(service: str, with_classes: bool = False) -> str:
    parts = [f"{jar_dir(service)}/*"]
    if with_classes:
        parts.insert(0, str(classes_dir(service)))
    return ":".join(parts)


def compile_main(name: str, service: str) -> Path:
    """Compile ``jvm/<name>.java`` against the service's jars (skipped when up to date)."""
    source = JVM_DIR / f"{name}.java"
    output = classes_dir(service)
    compiled = output / f"{name}.class"
    if compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime:
        return output
    javac = shutil.which("javac")
    if javac is None:
        raise PipelineError("javac is needed to build the stack's small Java mains: install openjdk-17-jdk-headless")
    output.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([javac, "-d", str(output), "-cp", classpath(service), str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(f"compiling {source.name} failed: {done.stderr.strip()[-800:]}")
    return output


def java_command(jars: Path, main_class: str, args: list[str], options: list[str] | None = None) -> list[str]:
    return ["java", *(options or []), "-cp", f"{jars}/*", main_class, *args]


SPARK_CONNECTORS = "spark-connectors"


def spark_connector_jars() -> list[str]:
    """The Kafka and Avro connector jars for ``spark.jars`` (fetched once into the directory the runtime's
    ``SPARK_JARS_DIR`` defaults to), without the libraries PySpark already ships."""
    return connector_jars(fetch(SPARK_CONNECTORS))
