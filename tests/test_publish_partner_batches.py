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


def _files_of(batches, order):
    return {pid: batches.files(pid) for pid in order}


def test_known_months_are_linked_not_formatted_and_give_the_same_bytes(warehouse, tmp_path):
    """Written into a content store, the monthly files come with digests: a second publication gets every
    month it has already stored as a KnownFile (no rows read, no formatting), the same bytes; a month whose rows
    changed is formatted again; the latest rows and counts stay what the whole-table split gives."""
    from phakhi.publish import files as F
    from phakhi.publish import partner_csv as C

    tables = {"fct_activities": "marts.fct_activities"}
    whole = P.read_warehouse(warehouse, tables, defer=())
    old_csv = P.PartnerMonthCsv(whole.get("fct_activities"))
    old_rows = P.ByPartner(whole.get("fct_activities"))
    codes = P.Codebook(whole)
    order = ["P001", "P002", "P003", "P005", "P010", "P404"]
    store = tmp_path / "pubs" / F.OBJECTS_DIR
    out = tmp_path / "pubs" / ".building-x"

    def publish(db):
        C.take_used()
        wh = P.read_warehouse(db, tables)
        with F.sharing_into(store):
            b = P.PartnerBatches(wh, "fct_activities", order, batch=2, sort_keys=P.ROW_ORDER["fct_activities"])
            try:
                files = _files_of(b, order)
                latest = {pid: b.latest(pid) for pid in order}
                for pid, months in files.items():
                    for month, data in months:
                        from phakhi.publish.site import write_csv
                        write_csv(data, out / pid / f"{month}.csv")
            finally:
                b.close()
        F.write_store_index(C.index_path(store), C.take_used())
        return files, latest, b

    first, latest, _ = publish(warehouse)
    assert all(isinstance(d, bytes) for months in first.values() for _, d in months)     # nothing known yet
    for pid in order:
        assert first[pid] == old_csv.files(pid), pid
        assert P._activities_section(*latest[pid], codes) == \
            P._partner_activities(old_rows.get(pid, pd.DataFrame()), codes), pid
    again, _, b = publish(warehouse)
    assert all(isinstance(d, C.KnownFile) for months in again.values() for _, d in months)
    for pid in order:
        assert [m for m, _ in again[pid]] == [m for m, _ in old_csv.files(pid)]
        for (month, known), (_, data) in zip(again[pid], old_csv.files(pid)):
            assert (out / pid / f"{month}.csv").read_bytes() == data
            assert known.fetch() == data                  # what a store that lost the entry gets
    b.close()
    with duckdb.connect(str(warehouse)) as con:          # one partner's month changes
        con.execute("update marts.fct_activities set amount = amount + 1 where partner_id = 'P003' and period = '2025-02'")
    changed, _, _ = publish(warehouse)
    fresh = {(pid, m) for pid, months in changed.items() for m, d in months if isinstance(d, bytes)}
    assert fresh == {("P003", "2025-02")}
    assert dict(changed["P003"])["2025-02"] != dict(first["P003"])["2025-02"]


def test_latest_rows_of_a_view_equal_the_whole_table_split(warehouse, tmp_path):
    """A deferred model that is a view (no rowid) gives the same latest rows and counts."""
    from phakhi.publish import files as F

    with duckdb.connect(str(warehouse)) as con:
        con.execute("create view marts.fct_activities_view as select * from marts.fct_activities")
    whole = P.read_warehouse(warehouse, {"fct_activities": "marts.fct_activities"}, defer=())
    old_rows = P.ByPartner(whole.get("fct_activities"))
    codes = P.Codebook(whole)
    wh = P.read_warehouse(warehouse, {"fct_activities": "marts.fct_activities_view"})
    order = ["P001", "P002", "P003", "P005", "P010", "P404"]
    with F.sharing_into(tmp_path / "pubs" / F.OBJECTS_DIR):
        b = P.PartnerBatches(wh, "fct_activities", order, batch=2, sort_keys=P.ROW_ORDER["fct_activities"])
        try:
            assert b.digests is not None
            for pid in order:
                assert P._activities_section(*b.latest(pid), codes) == \
                    P._partner_activities(old_rows.get(pid, pd.DataFrame()), codes), pid
        finally:
            b.close()
