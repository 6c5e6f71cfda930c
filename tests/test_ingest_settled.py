"""Settling in proportion to what changed (phakhi/ingest/settled.py): at every step of a landing area's
history, the refresh's path (per-file cache, incremental settle when only unrelated new files arrived)
gives exactly what settling every file from scratch gives — and a new month is settled incrementally."""
import os
import shutil
import time

import pandas as pd
import pytest

from phakhi.ingest import settled
from phakhi.ingest.landing import ingest_landing, ingest_landing_settled, plan_landing, run_jobs_locally
from phakhi.settings import Paths
from test_benchmarks_national import _national


def _step(paths):
    """The refresh's path, then the reference (every file read again, no cache, full settle) on the same plan."""
    plan = plan_landing(paths)
    got = ingest_landing_settled(paths, plan=plan)
    modes = {f: dict(s) for f, s in settled.LAST.items()}
    want = ingest_landing(paths, run_jobs=lambda jobs: run_jobs_locally(jobs, paths.landing, 1), record=False,
                          plan=plan)
    assert [r.family for r in got] == [r.family for r in want]
    for a, b in zip(got, want):
        assert a.totals == b.totals, a.family
        for name in ("loaded", "quarantine", "file_report"):
            pd.testing.assert_frame_equal(getattr(a, name).reset_index(drop=True),
                                          getattr(b, name).reset_index(drop=True), obj=f"{a.family}.{name}")
        assert [(o.file, o.status, o.received_at) for o in a.files] == \
               [(o.file, o.status, o.received_at) for o in b.files]
    return modes


@pytest.mark.integration
def test_each_step_of_a_history_settles_as_from_scratch(tmp_path):
    nat = _national()
    paths = Paths.from_env(tmp_path).ensure()
    acts = paths.landing / "activity_reports"
    nat.generate(paths.landing, scale=0.002, months=2, workers=1)
    assert _step(paths)["activity_reports"]["mode"] == "full"          # nothing kept yet

    nat.generate(paths.landing, scale=0.002, months=3, workers=1)      # a new month: only its files settle
    modes = _step(paths)
    assert modes["activity_reports"]["mode"] == "incremental" and modes["activity_reports"]["new"] > 0
    assert modes["ghg_reductions"]["mode"] == "incremental"
    assert modes["partner_registry"]["mode"] == "incremental" and modes["partner_registry"]["new"] == 0

    nat.generate(paths.landing, scale=0.002, months=3, workers=1, resubmissions=2)   # 2025-02 corrected twice:
    modes = _step(paths)                                                 # the two supersede kept files
    assert modes["activity_reports"] == {"mode": "incremental", "kept": modes["activity_reports"]["kept"],
                                         "new": 2}
    statuses = {o.file: o.status for r in ingest_landing_settled(paths, record=False) for o in r.files}
    assert sum(s == "superseded" for s in statuses.values()) == 2
    from phakhi.sample import SEED                      # corrected again: row keys of both earlier versions
    nat.write_resubmissions(nat.national_partners(16, SEED), "2025-02", acts, SEED, 2, version=3)
    modes = _step(paths)
    assert modes["activity_reports"] == {"mode": "incremental", "kept": modes["activity_reports"]["kept"],
                                         "new": 2}

    one = sorted(acts.rglob("*2025-03*.xlsx"))[0]
    shutil.copy2(one, acts / "copy_of_a_report.xlsx")                  # identical content, new name: full
    assert _step(paths)["activity_reports"]["mode"] == "full"

    older = sorted(acts.rglob("*2025-01*.xlsx"))[0]                     # a resubmission of an old month
    shutil.copy2(sorted(acts.rglob("*2025-02*.xlsx"))[0], acts / "resubmitted.xlsx")
    assert _step(paths)["activity_reports"]["mode"] == "full"          # its coverage meets a kept file's
    os.utime(older, (time.time(), time.time() + 5))                     # touched: full
    assert _step(paths)["activity_reports"]["mode"] == "full"
    (acts / "copy_of_a_report.xlsx").unlink()                           # withdrawn: full
    assert _step(paths)["activity_reports"]["mode"] == "full"

    nat.generate(paths.landing, scale=0.002, months=4, workers=1)      # a new month, one bad cell in it
    _step(paths)
    nat.generate(paths.landing, scale=0.002, months=5, workers=1)
    bad = sorted(acts.rglob("*2025-05*.xlsx"))[0]
    _spoil_a_number(bad)
    modes = _step(paths)
    assert modes["activity_reports"]["mode"] == "incremental"
    last = ingest_landing_settled(paths, record=False)
    q = {r.family: r.quarantine for r in last}["activity_reports"]
    assert len(q) == 1 and q.iloc[0]["rule"] == "type" and q.iloc[0]["value"] == "ไม่ทราบ"


