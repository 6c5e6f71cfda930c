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
from phakhi.publish.site import (NAV, fmt, partner_slug, pct, period_label, plain, plain_records, render_site,
                                script_json, signed)

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


def test_plain_records_of_dates_are_each_values_plain():
    """Date columns take numpy's day strings (no Timestamp per value): the text plain() gives each value, for
    every resolution, NaT, times before 1970 and years below 1000 (the slow path), and with a time zone."""
    values = ["2025-01-31", "2025-03-04 13:45:00", None, "1969-12-31 23:00:00", "1999-12-31 23:59:59.999"]
    frames = [pd.DataFrame({"d": pd.Series(pd.to_datetime(values, format="mixed")).astype(f"datetime64[{u}]")})
              for u in ("ns", "us", "ms", "s")]
    frames += [pd.DataFrame({"d": pd.Series(np.array(["0999-01-01", "2020-02-29"], dtype="datetime64[s]"))}),
               pd.DataFrame({"d": pd.to_datetime(values, format="mixed", utc=True)})]
    for df in frames:
        assert plain_records(df) == [plain(r) for r in df.to_dict("records")]
    assert plain_records(frames[0])[0] == {"d": "2025-01-31"} and plain_records(frames[0])[2] == {"d": None}


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


def _macro(file: str, name: str):
    """A dbt macro of dbt_project/macros rendered with plain Jinja (these macros use no dbt context)."""
    from jinja2 import Environment

    from phakhi.settings import DBT_PROJECT_DIR

    text = (DBT_PROJECT_DIR / "macros" / file).read_text(encoding="utf-8")
    return getattr(Environment().from_string(text).module, name)


def test_traffic_light_rules_are_the_dbt_macros():
    progress = _macro("phakhi_lights.sql", "phakhi_progress_light")
    ace = _macro("phakhi_lights.sql", "phakhi_ace_light")

    def light(status, pct, amber_from=0.75):
        return duckdb.execute(f"select {progress('s', 'p', 'a')} from (select $1::varchar as s, $2::double as p, "
                              f"$3::double as a)", [status, pct, amber_from]).fetchone()[0]

    assert light("on_track", 1.2) == "green"
    assert light("off_track", 0.8) == "amber"
    assert light("off_track", 0.5) == "red"
    assert light("off_track", None) == "red"
    assert light("no_data", None) == "grey"
    assert light("off_track", 0.8, amber_from=0.9) == "red"          # the threshold comes from the seed

    def ace_light(monthly, fall=0.9):
        last3, prev3 = sum(monthly[-3:]), sum(monthly[-6:-3])
        return duckdb.execute(f"select {ace('m', 'l', 'p', 'f')} from (select $1::int as m, $2::double as l, "
                              f"$3::double as p, $4::double as f)", [len(monthly), last3, prev3, fall]).fetchone()[0]

    assert ace_light([5, 5, 5, 5, 5, 5]) == "green"
    assert ace_light([10, 10, 10, 5, 5, 5]) == "amber"       # fell by half
    assert ace_light([10, 10, 10, 0, 0, 0]) == "red"
    assert ace_light([0, 0, 3]) == "green"                    # short history, activity this quarter
    assert ace_light([]) == "grey"


def test_required_path_is_one_dbt_macro_used_by_the_mart_and_the_trajectory():
    from phakhi.settings import DBT_PROJECT_DIR

    path = _macro("phakhi_required_path.sql", "phakhi_required_path")

    def required(pledged, base, target, year):
        return duckdb.execute(f"select {path('p', 'b', 't', 'y')} from (select $1::double as p, $2::int as b, "
                              f"$3::int as t, $4::int as y)", [pledged, base, target, year]).fetchone()[0]

    assert required(100, 2020, 2030, 2025) == pytest.approx(50)
    assert required(100, 2020, 2030, 2040) == pytest.approx(100)
    assert required(100, 2020, 2030, 2010) == 0
    # base year = target year: DuckDB's least()/greatest() skip the NULL ratio, so the whole pledge is due
    assert required(100, 2030, 2030, 2030) == pytest.approx(100)
    for model in ("marts/mart_partner_progress.sql", "marts/dashboard/dash_partner_trajectory.sql",
                  "marts/dashboard/dash_partner_pledge_path.sql"):
        sql = next((DBT_PROJECT_DIR / "models").rglob(model.split("/")[-1])).read_text(encoding="utf-8")
        assert "phakhi_required_path(" in sql and "greatest(0.0" not in sql, model


