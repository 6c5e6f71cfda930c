"""The landing area and its landing ledger: content fingerprints, no-op re-runs, identical copies,
corrected resubmissions that supersede (both kept in history and in the archive), withdrawals, and the raw
tables built from the current files only. Plus the whole SAMPLE landing area, sequential and in parallel."""
from __future__ import annotations

import os
import shutil
import time

import duckdb
import pandas as pd
import pytest

from phakhi.settings import use_home
from phakhi.ingest import landing, ledger
from phakhi.ingest.ledger import read_archived
from phakhi.ingest.files import ingest_files

from test_ingest import REG_HEAD, REG_GOOD, REG_NAMES, rows_for, write_csv, write_xlsx


def _registry(paths, ids=("P001", "P002", "P003")):
    rows = [REG_HEAD] + [[{**REG_GOOD, "partner_id": pid}[n] for n in REG_NAMES] for pid in ids]
    write_csv(paths.landing_for("partner_registry") / "registry.csv", rows, encoding="utf-8-sig")


def _activity(paths, name, partner="P001", period="มี.ค. 2568", n=2, title="รณรงค์ลดขยะ", mtime=None):
    rows = rows_for("activity_reports", n_good=n)
    for r in rows[1:]:
        r[1], r[2], r[5] = partner, period, title
        if period != "มี.ค. 2568":
            r[8] = None
    path = paths.landing_for("activity_reports") / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_xlsx(path, rows)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _run(paths):
    return {r.family: r for r in landing.ingest_landing(paths, workers=1)}


def _files(paths):
    return ledger.read_table(paths.home).set_index("file")


@pytest.fixture
def home(tmp_path):
    paths = use_home(tmp_path / "home")
    _registry(paths)
    return paths


def test_same_content_again_is_a_no_op(home):
    _activity(home, "P001_2025-03.xlsx")
    _activity(home, "P002_2025-03.xlsx", partner="P002")
    first = _run(home)
    tables = {t: ledger.read_table(home.home, t) for t in ("landing_files", "landing_paths", "landing_events")}
    assert first["activity_reports"].totals["rows_loaded"] == 4
    assert set(tables["landing_events"]["event"]) == {"received"} and len(tables["landing_files"]) == 3
    again = _run(home)
    for t, before in tables.items():
        pd.testing.assert_frame_equal(ledger.read_table(home.home, t), before)
    pd.testing.assert_frame_equal(again["activity_reports"].loaded, first["activity_reports"].loaded)
    assert (ledger.ledger_path(home.home)).exists()


def test_identical_copy_under_another_name_is_loaded_once(home):
    src = _activity(home, "P001_2025-03.xlsx")
    shutil.copy(src, src.with_name("P001_2025-03 (1).xlsx"))
    res = _run(home)["activity_reports"]
    status = res.file_report.set_index("file")["status"]
    assert status["activity_reports/P001_2025-03.xlsx"] == "loaded"
    assert status["activity_reports/P001_2025-03 (1).xlsx"] == "duplicate"
    assert len(res.loaded) == 2 and res.quarantine.empty
    m = ledger.read_table(home.home)
    assert len(m[m.family == "activity_reports"]) == 1                # one content, one row
    paths = ledger.read_table(home.home, "landing_paths")
    assert len(paths[paths.file.str.startswith("activity_reports/")]) == 2


def test_corrected_resubmission_supersedes_and_both_stay_in_history(home):
    _activity(home, "P001_2025-03.xlsx", n=2, title="ฉบับแรก")
    _activity(home, "P002_2025-03.xlsx", partner="P002")
    _run(home)
    old_hash = _files(home).loc["activity_reports/P001_2025-03.xlsx", "file_hash"]
    _activity(home, "P001_2025-03_แก้ไข.xlsx", n=3, title="ฉบับแก้ไข")
    res = _run(home)["activity_reports"]
    raw = res.loaded
    p1 = raw[raw.partner_id == "P001"]
    assert list(p1["title"]) == ["ฉบับแก้ไข"] * 3 and len(raw[raw.partner_id == "P002"]) == 2
    files = _files(home)
    new_hash = files.loc["activity_reports/P001_2025-03_แก้ไข.xlsx", "file_hash"]
    old = files.loc["activity_reports/P001_2025-03.xlsx"]
    assert (old["status"], old["superseded_by"]) == ("superseded", new_hash)
    assert files.loc["activity_reports/P001_2025-03_แก้ไข.xlsx", "status"] == "current"
    assert (old["partner_id"], old["period"]) == ("P001", "2025-03")
    assert old["received_at"] < files.loc["activity_reports/P001_2025-03_แก้ไข.xlsx", "received_at"]
    # the run's file report accounts for the superseded rows
    run_row = res.file_report.set_index("file").loc["activity_reports/P001_2025-03.xlsx"]
    assert (run_row["status"], run_row["rows_read"], run_row["rows_superseded"], run_row["rows_loaded"]) == \
        ("superseded", 2, 2, 0)
    # both contents are archived
    for h in (old_hash, new_hash):
        assert read_archived(home.home, h) is not None
    # history survives: a later run (fresh plan, fresh build warehouse) still excludes the old file
    res3 = _run(home)["activity_reports"]
    assert len(res3.loaded[res3.loaded.partner_id == "P001"]) == 3
    events = ledger.read_table(home.home, "landing_events")
    assert list(events[events.file_hash == old_hash]["event"]) == ["received", "superseded"]


