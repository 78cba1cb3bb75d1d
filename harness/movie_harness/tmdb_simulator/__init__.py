"""The offline TMDB: a synthetic catalogue (ground truth for tests) served over TMDB's HTTP API."""

from movie_harness.tmdb_simulator.catalogue import Catalogue
from movie_harness.tmdb_simulator.server import Faults, TmdbSimulator

__all__ = ["Catalogue", "Faults", "TmdbSimulator"]
