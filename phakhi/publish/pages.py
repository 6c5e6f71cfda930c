"""Per-page data for the dashboard site, prepared from whatever marts the warehouse holds.

`read_warehouse(db)` reads the marts, facts and reference tables that exist (new marts are added while
the platform grows; a missing one is simply absent). `site_context(...)` turns them into one dict per page.
Each page - and each section of the overview - is prepared on its own: when its mart is missing, or its
columns are not what this code expects, it becomes an `Unavailable` note ("not available yet") and the
rest of the site is still published.

Charts are plain plotly figure dicts whose text leaves may be bilingual {"th": …, "en": …}; assets/site.js
picks the reader's language before plotting (`bi()` below makes such a pair).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from phakhi.publish.files import stable_frame

from phakhi.publish.site import LABELS, STATUS, MissingData, Unavailable, partner_slug, period_label, plain

log = logging.getLogger("phakhi.publish.pages")

# name -> warehouse tables to try, first found wins (the awareness marts were renamed; both are read)
TABLES = {
    "partner_progress": ["marts.mart_partner_progress"],
    "national_progress": ["marts.mart_national_progress"],
    "targets": ["marts.dim_targets"],
    "province_summary": ["marts.mart_province_summary"],
    "sector_progress": ["marts.mart_sector_progress"],
    "ace_indicators": ["marts.mart_ace_indicators"],
    "best_practices": ["marts.mart_best_practices"],
    "awareness": ["marts.mart_awareness_baseline", "marts.mart_awareness_by_wave"],
    "awareness_change": ["marts.mart_awareness_change"],
    "awareness_waves": ["marts.mart_awareness_waves"],
    "ghg_claims": ["marts.fct_ghg_reductions"],
    "activities": ["marts.fct_activities"],
    "provinces": ["marts.dim_provinces", "reference.provinces"],
    "partner_types": ["reference.partner_types"],
    "sectors": ["reference.ipcc_sectors"],
    "ace_elements": ["reference.ace_elements"],
    "programmes": ["reference.ghg_programmes"],
    "registry_rows": ["raw.partner_registry"],
    "ingest_manifest": ["raw.ingest_manifest"],
    "survey_items": ["raw.survey_instrument_items"],
    "disputes": ["marts.mart_partner_disputes"],
}
# only these columns of the (possibly large) raw registry: never contact e-mails
COLUMNS = {"registry_rows": ["partner_id", "_file", "_row", "_sheet"],
           "ingest_manifest": ["file", "file_hash"]}

AMBER_FROM = 0.75          # off track but at least 75% of the required path: amber, below: red
ACE_FALL = 0.9             # ACE element amber when the last 3 months fall below 90% of the 3 months before
COLORS = {"green": "#15803d", "amber": "#d97706", "red": "#b91c1c", "grey": "#9ca3af", "blue": "#1d4ed8",
          "baseline": "#64748b", "latest": "#047857"}

# Code meanings not held in a reference table: (Thai, English)
CODES = {
    "peer_group": {"local_government": ("องค์กรปกครองส่วนท้องถิ่น", "Local government"),
                   "private_sector": ("ภาคเอกชน", "Private sector"), "agriculture": ("ภาคเกษตร", "Agriculture"),
                   "education": ("สถานศึกษา", "Education"), "civil_society": ("ภาคประชาสังคม", "Civil society"),
                   "public_sector": ("ภาครัฐ", "Public sector")},
    "activity_type": {"workshop": ("ประชุมเชิงปฏิบัติการ", "Workshop"), "training_course": ("หลักสูตรอบรม", "Training course"),
                      "campaign": ("รณรงค์", "Campaign"), "site_visit": ("ศึกษาดูงาน", "Site visit"),
                      "school_program": ("กิจกรรมโรงเรียน", "School programme"),
                      "community_project": ("โครงการชุมชน", "Community project"),
                      "media": ("สื่อ/ประชาสัมพันธ์", "Media"), "conference": ("ประชุมวิชาการ", "Conference")},
    "climate_tag": {"mitigation": ("ลดก๊าซเรือนกระจก", "Mitigation"), "adaptation": ("ปรับตัว", "Adaptation"),
                    "both": ("ทั้งสองด้าน", "Both")},
    "verification": {"verified": ("ทวนสอบแล้ว", "Verified"), "pending": ("รอทวนสอบ", "Pending verification"),
                     "self_reported": ("รายงานเอง", "Self-reported")},
    "figure_kind": {"reported": ("รายงานเป็น tCO2e", "Reported in tCO2e"),
                    "converted": ("คำนวณจากข้อมูลกิจกรรม", "Converted from activity data")},
    "region": {"north": ("ภาคเหนือ", "North"), "northeast": ("ภาคตะวันออกเฉียงเหนือ", "Northeast"),
               "central": ("ภาคกลาง", "Central"), "east": ("ภาคตะวันออก", "East"), "west": ("ภาคตะวันตก", "West"),
               "south": ("ภาคใต้", "South")},
    "measure": {"awareness_index": ("ดัชนีความตระหนักรู้", "Awareness index"), "knowledge": ("ความรู้", "Knowledge"),
                "concern": ("ความกังวลต่อผลกระทบ", "Concern about impacts"), "behaviour": ("พฤติกรรม", "Behaviour"),
                "share_low": ("ร้อยละผู้มีความตระหนักรู้ระดับต่ำ", "% with low awareness"),
                "share_medium": ("ร้อยละผู้มีความตระหนักรู้ระดับกลาง", "% with medium awareness"),
                "share_high": ("ร้อยละผู้มีความตระหนักรู้ระดับสูง", "% with high awareness")},
    "domain": {"overall": ("ทั้งประเทศ", "National"), "region": ("ภาค", "Region"), "province": ("จังหวัด", "Province"),
               "sex": ("เพศ", "Sex"), "age_group": ("กลุ่มอายุ", "Age group"),
               "urban_rural": ("เขตการปกครอง", "Urban/rural"), "education": ("การศึกษา", "Education")},
    "domain_value": {"all": ("ทั้งหมด", "All"), "male": ("ชาย", "Male"), "female": ("หญิง", "Female"),
                     "other": ("อื่น ๆ", "Other"), "urban": ("ในเขตเทศบาล", "Urban"), "rural": ("นอกเขตเทศบาล", "Rural"),
                     "primary_or_less": ("ประถมศึกษาหรือต่ำกว่า", "Primary or less"),
                     "lower_secondary": ("มัธยมศึกษาตอนต้น", "Lower secondary"),
                     "upper_secondary": ("มัธยมศึกษาตอนปลาย", "Upper secondary"),
                     "vocational": ("อาชีวศึกษา", "Vocational"), "bachelor_plus": ("ปริญญาตรีขึ้นไป", "Bachelor or higher")},
    "basis": {"gross_excl_lulucf": ("การปล่อยรวม ไม่รวมภาคป่าไม้และการใช้ที่ดิน (LULUCF)", "Gross emissions, excluding LULUCF"),
              "net_incl_lulucf": ("การปล่อยสุทธิ รวมภาคป่าไม้และการใช้ที่ดิน (LULUCF)", "Net emissions, including LULUCF"),
              "energy_co2": ("CO2 จากภาคพลังงาน", "Energy-related CO2"),
              "reductions_vs_bau": ("ปริมาณที่ลดได้เทียบกับกรณีปกติ (BAU)", "Reductions versus business-as-usual"),
              "partner_claims": ("รายงานของภาคี", "Partner reports")},
    "series_kind": {"observed": ("ค่าที่สังเกตได้", "observed"), "projected": ("ค่าประมาณการ", "projected"),
                    "target": ("เป้าหมาย", "target")},
    "target_status": {"in_force": ("มีผลบังคับใช้", "in force"), "superseded": ("ถูกแทนที่แล้ว", "superseded"),
                      "not_yet_in_force": ("ยังไม่มีผล", "not yet in force")},
    "severity": {"critical": ("ร้ายแรง (หยุดการเผยแพร่)", "critical (blocks publication)"),
                 "warning": ("คำเตือน", "warning")},
    "family": {"partner_registry": ("ทะเบียนภาคี", "Partner registry"),
               "activity_reports": ("รายงานกิจกรรม", "Activity reports"),
               "ghg_reductions": ("รายงานการลดก๊าซเรือนกระจก", "GHG reduction reports"),
               "survey_waves": ("ข้อมูลการสำรวจ", "Survey waves")},
}
DOMAIN_ORDER = ["overall", "region", "sex", "age_group", "urban_rural", "education", "province"]
MEASURE_ORDER = ["awareness_index", "knowledge", "concern", "behaviour", "share_low", "share_medium", "share_high"]


def short_label(pair: tuple[str, str]) -> tuple[str, str]:
    """'โครงการ… (T-VER)' -> ('T-VER', 'T-VER'): a programme's abbreviation when its name ends with one."""
    import re

    hit = re.search(r"\(([A-Za-z][A-Za-z0-9 .\-]{1,20})\)\s*$", str(pair[0]))
    if hit:
        return (hit.group(1), hit.group(1))
    en_head = re.match(r"^([A-Za-z][A-Za-z0-9 .\-]{1,20}?)\s*\(", str(pair[1]))
    return (pair[0], en_head.group(1)) if en_head else pair


