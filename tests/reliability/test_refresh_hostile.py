"""Done-when of issue 12: a refresh on SAMPLE plus one hostile file of each class publishes the month, with the
bad rows quarantined (with reasons) and the bad files refused (with reasons)."""
import json
import os

import duckdb
import pandas as pd
import pytest

from phakhi.doctor import (ACTIVITY_HEADER, GHG_HEADER, INVENTORY_HEADER, activity_row, csv_bytes, ghg_row,
                           inventory_row, xlsx_bytes)
from phakhi.sample import SAMPLE_FILES, write_sample

pytestmark = pytest.mark.integration


def _plant(landing):
    act, ghg, inv, reg = (landing / f for f in ("activity_reports", "ghg_reductions", "partner_inventories",
                                                   "partner_registry"))
    hostile = act / "hostile"
    hostile.mkdir(parents=True)
    A = ACTIVITY_HEADER
    # bounded reads: one stray cell in the sheet's far corner
    (hostile / "P010_stray_cell.xlsx").write_bytes(xlsx_bytes([A, activity_row(1, partner_id="P010", period="2025-12")],
                                                              {"XFD1048576": "x"}))
    # crashes on a value + one row that would block the nation, next to good rows
    (hostile / "P002_2025-12_values.csv").write_bytes(csv_bytes(A, [
        activity_row(901, partner_id="P002", period="2025-12"),
        activity_row(902, partner_id="P002", period="2025-12", participants_total="10000000000000000000"),
        activity_row(903, partner_id="P002", period="2025-12", budget_thb="1e309"),
        activity_row(904, partner_id="P002", period="2025-12", participants_total="9,999,999,999"),
        activity_row(905, partner_id="P002", period="12/2468")]))
    # a future month: held, never the published month
    (hostile / "P003_2026-03_future.csv").write_bytes(csv_bytes(A, [activity_row(1, partner_id="P003", period="2026-03")]))
    # delimiter: '|' inside titles
    (hostile / "P004_2025-12_pipes.csv").write_bytes(csv_bytes(A, [
        activity_row(911, partner_id="P004", period="2025-12", title="ลดโลกร้อน | รุ่น 1"),
        activity_row(912, partner_id="P004", period="2025-12", title="A | B | C")]))
    # formula payloads (kept as text; neutralised in every CSV)
    (hostile / "P005_2025-12_formula.csv").write_bytes(csv_bytes(A, [
        activity_row(921, partner_id="P005", period="2025-12", title='=HYPERLINK("http://evil","x")')]))
    # a real layout: partner and month in the title block, official ACE wording, signature lines
    (hostile / "udon_report.xlsx").write_bytes(xlsx_bytes([
        ["แบบรายงานผลการดำเนินงาน ACE"], ["หน่วยงาน องค์การบริหารส่วนจังหวัดอุดรธานี (ตัวอย่าง)"],
        ["ประจำเดือน พฤศจิกายน พ.ศ. ๒๕๖๘"], [],
        ["ลำดับ", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด", "จำนวนผู้เข้าร่วม (คน)"],
        [1, "การให้การศึกษา", "อบรม", "อบรมครู", "อุดรธานี", 45],
        [2, "การสร้างจิตสำนึกแก่สาธารณชน", "รณรงค์", "เดินรณรงค์", "อุดรธานี", 120], [],
        ["ลงชื่อ .................... ผู้รายงาน"], ["(นางสาวสมใจ ใจดี)"]]))
    # a symlink to a system file
    os.symlink("/etc/passwd", hostile / "passwd.csv")
    # GHG: 99,999,999 tCO2e, and more than the partner's whole annual baseline
    (ghg / "hostile_ghg_2025-12.csv").write_bytes(csv_bytes(GHG_HEADER, [
        ghg_row(1, partner_id="P006", period="2025-12", reduction_tco2e="99,999,999"),
        ghg_row(2, partner_id="P001", period="2025-12", reduction_tco2e="25000")]))   # P001 baseline 20,498.1
    # inventory year 2057
    (inv / "P007_inventory_2057.csv").write_bytes(csv_bytes(INVENTORY_HEADER, [
        inventory_row(partner_id="P007", inventory_year=2057)]))
    # registry: a second file repeating a partner
    reg_rows = (reg / "partner_registry.csv").read_text(encoding="utf-8-sig").splitlines()
    (reg / "partner_registry_update.csv").write_text("\n".join(reg_rows[:2]) + "\n", encoding="utf-8-sig")


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    from flows.pipeline import monthly_refresh
    from phakhi.settings import use_home

    paths = use_home(tmp_path_factory.mktemp("hostile") / "home")
    write_sample(paths.landing)
    listed = set(paths.landing.rglob("*"))
    _plant(paths.landing)
    # The planted files are synthetic test data too: declared part of this SAMPLE home, since a SAMPLE home
    # refuses files the generator did not write (SAMPLE and real data never mix, phakhi/home.py).
    planted = sorted(p.relative_to(paths.landing).as_posix() for p in paths.landing.rglob("*")
                     if p not in listed and (p.is_file() or p.is_symlink()))
    with (paths.landing / SAMPLE_FILES).open("a", encoding="utf-8") as fh:
        fh.write("".join(f"{rel}\n" for rel in planted))
    publication = monthly_refresh(home=str(paths.home))
    return paths, publication


def test_the_month_is_published_despite_one_hostile_file_of_each_class(refreshed):
    paths, publication = refreshed
    pub = os.path.basename(publication)
    assert pub.startswith("2025-12-")                                   # not 2026-03 (held)
    assert os.readlink(paths.publications / "latest") == pub
    gate = json.loads((paths.publications / pub / "quality" / "gate.json").read_text(encoding="utf-8"))
    assert gate["passed"]


def test_bad_rows_are_quarantined_and_bad_files_refused_with_reasons(refreshed):
    paths, _ = refreshed
    with duckdb.connect(str(paths.published_db), read_only=True) as con:
        q = con.execute("select * from raw.quarantine").df()
        m = con.execute("select * from raw.ingest_manifest").df()
        partners = set(con.execute("select partner_id from marts.mart_partner_progress").df()["partner_id"])
        udon = con.execute("select count(*) from raw.activity_reports where _file like '%udon_report.xlsx'").fetchone()[0]
    mine = q[q["file"].str.contains("hostile|P007_inventory_2057|partner_registry", regex=True)]
    assert {"range", "type", "above_partner_baseline", "replaced_by_later_entry"} <= set(mine["rule"])
    assert mine["message_en"].str.len().gt(0).all() and mine["message_th"].str.len().gt(0).all()
    by_file = m.set_index("file")
    assert by_file.loc["activity_reports/hostile/P010_stray_cell.xlsx", "rule"] == "too_large"
    assert by_file.loc["activity_reports/hostile/passwd.csv", "rule"] == "symlink"
    assert by_file.loc["activity_reports/hostile/P004_2025-12_pipes.csv", "status"] == "loaded"
    assert udon == 2                                                    # title block + official wording
    assert "P001" in partners                                           # repeated in the registry, still there
    balanced = m["rows_read"] == m["rows_loaded"] + m["rows_quarantined"] + m["rows_superseded"]
    assert balanced.all()                                               # nothing lost
    assert not list(paths.landing_archive.rglob("*")) or not any(
        "root:" in p.read_text(errors="ignore") for p in paths.landing_archive.rglob("*") if p.is_file())


def test_staff_facing_quarantine_csv_is_neutralised(refreshed):
    paths, _ = refreshed
    text = (paths.quarantine / "ingest_quarantine.csv").read_text(encoding="utf-8-sig")
    frame = pd.read_csv(paths.quarantine / "ingest_quarantine.csv", encoding="utf-8-sig", dtype=str)
    assert not frame["value"].dropna().str.startswith(("=", "+", "@")).any()
    assert text
