"""Prefect flows only: the monthly refresh (`pipeline.py`) and the backfill (`backfill.py`). Thin: every task
calls the `phakhi` library."""
import phakhi  # noqa: F401  (telemetry opt-outs before Prefect is imported)
