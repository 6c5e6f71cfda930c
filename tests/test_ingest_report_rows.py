"""The run report's "all files" rows (ingest_report.html) and ingest_files.csv's lines, each row's text reused
from an earlier run by its values (report.FileRowsCache): the very text rendering the whole table gives, when a
kept row changes in the middle (a resubmission supersedes it), a row goes, or a row's CSV timestamp format
changes with its chunk -- and only the rows whose text may differ are rendered again."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import jinja2
import pandas as pd

from phakhi.ingest import report
from phakhi.publish.files import neutralise_formulas

T0 = datetime(2025, 1, 1, 8, 0, 0, 123456)


def _report(family: str, n: int, at: datetime = T0) -> pd.DataFrame:
    return pd.DataFrame({
        "family": family, "file": [f"{family}/f{k:06d}.xlsx" for k in range(n)], "status": "loaded",
        "rows_read": [10 + k % 7 for k in range(n)], "rows_loaded": [10 + k % 7 for k in range(n)],
        "rows_quarantined": 0, "rows_superseded": 0, "file_hash": [f"{k:064x}" for k in range(n)],
        "notes": ["=cmd()" if k % 997 == 0 else None for k in range(n)],
        "received_at": pd.Series([at + timedelta(seconds=k % 3) for k in range(n)], dtype="datetime64[ns]")})


def _results(*reports):
    return [SimpleNamespace(family=f["family"].iat[0], file_report=f) for f in reports]


def _rows_whole(results) -> str:
    return report._file_rows(jinja2.Environment(autoescape=True), results, report.file_table(results), None)


def _csv_whole(results, tmp_path) -> bytes:
    path = tmp_path / "whole.csv"
    neutralise_formulas(report.file_table(results)).to_csv(path, index=False, encoding="utf-8-sig",
                                                           date_format=report.CSV_DATE_FORMAT)
    return path.read_bytes()


def _both(results, cache, tmp_path):
    """Renders the rows and the CSV from `cache`, checks each against the whole table's, and returns how many
    rows each rendered."""
    rows = report.FileRowsCache(cache)
    text = report._file_rows(jinja2.Environment(autoescape=True), results, report.file_table(results), rows)
    assert text == _rows_whole(results)
    lines = report.FileRowsCache(cache, kind="csv")
    csv = report._files_csv(results, neutralise_formulas(report.file_table(results)), lines)
    assert csv is not None and ("\ufeff" + csv).encode() == _csv_whole(results, tmp_path)
    return rows.stats["rendered"], lines.stats["rendered"]


def test_a_superseded_row_in_the_middle_renders_that_row_alone(tmp_path):
    acts, ghg = _report("activity_reports", 6000), _report("ghg_reductions", 40)   # > one to_csv chunk
    assert _both(_results(acts, ghg), tmp_path / "c", tmp_path) == (6040, 6040)     # nothing kept yet
    assert _both(_results(acts, ghg), tmp_path / "c", tmp_path) == (0, 0)           # nothing changed
    fixed = acts.copy()                            # 2,500 is corrected: superseded, the correction at the end
    fixed.loc[2500, ["status", "rows_loaded", "rows_superseded"]] = ["superseded", 0, fixed.at[2500, "rows_read"]]
    fixed = pd.concat([fixed, _report("activity_reports", 6001).iloc[[6000]]], ignore_index=True)
    assert _both(_results(fixed, ghg), tmp_path / "c", tmp_path) == (2, 2)
    gone = fixed.drop(index=[10, 2500]).reset_index(drop=True)                    # rows withdrawn: no new text
    assert _both(_results(gone, ghg), tmp_path / "c", tmp_path) == (0, 0)
    assert _both(_results(ghg, gone), tmp_path / "c", tmp_path) == (0, 0)         # order is the table's


def test_stamps_print_in_one_format_whatever_their_neighbours(tmp_path):
    acts = _report("activity_reports", 6000, datetime(2025, 1, 1, 8))             # whole seconds ...
    acts.loc[5500, "received_at"] = pd.Timestamp("2025-01-01 08:00:00.5")        # ... but one row
    assert 5500 > 100_000 // len(report.FILE_COLUMNS)                             # in to_csv's 2nd chunk
    _both(_results(acts), tmp_path / "c", tmp_path)
    whole = _csv_whole(_results(acts), tmp_path)
    assert b"08:00:00.500000," in whole and b"08:00:01.000000," in whole
    later = acts.drop(index=[5500]).reset_index(drop=True)        # its neighbours' lines stay as they were
    assert _both(_results(later), tmp_path / "c", tmp_path) == (0, 0)
    shifted = later.iloc[100:].reset_index(drop=True)
    assert _both(_results(shifted), tmp_path / "c", tmp_path) == (0, 0)


def test_rows_match_by_file_and_values_of_one_type_and_missing_values_match():
    kept = pd.DataFrame({"file": list("abcdefghi"), "o": [1, 1.0, True, "1", None, float("nan"), pd.NA, 2, "x"],
                         "f": [0.0, -0.0, float("nan"), 1.5, 2.0, 2.0, 2.0, 2.0, 2.0]})
    new = pd.DataFrame({"file": list("abcdefgzi"), "o": [1.0, 1, 1, 1, float("nan"), pd.NA, None, 2, "x"],
                        "f": [0.0, -0.0, float("nan"), 1.5, 2.0, 2.0, 2.0, 2.0, -0.0]})
    assert report.same_rows(kept, new).tolist() == [-1, -1, -1, -1, 4, 5, 6, -1, -1]
    assert report.same_rows(kept, new.iloc[::-1]).tolist() == [-1, -1, 6, 5, 4, -1, -1, -1, -1]
    assert report.same_rows(kept, kept.copy()).tolist() == list(range(9))
    twice = pd.concat([kept, kept], ignore_index=True)                          # a file twice: in place only
    assert report.same_rows(twice, kept.iloc[::-1]).tolist() == [-1] * 4 + [4] + [-1] * 4
    stamps = pd.DataFrame({"file": ["a", "b"], "t": pd.Series([T0, None], dtype="datetime64[ns]")})
    assert report.same_rows(stamps, stamps.copy()).tolist() == [0, 1]
    ext = pd.DataFrame({"file": ["a", "b"], "n": pd.array([1, None], dtype="Int64"),
                        "s": pd.array(["x", None], dtype="string")})
    assert report.same_rows(ext, ext.copy()).tolist() == [0, 1]
    assert report.same_rows(ext, ext.assign(n=pd.array([2, None], dtype="Int64"))).tolist() == [-1, 1]


def test_a_kept_entry_of_another_code_or_a_spoilt_file_is_rendered_again(tmp_path):
    results = _results(_report("activity_reports", 50))
    _both(results, tmp_path / "c", tmp_path)
    for path in (tmp_path / "c").glob("report-*.pkl"):
        path.write_bytes(b"not a pickle")
    assert _both(results, tmp_path / "c", tmp_path) == (50, 50)
    rows = report.FileRowsCache(tmp_path / "c")
    values = results[0].file_report[report.ROW_COLUMNS].head(1)
    assert rows.rows("activity_reports", "another template", values, lambda idx: ["<tr>x</tr>"]) == "<tr>x</tr>"
    assert rows.stats == {"rendered": 1, "reused": 0}


def test_the_page_with_kept_rows_is_the_page_rendered_whole(tmp_path):
    results = _results(_report("activity_reports", 30), _report("ghg_reductions", 5))
    for r in results:
        r.quarantine = pd.DataFrame()
        r.totals = {c: 0 for c in report.SUMMARY_COLUMNS if c != "balanced"} | {"family": r.family}
    cache = report.FileRowsCache(tmp_path / "c")
    report.render_ingest_report_html(results, rows_cache=cache)
    cache = report.FileRowsCache(tmp_path / "c")
    page = report.render_ingest_report_html(results, rows_cache=cache)
    assert cache.stats == {"rendered": 0, "reused": 35}
    undated = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert undated.sub("", page) == undated.sub("", report.render_ingest_report_html(results))
