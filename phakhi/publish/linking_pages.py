"""Page data for the linking features (issue 15): the network page, peer matches and network ties on each
partner page, the curated practices page, the awareness-beside-ACE page and the province map's "awareness
change" colouring.

Shapes rows of the linking marts (dbt_project/models/marts/linking/) into dicts for the templates; no rule
and no number is made here (the network drawing's node positions are drawing, not data). The marts are read
like every dashboard table: the `dashboard` exposure lists them and pages.read_warehouse reads them by model
name; code labels come from dash_labels (the seeds) through pages' Codebook. Hooked into
phakhi/publish/pages.site_context by `add_linking_pages(...)` and `with_linking_sections(...)`.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Callable

import pandas as pd

from phakhi.publish.lists import list_index
from phakhi.publish.site import Unavailable, partner_slug, plain_records

# dash_labels kinds of the linking codes (rows of dbt_project/seeds/dashboard_labels.csv)
LINK_TYPES = ("joint_activity", "shared_credential", "parent_child")          # kind link_type
# the practice-case criteria columns of mart_practice_cases, in display order (kind practice_criterion)
CRITERIA = ["criterion_on_track", "criterion_measured_result", "criterion_has_lessons", "criterion_counted_once",
            "criterion_reports_regularly"]
CAVEAT = ("ข้อควรระวัง: นี่คือความสัมพันธ์ระดับพื้นที่ (ecological association) ระหว่างภาคหรือจังหวัด ไม่ใช่ผลของกิจกรรม ACE "
          "ต่อความตระหนักรู้ของบุคคล พื้นที่ที่มีกิจกรรมมากอาจต่างจากพื้นที่อื่นในด้านอื่น ๆ อีกมาก (เช่น ความเป็นเมือง การศึกษา สื่อ) "
          "และผู้ตอบแบบสำรวจไม่จำเป็นต้องเป็นผู้เข้าร่วมกิจกรรม ความสัมพันธ์ที่เห็นจึงบอกไม่ได้ว่ากิจกรรมทำให้ความตระหนักรู้เพิ่มขึ้น",
          "Caveat: this is an ecological association between areas (regions or provinces), not an effect of ACE "
          "activities on anyone's awareness. Areas with more activities may differ from others in many other ways "
          "(urbanisation, education, media), and the people surveyed are not necessarily the people who took part. "
          "A correlation here cannot say that the activities raised awareness.")


# ------------------------------------------------------------------ small helpers (no import of pages.py)
def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _bi(th, en) -> dict:
    return {"th": "" if th is None else str(th), "en": "" if en is None else str(en)}


def _chart(chart_id: str, data: list, layout: dict, height: int = 380) -> dict:
    base = {"margin": {"l": 60, "r": 20, "t": 40, "b": 60}, "height": height, "hovermode": "closest",
            "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff"}
    return {"id": chart_id, "spec": {"data": data, "layout": {**base, **layout}}}


def _names(wh) -> dict[str, dict]:
    """partner id -> name, type, province and status (from dash_partners)."""
    pp = wh.opt("dash_partners")
    if pp is None:
        return {}
    return {r["partner_id"]: r for r in plain_records(pp)}


def _partner(pid, names: dict, codes) -> dict:
    r = names.get(pid, {})
    return {"partner_id": pid, "name_th": r.get("name_th") or pid, "name_en": r.get("name_en") or pid,
            "type": codes("partner_type", r.get("partner_type")), "province": codes("province", r.get("province_code")),
            "status": r.get("status") or "no_data"}


# ------------------------------------------------------------------ hook
def add_linking_pages(pages: dict, wh, codes, safe: Callable, page_size: int = 25) -> None:
    """Add the linking pages to site_context's `pages` (the curated practices replace the case catalogue) and
    the province map's awareness-change colouring."""
    pages["network"] = safe(network_page, wh, codes)
    pages["awareness_ace"] = safe(awareness_ace_page, wh, codes)
    pages["practices"] = safe(practices_page, wh, codes, page_size)
    safe(add_province_awareness, pages.get("provinces"), wh)


def practice_file(n: int) -> str:
    """File of the n-th page (1-based) of the curated practices."""
    return "practices.html" if n <= 1 else f"practices-{n}.html"