def bi(th, en) -> dict:
    """A bilingual text for a chart (site.js shows the reader's language)."""
    return {"th": "" if th is None else str(th), "en": "" if en is None else str(en)}


# ------------------------------------------------------------------ reading the warehouse
@dataclass
class Warehouse:
    frames: dict[str, pd.DataFrame]
    sources: dict[str, str]          # name -> warehouse table it was read from

    def has(self, name: str) -> bool:
        return name in self.frames

    def get(self, name: str) -> pd.DataFrame:
        if name not in self.frames:
            raise MissingData(TABLES.get(name, [name])[0].split(".")[-1])
        return self.frames[name]

    def opt(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)


def read_warehouse(db: Path) -> Warehouse:
    frames, sources = {}, {}
    with duckdb.connect(str(db), read_only=True) as con:
        present = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for name, candidates in TABLES.items():
            for table in candidates:
                if table not in present:
                    continue
                try:
                    cols = COLUMNS.get(name)
                    if cols:
                        have = {c for (c,) in con.execute(
                            "select column_name from information_schema.columns where table_schema = ? and "
                            "table_name = ?", table.split(".")).fetchall()}
                        cols = [c for c in cols if c in have]
                    select = ", ".join(f'"{c}"' for c in cols) if cols else "*"
                    frames[name] = stable_frame(con.execute(f"select {select} from {table} order by all").df())
                    sources[name] = table
                except duckdb.Error as exc:        # e.g. a view over a table another model is rebuilding
                    log.warning("could not read %s: %s", table, exc)
                    continue
                break
    return Warehouse(frames, sources)


# ------------------------------------------------------------------ code meanings
class Codebook:
    """(Thai, English) meaning of every code shown: reference tables first, then CODES above."""

    def __init__(self, wh: Warehouse):
        self.maps: dict[str, dict] = {k: dict(v) for k, v in CODES.items()}

        def load(kind, name, code_col, th="name_th", en="name_en"):
            df = wh.opt(name)
            if df is not None and {code_col, th, en} <= set(df.columns):
                self.maps.setdefault(kind, {}).update(
                    {str(r[code_col]): (r[th], r[en]) for r in df[[code_col, th, en]].to_dict("records")})

        load("partner_type", "partner_types", "code")
        load("sector", "sectors", "sector_code")
        load("ace_element", "ace_elements", "element_code")
        load("programme", "programmes", "programme_code")
        load("province", "provinces", "province_code")
        load("region", "provinces", "region", "region_th", "region_en")
        self.maps["status"] = dict(STATUS)

    def __call__(self, kind: str, code) -> tuple[str, str]:
        if code is None or (isinstance(code, float) and math.isnan(code)):
            return ("ไม่ระบุ", "not stated")
        th_en = self.maps.get(kind, {}).get(str(code))
        return tuple(th_en) if th_en else (str(code), str(code))

    def tags(self, kind: str, text) -> list[dict]:
        """'energy, waste' -> [{code, th, en}, …]"""
        if not isinstance(text, str) or not text.strip():
            return []
        return [{"code": c, "th": self(kind, c)[0], "en": self(kind, c)[1]}
                for c in (t.strip() for t in text.split(",")) if c]


# ------------------------------------------------------------------ small helpers
def records(df: pd.DataFrame) -> list[dict]:
    return [plain(r) for r in df.to_dict("records")]


def num(v) -> float | None:
    v = plain(v)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def progress_light(status, pct_of_path) -> str:
    """Traffic light of a partner, province or sector: green on track; amber off track but at least
    AMBER_FROM of the required path; red below; grey without data."""
    if status == "on_track":
        return "green"
    if status == "off_track":
        p = num(pct_of_path)
        return "amber" if p is not None and p >= AMBER_FROM else "red"
    return "grey"


def ace_light(monthly: list[float]) -> str:
    """Traffic light of an ACE element from its monthly activity counts (oldest first, refreshed month last):
    red without activity in the last 3 months; amber when the last 3 months fell below ACE_FALL of the
    3 months before; green otherwise (steady or rising)."""
    if not monthly:
        return "grey"
    last3, prev3 = sum(monthly[-3:]), sum(monthly[-6:-3])
    if last3 == 0:
        return "red"
    if len(monthly) >= 6 and prev3 > 0 and last3 < ACE_FALL * prev3:
        return "amber"
    return "green"


def required_path(pledged, base_year, target_year, year) -> float | None:
    """The mart's straight-line rule: pledged x clamp((year - base)/(target - base), 0, 1)."""
    pledged, base_year, target_year = num(pledged), num(base_year), num(target_year)
    if pledged is None or base_year is None or target_year is None or target_year == base_year:
        return None
    return pledged * min(1.0, max(0.0, (year - base_year) / (target_year - base_year)))


