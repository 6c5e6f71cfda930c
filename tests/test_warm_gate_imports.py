"""GX for the gate is imported while dbt runs only on a small home (phakhi/warm_imports.py, issue 17: memory)."""
from __future__ import annotations

import phakhi.warm_imports as warm


def test_gx_is_warmed_during_dbt_only_below_the_size(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(warm, "warm_imports", lambda *m: started.append(m) or "thread")
    small, large = tmp_path / "small.duckdb", tmp_path / "large.duckdb"
    small.write_bytes(b"x" * 1024)
    with large.open("wb") as fh:                      # sparse: its size, not its blocks
        fh.truncate(warm.WARM_GX_DURING_DBT_BELOW_BYTES)
    assert warm.warm_gate_imports_during_dbt(small) == "thread"
    assert warm.warm_gate_imports_during_dbt(large) is None
    assert warm.warm_gate_imports_during_dbt(tmp_path / "missing.duckdb") == "thread"   # a fresh home: small
    assert started == [("great_expectations",), ("great_expectations",)]
