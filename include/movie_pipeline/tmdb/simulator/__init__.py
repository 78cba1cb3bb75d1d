"""The offline TMDB: a synthetic catalogue (ground truth for tests) served over TMDB's HTTP API."""

from movie_pipeline.tmdb.simulator.catalogue import Catalogue
from movie_pipeline.tmdb.simulator.server import Faults, TmdbSimulator

__all__ = ["Catalogue", "Faults", "TmdbSimulator"]
