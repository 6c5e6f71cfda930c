"""Long lists in a real browser (Debian's Chromium, Playwright; never `playwright install`): the partners and
practices pages hold one page of rows in HTML and search, filter, sort and page over the whole list from its
search index (lists/<name>.js) - from disk and through `phakhi serve` (its Content-Security-Policy), with no
console error. A tiny synthetic warehouse with a page size of 2 stands in for 8,000 partners (fast: no refresh).
"""
from __future__ import annotations

import threading

import pandas as pd
import pytest

from phakhi.publish import pages as P
from phakhi.publish.site import render_site

pytestmark = pytest.mark.integration

N = 7          # partners; page size 2 -> 4 pages


def frames() -> dict[str, pd.DataFrame]:
    from test_dashboard_site import tiny_frames

    f = tiny_frames()
    base = f["dash_partners"].iloc[1].to_dict()
    rows = [f["dash_partners"].iloc[0].to_dict()]
    for i in range(2, N + 1):
        rows.append({**base, "partner_id": f"P{i:03d}", "name_th": f"ภาคีที่ {i}", "name_en": f"Partner {i}",
                     "pct_of_required_path": i / 10, "status": "off_track" if i % 2 else "on_track",
                     "parent_partner_id": None, **({"province_code": "TH-50", "province_th": "เชียงใหม่", "province_en": "Chiang Mai"}
                                                        if i == 5 else {})})
    f["dash_partners"] = pd.DataFrame(rows)
    f["mart_practice_cases"] = pd.DataFrame([{
        "case_id": f"P{i:03d}|2025-12", "partner_id": f"P{i:03d}", "display_order": i, "name_th": f"ภาคีที่ {i}",
        "name_en": f"Partner {i}", "partner_type": "pao", "province_code": "TH-11", "track_status": "on_track",
        "is_featured_by_dcce": i == 2, "meets_criteria": i <= 3, "featured_reason_th": "เด่น", "featured_reason_en": "good",
        "featured_by": "DCCE", "sector_tags": "energy", "ace_element_tags": "education", "practice_tags": "workshop",
        "programme_tags": "t_ver", "counted_12m_tco2e": 10.0 * i, "verified_12m_tco2e": 5.0, "participants_reached": 30,
        "female_share": 0.5, "activities_12m": i, "reporting_completeness": 0.9, "ghg_projects": 1,
        "rank_in_peer_group": i, "peer_group_cases": N, "featured_activity_title": f"กิจกรรม {i}",
        **{k: True for k in ("criterion_on_track", "criterion_measured_result", "criterion_has_lessons",
                             "criterion_counted_once", "criterion_reports_regularly")}}
        for i in range(2, N + 1)])
    f["mart_practice_lessons"] = pd.DataFrame([{
        "case_id": f"P{i:03d}|2025-12", "lesson_no": 1, "lesson_th": f"บทเรียนที่ {i}",
        "lesson_en": "solar roofs save money" if i == 6 else None, "has_english": i == 6, "text_is_thai": True}
        for i in range(2, N + 1)])
    return f


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("lists")
    wh = P.Warehouse(frames(), {})
    ctx = P.site_context(out / "unused.duckdb", out, period="2025-12", pub_id="2025-12-rtest", is_sample=True,
                         warehouse=wh, page_sizes={"partners": 2, "practices": 2})
    render_site(out, ctx, strict=True)
    return out


def _open(page, url: str):
    page.goto(url)
    page.wait_for_function("() => document.documentElement.dataset.ready")


def _ids(page) -> list[str]:
    return page.locator("#partner-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.partner)")


def test_the_page_holds_one_page_and_the_index_holds_every_partner(site):
    html = (site / "partners.html").read_text(encoding="utf-8")
    assert html.count("<tr data-item") == 2
    index = (site / "lists" / "partners.js").read_text(encoding="utf-8")
    assert index.startswith("(window.PhakhiLists=window.PhakhiLists||{})[\"partners\"]=")
    assert "<script" not in index and "\\u003cscript\\u003e" in index        # partner text stays inert
    assert len(list(site.glob("practices*.html"))) == 3                      # 6 cases, 2 a page
    practices = (site / "lists" / "practices.js").read_text(encoding="utf-8")
    assert "solar roofs" not in practices                                      # lessons: loaded on first search
    assert "solar roofs" in (site / "lists" / "practices-text.js").read_text(encoding="utf-8")


