-- Runs once, when the postgres-data volume is first initialised: the partner portal's own database, beside
-- Prefect's (same server and role; docker-compose.yml `portal` connects to it).
CREATE DATABASE phakhi_portal;