@pytest.mark.integration
def test_a_resubmission_meeting_kept_files_otherwise_settles_in_full(tmp_path):
    """Only a resubmission that covers all of a kept file's partner-months supersedes it incrementally: one
    covering part of a kept file's months, or one received before it, settles the family in full -- and
    either way the result is a full settle's."""
    import csv

    nat = _national()
    paths = Paths.from_env(tmp_path).ensure()
    nat.generate(paths.landing, scale=0.002, months=2, workers=1)
    acts = paths.landing / "activity_reports"
    head = ["รหัสภาคี", "เดือน", "ลำดับ", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด", "จำนวนผู้เข้าร่วม"]

    def write(name, rows, mtime):
        path = acts / name
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([head, *rows])
        os.utime(path, (mtime, mtime))

    def row(month, no, n):
        return ["P0001", month, str(no), "public_awareness", "campaign", "รณรงค์ลดใช้ถุงพลาสติก", "ลำปาง", str(n)]

    now = time.time()
    write("two_months.csv", [row("ม.ค. 2568", 91, 10), row("ก.พ. 2568", 91, 20)], now - 100)
    _step(paths)
    write("one_of_them.csv", [row("ม.ค. 2568", 92, 30)], now)           # covers one of its two months
    assert _step(paths)["activity_reports"]["mode"] == "full"
    write("both_again.csv", [row("ม.ค. 2568", 93, 40), row("ก.พ. 2568", 93, 50)], now + 100)
    modes = _step(paths)                     # covers both: supersedes both files, in step
    assert modes["activity_reports"] == {"mode": "incremental", "kept": modes["activity_reports"]["kept"], "new": 1}
    write("older.csv", [row("ก.พ. 2568", 94, 60)], now - 1000)           # one month of both_again's
    assert _step(paths)["activity_reports"]["mode"] == "full"
    write("same_key.csv", [row("ม.ค. 2568", 93, 70)], now + 200)         # a key of both_again's: both quarantined
    assert _step(paths)["activity_reports"]["mode"] == "full"
    write("all_again.csv", [row("ม.ค. 2568", 95, 80), row("ก.พ. 2568", 95, 90)], now + 300)
    assert _step(paths)["activity_reports"]["mode"] == "full"            # supersedes a file of a duplicate pair


def _spoil_a_number(path):
    """Write text into the last numeric cell of the workbook's last row (a row to quarantine)."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.worksheets[0]
    row = list(ws.iter_rows())[ws.max_row - 1]
    cell = [c for c in row if isinstance(c.value, (int, float))][-1]
    cell.value = "ไม่ทราบ"
    wb.save(path)


def test_settled_state_is_ignored_when_the_code_changes(tmp_path):
    state = settled.Settled("code-a", "activity_reports", {}, None)
    settled.save(tmp_path, state)
    assert settled.load(tmp_path, "activity_reports", "code-a") is not None
    assert settled.load(tmp_path, "activity_reports", "code-b") is None
    (tmp_path / "settled-activity_reports.pkl").write_bytes(b"not a pickle")
    assert settled.load(tmp_path, "activity_reports", "code-a") is None


def test_a_state_of_other_code_is_refused_by_its_header_without_unpickling_it(tmp_path, monkeypatch):
    """A change to the settling code makes every kept state stale: the file's header says so, and the state
    (national activities: ~0.4 GB unpickled) is not read only to be dropped."""
    import pickle

    settled.save(tmp_path, settled.Settled("code-a", "activity_reports", {}, None, mark="m"))
    unpickled = []
    real = pickle.load
    monkeypatch.setattr(pickle, "load", lambda fh: unpickled.append(real(fh)) or unpickled[-1])
    assert settled.load(tmp_path, "activity_reports", "code-b") is None
    assert unpickled == [("code-a", "activity_reports")]      # the header only
    assert settled.load(tmp_path, "activity_reports", "code-a").mark == "m"
    assert settled.load(tmp_path, "ghg_reductions", "code-a") is None       # another family's name
