"""spark-submit entrypoints (thin: read, call transforms, write) and transforms/ (pure functions)."""