def test_publish_code_holds_no_threshold_and_reads_no_raw_or_reference_table():
    import inspect
    import re as _re

    from phakhi.publish import build, linking_pages, pages, site

    for module in (pages, site, build, linking_pages):
        src = inspect.getsource(module)
        code = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith("#"))
        code = _re.sub(r'"""(.|\n)*?"""', "", code)
        assert not _re.search(r"\b(raw|reference|staging)\.[a-z_]+", code), module.__name__
        assert not _re.search(r"AMBER_FROM|ACE_FALL|0\.75|0\.9\b", code), module.__name__


def test_short_programme_label():
    assert P.short_label(("โครงการลดก๊าซเรือนกระจกภาคสมัครใจ (T-VER)", "T-VER (Thailand Voluntary …)")) == ("T-VER", "T-VER")
    assert P.short_label(("ประเมินเอง", "Self-estimate (no programme)")) == ("ประเมินเอง", "Self-estimate")


# ------------------------------------------------------------------ a tiny warehouse (presentation marts)
def tiny_warehouse(folder, frames: dict | None = None):
    """`frames` (default: tiny_frames()) as marts.<name> tables of a DuckDB file in `folder`: (file, tables)."""
    frames = tiny_frames() if frames is None else frames
    db = folder / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        for name, df in frames.items():
            con.register("df", df)
            con.execute(f"create table marts.{name} as select * from df")
            con.unregister("df")
    return db, {name: f"marts.{name}" for name in frames}