def months_back(period: str, n: int) -> list[str]:
    """The n months ending with `period`, oldest first."""
    y, m = map(int, period.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


def month_range(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last and len(out) < 600:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def axis_months(months: list[str]) -> list[dict]:
    return [bi(*period_label(p)) for p in months]


def base_layout(title: tuple[str, str] | None = None, y_title: tuple[str, str] | None = None, **extra) -> dict:
    layout = {"margin": {"l": 60, "r": 20, "t": 40 if title else 16, "b": 50}, "hovermode": "closest",
              "legend": {"orientation": "h", "y": -0.2}, "paper_bgcolor": "rgba(0,0,0,0)",
              "plot_bgcolor": "#ffffff"}
    if title:
        layout["title"] = {"text": bi(*title), "font": {"size": 15}, "x": 0, "xanchor": "left"}
    if y_title:
        layout["yaxis"] = {"title": {"text": bi(*y_title)}, "rangemode": "tozero", "gridcolor": "#e5e7eb"}
    layout.update(extra)
    return layout


def legend_on_top(layout: dict) -> dict:
    """Legend above the plot, right-aligned (the title stays top-left): for charts whose x labels are rotated."""
    layout["legend"] = {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom",
                        "traceorder": "normal"}
    layout["margin"] = {**layout.get("margin", {}), "t": 72}
    return layout


def chart(chart_id: str, data: list, layout: dict, height: int = 360) -> dict:
    return {"id": chart_id, "spec": {"data": data, "layout": {**layout, "height": height}}}


def _safe(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one section's data never breaks the site
        if not isinstance(exc, MissingData):
            log.warning("dashboard section %s unavailable: %s: %s", fn.__name__, type(exc).__name__, exc)
        return Unavailable.because(exc, fn.__name__)


# ------------------------------------------------------------------ partners
def partner_rows(wh: Warehouse, codes: Codebook) -> list[dict]:
    pp = wh.get("partner_progress")
    rows = []
    for r in records(pp.sort_values("partner_id")):
        pid = r["partner_id"]
        pct_path = r.get("pct_of_required_path")
        if pct_path is None and num(r.get("required_path_tco2e")):
            pct_path = (r.get("reductions_12m_tco2e") or 0) / r["required_path_tco2e"]
        rows.append({
            **r, "slug": partner_slug(pid), "pct_path": pct_path,
            "type": codes("partner_type", r.get("partner_type")),
            "peer": codes("peer_group", r.get("peer_group")),
            "province": codes("province", r.get("province_code")),
            "region_label": codes("region", r.get("region")),
            "status": r.get("track_status") or "no_data",
            "light": progress_light(r.get("track_status"), pct_path),
        })
    return rows


def status_counts(rows: list[dict]) -> dict:
    out = {"on_track": 0, "off_track": 0, "no_data": 0}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def peer_chart(rows: list[dict], chart_id: str, highlight: str | None = None, only_type: str | None = None) -> dict:
    """% of the required path per partner type (the peer percentile's peer group), one point per partner."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r["pct_path"] is None or (only_type and r.get("partner_type") != only_type):
            continue
        groups.setdefault(r.get("partner_type"), []).append(r)
    data = []
    for ptype, members in sorted(groups.items(), key=lambda kv: str(kv[0]), reverse=True):
        label = members[0]["type"]
        data.append({
            "type": "box", "orientation": "h", "name": bi(*label), "x": [round(m["pct_path"] * 100, 1) for m in members],
            "text": [bi(f'{m["partner_id"]} {m.get("name_th") or ""}', f'{m["partner_id"]} {m.get("name_en") or ""}')
                     for m in members],
            "boxpoints": "all", "jitter": 0.5, "pointpos": 0, "marker": {"color": COLORS["blue"], "size": 6},
            "line": {"color": "#94a3b8"}, "fillcolor": "rgba(148,163,184,0.15)", "showlegend": False,
            "hovertemplate": "%{text}<br>%{x:.0f}%<extra></extra>"})
    if highlight:
        me = next((r for r in rows if r["partner_id"] == highlight and r["pct_path"] is not None), None)
        if me and me.get("partner_type") in groups:
            data.append({"type": "scatter", "mode": "markers", "y": [bi(*me["type"])],
                         "x": [round(me["pct_path"] * 100, 1)], "name": bi("ภาคีนี้", "This partner"),
                         "marker": {"color": COLORS["red"], "size": 15, "symbol": "diamond",
                                    "line": {"color": "#fff", "width": 1}},
                         "hovertemplate": "%{x:.0f}%<extra></extra>", "showlegend": True})
    layout = base_layout(None, None,
                         shapes=[{"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": 100, "x1": 100,
                                  "line": {"color": COLORS["green"], "dash": "dash", "width": 1.5}}],
                         annotations=[{"yref": "paper", "y": 1, "x": 100, "xanchor": "left", "yanchor": "bottom",
                                       "showarrow": False, "text": bi(" เป็นไปตามเป้า (100%)", " on track (100%)"),
                                       "font": {"color": COLORS["green"], "size": 11}}])
    layout["xaxis"] = {"title": {"text": bi("% ของเส้นทางที่ต้องถึง ที่ลดได้ใน 12 เดือน", "% of the required path reduced in 12 months")},
                       "rangemode": "tozero", "gridcolor": "#e5e7eb", "ticksuffix": "%"}
    layout["yaxis"] = {"automargin": True}
    layout["margin"] = {"l": 10, "r": 20, "t": 30, "b": 50}
    return chart(chart_id, data, layout, height=max(220, 60 + 42 * len(groups)))


def peer_table(rows: list[dict]) -> list[dict]:
    out = {}
    for r in rows:
        g = out.setdefault(r.get("partner_type"), {"type": r["type"], "partners": 0, "on_track": 0, "paths": [],
                                                   "completeness": []})
        g["partners"] += 1
        g["on_track"] += r["status"] == "on_track"
        if r["pct_path"] is not None:
            g["paths"].append(r["pct_path"])
        if num(r.get("reporting_completeness")) is not None:
            g["completeness"].append(r["reporting_completeness"])
    res = []
    for code, g in sorted(out.items(), key=lambda kv: str(kv[0])):
        res.append({"code": code, "type": g["type"], "partners": g["partners"], "on_track": g["on_track"],
                    "median_path": float(np.median(g["paths"])) if g["paths"] else None,
                    "median_completeness": float(np.median(g["completeness"])) if g["completeness"] else None})
    return res


def partners_page(wh: Warehouse, codes: Codebook) -> dict:
    rows = partner_rows(wh, codes)
    types = sorted({(r.get("partner_type"), r["type"]) for r in rows}, key=lambda x: str(x[0]))
    return {"rows": rows, "counts": status_counts(rows), "types": [{"code": c, "label": lab} for c, lab in types],
            "peer_chart": peer_chart(rows, "chart-peers"), "peer_table": peer_table(rows)}


def _file_hashes(wh: Warehouse) -> dict[str, str]:
    m = wh.opt("ingest_manifest")
    if m is None or not {"file", "file_hash"} <= set(m.columns):
        return {}
    return {str(f): str(h) for f, h in zip(m["file"], m["file_hash"]) if isinstance(h, str)}


def partner_pages(wh: Warehouse, codes: Codebook, period: str) -> dict[str, dict]:
    rows = partner_rows(wh, codes)
    by_id = {r["partner_id"]: r for r in rows}
    claims_all = wh.opt("ghg_claims")
    acts_all = wh.opt("activities")
    registry = wh.opt("registry_rows")
    hashes = _file_hashes(wh)
    pages = {}
    for r in rows:
        pid = r["partner_id"]
        page = {"p": r, "parent": None, "children": [], "hashes": hashes}
        if r.get("parent_partner_id") in by_id:
            page["parent"] = by_id[r["parent_partner_id"]]
        page["children"] = [c for c in rows if c.get("parent_partner_id") == pid]
        page["claims"] = _safe(_partner_claims, claims_all, pid, codes)
        page["activities"] = _safe(_partner_activities, acts_all, pid, codes)
        page["registry"] = [] if registry is None or "partner_id" not in registry.columns else \
            records(registry[registry["partner_id"] == pid])
        page["trajectory"] = _safe(_trajectory_charts, r, claims_all, period)
        page["peer_chart"] = _safe(peer_chart, rows, "chart-peer", highlight=pid, only_type=r.get("partner_type"))
        page["peers_in_type"] = sum(1 for x in rows if x.get("partner_type") == r.get("partner_type"))
        page["disputes"] = _partner_disputes(wh.opt("disputes"), pid)
        pages[r["slug"]] = page
    return pages


def _partner_disputes(disputes: pd.DataFrame | None, pid: str) -> list[dict]:
    """Figures this partner disputes (right of reply, mart_partner_disputes): shown marked, never changed."""
    if disputes is None or "partner_id" not in disputes.columns:
        return []
    from phakhi.ingest.contracts import load_contract

    figure = load_contract("partner_replies").column("figure")      # the figures' Thai/English labels
    return [{**d, "label": (figure.value_label(d["figure"], "th"), figure.value_label(d["figure"], "en"))}
            for d in records(disputes[disputes["partner_id"] == pid].sort_values("figure"))]


def _partner_claims(claims_all: pd.DataFrame | None, pid: str, codes: Codebook) -> list[dict]:
    if claims_all is None:
        raise MissingData("fct_ghg_reductions")
    c = claims_all[claims_all["partner_id"] == pid].sort_values(
        [x for x in ("period", "project_id", "source_file", "source_row") if x in claims_all.columns])
    out = []
    for x in records(c):
        out.append({**x, "sector_label": codes("sector", x.get("sector")),
                    "method_label": codes("programme", x.get("method")),
                    "method_short": short_label(codes("programme", x.get("method"))),
                    "verification_label": codes("verification", x.get("verification_status")),
                    "kind_label": codes("figure_kind", x.get("figure_kind")),
                    "period_label": period_label(x.get("period"))})
    return out


def _partner_activities(acts_all: pd.DataFrame | None, pid: str, codes: Codebook) -> list[dict]:
    if acts_all is None:
        raise MissingData("fct_activities")
    a = acts_all[acts_all["partner_id"] == pid].sort_values(
        [x for x in ("period", "activity_no", "source_file", "source_row") if x in acts_all.columns])
    return [{**x, "element_label": codes("ace_element", x.get("ace_element")),
             "type_label": codes("activity_type", x.get("activity_type")),
             "province_label": codes("province", x.get("province_code")),
             "period_label": period_label(x.get("period"))} for x in records(a)]


def _trajectory_charts(p: dict, claims_all: pd.DataFrame | None, period: str) -> dict:
    """(1) monthly reductions with the rolling 12-month sum against the required path (the on-track rule);
    (2) the whole pledge: required straight-line path from base year to target year, and what was reduced."""
    if claims_all is None:
        raise MissingData("fct_ghg_reductions")
    c = claims_all[claims_all["partner_id"] == p["partner_id"]]
    monthly = c.groupby("period")["reduction_tco2e"].sum() if len(c) else pd.Series(dtype=float)
    counted = c.groupby("period")["counted_tco2e"].sum() if len(c) and "counted_tco2e" in c else None
    window = months_back(period, 12)
    first = min([window[0]] + [m for m in monthly.index if m <= period])
    months = month_range(first, period)
    vals = [float(monthly.get(m, 0.0)) for m in months]
    rolling = [sum(vals[max(0, i - 11):i + 1]) for i in range(len(vals))]
    pledged = num(p.get("pledged_reduction_tco2e"))
    base, target = p.get("pledge_base_year"), p.get("target_year")
    req = [required_path(pledged, base, target, int(m[:4])) for m in months]
    if num(p.get("required_path_tco2e")) is not None:           # the mart's own figure for the refreshed year
        req = [p["required_path_tco2e"] if m[:4] == period[:4] else v for m, v in zip(months, req)]
    x = axis_months(months)
    data = [
        {"type": "bar", "x": x, "y": vals, "name": bi("ลดได้ในเดือน (ตามที่รายงาน)", "Reduced in the month (claimed)"),
         "marker": {"color": "#93c5fd"}, "hovertemplate": "%{y:,.1f} tCO2e<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "x": x, "y": rolling,
         "name": bi("รวม 12 เดือนล่าสุด", "Total over the last 12 months"), "line": {"color": COLORS["blue"], "width": 3},
         "hovertemplate": "%{y:,.1f} tCO2e<extra></extra>"},
        {"type": "scatter", "mode": "lines", "x": x, "y": req, "line": {"color": COLORS["amber"], "dash": "dash", "width": 2},
         "name": bi("เส้นทางที่ต้องถึงในปีนั้น", "Required path for the year"),
         "hovertemplate": "%{y:,.1f} tCO2e<extra></extra>"},
    ]
    if counted is not None and abs(float(counted.sum()) - float(monthly.sum())) > 1e-9:
        data.insert(1, {"type": "bar", "x": x, "y": [float(counted.get(m, 0.0)) for m in months],
                        "name": bi("นับแล้ว (ไม่รวมรายการซ้ำ)", "Counted (duplicates excluded)"),
                        "marker": {"color": "#1e40af"}, "hovertemplate": "%{y:,.1f} tCO2e<extra></extra>"})
    monthly_chart = chart("chart-trajectory", data, base_layout(
        ("ก๊าซที่ลดได้ เทียบกับเส้นทางที่ต้องถึง", "Reductions against the required path"),
        ("tCO2e", "tCO2e"), barmode="group"), height=380)

    pledge_chart = None
    b, t = num(base), num(target)
    if pledged is not None and b is not None and t is not None and t > b:
        years = list(range(int(b), int(t) + 1))
        annual = c.groupby(c["period"].str[:4].astype(int))["reduction_tco2e"].sum() if len(c) else pd.Series(dtype=float)
        cur_year = int(period[:4])
        obs_years = [y for y in years if y in annual.index and y < cur_year]
        data2 = [{"type": "scatter", "mode": "lines", "x": years,
                  "y": [required_path(pledged, b, t, y) for y in years],
                  "name": bi("เส้นทางตรงจากปีฐานถึงปีเป้าหมาย", "Straight-line path, base year to target year"),
                  "line": {"color": COLORS["amber"], "dash": "dash"},
                  "hovertemplate": "%{x}: %{y:,.1f} tCO2e<extra></extra>"},
                 {"type": "scatter", "mode": "markers", "x": [int(t)], "y": [pledged],
                  "name": bi("คำมั่น (ปีเป้าหมาย)", "Pledge (target year)"),
                  "marker": {"symbol": "star", "size": 16, "color": COLORS["amber"]},
                  "hovertemplate": "%{x}: %{y:,.1f} tCO2e<extra></extra>"}]
        if obs_years:
            data2.append({"type": "scatter", "mode": "markers", "x": obs_years,
                          "y": [float(annual[y]) for y in obs_years], "name": bi("ลดได้ทั้งปี", "Reduced in the year"),
                          "marker": {"size": 10, "color": "#60a5fa"},
                          "hovertemplate": "%{x}: %{y:,.1f} tCO2e<extra></extra>"})
        data2.append({"type": "scatter", "mode": "markers", "x": [cur_year], "y": [rolling[-1] if rolling else 0],
                      "name": bi(f"รวม 12 เดือนถึง {period_label(period)[0]}", f"12 months to {period_label(period)[1]}"),
                      "marker": {"size": 13, "color": COLORS["blue"], "line": {"color": "#fff", "width": 1}},
                      "hovertemplate": "%{x}: %{y:,.1f} tCO2e<extra></extra>"})
        lay = base_layout(("ความก้าวหน้าตลอดช่วงคำมั่น", "Progress over the whole pledge"), ("tCO2e/ปี", "tCO2e/year"))
        lay["xaxis"] = {"dtick": 1 if len(years) <= 15 else 5, "gridcolor": "#e5e7eb"}
        pledge_chart = chart("chart-pledge", data2, lay, height=340)
    return {"monthly": monthly_chart, "pledge": pledge_chart, "months": len(months)}


# ------------------------------------------------------------------ national
def _emission_chart(nat: pd.DataFrame, basis: str, codes: Codebook, chart_id: str) -> dict | None:
    rows = nat[(nat["basis"] == basis) & (nat["measure"] == "emissions")]
    if rows.empty:
        return None
    data = []
    palette = ["#0f172a", "#2563eb", "#0891b2", "#7c3aed"]
    obs = rows[rows["series_kind"] == "observed"]
    for i, (sid, g) in enumerate(obs.groupby("series_id", sort=True)):
        g = g.sort_values("year")
        data.append({"type": "scatter", "mode": "lines+markers", "x": g["year"].tolist(), "y": g["value"].tolist(),
                     "name": bi(g["series_label_th"].iloc[0], g["series_label_en"].iloc[0]),
                     "line": {"color": palette[i % len(palette)], "width": 2.5}, "marker": {"size": 8},
                     "hovertemplate": "%{x}: %{y:,.1f} MtCO2e<extra></extra>"})
    for sid, g in rows[rows["series_kind"] == "projected"].groupby("series_id", sort=True):
        data.append({"type": "scatter", "mode": "markers", "x": g["year"].tolist(), "y": g["value"].tolist(),
                     "name": bi(g["series_label_th"].iloc[0], g["series_label_en"].iloc[0]),
                     "marker": {"symbol": "diamond-open", "size": 12, "color": "#475569"},
                     "hovertemplate": "%{x}: %{y:,.1f} MtCO2e<extra></extra>"})
    tg = rows[rows["series_kind"] == "target"]
    for sid, g in sorted(tg.groupby("series_id", sort=True), key=lambda kv: not bool(kv[1]["target_in_force_at_period"].fillna(False).any())):
        g = g.sort_values("year")
        in_force = bool(g["target_in_force_at_period"].fillna(False).any())
        th, en = g["series_label_th"].iloc[0], g["series_label_en"].iloc[0]
        if not in_force:
            th, en = th + " (ถูกแทนที่แล้ว)", en + " (superseded)"
        data.append({"type": "scatter", "mode": "lines", "x": g["year"].tolist(), "y": g["value"].tolist(),
                     "name": bi(th, en),
                     "line": {"color": COLORS["green"] if in_force else "#cbd5e1", "width": 3 if in_force else 1.5,
                              "dash": "solid" if in_force else "dot"},
                     "opacity": 1 if in_force else 0.8,
                     "hovertemplate": "%{x}: %{y:,.1f} MtCO2e<extra></extra>"})
    lay = base_layout(None, ("MtCO2e", "MtCO2e"))
    lay["legend"] = {"orientation": "h", "y": -0.12, "font": {"size": 11}}
    lay["xaxis"] = {"gridcolor": "#e5e7eb"}
    in_force_end = tg.loc[tg["target_in_force_at_period"].fillna(False).astype(bool), "year"]
    if len(in_force_end):          # superseded paths that run further stay reachable by zooming out
        lay["xaxis"]["range"] = [float(rows["year"].min()) - 1, float(in_force_end.max()) + 1]
    return chart(chart_id, data, lay, height=460)


def _targets_table(wh: Warehouse, nat: pd.DataFrame | None, codes: Codebook) -> list[dict]:
    t = wh.opt("targets")
    if t is not None:
        names = {r["target_id"]: (r.get("name_th"), r.get("name_en")) for r in records(t)}
        order = [(c, asc) for c, asc in (("in_force_at_period", False), ("target_year", True), ("target_id", True))
                 if c in t.columns]
        out = []
        for r in records(t.sort_values([c for c, _ in order], ascending=[a for _, a in order])):
            status = r.get("status_at_period") or ("in_force" if r.get("in_force_at_period") else "superseded")
            out.append({**r, "status": status, "status_label": codes("target_status", status),
                        "superseded_by_label": names.get(r.get("superseded_by")),
                        "basis_pair": (r.get("basis_label_th") or codes("basis", r.get("basis"))[0],
                                       r.get("basis_label_en") or codes("basis", r.get("basis"))[1])})
        return out
    if nat is None:
        raise MissingData("dim_targets")
    tg = nat[nat["series_kind"] == "target"].groupby("target_id").agg(
        name_th=("series_label_th", "first"), name_en=("series_label_en", "first"), basis=("basis", "first"),
        target_year=("year", "max"), status=("target_status", "first")).reset_index()
    return [{**r, "status_label": codes("target_status", r["status"]), "basis_pair": codes("basis", r["basis"]),
             "superseded_by_label": None} for r in records(tg)]


def national_headline(wh: Warehouse, codes: Codebook, period: str) -> dict:
    """The target in force that is due soonest, where the latest inventory on its basis stands against its
    path, and the share of the gap that partners' counted reductions close."""
    nat = wh.get("national_progress")
    tg = nat[(nat["series_kind"] == "target") & nat["target_in_force_at_period"].fillna(False).astype(bool)]
    if tg.empty:
        raise MissingData("mart_national_progress (target in force)")
    ends = tg.groupby("target_id")["year"].max()
    current = int(period[:4])
    due = ends[ends >= current]
    target_id = (due if len(due) else ends).sort_values(kind="stable").index[0]
    path = tg[tg["target_id"] == target_id].sort_values("year")
    basis = path["basis"].iloc[0]
    tinfo = {}
    t = wh.opt("targets")
    if t is not None and "target_id" in t.columns:
        hit = t[t["target_id"] == target_id]
        if len(hit):
            tinfo = records(hit)[0]
    inv = nat[(nat["series_kind"] == "observed") & (nat["measure"] == "emissions") & (nat["basis"] == basis)]
    btr = inv[inv["source"].astype(str).str.upper().str.startswith("BTR")]
    inv = btr if len(btr) else inv
    latest = records(inv.sort_values(["year", "series_id"]).tail(1))
    latest = latest[0] if latest else None
    path_at = None
    if latest:
        hit = path[path["year"] == latest["year"]]
        path_at = num(hit["value"].iloc[0]) if len(hit) else None
    gap = nat[(nat["measure"] == "gap_share") & (nat["target_id"] == target_id)].sort_values("year")
    counted = nat[nat["series_id"] == "partner_reductions_counted"].sort_values("year")
    return {
        "target_id": target_id,
        "name": (tinfo.get("name_th") or path["series_label_th"].iloc[0], tinfo.get("name_en") or path["series_label_en"].iloc[0]),
        "basis": (tinfo.get("basis_label_th") or codes("basis", basis)[0], tinfo.get("basis_label_en") or codes("basis", basis)[1]),
        "target_year": tinfo.get("target_year") or int(path["year"].max()),
        "target_value": tinfo.get("target_value_mtco2e") if tinfo else num(path["value"].iloc[-1]),
        "source": tinfo.get("source") or path["source"].iloc[0],
        "latest": latest, "path_at_latest": path_at,
        "gap_share": records(gap.tail(1))[0] if len(gap) else None,
        "partner_counted": records(counted.tail(1))[0] if len(counted) else None,
    }


def national_page(wh: Warehouse, codes: Codebook, period: str) -> dict:
    nat = wh.get("national_progress")
    charts = []
    for i, basis in enumerate(["net_incl_lulucf", "gross_excl_lulucf"]):
        c = _emission_chart(nat, basis, codes, f"chart-national-{i}")
        if c:
            charts.append({"basis": basis, "label": codes("basis", basis), "chart": c})
    partner = nat[nat["basis"] == "partner_claims"]
    years = sorted(int(y) for y in partner["year"].unique())
    pr = []
    for y in years:
        g = partner[partner["year"] == y].set_index("series_id")["value"]
        pr.append({"year": y, **{k: num(g.get(k)) for k in ("partner_reductions_claimed", "partner_reductions_duplicate",
                                                          "partner_reductions_counted",
                                                          "partner_reductions_counted_annualised")}})
    gaps = records(nat[nat["measure"] == "gap_share"].sort_values(["year", "target_id"]))
    other = nat[(nat["series_kind"] == "observed") & ~nat["basis"].isin(["partner_claims", "net_incl_lulucf", "gross_excl_lulucf"])
                & (nat["measure"] != "gap_share")]
    series = (nat.groupby(["series_kind", "series_id"], sort=True)
              .agg(label_th=("series_label_th", "first"), label_en=("series_label_en", "first"),
                   basis=("basis", "first"), unit=("unit", "first"), source=("source", "first"),
                   first_year=("year", "min"), last_year=("year", "max"), detail=("source_detail", "first"),
                   status=("target_status", "first"))
              .reset_index())
    series_rows = [{**r, "kind_label": codes("series_kind", r["series_kind"]), "basis_label": codes("basis", r["basis"]),
                    "status_label": codes("target_status", r["status"]) if r.get("status") else None}
                   for r in records(series)]
    return {"headline": _safe(national_headline, wh, codes, period), "charts": charts,
            "targets": _safe(_targets_table, wh, nat, codes), "partner_years": pr, "gaps": gaps,
            "other_observed": records(other.sort_values(["series_id", "year"])), "series": series_rows}


# ------------------------------------------------------------------ provinces
def provinces_page(wh: Warehouse, codes: Codebook) -> dict:
    ps = wh.get("province_summary")
    rows = []
    for r in records(ps.sort_values("province_code")):
        pct_path = r.get("pct_of_required_path")
        total = num(r.get("participants_12m"))
        female = num(r.get("participants_female_12m"))
        rows.append({**r, "name": (r.get("name_th"), r.get("name_en")),
                     "female_share": female / total if total and female is not None else None,
                     "region_label": (r.get("region_th"), r.get("region_en")) if r.get("region_th") else codes("region", r.get("region")),
                     "status": r.get("track_status") or "no_data", "light": progress_light(r.get("track_status"), pct_path),
                     "row": int(r["grid_row"]) + 1 if r.get("grid_row") is not None else None,
                     "col": int(r["grid_col"]) + 1 if r.get("grid_col") is not None else None})
    placed = [r for r in rows if r["row"] and r["col"]]
    grid = {"rows": max((r["row"] for r in placed), default=0), "cols": max((r["col"] for r in placed), default=0)}
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"rows": rows, "grid": grid, "counts": counts,
            "max": {k: max([num(r.get(k)) or 0 for r in rows] or [0]) for k in
                    ("activities_12m", "participants_12m", "partners", "reductions_12m_counted_tco2e")}}


# ------------------------------------------------------------------ ACE
def ace_summary(wh: Warehouse, codes: Codebook, period: str) -> list[dict]:
    ace = wh.get("ace_indicators")
    ace = ace[ace["period"] <= period]
    months = month_range(min(ace["period"]), period) if len(ace) else []
    window = set(months_back(period, 12))
    acts = wh.opt("activities")
    out = []
    elements = ace.groupby("element_code", sort=False).agg(order=("element_order", "min")).reset_index() \
        if "element_order" in ace.columns else ace[["element_code"]].drop_duplicates().assign(order=0)
    for e in records(elements.sort_values(["order", "element_code"])):
        code = e["element_code"]
        g = ace[ace["element_code"] == code]
        monthly = g.groupby("period")["activities"].sum()
        series = [float(monthly.get(m, 0)) for m in months]
        w = g[g["period"].isin(window)]
        partners = None
        if acts is not None and {"ace_element", "period", "partner_id"} <= set(acts.columns):
            aw = acts[(acts["ace_element"] == code) & acts["period"].isin(window)]
            partners = int(aw["partner_id"].nunique())
        total = float(w["participants_total"].sum())
        out.append({"code": code, "label": codes("ace_element", code), "light": ace_light(series),
                    "last3": sum(series[-3:]), "prev3": sum(series[-6:-3]),
                    "activities_12m": float(w["activities"].sum()), "participants_12m": total,
                    "female": float(w["participants_female"].sum()), "male": float(w["participants_male"].sum()),
                    "unspecified": float(w["participants_unspecified_sex"].sum()) if "participants_unspecified_sex" in w else None,
                    "youth": float(w["participants_youth"].sum()) if "participants_youth" in w else None,
                    "female_share": float(w["participants_female"].sum()) / total if total else None,
                    "provinces": int(w.loc[w["activities"] > 0, "province_code"].nunique()),
                    "partners": partners, "monthly": series})
    return out


def ace_page(wh: Warehouse, codes: Codebook, period: str) -> dict:
    elements = ace_summary(wh, codes, period)
    ace = wh.get("ace_indicators")
    months = month_range(min(ace["period"]), period) if len(ace) else []
    palette = ["#1d4ed8", "#059669", "#d97706", "#db2777", "#7c3aed", "#0891b2"]
    x = axis_months(months)
    lines = [{"type": "scatter", "mode": "lines+markers", "x": x, "y": e["monthly"], "name": bi(*e["label"]),
              "line": {"color": palette[i % 6], "width": 2}, "hovertemplate": "%{y:,.0f}<extra>%{fullData.name}</extra>"}
             for i, e in enumerate(elements)]
    over_time = chart("chart-ace-time", lines, base_layout(("จำนวนกิจกรรมต่อเดือน แยกตามองค์ประกอบ ACE",
                                                            "Activities per month by ACE element"),
                                                           ("กิจกรรม", "activities")), height=400)
    names = [bi(*e["label"]) for e in elements]
    sex = [("female", ("หญิง", "Female"), "#db2777"), ("male", ("ชาย", "Male"), "#2563eb"),
           ("unspecified", ("ไม่ระบุเพศ", "Sex not stated"), "#9ca3af")]
    bars = [{"type": "bar", "orientation": "h", "y": names, "x": [e[k] or 0 for e in elements], "name": bi(*lab),
             "marker": {"color": col}, "hovertemplate": "%{x:,.0f}<extra>%{fullData.name}</extra>"}
            for k, lab, col in sex if any(e.get(k) for e in elements)]
    lay = base_layout(("ผู้เข้าร่วม 12 เดือนล่าสุด แยกตามเพศ", "Participants over the last 12 months, by sex"),
                      None, barmode="stack")
    lay["yaxis"] = {"automargin": True, "autorange": "reversed"}
    lay["xaxis"] = {"title": {"text": bi("คน", "people")}, "gridcolor": "#e5e7eb"}
    by_sex = chart("chart-ace-sex", bars, lay, height=340)
    return {"elements": elements, "over_time": over_time, "by_sex": by_sex, "months": len(months),
            "window": period_label(months_back(period, 12)[0])}


# ------------------------------------------------------------------ sectors
def sector_lights(wh: Warehouse, codes: Codebook) -> list[dict]:
    sp = wh.get("sector_progress")
    return [{**r, "label": (r.get("name_th") or codes("sector", r["sector"])[0], r.get("name_en") or codes("sector", r["sector"])[1]),
             "light": progress_light(r.get("track_status"), r.get("pct_of_required_path")),
             "status": r.get("track_status") or "no_data"}
            for r in records(sp.sort_values("reductions_12m_counted_tco2e", ascending=False, kind="stable"))]


# ------------------------------------------------------------------ awareness
def _labelled(df: pd.DataFrame, codes: Codebook, provinces: Codebook) -> pd.DataFrame:
    df = df.copy()
    for col, kind in (("measure", "measure"), ("domain", "domain")):
        for lang, i in (("th", 0), ("en", 1)):
            name = f"{col}_{lang}"
            fallback = df[col].map(lambda v: codes(kind, v)[i])
            df[name] = df[name].fillna(fallback) if name in df.columns else fallback

    def value_label(row, i):
        if row["domain"] == "province":
            return codes("province", row["domain_value"])[i]
        if row["domain"] == "region":
            return codes("region", row["domain_value"])[i]
        return codes("domain_value", row["domain_value"])[i]

    for lang, i in (("th", 0), ("en", 1)):
        name = f"domain_value_{lang}"
        fallback = df.apply(lambda r: value_label(r, i), axis=1) if len(df) else pd.Series(dtype=str)
        df[name] = df[name].fillna(fallback) if name in df.columns else fallback
    df["_m"] = df["measure"].map(lambda m: MEASURE_ORDER.index(m) if m in MEASURE_ORDER else 99)
    df["_d"] = df["domain"].map(lambda d: DOMAIN_ORDER.index(d) if d in DOMAIN_ORDER else 99)
    return df.sort_values(["_m", "_d", "domain_value"], kind="stable")


def _waves(wh: Warehouse, aw: pd.DataFrame) -> tuple[int, int]:
    waves = sorted(int(w) for w in aw["wave"].unique())
    base = waves[0]
    meta = wh.opt("awareness_waves")
    if meta is not None and "is_baseline" in meta.columns and meta["is_baseline"].fillna(False).any():
        base = int(meta.loc[meta["is_baseline"].fillna(False).astype(bool), "wave"].iloc[0])
    ch = wh.opt("awareness_change")
    if ch is not None and "baseline_wave" in ch.columns and len(ch):
        base = int(ch["baseline_wave"].iloc[0])
    return base, waves[-1]


def _ci_trace(rows: pd.DataFrame, name, color, x_of, offset: int) -> dict:
    est = [num(v) for v in rows["estimate"]]
    hi = [None if e is None or num(h) is None else num(h) - e for e, h in zip(est, rows["ci_high"])]
    lo = [None if e is None or num(l) is None else e - num(l) for e, l in zip(est, rows["ci_low"])]
    sup = rows["suppressed"].fillna(False).astype(bool).tolist() if "suppressed" in rows else [False] * len(rows)
    return {"type": "scatter", "mode": "markers", "name": name, "x": [x_of(r) for r in records(rows)], "y": est,
            "error_y": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo, "thickness": 1.5, "width": 4,
                        "color": color},
            "marker": {"color": color, "size": 9}, "offsetgroup": str(offset),
            "customdata": [bi("ไม่เผยแพร่: ผู้ตอบน้อย", "withheld: too few respondents") if s else bi("", "") for s in sup],
            "hovertemplate": "%{x}<br>%{y:.1f} (95% CI)%{customdata}<extra>%{fullData.name}</extra>"}


def awareness_headline(wh: Warehouse, codes: Codebook) -> dict:
    aw = wh.get("awareness")
    base, latest = _waves(wh, aw)

    def cell(wave):
        hit = aw[(aw["wave"] == wave) & (aw["measure"] == "awareness_index") & (aw["domain"] == "overall")]
        return records(hit)[0] if len(hit) else None

    change = None
    ch = wh.opt("awareness_change")
    if ch is not None and base != latest:
        hit = ch[(ch["wave"] == latest) & (ch["measure"] == "awareness_index") & (ch["domain"] == "overall")]
        change = records(hit)[0] if len(hit) else None
    return {"baseline_wave": base, "latest_wave": latest, "baseline": cell(base), "latest": cell(latest),
            "change": change}


def awareness_page(wh: Warehouse, codes: Codebook, drift: dict | None) -> dict:
    aw = _labelled(wh.get("awareness"), codes, codes)
    base, latest = _waves(wh, aw)
    waves = [base] if base == latest else [base, latest]
    main = aw[~aw["domain"].isin(["province"]) & aw["wave"].isin(waves)]
    core = main[main["measure"].isin(["awareness_index", "knowledge", "concern", "behaviour"])]

    def x_measure(r):
        return bi(r["measure_th"], r["measure_en"])

    def x_domain(r):
        if r["domain"] == "overall":
            return bi(r["domain_value_th"] if r["domain_value"] != "all" else "ทั้งประเทศ",
                      r["domain_value_en"] if r["domain_value"] != "all" else "National")
        return bi(f'{r["domain_th"]}: {r["domain_value_th"]}', f'{r["domain_en"]}: {r["domain_value_en"]}')

    wave_names = {w: bi(f"รอบ {w} (พ.ศ. {w + 543})" + (" – รอบฐาน" if w == base else " – ล่าสุด"),
                        f"Wave {w}" + (" – baseline" if w == base else " – latest")) for w in waves}
    wave_colors = {base: COLORS["baseline"], latest: COLORS["latest"]}
    overall = core[core["domain"] == "overall"]
    c1 = chart("chart-aw-overall", [_ci_trace(overall[overall["wave"] == w], wave_names[w], wave_colors[w], x_measure, i)
                                    for i, w in enumerate(waves)],
               base_layout(("ทั้งประเทศ: ค่าประมาณและช่วงความเชื่อมั่น 95%", "National: estimates with 95% confidence intervals"),
                           ("คะแนน 0–100", "score 0–100"), scattermode="group"), height=340)
    idx = core[core["measure"] == "awareness_index"]
    lay2 = base_layout(("ดัชนีความตระหนักรู้ แยกตามกลุ่มประชากร", "Awareness index by population group"),
                       ("คะแนน 0–100", "score 0–100"), scattermode="group")
    lay2["xaxis"] = {"automargin": True, "tickangle": -40}
    legend_on_top(lay2)
    c2 = chart("chart-aw-domains", [_ci_trace(idx[idx["wave"] == w], wave_names[w], wave_colors[w], x_domain, i)
                                    for i, w in enumerate(waves)], lay2, height=440)
    if idx.empty:
        c2 = None
    # awareness levels (share low/medium/high), national
    levels = None
    lv = main[(main["domain"] == "overall") & main["measure"].isin(["share_low", "share_medium", "share_high"])]
    if len(lv):
        data = []
        for m, col in (("share_low", "#fca5a5"), ("share_medium", "#fcd34d"), ("share_high", "#6ee7b7")):
            g = lv[lv["measure"] == m].set_index("wave")
            data.append({"type": "bar", "orientation": "h", "y": [wave_names[w] for w in waves],
                         "x": [num(g["estimate"].get(w)) for w in waves], "name": bi(*codes("measure", m)),
                         "marker": {"color": col}, "hovertemplate": "%{x:.1f}%<extra>%{fullData.name}</extra>"})
        lay = base_layout(("สัดส่วนผู้มีความตระหนักรู้แต่ละระดับ (ทั้งประเทศ)", "Share of people at each awareness level (national)"),
                          None, barmode="stack")
        lay["xaxis"] = {"range": [0, 100], "ticksuffix": "%"}
        lay["yaxis"] = {"automargin": True}
        lay["legend"]["traceorder"] = "normal"
        levels = chart("chart-aw-levels", data, lay, height=260)
    table = [{**r, "cells": {}} for r in records(
        main.drop_duplicates(["measure", "domain", "domain_value"])[
            ["measure", "domain", "domain_value", "measure_th", "measure_en", "domain_th", "domain_en",
             "domain_value_th", "domain_value_en"]])]
    for r in table:
        for w in waves:
            hit = main[(main["wave"] == w) & (main["measure"] == r["measure"]) & (main["domain"] == r["domain"])
                       & (main["domain_value"] == r["domain_value"])]
            r["cells"][w] = records(hit)[0] if len(hit) else None
    prov = aw[(aw["domain"] == "province") & (aw["wave"] == latest) & (aw["measure"] == "awareness_index")]
    return {"baseline_wave": base, "latest_wave": latest, "waves": waves, "headline": awareness_headline(wh, codes),
            "overall_chart": c1, "domain_chart": c2, "levels_chart": levels, "table": table,
            "measures": [{"code": m, "label": codes("measure", m)} for m in MEASURE_ORDER if m in set(main["measure"])],
            "provinces": records(prov.sort_values("domain_value")), "change": _safe(awareness_change, wh, codes, latest),
            "drift": _safe(drift_rows, wh, drift)}


def awareness_change(wh: Warehouse, codes: Codebook, latest: int) -> dict:
    ch = wh.get("awareness_change")
    ch = _labelled(ch[ch["wave"] == latest], codes, codes)
    comparable = bool(ch["comparable"].fillna(True).all()) if "comparable" in ch else True
    note = next((n for n in ch.get("comparability_note", pd.Series(dtype=str)).dropna() if n), "")
    main = ch[~ch["domain"].isin(["province"])]
    idx = main[main["measure"] == "awareness_index"]

    def x_domain(r):
        if r["domain"] == "overall":
            return bi("ทั้งประเทศ", "National")
        return bi(f'{r["domain_th"]}: {r["domain_value_th"]}', f'{r["domain_en"]}: {r["domain_value_en"]}')

    groups = [("up", bi("เพิ่มขึ้นอย่างมีนัยสำคัญ", "significant rise"), COLORS["green"]),
              ("down", bi("ลดลงอย่างมีนัยสำคัญ", "significant fall"), COLORS["red"]),
              ("ns", bi("ไม่มีนัยสำคัญ", "not significant"), "#64748b")]

    def kind(r):
        if not r.get("significant"):
            return "ns"
        return "up" if (r.get("difference") or 0) > 0 else "down"

    recs = records(idx)
    data = []
    for k, name, color in groups:
        sel = [r for r in recs if kind(r) == k and r.get("difference") is not None]
        if not sel:
            continue
        data.append({"type": "scatter", "mode": "markers", "name": name, "x": [x_domain(r) for r in sel],
                     "y": [r["difference"] for r in sel],
                     "error_y": {"type": "data", "symmetric": False,
                                 "array": [r["ci_high"] - r["difference"] for r in sel],
                                 "arrayminus": [r["difference"] - r["ci_low"] for r in sel], "color": color},
                     "customdata": [r.get("p_adjusted") for r in sel], "marker": {"color": color, "size": 10},
                     "hovertemplate": "%{x}<br>%{y:+.1f} pts, p(adj)=%{customdata:.3f}<extra></extra>"})
    lay = base_layout(("การเปลี่ยนแปลงของดัชนีเทียบกับรอบฐาน (จุด) พร้อมช่วงความเชื่อมั่น 95%",
                       "Change in the index versus the baseline (points) with 95% CI"), ("จุด", "points"),
                      shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                               "line": {"color": "#0f172a", "width": 1}}])
    lay["yaxis"]["rangemode"] = "normal"
    lay["xaxis"] = {"automargin": True, "tickangle": -40}
    lay["xaxis"].update({"categoryorder": "array", "categoryarray": [x_domain(r) for r in recs]})
    legend_on_top(lay)
    return {"comparable": comparable, "note": note, "chart": chart("chart-aw-change", data, lay, height=420) if data else None,
            "rows": [{**r, "kind": kind(r)} for r in records(main)],
            "adjustment": next((a for a in ch.get("adjustment", pd.Series(dtype=str)).dropna()), "Benjamini-Hochberg"),
            "n_significant": int(main["significant"].fillna(False).astype(bool).sum()) if "significant" in main else 0,
            "n_tests": int(main["p_value"].notna().sum()) if "p_value" in main else 0}


