"""The pages of a long list (the curated practices) rendered by the partner pages' worker processes are the
files the publishing process renders, byte for byte, with the notes of a page that could not be rendered in
the same place (phakhi.publish.site.render_static_pages, partner_pool.PartnerPool.render_pages)."""
from __future__ import annotations

import pytest

from phakhi.publish import pages as P
from phakhi.publish import site as S


def _cases(n: int) -> list[dict]:
    return [{"partner_id": f"P{i:03d}", "slug": f"P{i:03d}", "name_th": f"ภาคี {i}", "name_en": f"Partner {i}",
             "partner_type": "pao", "type": ("อบจ.", "PAO"), "province": ("กรุงเทพฯ", "Bangkok"),
             "status_label": ("เป็นไปตามเป้า", "On track"), "rank_in_peer_group": i, "sectors": [], "elements": [],
             "practices": [], "programmes": [], "criteria": [], "lessons": [], "search": "",
             "is_featured_by_dcce": i == 0, "meets_criteria": i % 2 == 0, "activities_12m": i, "counted_12m_tco2e": 1.5 * i,
             "featured_activity_title": "กิจกรรม", "featured_by": "DCCE", "featured_reason_en": "why",
             "featured_reason_th": "เหตุผล", "female_share": 0.5, "ghg_projects": 2, "participants_reached": 10 * i,
             "peer_group_cases": 7, "reporting_completeness": 0.9, "verified_12m_tco2e": 1.0 * i}
            for i in range(n)]


def _db(tmp_path):
    from tests.test_dashboard_site import tiny_warehouse

    return tiny_warehouse(tmp_path)


def _publish(db, tables, out, workers, broken: bool = False):
    out.mkdir(parents=True)
    ctx = P.site_context(db, out, period="2025-12", pub_id="2025-12-rstatic", is_sample=True, tables=tables)
    ctx["pages"]["practices"] = {"cases": _cases(7), "total": 7, "page_size": 2, "criteria": [], "featured": 1,
                                 "meeting": 4, "sectors": [], "types": [],
                                 "lists": {"practices": {"cols": ["slug"], "rows": [["P000"]], "labels": {}}}}
    if broken:          # one page's data breaks its template: a note, in the place the sequential path puts it
        ctx["pages"]["practices"]["cases"][4]["lessons"] = 5
    S.render_site(out, ctx, workers=workers)
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    return files, [(n["page"], n.get("section", ""), n["en"]) for n in ctx["notes"]]


@pytest.mark.parametrize("broken", [False, True])
def test_practices_pages_by_workers_equal_those_rendered_here(tmp_path, monkeypatch, broken):
    monkeypatch.setattr(S, "STATIC_PAGES_PER_TASK", 2)          # 4 pages: 2 tasks
    db, tables = _db(tmp_path)
    one, one_notes = _publish(db, tables, tmp_path / "one", 1, broken)
    many, many_notes = _publish(db, tables, tmp_path / "many", 2, broken)
    assert {"practices.html", "practices-2.html", "practices-4.html", "lists/practices.js"} <= set(one)
    assert sorted(one) == sorted(many)
    assert [f for f in one if one[f] != many[f]] == []
    assert one_notes == many_notes
    failed = [n for n in one_notes if n[0] == "practices" and n[2] == "this page could not be rendered"]
    assert len(failed) == (1 if broken else 0)
