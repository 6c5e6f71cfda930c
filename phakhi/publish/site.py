"""Render the publication's static dashboard site (Jinja2 templates and assets in dashboards/).

The site opens from disk (file://) or any web server and loads nothing from another host: fonts, CSS, the
site's JS and plotly.js (written ONCE per publication to assets/plotly.min.js from the plotly package) all
live inside the publication. Every label exists in Thai and English (`<span lang="th">…<span lang="en">…`);
assets/site.js switches language and remembers the choice (localStorage, and `?lang=` on internal links).

Partner-supplied text is only ever inserted by Jinja with autoescape on, or inside JSON that
`script_json` has made safe to embed in a <script> element.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import shutil
import types
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, Template, Undefined, nodes, select_autoescape
from jinja2.compiler import CodeGenerator
from jinja2.runtime import Context
from markupsafe import Markup, escape

from phakhi import thai
from phakhi.publish.files import (csv_bytes, link_known, sharing_into, store_of, write_bytes, write_store_index,
                                  write_text)
from phakhi.publish.partner_csv import KnownFile, index_path, take_used
from phakhi.settings import DASHBOARDS_DIR
from phakhi.timing import milestone

log = logging.getLogger("phakhi.publish.site")

STATIC_DIR = DASHBOARDS_DIR / "static"


# ------------------------------------------------------------------ "not available yet"
@dataclass
class Unavailable:
    """A page or section whose data is not in this publication: shown as a note, never as an error."""
    th: str
    en: str
    detail: str = ""
    kind: str = ""          # e.g. "no_survey_wave": a reason the templates and tests can tell apart

    @classmethod
    def missing(cls, *tables: str) -> "Unavailable":
        names = ", ".join(tables)
        return cls(f"ตาราง {names} ยังไม่มีในคลังข้อมูลของฉบับนี้", f"{names} is not in this publication's warehouse yet")

    @classmethod
    def no_survey_wave(cls) -> "Unavailable":
        return cls("ยังไม่มีการนำเข้าข้อมูลการสำรวจความตระหนักรู้รอบใดเลย ฉบับนี้จึงยังไม่มีตัวเลขความตระหนักรู้ "
                   "ตัวเลขจะแสดงเมื่อนำเข้าข้อมูลการสำรวจรอบแรกแล้ว",
                   "No survey wave has been loaded yet, so this publication has no awareness figures; they will "
                   "appear once the first survey wave is loaded.", kind="no_survey_wave")

    @classmethod
    def because(cls, error: Exception, what: str = "") -> "Unavailable":
        if isinstance(error, NoSurveyWave):
            return cls.no_survey_wave()
        if isinstance(error, MissingData):
            return cls.missing(*error.tables)
        return cls("ข้อมูลส่วนนี้ยังเตรียมไม่ได้ (โครงสร้างตารางอาจกำลังเปลี่ยน)",
                   "this section's data could not be prepared (its table may be changing)",
                   f"{what}: {type(error).__name__}: {str(error)[:240]}")

    @property
    def unavailable(self) -> bool:      # templates: `{% if x.unavailable %}`
        return True


class MissingData(LookupError):
    def __init__(self, *tables: str):
        self.tables = tables
        super().__init__(", ".join(tables) + " missing")


class NoSurveyWave(LookupError):
    """The awareness marts are empty because no survey wave has been loaded (a first day on real data)."""

EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# Pages of the site, in navigation order: (page key, file, (Thai, English) title)
NAV = [
    ("overview", "index.html", ("ภาพรวม", "Overview")),
    ("national", "national.html", ("ความก้าวหน้าระดับประเทศ", "National progress")),
    ("partners", "partners.html", ("ภาคี", "Partners")),
    ("provinces", "provinces.html", ("จังหวัด", "Provinces")),
    ("ace", "ace.html", ("กิจกรรม ACE", "ACE activities")),
    ("awareness", "awareness.html", ("ความตระหนักรู้", "Awareness")),
    ("awareness_ace", "awareness-ace.html", ("ความตระหนักรู้กับกิจกรรม ACE", "Awareness and ACE")),
    ("practices", "practices.html", ("แนวปฏิบัติที่ดี", "Best practices")),
    ("network", "network.html", ("เครือข่ายภาคี", "Partner network")),
    ("quality", "quality.html", ("คุณภาพข้อมูล", "Data quality")),
    ("downloads", "downloads.html", ("ดาวน์โหลด", "Downloads")),
]

# Fixed labels shown on the dashboard: (Thai, English)
LABELS = {
    "title": ("ภาคี — ความก้าวหน้าของภาคีด้านการเปลี่ยนแปลงสภาพภูมิอากาศ", "Phakhi — climate partners' progress"),
    "site": ("ภาคี", "Phakhi"),
    "publisher": ("กรมการเปลี่ยนแปลงสภาพภูมิอากาศและสิ่งแวดล้อม (ทส.)", "Department of Climate Change and Environment (DCCE)"),
    "period": ("เดือนข้อมูล", "Data month"),
    "publication": ("ฉบับเผยแพร่", "Publication"),
    "sample": ("ข้อมูลตัวอย่าง (SAMPLE): ไม่ใช่ข้อมูลจริงของภาคีหรือผลสำรวจจริง",
               "SAMPLE DATA: not real partner or survey data"),
    "not_available": ("ยังไม่มีข้อมูลส่วนนี้", "Not available yet"),
    "on_track": ("เป็นไปตามเป้า", "On track"),
    "off_track": ("ต่ำกว่าเป้า", "Off track"),
    "no_data": ("ไม่มีข้อมูล", "No data"),
    "no_partners": ("ไม่มีภาคี", "No partners"),
    "partners": ("ภาคี", "Partners"),
    "search": ("ค้นหา", "Search"),
    "all": ("ทั้งหมด", "All"),
    "status": ("สถานะ", "Status"),
    "source_files": ("ไฟล์ต้นทาง", "Source files"),
    "file": ("ไฟล์", "File"),
    "row": ("แถว", "Row"),
    "withheld": ("ไม่เผยแพร่ (ผู้ตอบน้อยกว่าเกณฑ์)", "withheld (too few respondents)"),
    "lang_switch": ("English", "ภาษาไทย"),
    "footer": ("เผยแพร่โดยอัตโนมัติเมื่อข้อมูลผ่านการตรวจสอบคุณภาพทุกข้อ · ข้อมูลเปิดภายใต้สัญญาอนุญาต CC BY 4.0",
               "Published automatically only when every data-quality check passes · open data under CC BY 4.0"),
    "font_note": ("แบบอักษร Sarabun (SIL Open Font License 1.1)", "Font: Sarabun (SIL Open Font License 1.1)"),
}
STATUS = {k: LABELS[k] for k in ("on_track", "off_track", "no_data", "no_partners")}


# ------------------------------------------------------------------ formatting helpers (Jinja filters)
def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt(value, digits: int = 1) -> str:
    """A number with thousands separators; '–' when missing."""
    if type(value) is float:        # most cells (a dozen a partner page): no pandas question
        return "–" if value != value else f"{value:,.{digits}f}"
    if _missing(value):
        return "–"
    return f"{float(value):,.{digits}f}"


def thai_number(value, digits: int = 1) -> str:
    """A number in Thai digits with thousands separators."""
    return fmt(value, digits).translate(thai.ARABIC_TO_THAI)


def pct(value, digits: int = 0) -> str:
    """A ratio (0.87) as a percentage ('87%'); '–' when missing."""
    if _missing(value):
        return "–"
    return f"{float(value) * 100:,.{digits}f}%"


def signed(value, digits: int = 1) -> str:
    if _missing(value):
        return "–"
    return f"{float(value):+,.{digits}f}".replace("-", "−")


def be_year(year: int) -> int:
    return int(year) + 543


def period_label(period: str | None) -> tuple[str, str]:
    """'2025-12' -> ('ธ.ค. 2568', 'Dec 2025')."""
    if type(period) is str:          # a few dozen months, asked for ~100,000 times at national scale
        return _period_label_of(period)
    return _period_label(period)


@functools.lru_cache(maxsize=4096)
def _period_label_of(period: str) -> tuple[str, str]:
    return _period_label(period)


def _period_label(period) -> tuple[str, str]:
    if not period or not re.fullmatch(r"\d{4}-\d{2}", str(period)):
        return (str(period or "–"), str(period or "–"))
    y, m = map(int, str(period).split("-"))
    return f"{thai.month_name_th(m, abbr=True)} {y + 543}", f"{EN_MONTHS[m - 1]} {y}"


def date_label(value) -> tuple[str, str]:
    """'2025-03-01' -> ('1 มี.ค. 2568', '1 Mar 2025'): B.E. in Thai, C.E. in English; '–' when missing."""
    text = "" if _missing(value) else str(value)[:10]
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return (text or "–", text or "–")
    y, m, d = map(int, text.split("-"))
    return f"{d} {thai.month_name_th(m, abbr=True)} {y + 543}", f"{d} {EN_MONTHS[m - 1]} {y}"


def plain(value):
    """A value JSON can carry: NaN/NA -> None, numpy scalars -> Python, dates -> ISO strings."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:      # the common leaves first (chart specs, rows)
        return value
    if t is float:
        return value if math.isfinite(value) else None
    if t is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if t is list:
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return None if _missing(value) else value.isoformat()[:10]
    if _missing(value):
        return None
    return value


