"""Partner pages read the per-partner facts from DuckDB batch by batch (pages.PartnerBatches) instead of
holding the whole table: the rows shown, their counts and the per-partner monthly CSV bytes must be exactly
what splitting the whole table gives (the previous path, still used for tables held in memory)."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from phakhi.publish import pages as P


def _facts() -> pd.DataFrame:
    rows = []
    for i, pid in enumerate(["P003", "P001", "P010", "P002", "P005"]):
        for k in range(9 if pid != "P002" else 3):
            rows.append({
                "partner_id": pid, "period": f"2025-{1 + (k % 4):02d}", "activity_no": k % 3,
                "source_file": f"f{i}.xlsx", "source_row": 10 - k,
                # a formula-like text, a Thai text, NULLs in an integer column for one partner only
                "title": "=HYPERLINK(1)" if k == 2 else f"กิจกรรม {k}", "people": None if pid == "P010" else k * 7,
                "amount": 0.1 + 0.2 * k,
                # one partner holds a non-midnight time: the whole column is written with times
                "at": pd.Timestamp("2025-01-01 13:45:00") if (pid == "P005" and k == 1) else pd.Timestamp(f"2025-0{1 + k % 4}-01"),
            })
    return pd.DataFrame(rows)


@pytest.fixture()
def warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    df = _facts()
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.register("df", df)
        con.execute("create table marts.fct_activities as select * exclude (people), people::integer as people from df")
    return db


@pytest.mark.parametrize("batch", [1, 2, 200])
def test_batches_from_duckdb_equal_the_whole_table_split(warehouse, batch):
    tables = {"fct_activities": "marts.fct_activities"}
    whole = P.read_warehouse(warehouse, tables, defer=())
    deferred = P.read_warehouse(warehouse, tables)
    assert "fct_activities" not in deferred.frames and deferred.has("fct_activities")
    order = ["P001", "P002", "P003", "P005", "P010", "P404"]      # page order; P404 has no rows
    old_rows = P.ByPartner(whole.get("fct_activities"))
    old_csv = P.PartnerMonthCsv(whole.get("fct_activities"))
    new = P.PartnerBatches(deferred, "fct_activities", order, batch=batch, sort_keys=P.ROW_ORDER["fct_activities"])
    codes = P.Codebook(whole)
    try:
        for pid in order:
            assert new.files(pid) == old_csv.files(pid), pid
            old_page = P._partner_activities(old_rows.get(pid, pd.DataFrame()), codes)
            assert P._activities_section(*new.latest(pid), codes) == old_page, pid
    finally:
        new.close()
    assert any(b"13:45:00" in data for _, data in old_csv.files("P005"))
    assert all(b"T00:00:00" in data for _, data in old_csv.files("P001"))      # the column's format, not the row's
    assert any(b"'=HYPERLINK" in data for _, data in old_csv.files("P001"))


def test_whole_table_stays_readable_on_demand(warehouse):
    wh = P.read_warehouse(warehouse, {"fct_activities": "marts.fct_activities"})
    assert len(wh.get("fct_activities")) == len(_facts())
    assert wh.sources == {"fct_activities": "marts.fct_activities"}