def drift_rows(wh: Warehouse, drift: dict | None) -> dict:
    if not drift:                       # fewer than two survey waves: nothing to compare yet
        raise MissingData("drift_report")
    items = wh.opt("survey_items")
    text = {} if items is None else {r["code"]: (r.get("text_th"), r.get("text_en")) for r in records(items)}
    rows = [{**r, "text": text.get(r.get("item"))} for r in drift.get("rows", [])]
    return {**drift, "rows": rows}


# ------------------------------------------------------------------ best practices
def practices_page(wh: Warehouse, codes: Codebook) -> dict:
    bp = wh.get("best_practices")
    sort = [c for c in ("partner_type", "rank_in_peer_group", "partner_id") if c in bp.columns]
    cases = []
    for r in records(bp.sort_values(sort)):
        cases.append({**r, "slug": partner_slug(r["partner_id"]), "type": codes("partner_type", r.get("partner_type")),
                      "province": codes("province", r.get("province_code")),
                      "sectors": codes.tags("sector", r.get("sector_tags")),
                      "elements": codes.tags("ace_element", r.get("ace_element_tags")),
                      "practices": codes.tags("activity_type", r.get("practice_tags")),
                      "climate": codes.tags("climate_tag", r.get("climate_tags")),
                      "programmes": codes.tags("programme", r.get("programme_tags")),
                      "lessons": [s.strip() for s in str(r.get("lessons_learned") or "").split(" | ") if s.strip()],
                      "status_label": STATUS.get(r.get("track_status"), LABELS["no_data"])})
    sectors = sorted({(s["code"], (s["th"], s["en"])) for c in cases for s in c["sectors"]})
    types = sorted({(c.get("partner_type"), c["type"]) for c in cases}, key=lambda x: str(x[0]))
    return {"cases": cases, "sectors": [{"code": c, "label": l} for c, l in sectors],
            "types": [{"code": c, "label": l} for c, l in types]}


