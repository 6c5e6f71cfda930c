"""Import what a later stage needs while this process only waits (issue 17: fixed cost).

During `dbt build` the refresh's own process just waits for dbt's subprocess (~20 s on SAMPLE); the gate then
starts by importing great-expectations (~3-4 s CPU). Importing it in a background thread during the build
takes that off the refresh's critical path. Python's per-module import locks make this safe: a stage that
imports a module still being imported by the thread waits for it, and gets the same module.
"""
from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger("phakhi.warm_imports")


def warm_imports(*modules: str) -> threading.Thread:
    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as exc:       # the stage's own import will raise it where it belongs
                log.debug("warming %s failed: %s", name, exc)
                return

    thread = threading.Thread(target=run, name="phakhi-warm-imports", daemon=True)
    thread.start()
    return thread


# GX's modules cost the refresh's process ~75 MB (measured during dbt at quarter scale: 335 -> 407 MB) for as long
# as it lives. Imported while dbt runs only when the tree stays small then: a build warehouse under this size
# (SAMPLE and near-empty homes: ~20 MB; quarter scale 47 MB, national 163 MB). On a larger home dbt's process
# is the tree's peak (national: 2.05 GB with the refresh at 515-590 MB), and GX waits for the gate, which
# imports it in the background while it reads the suites' rows (phakhi/quality/gate.py).
WARM_GX_DURING_DBT_BELOW_BYTES = 32 * 2**20


def warm_gate_imports_during_dbt(build_db) -> threading.Thread | None:
    """great-expectations for the gate, imported while this process waits for dbt, on a small home only."""
    from pathlib import Path

    try:
        size = Path(build_db).stat().st_size
    except OSError:
        size = 0
    if size >= WARM_GX_DURING_DBT_BELOW_BYTES:
        return None
    return warm_imports("great_expectations")
