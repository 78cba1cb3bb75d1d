"""The local stack of real services (no Docker): PostgreSQL, Airflow, Redis, Kafka, MongoDB protocol.

``movie-pipeline stack up|down|status|logs``; see :mod:`movie_harness.stack.manager`.
"""