def _plain_column(col: pd.Series) -> list:
    """plain() of every value of a column, by the column's dtype (what `to_dict("records")` then plain() give)."""
    kind = col.dtype.kind
    if kind == "M" and isinstance(col.dtype, np.dtype):     # no Timestamp per value (a page's dates: ~8 a row)
        days = np.datetime_as_string(col.to_numpy(), unit="D").tolist()
        if all(len(v) == 10 or v == "NaT" for v in days):      # years 1000-9999: isoformat()[:10]'s text
            return [None if v == "NaT" else v for v in days]
    values = col.tolist()
    if kind in "iub" and not isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
        return values                                   # Python ints / bools already
    if kind == "f" and not isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
        isfinite = math.isfinite
        return [v if isfinite(v) else None for v in values]
    if kind == "M":
        return [None if v is pd.NaT else v.isoformat()[:10] for v in values]
    return [v if type(v) is str else plain(v) for v in values]


def plain_records(df: pd.DataFrame) -> list[dict]:
    """`[plain(r) for r in df.to_dict("records")]`, column by column (a tenth of the time on large tables)."""
    keys = [str(c) for c in df.columns]
    columns = [_plain_column(df.iloc[:, i]) for i in range(df.shape[1])]
    if not keys:
        return [{} for _ in range(len(df))]
    return [dict(zip(keys, row)) for row in zip(*columns)]


