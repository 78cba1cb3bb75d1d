#!/bin/sh
# docker-compose's Superset: metadata DB, admin user, the dashboards bundle, the analytics database's
# address; then the web server. Idempotent (a restart re-imports the bundle over itself).
set -eu
export FLASK_APP=superset SUPERSET_CONFIG_PATH=/app/movie-pipeline/superset_config.py
export SUPERSET_METADATA_DB="${SUPERSET_METADATA_DB:-sqlite:////app/superset_home/superset.db}"
superset db upgrade
superset fab create-admin --username admin --firstname Superset --lastname Admin --email admin@localhost \
  --password "${SUPERSET_ADMIN_PASSWORD:?set SUPERSET_ADMIN_PASSWORD}" || true  # exists already on a restart
superset init
cd /tmp && rm -rf movie_analytics movie_analytics.zip && cp -r /app/movie-pipeline/bundle movie_analytics \
  && python -c "import shutil; shutil.make_archive('movie_analytics', 'zip', '.', 'movie_analytics')"
superset import-dashboards --path /tmp/movie_analytics.zip --username admin
superset set-database-uri --database_name analytics --uri "postgresql+psycopg2://analytics:analytics@postgres:5432/analytics"
exec gunicorn --bind 0.0.0.0:8088 --workers 2 --timeout 120 "superset.app:create_app()"
