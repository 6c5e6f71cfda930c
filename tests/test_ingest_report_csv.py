"""ingest_files.csv written family by family from kept lines (report._files_csv) is the very file to_csv
writes for the whole table, its datetimes in one format whatever their chunk of rows."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pandas as pd

from phakhi.ingest import report
from phakhi.publish.files import neutralise_formulas


def _family(name: str, n: int, at: datetime, start: int = 0):
    files = [f"{name}/f{k:06d}.csv" for k in range(start, start + n)]
    frame = pd.DataFrame({"family": name, "file": files, "status": "loaded", "rows_read": range(n),
                          "notes": ["=cmd()" if k % 997 == 0 else None for k in range(n)],
                          "received_at": pd.Series([at + timedelta(seconds=k % 3) for k in range(n)],
                                                   dtype="datetime64[ns]")})
    return frame, files


def _result(name, frame, mark, since=None):
    return SimpleNamespace(family=name, file_report=frame, settled_mark=mark, settled_since=since)


def _whole(results, path) -> bytes:
    neutralise_formulas(report.file_table(results)).to_csv(path, index=False, encoding="utf-8-sig",
                                                           date_format=report.CSV_DATE_FORMAT)
    return path.read_bytes()


def test_kept_lines_give_the_whole_tables_bytes(tmp_path):
    cache = tmp_path / "cache"
    stamp = datetime(2025, 1, 1, 8, 0, 0, 123456)          # microseconds: shown in every chunk
    later = datetime(2025, 2, 1, 9, 30, 0, 654321)
    a, a_files = _family("activity_reports", 6000, stamp)    # more than one to_csv chunk (100,000 cells)
    b, _ = _family("ghg_reductions", 40, later)
    runs = [[_result("activity_reports", a, "m1"), _result("ghg_reductions", b, "g1")],
            [_result("activity_reports", a, "m1", ("m1", [])), _result("ghg_reductions", b, "g1", ("g1", []))]]
    more, more_files = _family("activity_reports", 50, later, start=6000)      # a month on top
    a2 = pd.concat([a, more], ignore_index=True)
    runs.append([_result("activity_reports", a2, "m2", ("m1", [SimpleNamespace(file=f) for f in more_files])),
                 _result("ghg_reductions", b, "g1", ("g1", []))])
    for k, results in enumerate(runs):
        text = report._files_csv(results, neutralise_formulas(report.file_table(results)),
                                 report.FileRowsCache(cache, kind="csv"))
        assert text is not None and ("\ufeff" + text).encode() == _whole(results, tmp_path / "whole.csv"), k
    rows = report.FileRowsCache(cache, kind="csv")          # the month: the kept 6,000 lines, 50 new ones
    frame = neutralise_formulas(report.file_table(runs[-1]))
    runs[-1][0].settled_since = ("m2", [])
    runs[-1][0].settled_mark = "m2"
    assert report._files_csv(runs[-1], frame, rows) is not None and rows.stats["reused"] >= 6000


def test_midnight_stamps_print_their_time_alone_or_among_others(tmp_path):
    # left to itself, to_csv writes a chunk of midnight stamps alone as dates, and among times with its time
    stamp = datetime(2025, 1, 1, 8, 0, 0, 123456)
    a, _ = _family("activity_reports", 30, stamp)
    b, _ = _family("ghg_reductions", 30, datetime(2025, 2, 1))
    b["received_at"] = pd.Series([datetime(2025, 2, 1)] * 30, dtype="datetime64[ns]")
    cache = tmp_path / "c"
    for results in ([_result("ghg_reductions", b, "g1")],
                     [_result("activity_reports", a, "m1"), _result("ghg_reductions", b, "g1")]):
        text = report._files_csv(results, neutralise_formulas(report.file_table(results)),
                                 report.FileRowsCache(cache, kind="csv"))
        whole = _whole(results, tmp_path / "whole.csv")
        assert text is not None and ("\ufeff" + text).encode() == whole
        assert b",2025-02-01 00:00:00.000000," in whole