def test_new_content_at_the_same_path_supersedes_the_old_one(home):
    path = _activity(home, "P001_2025-03.xlsx", n=2, title="เดิม")
    _run(home)
    old_hash = _files(home).loc["activity_reports/P001_2025-03.xlsx", "file_hash"]
    _activity(home, "P001_2025-03.xlsx", n=1, title="ใหม่")
    res = _run(home)["activity_reports"]
    assert list(res.loaded["title"]) == ["ใหม่"]
    m = ledger.read_table(home.home).set_index("file_hash")
    new_hash = res.file_report.iloc[0]["file_hash"]
    assert (m.loc[old_hash, "status"], m.loc[old_hash, "superseded_by"]) == ("superseded", new_hash)
    archived = read_archived(home.home, old_hash, m.loc[old_hash, "archive_path"])
    assert archived is not None and archived != path.read_bytes() and len(archived) > 0
    assert read_archived(home.home, old_hash) == archived      # found by its hash alone, too


def test_an_unreadable_resubmission_does_not_supersede(home):
    _activity(home, "P001_2025-03.xlsx")
    _run(home)
    (home.landing_for("activity_reports") / "P001_2025-03_v2.xlsx").write_bytes(b"PK\x03\x04 broken")
    res = _run(home)["activity_reports"]
    status = res.file_report.set_index("file")["status"]
    assert status["activity_reports/P001_2025-03.xlsx"] == "loaded"
    assert status["activity_reports/P001_2025-03_v2.xlsx"] == "rejected"
    assert len(res.loaded) == 2
    assert _files(home).loc["activity_reports/P001_2025-03_v2.xlsx", "status"] == "rejected"


def test_two_new_files_for_the_same_month_in_one_run_the_later_wins(home):
    now = time.time()
    _activity(home, "a_first.xlsx", n=2, title="เช้า", mtime=now - 3600)
    _activity(home, "b_second.xlsx", n=1, title="บ่าย", mtime=now)
    res = _run(home)["activity_reports"]
    assert list(res.loaded["title"]) == ["บ่าย"]
    assert res.file_report.set_index("file").loc["activity_reports/a_first.xlsx", "status"] == "superseded"


def test_a_file_covering_more_supersedes_but_not_the_other_way(home):
    _activity(home, "P001.xlsx", partner="P001")
    _run(home)
    # a consolidated file for P001 and P002 (March) covers the P001 file: it supersedes it
    rows = rows_for("activity_reports", n_good=2)
    rows[2][1] = "P002"
    write_xlsx(home.landing_for("activity_reports") / "both.xlsx", rows)
    res = _run(home)["activity_reports"]
    st = res.file_report.set_index("file")["status"]
    assert (st["activity_reports/P001.xlsx"], st["activity_reports/both.xlsx"]) == ("superseded", "loaded")


def test_same_key_in_two_current_files_quarantines_both_rows(home):
    a = rows_for("activity_reports", n_good=2)
    a[2][1], a[2][0] = "P002", 1
    b = rows_for("activity_reports", n_good=2)
    b[2][1], b[2][0] = "P003", 1
    write_xlsx(home.landing_for("activity_reports") / "a.xlsx", a)   # P001 no.1, P002 no.1
    write_xlsx(home.landing_for("activity_reports") / "b.xlsx", b)   # P001 no.1, P003 no.1: neither covers the other
    res = _run(home)["activity_reports"]
    q = res.quarantine
    assert set(q["rule"]) == {"duplicate_key"} and set(q["file"]) == {"activity_reports/a.xlsx", "activity_reports/b.xlsx"}
    assert "a.xlsx row 5" in q.iloc[0]["message_en"] and "b.xlsx row 5" in q.iloc[0]["message_en"]
    assert sorted(res.loaded["partner_id"]) == ["P002", "P003"]
    m = res.file_report.set_index("file")
    assert list(m["rows_quarantined"]) == [1, 1] and list(m["rows_loaded"]) == [1, 1]


