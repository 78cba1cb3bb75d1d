-- The dashboards' database: movie_serving_export's publish_analytics fills its analytics schema
-- (connection analytics_default); Superset reads it. Runs once, when the PostgreSQL volume is created.
CREATE ROLE analytics LOGIN PASSWORD 'analytics';
CREATE DATABASE analytics OWNER analytics;
