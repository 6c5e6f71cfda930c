"""The run report (phakhi/ingest/report.py: ingest_report.html and its CSV files) written from its kept rows
(`rows_cache`) at national size: CPU seconds of `write_ingest_report`, best of N passes, for a refresh with
nothing new, a month on top and a month of resubmissions (kept files superseded in the middle of the table).

    .venv/bin/python benchmarks/ingest_report.py                         # national: 73,700 activity workbooks
    .venv/bin/python benchmarks/ingest_report.py --repo /work/main       # another checkout's report.py
    .venv/bin/python benchmarks/ingest_report.py --files 5000 --passes 1 # smaller

The file reports are synthetic, shaped like a national refresh's (19 columns, microsecond arrival stamps);
each case starts from a cache kept by the case before it, as the monthly refreshes keep it. The results carry
the settled marks a refresh gives them (a checkout whose cache reuses a settled prefix reads them) -- but for the
resubmissions, which get none: a prefix cache given their new files would keep the superseded rows' old text.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
FAMILIES = {"partner_registry": 1, "ghg_reductions": 2_000, "partner_inventories": 2_000, "survey_waves": 5}


def _file_report(family: str, names: list[str], first: int):
    import pandas as pd

    n, t0 = len(names), datetime(2026, 1, 1, 8, 0, 0, 123456)
    return pd.DataFrame({
        "family": family, "file": names, "status": "loaded", "rule": None, "reason_en": None, "reason_th": None,
        "partner_id": [f"P{(first + k) % 8000:05d}" for k in range(n)], "period": "2026-01",
        "rows_read": [14 + (first + k) % 5 for k in range(n)], "rows_loaded": [14 + (first + k) % 5 for k in range(n)],
        "rows_quarantined": 0, "rows_superseded": 0, "blank_rows": 0, "sheet": "Activities", "encoding": None,
        "file_hash": [f"{first + k:064x}" for k in range(n)],
        "received_at": pd.Series([t0 + timedelta(seconds=first + k) for k in range(n)], dtype="datetime64[ns]"),
        "superseded_by": None, "notes": None})


def _result(frame, mark, since):
    import pandas as pd

    fam = frame["family"].iat[0]
    totals = {"family": fam, "files": len(frame), "files_rejected": 0, "files_superseded": 0,
              "files_duplicate": 0, "rows_read": int(frame["rows_read"].sum()),
              "rows_loaded": int(frame["rows_loaded"].sum()), "rows_quarantined": 0, "rows_superseded": 0}
    return SimpleNamespace(family=fam, file_report=frame, quarantine=pd.DataFrame(), totals=totals,
                           settled_mark=mark, settled_since=since)


def _resubmitted(frame, every: int, first: int):
    """`frame` with every `every`th file superseded by a corrected one (appended), as a month of resubmissions."""
    import pandas as pd

    out = frame.copy()
    hit = out.index[::every]
    out.loc[hit, "status"] = "superseded"
    out.loc[hit, "rows_superseded"] = out.loc[hit, "rows_read"]
    out.loc[hit, "rows_loaded"] = 0
    names = [f"activity_reports/resubmitted/f{first + k:07d}.xlsx" for k in range(len(hit))]
    out.loc[hit, "superseded_by"] = names
    return pd.concat([out, _file_report("activity_reports", names, first)], ignore_index=True), names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=73_700, help="activity workbooks (national: 73,700)")
    ap.add_argument("--month", type=int, default=6_200, help="a month's new activity workbooks")
    ap.add_argument("--resubmissions", type=int, default=80)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--repo", type=Path, default=REPO, help="the checkout whose phakhi is measured")
    a = ap.parse_args()
    sys.path.insert(0, str(a.repo))
    from phakhi.ingest.report import write_ingest_report

    others = [_file_report(f, [f"{f}/f{k:06d}.csv" for k in range(n)], 0) for f, n in FAMILIES.items()]
    names = [f"activity_reports/f{k:07d}.xlsx" for k in range(a.files)]
    acts = _file_report("activity_reports", names, 0)
    month = [f"activity_reports/f{k:07d}.xlsx" for k in range(a.files, a.files + a.month)]
    acts_month = __import__("pandas").concat([acts, _file_report("activity_reports", month, a.files)],
                                             ignore_index=True)
    acts_resub, resub = _resubmitted(acts_month, max(1, len(acts_month) // max(1, a.resubmissions)),
                                     a.files + a.month)
    cases = [   # (name, activity report, mark, since): each on top of the one before
        ("cold (no kept rows)", acts, "m1", None),
        ("nothing new", acts, "m1", ("m1", [])),
        (f"a month on top (+{a.month:,} files)", acts_month, "m2", ("m1", [SimpleNamespace(file=n) for n in month])),
        # (no settled prefix: a refresh gives the superseded rows in the middle a prefix cache cannot keep)
        (f"{len(resub)} resubmissions", acts_resub, "m3", None),
    ]
    print(f"report.py of {a.repo}; {len(acts_resub) + sum(FAMILIES.values()):,} files at most; "
          f"CPU s, best of {a.passes}")
    with tempfile.TemporaryDirectory(prefix="phakhi-report-") as tmp:
        cache, prev = Path(tmp) / "cache", None
        for name, frame, mark, since in cases:
            best = float("inf")
            for _ in range(a.passes):
                if prev is None:                # each pass from the cache the case before left
                    shutil.rmtree(cache, ignore_errors=True)
                else:
                    write_ingest_report(prev, Path(tmp) / "out", rows_cache=cache)
                results = [_result(frame, mark, since)] + [_result(f, "o", ("o", [])) for f in others]
                c = time.process_time()
                write_ingest_report(results, Path(tmp) / "out", rows_cache=cache)
                best = min(best, time.process_time() - c)
            prev = results
            print(f"  {name:<32} {best:6.2f}")


if __name__ == "__main__":
    main()
