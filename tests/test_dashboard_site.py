"""The dashboard site's rendering helpers, escaping of partner-supplied text, and graceful degradation when
marts are missing - on a small synthetic warehouse (fast; no refresh, no browser)."""
import json
import re
import threading
import urllib.request

import duckdb
import numpy as np
import pandas as pd
import pytest

from phakhi.publish import pages as P
from phakhi.publish.site import (NAV, fmt, partner_slug, pct, period_label, plain, render_site, script_json,
                                signed)

XSS = "<script>alert(1)</script>"
QUOTED = 'Sample "Green" O\'Brien & Sons'
TITLE_XSS = "</script><script>alert(2)</script><!--"


# ------------------------------------------------------------------ helpers
def test_script_json_cannot_close_the_script_element_and_round_trips():
    value = {"t": TITLE_XSS, "q": QUOTED, "nan": float("nan"), "np": np.int64(3), "amp": "a&b", "ls": "x\u2028y"}
    text = str(script_json(value))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    back = json.loads(text)
    assert back == {"t": TITLE_XSS, "q": QUOTED, "nan": None, "np": 3, "amp": "a&b", "ls": "x\u2028y"}


def test_plain_makes_json_safe_values():
    assert plain({"a": [np.float64("nan"), pd.NA, np.bool_(True), pd.Timestamp("2025-01-31")]}) == \
        {"a": [None, None, True, "2025-01-31"]}


def test_number_and_period_formatting():
    assert fmt(1234.56) == "1,234.6" and fmt(None) == "–" and fmt(float("nan")) == "–" and fmt(3, 0) == "3"
    assert pct(0.875) == "88%" and pct(None) == "–" and pct(0.00069, 3) == "0.069%"
    assert signed(2.345) == "+2.3" and signed(-1.0) == "−1.0"
    assert period_label("2025-12") == ("ธ.ค. 2568", "Dec 2025")
    assert period_label(None) == ("–", "–")


def test_partner_slug_is_a_safe_distinct_file_name():
    assert partner_slug("P001") == "P001"
    hostile = [partner_slug(x) for x in ("../etc/passwd", "P 1", "P/1", "<b>", "ภาคี")]
    for s in hostile:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", s), s
    assert len(set(hostile)) == len(hostile)
    assert partner_slug("P/1") != partner_slug("P 1")


def test_traffic_light_rules():
    assert P.progress_light("on_track", 1.2) == "green"
    assert P.progress_light("off_track", 0.8) == "amber"
    assert P.progress_light("off_track", 0.5) == "red"
    assert P.progress_light("off_track", None) == "red"
    assert P.progress_light("no_data", None) == "grey"
    assert P.ace_light([5, 5, 5, 5, 5, 5]) == "green"
    assert P.ace_light([10, 10, 10, 5, 5, 5]) == "amber"       # fell by half
    assert P.ace_light([10, 10, 10, 0, 0, 0]) == "red"
    assert P.ace_light([0, 0, 3]) == "green"                    # short history, activity this quarter
    assert P.ace_light([]) == "grey"


def test_required_path_matches_the_mart_rule_and_month_helpers():
    assert P.required_path(100, 2020, 2030, 2025) == pytest.approx(50)
    assert P.required_path(100, 2020, 2030, 2040) == pytest.approx(100)
    assert P.required_path(100, 2020, 2030, 2010) == 0
    assert P.required_path(100, 2030, 2030, 2030) is None
    assert P.months_back("2025-02", 3) == ["2024-12", "2025-01", "2025-02"]
    assert P.month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_short_programme_label():
    assert P.short_label(("โครงการลดก๊าซเรือนกระจกภาคสมัครใจ (T-VER)", "T-VER (Thailand Voluntary …)")) == ("T-VER", "T-VER")
    assert P.short_label(("ประเมินเอง", "Self-estimate (no programme)")) == ("ประเมินเอง", "Self-estimate")


