"""The serving layer: MongoDB serving views (built by the export DAG) and the FastAPI service over them."""
