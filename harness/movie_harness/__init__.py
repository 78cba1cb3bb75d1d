"""The local harness: the no-Docker stack of real services, the demo, the TMDB simulator, the jar fetcher.

It runs the pipeline on one machine for development, tests and the demo. It may import the
runtime (``movie_pipeline``) and the Spark jobs (``spark_jobs``); neither imports it, and the
production image does not install it.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout: the harness is only ever used from one