_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value) -> Markup:
    """JSON that is safe inside <script type="application/json">: `</script>`, `<!--` and `&` cannot end or
    change the element (escaped as \\u003c…), NaN becomes null (JSON.parse rejects NaN)."""
    try:        # a chart spec of plain Python values (str keys) is its own plain(): JSON without the walk
        text = _PLAIN_JSON.encode(value)
    except (TypeError, ValueError):     # numpy or pandas values, dates, NaN: made plain first
        text = json.dumps(plain(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for unsafe, safe in _SCRIPT_UNSAFE.items():
        if unsafe in text:
            text = text.replace(unsafe, safe)
    return Markup(text)


def _not_plain(value):
    raise TypeError(f"{type(value).__name__} is not plain")


# JSON of values plain() leaves as they are (str, int, bool, None, finite float, lists, tuples, dicts); any other
# value (_not_plain) or a non-finite float (allow_nan) raises, and script_json takes plain()'s path
_PLAIN_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_not_plain)


def partner_slug(partner_id) -> str:
    """File name (without .html) of a partner's page: ids are partner-supplied, so anything but letters,
    digits, '-' and '_' is replaced, with a short hash to keep different ids apart."""
    import hashlib

    pid = str(partner_id)
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", pid)[:60] or "partner"
    if safe != pid:
        safe += "-" + hashlib.sha256(pid.encode("utf-8")).hexdigest()[:8]
    return safe


# ------------------------------------------------------------------ labels (templates: m.t, m.tc, m.tt, m.year)
# Strings joined from escaped parts (markupsafe's escape; Markup's own % and + escape again, and cost more).
def _both(th, en) -> Markup:
    if type(th) is str and type(en) is str:     # labels repeat across rows and pages: made once
        return _both_text(th, en)
    return Markup(f'<span lang="th">{escape(th)}</span><span lang="en">{escape(en)}</span>')


@functools.lru_cache(maxsize=16384)
def _both_text(th: str, en: str) -> Markup:
    return Markup(f'<span lang="th">{escape(th)}</span><span lang="en">{escape(en)}</span>')


def _item(pair, i):
    """pair[i] as a template reads it: what cannot be indexed shows as nothing (jinja2's getitem)."""
    try:
        return pair[i]
    except (AttributeError, TypeError, LookupError):
        return ""


def label_t(pair) -> Markup:
    """A (Thai, English) pair as two spans (site.js shows one); a plain string as it is. Escaped as `{{ }}`."""
    if isinstance(pair, str):
        return escape(pair)
    return _both(_item(pair, 0), _item(pair, 1))


def label_tc(pair) -> Markup:
    """label_t for short repeated cells: a label that reads the same in both languages is written once."""
    if isinstance(pair, str):
        return escape(pair)
    th, en = _item(pair, 0), _item(pair, 1)
    return escape(th) if th == en else _both(th, en)


def label_tt(th, en) -> Markup:
    return _both(th, en)


def label_year(y) -> Markup:
    """A year: B.E. in Thai, C.E. in English; '–' when missing."""
    return _both(be_year(y), y) if y else Markup("–")


def label_light(color, label=None) -> Markup:
    c = escape(color)
    out = f'<span class="light light-{c}" role="img" aria-label="{c}"></span>'
    return Markup(f"{out} {label_t(label)}" if label else out)


def _cell(v, text) -> Markup:
    return Markup(f'<td class="n" data-v="{escape("" if v is None else v)}">{escape(text)}</td>')


def label_n(v, digits: int = 1) -> Markup:
    """A numeric table cell: data-v carries the raw value for sorting."""
    return _cell(v, fmt(v, digits))


def label_p(v, digits: int = 0) -> Markup:
    return _cell(v, pct(v, digits))


def label_th(pair, sort="text", cls="", col="") -> Markup:
    """A column header; with `sort`, a button site.js sorts the column by."""
    out = '<th scope="col"'
    if sort:
        out += f' data-sort="{escape(sort)}"'
    if col:
        out += f' data-col="{escape(col)}"'
    if cls:
        out += f' class="{escape(cls)}"'
    inner = label_t(pair)
    return Markup(f'{out}><button type="button">{inner}</button></th>' if sort else f"{out}>{inner}</th>")


def label_hash(hashes, file) -> Markup:
    """The start of a source file's digest beside its name (`hashes`: file -> SHA-256), or nothing."""
    h = hashes.get(file)
    return Markup(f' <span class="hash">#{escape(h[:12])}</span>') if h else Markup("")


def label_more_rows(t: dict, csv) -> Markup:
    """Under a partner page's table of its latest rows (`t`: {rows, total}): how many are shown, and the link to
    every row - one CSV file (a path) or monthly files ({href, label}), written as the year once, then each
    month's number ('พ.ศ. 2568 เดือน 1 2 3' / '2025, months 1 2 3'; the file names carry the ISO month)."""
    out = ['  <p class="small more-rows">']
    shown, total = len(t["rows"]), t["total"]
    if total > shown:
        out += [label_tt(f"แสดง {shown} รายการล่าสุดจาก {total} รายการ", f"Showing the latest {shown} of {total}"), " · "]
    if isinstance(csv, str):
        out += ['<a href="', escape(csv),
                '" download><span lang="th">ดาวน์โหลดทุกรายการ (CSV)</span><span lang="en">Download every row (CSV)</span></a>\n']
    elif csv:
        out.append('<span lang="th">ดาวน์โหลดทุกรายการ (CSV รายเดือน)</span><span lang="en">Download every row (CSV, by month)</span>:')
        year = ""
        for i, f in enumerate(csv):
            label, href = f["label"], f["href"]
            th, en, mm = label[0].rsplit(" ", 1), label[1].rsplit(" ", 1), href.rsplit("/", 1)[-1][5:7]
            if len(th) == 2 and len(en) == 2 and len(mm) == 2 and mm.isdigit():
                if en[1] != year:
                    year = en[1]
                    if i:
                        out.append(";")
                    out += [" ", label_tt(f"พ.ศ. {th[1]} เดือน", f"{en[1]}, months")]
                out += [' <a href="', escape(href), '" download>', str(int(mm)), "</a>"]
            else:
                out += [' <a href="', escape(href), '" download>', label_t(label), "</a>"]
    out.append("</p>\n")
    return Markup("".join(out))


def _field(r, name):
    """r.name as a template reads it (attribute, else item; missing: undefined, which shows as nothing)."""
    try:
        return getattr(r, name)
    except AttributeError:
        try:
            return r[name]
        except (TypeError, LookupError):
            return Undefined(obj=r, name=name)


def label_chart(c, label=None, lazy=False) -> Markup:
    """A chart's box: the div plotly draws into and its spec as JSON (script_json); nothing when `c` is empty.
    A Python function rather than a macro: a partner page draws three charts, 8,000 pages a month."""
    if not c:
        return Markup("")
    cid = escape(_field(c, "id"))
    name = escape(label[1] if label else _field(c, "id"))
    return Markup(f'<figure class="chart-box">\n  <div class="chart" id="{cid}" data-chart'
                  f'{" data-lazy" if lazy else ""} role="img" aria-label="{name}"></div>\n'
                  f'  <script type="application/json" id="{cid}-spec">{script_json(_field(c, "spec"))}</script>\n'
                  "</figure>\n")


def label_partner_link(root, r) -> Markup:
    pid = _field(r, "partner_id")
    name = label_tt(_field(r, "name_th") or pid, _field(r, "name_en") or pid)
    return Markup(f'<a href="{escape(root)}partners/{escape(partner_slug(pid))}.html">{name}</a>')


# ------------------------------------------------------------------ rendering
_DICT_ATTRIBUTES = frozenset(dir(dict))

try:                                    # markupsafe's escaping of a str, returning a str (no Markup made)
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover - another markupsafe: the public function, as Jinja calls it
    def _escape_inner(s: str) -> str:
        return str(escape(s))


def page_escape(value):
    """What `{{ value }}` writes with autoescape on - markupsafe's escape(value) - as a str: Jinja's own
    output calls escape(), which makes a Markup of every value written (and a new Markup of one already
    made), only for the page to join them into one string (~850 a partner page)."""
    t = type(value)
    if t is str:
        return _escape_inner(value)
    if t is Markup:
        return value
    return escape(value)


class PageCodeGenerator(CodeGenerator):
    """Jinja's code generator, writing an expression's output through page_escape (PageEnvironment)."""

    def _output_child_pre(self, node, frame, finalize) -> None:
        if frame.eval_ctx.autoescape and not frame.eval_ctx.volatile:
            self.write("environment.page_escape(")
            if finalize.src is not None:
                self.write(finalize.src)
            return
        super()._output_child_pre(node, frame, finalize)


_PLAIN_CALLABLES = frozenset({types.FunctionType, types.BuiltinFunctionType})    # a builtin, or bound C method


class PageContext(Context):
    """Jinja's context with a shorter path for calling a plain function (the label functions, str methods,
    dict.get: ~300 calls a partner page): what Context.call does for a callable that asks for no context,
    environment or eval context (no `jinja_pass_arg`), without looking that up twice through _PassArg."""

    def call(__self, __obj, *args, **kwargs):  # noqa: N805 - Context.call's own signature
        if type(__obj) in _PLAIN_CALLABLES and not hasattr(__obj, "jinja_pass_arg"):
            if kwargs:
                kwargs.pop("_block_vars", None)
                kwargs.pop("_loop_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __self.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception")
        return super().call(__obj, *args, **kwargs)


class PageTemplate(Template):
    """Jinja's template, importing the macros module (`{% import "_macros.html.j2" as m %}`: four times a
    partner page) without Jinja's question of which globals of the importing page the module lacks - a set
    difference against a ChainMap's keys, walked in Python. When every global of the page is an environment
    global (as on every page here), every template of the environment has it: there is none, and Jinja's
    answer is the module it cached, which this gives at once."""

    def _get_default_module(self, ctx: Context | None = None):
        if ctx is not None and ctx.globals_keys <= self.environment.globals.keys():
            ctx = None
        return super()._get_default_module(ctx)


class PageEnvironment(Environment):
    """Jinja's environment with a faster `x.name` on the page dicts (ten thousand pages a month, each reading a
    few thousand fields): Jinja tries getattr(x, name) first and takes x[name] when that raises AttributeError.
    A plain dict has no attribute but dict's own (no instance __dict__), so for any other name the item is
    what Jinja gives - looked up directly, without raising and catching an AttributeError. Output goes through
    page_escape (PageCodeGenerator) and plain functions are called by PageContext: the same text, cheaper."""

    code_generator_class = PageCodeGenerator
    context_class = PageContext
    template_class = PageTemplate
    page_escape = staticmethod(page_escape)

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        try:                                # Environment.getattr's first step (e.g. m.tt), without its call
            return getattr(obj, attribute)
        except AttributeError:
            return super().getattr(obj, attribute)

    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        fold_constant_labels(tree, self)
        return tree


MACROS = "_macros.html.j2"
# label functions whose markup depends only on their arguments: a call with constant arguments (a heading, a
# column header) is written into the compiled template as its text
_PURE_LABELS = ("label_t", "label_tc", "label_tt", "label_th", "label_year")


def _label_aliases(env: Environment) -> dict[str, object]:
    """The names _macros.html.j2 binds to a pure label function at its top level (`{% set tt = label_tt %}`):
    name -> the function (the environment's global)."""
    try:
        source = env.loader.get_source(env, MACROS)[0]
    except Exception:  # noqa: BLE001 - no macros template (e.g. a test's loader): nothing to fold
        return {}
    out = {}
    for node in Environment._parse(env, source, MACROS, None).body:
        if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name) \
                and isinstance(node.node, nodes.Name) and node.node.name in _PURE_LABELS \
                and node.node.name in env.globals:
            out[node.target.name] = env.globals[node.node.name]
    return out


