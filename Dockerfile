# The Airflow image of the movie pipeline: Airflow 3.3 + this project's runtime (installed from its
# wheel, not editable), the Spark jobs, DAGs, plugins and expectations, a Java 17 runtime for Spark
# and the Spark connector jars (baked here: nothing calls Maven at run time). The local harness
# (harness/: the no-Docker stack, the demo, the simulator) is not installed.
# Build from the repository root: docker build -t movie-pipeline:0.1.0 .

# The Kafka and Avro connector jars of the streaming job, from Maven Central, with the pom the harness uses
FROM maven:3.9.11-eclipse-temurin-17 AS connector-jars
COPY harness/movie_harness/stack/jvm/pom.xml /build/pom.xml
RUN mvn -q -B -f /build/pom.xml -Pspark-connectors dependency:copy-dependencies -DoutputDirectory=/build/jars

# The runtime's wheel (movie_pipeline + spark_jobs)
FROM apache/airflow:3.3.2-python3.11 AS wheel
COPY --chown=airflow:root pyproject.toml README.md /build/
COPY --chown=airflow:root include /build/include
COPY --chown=airflow:root spark_jobs /build/spark_jobs
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /build/dist /build

FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64

USER airflow
# the runtime's pins only (no test or development tools)
COPY --chown=airflow:root requirements.txt /opt/movie-pipeline/requirements.txt
RUN pip install --no-cache-dir -r /opt/movie-pipeline/requirements.txt
COPY --from=wheel /build/dist /tmp/dist
RUN pip install --no-cache-dir --no-deps /tmp/dist/movie_pipeline-*.whl
COPY --from=connector-jars --chown=airflow:root /build/jars /opt/movie-pipeline/jars

COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root airflow_settings.yaml /opt/movie-pipeline/airflow_settings.yaml
COPY --chown=airflow:root expectations /opt/movie-pipeline/expectations

# TMDB credentials are never baked in: pass TMDB_API_KEY / TMDB_READ_TOKEN or the
# AIRFLOW_CONN_TMDB_DEFAULT connection at run time. The lake defaults to HDFS in production,
# through WebHDFS, which both the Python tasks (fsspec) and Spark (Hadoop) speak without libhdfs.
ENV PIPELINE_HOME=/opt/movie-pipeline \
    SPARK_JARS_DIR=/opt/movie-pipeline/jars \
    LAKE_URI=webhdfs://namenode:9870/movie-lake \
    DATA_QUALITY_DIR=/opt/airflow/data-quality