def tiny_frames() -> dict[str, pd.DataFrame]:
    """A few rows of each presentation mart, shaped as dbt builds them (dbt_project/models/marts/dashboard)."""
    partners = pd.DataFrame([
        {"partner_id": "P001", "name_th": XSS, "name_en": QUOTED, "partner_type": "pao", "peer_group": "local_government",
         "province_code": "TH-10", "region": "central", "parent_partner_id": None, "pledge_base_year": 2020,
         "baseline_tco2e": 1000.0, "target_year": 2030, "reduction_pct": 20.0, "pledged_reduction_tco2e": 200.0,
         "required_path_tco2e": 100.0, "reductions_12m_tco2e": 123.456, "counted_12m_tco2e": 123.456,
         "pct_of_pledge": 0.617, "pct_of_required_path": 1.23456, "reporting_completeness": 0.75,
         "track_status": "on_track", "status": "on_track", "light": "green", "peer_percentile": 1.0,
         "period": "2025-12", "months_reported": 9, "months_expected": 12, "duplicate_12m_tco2e": 0.0,
         "rank_in_type": 1, "peers_with_path": 2, "peer_group_size": 2},
        {"partner_id": "P/2", "name_th": "ภาคีสอง", "name_en": "Partner two", "partner_type": "pao",
         "peer_group": "local_government", "province_code": "TH-11", "region": "central", "parent_partner_id": "P001",
         "pledge_base_year": 2020, "baseline_tco2e": 500.0, "target_year": 2030, "reduction_pct": 10.0,
         "pledged_reduction_tco2e": 50.0, "required_path_tco2e": 25.0, "reductions_12m_tco2e": 0.0,
         "counted_12m_tco2e": 0.0, "pct_of_pledge": 0.0, "pct_of_required_path": 0.0, "reporting_completeness": 0.5,
         "track_status": "no_data", "status": "no_data", "light": "grey", "peer_percentile": 0.0, "period": "2025-12",
         "months_reported": 6, "months_expected": 12, "duplicate_12m_tco2e": 0.0, "rank_in_type": 2,
         "peers_with_path": 2, "peer_group_size": 2},
    ]).assign(type_th="องค์การบริหารส่วนจังหวัด", type_en="Provincial Administrative Organisation (PAO)",
              peer_group_th="องค์กรปกครองส่วนท้องถิ่น", peer_group_en="Local government",
              province_th=["กรุงเทพมหานคร", "สมุทรปราการ"], province_en=["Bangkok", "Samut Prakan"],
              region_th="ภาคกลาง", region_en="Central", registry_file="partner_registry/partner_registry.csv",
              registry_row=[2, 3], registry_file_hash="ab" * 32)
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
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    monthly = {"2025-06": 60.0, "2025-12": 63.456}
    trajectory = pd.DataFrame([
        {"partner_id": pid, "period": m, "reduced_tco2e": monthly.get(m, 0.0) if pid == "P001" else 0.0,
         "counted_tco2e": monthly.get(m, 0.0) if pid == "P001" else 0.0,
         "rolling_12m_tco2e": sum(v for k, v in monthly.items() if k <= m) if pid == "P001" else 0.0,
         "required_path_tco2e": 100.0 if pid == "P001" else 25.0}
        for pid in ("P001", "P/2") for m in months])
    pledge = pd.DataFrame([{"partner_id": "P001", "year": y, "required_path_tco2e": 200.0 * (y - 2020) / 10,
                            "reduced_in_year_tco2e": None, "is_target_year": y == 2030} for y in range(2020, 2031)])
    peers = pd.DataFrame([{"partner_type": "pao", "type_th": "องค์การบริหารส่วนจังหวัด",
                           "type_en": "Provincial Administrative Organisation (PAO)", "partners": 2, "on_track": 1,
                           "partners_with_path": 2, "pct_path_min": 0.0, "pct_path_q1": 0.31, "pct_path_median": 0.62,
                           "pct_path_q3": 0.93, "pct_path_max": 1.23456, "completeness_median": 0.625}])
    overview = pd.DataFrame([{"partners": 2, "on_track": 1, "off_track": 0, "no_data": 1, "counted_12m_tco2e": 123.456,
                              "required_path_tco2e": 125.0, "mean_reporting_completeness": 0.625}])
    ace_monthly = pd.DataFrame([
        {"element_code": e, "element_order": i, "period": p, "months_before_period": 12 - int(p[5:]), "activities": a}
        for i, e in enumerate(["education", "training"]) for p, a in [("2025-11", 2), ("2025-12", 1 + i)]])
    ace_elements = pd.DataFrame([
        {"element_code": e, "element_order": i, "element_th": th, "element_en": en, "months": 2, "last3": 3.0 + i,
         "prev3": 0.0, "light": "green", "ace_fall": 0.9, "activities_12m": 3.0 + i, "participants_12m": 30.0 + 10 * i,
         "participants_female_12m": 18.0 + 6 * i, "participants_male_12m": 12.0 + 4 * i,
         "participants_unspecified_12m": 0.0, "participants_youth_12m": 3.0 + i, "female_share_12m": 0.6,
         "provinces_12m": 1, "partners_12m": 1}
        for i, (e, th, en) in enumerate([("education", "การศึกษา", "Education"), ("training", "การฝึกอบรม", "Training")])])
    labels = pd.DataFrame([
        ("track_status", "on_track", "เป็นไปตามเป้า", "On track"), ("track_status", "off_track", "ต่ำกว่าเป้า", "Off track"),
        ("track_status", "no_data", "ไม่มีข้อมูล", "No data"), ("track_status", "no_partners", "ไม่มีภาคี", "No partners"),
        ("programme", "t_ver", "โครงการลดก๊าซเรือนกระจกภาคสมัครใจ (T-VER)", "T-VER (Thailand Voluntary Emission Reduction Program)"),
        ("verification", "verified", "ทวนสอบแล้ว", "Verified"), ("activity_type", "workshop", "ประชุมเชิงปฏิบัติการ", "Workshop"),
        ("family", "ghg_reductions", "รายงานการลดก๊าซเรือนกระจก", "GHG reduction reports"),
        ("measure", "awareness_index", "ดัชนีความตระหนักรู้", "Awareness index"), ("domain", "overall", "ทั้งประเทศ", "National"),
        ("domain", "sex", "เพศ", "Sex"), ("domain_value", "all", "ทั้งหมด", "All"), ("domain_value", "female", "หญิง", "Female"),
        ("domain_value", "other", "อื่น ๆ", "Other")], columns=["kind", "code", "label_th", "label_en"])
    awareness = pd.DataFrame([
        {"wave": w, "measure": "awareness_index", "domain": d, "domain_value": v, "estimate": e, "se": 1.0,
         "ci_low": None if e is None else e - 1.96, "ci_high": None if e is None else e + 1.96, "n": n,
         "suppressed": n < 30}
        for w, base in ((2023, 55.0), (2025, 58.0))
        for d, v, e, n in (("overall", "all", base, 2000), ("sex", "female", base + 1, 1000), ("sex", "other", None, 12))])
    return {"dash_partners": partners, "fct_ghg_reductions": claims, "fct_activities": activities,
            "dash_partner_trajectory": trajectory, "dash_partner_pledge_path": pledge, "dash_peer_summary": peers,
            "dash_overview": overview, "dash_ace_monthly": ace_monthly, "dash_ace_elements": ace_elements,
            "dash_labels": labels, "dash_period": pd.DataFrame([{"period": "2025-12", "window_first_period": "2025-01"}]),
            "mart_awareness_baseline": awareness}


