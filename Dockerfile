# The Airflow image of the movie pipeline: Airflow 3.3 + this project's package, DAGs and plugins,
# plus a Java 17 runtime for Spark. Build: docker build -t movie-pipeline .
FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64

USER airflow
COPY --chown=airflow:root requirements.txt /opt/movie-pipeline/requirements.txt
RUN pip install --no-cache-dir -r /opt/movie-pipeline/requirements.txt

COPY --chown=airflow:root pyproject.toml README.md /opt/movie-pipeline/
COPY --chown=airflow:root include /opt/movie-pipeline/include
COPY --chown=airflow:root spark_jobs /opt/movie-pipeline/spark_jobs
RUN pip install --no-cache-dir --no-deps -e /opt/movie-pipeline

COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root airflow_settings.yaml /opt/movie-pipeline/airflow_settings.yaml
COPY --chown=airflow:root expectations /opt/movie-pipeline/expectations

# TMDB credentials are never baked in: pass TMDB_API_KEY / TMDB_READ_TOKEN or the
# AIRFLOW_CONN_TMDB_DEFAULT connection at run time. The lake defaults to HDFS in production,
# through WebHDFS, which both the Python tasks (fsspec) and Spark (Hadoop) speak without libhdfs.
ENV LAKE_URI=webhdfs://namenode:9870/movie-lake \
    DATA_QUALITY_DIR=/opt/airflow/data-quality
