"""benchmarks/marts_compare.py: the same rows in another order are the same table; one changed value, a missing
row, a repeated row or another column type is a difference (and names the column)."""
import importlib.util
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "marts_compare.py"


def _compare():
    spec = importlib.util.spec_from_file_location("marts_compare", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _db(path, sql):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema raw; create table raw.r as select 1 as x")
        con.execute(sql)
    return str(path)


def test_order_free_and_exact(tmp_path):
    mod = _compare()
    base = "create table marts.t as select k, s, f::double as f from (values (1, 'a', 0.1), (2, 'b', 0.2), (2, 'b', 0.2)) v(k, s, f)"
    a = _db(tmp_path / "a.duckdb", base)
    same = _db(tmp_path / "same.duckdb", base + " order by k desc")
    assert all(r["same"] for r in mod.compare(a, same))
    cases = {
        "changed": ("create table marts.t as select k, s, f::double as f from (values (1, 'a', 0.1), (2, 'b', 0.2), (2, 'b', "
                    "0.2000000001)) v(k, s, f)", ["f"]),
        "once": ("create table marts.t as select k, s, f::double as f from (values (1, 'a', 0.1), (2, 'b', 0.2)) v(k, s, f)", ["k", "s", "f"]),
    }
    for name, (sql, columns) in cases.items():
        [r] = mod.compare(a, _db(tmp_path / f"{name}.duckdb", sql))
        assert not r["same"] and r["columns"] == columns, name
    typed = _db(tmp_path / "typed.duckdb", "create table marts.t as select k::bigint as k, s, f::double as f from "
                "(values (1, 'a', 0.1), (2, 'b', 0.2), (2, 'b', 0.2)) v(k, s, f)")
    [r] = mod.compare(a, typed)
    assert not r["same"] and "columns differ" in r["note"]


def test_run_dependent_columns_can_be_left_out(tmp_path):
    mod = _compare()
    a = _db(tmp_path / "a.duckdb", "create table marts.t as select 1 as k, 'v1' as partner_version_id")
    b = _db(tmp_path / "b.duckdb", "create table marts.t as select 1 as k, 'v2' as partner_version_id")
    assert not mod.compare(a, b)[0]["same"]
    assert mod.compare(a, b, mod.RUN_DEPENDENT)[0]["same"]
