"""Movie analytics pipeline: a Lambda architecture over TMDB data, orchestrated by Airflow."""

__version__ = "0.1.0"