def test_withdrawn_then_reappearing(home):
    path = _activity(home, "P001_2025-03.xlsx")
    _run(home)
    keep = path.read_bytes()
    path.unlink()
    res = _run(home)["activity_reports"]
    assert res.loaded.empty and _files(home).loc["activity_reports/P001_2025-03.xlsx", "status"] == "withdrawn"
    path.write_bytes(keep)
    _run(home)
    assert _files(home).loc["activity_reports/P001_2025-03.xlsx", "status"] == "current"
    assert "reappeared" in set(ledger.read_table(home.home, "landing_events")["event"])


def test_unknown_partner_is_checked_against_the_landed_registry(home):
    _activity(home, "P009.xlsx", partner="P009")
    res = _run(home)["activity_reports"]
    assert set(zip(res.quarantine["rule"], res.quarantine["column"])) == {("reference", "partner_id")}


def test_raw_tables_and_their_columns(home):
    from phakhi.ingest.contracts import load_contract

    _activity(home, "P001.xlsx")
    results = landing.ingest_landing(home, workers=1)
    report = landing.load_raw(home.build_db, results)
    assert list(report["family"]) == ["partner_registry", "activity_reports", "ghg_reductions", "partner_inventories",
                                      "partner_replies", "survey_waves"]
    with duckdb.connect(str(home.build_db), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                            "where table_schema = 'raw'").fetchall()}
        assert {"partner_registry", "activity_reports", "ghg_reductions", "partner_inventories", "survey_waves",
                "survey_instrument_items", "activity_units", "ingest_manifest", "quarantine"} <= tables
        for fam in ("activity_reports", "partner_inventories", "survey_waves", "partner_registry", "ghg_reductions"):
            cols = [r[0] for r in con.execute(f"describe raw.{fam}").fetchall()]
            assert cols == ["_row"] + load_contract(fam).column_names + ["_file", "_sheet", "_file_hash"], fam
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_name = 'partner_inventories'").fetchall())
        assert (types["inventory_year"], types["scope1_tco2e"]) == ("BIGINT", "DOUBLE")
        units = con.execute("select unit_code, activity, ef_unit, to_ef_unit from raw.activity_units").fetchall()
        assert ("kwh", "electricity_grid", "kWh", 1.0) in units and ("mwh", "electricity_grid", "kWh", 1000.0) in units
        mcols = [r[0] for r in con.execute("describe raw.ingest_manifest").fetchall()]
        assert {"file_hash", "status", "superseded_by", "received_at", "rows_superseded", "partner_id", "period"} <= set(mcols)


def test_run_report_files_are_written_for_the_engineer(home):
    _activity(home, "P009.xlsx", partner="P009")
    landing.ingest_landing(home, workers=1)
    import html as html_lib

    html = html_lib.unescape((home.quarantine / "ingest_report.html").read_text(encoding="utf-8"))
    assert 'lang="th"' in html and "reference" in html and "ไม่พบ 'P009' ในทะเบียนภาคี" in html
    files = pd.read_csv(home.quarantine / "ingest_files.csv", encoding="utf-8-sig")
    assert {"file", "status", "rows_read", "rows_loaded", "rows_quarantined", "reason_th"} <= set(files.columns)


def test_private_values_never_reach_quarantine_records(home):
    from phakhi.ingest.contracts import PRIVATE_MASK, load_contract

    reg = load_contract("partner_registry")
    col = reg.column("contact_email")
    original = col.pattern, col._parse
    try:
        col.pattern, col._parse = r"^\S+@\S+$", None          # a contract that validates e-mails
        rows = [REG_HEAD, [{**REG_GOOD, "contact_email": "somchai at example"}[n] for n in REG_NAMES]]
        write_csv(home.landing_for("partner_registry") / "registry.csv", rows)
        res = _run(home)["partner_registry"]
    finally:
        col.pattern, col._parse = original
    assert list(res.quarantine["value"]) == [PRIVATE_MASK]
    assert "somchai" not in res.quarantine.to_csv()


# --------------------------------------------------------------------------- the whole SAMPLE landing area

@pytest.fixture(scope="module")
def sample_home(tmp_path_factory):
    from phakhi.sample import write_sample

    paths = use_home(tmp_path_factory.mktemp("sample") / "home")
    write_sample(paths.landing)
    return paths


