"""Peer matches: for each partner, up to five ON-TRACK partners it can learn from.

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

import numpy as np
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


def _codes(values: list) -> "np.ndarray":
    """Integer code per value for equality tests; -1 where the old rule's `bool(v) and v == w` can never hold
    (None, "", NaN: NaN is truthy but equal to nothing)."""
    index: dict = {}
    out = np.full(len(values), -1, dtype=np.int64)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or not v:
            continue
        out[i] = index.setdefault(v, len(index))
    return out


def _closeness(ratio: float | None) -> float:
    return abs(math.log(ratio)) if ratio else math.inf


# Rows of the partner x candidate matrix scored at once (memory: a few bytes x rows x candidates per array).
_CELLS_PER_BLOCK = 2_000_000
# Candidates whose size ratio is within this relative distance of the last one kept are re-ranked with the exact
# key (math.log): |log| may round two different ratios to the same value, and then the partner id decides.
_RATIO_MARGIN = 1e-9
_TOP_SCORE = 5            # a pair's score: five rules of one point each (match_peers)


def match_peers(partners: pd.DataFrame) -> pd.DataFrame:
    """partners: one row per current partner with partner_id, name_th, name_en, partner_type, province_code,
    region, baseline_tco2e, track_status, ace_elements ('a, b'), methods ('T-VER, energy'), has_case; optional
    label columns partner_type_th/_en, province_th/_en, region_th/_en. Returns COLUMNS, one row per match.

    Scored one partner type at a time as a partners x on-track-candidates matrix (numpy); only the few candidates
    that can make a partner's top five are then ranked with the rule's exact key in Python. Equal, row for row,
    to scoring every pair in Python (tests/test_linking_equivalence.py keeps that implementation as the oracle).
    """
    rows = partners.to_dict("records")
    for r in rows:
        r["_el"], r["_m"] = _tags(r.get("ace_elements")), _tags(r.get("methods"))
        r["_base"] = _num(r.get("baseline_tco2e"))
    n = len(rows)
    base = np.array([r["_base"] if r["_base"] is not None and r["_base"] > 0 else np.nan for r in rows], float)
    region = _codes([r.get("region") for r in rows])
    province = _codes([r.get("province_code") for r in rows])
    ids_index: dict = {}
    ids = np.array([ids_index.setdefault(r["partner_id"], len(ids_index)) for r in rows], dtype=np.int64)
    vocab_el = {t: i for i, t in enumerate(sorted({t for r in rows for t in r["_el"]}))}
    vocab_m = {t: i for i, t in enumerate(sorted({t for r in rows for t in r["_m"]}))}
    el = np.zeros((n, max(len(vocab_el), 1)), np.float32)
    me = np.zeros((n, max(len(vocab_m), 1)), np.float32)
    for i, r in enumerate(rows):
        el[i, [vocab_el[t] for t in r["_el"]]] = 1
        me[i, [vocab_m[t] for t in r["_m"]]] = 1
    on_track: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if r.get("track_status") == "on_track":
            on_track.setdefault(r["partner_type"], []).append(i)

    kept: dict[int, list[tuple]] = {}
    by_type: dict = {}
    for i, r in enumerate(rows):
        by_type.setdefault(r["partner_type"], []).append(i)
    for ptype, members in by_type.items():
        cand = on_track.get(ptype, [])
        if not cand:
            continue
        q = np.array(sorted(cand, key=lambda j: rows[j]["partner_id"]), dtype=np.int64)   # id order: tie-break
        qb, qr, qp, qid = base[q], region[q], province[q], ids[q]
        qel, qme = el[q].T, me[q].T
        step = max(1, _CELLS_PER_BLOCK // len(q))
        for lo in range(0, len(members), step):
            p = np.array(members[lo:lo + step], dtype=np.int64)
            pb = base[p][:, None]
            with np.errstate(invalid="ignore"):
                ratio = np.maximum(pb, qb) / np.minimum(pb, qb)          # NaN where either size is unknown
                similar = ratio <= SIZE_FACTOR
            same_region = (region[p][:, None] == qr) & (qr >= 0)
            same_province = same_region & (province[p][:, None] == qp) & (qp >= 0)
            score = (similar.astype(np.int8) + same_region + same_province
                     + ((el[p] @ qel) > 0) + ((me[p] @ qme) > 0)).astype(np.int8)
            score[ids[p][:, None] == qid] = 0                             # never oneself
            rk, ck = np.nonzero(_candidates(score, ratio))                 # row-major: each row's in id order
            starts = np.searchsorted(rk, np.arange(len(p) + 1))
            for k, i in enumerate(p):
                kept[int(i)] = _top(q[ck[starts[k]:starts[k + 1]]], score[k, ck[starts[k]:starts[k + 1]]],
                                    rows, int(i))
    out = []
    for i in sorted(kept, key=lambda i: rows[i]["partner_id"]):
        p = rows[i]
        for rank, (_, _, qid, j, ratio, score) in enumerate(kept[i], start=1):
            q = rows[j]
            similar = ratio is not None and ratio <= SIZE_FACTOR
            same_region = bool(p.get("region")) and p.get("region") == q.get("region")
            same_province = same_region and bool(p.get("province_code")) and \
                p.get("province_code") == q.get("province_code")
            shared_el, shared_m = sorted(p["_el"] & q["_el"]), sorted(p["_m"] & q["_m"])
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


def _candidates(score: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Mask of the candidates (columns) that can be among each partner's (row's) first MAX_MATCHES by (score high
    first, |log size ratio|, partner id; columns are in id order), for a block of partners at once (one partner
    at a time, ~10 small numpy calls each, was ~30 % of match_peers' samples at national size; ~12 % now).

    Candidates with a higher score than the last kept one are all in; among those on the boundary score, the
    ones whose ratio is up to the k-th smallest (plus a relative margin) - or, when the ratio is unknown for too
    many, the first by id - are ranked in Python with the rule's exact key (_top)."""
    levels = np.stack([(score == level).sum(axis=1) for level in range(_TOP_SCORE, 0, -1)], axis=1)
    reach = np.cumsum(levels, axis=1)                     # candidates scoring >= 5, >= 4, ... >= 1
    full = reach >= MAX_MATCHES
    boundary = np.where(full.any(axis=1), _TOP_SCORE - np.argmax(full, axis=1), 0)
    row, col = np.arange(len(score)), np.minimum(_TOP_SCORE - boundary, _TOP_SCORE - 1)   # the boundary's column
    above = np.where(boundary > 0, reach[row, col] - levels[row, col], 0)                 # scoring above it
    need = (MAX_MATCHES - above)[:, None]
    on = (score == boundary[:, None]) & (boundary[:, None] > 0)
    known = on & ~np.isnan(ratio)
    finite = known.sum(axis=1)[:, None]
    # the need-th smallest known ratio on the boundary (need <= MAX_MATCHES): the row's MAX_MATCHES smallest, sorted
    masked = np.where(known, ratio, np.inf)
    k = min(MAX_MATCHES, masked.shape[1])
    smallest = np.sort(np.partition(masked, k - 1, axis=1)[:, :k], axis=1)
    kth = np.take_along_axis(smallest, np.minimum(need, k) - 1, axis=1)
    enough = finite >= need
    unknown = on & ~known
    pick = score > boundary[:, None]
    pick |= enough & known & (ratio <= kth * (1 + _RATIO_MARGIN))
    pick |= ~enough & (known | (unknown & (np.cumsum(unknown, axis=1) <= need - finite)))
    return pick


def _top(cand: np.ndarray, score: np.ndarray, rows: list[dict], i: int) -> list[tuple]:
    """The partner's first MAX_MATCHES of the candidates `cand` (row numbers; `score`: theirs) by the rule's exact
    key (score high first, |log size ratio| by math.log, partner id)."""
    a = rows[i]["_base"]
    scored = []
    for j, sc in zip(cand.tolist(), score.tolist()):
        b = rows[j]["_base"]
        r = max(a, b) / min(a, b) if a and b and a > 0 and b > 0 else None
        scored.append((-sc, _closeness(r), rows[j]["partner_id"], j, r, sc))
    scored.sort(key=lambda s: s[:3])
    return scored[:MAX_MATCHES]
