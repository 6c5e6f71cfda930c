"""Ingestion: read partner and survey files as they come, check them against their source contract,
load good rows into the warehouse's raw schema and quarantine the rest with a reason a person can act on.
See docs/engineer-ingestion.md."""