def test_sample_landing_ingests_cleanly_and_balances(sample_home):
    results = landing.ingest_landing(sample_home, record=False, workers=1)
    for r in results:
        if r.family == "partner_replies":        # written by the portal in a review window, not by the sample
            assert r.loaded.empty
            continue
        m = r.file_report
        assert (m.rows_read == m.rows_loaded + m.rows_quarantined + m.rows_superseded).all(), r.family
        assert r.quarantine.empty and (m.status == "loaded").all(), (r.family, r.quarantine.head().to_dict("records"))
        assert len(r.loaded) == m.rows_loaded.sum() > 0, r.family
    by = {r.family: r for r in results}
    inv = by["partner_inventories"].loaded
    assert len(inv) == 30 and inv["inventory_year"].between(2019, 2024).all()
    act = by["activity_reports"].loaded
    # the messy-but-valid variants (Thai digits, English headers, B.E. date cells, two-row header) load right
    for pid in ("P007", "P013", "P021", "P025"):
        rows = act[act.partner_id == pid]
        assert len(rows) > 5, pid
        assert (rows.participants_female + rows.participants_male <= rows.participants_total).all()
        assert all(d.year == 2025 for d in rows.activity_date), pid
        assert rows.budget_thb.between(2000, 150000).all(), pid
    reg = by["partner_registry"].loaded.set_index("partner_id")
    assert reg["province_code"].str.match(r"^TH-\d\d$").all()


@pytest.fixture(scope="module")
def many_files(tmp_path_factory):
    """64 small activity reports (enough for the process pool), one bad row in every 8th."""
    folder = tmp_path_factory.mktemp("many")
    files = []
    for k in range(64):
        rows = rows_for("activity_reports", *([{"province_code": "xx"}] if k % 8 == 0 else []), n_good=2)
        for r in rows[1:]:
            r[1] = f"P{k % 3 + 1:03d}"
        files.append(write_xlsx(folder / f"r{k:02d}.xlsx", rows))
    return folder, files


KNOWN3 = {"partner_id": {"P001", "P002", "P003"}}


def test_parallel_ingestion_gives_the_same_result(many_files):
    root, files = many_files
    seq = ingest_files("activity_reports", files, root, KNOWN3, workers=1)
    par = ingest_files("activity_reports", files, root, KNOWN3, workers=2)
    assert sum(len(o.problems) for o in par) == 8
    assert [o.file for o in par] == [o.file for o in seq]
    assert [o.records for o in par] == [o.records for o in seq]
    assert [o.file_hash for o in par] == [o.file_hash for o in seq]


def test_the_same_bytes_in_two_family_folders_do_not_break_the_ledger(home):
    src = _activity(home, "P001.xlsx")
    (home.landing_for("ghg_reductions")).mkdir(parents=True, exist_ok=True)
    shutil.copy(src, home.landing_for("ghg_reductions") / "P001.xlsx")      # dropped in the wrong folder too
    res = _run(home)
    assert res["ghg_reductions"].file_report.iloc[0]["status"] == "rejected"    # not a GHG table
    assert len(res["activity_reports"].loaded) == 2
    m = ledger.read_table(home.home)
    assert list(m[m.file_hash == res["activity_reports"].file_report.iloc[0]["file_hash"]]["family"]) == ["activity_reports"]


_MAIN_PID = os.getpid()


def _dying_chunk(family, paths, landing_dir, known_ids):
    """Stands in for files._work_chunk: a worker process dies (as if killed for memory); in-process it works."""
    from phakhi.ingest import files as load

    if os.getpid() != _MAIN_PID:
        os._exit(1)
    return load._REAL_WORK_CHUNK(family, paths, landing_dir, known_ids)


def test_a_dead_worker_does_not_lose_the_batch(many_files, monkeypatch):
    from phakhi.ingest import files as load

    root, files = many_files
    expected = load.ingest_files("activity_reports", files, root, KNOWN3, workers=1)
    load.shutdown_pool()
    # The patched worker function only reaches the children through fork (a fork server re-imports the module);
    # this test has no threads running, so fork is safe here.
    monkeypatch.setenv("PHAKHI_INGEST_START_METHOD", "fork")
    monkeypatch.setattr(load, "_REAL_WORK_CHUNK", load._work_chunk, raising=False)
    monkeypatch.setattr(load, "_work_chunk", _dying_chunk)
    out = load.ingest_files("activity_reports", files, root, KNOWN3, workers=2)
    assert [o.records for o in out] == [o.records for o in expected]
    assert load._POOL is None                                  # the broken pool was dropped
    load.shutdown_pool()
