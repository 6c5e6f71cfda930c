"""The landing ledger recorded in proportion to what changed (ledger.record with settled marks): when a
family settled on top of the state the ledger already reflects, only its new files' rows are read and
written; in any other case (a crash between the settled state and the ledger, a changed or deleted file, no
mark) every file is recorded as before -- and the ledger is the same either way. The run report's "all files"
rows likewise (report.FileRowsCache): the page is the same as rendered whole."""
import re
import shutil
from datetime import datetime, timedelta

import duckdb
import pytest

from phakhi.ingest import ledger, report, settled
from phakhi.ingest.landing import ingest_landing_settled, plan_landing
from phakhi.publish.files import neutralise_formulas
from phakhi.settings import Paths
from test_benchmarks_national import _national
from test_ingest_settled import _spoil_a_number

T0 = datetime(2026, 1, 1)


def _tables(home):
    out = {}
    con = duckdb.connect(str(ledger.ledger_path(home)), read_only=True)
    try:
        for t in ("landing_files", "landing_paths", "landing_events"):
            out[t] = sorted(map(repr, con.execute(f"select * from {t}").fetchall()))
        out["marks"] = dict(con.execute("select family, mark from landing_marks").fetchall())
    finally:
        con.close()
    return out


def _undated(html):
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", html)


def _sync(src, dest):
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, copy_function=shutil.copy2)


@pytest.mark.integration
def test_recording_only_new_files_gives_the_full_ledger_and_falls_back_after_drift(tmp_path, monkeypatch):
    nat = _national()
    a = Paths.from_env(tmp_path / "a").ensure()          # marks kept: new files only where safe
    b = Paths.from_env(tmp_path / "b").ensure()          # always recorded in full, as before
    landing = tmp_path / "landing"
    acts = landing / "activity_reports"
    calls = []
    real = ledger._record_files

    def spy(con, buf, home, archive, run_at, fam, files, changes, owner, only_new=False):
        calls.append((fam, only_new, len(files)))
        return real(con, buf, home, archive, run_at, fam, files, changes, owner, only_new)

    monkeypatch.setattr(ledger, "_record_files", spy)
    real_record, in_full = ledger.record, []

    def record(home, results, *args, **kw):          # b: never told which files are new
        if in_full:
            for r in results:
                r.settled_since = None
        return real_record(home, results, *args, **kw)

    monkeypatch.setattr(ledger, "record", record)

    modes = {}

    def step(k, record=True):
        calls.clear()
        modes.clear()
        for p in (a, b):
            _sync(landing, p.landing)
            plan = plan_landing(p)
            plan.run_at = T0 + timedelta(days=k)
            in_full[:] = [True] if p is b else []
            got = ingest_landing_settled(p, plan=plan, record=record)
            if p is a:
                modes.update({f: v["mode"] for f, v in settled.LAST.items()})
                if record:      # the run report's "all files" rows, partly from the kept rows: as rendered whole
                    page = (p.quarantine / "ingest_report.html").read_text(encoding="utf-8")
                    assert _undated(page) == _undated(report.render_ingest_report_html(got)), k
                    # ... and ingest_files.csv, partly the kept lines: the bytes to_csv writes for the whole table
                    whole = tmp_path / "whole.csv"
                    neutralise_formulas(report.file_table(got)).to_csv(whole, index=False, encoding="utf-8-sig",
                                                                       date_format=report.CSV_DATE_FORMAT)
                    assert (p.quarantine / "ingest_files.csv").read_bytes() == whole.read_bytes(), k
        got, want = _tables(a.home), _tables(b.home)
        for t in ("landing_files", "landing_paths", "landing_events"):
            assert got[t] == want[t], (k, t)
        return {fam: only_new for fam, only_new, _ in calls[: len(calls) // 2]}    # a's calls come first

    nat.generate(landing, scale=0.002, months=2, workers=1)
    assert step(1)["activity_reports"] is False                          # nothing kept yet: in full
    nat.generate(landing, scale=0.002, months=3, workers=1)
    paths_a = step(2)
    assert paths_a["activity_reports"] is True and paths_a["ghg_reductions"] is True
    assert len(_tables(a.home)["marks"]) >= 4
    nat.generate(landing, scale=0.002, months=3, workers=1, resubmissions=2)   # 2025-02 corrected twice:
    paths_a = step(2.5)                              # only the new files and the two they supersede recorded
    assert modes["activity_reports"] == "incremental" and paths_a["activity_reports"] is True
    con = duckdb.connect(str(ledger.ledger_path(a.home)), read_only=True)
    assert con.execute("select count(*) from landing_files where status = 'superseded'").fetchone()[0] == 2
    con.close()

    con = duckdb.connect(str(ledger.ledger_path(a.home)), read_only=True)
    current = con.execute("select min(file) from landing_files where family = 'activity_reports' "
                          "and status = 'current'").fetchone()[0]
    con.close()
    gone = landing / current                                             # deleted, and the run stops after
    gone.unlink()                                                        # the settled state was saved but
    step(3, record=False)                                                # before the ledger was written
    later = tmp_path / "later"
    nat.generate(later, scale=0.002, months=5, workers=1)

    def new_month(m):                                                    # a new month's files, nothing else
        for f in later.rglob(f"*2025-{m:02d}*"):
            if f.is_file():
                (landing / f.relative_to(later)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, landing / f.relative_to(later))

    new_month(4)
    paths_a = step(4)                      # settles incrementally on the saved state, but the ledger reflects
    assert modes["activity_reports"] == "incremental"
    assert paths_a["activity_reports"] is False                          # an older one: recorded in full
    con = duckdb.connect(str(ledger.ledger_path(a.home)), read_only=True)
    status = con.execute("select status from landing_files where file = ?", [current]).fetchone()[0]
    con.close()
    assert status == "withdrawn"

    _spoil_a_number(sorted(acts.rglob("*2025-02*.xlsx"))[0])             # a changed file: in full
    assert step(5)["activity_reports"] is False
    new_month(5)
    assert step(6)["activity_reports"] is True
    assert step(7)["activity_reports"] is True                           # nothing new: nothing to write
    rows = report.FileRowsCache(a.ingest_cache)
    results = ingest_landing_settled(a, record=False)
    report.render_ingest_report_html(results, rows_cache=rows)
    assert rows.stats["reused"] > 0 and rows.stats["rendered"] < rows.stats["reused"]
