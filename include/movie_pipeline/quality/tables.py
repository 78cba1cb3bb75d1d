"""What each layer's checkpoint validates, as pandas DataFrames read from the lake."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from movie_pipeline.bronze import read_partition
from movie_pipeline.intervals import Interval
from movie_pipeline.lake import REJECTS, Lake
from movie_pipeline.quality.suites import columns_used, load_suite, suite_tables


def bronze_frames(lake: Lake, interval: Interval) -> dict[str, pd.DataFrame]:
    """The interval's bronze: one row per movie-details response, and the ingestion's rejects."""
    details = []
    for record in read_partition(lake, "movie_details", interval):
        payload = record.get("payload") if isinstance(record.get("payload"), dict) else {}
        details.append(
            {
                "fetched_at": record.get("fetched_at"),
                "status": record.get("status"),
                "requested_id": (record.get("params") or {}).get("movie_id"),
                "payload_id": payload.get("id"),
                "title": payload.get("title"),
            }
        )
    rejects = [{"reason": r.get("reason"), "endpoint": r.get("endpoint")} for r in read_partition(lake, REJECTS, interval)]
    return {
        "movie_details": pd.DataFrame(details, columns=["fetched_at", "status", "requested_id", "payload_id", "title"]),
        "ingest_rejects": pd.DataFrame(rejects, columns=["reason", "endpoint"]),
    }


def table_frames(lake: Lake, layer: str) -> dict[str, pd.DataFrame]:
    """Every suite-covered table of ``silver`` or ``gold``, with only the columns its suite uses."""
    frames = {}
    for table in suite_tables(layer):
        columns = columns_used(load_suite(layer, table))
        frames[table] = pq.read_table(lake.path(layer, table), columns=columns, filesystem=lake.fs).to_pandas()
    return frames
