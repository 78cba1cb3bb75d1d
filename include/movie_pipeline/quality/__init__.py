"""Data quality: Great Expectations suites (checked in under ``expectations/``) run after each layer.

Every expectation carries ``meta.critical``: a failed critical expectation fails the task (and the
run); the others are reported without blocking. Results are kept in a file data context under
``DATA_QUALITY_DIR`` and rendered as Data Docs, which the Airflow plugin ``plugins/data_quality.py``
serves from the API server.
"""