def _const_args(call: nodes.Call) -> tuple | None:
    if call.kwargs or call.dyn_args or call.dyn_kwargs:
        return None
    out = []
    for a in call.args:
        if isinstance(a, nodes.Const):
            out.append(a.value)
        elif isinstance(a, nodes.Tuple) and all(isinstance(i, nodes.Const) for i in a.items):
            out.append(tuple(i.value for i in a.items))
        else:
            return None
    return tuple(out)


def fold_constant_labels(tree: nodes.Template, env: Environment) -> None:
    """`{{ m.tt("…", "…") }}` and `{{ m.th(("…", "…"), "num", "n") }}` - a pure label function of the macros
    module `m` called with constant arguments - become the text they write (~70 calls a partner page). Only
    where `m` is that import at the template's top level and never bound to anything else."""
    imports = {n.target for n in tree.body if isinstance(n, nodes.Import) and isinstance(n.template, nodes.Const)
               and n.template.value == MACROS}
    if not imports:
        return
    rebound = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    rebound |= {n.target for n in tree.find_all(nodes.Import)
                if not (isinstance(n.template, nodes.Const) and n.template.value == MACROS)}
    rebound |= {name for n in tree.find_all(nodes.FromImport) for x in n.names
                for name in ([x[1] or x[0]] if isinstance(x, tuple) else [x])}
    modules = imports - rebound
    aliases = _label_aliases(env) if modules else {}
    if not aliases:
        return
    for out in tree.find_all(nodes.Output):
        for i, child in enumerate(out.nodes):
            if not (isinstance(child, nodes.Call) and isinstance(child.node, nodes.Getattr)
                    and isinstance(child.node.node, nodes.Name) and child.node.node.name in modules
                    and child.node.attr in aliases):
                continue
            args = _const_args(child)
            if args is None:
                continue
            text = nodes.TemplateData(str(aliases[child.node.attr](*args)), lineno=child.lineno)
            text.set_environment(env)
            out.nodes[i] = text


