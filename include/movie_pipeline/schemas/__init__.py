"""Schemas: Spark schemas of bronze payloads and of the silver tables (Avro schemas come with the speed layer)."""
