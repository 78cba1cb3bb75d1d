"""Long-running spark-submit entrypoints of the speed layer (Structured Streaming)."""