def case_files(wh, page_size: int) -> dict[str, str]:
    """partner id -> the practices page file that shows its case (cases in display order, page_size a page)."""
    cases = wh.opt("mart_practice_cases")
    if cases is None:
        return {}
    order = cases.sort_values("display_order")["partner_id"].tolist()
    return {pid: practice_file(i // page_size + 1) for i, pid in enumerate(order)}


def with_linking_sections(partner_pages: Iterator[tuple[str, dict]], wh, codes,
                          page_size: int = 25) -> Iterator[tuple[str, dict]]:
    """Partner pages (a stream) with their peer matches and network ties added, one page at a time."""
    sections = add_partner_sections(wh, codes, page_size)
    for slug, page in partner_pages:
        yield slug, sections(page)


# ------------------------------------------------------------------ network
def _layout(members_by_community: list[list[str]], isolated: list[str]) -> dict[str, tuple[float, float]]:
    """Drawing only: communities on a big circle, members on a small circle around each centre; isolated
    partners on a row below."""
    pos = {}
    k = max(len(members_by_community), 1)
    big = 10.0 if k > 1 else 0.0
    for i, members in enumerate(members_by_community):
        cx, cy = big * math.cos(2 * math.pi * i / k), big * math.sin(2 * math.pi * i / k)
        r = 0.6 + 0.35 * len(members)
        for j, m in enumerate(members):
            a = 2 * math.pi * j / max(len(members), 1)
            pos[m] = (cx + r * math.cos(a), cy + r * math.sin(a)) if len(members) > 1 else (cx, cy)
    width = max(len(isolated) - 1, 1)
    for j, m in enumerate(isolated):
        pos[m] = (-big - 2 + (2 * big + 4) * j / width, -big - 4)
    return pos


NETWORK_INDEX_COLS = ["partner_id", "slug", "name_th", "name_en", "partner_type", "degree", "weighted_degree",
                      "betweenness", "clustering", "community_id", "is_isolated", "joint_activity_links",
                      "shared_credential_links", "parent_child_links"]
CLUSTER_NAMES = 12        # partner names listed per cluster on the page
ISOLATED_NAMES = 40       # partners without a link named on the page (all are counted, and in the table)
DRAWN_LABELS = 150        # above this many partners the drawing carries no text labels and no isolated row


def network_page(wh, codes, page_size: int = 100) -> dict:
    net = wh.get("mart_partner_network")
    links = wh.get("mart_partner_links")
    names = _names(wh)
    rows = []
    for r in plain_records(net.sort_values("partner_id")):
        rows.append({**r, **_partner(r["partner_id"], names, codes), "slug": partner_slug(r["partner_id"])})
    by_id = {r["partner_id"]: r for r in rows}
    link_rows = []
    for r in plain_records(links.sort_values(["link_type", "partner_a", "partner_b"])):
        link_rows.append({**r, "type_label": codes("link_type", r["link_type"]),
                          "a": _partner(r["partner_a"], names, codes), "b": _partner(r["partner_b"], names, codes)})
    communities: dict[int, list[str]] = {}
    for r in rows:
        if not r.get("is_isolated"):
            communities.setdefault(int(r["community_id"]), []).append(r["partner_id"])
    clusters = [{"id": cid, "size": len(m), "members": [by_id[p] for p in sorted(m)],
                 "links": sum(1 for lr in link_rows if lr["partner_a"] in m and lr["partner_b"] in m)}
                for cid, m in sorted(communities.items())]
    isolated = [r for r in rows if r.get("is_isolated")]
    chart = network_chart(rows, link_rows, clusters, isolated, codes)
    for c in clusters:                    # names shown per cluster; every member is in the table and its index
        c["more"] = max(0, len(c["members"]) - CLUSTER_NAMES)
        c["members"] = c["members"][:CLUSTER_NAMES]
    counts = {t: sum(1 for lr in link_rows if lr["link_type"] == t) for t in LINK_TYPES}
    mentions = wh.opt("mart_co_organiser_mentions")
    unmatched = []
    if mentions is not None and len(mentions):
        bad = mentions[~mentions["match_status"].isin(["id", "name"])]
        for r in plain_records(bad.groupby(["mention", "match_status", "partner_id"]).size().reset_index(name="times")
                          .sort_values(["mention", "partner_id"])):
            unmatched.append({**r, "status_label": codes("mention_match", r["match_status"]),
                              "by": _partner(r["partner_id"], names, codes)})
    labels = {"partner_type": {str(r.get("partner_type")): r["type"] for r in rows}}
    index = list_index(rows, NETWORK_INDEX_COLS, labels, digits={"degree": 0, "weighted_degree": 0, "betweenness": 3,
                                                                 "clustering": 2, "joint_activity_links": 0,
                                                                 "shared_credential_links": 0, "parent_child_links": 0})
    return {"partners": rows[:page_size], "total": len(rows), "page_size": page_size, "lists": {"network": index},
            "links": link_rows, "clusters": clusters, "isolated": isolated[:ISOLATED_NAMES],
            "isolated_total": len(isolated), "counts": counts,
            "link_types": {t: codes("link_type", t) for t in LINK_TYPES}, "unmatched": unmatched,
            "components": len({r["component_id"] for r in rows}),
            "largest_component": max((r["component_size"] for r in rows), default=0),
            "chart": chart}


def network_chart(rows, link_rows, clusters, isolated, codes) -> dict:
    pos = _layout([[m["partner_id"] for m in c["members"]] for c in clusters], [r["partner_id"] for r in isolated])
    colors = {"joint_activity": "#2563eb", "shared_credential": "#d97706", "parent_child": "#64748b"}
    data = []
    for t, color in colors.items():
        xs, ys = [], []
        for lr in link_rows:
            if lr["link_type"] == t and lr["partner_a"] in pos and lr["partner_b"] in pos:
                (x0, y0), (x1, y1) = pos[lr["partner_a"]], pos[lr["partner_b"]]
                xs += [round(x0, 3), round(x1, 3), None]
                ys += [round(y0, 3), round(y1, 3), None]
        if xs:
            data.append({"type": "scatter", "mode": "lines", "x": xs, "y": ys, "hoverinfo": "skip",
                         "line": {"color": color, "width": 1.5, "dash": "dot" if t == "parent_child" else "solid"},
                         "name": _bi(*codes("link_type", t))})
    status_color = {"on_track": "#15803d", "off_track": "#b91c1c", "no_data": "#9ca3af"}
    big = len(rows) > DRAWN_LABELS        # a national network: linked partners only, ids on hover (page weight)
    nodes = [r for r in rows if r["partner_id"] in pos and not (big and r.get("is_isolated"))]
    data.append({"type": "scatter", "mode": "markers" if big else "markers+text", "name": _bi("ภาคี", "Partners"),
                 "x": [round(pos[r["partner_id"]][0], 3) for r in nodes], "y": [round(pos[r["partner_id"]][1], 3) for r in nodes],
                 **({} if big else {"text": [r["partner_id"] for r in nodes], "textposition": "top center",
                                    "textfont": {"size": 9}}),
                 "hovertext": [_bi(f"{r['partner_id']} {r['name_th']} · เชื่อมโยง {r['degree']} ราย",
                                   f"{r['partner_id']} {r['name_en']} · {r['degree']} link(s)") for r in nodes],
                 "hoverinfo": "text",
                 "marker": {"size": [8 + 3 * (r.get("degree") or 0) for r in nodes],
                            "color": [status_color.get(r["status"], "#9ca3af") for r in nodes],
                            "line": {"color": "#ffffff", "width": 1}}})
    axis = {"visible": False, "zeroline": False, "showgrid": False}
    return _chart("network-chart", data, {"xaxis": axis, "yaxis": {**axis, "scaleanchor": "x"}, "showlegend": True,
                                          "legend": {"orientation": "h", "y": -0.05}}, height=560)


# ------------------------------------------------------------------ partner pages: peers and ties
def add_partner_sections(wh, codes, page_size: int = 25) -> Callable[[dict], dict]:
    """Split the peer matches and links by partner once; returns what adds them to one partner page."""
    names = wh.kept("partner_names", lambda: _names(wh))         # whole tables: a page worker's next range keeps them
    matches = wh.opt("mart_peer_matches")
    net = wh.opt("mart_partner_network")
    links = wh.opt("mart_partner_links")
    case_file = wh.kept(f"case_files/{page_size}", lambda: case_files(wh, page_size))
    by_partner: dict[str, list[dict]] = {}
    if matches is not None:
        for r in plain_records(matches.sort_values(["partner_id", "match_rank"])):
            by_partner.setdefault(r["partner_id"], []).append(
                {**r, "peer": _partner(r["peer_partner_id"], names, codes), "reason": (r["reason_th"], r["reason_en"]),
                 "points": match_points(r),
                 "peer_slug": partner_slug(r["peer_partner_id"]), "has_case": r["peer_partner_id"] in case_file,
                 "case_file": case_file.get(r["peer_partner_id"])})
    metrics = {r["partner_id"]: r for r in plain_records(net)} if net is not None else {}
    ties = wh.kept("partner_ties", lambda: _ties(links, names, codes))

    def add(data: dict) -> dict:
        pid = ((data or {}).get("p") or {}).get("partner_id")
        if pid is not None:
            data["peer_matches"] = by_partner.get(pid, []) if matches is not None else Unavailable.missing("mart_peer_matches")
            data["network"] = ({"metrics": metrics.get(pid), "ties": ties.get(pid, [])} if net is not None
                               else Unavailable.missing("mart_partner_network"))
        return data
    return add


def _ties(links: pd.DataFrame | None, names: dict, codes) -> dict[str, list[dict]]:
    """partner id -> its links to other partners (mart_partner_links, both ends)."""
    ties: dict[str, list[dict]] = {}
    if links is not None:
        for r in plain_records(links.sort_values(["partner_a", "partner_b", "link_type"])):
            for me, other in ((r["partner_a"], r["partner_b"]), (r["partner_b"], r["partner_a"])):
                ties.setdefault(me, []).append({**r, "other": _partner(other, names, codes),
                                                "type_label": codes("link_type", r["link_type"])})
    return ties


def _flag(v) -> bool:
    return v is True or str(v).lower() in ("true", "1", "yes")


def match_points(r: dict) -> list[tuple[str, str]]:
    """The points a peer match scored, as short Thai/English labels from the mart's own columns (the page
    stays small; the full sentences, reason_th/reason_en, are in data/peer_matches.csv)."""
    out = []
    ratio = _num(r.get("size_ratio"))
    if _flag(r.get("similar_size")):
        out.append((f"ขนาดใกล้เคียง (×{ratio:.1f})", f"similar size (×{ratio:.1f})") if ratio else
                   ("ขนาดใกล้เคียง", "similar size"))
    if _flag(r.get("same_province")):
        out.append(("จังหวัดเดียวกัน", "same province"))
    elif _flag(r.get("same_region")):
        out.append(("ภาคเดียวกัน", "same region"))
    elements = [x for x in str(r.get("shared_ace_elements") or "").split(",") if x.strip()]
    if elements:
        out.append((f"องค์ประกอบ ACE เดียวกัน {len(elements)} ด้าน", f"{len(elements)} shared ACE element(s)"))
    methods = str(r.get("shared_methods") or "").strip()
    if methods:
        out.append((f"วิธีลดก๊าซ/ภาคส่วนเดียวกัน: {methods}", f"shared method/sector: {methods}"))
    return out


# ------------------------------------------------------------------ curated practices
PRACTICE_INDEX_COLS = ["slug", "page", "partner_id", "name_th", "name_en", "partner_type", "province_code",
                       "track_status", "sector_codes", "featured", "criteria", "counted_12m_tco2e",
                       "activities_12m"]
SEARCH_CHARS = 400     # a case's searchable text (featured title, lessons) in lists/practices-text.js, which
                       # site.js loads only when someone searches: the compact index stays small


def practices_page(wh, codes, page_size: int = 25) -> dict:
    cases = wh.get("mart_practice_cases")
    lessons = wh.get("mart_practice_lessons")
    by_case: dict[str, list[dict]] = {}
    for r in plain_records(lessons.sort_values(["case_id", "lesson_no"])):
        by_case.setdefault(r["case_id"], []).append(r)
    out = []
    for r in plain_records(cases.sort_values("display_order")):
        ls = by_case.get(r["case_id"], [])
        search = " ".join(str(x) for x in [r.get("featured_activity_title"),
                                           *[l.get("lesson_th") for l in ls], *[l.get("lesson_en") or "" for l in ls]] if x)
        out.append({**r, "slug": partner_slug(r["partner_id"]), "type": codes("partner_type", r.get("partner_type")),
                    "province": codes("province", r.get("province_code")),
                    "sectors": codes.tags("sector", r.get("sector_tags")),
                    "elements": codes.tags("ace_element", r.get("ace_element_tags")),
                    "practices": codes.tags("activity_type", r.get("practice_tags")),
                    "programmes": codes.tags("programme", r.get("programme_tags")),
                    "criteria": [{"key": k, "label": codes("practice_criterion", k), "ok": bool(r.get(k))} for k in CRITERIA],
                    "lessons": ls, "search": search,
                    "status_label": codes("track_status", r.get("track_status") or "no_data")})
    sectors = sorted({(s["code"], (s["th"], s["en"])) for c in out for s in c["sectors"]})
    types = sorted({(c.get("partner_type"), c["type"]) for c in out}, key=lambda x: str(x[0]))
    index = [{**c, "page": i // page_size + 1, "sector_codes": " ".join(s["code"] for s in c["sectors"]),
              "featured": "yes" if c.get("is_featured_by_dcce") else "no",
              "criteria": "yes" if c.get("meets_criteria") else "no"}
             for i, c in enumerate(out)]
    text = {"cols": ["text"], "rows": [[c["search"][:SEARCH_CHARS]] for c in out], "labels": {}}
    labels = {"partner_type": {str(c.get("partner_type")): c["type"] for c in out},
              "province": {str(c.get("province_code")): c["province"] for c in out},
              "status": {str(c.get("track_status") or "no_data"): c["status_label"] for c in out},
              "pages": [practice_file(n) for n in range(1, max(1, -(-len(out) // page_size)) + 1)]}
    return {"cases": out, "total": len(out), "page_size": page_size,
            "lists": {"practices": list_index(index, PRACTICE_INDEX_COLS, labels,
                                              digits={"counted_12m_tco2e": 1, "activities_12m": 0}),
                      "practices-text": text},
            "criteria": [codes("practice_criterion", k) for k in CRITERIA],
            "featured": sum(1 for c in out if c.get("is_featured_by_dcce")),
            "meeting": sum(1 for c in out if c.get("meets_criteria")),
            "sectors": [{"code": c, "label": l} for c, l in sectors],
            "types": [{"code": c, "label": l} for c, l in types]}


# ------------------------------------------------------------------ awareness beside ACE
def _area_label(r: dict, codes) -> tuple[str, str]:
    if r.get("name_th") or r.get("name_en"):
        return (r.get("name_th") or r["area_code"], r.get("name_en") or r["area_code"])
    return codes("region" if r["level"] == "region" else "province", r["area_code"])


def awareness_ace_page(wh, codes) -> dict:
    ov = wh.get("mart_awareness_ace_overlay")
    corr = wh.get("mart_awareness_ace_correlation")
    rows = []
    for r in plain_records(ov.sort_values(["level", "area_code"], ascending=[False, True])):
        rows.append({**r, "label": _area_label(r, codes), "level_label": codes("area_level", r["level"]),
                     "reason": (r.get("exclusion_reason_th") or r.get("exclusion_reason"), r.get("exclusion_reason"))
                     if r.get("exclusion_reason") else None})
    corr_rows = [{**r, "level_label": codes("area_level", r["level"]),
                  "measure_label": codes("intensity_measure", r["intensity_measure"])}
                 for r in plain_records(corr)]
    waves = {(r.get("baseline_wave"), r.get("wave")) for r in rows}
    base, latest = sorted(waves)[-1] if waves else (None, None)
    window = (rows[0].get("ace_from"), rows[0].get("ace_to")) if rows else (None, None)
    return {"rows": rows, "regions": [r for r in rows if r["level"] == "region"],
            "provinces": [r for r in rows if r["level"] == "province"], "correlations": corr_rows,
            "baseline_wave": base, "wave": latest, "ace_window": window, "caveat": CAVEAT,
            "measures": {m: codes("intensity_measure", m) for m in ("participants_per_1000", "activities_per_100k")},
            "included": sum(1 for r in rows if r.get("included_in_correlation")),
            "charts": {"change": change_chart(rows), "scatter": scatter_chart(rows, codes)}}


def change_chart(rows: list[dict]) -> dict | None:
    shown = [r for r in rows if _num(r.get("change")) is not None]
    if not shown:
        return None
    x = [_bi(*r["label"]) for r in shown]
    data = [{"type": "scatter", "mode": "markers", "name": _bi("การเปลี่ยนแปลงของดัชนี (95% CI)", "Change in the index (95% CI)"),
             "x": x, "y": [r["change"] for r in shown],
             "error_y": {"type": "data", "symmetric": False,
                         "array": [r["change_ci_high"] - r["change"] for r in shown],
                         "arrayminus": [r["change"] - r["change_ci_low"] for r in shown], "color": "#1d4ed8"},
             "marker": {"size": 10, "color": ["#1d4ed8" if r["level"] == "region" else "#047857" for r in shown]},
             "hovertext": [_bi(f"ผู้เข้าร่วม ACE {r.get('participants') or 0:,.0f} คน · กิจกรรม {r.get('activities') or 0:,.0f}",
                               f"ACE participants {r.get('participants') or 0:,.0f} · activities {r.get('activities') or 0:,.0f}")
                           for r in shown]}]
    layout = {"yaxis": {"title": {"text": _bi("จุด (0-100)", "points (0-100)")}, "zeroline": True},
              "title": {"text": _bi("การเปลี่ยนแปลงของดัชนีความตระหนักรู้ตั้งแต่รอบฐาน", "Change in the awareness index since the baseline")},
              "showlegend": False, "margin": {"l": 60, "r": 20, "t": 50, "b": 130}}
    return _chart("awareness-ace-change", data, layout, height=440)


def scatter_chart(rows: list[dict], codes) -> dict | None:
    pts = [r for r in rows if r.get("included_in_correlation") and _num(r.get("participants_per_1000")) is not None]
    if not pts:
        return None
    data = []
    for level, color in (("region", "#1d4ed8"), ("province", "#047857")):
        part = [r for r in pts if r["level"] == level]
        if not part:
            continue
        data.append({"type": "scatter", "mode": "markers+text", "name": _bi(*codes("area_level", level)),
                     "x": [r["participants_per_1000"] for r in part], "y": [r["change"] for r in part],
                     "text": [_bi(*r["label"]) for r in part], "textposition": "top center",
                     "error_y": {"type": "data", "symmetric": False, "color": color,
                                 "array": [r["change_ci_high"] - r["change"] for r in part],
                                 "arrayminus": [r["change"] - r["change_ci_low"] for r in part]},
                     "marker": {"size": 10, "color": color}})
    layout = {"xaxis": {"title": {"text": _bi(*codes("intensity_measure", "participants_per_1000"))}},
              "yaxis": {"title": {"text": _bi("การเปลี่ยนแปลงของดัชนี (จุด)", "change in the index (points)")}},
              "title": {"text": _bi("ความเข้มข้นของกิจกรรม ACE กับการเปลี่ยนแปลงของความตระหนักรู้",
                                    "ACE intensity and the change in awareness")}}
    return _chart("awareness-ace-scatter", data, layout)


def add_province_awareness(provinces_page, wh) -> None:
    """The province map's colour-by "awareness change": stable provinces only (others stay blank)."""
    if not isinstance(provinces_page, dict) or "rows" not in provinces_page:
        return
    ov = wh.opt("mart_awareness_ace_overlay")
    if ov is None:
        return
    prov = {r["area_code"]: r for r in plain_records(ov[ov["level"] == "province"])}
    for r in provinces_page["rows"]:
        hit = prov.get(r.get("province_code"))
        r["awareness_change"] = hit.get("change") if hit else None
        r["awareness_change_ci"] = (hit.get("change_ci_low"), hit.get("change_ci_high")) if hit else None
    provinces_page["has_awareness_change"] = any(r.get("awareness_change") is not None for r in provinces_page["rows"])
