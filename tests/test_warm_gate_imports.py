"""GX for the gate is imported while dbt runs only on a small home (phakhi/warm_imports.py, issue 17: memory)."""
from __future__ import annotations

import duckdb

import phakhi.warm_imports as warm


def test_gx_is_warmed_during_dbt_only_below_the_raw_rows(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(warm, "warm_imports", lambda *m: started.append(m) or "thread")
    monkeypatch.setattr(warm, "WARM_GX_DURING_DBT_BELOW_ROWS", 1000)
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw; create table raw.a as select range as i from range(600);"
                    "create schema marts; create table marts.big as select range as i from range(5000)")
    assert warm.raw_rows(db) == 600 and warm.warm_gate_imports_during_dbt(db) == "thread"   # marts do not count
    with duckdb.connect(str(db)) as con:
        con.execute("create table raw.b as select range as i from range(400)")
    assert warm.raw_rows(db) == 1000 and warm.warm_gate_imports_during_dbt(db) is None
    assert warm.warm_gate_imports_during_dbt(db, survey_models_kept=True) == "thread"     # a usual month: any size
    assert warm.warm_gate_imports_during_dbt(tmp_path / "missing.duckdb") == "thread"      # unreadable: 0 rows
    assert started == [("great_expectations",)] * 3


def test_the_modules_warmed_while_prefects_server_starts_exist():
    """Each name in FLOW_MODULES is importable here: a renamed module would silently warm nothing."""
    import importlib.util

    missing = [m for m in warm.FLOW_MODULES if importlib.util.find_spec(m) is None]
    assert missing == []
    thread = warm.warm_flow_imports()
    thread.join(60)
    import sys

    assert not thread.is_alive() and all(m in sys.modules for m in warm.FLOW_MODULES)