# ------------------------------------------------------------------ overview
def overview_page(wh: Warehouse, codes: Codebook, period: str) -> dict:
    partners = _safe(partner_rows, wh, codes)
    board = partners
    attention = partners
    cards = partners
    if not isinstance(partners, Unavailable):
        groups: dict[str, dict] = {}
        for r in partners:
            g = groups.setdefault(r.get("peer_group") or "", {"label": r["peer"], "partners": []})
            g["partners"].append(r)
        order = {"on_track": 0, "off_track": 1, "no_data": 2}
        for g in groups.values():
            g["partners"].sort(key=lambda r: (order.get(r["status"], 3), -(r["pct_path"] or 0), r["partner_id"]))
        board = [groups[k] for k in sorted(groups)]
        off = [r for r in partners if r["status"] == "off_track" and r["pct_path"] is not None]
        attention = sorted(off, key=lambda r: (r["pct_path"], r["partner_id"]))[:5]
        comp = [num(r.get("reporting_completeness")) for r in partners if num(r.get("reporting_completeness")) is not None]
        cards = {"partners": len(partners), "counts": status_counts(partners),
                 "counted_12m": sum(num(r.get("counted_12m_tco2e", r.get("reductions_12m_tco2e"))) or 0 for r in partners),
                 "required_12m": sum(num(r.get("required_path_tco2e")) or 0 for r in partners),
                 "completeness": float(np.mean(comp)) if comp else None}
    return {"cards": cards, "board": board, "attention": attention,
            "ace": _safe(ace_summary, wh, codes, period), "sectors": _safe(sector_lights, wh, codes),
            "national": _safe(national_headline, wh, codes, period), "awareness": _safe(awareness_headline, wh, codes)}


