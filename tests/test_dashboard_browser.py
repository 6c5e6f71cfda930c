"""The published dashboard in a real browser (Debian's Chromium driven by Playwright; never `playwright install`).

The publication is the session's SAMPLE month built by the real monthly flow (tests/conftest.py), into whose
landing partner-supplied text that tries to run script, or carries quotes, has been planted. Every page must load from disk with no console
error, no failed request and no request to another host; the language switch, the partner search and the
partner trajectory chart must work; screenshots land in test-output/screenshots/ (git-ignored).
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "test-output" / "screenshots"
PAGES = ["index", "national", "partners", "provinces", "ace", "awareness", "practices", "quality", "downloads"]


@pytest.fixture(scope="module")
def publication(refreshed_sample, partner_text):
    """The session's refreshed SAMPLE publication (tests/conftest.py), read only: its registry and one activity
    report carry partner-supplied text that tries to run script or carries quotes."""
    return {"dir": refreshed_sample.publication, "activity_partner": partner_text["xss_title_partner"]}


class Watch:
    """Everything a page did that it must not: console errors, script errors, failed or remote requests,
    dialogs (an alert() would mean partner text ran as script)."""

    def __init__(self, page, allowed_hosts=("127.0.0.1", "localhost")):
        self.errors, self.failed, self.remote, self.dialogs = [], [], [], []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}")
                if r.url not in self.remote else None)
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def route(r):
            url = r.request.url
            from urllib.parse import urlparse

            u = urlparse(url)
            if u.scheme in ("file", "data", "blob") or (u.scheme in ("http", "https") and u.hostname in allowed_hosts):
                r.continue_()
            else:
                self.remote.append(url)
                r.abort()

        page.route("**/*", route)

    def assert_clean(self, where):
        assert self.errors == [], (where, self.errors)
        assert self.failed == [], (where, self.failed)
        assert self.remote == [], (where, self.remote)
        assert self.dialogs == [], (where, self.dialogs)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.watch = Watch(pg)
    yield pg
    context.close()


def _open(page, pub: Path, name: str, lang: str | None = None):
    url = (pub / f"{name}.html").as_uri() + (f"?lang={lang}" if lang else "")
    page.goto(url)
    page.wait_for_load_state("load")
    # charts below a long list load plotly.js when they come into view (partners.html)
    page.evaluate("() => document.querySelectorAll('[data-chart][data-lazy]').forEach(d => d.scrollIntoView())")
    page.wait_for_function("() => !document.querySelector('[data-chart]') || "
                           "[...document.querySelectorAll('[data-chart]')].every(d => d.classList.contains('js-plotly-plot'))",
                           timeout=15000)


def _shot(page, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_every_page_loads_offline_without_errors_and_is_screenshotted(publication, page):
    pub = publication["dir"]
    for lang in ("th", "en"):
        for name in PAGES + ["partners/P001"]:
            _open(page, pub, name, lang)
            page.watch.assert_clean(f"{name} ({lang})")
            assert page.locator("main h1").first.is_visible(), name
            assert page.locator("html").get_attribute("data-lang") == lang
            assert page.locator(".unavailable").count() == 0 or name == "quality", \
                f"{name}: a section is 'not available' although every mart exists"
            if lang == "th" or name in ("index", "partners", "partners/P001", "awareness"):
                _shot(page, f"{name.replace('/', '_')}-{lang}")
    # the sample banner, the headline numbers and Thai text are on the overview
    _open(page, pub, "index", "th")
    assert page.locator("#sample-banner").is_visible()
    assert page.locator("#n-partners").inner_text().strip() == "60"
    assert "ภาพรวม" in page.locator("nav").inner_text()


def test_charts_are_drawn_by_the_bundled_plotly(publication, page):
    pub = publication["dir"]
    assert (pub / "assets" / "plotly.min.js").is_file()
    assert sorted(p.name for p in pub.rglob("plotly*.js")) == ["plotly.min.js"]      # once per publication
    for name in ("national", "partners", "ace", "awareness"):
        _open(page, pub, name)
        n = page.evaluate("() => document.querySelectorAll('.js-plotly-plot .main-svg').length")
        assert n > 0, name
        assert "cdn.plot.ly" not in page.content()
        page.watch.assert_clean(name)


def test_language_switch_changes_labels_and_is_remembered_across_pages(publication, page):
    pub = publication["dir"]
    page.goto((pub / "index.html").as_uri())
    page.evaluate("() => localStorage.clear()")
    page.reload()
    nav = page.locator("nav.nav a[data-nav='partners']")
    assert nav.inner_text().strip() == "ภาคี"
    page.click("#lang-toggle")
    assert nav.inner_text().strip() == "Partners"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#sample-banner").inner_text().startswith("SAMPLE DATA")
    nav.click()
    page.wait_for_load_state("load")
    assert page.url.split("?")[0].endswith("/partners.html")
    assert page.locator("html").get_attribute("data-lang") == "en"
    assert page.locator("h1").inner_text().startswith("Partners")
    # province names and code meanings switch too
    _open(page, pub, "provinces")
    tile = page.locator(".tile[data-province='TH-10']")
    assert tile.inner_text().strip() == "Bangkok"            # ISO 3166-2:TH: "Krung Thep Maha Nakhon [Bangkok]"
    page.click("#lang-toggle")
    assert tile.inner_text().strip() == "กรุงเทพมหานคร"
    assert page.locator("#tile-metric option[value='partners']").inner_text() == "จำนวนภาคี"
    assert page.locator(".tile").count() == 77
    page.watch.assert_clean("language switch")


def test_searching_finds_a_partner_and_filters_combine(publication, page):
    pub = publication["dir"]
    _open(page, pub, "partners", "en")
    rows = page.locator("#partner-table tbody tr")
    assert rows.count() == 60
    page.fill("input.search", "P002")
    visible = page.locator("#partner-table tbody tr:not([hidden])")
    assert visible.count() == 1 and "P002" in visible.first.inner_text()
    page.fill("input.search", "สงขลา")                      # Thai name of P002's province, while reading English
    assert page.locator("#partner-table tbody tr:not([hidden])").count() >= 1
    page.fill("input.search", "no such partner zzz")
    assert page.locator("#partner-table tbody tr:not([hidden])").count() == 0
    assert page.locator("[data-empty-for='partner-table']").is_visible()
    page.fill("input.search", "")
    page.select_option("#filter-status", "on_track")
    on = page.locator("#partner-table tbody tr:not([hidden])")
    assert 0 < on.count() < 60
    assert all(s == "on_track" for s in on.evaluate_all("rs => rs.map(r => r.dataset.status)"))
    # sorting by % of path puts the smallest first
    page.select_option("#filter-status", "")
    page.locator("#partner-table th", has_text="% of path").locator("button").click()
    vals = page.locator("#partner-table tbody tr td:nth-child(6)").evaluate_all(
        "tds => tds.map(t => parseFloat(t.dataset.v)).filter(v => !isNaN(v))")
    assert vals == sorted(vals)
    page.watch.assert_clean("search")


def test_partner_page_shows_its_trajectory_and_source_files(publication, page):
    pub = publication["dir"]
    _open(page, pub, "partners", "en")
    page.fill("input.search", "P001")
    page.locator("#partner-table tbody tr:not([hidden]) a").first.click()
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.getElementById('chart-trajectory')?.data?.length > 0")
    traces = page.evaluate("() => document.getElementById('chart-trajectory').data.map(t => [t.name, t.y.length])")
    assert len(traces) >= 3 and all(n > 0 for _, n in traces)
    assert any(name.startswith("Total over the last 12 months") for name, _ in traces)
    assert page.evaluate("() => document.getElementById('chart-pledge').data.length") >= 2
    sources = page.locator("#claims-table tbody tr")
    assert sources.count() > 0
    assert "ghg_reductions/" in sources.first.inner_text()
    assert "partner_registry/partner_registry.csv" in page.locator("#sources").inner_text()
    _shot(page, "partner-P001-trajectory-en")
    page.watch.assert_clean("partner page")


def test_partner_supplied_text_is_shown_as_text_never_run(publication, page, partner_text):
    pub = publication["dir"]
    _open(page, pub, "partners/P005", "en")
    assert page.locator("#partner-name").inner_text().startswith(partner_text["xss_name"])
    _open(page, pub, "partners/P006", "th")
    assert partner_text["quoted_name"] in page.locator("#partner-name").inner_text()
    _open(page, pub, f"partners/{publication['activity_partner']}", "en")
    page.locator("#sources details summary").click()
    assert partner_text["xss_title"] in page.locator("#activities-table").inner_text()
    for name in ("index", "partners", "practices"):
        _open(page, pub, name, "en")
        page.watch.assert_clean(name)
    _open(page, pub, "partners", "en")
    page.fill("input.search", "alert")
    assert page.locator("#partner-table tbody tr:not([hidden])").count() == 1
    page.watch.assert_clean("hostile text")          # includes: no alert() dialog ever opened


def test_the_site_works_through_phakhi_serve(publication, page):
    from phakhi.publish.serve import make_server

    server = make_server(publication["dir"], port=0, verbose=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        for name in ("index", "partners", "provinces", "partners/P001", "downloads"):
            page.goto(f"{base}/{name}.html")
            page.wait_for_load_state("load")
            page.watch.assert_clean(f"served {name}")
        fonts = page.evaluate("async () => { await document.fonts.ready; "
                              "return [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family) }")
        assert any("Sarabun" in f for f in fonts)
    finally:
        server.shutdown()
        server.server_close()
