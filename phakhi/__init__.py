"""Phakhi (ภาคี): the monthly refresh of DCCE's climate-partner data.

Telemetry is switched off here, before any of Prefect, dbt, great-expectations or evidently is imported:
this machine (and most of DCCE's) has no route to their analytics hosts, and the failed calls fill logs.
"""
import os as _os

for _key, _value in {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    # Prefect's local mode migrates a fresh SQLite home on first use; that outlasts the 20 s default.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}.items():
    _os.environ.setdefault(_key, _value)

__version__ = "0.1.0"
