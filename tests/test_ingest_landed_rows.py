"""Settled rows written to DuckDB a chunk at a time, and a new month merged with the kept rows in DuckDB
(phakhi/ingest/landed.py): the same table -- column types, values and row order -- as `write_raw` makes
of the whole frame (what load_raw made before)."""
from datetime import date

import duckdb
import pandas as pd
import pytest

from phakhi.ingest.files import write_raw
from phakhi.ingest.landed import RowsWriter, merge_rows


def _frame(files, dates=True):
    rows = []
    for f, n in files:
        for k in range(n):
            rows.append({"_row": k + 2, "partner_id": f"P{k % 3}", "amount": None if k % 4 == 0 else k * 1.5,
                         "count": None if k % 5 == 0 else k, "when": date(2025, 1, 1 + k % 28) if dates and k % 2 else None,
                         "_file": f, "_sheet": "s", "_file_hash": "h" + f})
    df = pd.DataFrame(rows, columns=["_row", "partner_id", "amount", "count", "when", "_file", "_sheet", "_file_hash"])
    return df.astype({"_row": "Int64", "partner_id": "string", "amount": "float64", "count": "Int64",
                      "when": object, "_file": "string", "_sheet": "string", "_file_hash": "string"})


def _table(path, name="fam"):
    with duckdb.connect(str(path), read_only=True) as con:
        types = con.execute(f"describe raw.{name}").fetchall()
        rows = con.execute(f"select * from raw.{name}").fetchall()    # insertion order: what load_raw copies
    return types, rows


def _whole(tmp_path, df, name="whole.duckdb"):
    path = tmp_path / name
    with duckdb.connect(str(path)) as con:
        write_raw(con, "fam", df)
    return path


@pytest.mark.parametrize("dates", [True, False])
@pytest.mark.parametrize("sizes", [[0], [3], [1, 0, 7, 2], [5, 5, 5]])
def test_chunks_written_in_turn_make_the_table_write_raw_makes_of_the_whole_frame(tmp_path, sizes, dates):
    files = [(f"f{k:02d}.xlsx", n) for k, n in enumerate(sizes)]
    whole = _frame(files, dates)
    w = RowsWriter(tmp_path / "chunked.duckdb", "fam")
    for f, n in files:                       # one chunk per file, some empty, some without a date
        w.append(whole[whole["_file"] == f].reset_index(drop=True))
    w.close()
    assert w.rows == len(whole)
    assert _table(tmp_path / "chunked.duckdb") == _table(_whole(tmp_path, whole))


def test_a_date_column_empty_in_the_first_chunks_is_still_a_date_column(tmp_path):
    files = [("a.xlsx", 1), ("b.xlsx", 6)]          # a.xlsx's one row has no date (k = 0)
    whole = _frame(files)
    w = RowsWriter(tmp_path / "chunked.duckdb", "fam")
    for f, _ in files:
        w.append(whole[whole["_file"] == f].reset_index(drop=True))
    w.close()
    got = _table(tmp_path / "chunked.duckdb")
    assert dict((r[0], r[1]) for r in got[0])["when"] == "DATE"
    assert got == _table(_whole(tmp_path, whole))


@pytest.mark.parametrize("kept_files,new_files", [
    ([("a.xlsx", 3), ("c.xlsx", 2)], [("b.xlsx", 4), ("d.xlsx", 1)]),          # interleaved: sorted by file
    ([("a.xlsx", 3), ("b.xlsx", 2)], [("c.xlsx", 4)]),                          # all after: appended
    ([("ก.xlsx", 2), ("z.xlsx", 2)], [("ข.xlsx", 3), ("A.xlsx", 1)]),          # Thai names sort as Python does
    ([("a.xlsx", 3)], [("b.xlsx", 0)]),                                         # no new rows
])
def test_a_new_month_merged_in_duckdb_equals_the_frames_merged_by_file(tmp_path, kept_files, new_files):
    kept, fresh = _frame(kept_files), _frame(new_files)
    kept_db = _whole(tmp_path, kept, "kept.duckdb")
    last_kept = max(f for f, _ in kept_files)
    after = not len(fresh) or fresh["_file"].min() > last_kept
    assert merge_rows(kept_db, fresh, tmp_path / "merged.duckdb", "fam", after_kept=after)
    both = pd.concat([kept, fresh], ignore_index=True)
    order = {f: k for k, f in enumerate(sorted({f for f, _ in kept_files + new_files}))}
    want = both.iloc[both["_file"].map(order).argsort(kind="stable")].reset_index(drop=True)   # settled.by_file
    assert _table(tmp_path / "merged.duckdb") == _table(_whole(tmp_path, want))


def test_new_dates_in_a_column_kept_empty_so_far_refuse_the_merge(tmp_path):
    kept_db = _whole(tmp_path, _frame([("a.xlsx", 3)], dates=False), "kept.duckdb")
    out = tmp_path / "merged.duckdb"
    assert not merge_rows(kept_db, _frame([("b.xlsx", 3)]), out, "fam", after_kept=True)
    assert not out.exists()                   # the caller settles the whole family instead


def test_row_key_hashes_meet_exactly_when_python_keys_are_equal():
    from datetime import datetime

    from phakhi.ingest.settled import _key_hashes, _shares_a_key

    kept = _key_hashes([("P1", "2025-01", 1), ("P2", "2025-01", 2), ("P3", date(2025, 1, 1), 3)], 3)
    assert len(kept) == 3 and list(kept) == sorted(kept)
    for same in [("P1", "2025-01", 1.0), ("P2", "2025-01", True + 1), ("P3", date(2025, 1, 1), 3)]:
        assert _shares_a_key(_key_hashes([same], 3), kept), same
    for other in [("P1", "2025-01", "1"), ("P1", "2025-02", 1), ("P3", datetime(2025, 1, 1), 3), ("P1", "2025-01", 1.5)]:
        assert not _shares_a_key(_key_hashes([other], 3), kept), other
    again = _key_hashes([("P2", "2025-01", 2), ("P1", "2025-01", 1), ("P3", date(2025, 1, 1), 3)], 3)
    assert list(again) == list(kept)               # the same in any order (and in any process: no salt)


def test_a_month_after_the_kept_files_is_appended_in_place(tmp_path):
    from phakhi.ingest.landed import append_rows

    kept, fresh = _frame([("a.xlsx", 3), ("b.xlsx", 2)]), _frame([("c.xlsx", 4)])
    db = _whole(tmp_path, kept, "kept.duckdb")
    assert not append_rows(db, fresh, "fam", kept_rows=4)           # the file does not hold what the state says
    assert _table(db) == _table(_whole(tmp_path, kept, "again.duckdb"))
    assert append_rows(db, fresh, "fam", kept_rows=5)
    assert _table(db) == _table(_whole(tmp_path, pd.concat([kept, fresh], ignore_index=True), "want.duckdb"))
    undated = _whole(tmp_path, _frame([("a.xlsx", 3)], dates=False), "undated.duckdb")
    assert not append_rows(undated, _frame([("b.xlsx", 3)]), "fam", kept_rows=3)     # a DATE column now