def make_env(status_labels: dict | None = None) -> Environment:
    # auto_reload off: one publication renders thousands of pages from templates that do not change meanwhile
    # (no stat of every template, import and include per page)
    env = PageEnvironment(loader=FileSystemLoader(DASHBOARDS_DIR), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(fmt=fmt, thai_number=thai_number, be_year=be_year, pct=pct, signed=signed,
                       script_json=script_json, period_label=period_label, date_label=date_label, slug=partner_slug)
    env.globals.update(L=LABELS, STATUS=STATUS, NAV=NAV, label_t=label_t, label_tc=label_tc, label_tt=label_tt,
                       label_year=label_year, label_light=label_light, label_n=label_n, label_p=label_p,
                       label_th=label_th, label_partner_link=label_partner_link, label_hash=label_hash,
                       label_more_rows=label_more_rows, label_chart=label_chart)
    if status_labels:          # code meanings from dash_labels (the seeds) win over the fallbacks
        env.globals["STATUS"] = {**STATUS, **{k: tuple(v) for k, v in status_labels.items()}}
    return env


_WORKER_ENVS: dict[str, Environment] = {}
# what a worker's partner ranges keep for its next range (pages.worker_warehouse registers how to drop it): a
# worker given pages of the site's own (render_static_pages) renders no further range - those tasks are queued
# after every range - so it drops that first, and its peak stays what one range holds
WORKER_RELEASE: list = []


def worker_env(status_labels: dict | None = None) -> Environment:
    """make_env(status_labels), made once per partner_pool worker process: its tasks (ranges of partner pages,
    pages of the practices list: a dozen at national scale) share the compiled templates (~0.2 s each). Only
    in a worker, which lives for one publication: the templates do not change meanwhile."""
    key = json.dumps(status_labels or {}, sort_keys=True, default=str)
    if key not in _WORKER_ENVS:
        _WORKER_ENVS[key] = make_env(status_labels)
    return _WORKER_ENVS[key]


def write_assets(out_dir: Path) -> Path:
    """assets/: the site's CSS/JS, the Sarabun webfont, and plotly.js (once per publication)."""
    assets = out_dir / "assets"
    if assets.exists():
        shutil.rmtree(assets)
    shutil.copytree(STATIC_DIR, assets, ignore=shutil.ignore_patterns("README.md"))
    from plotly.offline import get_plotlyjs

    write_text(assets / "plotly.min.js", get_plotlyjs())
    return assets


def write_csv(frame: pd.DataFrame | bytes, path: Path | str) -> Path | str:
    """A small per-page data file (e.g. one partner's claims for a month), UTF-8 with BOM: a frame, or the CSV
    bytes already formatted (pages.PartnerMonthCsv). The caller has neutralised spreadsheet formulas
    (once per table, not once per partner)."""
    if isinstance(frame, KnownFile):        # bytes an earlier publication stored: a link, else formatted now
        if not link_known(path, frame.sha256, frame.size):
            write_bytes(path, frame.fetch())
        return path
    return write_bytes(path, frame if isinstance(frame, bytes) else csv_bytes(frame))


LISTS_DIR = "lists"


def write_list_index(out_dir: Path, name: str, index: dict) -> Path:
    """lists/<name>.js: a list page's search index, as a script (so it loads from disk - file:// - as well as
    from a web server, under the site's Content-Security-Policy: script-src 'self'). The JSON is inert data:
    assets/site.js reads it from window.PhakhiLists; partner text in it is only ever set as textContent."""
    text = json.dumps(plain(index), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_UNSAFE[m.group(0)], text)
    return write_text(out_dir / LISTS_DIR / f"{name}.js",
                      f"(window.PhakhiLists=window.PhakhiLists||{{}})[{json.dumps(name)}]={text};\n")


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), max(1, size))] or [[]]


