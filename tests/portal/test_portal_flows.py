"""What a partner and DCCE do in the portal: template, upload checked by the contracts, correction that
supersedes under the manifest's rules, registry kept in the portal, replies, console, Thai first."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import activity_csv, make_partner

REPO = Path(__file__).resolve().parents[2]


def ingest_family(family, files, landing, known=None, workers=1):
    """Read and settle one family's files as the refresh does (phakhi.ingest.files)."""
    from phakhi.ingest.files import assemble_family, ingest_files

    return assemble_family(family, ingest_files(family, files, landing, known, workers))


def client_for(user, lang="th"):
    c = Client(HTTP_ACCEPT_LANGUAGE=lang)
    c.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return c


def post_file(c, pid, content, name="r.csv", family="activity_reports", follow=True):
    return c.post(reverse("upload", kwargs={"partner_id": pid}),
                  {"family": family, "file": SimpleUploadedFile(name, content)}, follow=follow)


BAD_ROW = "P001,2025-12,2,education,workshop,Solar rooftop course,TH-10,ยี่สิบห้า"


def test_upload_with_a_bad_row_shows_the_reason_in_thai_then_a_correction_supersedes_it(world):
    from phakhi.ingest.files import list_files

    home = world["home"]
    c = client_for(world["u1"])
    bad = activity_csv(rows=["P001,2025-12,1,education,workshop,Waste sorting class,TH-10,30", BAD_ROW])
    page = post_file(c, "P001", bad).content.decode()
    assert "ต้องแก้ไข 1 แถว" in page                      # Thai first
    assert "ยี่สิบห้า" in page and "ไม่ใช่ตัวเลข" in page     # the value and what was wrong, in Thai
    assert "participants_total" in page or "ผู้เข้าร่วม" in page
    en = post_file(client_for(world["u1"], "en"), "P001", bad)
    assert "received before" in en.content.decode()          # the same bytes again: received once
    from portal.submissions.models import Submission
    first = Submission.objects.filter(status="accepted").get()
    en = client_for(world["u1"], "en").get(reverse("submission", kwargs={"partner_id": "P001", "pk": first.pk}))
    assert "Not a number" in en.content.decode()
    folder = home.landing_for("activity_reports")
    files = [p for p in list_files(folder)]
    assert len(files) == 1                                   # the same bytes twice are received once
    sidecar = json.loads((files[0].parent / f".{files[0].name}.json").read_text())
    assert sidecar["uploaded_by"] == "p1@example.org" and sidecar["partner_id"] == "P001"
    assert sidecar["sha256"] in files[0].name or files[0].name.split("_")[-1].split(".")[0] in sidecar["sha256"]
    os.utime(files[0], (files[0].stat().st_mtime - 60,) * 2)

    page = post_file(c, "P001", activity_csv()).content.decode()
    assert "ผ่านการตรวจ 2 แถว ต้องแก้ไข 0 แถว" in page
    files = list_files(folder)
    assert len(files) == 2
    # the refresh's own rules: the later file for the same partner and month supersedes the earlier one
    res = ingest_family("activity_reports", files, home.landing, {"partner_id": {"P001", "P002"}}, workers=1)
    status = dict(zip(res.file_report["file"], res.file_report["status"]))
    assert sorted(status.values()) == ["loaded", "superseded"]
    assert len(res.loaded) == 2 and not len(res.quarantine)
    hist = c.get(reverse("submissions", kwargs={"partner_id": "P001"})).content.decode()
    assert "ถูกแทนที่" in hist


