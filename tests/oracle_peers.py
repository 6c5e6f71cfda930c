"""TEST ORACLE: the implementation before issue 17 (kept verbatim; tests compare the package with it).

Peer matches: for each partner, up to five ON-TRACK partners it can learn from.

THE RULE (docs/monitor.md, dbt_project/models/marts/linking/_linking.yml):
1. A candidate is another current partner of the SAME partner type whose status is on_track.
2. It scores one point for each of:
   - similar size: baseline emissions within a factor of SIZE_FACTOR (3) of the partner's;
   - nearby: same region (a second point when it is in the same province);
   - shared ACE elements: at least one ACE element both ran in the 12-month window;
   - shared reduction method: at least one GHG programme/method or sector both claimed in the window.
3. Candidates with at least one point are ranked by score (high first), then by how close their size is
   (|log baseline ratio|), then by partner id; the first MAX_MATCHES (5) are kept.
Each match carries the reasons in Thai and English, built from the points it scored.
"""
from __future__ import annotations

import math

import pandas as pd

SIZE_FACTOR = 3.0
MAX_MATCHES = 5
COLUMNS = ["partner_id", "match_rank", "peer_partner_id", "peer_name_th", "peer_name_en", "partner_type", "score",
           "similar_size", "size_ratio", "same_region", "same_province", "shared_ace_elements", "shared_methods",
           "reason_th", "reason_en", "peer_has_case"]

ELEMENT_LABELS = {"education": ("การศึกษา", "education"), "training": ("การฝึกอบรม", "training"),
                  "public_awareness": ("การสร้างความตระหนักรู้", "public awareness"),
                  "public_participation": ("การมีส่วนร่วมของประชาชน", "public participation"),
                  "public_access_to_information": ("การเข้าถึงข้อมูลข่าวสาร", "access to information"),
                  "international_cooperation": ("ความร่วมมือระหว่างประเทศ", "international cooperation")}


def _tags(value) -> set[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return set()
    return {t.strip() for t in str(value).split(",") if t.strip()}


def _num(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _reasons(p: dict, q: dict, ratio: float | None, shared_el: list[str], shared_m: list[str]) -> tuple[str, str]:
    th = [f"ประเภทเดียวกัน ({q.get('partner_type_th') or q['partner_type']})"]
    en = [f"same type ({q.get('partner_type_en') or q['partner_type']})"]
    if ratio is not None and ratio <= SIZE_FACTOR:
        a, b = _num(p.get("baseline_tco2e")), _num(q.get("baseline_tco2e"))
        th.append(f"ขนาดใกล้เคียงกัน (ฐานการปล่อย {b:,.0f} เทียบกับ {a:,.0f} tCO2e/ปี)")
        en.append(f"similar size (baseline {b:,.0f} vs {a:,.0f} tCO2e/yr)")
    if p.get("province_code") and p.get("province_code") == q.get("province_code"):
        th.append(f"จังหวัดเดียวกัน ({q.get('province_th') or q['province_code']})")
        en.append(f"same province ({q.get('province_en') or q['province_code']})")
    elif p.get("region") and p.get("region") == q.get("region"):
        th.append(f"ภาคเดียวกัน ({q.get('region_th') or q['region']})")
        en.append(f"same region ({q.get('region_en') or q['region']})")
    if shared_el:
        th.append("องค์ประกอบ ACE ที่ทำเหมือนกัน: " + ", ".join(ELEMENT_LABELS.get(e, (e, e))[0] for e in shared_el))
        en.append("shared ACE elements: " + ", ".join(ELEMENT_LABELS.get(e, (e, e))[1] for e in shared_el))
    if shared_m:
        th.append("วิธีลดก๊าซ/ภาคส่วนเดียวกัน: " + ", ".join(shared_m))
        en.append("shared reduction method/sector: " + ", ".join(shared_m))
    return "; ".join(th), "; ".join(en)


def match_peers(partners: pd.DataFrame) -> pd.DataFrame:
    """partners: one row per current partner with partner_id, name_th, name_en, partner_type, province_code,
    region, baseline_tco2e, track_status, ace_elements ('a, b'), methods ('T-VER, energy'), has_case; optional
    label columns partner_type_th/_en, province_th/_en, region_th/_en. Returns COLUMNS, one row per match."""
    rows = partners.to_dict("records")
    for r in rows:
        r["_el"], r["_m"] = _tags(r.get("ace_elements")), _tags(r.get("methods"))
    on_track: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("track_status") == "on_track":
            on_track.setdefault(r["partner_type"], []).append(r)
    out = []
    for p in sorted(rows, key=lambda r: r["partner_id"]):
        scored = []
        for q in on_track.get(p["partner_type"], []):
            if q["partner_id"] == p["partner_id"]:
                continue
            a, b = _num(p.get("baseline_tco2e")), _num(q.get("baseline_tco2e"))
            ratio = max(a, b) / min(a, b) if a and b and a > 0 and b > 0 else None
            similar = ratio is not None and ratio <= SIZE_FACTOR
            same_region = bool(p.get("region")) and p.get("region") == q.get("region")
            same_province = same_region and bool(p.get("province_code")) and p.get("province_code") == q.get("province_code")
            shared_el = sorted(p["_el"] & q["_el"])
            shared_m = sorted(p["_m"] & q["_m"])
            score = int(similar) + int(same_region) + int(same_province) + int(bool(shared_el)) + int(bool(shared_m))
            if score < 1:
                continue
            closeness = abs(math.log(ratio)) if ratio else math.inf
            scored.append((-score, closeness, q["partner_id"], q, ratio, similar, same_region, same_province,
                           shared_el, shared_m, score))
        scored.sort(key=lambda s: s[:3])
        for rank, (_, _, qid, q, ratio, similar, same_region, same_province, shared_el, shared_m, score) in \
                enumerate(scored[:MAX_MATCHES], start=1):
            th, en = _reasons(p, q, ratio, shared_el, shared_m)
            out.append({"partner_id": p["partner_id"], "match_rank": rank, "peer_partner_id": qid,
                        "peer_name_th": q.get("name_th"), "peer_name_en": q.get("name_en"),
                        "partner_type": p["partner_type"], "score": score, "similar_size": similar,
                        "size_ratio": ratio, "same_region": same_region, "same_province": same_province,
                        "shared_ace_elements": ", ".join(shared_el) or None, "shared_methods": ", ".join(shared_m) or None,
                        "reason_th": th, "reason_en": en, "peer_has_case": bool(q.get("has_case"))})
    frame = pd.DataFrame(out, columns=COLUMNS)
    return frame.astype({"match_rank": "int64", "score": "int64", "similar_size": "bool", "same_region": "bool",
                         "same_province": "bool", "peer_has_case": "bool", "size_ratio": "float64"})