def _unavailable_page(page: str, error: Exception) -> dict:
    return {"unavailable": Unavailable.because(error, what=page)}


def render_page(env: Environment, template: str, path: Path, page_key: str, root: str, data: dict, ctx: dict,
                common: dict, notes: list, strict: bool = False) -> Path:
    """Write one page. A page whose data could not be prepared shows a 'not available yet' note (added to
    `notes`, listed on the quality page) instead of breaking the site; with strict=True (tests) it raises."""
    try:
        html = env.get_template(template).render(**ctx, page=page_key, root=root, d=data)
    except Exception as exc:  # noqa: BLE001 - the site never breaks on one page's data
        if strict:
            raise
        log.warning("page %s could not be rendered: %s", path.name, exc)
        notes.append({"page": page_key, "th": "หน้านี้สร้างไม่สำเร็จ",
                      "en": "this page could not be rendered", "detail": str(exc)[:300]})
        html = env.get_template("unavailable.html.j2").render(
            **common, page=page_key, root=root, d=_unavailable_page(page_key, exc))
    return write_text(path, html)


def partner_context(common: dict) -> dict:
    """Partner pages carry no publication id (the header shows the data month): a partner whose page did not
    change gets byte-identical files, which later publications share (files.share_unchanged_files)."""
    return {**common, "meta": {**common["meta"], "pub_id": None}}


