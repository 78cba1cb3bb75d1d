"""The Assets that connect the DAGs: the batch layer's gold views (the export DAG is scheduled on
them) and the serving views the export publishes to MongoDB.

Declared once, here; nothing in this module touches the lake.
"""

from __future__ import annotations

from airflow.sdk import Asset

from movie_pipeline.lake import GOLD_VIEWS

GOLD_ASSETS = {view: Asset(name=f"gold.{view}", uri=f"lake://gold/{view}", group="gold") for view in GOLD_VIEWS}
# the collection an export switches to its new version (host and database: the local default of mongo_default)
SERVING_ASSET = Asset(name="serving.views", uri="mongodb://127.0.0.1:27017/movies/serving_versions", group="serving")