# ------------------------------------------------------------------ data quality and downloads
def quality_page(gate: dict | None, ingest: pd.DataFrame | None, quarantine: pd.DataFrame | None, out_dir: Path,
                 codes: Codebook, sources: dict[str, str]) -> dict:
    gate = gate or {}
    checks = gate.get("checks", [])
    suites: dict[str, dict] = {}
    for c in checks:
        s = suites.setdefault(c.get("suite"), {"suite": c.get("suite"), "checks": [], "passed": 0, "failed": 0})
        s["checks"].append({**plain(c), "severity_label": codes("severity", c.get("severity"))})
        s["passed" if c.get("success") else "failed"] += 1
    q_by = []
    if quarantine is not None and len(quarantine):
        cols = [c for c in ("family", "rule", "message_en", "message_th") if c in quarantine.columns]
        g = quarantine.groupby(cols[:2], dropna=False).agg(rows=(cols[0], "size")).reset_index() if cols else None
        if g is not None:
            for r in records(g):
                first = quarantine[(quarantine[cols[0]] == r[cols[0]])]
                if len(cols) > 1:
                    first = first[first[cols[1]] == r[cols[1]]]
                ex = records(first.head(1))[0]
                q_by.append({**r, "family_label": codes("family", r.get("family")),
                             "message": (ex.get("message_th"), ex.get("message_en"))})
    ing = [] if ingest is None else [{**r, "family_label": codes("family", r.get("family"))} for r in records(ingest)]
    dbt = gate.get("dbt") or {}
    return {"passed": gate.get("passed"), "total": len(checks), "passed_checks": sum(bool(c.get("success")) for c in checks),
            "warnings": gate.get("warnings", 0), "blocking": gate.get("blocking", 0),
            "suites": sorted(suites.values(), key=lambda s: (-s["failed"], str(s["suite"]))),
            "dbt": {"success": dbt.get("success"), "counts": dbt.get("counts") or {}, "failures": dbt.get("failures") or []},
            "ingest": ing, "quarantine": q_by, "quarantine_rows": 0 if quarantine is None else int(len(quarantine)),
            "data_docs": (out_dir / "quality" / "data_docs" / "index.html").is_file(),
            "dbt_docs": (out_dir / "docs" / "dbt" / "index.html").is_file(),
            "drift": (out_dir / "drift" / "drift_report.html").is_file(),
            "files": [p for p in ("quality/gate.json", "quality/ingest_report.csv", "quality/quarantine.csv",
                                  "quality/quarantine.parquet") if (out_dir / p).is_file()] + ["manifest.json"],
            "sources": sorted(sources.items())}