def test_template_is_prefilled_with_the_partner_id_and_round_trips(world):
    from openpyxl import load_workbook

    c = client_for(world["u1"])
    r = c.get(reverse("template", kwargs={"partner_id": "P001", "family": "activity_reports"}))
    assert r.status_code == 200 and "P001" in r["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["รายงาน"]
    assert ws.cell(row=5, column=1).value == "P001"
    values = ["P001", "ธ.ค. 2568", 1, "การศึกษา", "ประชุมเชิงปฏิบัติการ", "คัดแยกขยะ", "กรุงเทพมหานคร", None, "15/12/2568", 40]
    for j, v in enumerate(values, start=1):
        ws.cell(row=5, column=j, value=v)
    buf = io.BytesIO()
    wb.save(buf)
    page = post_file(c, "P001", buf.getvalue(), name="กิจกรรม ธ.ค.xlsx").content.decode()
    assert "ผ่านการตรวจ 1 แถว ต้องแก้ไข 0 แถว" in page, page[-2000:]


def test_registry_edits_are_written_to_the_landing_area_with_history(world, django_capture_on_commit_callbacks):
    from phakhi.ingest.files import list_files
    from portal.accounts.models import Partner

    home = world["home"]
    p = Partner.objects.get(pk="P001")
    with django_capture_on_commit_callbacks(execute=True):    # written once the edit is committed
        p.reduction_pct = 45
        p.save()
        make_partner("P003", contact_name="=cmd|' /C calc'!A0")
    reg = home.landing_for("partner_registry") / "portal_registry.csv"
    rows = list(csv.DictReader(reg.open(encoding="utf-8")))
    assert [r["partner_id"] for r in rows] == ["P001", "P002", "P003"]
    assert p.history.count() == 2 and p.history.first().reduction_pct == 45
    res = ingest_family("partner_registry", list_files(reg.parent), home.landing, workers=1)
    assert sorted(res.loaded["partner_id"]) == ["P001", "P002", "P003"]
    assert float(res.loaded.set_index("partner_id").loc["P001", "reduction_pct"]) == 45
    assert not [f for f in reg.parent.iterdir() if f.name.endswith(".tmp")]


def test_registry_is_imported_once_from_the_landing_area(db, phakhi_home):
    from portal.accounts.models import Partner
    from portal.accounts.registry import import_registry

    src = phakhi_home.landing_for("partner_registry") / "registry.csv"
    src.write_text("รหัสภาคี,ชื่อภาคี,ประเภทภาคี,จังหวัด,วันที่เข้าร่วม,ปีฐาน,การปล่อยปีฐาน (tCO2e),ปีเป้าหมาย,เป้าหมายการลด (%),อีเมล\n"
                   "P010,เทศบาลตัวอย่าง,เทศบาล,เชียงใหม่,15/03/2567,2562,1200,2573,20,a@example.invalid\n"
                   "P011,ไม่มีปี,เทศบาล,เชียงใหม่,15/03/2567,,1200,2573,20,\n", encoding="utf-8")
    assert import_registry(phakhi_home) == 1                 # the quarantined row is not imported
    assert import_registry(phakhi_home) == 0
    p = Partner.objects.get()
    assert (p.partner_id, p.province_code, p.pledge_base_year, p.contact_email) == ("P010", "TH-50", 2019, "a@example.invalid")


def _fake_candidate(home, period="2025-12", days=1.0):
    """A candidate warehouse holding the one mart the review page reads."""
    import pandas as pd

    from phakhi.review import write_candidate

    home.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home.build_db)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.mart_partner_progress as select * from (values "
                    "('P001', '2025-12', 120.5, 300.0, 'off_track', 7, 410, 11), "
                    "('P002', '2025-12', 999.0, 100.0, 'on_track', 3, 90, 12)) "
                    "t(partner_id, period, reductions_12m_tco2e, required_path_tco2e, track_status, activities_12m, "
                    "participants_12m, months_reported)")
        con.execute("create table marts.dash_quality_files as select 'activity_reports' as family, 'P002.xlsx' as file, "
                    "'h' as file_hash, 'loaded' as status, 'P002' as partner_id, '2025-12' as period, "
                    "0 as rows_quarantined")
    return write_candidate(home, period, "r20260101T000000Z", pd.DataFrame([{"family": "x"}]), days=days)


def test_partner_disputes_a_figure_and_the_reply_lands_through_its_contract(world):
    from phakhi.ingest.files import list_files

    home = world["home"]
    _fake_candidate(home)
    c = client_for(world["u1"])
    page = c.get(reverse("review", kwargs={"partner_id": "P001"})).content.decode()
    assert "120.5" in page and "999" not in page                 # own candidate figures only
    assert "ต่ำกว่าเป้าหมาย" in page                              # the status, as words
    r = c.post(reverse("review", kwargs={"partner_id": "P001"}), {"figure": "activities_12m", "reply": "dispute",
                                                                  "comment": ""})
    assert r.status_code == 200 and "กรุณาระบุเหตุผล" in r.content.decode()
    r = c.post(reverse("review", kwargs={"partner_id": "P001"}), {"figure": "activities_12m", "reply": "dispute",
                                                                  "comment": "=SUM(1) กิจกรรมเดือน ธ.ค. ขาดไป 2 รายการ"})
    assert r.status_code == 302
    c.post(reverse("review", kwargs={"partner_id": "P001"}), {"figure": "track_status", "reply": "confirm"})
    files = list_files(home.landing_for("partner_replies"))
    assert [f.name for f in files] == ["replies_2025-12.csv"]
    res = ingest_family("partner_replies", files, home.landing, {"partner_id": {"P001", "P002"}}, workers=1)
    got = res.loaded.set_index("figure")
    assert got.loc["activities_12m", "reply"] == "dispute" and got.loc["activities_12m", "status"] == "open"
    assert got.loc["activities_12m", "comment"].startswith("'=SUM")       # never a live formula
    assert got.loc["track_status", "reply"] == "confirm"
    # DCCE sees the reply; approving while the window is open is refused; resolving closes the dispute
    s = client_for(world["staff"])
    console = s.get(reverse("console")).content.decode()
    assert "ขาดไป 2 รายการ" in console
    assert "ภาคีที่ส่งรายงานแล้ว: 1 จาก 2" in console           # the month as the candidate holds it
    r = s.post(reverse("approve"), {"run_id": "r20260101T000000Z"}, follow=True)
    assert "ยังอยู่ในช่วงเวลาให้ภาคีตรวจทาน" in r.content.decode()
    from portal.review.models import Reply
    s.post(reverse("resolve", kwargs={"pk": Reply.objects.get(figure="activities_12m").pk}))
    res = ingest_family("partner_replies", list_files(home.landing_for("partner_replies")), home.landing,
                        {"partner_id": {"P001"}}, workers=1)
    assert res.loaded.set_index("figure").loc["activities_12m", "status"] == "resolved"