def write_partner_pages(out_dir: Path, stream, env: Environment, common: dict, notes: list,
                        strict: bool = False) -> list[Path]:
    """Write each partner page of `stream` - with its small data files - as soon as it is built, then drop it."""
    ctx = partner_context(common)
    written = []
    base = os.fspath(out_dir) + os.sep      # ~20 small files a partner: their names as strings, no Path each
    # in a publication being built, a page or file a new month did not change becomes another name of the
    # stored copy at once (files.sharing_into): most partners' files, at national scale
    with sharing_into(store_of(out_dir)):
        for slug, data in (stream.items() if isinstance(stream, dict) else stream):
            for rel, frame in data.pop("files", []):
                write_csv(frame, base + rel)
            written.append(render_page(env, "partner.html.j2", out_dir / "partners" / f"{slug}.html", "partners",
                                       "../", data, ctx, common, notes, strict))
    return written


def render_site(out_dir: Path, site: dict, *, strict: bool = False, workers: int | None = None) -> list[Path]:
    """Write every page of the site into out_dir. `site` comes from phakhi.publish.pages.site_context; its
    partner pages may be a generator (each page is written as soon as it is built).

    Partner pages are rendered by a pool of worker processes when the site was read from a warehouse file
    and there are enough partners (phakhi.publish.partner_pool; `workers`, default PHAKHI_PUBLISH_WORKERS or
    one per core; workers=1: in this process). The other pages are rendered here meanwhile. The files are the
    same bytes either way.

    A page whose data could not be prepared shows a 'not available yet' note instead of breaking the site;
    with strict=True (tests) a template error is raised instead of replaced by that note. The warehouse
    connection site_context kept open (`site["close"]`) is closed once every page is written.
    `site["partner_workers"]`: the pool's processes if already started (partner_pool.prestart)."""
    try:
        return _render_site(out_dir, site, strict, workers)
    finally:
        if site.get("close") is not None:
            site["close"]()


