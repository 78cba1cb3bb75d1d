"""Superset's configuration for the movie pipeline (``SUPERSET_CONFIG_PATH`` points here).

The local stack (``movie-pipeline stack up superset``) and deploy/superset/bootstrap.sh (docker-compose)
set ``SUPERSET_SECRET_KEY`` and ``SUPERSET_METADATA_DB``; the dashboards themselves are the bundle
beside this file, imported at start-up (``superset import-dashboards``).
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_DB"]
FEATURE_FLAGS = {"DASHBOARD_RBAC": False, "ENABLE_TEMPLATE_PROCESSING": False}
# the dashboards refresh every 5 minutes; short-lived results only
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 60}
DATA_CACHE_CONFIG = CACHE_CONFIG
WTF_CSRF_ENABLED = True
TALISMAN_ENABLED = False  # plain HTTP on localhost in the demo; put a TLS proxy in front elsewhere
