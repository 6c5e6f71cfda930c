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