# ------------------------------------------------------------------ a tiny warehouse
def tiny_frames() -> dict[str, pd.DataFrame]:
    progress = pd.DataFrame([
        {"partner_id": "P001", "name_th": XSS, "name_en": QUOTED, "partner_type": "pao", "peer_group": "local_government",
         "province_code": "TH-10", "region": "central", "parent_partner_id": None, "pledge_base_year": 2020,
         "baseline_tco2e": 1000.0, "target_year": 2030, "reduction_pct": 20.0, "pledged_reduction_tco2e": 200.0,
         "required_path_tco2e": 100.0, "reductions_12m_tco2e": 123.456, "counted_12m_tco2e": 123.456,
         "pct_of_pledge": 0.617, "pct_of_required_path": 1.23456, "reporting_completeness": 0.75,
         "track_status": "on_track", "peer_percentile": 1.0, "period": "2025-12", "months_reported": 9,
         "months_expected": 12, "duplicate_12m_tco2e": 0.0},
        {"partner_id": "P/2", "name_th": "ภาคีสอง", "name_en": "Partner two", "partner_type": "pao",
         "peer_group": "local_government", "province_code": "TH-11", "region": "central", "parent_partner_id": "P001",
         "pledge_base_year": 2020, "baseline_tco2e": 500.0, "target_year": 2030, "reduction_pct": 10.0,
         "pledged_reduction_tco2e": 50.0, "required_path_tco2e": 25.0, "reductions_12m_tco2e": 0.0,
         "counted_12m_tco2e": 0.0, "pct_of_pledge": 0.0, "pct_of_required_path": 0.0, "reporting_completeness": 0.5,
         "track_status": "no_data", "peer_percentile": 0.0, "period": "2025-12", "months_reported": 6,
         "months_expected": 12, "duplicate_12m_tco2e": 0.0},
    ])
    claims = pd.DataFrame([
        {"partner_id": "P001", "project_id": "G1", "sector": "energy", "period": p, "method": "t_ver",
         "verification_status": "verified", "figure_kind": "reported", "reduction_tco2e": v, "counted_tco2e": v,
         "is_duplicate": False, "source_file": "ghg_reductions/ghg_" + p + ".csv", "source_row": i + 2}
        for i, (p, v) in enumerate([("2025-06", 60.0), ("2025-12", 63.456)])])
    activities = pd.DataFrame([
        {"partner_id": "P001", "period": "2025-12", "activity_no": 1, "ace_element": "education",
         "activity_type": "workshop", "title": TITLE_XSS, "province_code": "TH-10", "participants_total": 10,
         "participants_female": 6, "participants_male": 4, "source_file": "activity_reports/2025-12/P001.xlsx",
         "source_row": 6}])
    provinces = pd.DataFrame([
        {"province_code": "TH-10", "name_th": "กรุงเทพมหานคร", "name_en": "Krung Thep Maha Nakhon", "region": "central",
         "region_th": "ภาคกลาง", "region_en": "Central", "grid_row": 9, "grid_col": 2},
        {"province_code": "TH-11", "name_th": "สมุทรปราการ", "name_en": "Samut Prakan", "region": "central",
         "region_th": "ภาคกลาง", "region_en": "Central", "grid_row": 9, "grid_col": 3}])
    ace = pd.DataFrame([
        {"period": p, "element_code": e, "element_order": i, "province_code": "TH-10", "activities": a,
         "participants_total": 10 * a, "participants_female": 6 * a, "participants_male": 4 * a,
         "participants_unspecified_sex": 0, "participants_youth": a}
        for i, e in enumerate(["education", "training"]) for p, a in [("2025-11", 2), ("2025-12", 1 + i)]])
    awareness = pd.DataFrame([
        {"wave": w, "measure": "awareness_index", "domain": d, "domain_value": v, "estimate": e, "se": 1.0,
         "ci_low": None if e is None else e - 1.96, "ci_high": None if e is None else e + 1.96, "n": n,
         "suppressed": n < 30}
        for w, base in ((2023, 55.0), (2025, 58.0))
        for d, v, e, n in (("overall", "all", base, 2000), ("sex", "female", base + 1, 1000), ("sex", "other", None, 12))])
    return {"partner_progress": progress, "ghg_claims": claims, "activities": activities, "provinces": provinces,
            "ace_indicators": ace, "awareness": awareness}


