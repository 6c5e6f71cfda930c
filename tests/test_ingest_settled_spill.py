"""The refresh's path with the settled rows kept in DuckDB (phakhi/ingest/settled.py with `spill`,
phakhi/ingest/landed.py): at every step of a landing area's history -- a new month, a copy, a resubmission,
a touched file, a changed file, a withdrawn one, a file back again -- the raw table load_raw makes from the
spill file is the one a full settle of every file from scratch gives (values, types and row order), and so
are the quarantine and the file report. Both the in-process and the separate-process settle are run."""
import os
import shutil
import time

import duckdb
import pandas as pd
import pytest

from phakhi.ingest import landing, settled
from phakhi.ingest.files import write_raw
from phakhi.settings import Paths
from test_benchmarks_national import _national
from test_ingest_settled import _spoil_a_number


def _raw(db, family):
    with duckdb.connect(str(db), read_only=True) as con:
        return (con.execute(f'describe raw."{family}"').fetchall(),
                con.execute(f'select * from raw."{family}"').fetchall())


def _step(paths, tmp_path, apart: bool):
    plan = landing.plan_landing(paths)
    spill = landing.landed_dir(paths)

    def run_families(jobs, run_at):
        return [landing.settle_family_cached(paths, j.family, j.files, j.known, run_at, spill=spill) for j in jobs]

    got = landing.ingest_landing_settled(paths, run_families=run_families, plan=plan)
    modes = {f: dict(s) for f, s in settled.LAST.items()}
    want = landing.ingest_landing(paths, run_jobs=lambda jobs: landing.run_jobs_locally(jobs, paths.landing, 1),
                                  record=False, plan=plan)
    db = tmp_path / "got.duckdb"
    db.unlink(missing_ok=True)
    landing.load_raw(db, got)
    kept_db = tmp_path / "kept.duckdb"              # one warehouse through the whole history: only what changed
    landing.load_raw(kept_db, got)                 # is appended to it (landed.SpilledResult.load_into)
    modes["loads"] = dict(landing.LOADS)
    assert [r.family for r in got] == [r.family for r in want]
    for a, b in zip(got, want):
        assert a.totals == b.totals, a.family
        for name in ("quarantine", "file_report"):
            pd.testing.assert_frame_equal(getattr(a, name).reset_index(drop=True),
                                          getattr(b, name).reset_index(drop=True), obj=f"{a.family}.{name}")
        assert [(o.file, o.status, o.received_at) for o in a.files] == \
               [(o.file, o.status, o.received_at) for o in b.files]
        ref = tmp_path / f"want-{b.family}.duckdb"
        ref.unlink(missing_ok=True)
        with duckdb.connect(str(ref)) as con:
            write_raw(con, b.family, b.loaded)            # what load_raw made of the in-memory frame
        assert _raw(db, a.family) == _raw(ref, b.family), a.family
        assert _raw(kept_db, a.family) == _raw(db, a.family), a.family
        if isinstance(a, landing.SpilledResult):
            assert a.partner_months == landing.partner_months(b)
            pd.testing.assert_frame_equal(a.loaded, b.loaded.reset_index(drop=True), obj=f"{a.family}.loaded")
    got.release()
    assert not list(spill.glob("*.duckdb"))                 # the spill files go; the kept rows stay
    kept = sorted(p.name for p in paths.ingest_cache.glob("settled-*.duckdb"))
    assert len(kept) == len({k.rsplit("-", 1)[0] for k in kept})      # one rows file per family
    return modes


@pytest.mark.integration
@pytest.mark.parametrize("apart", [False, True])
def test_each_step_of_a_history_loads_the_raw_tables_of_a_settle_from_scratch(tmp_path, apart, monkeypatch):
    monkeypatch.setattr(landing, "APART_FROM_FILES", 1 if apart else 10 ** 9)
    nat = _national()
    paths = Paths.from_env(tmp_path / "home").ensure()
    acts = paths.landing / "activity_reports"
    nat.generate(paths.landing, scale=0.002, months=2, workers=1)
    assert _step(paths, tmp_path, apart)["activity_reports"]["mode"] == "full"

    nat.generate(paths.landing, scale=0.002, months=3, workers=1)      # a new month: merged in DuckDB
    modes = _step(paths, tmp_path, apart)
    assert modes["activity_reports"]["mode"] == "incremental" and modes["activity_reports"]["new"] > 0
    assert modes["loads"]["activity_reports"] == "appended"
    assert _step(paths, tmp_path, apart)["activity_reports"] == {"mode": "incremental", "kept": modes[
        "activity_reports"]["kept"] + modes["activity_reports"]["new"], "new": 0}     # nothing changed
    nat.generate(paths.landing, scale=0.002, months=3, workers=1, resubmissions=2)   # 2025-02 corrected twice
    modes = _step(paths, tmp_path, apart)
    assert modes["activity_reports"]["mode"] == "incremental" and modes["activity_reports"]["new"] == 2
    assert modes["loads"]["activity_reports"] == "copied"             # kept rows left: a new rows file
    assert _step(paths, tmp_path, apart)["activity_reports"]["new"] == 0

    one = sorted(acts.rglob("*2025-03*.xlsx"))[0]
    shutil.copy2(one, acts / "copy_of_a_report.xlsx")                  # identical content, new name: full
    assert _step(paths, tmp_path, apart)["activity_reports"]["mode"] == "full"
    shutil.copy2(sorted(acts.rglob("*2025-02*.xlsx"))[0], acts / "resubmitted.xlsx")
    assert _step(paths, tmp_path, apart)["activity_reports"]["mode"] == "full"
    older = sorted(acts.rglob("*2025-01*.xlsx"))[0]
    os.utime(older, (time.time(), time.time() + 5))                     # touched: full
    assert _step(paths, tmp_path, apart)["activity_reports"]["mode"] == "full"
    changed = sorted(acts.rglob("*2025-02*.xlsx"))[-1]
    _spoil_a_number(changed)                                            # changed: read again, a row quarantined
    assert _step(paths, tmp_path, apart)["activity_reports"]["mode"] == "full"
    gone = sorted(acts.rglob("*2025-01*.xlsx"))[-1]
    kept_bytes = gone.read_bytes()
    gone.unlink()                                                       # withdrawn: its rows leave
    assert _step(paths, tmp_path, apart)["activity_reports"]["mode"] == "full"
    gone.write_bytes(kept_bytes)                                        # back again
    _step(paths, tmp_path, apart)

    nat.generate(paths.landing, scale=0.002, months=4, workers=1)      # a new month after all that
    assert _step(paths, tmp_path, apart)["activity_reports"]["mode"] == "incremental"


def test_saving_a_state_removes_the_familys_other_rows_files(tmp_path):
    """An earlier month's rows file (or one a failed run left) goes when the state is saved; forget removes all."""
    state = settled.Settled("c", "activity_reports", {}, None, rows_db="settled-activity_reports-0123456789ab.duckdb")
    settled.save(tmp_path, state)
    (tmp_path / state.rows_db).write_bytes(b"")
    (tmp_path / "settled-activity_reports-aaaaaaaaaaaa.duckdb").write_bytes(b"")     # an earlier month's
    settled.save(tmp_path, state)
    assert sorted(p.name for p in tmp_path.glob("*.duckdb")) == [state.rows_db]
    settled.forget(tmp_path, "activity_reports")
    assert not list(tmp_path.iterdir())