def render(tmp_path, frames, **kw):
    wh = P.Warehouse(frames, {k: f"marts.{k}" for k in frames})
    kw.setdefault("gate", None)
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
                           '<script src="assets/plotly.min.js">', '<script src="../assets/plotly.min.js">',
                           '<script src="lists/partners.js">', '<script src="lists/practices.js">') \
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
    assert traj["data"][0]["x"][-1] == "2025-12"                        # ISO months, labelled once on the axis
    axis = traj["layout"]["xaxis"]
    assert axis["tickvals"][-1] == "2025-12" and axis["ticktext"][-1] == {"th": "ธ.ค. 2568", "en": "Dec 2025"}
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
    frames["dash_ace_monthly"] = frames["dash_ace_monthly"].drop(columns=["activities"])     # a column renamed upstream
    ctx, html = render(tmp_path, frames)
    assert "could not be prepared" in html["ace.html"]
    assert "123.5" in html["index.html"]
    assert any(n["page"] == "ace" and "KeyError" in n["detail"] for n in ctx["notes"])


def test_read_warehouse_reads_only_the_tables_it_is_given(tmp_path):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create schema raw")
        con.execute("create table marts.dash_overview as select 3 as partners")
        con.execute("create table raw.partner_registry as select 'P001' as partner_id, 'x@y' as contact_email")
    wh = P.read_warehouse(db, {"dash_overview": "marts.dash_overview", "dash_partners": "marts.dash_partners"})
    assert wh.sources == {"dash_overview": "marts.dash_overview"}          # listed and present; raw never read
    assert not wh.has("dash_partners")
    with pytest.raises(P.MissingData):
        wh.get("dash_partners")


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
    frames = tiny_frames()
    frames["dash_quality_quarantine"] = pd.DataFrame([{
        "family": "ghg_reductions", "rule": "not_a_number", "column_name": "reduction_tco2e", "problems": 3, "rows": 3,
        "files": 1, "example_value": XSS, "message_en": "not a number", "message_th": "ไม่ใช่ตัวเลข"}])
    frames["dash_quality_ingest"] = pd.DataFrame([{"family": "ghg_reductions", "files": 1, "files_rejected": 0,
                                                   "rows_read": 1234, "rows_loaded": 1231, "rows_quarantined": 3}])
    _, html = render(tmp_path, frames, gate=gate)
    page = html["quality.html"]
    assert re.search(r"<b>1/2</b>", page)                                   # 1 of 2 checks passed
    assert "not_a_number" in page and "ไม่ใช่ตัวเลข" in page and "1,234" in page
    assert "<script>alert" not in page
    assert "f.csv:3" in page


def test_partner_pages_link_small_csv_files_with_formulas_neutralised(tmp_path):
    frames = tiny_frames()
    frames["fct_ghg_reductions"].loc[0, "project_id"] = '=HYPERLINK("http://evil.example","x")'
    _, html = render(tmp_path, frames)
    # one file per partner and month (a closed month's file stays byte-identical, shared between publications)
    files = sorted((tmp_path / "data" / "partners" / "P001").glob("*-claims.csv"))
    assert [f.name for f in files] == ["2025-06-claims.csv", "2025-12-claims.csv"]
    rows = pd.read_csv(files[0], encoding="utf-8-sig")
    assert len(rows) == 1 and rows.loc[0, "project_id"].startswith("'=")
    assert 'href="../data/partners/P001/2025-06-claims.csv"' in html["partners/P001.html"]
    assert not (tmp_path / "data" / "partners" / partner_slug('P/2')).exists()   # nothing to list


