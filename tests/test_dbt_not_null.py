"""One not-null test per model (dbt_project/tests/generic/phakhi_not_null.sql) fails on the same rows as the
single-column not_null tests it replaced, and says which column(s) and how many rows. The declarations cover
every column that had a plain not_null (tests/test_guards.py reads them as not_null on each column)."""
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

DBT = Path(__file__).resolve().parents[1] / "dbt_project"


def declared() -> dict[str, list[str]]:
    out = {}
    for path in [*DBT.glob("models/**/*.yml"), *DBT.glob("seeds/*.yml"), *DBT.glob("snapshots/*.yml")]:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in [*(doc.get("models") or []), *(doc.get("seeds") or []), *(doc.get("snapshots") or [])]:
            for t in entry.get("data_tests") or []:
                if isinstance(t, dict) and "phakhi_not_null" in t:
                    out[entry["name"]] = t["phakhi_not_null"]["arguments"]["column_names"]
                    assert t["phakhi_not_null"]["name"] == f"not_null_{entry['name']}"
            columns = {c["name"] for c in entry.get("columns") or []}
            assert set(out.get(entry["name"], [])) <= columns, entry["name"]     # names real, documented columns
    return out


def test_multi_column_not_null_declarations_name_documented_columns():
    tests = declared()
    assert len(tests) > 60 and sum(map(len, tests.values())) > 280
    assert {"province_code", "region"} <= set(tests["dim_provinces"])


@pytest.mark.integration
def test_a_null_fails_the_models_not_null_test_naming_the_columns(copy_sample, tmp_path):
    from phakhi.settings import Paths
    from phakhi.transform import run_dbt

    paths, _ = copy_sample(tmp_path / "copy")
    work = Paths(tmp_path / "home").ensure()
    shutil.copyfile(paths.build_db, work.build_db)
    shutil.copyfile(paths.history_db, work.history_db)
    period = "2025-12"                                  # the SAMPLE home's month
    select = ["--select", "not_null_dim_provinces not_null_provinces"]
    clean = run_dbt(work, period, "test", extra=select)
    assert clean.success and clean.counts == {"pass": 2}, clean.failures
    with duckdb.connect(str(work.build_db)) as con:
        con.execute("update marts.dim_provinces set region = null where province_code in ('TH-10', 'TH-50')")
        con.execute("update marts.dim_provinces set partners_registered = null where province_code = 'TH-57'")
        con.execute("update reference.provinces set name_th = null where province_code = 'TH-10'")
    broken = run_dbt(work, period, "test", extra=select)
    assert not broken.success
    messages = {f["node"].split(".")[2]: f["message"] for f in broken.failures}
    assert set(messages) == {"not_null_dim_provinces", "not_null_provinces"}     # the build stops as before
    assert "dim_provinces: region (2 rows), partners_registered (1 rows)" in messages["not_null_dim_provinces"]
    assert "provinces: name_th (1 rows)" in messages["not_null_provinces"]
    assert "province_code" not in messages["not_null_dim_provinces"]        # only the columns holding nulls

