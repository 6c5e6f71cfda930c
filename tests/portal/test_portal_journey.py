"""The partner's journey, in Thai, in Chromium, against the real portal (`phakhi portal`) and the real refresh:
set a password from the invitation link, log in, download the template, upload a file with one bad row, see
the reason, upload the corrected file, the refresh runs (with a review window: it stops at a candidate),
dispute one figure, DCCE approves in the console, and the publication shows the figure marked as disputed.
Screenshots land in test-output/portal-journey/ (git-ignored)."""
import csv
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "portal-journey"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
PHAKHI = str(Path(sys.executable).with_name("phakhi"))
WINDOW_DAYS = 60 / 86400           # a one-minute review window: the dispute is sent seconds after the candidate
PASSWORD = "Phakhi-journey-2568"

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(env, *args, timeout=1200) -> str:
    out = subprocess.run([PHAKHI, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert out.returncode == 0, f"phakhi {' '.join(args)}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def wait_for(url, seconds=120):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer")


def fill_report(path: Path, rows: list[list]) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb["รายงาน"]
    for i, row in enumerate(rows):
        for j, v in enumerate(row, start=1):
            ws.cell(row=5 + i, column=j, value=v)
    wb.save(path)


def set_password(page, link, shot):
    page.goto(link)
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.screenshot(path=str(SHOTS / shot), full_page=True)
    page.click("#set-password")
    page.wait_for_url(re.compile(r"/accounts/login/"))


def log_in(page, email):
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("#login")


@pytest.fixture
def portal(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (scripts/dev test installs it)")
    home = tmp_path / "home"
    port = free_port()
    env = {**os.environ, "PHAKHI_HOME": str(home), "PREFECT_HOME": str(tmp_path / "prefect"),
           "PHAKHI_REVIEW_DAYS": str(WINDOW_DAYS), "PHAKHI_PROGRESS": "0", "DO_NOT_TRACK": "1"}
    for k in ("DJANGO_SETTINGS_MODULE", "PREFECT_API_URL"):
        env.pop(k, None)
    run(env, "sample")
    base = f"http://127.0.0.1:{port}"
    partner_link = run(env, "portal", "invite", "P001", "--email", "partner@example.org", "--base-url", base).split()[-1]
    staff_link = run(env, "portal", "staff", "--email", "staff@dcce.example", "--base-url", base).split()[-1]
    log = open(tmp_path / "portal.log", "w")
    server = subprocess.Popen([PHAKHI, "portal", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                              cwd=REPO)
    try:
        wait_for(base + "/accounts/login/")
        yield {"home": home, "env": env, "base": base, "partner_link": partner_link, "staff_link": staff_link,
               "tmp": tmp_path}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_partner_journey_in_thai(portal):
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    home, base = portal["home"], portal["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            partner = browser.new_context(locale="th-TH", accept_downloads=True).new_page()
            partner.set_default_timeout(60_000)
            # 1. the invitation link, then log in (Thai by default)
            set_password(partner, portal["partner_link"], "01-set-password.png")
            expect(partner.locator("h1")).to_have_text("เข้าสู่ระบบ")
            log_in(partner, "partner@example.org")
            expect(partner.locator("#partner-title")).to_contain_text("P001")
            partner.screenshot(path=str(SHOTS / "02-my-progress.png"), full_page=True)
            assert partner.goto(base + "/p/P002/").status == 404          # another partner's page
            assert partner.goto(base + "/console/").status == 403         # DCCE's console
            partner.goto(base + "/p/P001/")

            # 2. download the template (pre-filled with P001), fill it with one bad row, upload
            partner.click("#nav-submit")
            with partner.expect_download() as dl:
                partner.click("#template-activity_reports")
            report = portal["tmp"] / "report.xlsx"
            dl.value.save_as(report)
            good = ["P001", "ธ.ค. 2568", 1, "การศึกษา", "ประชุมเชิงปฏิบัติการ", "คัดแยกขยะต้นทาง", "เชียงใหม่", None,
                    "15/12/2568", 40]
            bad = ["P001", "ธ.ค. 2568", 2, "การฝึกอบรม", "หลักสูตรอบรม", "อบรมโซลาร์รูฟท็อป", "เชียงใหม่", None,
                   "20/12/2568", "ยี่สิบห้า"]
            fill_report(report, [good, bad])
            partner.set_input_files("#id_file", str(report))
            partner.click("#upload")
            expect(partner.locator("#status")).to_contain_text("ต้องแก้ไข 1 แถว")
            problem = partner.locator("tr.problem")
            expect(problem).to_have_count(1)
            expect(problem).to_contain_text("ยี่สิบห้า")
            expect(problem).to_contain_text("ไม่ใช่ตัวเลข")
            partner.screenshot(path=str(SHOTS / "03-bad-row-reason.png"), full_page=True)

            # 3. the corrected file supersedes the first one
            bad[-1] = 25
            fill_report(report, [good, bad])
            partner.click("#upload-again")
            partner.set_input_files("#id_file", str(report))
            partner.click("#upload")
            expect(partner.locator("#status")).to_contain_text("ผ่านการตรวจ 2 แถว ต้องแก้ไข 0 แถว")
            partner.screenshot(path=str(SHOTS / "04-corrected.png"), full_page=True)

            # 4. the monthly refresh (the library's command): gate passes, a candidate waits for review
            out = run(portal["env"], "refresh", timeout=1800)
            assert "Candidate ready" in out, out[-2000:]
            cand_dir = next((home / "candidate").glob("r*"))
            with __import__("duckdb").connect(str(cand_dir / "warehouse.duckdb"), read_only=True) as con:
                before = con.execute("select activities_12m from marts.mart_partner_progress where partner_id = 'P001'"
                                     ).fetchone()[0]
                portal_rows = con.execute("select count(*) from raw.activity_reports where partner_id = 'P001' "
                                          "and period = '2025-12' and _file like '%portal/P001%'").fetchone()[0]
            assert portal_rows == 2                 # the corrected upload, not the sample's file or the bad one
            assert not (home / "publications" / "latest").exists()

            # 5. the partner disputes one figure
            partner.goto(base + "/p/P001/review/")
            row = partner.locator('tr[data-figure="activities_12m"]')
            expect(row).to_contain_text(str(before))
            partner.select_option("#id_figure", "activities_12m")
            partner.check("input[name=reply][value=dispute]")
            reason = "กิจกรรมเดือน ธ.ค. ยังขาดอีก 2 รายการที่จะส่งเพิ่ม"
            partner.fill("#id_comment", reason)
            partner.click("#send-reply")
            expect(row).to_contain_text("โต้แย้งตัวเลขนี้")
            partner.screenshot(path=str(SHOTS / "05-dispute.png"), full_page=True)

            # 6. DCCE sets its password and logs in while the window is open, and approves once it has closed
            staff = browser.new_context(locale="th-TH").new_page()
            staff.set_default_timeout(60_000)
            set_password(staff, portal["staff_link"], "06-staff-set-password.png")
            log_in(staff, "staff@dcce.example")
            expect(staff.locator("#replies")).to_contain_text(reason)
            closes = datetime.fromisoformat(
                __import__("json").loads((cand_dir / "candidate.json").read_text())["closes_at"])
            time.sleep(max(0.0, (closes - datetime.now(timezone.utc)).total_seconds()) + 1)
            staff.reload()
            expect(staff.locator("#replies")).to_contain_text(reason)
            expect(staff.locator("#month")).to_contain_text("ผ่านระบบ")
            staff.screenshot(path=str(SHOTS / "07-console.png"), full_page=True)
            staff.click("#approve", timeout=900_000)
            expect(staff.locator(".messages")).to_contain_text("เผยแพร่แล้ว", timeout=900_000)
            staff.screenshot(path=str(SHOTS / "08-approved.png"), full_page=True)

            # 7. the publication shows the figure marked as disputed, with the reason; the number is unchanged
            latest = (home / "publications" / "latest").resolve()
            disputes = list(csv.DictReader((latest / "data" / "partner_disputes.csv").open(encoding="utf-8-sig")))
            assert [(d["partner_id"], d["figure"], d["comment"]) for d in disputes] == [("P001", "activities_12m", reason)]
            progress = {r["partner_id"]: r for r in csv.DictReader(
                (latest / "data" / "partner_progress.csv").open(encoding="utf-8-sig"))}
            assert float(progress["P001"]["activities_12m"]) == float(before)
            from phakhi.publish.site import partner_slug
            pub = browser.new_context(locale="th-TH").new_page()
            pub.goto((latest / "partners" / f"{partner_slug('P001')}.html").as_uri())
            mark = pub.locator('#disputes li.dispute[data-figure="activities_12m"]')
            expect(mark).to_contain_text(reason)
            expect(mark).to_contain_text("โต้แย้ง")
            pub.locator("#disputes").scroll_into_view_if_needed()
            pub.screenshot(path=str(SHOTS / "09-published-disputed.png"), full_page=True)

            # 8. the partner's own page now reads the publication
            partner.goto(base + "/p/P001/")
            expect(partner.locator("#trajectory")).to_contain_text("ธ.ค. 2568")
            partner.screenshot(path=str(SHOTS / "10-my-progress-published.png"), full_page=True)
        finally:
            browser.close()