def render(tmp_path, frames, **kw):
    wh = P.Warehouse(frames, {k: f"marts.{k}" for k in frames})
    ctx = P.site_context(tmp_path / "unused.duckdb", tmp_path, period="2025-12", pub_id="2025-12-rtest", is_sample=True,
                         warehouse=wh, **kw)
    render_site(tmp_path, ctx, strict=True)
    return ctx, {p.relative_to(tmp_path).as_posix(): p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.html")}


def test_every_page_renders_and_partner_text_never_becomes_markup(tmp_path):
    ctx, html = render(tmp_path, tiny_frames())
    assert {f for _, f, _ in NAV} <= set(html)
    assert "partners/P001.html" in html and f"partners/{partner_slug('P/2')}.html" in html
    for name, page in html.items():
        assert "<script>alert" not in page, name
        assert "alert(2)</script>" not in page, name
        # only our own scripts: the language bootstrap, JSON specs, plotly and site.js
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert tag in ("<script>", '<script src="assets/site.js">', '<script src="../assets/site.js">',
                           '<script src="assets/plotly.min.js">', '<script src="../assets/plotly.min.js">') \
                or re.fullmatch(r'<script type="application/json" id="chart-[a-z0-9-]+-spec">', tag), (name, tag)
    partner = html["partners/P001.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in partner
    assert "Sample &#34;Green&#34; O&#39;Brien &amp; Sons" in partner
    assert "&lt;/script&gt;&lt;script&gt;alert(2)" in partner          # the activity title, as text
    assert 'lang="th"' in html["index.html"] and "SAMPLE" in html["index.html"]
    assert "123.5" in html["index.html"]                                # P001's 12-month reductions


def test_chart_specs_are_valid_json_with_bilingual_text(tmp_path):
    _, html = render(tmp_path, tiny_frames())
    page = html["partners/P001.html"]
    specs = re.findall(r'<script type="application/json" id="(chart-[a-z-]+)-spec">(.*?)</script>', page, re.S)
    assert {s for s, _ in specs} >= {"chart-trajectory", "chart-pledge"}
    for _, text in specs:
        spec = json.loads(text)
        assert spec["data"] and "layout" in spec
    traj = json.loads(dict(specs)["chart-trajectory"])
    rolling = next(t for t in traj["data"] if t["name"]["en"].startswith("Total over"))
    assert rolling["y"][-1] == pytest.approx(123.456)                  # equals the mart's reductions_12m
    assert traj["data"][0]["x"][-1] == {"th": "ธ.ค. 2568", "en": "Dec 2025"}
    assert (tmp_path / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert len(list(tmp_path.rglob("plotly*.js"))) == 1                # bundled once per publication


def test_missing_marts_become_not_available_notes_and_the_site_still_renders(tmp_path):
    ctx, html = render(tmp_path, tiny_frames())
    for page in ("national.html", "practices.html"):
        assert "Not available yet" in html[page] and "ยังไม่มีข้อมูลส่วนนี้" in html[page], page
    assert "mart_national_progress" in html["national.html"]
    assert "mart_awareness_change" in html["awareness.html"]           # change section only
    assert "ธ.ค. 2568" in html["awareness.html"] or "2025" in html["awareness.html"]
    notes = {(n["page"], n["section"]) for n in ctx["notes"]}
    assert ("national", "") in notes and ("practices", "") in notes and ("awareness", "change") in notes
    assert "Dashboard sections not available yet" in html["quality.html"]


def test_an_empty_warehouse_still_publishes_every_page(tmp_path):
    _, html = render(tmp_path, {})
    assert {f for _, f, _ in NAV} <= set(html)
    assert all("Not available yet" in html[f] for f in ("index.html", "partners.html", "provinces.html", "ace.html",
                                                         "awareness.html", "downloads.html"))


def test_suppressed_awareness_cells_are_shown_as_withheld(tmp_path):
    _, html = render(tmp_path, tiny_frames())
    page = html["awareness.html"]
    row = re.search(r'<tr data-item data-measure="awareness_index" data-domain="sex=other">(.*?)</tr>', page, re.S)
    assert row and "withheld" in row.group(1) and "ไม่เผยแพร่" in row.group(1)


def test_a_changed_mart_shape_degrades_one_section_not_the_site(tmp_path):
    frames = tiny_frames()
    frames["ace_indicators"] = frames["ace_indicators"].drop(columns=["activities"])     # a column renamed upstream
    ctx, html = render(tmp_path, frames)
    assert "could not be prepared" in html["ace.html"]
    assert "123.5" in html["index.html"]
    assert any(n["page"] == "ace" and "KeyError" in n["detail"] for n in ctx["notes"])


def test_read_warehouse_reads_what_exists_and_falls_back_to_the_old_awareness_mart(tmp_path):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create schema raw")
        con.execute("create table marts.mart_awareness_by_wave as select 2023 as wave, 'awareness_index' as measure")
        con.execute("create table raw.partner_registry as select 'P001' as partner_id, 'x@y' as contact_email, "
                    "'f.csv' as _file, 2 as _row")
    wh = P.read_warehouse(db)
    assert wh.sources["awareness"] == "marts.mart_awareness_by_wave"
    assert list(wh.get("registry_rows").columns) == ["partner_id", "_file", "_row"]    # never contact e-mails
    assert not wh.has("partner_progress")
    with pytest.raises(P.MissingData):
        wh.get("partner_progress")


def test_serve_previews_a_publication_over_http(tmp_path):
    from phakhi.publish.serve import make_server

    (tmp_path / "assets" / "fonts").mkdir(parents=True)
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>ภาคี", encoding="utf-8")
    (tmp_path / "assets" / "fonts" / "a.woff2").write_bytes(b"wOF2")
    server = make_server(tmp_path, port=0, verbose=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html") as r:
            assert "ภาคี" in r.read().decode("utf-8") and "charset=utf-8" in r.headers["Content-Type"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/assets/fonts/a.woff2") as r:
            assert r.headers["Content-Type"] == "font/woff2"
    finally:
        server.shutdown()
        server.server_close()


def test_quality_page_lists_gate_checks_and_quarantined_rows_by_reason(tmp_path):
    gate = {"passed": True, "warnings": 1, "blocking": 0, "dbt": {"success": True, "counts": {"pass": 3}},
            "checks": [{"suite": "stg_x", "expectation": "expect_column_values_to_not_be_null", "column": "a",
                        "severity": "critical", "success": True},
                       {"suite": "stg_x", "expectation": "expect_column_values_to_be_between", "column": "b",
                        "severity": "warning", "success": False, "unexpected_count": 2, "element_count": 10,
                        "sample_rows": ["f.csv:3", "f.csv:9"]}]}
    quarantine = pd.DataFrame([{"family": "ghg_reductions", "rule": "not_a_number", "value": XSS,
                                "message_en": "not a number", "message_th": "ไม่ใช่ตัวเลข"}] * 3)
    ingest = pd.DataFrame([{"family": "ghg_reductions", "files": 1, "files_rejected": 0, "rows_read": 1234,
                            "rows_loaded": 1231, "rows_quarantined": 3}])
    _, html = render(tmp_path, tiny_frames(), gate=gate, quarantine=quarantine, ingest=ingest)
    page = html["quality.html"]
    assert re.search(r"<b>1/2</b>", page)                                   # 1 of 2 checks passed
    assert "not_a_number" in page and "ไม่ใช่ตัวเลข" in page and "1,234" in page
    assert "<script>alert" not in page
    assert "f.csv:3" in page
