"""The contract between the speed layer's jobs and their supervisor, imported by both sides.

Job names (the supervisor's tasks, the runner's directories, the ``stream_progress`` rows the jobs
write and the sensors read), the streaming queries and where their checkpoints are, and the
verdicts of the sensors.
"""

from __future__ import annotations

PRODUCER = "producer"  # ``movie-pipeline produce``
SPEED_VIEWS = "speed_views"  # the streaming job (its windows query has the same name)
JOBS = (PRODUCER, SPEED_VIEWS)

VIEWS_QUERY = SPEED_VIEWS  # the query whose Kafka offsets are the streaming job's lag
DEAD_LETTERS_QUERY = "dead_letters"

# the sensors' verdicts: a job is healthy, starting (alive, no progress yet, within its grace), dead (no process),
# stalled (alive, no progress while work waits), or unsupervised (left out of SPEED_JOBS: run elsewhere)
HEALTHY, STARTING, DEAD, STALLED, UNSUPERVISED = "healthy", "starting", "dead", "stalled", "unsupervised"
RESTART_VERDICTS = (DEAD, STALLED)


def query_checkpoint(checkpoint_uri: str, query: str) -> str:
    """Where a streaming query keeps its checkpoint, under the speed checkpoints' base URI."""
    return f"{checkpoint_uri.rstrip('/')}/{query}"
