"""TMDB access: the rate-limited client and the offline simulator that speaks the same API."""
