"""The linking pages in a real browser (Debian's Chromium, Playwright): network, awareness beside ACE, curated
practices, peer matches on a partner page and the province map's awareness colouring - in Thai and English,
from disk, with no console error. The publication is built by the real monthly flow on SAMPLE data."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.integration

SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def pub(refreshed_sample):
    """The session's refreshed SAMPLE publication (tests/conftest.py), read only."""
    return refreshed_sample.publication


def _open(page, pub: Path, name: str, lang: str):
    page.goto((pub / f"{name}.html").as_uri() + f"?lang={lang}")
    page.wait_for_load_state("load")
    page.wait_for_function("() => [...document.querySelectorAll('[data-chart]')].every(d => d.classList.contains('js-plotly-plot'))",
                           timeout=15000)


def test_linking_pages_render_in_both_languages(pub, page):
    matches = pd.read_csv(pub / "data" / "peer_matches.csv")
    with_peers = sorted(matches["partner_id"])[0]
    for lang in ("th", "en"):
        for name in ("network", "awareness-ace", "practices", "provinces", f"partners/{with_peers}"):
            _open(page, pub, name, lang)
            assert page.errors == [], (name, lang, page.errors)
            assert page.locator("main h1").first.is_visible(), name
            assert page.locator(".unavailable").count() == 0, name
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"linking-{name.replace('/', '_')}-{lang}.png"), full_page=True)
    # the partner page lists its matches, each with the reason in the reader's language
    _open(page, pub, f"partners/{with_peers}", "en")
    peers = page.locator("#peer-matches li[data-peer]")
    assert peers.count() == int((matches["partner_id"] == with_peers).sum()) >= 1
    first = matches[matches["partner_id"] == with_peers].sort_values("match_rank").iloc[0]
    assert f"score {first['score']}" in peers.first.inner_text()
    if str(first["same_province"]) == "True":
        assert "same province" in peers.first.inner_text()
    page.click("#lang-toggle")
    assert f"คะแนน {first['score']}" in peers.first.inner_text()


def test_network_page_shows_clusters_links_and_partners_without_links(pub, page):
    net = pd.read_csv(pub / "data" / "partner_network.csv")
    links = pd.read_csv(pub / "data" / "partner_links.csv")
    _open(page, pub, "network", "en")
    assert page.locator("#isolated-count").inner_text().strip() == str(int(net["is_isolated"].sum())) != "0"
    assert page.locator("#network-table tbody tr").count() == len(net)
    assert page.locator("#links-table tbody tr").count() == len(links)
    assert page.locator("#network-chart .main-svg").count() > 0
    assert page.locator("#unmatched-table tbody tr").count() >= 1      # the sample's unregistered co-organiser


def test_practices_featured_first_search_both_languages_and_thai_only_label(pub, page):
    cases = pd.read_csv(pub / "data" / "practice_cases.csv").sort_values("display_order")
    lessons = pd.read_csv(pub / "data" / "practice_lessons.csv")
    n_featured = int(cases["is_featured_by_dcce"].sum())
    assert n_featured >= 1
    _open(page, pub, "practices", "en")
    flags = page.locator("#cases article").evaluate_all("els => els.map(e => e.dataset.featured)")
    assert flags[:n_featured] == ["yes"] * n_featured and "yes" not in flags[n_featured:]
    assert page.locator("#criteria li").count() == 5
    # English search finds a case through its English lesson only
    english = lessons[lessons["has_english"]].iloc[0]
    # (a search runs over every case of every page, from the list's index: results in #case-results)
    page.fill("input[data-filter='cases'][data-key='search']", english["lesson_en"])
    shown = page.locator("#case-results article")
    shown.first.wait_for()                  # lesson text comes from lists/practices-text.js, loaded on first search
    assert shown.count() >= 1
    case_ids = set(lessons[lessons["lesson_en"] == english["lesson_en"]]["case_id"].str.split("|").str[0])
    assert set(shown.evaluate_all("els => els.map(e => e.dataset.case)")) <= case_ids
    # Thai search still works
    page.fill("input[data-filter='cases'][data-key='search']", english["lesson_th"])
    assert page.locator("#case-results article").count() >= 1
    page.fill("input[data-filter='cases'][data-key='search']", "")
    # a Thai-only lesson reads in Thai with a visible "Thai only" label in English mode, without it in Thai
    thai_only = page.locator("li.lesson[data-has-english='no'] .label-thai-only").first
    assert thai_only.is_visible() and thai_only.inner_text() == "Thai only"
    page.click("#lang-toggle")
    assert not thai_only.is_visible()
    assert page.errors == []


def test_awareness_beside_ace_and_province_map_colouring(pub, page):
    ov = pd.read_csv(pub / "data" / "awareness_ace_overlay.csv")
    _open(page, pub, "awareness-ace", "en")
    assert page.locator("#ecological-caveat").inner_text().startswith("Caveat: this is an ecological association")
    assert page.locator("#overlay-table tbody tr").count() == len(ov)
    assert page.locator("#correlation-table tbody tr").count() == 4
    assert page.locator("#awareness-ace-change .main-svg").count() > 0
    page.click("#lang-toggle")
    assert "ecological association" in page.locator("#ecological-caveat").inner_text()
    assert page.locator("#ecological-caveat").inner_text().startswith("ข้อควรระวัง")
    # the province map: colour by awareness change; provinces without a stable cell stay grey
    _open(page, pub, "provinces", "en")
    page.select_option("#tile-metric", "awareness_change")
    coloured = ov[ov["level"] == "province"]["area_code"].tolist()
    assert coloured
    bg = page.locator(f".tile[data-province='{coloured[0]}']").evaluate("e => e.style.background")
    assert bg and bg != "rgb(243, 244, 246)"
    blank = next(c for c in ("TH-96", "TH-95", "TH-94") if c not in coloured)
    assert page.locator(f".tile[data-province='{blank}']").evaluate("e => e.style.background") == "rgb(243, 244, 246)"
    assert page.errors == []