def test_partners_search_filter_sort_and_page_over_the_whole_list(site, page):
    _open(page, (site / "partners.html").as_uri() + "?lang=en")
    assert page.locator("[data-count-for='partner-table']").inner_text() == str(N)
    assert _ids(page) == ["P/2", "P001"] or len(_ids(page)) == 2
    first = _ids(page)
    page.click("[data-pager-for='partner-table'] [data-page='next']")
    assert len(_ids(page)) == 2 and not set(_ids(page)) & set(first)
    assert page.locator("[data-pager-for='partner-table'] [data-page-now]").inner_text() == "2"
    page.fill("input.search", "P007")                                       # on the last page, not on this one
    assert _ids(page) == ["P007"]
    page.fill("input.search", "เชียงใหม่")                                   # Thai province while reading English
    assert _ids(page) == ["P005"]
    page.fill("input.search", "")
    page.select_option("#filter-status", "on_track")
    assert page.locator("[data-count-for='partner-table']").inner_text() == "4"
    page.select_option("#filter-status", "")
    page.locator("#partner-table th", has_text="% of path").locator("button").click()
    page.locator("#partner-table th", has_text="% of path").locator("button").click()     # descending
    assert _ids(page)[0] == "P001"                                           # 123 % of the path
    assert page.locator("#partner-table tbody tr").first.locator("a").get_attribute("href").startswith("partners/P001.html")
    page.fill("input.search", "alert")                                       # hostile name: found, shown as text
    assert _ids(page) == ["P001"] and "<script>alert(1)</script>" in page.locator("#partner-table tbody").text_content()
    # the peer chart below the list: plotly.js is not in the page, site.js loads it when the chart is near view
    assert "plotly.min.js" not in (site / "partners.html").read_text(encoding="utf-8")
    page.locator("#chart-peers").scroll_into_view_if_needed()
    page.wait_for_function("() => document.getElementById('chart-peers').classList.contains('js-plotly-plot')")
    page.goto((site / "partners.html").as_uri() + "?peer=local_government&status=off_track")
    page.wait_for_function("() => document.documentElement.dataset.ready")
    assert page.locator("[data-count-for='partner-table']").inner_text() == "3"
    assert page.errors == []


def test_practices_pages_are_static_and_search_reaches_every_page(site, page):
    _open(page, (site / "practices.html").as_uri() + "?lang=en")
    assert page.locator("#cases article").count() == 2
    assert page.locator("#cases article").first.get_attribute("data-featured") == "yes"
    page.fill("input[data-filter='cases'][data-key='search']", "solar roofs")   # a lesson of a case on page 3
    shown = page.locator("#case-results article")
    page.wait_for_function("() => document.querySelectorAll('#case-results article').length === 1")  # text loaded
    assert shown.count() == 1 and shown.first.get_attribute("data-case") == "P006"
    assert page.locator("#cases").is_hidden()
    shown.first.locator("a", has_text="Read the full case").click()
    page.wait_for_function("() => document.documentElement.dataset.ready")
    assert page.url.split("?")[0].endswith("/practices-3.html") and page.url.endswith("#case-P006")
    assert page.locator("#case-P006").is_visible()
    page.go_back()
    page.wait_for_function("() => document.documentElement.dataset.ready")
    page.fill("input[data-filter='cases'][data-key='search']", "")
    assert page.locator("#cases").is_visible() and page.locator("#case-results").is_hidden()
    assert page.errors == []


def test_lists_work_through_phakhi_serve_under_its_csp(site, page):
    from phakhi.publish.serve import make_server

    server = make_server(site, port=0, verbose=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        for name in ("partners", "practices", "index", "network"):
            _open(page, f"{base}/{name}.html")
        _open(page, f"{base}/partners.html")
        page.fill("input.search", "P006")
        assert _ids(page) == ["P006"]
        assert page.errors == []
    finally:
        server.shutdown()
        server.server_close()