def test_a_partner_page_and_its_files_do_not_change_when_its_data_does_not(tmp_path):
    """Same data, another run: every partner page and per-partner file is byte-identical (shared on disk)."""
    a, b = tmp_path / "a", tmp_path / "b"
    for out, pub_id in ((a, "2025-12-r1"), (b, "2025-12-r2")):
        out.mkdir()
        wh = P.Warehouse(tiny_frames(), {})
        ctx = P.site_context(out / "x.duckdb", out, period="2025-12", pub_id=pub_id, is_sample=True, warehouse=wh)
        render_site(out, ctx, strict=True)
    mine = sorted(p.relative_to(a).as_posix() for p in a.rglob("*")
                  if p.is_file() and p.relative_to(a).parts[0] in ("partners", "data", "lists", "assets"))
    assert "partners/P001.html" in mine and "data/partners/P001/2025-12-activities.csv" in mine
    assert [x for x in mine if (a / x).read_bytes() != (b / x).read_bytes()] == []
    assert "2025-12-r1" in (a / "index.html").read_text(encoding="utf-8")      # the site's own pages name it


def test_the_peer_chart_is_a_summary_not_every_peer(tmp_path):
    _, html = render(tmp_path, tiny_frames())
    spec = json.loads(re.search(r'id="chart-peer-spec">(.*?)</script>', html["partners/P001.html"], re.S).group(1))
    box, me = spec["data"]
    assert box["type"] == "box" and box["median"] == [62.0] and "x" not in box      # quantiles only
    assert me["x"] == [123.5] and me["name"]["en"] == "This partner (rank 1 of 2)"


def test_partner_month_csv_bytes_are_what_pandas_writes_for_that_partner_and_month():
    from phakhi.publish.files import csv_bytes, neutralise_formulas

    df = pd.DataFrame({"partner_id": ["P1", "P2", "P1", "P1", "P2"],
                       "period": ["2025-01", "2025-01", "2025-02", "2025-01", "2025-02"],
                       "period_start": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01", "2025-01-01", None]),
                       "title": ["a\nb, \"quoted\"", "=cmd()", "x\n\x1fy", "ภาษาไทย", None],
                       "n": [1.5, 2.0, float("nan"), 3.25, 4.0]})
    files = P.PartnerMonthCsv(df)
    got = dict(files.files("P1"))
    assert list(got) == ["2025-01", "2025-02"]
    for month, data in got.items():
        rows = df[(df["partner_id"] == "P1") & (df["period"] == month)].assign(
            period_start=lambda d: d["period_start"].dt.strftime("%Y-%m-%d"))
        assert data == csv_bytes(neutralise_formulas(rows))
    assert "'=cmd()" in dict(files.files("P2"))["2025-01"].decode("utf-8-sig")
    assert files.files("P9") == []


def test_downloads_page_lists_a_table_split_by_month(tmp_path):
    from phakhi.publish.datapackage import descriptor
    from phakhi.publish.files import write_partitions

    df = pd.DataFrame({"reduction_id": ["a", "b"], "period": ["2025-11", "2025-12"], "reported_tco2e": [1.0, 2.0]})
    months = write_partitions(df, tmp_path / "data" / "ghg_ledger", "period")
    pkg = descriptor("2025-12-r1", "2025-12", {"ghg_ledger": ("mart_ghg_ledger", df)}, {}, True, {"ghg_ledger": months})
    (tmp_path / "datapackage.json").write_text(json.dumps(pkg, ensure_ascii=False), encoding="utf-8")
    _, html = render(tmp_path, tiny_frames())
    page = html["downloads.html"]
    assert 'href="data/ghg_ledger/2025-12.csv"' in page and 'href="data/ghg_ledger/2025-11.parquet"' in page
    assert "ธ.ค. 2568" in page and "Dec 2025" in page and "One file per month, 2 files" in page