def downloads_page(out_dir: Path) -> dict:
    import json

    dp = out_dir / "datapackage.json"
    if not dp.is_file():
        raise MissingData("datapackage.json")
    package = json.loads(dp.read_text(encoding="utf-8"))
    resources = []
    for res in package.get("resources", []):
        files = [res.get("path")] + list(res.get("alternates") or [])
        resources.append({**res, "files": [{"path": f, "size": (out_dir / f).stat().st_size}
                                           for f in files if f and (out_dir / f).is_file()]})
    return {"package": package, "resources": resources,
            "license": (package.get("licenses") or [{}])[0]}


# ------------------------------------------------------------------ the whole site
def site_context(db: Path, out_dir: Path, *, period: str, pub_id: str, is_sample: bool, gate: dict | None = None,
                 drift: dict | None = None, ingest: pd.DataFrame | None = None,
                 quarantine: pd.DataFrame | None = None, warehouse: Warehouse | None = None) -> dict:
    """Everything the templates need, page by page. Pages whose data is missing are `Unavailable`."""
    wh = warehouse or read_warehouse(db)
    codes = Codebook(wh)
    pages = {
        "overview": _safe(overview_page, wh, codes, period),
        "national": _safe(national_page, wh, codes, period),
        "partners": _safe(partners_page, wh, codes),
        "partner_pages": _safe(partner_pages, wh, codes, period),
        "provinces": _safe(provinces_page, wh, codes),
        "ace": _safe(ace_page, wh, codes, period),
        "awareness": _safe(awareness_page, wh, codes, drift),
        "practices": _safe(practices_page, wh, codes),
        "downloads": _safe(downloads_page, out_dir),
    }
    pages = {k: ({"unavailable": v} if isinstance(v, Unavailable) else v) for k, v in pages.items()}
    notes = []          # every page or section shown as "not available yet", listed on the Data quality page
    for key, page in pages.items():
        if isinstance(page.get("unavailable"), Unavailable):
            u = page["unavailable"]
            notes.append({"page": key, "section": "", "th": u.th, "en": u.en, "detail": u.detail})
            continue
        for sub, u in page.items():
            if isinstance(u, Unavailable):
                notes.append({"page": key, "section": sub, "th": u.th, "en": u.en, "detail": u.detail})
    if "unavailable" in pages["partner_pages"]:
        pages["partner_pages"] = {}
    pages["quality"] = _safe(quality_page, gate, ingest, quarantine, out_dir, codes, wh.sources)
    if isinstance(pages["quality"], Unavailable):
        pages["quality"] = {"unavailable": pages["quality"]}
    return {"meta": {"period": period, "period_label": period_label(period), "pub_id": pub_id, "is_sample": is_sample,
                     "year": int(period[:4])},
            "pages": pages, "notes": notes}