def _render_site(out_dir: Path, site: dict, strict: bool, workers: int | None) -> list[Path]:
    from phakhi.publish import partner_pool

    out_dir = Path(out_dir)
    notes = site.setdefault("notes", [])
    common = {"meta": site["meta"], "notes": notes}
    written: list[Path] = []
    pages = site["pages"]
    if partner_pool.workers_for(site.get("partner_job"), workers) > 1:
        # rendered by the workers: this process drops its own (unstarted) stream, and with it the tables only
        # the partner pages use, before they start
        stream = pages.pop("partner_pages", None)
        if hasattr(stream, "close"):
            stream.close()
        del stream
    take_used()                      # the per-partner file index entries of this publication only
    # the workers first (the longest part): this process writes the assets and the other pages meanwhile
    pool = partner_pool.start(out_dir, site.get("partner_job"), common, strict, workers, site.get("partner_workers"))
    env = make_env(site.get("status_labels"))
    write_assets(out_dir)

    def render(template: str, path: Path, page_key: str, root: str, data: dict) -> None:
        written.append(render_page(env, template, path, page_key, root, data, common, common, notes, strict))

    if pool is None:
        written += write_partner_pages(out_dir, pages.get("partner_pages") or (), env, common, notes, strict)
    first_note = len(notes)          # partner pages' notes come first, as when they are rendered here
    later: list[tuple[int, int, object]] = []       # (position in written, in notes, pages the workers render)

    def submit(jobs: list[tuple]) -> None:           # a long paged list: rendered by the workers too
        later.append((len(written), len(notes), pool.render_pages(
            render_static_pages, str(out_dir), jobs, site.get("status_labels"), {"meta": site["meta"]}, strict)))

    milestone("publish: other pages render")
    try:
        _render_pages(out_dir, pages, render, submit if pool is not None else None)
    except BaseException:
        if pool is not None:
            pool.abandon()
        raise
    milestone("publish: other pages rendered")
    if pool is not None:
        partner_written, partner_notes, static = pool.finish()
        milestone("publish: partner pages done")
        for (at_file, at_note, _), (paths, part_notes) in reversed(list(zip(later, static))):
            written[at_file:at_file] = paths
            notes[at_note:at_note] = part_notes
        written[0:0] = partner_written
        notes[first_note:first_note] = partner_notes
    # which bytes each per-partner file's rows gave: the next publication links them without formatting
    write_store_index(index_path(store_of(out_dir)), take_used())
    if site.get("before_quality") is not None:      # e.g. dbt's documentation, generated meanwhile (build.py)
        site["before_quality"]()
    render("quality.html.j2", out_dir / "quality.html", "quality", "", pages.get("quality") or {})
    return written


STATIC_PAGES_PER_TASK = 40      # pages of a long list a worker renders per task (submit in _render_pages)


def _render_pages(out_dir: Path, pages: dict, render, submit=None) -> None:
    """Every page of NAV but the quality page (and the partner pages). With `submit`, the pages of a long list
    (the curated practices: 320 pages at national scale) go to the partner pages' workers, a few dozen a task
    (the page data without the list's search index, which this process writes)."""
    for key, file, _title in NAV:
        if key == "quality":
            continue          # rendered last: it lists the notes of every other page
        data = pages.get(key) or {}
        for name, index in (data.get("lists") or {}).items():
            write_list_index(out_dir, name, index)
        if data.get("page_size") and "cases" in data:          # a long list of rich items: static pages
            jobs = []
            shared = {k: v for k, v in data.items() if k not in ("cases", "lists")} if submit else data
            for n, chunk in enumerate(chunks(data["cases"], data["page_size"]), start=1):
                page_file = file if n == 1 else f"{file[:-5]}-{n}.html"
                page = {**shared, "cases": chunk, "pager": {"page": n, "pages": -(-len(data["cases"]) // data["page_size"]),
                                                            "first": (n - 1) * data["page_size"] + 1}}
                if submit is None:
                    render(f"{file}.j2", out_dir / page_file, key, "", page)
                else:
                    jobs.append((f"{file}.j2", page_file, key, "", page))
            for i in range(0, len(jobs), STATIC_PAGES_PER_TASK):
                submit(jobs[i:i + STATIC_PAGES_PER_TASK])
            continue
        render(f"{file}.j2", out_dir / file, key, "", data)


def render_static_pages(out_dir: str, jobs: list[tuple], status_labels: dict | None, common: dict,
                        strict: bool) -> tuple[list[str], list[dict]]:
    """In a partner_pool worker: pages of the site's own (template, file, page key, root, data), rendered as
    render_site renders them here; returns the files written and the notes of pages that could not be."""
    milestone(f"publish: {len(jobs)} static pages start")
    for release in WORKER_RELEASE:
        release()
    env = worker_env(status_labels)
    notes: list[dict] = []
    ctx = {**common, "notes": notes}
    written = [str(render_page(env, template, Path(out_dir) / file, key, root, data, ctx, ctx, notes, strict))
               for template, file, key, root, data in jobs]
    milestone(f"publish: {len(jobs)} static pages end")
    return written, notes
