"""The raw tables are built column by column (files.records_frame): exactly the frame the former row-dict
build gave, on a generated national-shaped landing and on hand-made edge cases (a record without an optional
column, files without rows)."""
from dataclasses import replace

import pandas as pd

from phakhi.ingest.contracts import load_contract
from phakhi.ingest.files import META_COLUMNS, FileOutcome, ingest_files, list_files, records_frame, typed_frame
from test_benchmarks_national import _national


def _legacy(contract, outcomes):
    """The former build: one merged dict per row, then a frame from the dicts."""
    names = ["_row"] + contract.column_names
    rows = []
    for o in outcomes:
        meta = {"_file": o.file, "_sheet": o.sheet, "_file_hash": o.file_hash}
        for r in o.records:
            rows.append({**r, **meta})
    return typed_frame(contract, pd.DataFrame(rows, columns=names + META_COLUMNS))


def _same(contract, outcomes):
    got = typed_frame(contract, records_frame(contract, outcomes), copy=False)
    pd.testing.assert_frame_equal(got, _legacy(contract, outcomes))
    return got


def test_records_frame_matches_the_row_dict_build_on_a_generated_landing(tmp_path):
    _national().generate(tmp_path, scale=0.002, months=2, workers=1)
    for family in ("activity_reports", "ghg_reductions", "partner_inventories", "survey_waves", "partner_registry"):
        files = list_files(tmp_path / family)
        outcomes = ingest_files(family, files, tmp_path, None, workers=1)
        got = _same(load_contract(family), outcomes)
        assert len(got) == sum(len(o.records) for o in outcomes) > 0, family


def test_records_frame_edge_cases(tmp_path):
    contract = load_contract("activity_reports")
    _national().generate(tmp_path, scale=0.002, months=1, workers=1)
    files = list_files(tmp_path / "activity_reports")[:3]
    a, b, c = ingest_files("activity_reports", files, tmp_path, None, workers=1)
    opt = next(col.name for col in contract.columns if not col.required)
    partial = replace(b, records=[{k: v for k, v in r.items() if k != opt} for r in b.records])
    empty = replace(c, records=[])
    got = _same(contract, [a, partial, empty])
    assert got[opt].iloc[len(a.records):].isna().all()
    none = _same(contract, [empty])
    assert len(none) == 0 and list(none.columns) == ["_row"] + contract.column_names + META_COLUMNS
    assert isinstance(a, FileOutcome)


def test_workbook_bounds_fast_path_keeps_every_refusal():
    """Small sheets skip the per-reference scan (no reference beyond ZZ999); anything larger is still scanned
    exactly: a stray far cell, a used range over the cell bound, and a wide-but-allowed sheet."""
    import pytest

    from phakhi.doctor import xlsx_bytes
    from phakhi.ingest.readers import UnreadableFile, check_workbook_bounds

    rows = [["a", "b"], [1, 2]]
    check_workbook_bounds(xlsx_bytes(rows))                                  # small: fast path
    check_workbook_bounds(xlsx_bytes(rows, {"ZZ999": "x"}))                 # the fast path's edge
    check_workbook_bounds(xlsx_bytes(rows, {"ALL5": "x"}))                  # column 1000: allowed, scanned
    check_workbook_bounds(xlsx_bytes(rows, {"B4000": "x"}))                 # 4,000 rows x 2: allowed, scanned
    for stray in ("XFD1048576", "ALM1", "E1048576", "ZZ9000"):              # beyond a bound: refused
        with pytest.raises(UnreadableFile) as exc:
            check_workbook_bounds(xlsx_bytes(rows, {stray: "x"}))
        assert exc.value.rule == "too_large", stray


def test_list_files_lists_what_the_rglob_walk_listed(tmp_path):
    """One scandir per folder, the same files in the same order: hidden files and folders and Office lock
    files skipped, links listed (to be refused) but never followed, fifos skipped."""
    import os

    def rglob_walk(folder):
        return sorted(p for p in folder.rglob("*") if (p.is_symlink() or p.is_file())
                      and not p.name.startswith((".", "~$"))
                      and not any(part.startswith(".") for part in p.relative_to(folder).parts[:-1]))

    for d in ("a/.hidden", ".h2/x", "b-c", "b", "b/c"):
        (tmp_path / d).mkdir(parents=True)
    for f in ("a/f.csv", "a/.x", "a/~$lock.xlsx", "a/.hidden/g.csv", ".h2/x/y.csv", "b-c/1", "b/2", "b/c/3.xlsx"):
        (tmp_path / f).write_text("x")
    (tmp_path / "a" / "link.csv").symlink_to("/etc/hostname")
    (tmp_path / "dirlink").symlink_to(tmp_path / "b")
    os.mkfifo(tmp_path / "a" / "fifo")
    got = list_files(tmp_path)
    assert got == rglob_walk(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in got] == ["a/f.csv", "a/link.csv", "b/2", "b/c/3.xlsx",
                                                                 "b-c/1", "dirlink"]
