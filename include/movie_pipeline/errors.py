"""Errors a user can act on. The CLI prints them as one line (no traceback) and exits 2."""


class PipelineError(Exception):
    """An error whose message says what went wrong and what to do about it."""


class ConfigError(PipelineError):
    """A setting is missing or invalid."""


class IntervalError(PipelineError):
    """A data interval is malformed (unparsable, empty or reversed)."""


class TmdbError(PipelineError):
    """TMDB (or the simulator) could not give us what we asked for."""


class TmdbAuthError(TmdbError):
    """TMDB refused the credentials (HTTP 401)."""


class TmdbUnavailableError(TmdbError):
    """TMDB could not be reached, or kept failing after every retry."""


class TmdbRequestError(TmdbError):
    """TMDB rejected a request as invalid (a 4xx that retrying cannot fix)."""