def test_console_lists_who_has_not_submitted_with_contacts_and_exports_csv(world):
    make_partner("P003", contact_name="=cmd|' /C calc'!A0", contact_phone="+66 2 123 4567")
    post_file(client_for(world["u1"]), "P001", activity_csv())
    s = client_for(world["staff"])
    page = s.get(reverse("console") + "?period=2025-12").content.decode()
    assert "ภาคีที่ส่งรายงานแล้ว: 1 จาก 3" in page
    r = s.get(reverse("console_export") + "?period=2025-12")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    by = {x["partner_id"]: x for x in rows}
    assert by["P001"]["submitted"] == "yes" and by["P002"]["submitted"] == "no"
    assert by["P002"]["contact_email"] == "p002@example.invalid"
    assert by["P003"]["contact_name"].startswith("'=")                   # formula neutralised
    assert by["P003"]["contact_phone"] == "+66 2 123 4567"               # a phone number stays as it is


def test_thai_is_the_default_language_and_english_is_one_click_away(world):
    assert "เข้าสู่ระบบ" in Client().get(reverse("login")).content.decode()
    assert "Log in" in Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("login")).content.decode()


def test_translations_are_complete_and_compiled():
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    base = REPO / "portal" / "locale" / "th" / "LC_MESSAGES"
    po = read_po((base / "django.po").open("rb"))
    mo = read_mo((base / "django.mo").open("rb"))
    for m in po:
        if m.id:
            assert m.string, f"no Thai for {m.id!r}"
            assert mo.get(m.id) is not None and mo.get(m.id).string == m.string, f"django.mo is stale: {m.id!r}"


def test_cli_invite_prints_a_one_time_link(tmp_path):
    home = tmp_path / "home"
    (home / "landing" / "partner_registry").mkdir(parents=True)
    (home / "landing" / "partner_registry" / "r.csv").write_text(
        "partner_id,name_th,partner_type,province_code,join_date,pledge_base_year,baseline_tco2e,target_year,reduction_pct\n"
        "P001,เทศบาลตัวอย่าง,municipality,TH-50,2024-03-15,2019,1200,2030,20\n", encoding="utf-8")
    env = {**os.environ, "PHAKHI_HOME": str(home)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    phakhi = str(Path(sys.executable).with_name("phakhi"))
    out = subprocess.run([phakhi, "portal", "invite", "P001", "--email", "a@example.org"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "/accounts/set-password/" in out.stdout
    assert (home / "portal" / "portal.sqlite3").exists() and (home / "portal" / "secret_key").exists()
    assert (home / "landing" / "partner_registry" / "portal_registry.csv").exists()
    bad = subprocess.run([phakhi, "portal", "invite", "P999", "--email", "b@example.org"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "no partner P999" in bad.stderr and "Traceback" not in bad.stderr


def test_a_newer_candidate_replaces_a_waiting_one(phakhi_home):
    import pandas as pd

    from phakhi.review import candidates, open_candidate, write_candidate

    phakhi_home.warehouse_dir.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(phakhi_home.build_db)).close()
    write_candidate(phakhi_home, "2025-11", "r1", pd.DataFrame([{"a": 1}]), days=1)
    write_candidate(phakhi_home, "2025-12", "r2", pd.DataFrame([{"a": 1}]), days=1)
    assert open_candidate(phakhi_home)["run_id"] == "r2"
    assert {c["run_id"]: c["state"] for c in candidates(phakhi_home)} == {"r1": "superseded", "r2": "open"}
