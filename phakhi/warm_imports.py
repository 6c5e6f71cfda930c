"""Import what a later stage needs while this process only waits (issue 17: fixed cost).

During `dbt build` the refresh's own process just waits for dbt's subprocess (~20 s on SAMPLE); the gate then
starts by importing great-expectations (~3-4 s CPU). Importing it in a background thread during the build
takes that off the refresh's critical path. Python's per-module import locks make this safe: a stage that
imports a module still being imported by the thread waits for it, and gets the same module.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading

log = logging.getLogger("phakhi.warm_imports")


def warm_imports(*modules: str, keep_going: bool = False) -> threading.Thread:
    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as exc:       # the stage's own import will raise it where it belongs
                log.debug("warming %s failed: %s", name, exc)
                if not keep_going:
                    return

    thread = threading.Thread(target=run, name="phakhi-warm-imports", daemon=True)
    thread.start()
    return thread


# What the flow imports on its way once it runs, each on the critical path (issue 17: fixed cost), imported while
# the refresh waits for Prefect's temporary server to answer (cli.py: ~1-1.5 s with nothing else to do; ~0.25 s
# CPU): Prefect's flow and task engines and what they import on a first run (graphviz for flow.visualize, fastapi's
# encoders for the parameters, anyio's backend), the stage timer's psutil, the ingest report's jinja2 and the
# glue's own modules. A name that is gone (another Prefect) is skipped.
FLOW_MODULES = ("prefect.flow_engine", "prefect.task_engine", "prefect.utilities.visualization", "fastapi.encoders",
                "anyio._backends._asyncio", "prefect.artifacts", "psutil", "jinja2", "phakhi.refresh_inputs",
                "phakhi.ingest.report", "phakhi.ingest.file_cache", "phakhi.ingest.settled", "phakhi.transform",
                "phakhi.selection", "phakhi.quality.gate", "phakhi.drift", "phakhi.publish.build",
                "phakhi.publish.run_summary")


def warm_flow_imports() -> threading.Thread:
    """FLOW_MODULES, imported in a background thread (while this process waits for Prefect's server)."""
    return warm_imports(*FLOW_MODULES, keep_going=True)


# GX's modules cost the refresh's process ~75 MB (measured during dbt at quarter scale: 335 -> 407 MB) for as long
# as it lives. Imported while dbt runs only on a small home, where the tree stays far below its limit: fewer raw
# rows than this (SAMPLE: ~6,700; the fixed-overhead home: 27; quarter scale 320,000; national 1.28 M). On a
# larger home a build that runs the survey's Python models makes the tree's peak (national: 2.05 GB, the refresh at
# 515-590 MB of it), and GX waits for the gate, which imports it in the background while it reads the suites' rows
# (quality/gate.py: +4-5 s of the gate's wall at national scale). A selective build on unchanged survey waves
# (plan.drift_from set: a usual new month) does not run them (national month 12: dbt's tree peak 1.5 GB), so GX
# is warmed during it at any size.
WARM_GX_DURING_DBT_BELOW_ROWS = 100_000


_RAW_ROWS: dict[tuple, int] = {}    # (path, size, mtime) -> rows: the refresh asks twice of the published warehouse


def raw_rows(build_db) -> int:
    """The raw tables' rows in the build warehouse, from DuckDB's catalogue (no scan); 0 when unreadable. Kept
    per file version: a DuckDB instance costs ~20 ms to open."""
    import duckdb

    try:
        st = os.stat(build_db)
        key = (str(build_db), st.st_size, st.st_mtime_ns)
        if key not in _RAW_ROWS:
            with duckdb.connect(str(build_db), read_only=True) as con:
                _RAW_ROWS[key] = int(con.execute("select coalesce(sum(estimated_size), 0) from duckdb_tables() "
                                                 "where schema_name = 'raw'").fetchone()[0])
        return _RAW_ROWS[key]
    except (duckdb.Error, OSError):
        return 0


def warm_gate_imports_during_dbt(build_db, survey_models_kept: bool = False) -> threading.Thread | None:
    """great-expectations for the gate, imported while this process waits for dbt: on a small home, or when the
    build keeps the survey's models (a selective build on unchanged waves)."""
    if not survey_models_kept and raw_rows(build_db) >= WARM_GX_DURING_DBT_BELOW_ROWS:
        return None
    return warm_imports("great_expectations")
