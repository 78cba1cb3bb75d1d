"""The Assets that connect the DAGs: the batch layer's gold views (the export DAG is scheduled on them).

Declared once, here; nothing in this module touches the lake.
"""

from __future__ import annotations

from airflow.sdk import Asset

from movie_pipeline.lake import GOLD_VIEWS

GOLD_ASSETS = {view: Asset(name=f"gold.{view}", uri=f"lake://gold/{view}", group="gold") for view in GOLD_VIEWS}
