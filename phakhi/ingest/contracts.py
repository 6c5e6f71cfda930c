"""Source contracts (sources/contracts/*.yml): what a file of each source family must hold.

`apply_contract` turns one sheet of raw cells into typed rows that pass the contract, plus one quarantine
record per failing cell or rule. Every non-blank data row ends up in exactly one of the two.

Speed matters (thousands of partner files a month, see benchmarks/ingest.py): each column gets a compiled
parser that memoises text values (provinces, months, coded answers repeat), row checks are compiled from
their expression once, and no pandas object is built per file.

Rules a quarantine record can carry (the `rule` column):
    required, type, integer, range, pattern, date, period, year, province, allowed_values, unit   (one cell)
    reference (unknown partner), duplicate_key, not_a_data_row, and each contract check's own rule (a row)
Whole-file rejections (the file report's `rule`): file_type, empty_file, not_text, encoding, malformed_csv,
unreadable, encrypted, no_table, missing_columns, no_data.
"""
from __future__ import annotations

import ast
import math
import operator
from itertools import compress, repeat
from operator import itemgetter
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Callable

from phakhi import thai
from phakhi.settings import CONTRACTS_DIR
from phakhi.ingest.readers import Sheet, Table, find_table, header_key, header_keys, is_blank
from phakhi.survey.instrument import load_instrument
from phakhi.yaml_files import read_yaml

TYPES = ("string", "integer", "number", "likert", "year", "date", "period", "province", "enum")


class CellError(ValueError):
    def __init__(self, rule: str, message_en: str, message_th: str, expected: str = ""):
        super().__init__(message_en)
        self.rule, self.message_en, self.message_th, self.expected = rule, message_en, message_th, expected


@dataclass
class Column:
    name: str
    type: str
    required: bool = False
    aliases: list[str] = field(default_factory=list)
    allowed: list[str] | None = None
    value_aliases: dict[str, str] = field(default_factory=dict)
    labels_en: dict[str, str] = field(default_factory=dict)       # code -> English label (template, report)
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    upper: bool = False                 # ids: "p001" -> "P001"
    private: bool = False               # never published: masked in quarantine records
    label_th: str | None = None
    label_en: str | None = None
    unit: str | None = None
    unit_aliases: dict[str, float] = field(default_factory=dict)   # unit written after a number -> multiplier
    units: dict[str, dict] = field(default_factory=dict)           # enum of unit codes: code -> meaning (GHG)
    missing_codes: tuple[int, ...] = ()
    # plausibility (issue 12): integers must fit the warehouse column (INTEGER = 32 bits unless int_bits: 64);
    # a year/date/period may be in the future only when allow_future (a pledge target, not an inventory)
    int_bits: int = 32
    allow_future: bool = True
    help_en: str | None = None
    help_th: str | None = None
    example: object = None
    _parse: Callable | None = field(default=None, repr=False, compare=False)
    _cells: dict | None = field(default=None, repr=False, compare=False)     # type_column's caches
    _dates: dict | None = field(default=None, repr=False, compare=False)
    _typing: tuple | None = field(default=None, repr=False, compare=False)   # type_column's constants

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"contract column {self.name}: unknown type {self.type!r} (one of {', '.join(TYPES)})")

    # ---- labels
    def label(self, lang: str = "th") -> str:
        if lang == "th":
            return self.label_th or self.label_en or self.name
        return self.label_en or self.name.replace("_", " ").capitalize()

    def value_label(self, code: str, lang: str = "th") -> str:
        """The label a person picks for an enum code: the first Thai alias (th) or the English label (en)."""
        if lang == "th":
            for alias, target in self.value_aliases_raw.items():
                if target == code and re.search(r"[\u0e00-\u0e7f]", alias):
                    return alias
        return self.labels_en.get(code) or code.replace("_", " ").capitalize()

    @property
    def value_aliases_raw(self) -> dict[str, str]:
        return getattr(self, "_value_aliases_raw", self.value_aliases)

    # ---- parsing
    def parse(self, value: object) -> object:
        if self._parse is None:
            self._parse = _compile_parser(self)
        return self._parse(value)


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return thai.thai_digits_to_arabic(str(value)).strip()


_CACHE_LIMIT = 20000               # entries per parse cache (cleared when full)


def _attempt(fn: Callable[[object], object], value) -> tuple[bool, object]:
    """fn(value) as (True, result) or (False, its CellError): what every parse cache here keeps."""
    try:
        return True, fn(value)
    except CellError as err:
        return False, err


def _keep(cache: dict, key, hit, limit: int = _CACHE_LIMIT):
    """`hit` stored in a parse cache under `key` (the cache emptied first when full); returns `hit`."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = hit
    return hit


def _memo(fn: Callable[[object], object], limit: int = _CACHE_LIMIT) -> Callable[[object], object]:
    """Memoise a parser on text input (results and errors); other inputs go straight through."""
    cache: dict[str, tuple[bool, object]] = {}

    def parse(value):
        if value.__class__ is not str:
            return fn(value)
        hit = cache.get(value)
        if hit is None:
            hit = _keep(cache, value, _attempt(fn, value), limit)
        if hit[0]:
            return hit[1]
        err = hit[1]
        raise CellError(err.rule, err.message_en, err.message_th, err.expected)

    parse.raw = fn               # the column-wise typing (type_column) keeps its own cache of results
    return parse


def _compile_parser(col: Column) -> Callable[[object], object]:
    t = col.type
    if t == "string":
        rx = re.compile(col.pattern) if col.pattern else None

        def p_string(value):
            if value.__class__ is str:
                text = value.strip()
            else:
                text = _as_text(value)
            if rx is not None:
                text = thai.thai_digits_to_arabic(text).replace(" ", "")
                if col.upper:
                    text = text.upper()
                if not rx.fullmatch(text):
                    raise CellError("pattern", f"'{text}' does not have the expected form",
                                    f"'{text}' ไม่อยู่ในรูปแบบที่กำหนด", f"pattern {col.pattern}")
            return text
        return _memo(p_string)

    if t in ("number", "integer", "likert"):
        units = {header_key(k): float(v) for k, v in (col.unit_aliases or {}).items()}
        if col.unit:
            units.setdefault(header_key(col.unit), 1.0)
        lo, hi, whole = col.min, col.max, t in ("integer", "likert")
        int_limit = 2 ** (63 if col.int_bits == 64 else 31) - 1

        def p_number(value):
            cls = value.__class__
            if cls is float or cls is int:
                out = float(value)
                if math.isnan(out) or math.isinf(out):
                    raise CellError("type", f"'{value}' is not a number", f"'{value}' ไม่ใช่ตัวเลข", "a number")
            else:
                try:
                    out, unit = thai.parse_quantity(value)
                except (thai.ThaiParseError, TypeError) as exc:
                    en = getattr(exc, "message_en", f"'{value}' is not a number")
                    th = getattr(exc, "message_th", f"'{value}' ไม่ใช่ตัวเลข")
                    raise CellError("type", en, th, "a number, e.g. 1,234.5") from None
                if out is None:
                    raise CellError("type", f"'{value}' is not a number", f"'{value}' ไม่ใช่ตัวเลข", "a number")
                if unit:
                    factor = units.get(header_key(unit))
                    if factor is None:
                        want = col.unit or "no unit"
                        raise CellError("unit", f"'{value}': the unit '{unit}' is not this column's unit ({want})",
                                        f"'{value}': หน่วย '{unit}' ไม่ตรงกับหน่วยของคอลัมน์นี้ ({want})",
                                        f"a number in {want}")
                    out *= factor
            if not math.isfinite(out):
                raise CellError("type", f"'{value}' is not a finite number (it overflows to infinity)",
                                f"'{value}' ไม่ใช่ตัวเลขที่ใช้ได้ (ค่าใหญ่เกินจนเป็นอนันต์)", "a finite number")
            if whole:
                if not out.is_integer():
                    raise CellError("integer", f"'{value}' is not a whole number", f"'{value}' ไม่ใช่จำนวนเต็ม",
                                    "a whole number")
                if abs(out) > int_limit:
                    raise CellError("range", f"{_show_big(value)} is too large for a count (at most {int_limit:,})",
                                    f"{_show_big(value)} มีค่าเกินกว่าจำนวนนับที่รับได้ (ไม่เกิน {int_limit:,})",
                                    f"a whole number up to {int_limit:,}")
                out = int(out)
                if t == "likert":
                    if out in col.missing_codes:
                        return out
                    if not (lo <= out <= hi):
                        raise CellError("range", f"answer code {out} is neither a scale point nor a missing code",
                                        f"รหัสคำตอบ {out} ไม่อยู่ในมาตรวัดและไม่ใช่รหัสไม่ตอบ",
                                        f"{lo:g}–{hi:g} or {', '.join(map(str, col.missing_codes))}")
                    return out
            if lo is not None and out < lo:
                raise CellError("range", f"{out:,.15g} is below the minimum {lo:,.15g}",
                                f"{out:,.15g} ต่ำกว่าค่าต่ำสุด {lo:,.15g}", f">= {lo:,.15g}")
            if hi is not None and out > hi:
                raise CellError("range", f"{out:,.15g} is above the maximum {hi:,.15g}",
                                f"{out:,.15g} สูงกว่าค่าสูงสุด {hi:,.15g}", f"<= {hi:,.15g}")
            return out
        return _memo(p_number)

    if t == "year":
        def p_year(value):
            era = None
            if isinstance(value, (date, datetime)):
                n = value.year
            elif isinstance(value, str):
                text = thai.thai_digits_to_arabic(value)
                if re.search(r"ค\.?\s?ศ\.?|\bC\.?E\b|\bA\.?D\b", text):
                    era = "CE"
                m = re.fullmatch(r"\s*(?:พ\.?\s?ศ\.?|ค\.?\s?ศ\.?|B\.?E\.?|C\.?E\.?|A\.?D\.?)?\s*(\d{4})(?:\.0+)?\s*", text)
                if not m:
                    raise CellError("year", f"'{value}' is not a year", f"'{value}' ไม่ใช่ปี", "a year, e.g. 2567 or 2024")
                n = int(m.group(1))
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
                n = int(value)
            else:
                raise CellError("year", f"'{value}' is not a year", f"'{value}' ไม่ใช่ปี", "a year, e.g. 2567 or 2024")
            try:
                year = n if era == "CE" else thai.be_to_ce_year(n)
            except thai.ThaiParseError:            # a negative number: not a year (was a traceback)
                raise CellError("year", f"'{value}' is not a year", f"'{value}' ไม่ใช่ปี",
                                "a year, e.g. 2567 or 2024") from None
            if not 1990 <= year <= 2100:
                raise CellError("range", f"year {value} is out of range", f"ปี {value} อยู่นอกช่วงที่รับได้",
                                "1990–2100 (CE) or 2533–2643 (B.E.)")
            if not col.allow_future and year > date.today().year:
                this = date.today().year
                raise CellError("range", f"year {value} ({year} CE) is in the future",
                                f"ปี {value} (ค.ศ. {year}) เป็นปีในอนาคต",
                                f"a year up to {this} CE / {this + 543} B.E.")
            return year
        return _memo(p_year)

    if t in ("date", "period"):
        parse, what_en, what_th, expected = {
            "date": (thai.parse_thai_date, "a date", "วันที่", "a date, e.g. 15/03/2567 or 15 มี.ค. 2567 or 2024-03-15"),
            "period": (thai.parse_period, "a month", "เดือนที่รายงาน", "a month, e.g. มี.ค. 2567 or 2024-03"),
        }[t]

        def p_thai_date(value):
            try:
                out = parse(value)
            except (ValueError, TypeError, OverflowError) as exc:
                raise CellError(t, getattr(exc, "message_en", f"'{value}' is not {what_en}"),
                                getattr(exc, "message_th", f"'{value}' ไม่ใช่{what_th}"), expected) from None
            check_calendar(col, value, out)
            return out
        return _memo(p_thai_date)

    if t == "province":
        def p_province(value):
            code = thai.normalize_province(value) if isinstance(value, str) else None
            if code is None:
                raise CellError("province", f"'{value}' is not a Thai province name", f"'{value}' ไม่ใช่ชื่อจังหวัด",
                                "one of the 77 provinces, in Thai or English (e.g. กรุงเทพฯ, Chiang Mai)")
            return code
        return _memo(p_province)

    # enum
    index: dict[str, str] = {}
    for code in col.allowed or []:
        index[header_key(code)] = code
    for code, label in (col.labels_en or {}).items():
        index.setdefault(header_key(code), code)
        index.setdefault(header_key(label), code)
    for alias, code in col.value_aliases_raw.items():
        index[header_key(alias)] = code
    for k, code in list(index.items()):          # also without brackets: "ลิตร (ดีเซล)" = "ลิตรดีเซล"
        index.setdefault(_unbracket(k), code)
    allowed_text = ", ".join(col.allowed or [])

    def p_enum(value):
        text = _as_text(value)
        key = header_key(text)
        code = index.get(key)
        if code is None:
            code = index.get(_unbracket(key))
        if code is None:         # "1. การศึกษา (Education)": without its numbering and its bracketed gloss
            bare = header_key(_ENUM_PARENS.sub(" ", _ENUM_NUMBERING.sub("", text)))
            code = index.get(bare) if bare else None
        if code is None:
            raise CellError("allowed_values", f"'{text}' is not an allowed value", f"'{text}' ไม่ใช่ค่าที่กำหนด",
                            "one of: " + allowed_text)
        return code
    return _memo(p_enum)


EARLIEST_YEAR = 1990          # nothing Phakhi receives is dated before the UNFCCC era
MONTHS_AHEAD = 12            # a month more than a year ahead is a typo (a B.E./C.E. slip), not a plan


def check_calendar(col: Column, value: object, out: object) -> None:
    """A date or month must fall in the calendar range Phakhi can hold: not before 1990 (a B.E. year typed
    wrong, e.g. 2468 -> 1925) and not more than a year ahead (or not in the future at all unless
    allow_future). Raises CellError with what was read and what was expected."""
    year, month = (int(out[:4]), int(out[5:7])) if isinstance(out, str) else (out.year, out.month)
    today = date.today()
    ahead = 0 if not col.allow_future else MONTHS_AHEAD
    limit_y, limit_m = divmod(today.year * 12 + today.month - 1 + ahead, 12)
    limit_m += 1
    shown = out if isinstance(out, str) else out.isoformat()
    if year < EARLIEST_YEAR:
        raise CellError("range", f"'{value}' reads as {shown} ({year + 543} B.E.), before {EARLIEST_YEAR}: is the "
                        "year mistyped?", f"'{value}' อ่านได้เป็น {shown} (พ.ศ. {year + 543}) ก่อนปี ค.ศ. {EARLIEST_YEAR} "
                        "กรุณาตรวจปีที่พิมพ์", f"a date from {EARLIEST_YEAR} (B.E. {EARLIEST_YEAR + 543}) on")
    if (year, month) > (limit_y, limit_m):
        raise CellError("range", f"'{value}' reads as {shown}, later than {limit_y:04d}-{limit_m:02d}: is the year "
                        "mistyped?", f"'{value}' อ่านได้เป็น {shown} ซึ่งเกิน {limit_y:04d}-{limit_m:02d} กรุณาตรวจปีที่พิมพ์",
                        f"a date up to {limit_y:04d}-{limit_m:02d}")


def _show_big(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return str(value)[:40]


_BRACKETS = str.maketrans("", "", "()[]（）")
_ENUM_NUMBERING = re.compile(r"^\s*[(（]?\s*[0-9๐-๙]{1,2}\s*[.)）]\s*")
_ENUM_PARENS = re.compile(r"[(\[（][^)\]）]*[)\]）]")


def _unbracket(key: str) -> str:
    return key.translate(_BRACKETS)


# --------------------------------------------------------------------------- row checks

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}


def _and(values):
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values):
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _ym(d):
    return None if d is None else f"{d.year:04d}-{d.month:02d}"


def compile_check(expr: str, columns: set[str]) -> Callable[[dict], object]:
    """A row check's expression as a function of one record. Grammar: column names, numbers, strings,
    + - * /, comparisons, & | ~ (and/or/not), x.notna(), x.isna(), ym(date) -> 'YYYY-MM'.
    Three-valued: anything touching a blank (None) is unknown (None), and only False fails a check."""

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            return lambda r: v
        if isinstance(node, ast.Name):
            if node.id not in columns:
                raise ValueError(f"check {expr!r}: unknown column {node.id!r}")
            name = node.id
            return lambda r: r.get(name)
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            f, a, b = _BIN[type(node.op)], build(node.left), build(node.right)

            return lambda r: _arith_one(f, a(r), b(r))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            a, b, comb = build(node.left), build(node.right), _and if isinstance(node.op, ast.BitAnd) else _or
            return lambda r: comb([_truth(a(r)), _truth(b(r))])
        if isinstance(node, ast.BoolOp):
            parts, comb = [build(v) for v in node.values], _and if isinstance(node.op, ast.And) else _or
            return lambda r: comb([_truth(p(r)) for p in parts])
        if isinstance(node, ast.UnaryOp):
            a = build(node.operand)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return lambda r: None if (v := _truth(a(r))) is None else not v
            if isinstance(node.op, ast.USub):
                return lambda r: None if (v := a(r)) is None else -v
        if isinstance(node, ast.Compare):
            first, rest = build(node.left), [(_CMP[type(o)], build(c)) for o, c in zip(node.ops, node.comparators)]

            def compare(r):
                x, out = first(r), True
                for f, g in rest:
                    y = g(r)
                    if x is None or y is None:
                        return None
                    try:
                        if not f(x, y):
                            out = False
                    except TypeError:
                        return None
                    x = y
                return out
            return compare
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args \
                and node.func.attr in ("notna", "isna"):
            a, want = build(node.func.value), node.func.attr == "notna"
            return lambda r: (a(r) is not None) == want
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ym" and len(node.args) == 1:
            a = build(node.args[0])
            return lambda r: _ym(a(r))
        raise ValueError(f"check {expr!r}: unsupported expression {ast.dump(node)[:80]}")

    return build(ast.parse(expr, mode="eval"))


def compile_check_columns(expr: str) -> Callable[[Callable[[str], list], int], list]:
    """A row check's expression over whole columns: f(column, n) -> the n rows' results, each what
    `compile_check`'s function gives that row (three-valued, the same None rules and caught errors). Any
    other error raises; the caller then evaluates that check row by row, so a row's outcome never depends
    on another row's values."""

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            return lambda col, n: [v] * n
        if isinstance(node, ast.Name):
            name = node.id
            return lambda col, n: col(name)
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            f, a, b = _BIN[type(node.op)], build(node.left), build(node.right)

            def arith(col, n):
                xs, ys = a(col, n), b(col, n)
                try:
                    if None not in xs and None not in ys:      # no blank (the usual sheet): at C speed
                        return list(map(f, xs, ys))
                    return [None if x is None or y is None else f(x, y) for x, y in zip(xs, ys)]
                except (ZeroDivisionError, TypeError):
                    return [_arith_one(f, x, y) for x, y in zip(xs, ys)]
            return arith
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            a, b, is_and = build(node.left), build(node.right), isinstance(node.op, ast.BitAnd)

            def both(col, n):                  # _and / _or of two truth values, inlined
                xs = [None if x is None else bool(x) for x in a(col, n)]
                ys = [None if y is None else bool(y) for y in b(col, n)]
                if is_and:
                    return [False if x is False or y is False else None if x is None or y is None else True
                            for x, y in zip(xs, ys)]
                return [True if x is True or y is True else None if x is None or y is None else False
                        for x, y in zip(xs, ys)]
            return both
        if isinstance(node, ast.BoolOp):
            parts, comb = [build(v) for v in node.values], _and if isinstance(node.op, ast.And) else _or
            return lambda col, n: [comb([_truth(x) for x in xs]) for xs in zip(*[p(col, n) for p in parts])]
        if isinstance(node, ast.UnaryOp):
            a = build(node.operand)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return lambda col, n: [None if (v := _truth(x)) is None else not v for x in a(col, n)]
            if isinstance(node.op, ast.USub):
                return lambda col, n: [None if x is None else -x for x in a(col, n)]
        if isinstance(node, ast.Compare):
            first, rest = build(node.left), [(_CMP[type(o)], build(c)) for o, c in zip(node.ops, node.comparators)]
            if len(rest) == 1:
                f, g = rest[0]

                def compare1(col, n):
                    xs, ys = first(col, n), g(col, n)
                    try:
                        if None not in xs and None not in ys:  # no blank (the usual sheet): at C speed
                            return list(map(bool, map(f, xs, ys)))
                        return [None if x is None or y is None else (True if f(x, y) else False)
                                for x, y in zip(xs, ys)]
                    except TypeError:
                        return [_compare_one(f, x, y) for x, y in zip(xs, ys)]
                return compare1
            raise _RowWise            # a chained comparison: evaluated row by row (its laziness matters)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args \
                and node.func.attr in ("notna", "isna"):
            a, want = build(node.func.value), node.func.attr == "notna"
            return lambda col, n: [(x is not None) == want for x in a(col, n)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ym" and len(node.args) == 1:
            a = build(node.args[0])
            return lambda col, n: _ym_column(a(col, n))
        raise _RowWise

    return build(ast.parse(expr, mode="eval"))


_YMS: dict = {}          # a date's 'YYYY-MM': a sheet's dates repeat, and so do the months of every sheet


def _ym_column(dates: list) -> list:
    """_ym of every value, looked up at C speed (a blank looks up None: None); a date new to the memo is
    formatted once (anything else raises, as _ym does)."""
    out = list(map(_YMS.get, dates))
    if None in out:
        out = [y if y is not None or d is None else _keep(_YMS, d, f"{d.year:04d}-{d.month:02d}")
               for y, d in zip(out, dates)]
    return out


class _RowWise(Exception):
    """This expression (or this sheet's values) is evaluated row by row."""


def _arith_one(f, x, y):
    if x is None or y is None:
        return None
    try:
        return f(x, y)
    except (ZeroDivisionError, TypeError):
        return None


def _compare_one(f, x, y):
    if x is None or y is None:
        return None
    try:
        return True if f(x, y) else False
    except TypeError:
        return None


def _truth(v):
    return None if v is None else bool(v)


@dataclass
class Check:
    rule: str
    columns: list[str]
    expr: str
    message_en: str
    message_th: str
    when_null: str = "skip"
    fn: Callable | None = field(default=None, repr=False)
    vfn: Callable | None = field(default=None, repr=False)   # over whole columns (None: row by row only)


# --------------------------------------------------------------------------- contracts

@dataclass
class Contract:
    name: str
    version: str
    columns: list[Column]
    checks: list[dict]
    key: list[str]
    references: dict[str, str]
    description_en: str = ""
    description_th: str = ""
    submission_key: list[str] = field(default_factory=list)
    title_th: str = ""
    title_en: str = ""
    # a value checked against the partner's own figure in another family (e.g. one month's reduction against
    # the partner's annual baseline emissions in the registry): [{rule, column, baseline, max_ratio, ...}]
    baseline_checks: list[dict] = field(default_factory=list)
    duplicate_keys: str = "quarantine"     # or "latest_wins": the latest version of a keyed entry is used
    _lookup: dict[str, str] | None = field(default=None, repr=False)
    _match_cache: dict | None = field(default=None, repr=False)
    _checks: list[Check] | None = field(default=None, repr=False)

    def header_lookup(self) -> dict[str, str]:
        """{header key: column}. Full keys of every alias first (a clash between two columns is an error in
        the contract), then keys without parenthesised parts where they are unambiguous."""
        if self._lookup is None:
            full: dict[str, str] = {}
            bare: dict[str, set[str]] = {}
            for col in self.columns:
                for alias in [col.name, *col.aliases, *([col.label_th] if col.label_th else []),
                              *([col.label_en] if col.label_en else [])]:
                    keys = header_keys(alias)
                    if full.setdefault(keys[0], col.name) != col.name:
                        raise ValueError(f"contract {self.name}: header alias {alias!r} is used by both "
                                         f"{full[keys[0]]} and {col.name}")
                    for k in keys[1:]:
                        bare.setdefault(k, set()).add(col.name)
            lookup = dict(full)
            for k, names in bare.items():
                if len(names) == 1:
                    lookup.setdefault(k, next(iter(names)))
            self._lookup = lookup
        return self._lookup

    def match_header(self, text: object) -> str | None:
        if self._match_cache is None:
            self._match_cache = {}
        hit = self._match_cache.get(text) if text.__class__ is str else None
        if hit is not None:
            return hit or None
        out = None
        if text.__class__ is str and len(text) <= 80:
            lookup = self.header_lookup()
            for k in header_keys(text):
                if k in lookup:
                    out = lookup[k]
                    break
        elif isinstance(text, (int, float)) and not isinstance(text, bool):
            out = None                                      # numbers are never headers
        if text.__class__ is str:
            if len(self._match_cache) > 50000:
                self._match_cache.clear()
            self._match_cache[text] = out or ""
        return out

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def compiled_checks(self) -> list[Check]:
        if self._checks is None:
            names = set(self.column_names)
            out = []
            for c in self.checks:
                chk = Check(rule=c["rule"], columns=list(c["columns"]), expr=c.get("expr") or c.get("expected") or c["function"],
                            message_en=c["message_en"], message_th=c["message_th"], when_null=c.get("when_null", "skip"))
                chk.fn = _named_check(c["function"]) if c.get("function") else compile_check(chk.expr, names)
                if not c.get("function"):
                    try:
                        chk.vfn = compile_check_columns(chk.expr)
                    except _RowWise:
                        chk.vfn = None
                out.append(chk)
            self._checks = out
        return self._checks

    def find_table(self, sheet: Sheet) -> Table | None:
        if self._match_cache is None:
            self._match_cache = {}
        return find_table(sheet.rows, self.match_header, seen=self._match_cache)


def _named_check(name: str) -> Callable:
    """A row check written in Python (a contract's `function:`), e.g. the emission-factor lookup."""
    from phakhi.ingest.factors import CHECKS

    if name not in CHECKS:
        raise ValueError(f"contract check function {name!r} is unknown (one of {', '.join(CHECKS)})")
    return CHECKS[name]


@lru_cache(maxsize=None)
def contract_names() -> list[str]:
    """Every source family with a contract (one YAML file each)."""
    return sorted(p.stem for p in CONTRACTS_DIR.glob("*.yml"))


@lru_cache(maxsize=None)
def load_contract(name: str) -> Contract:
    spec = read_yaml(CONTRACTS_DIR / f"{name}.yml")
    fields_ = Column.__dataclass_fields__
    cols = []
    for c in spec["columns"]:
        unknown = set(c) - set(fields_)
        if unknown:
            raise ValueError(f"contract {name}, column {c.get('name')}: unknown keys {sorted(unknown)}")
        col = Column(**{k: v for k, v in c.items()})
        raw_aliases = {str(k): str(v) for k, v in (col.value_aliases or {}).items()}
        for unit_code, meaning in (col.units or {}).items():      # unit codes carry their own spellings
            for spelling in [unit_code, meaning.get("label_th"), meaning.get("label_en"), *meaning.get("aliases", [])]:
                if spelling:
                    raw_aliases.setdefault(str(spelling), unit_code)
            if meaning.get("label_en"):
                col.labels_en.setdefault(unit_code, meaning["label_en"])
        col._value_aliases_raw = raw_aliases
        col.value_aliases = {header_key(k): v for k, v in raw_aliases.items()}
        if col.type == "enum":
            bad = {v for v in raw_aliases.values()} - set(col.allowed or [])
            if bad:
                raise ValueError(f"contract {name}, column {col.name}: value aliases map to codes not allowed: {bad}")
        cols.append(col)
    if spec.get("item_columns", {}).get("from_instrument"):
        inst = load_instrument(spec["instrument"])
        codes = tuple(int(k) for k in inst["missing_codes"])
        for item in inst["items"]:
            col = Column(name=item["code"], type="likert", required=bool(item.get("core")),
                         min=inst["scale"]["min"], max=inst["scale"]["max"], missing_codes=codes,
                         aliases=[item["code"]], label_th=item["th"], label_en=item.get("en"))
            col._value_aliases_raw = {}
            cols.append(col)
    contract = Contract(name=spec["name"], version=str(spec["version"]), columns=cols, checks=spec.get("checks", []),
                        key=spec.get("key", []), references=spec.get("references", {}),
                        description_en=spec.get("description_en", ""), description_th=spec.get("description_th", ""),
                        submission_key=spec.get("submission_key", spec.get("key", [])),
                        title_th=spec.get("title_th", ""), title_en=spec.get("title_en", ""),
                        baseline_checks=spec.get("baseline_checks", []),
                        duplicate_keys=spec.get("duplicate_keys", "quarantine"))
    contract.header_lookup()        # raises on a clash between two columns' aliases
    contract.compiled_checks        # raises on a check that does not compile
    return contract


# --------------------------------------------------------------------------- applying a contract

@dataclass
class ContractResult:
    records: list[dict]                  # typed rows + _row (file row number)
    quarantine: list[dict]               # one record per problem
    rows_read: int
    blank_rows: int
    coverage: set[tuple] = field(default_factory=set)   # submission-key values seen (loaded or not)
    table: Table | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return len({p["row"] for p in self.quarantine})

    @property
    def loaded(self):
        import pandas as pd

        cols = ["_row"] + (list(self.records[0]) if self.records else [])
        return pd.DataFrame(self.records, columns=list(dict.fromkeys(cols)))


class MissingColumns(ValueError):
    def __init__(self, contract: Contract, missing: list[str], found: list[str]):
        self.missing, self.found = missing, found
        if not found and not missing:
            self.rule = "no_table"
            en = f"no table matching the {contract.name} contract was found (no header row recognised)"
            th = "ไม่พบตารางข้อมูลตามรูปแบบที่กำหนด (ไม่พบแถวหัวตาราง)"
        else:
            self.rule = "missing_columns"
            labels = [contract.column(m).label_th or m for m in missing]
            en = f"required column(s) missing: {', '.join(missing)}; headers found: {', '.join(found) or '(none)'}"
            th = f"ไม่พบคอลัมน์ที่ต้องมี: {', '.join(labels)}"
        super().__init__(en)
        self.message_en, self.message_th = en, th


_DASHES = {"-", "–", "—", "--"}      # "nothing to report" in a number/date/code cell: a blank
_SUMMARY_ROW = re.compile(r"^\s*(รวม|ยอดรวม|รวมทั้งสิ้น|รวมทั้งหมด|total|grand total|sum|subtotal)\b", re.IGNORECASE)
PRIVATE_MASK = "(withheld: private column)"


def locate_table(contract: Contract, sheet: Sheet, known: dict | None = None) -> Table:
    """The sheet's table, or MissingColumns saying what is missing. A partner id or reporting month missing
    as a column is taken from the title block above the table when it names them (a local government's
    report: its Thai name and "มีนาคม พ.ศ. ๒๕๖๗"), the name matched against the registry's Thai names."""
    table = contract.find_table(sheet)
    if table is None or not table.mapping:
        raise MissingColumns(contract, [], found=[])
    missing = [c for c in contract.required if c not in table.mapping.values()]
    if missing and set(missing) <= TITLE_BLOCK_COLUMNS:
        table.fill = title_block_values(contract, sheet.rows[:table.header_row], missing, known)
        missing = [c for c in missing if c not in table.fill]
    if missing:
        raise MissingColumns(contract, missing, found=list(table.headers.values()) + table.ignored)
    return table


# --------------------------------------------------------------------------- real report layouts

TITLE_BLOCK_COLUMNS = {"partner_id", "period"}
_MONTH_IN_TEXT = re.compile(
    "(" + "|".join(re.escape(m) for m in (*thai.MONTHS_TH, *thai.MONTHS_TH_ABBR, *thai.MONTHS_EN)) + ")"
    r"\s*((?:พ\.\s?ศ\.|ค\.\s?ศ\.|B\.E\.|C\.E\.)?\s*[0-9๐-๙]{2,4})", re.IGNORECASE)
_PARTNER_ID_IN_TEXT = re.compile(r"\b(P[0-9]{3,5})\b")
# the usual short forms of Thai local-government names, both ways (matched on header keys: no spaces or dots)
_ORG_ABBREVIATIONS = [("องค์การบริหารส่วนจังหวัด", "อบจ"), ("องค์การบริหารส่วนตำบล", "อบต"), ("เทศบาลนคร", "ทน"),
                      ("เทศบาลเมือง", "ทม"), ("เทศบาลตำบล", "ทต"), ("กรุงเทพมหานคร", "กทม"), ("จังหวัด", "จ"),
                      ("อำเภอ", "อ"), ("ตำบล", "ต"), ("บริษัท", "บจ"), ("จำกัด(มหาชน)", "จำกัดมหาชน")]


def org_key(name: object) -> str:
    """Matching key of an organisation's name: a header key with the long Thai forms shortened
    (เทศบาลตำบลบ้านสวน = ทต.บ้านสวน = ทต บ้านสวน)."""
    k = header_key(name)
    for long, short in _ORG_ABBREVIATIONS:
        k = k.replace(header_key(long), short)
    return k.replace("(", "").replace(")", "")


def title_block_values(contract: Contract, rows: list[list[object]], wanted: list[str],
                       known: dict | None) -> dict[str, object]:
    """Partner id and reporting month named in the rows above the table (typed as the contract types them)."""
    texts = [str(c) for r in rows[:40] for c in r if isinstance(c, str) and c.strip()]
    out: dict[str, object] = {}
    if "period" in wanted:
        col = contract.column("period")
        for t in texts:
            m = _MONTH_IN_TEXT.search(thai.thai_digits_to_arabic(t))
            if m:
                try:
                    out["period"] = col.parse(f"{m.group(1)} {m.group(2)}")
                    break
                except CellError:
                    continue
    if "partner_id" in wanted:
        names = (known or {}).get("@partner_names") or {}
        ids = set().union(*[v for k, v in (known or {}).items() if k == "partner_id"]) if known else set()
        for t in texts:
            m = _PARTNER_ID_IN_TEXT.search(t.upper())
            if m and (not ids or m.group(1) in ids):
                out["partner_id"] = m.group(1)
                break
        if "partner_id" not in out and names:
            keys = {org_key(n): pid for n, pid in names.items() if len(org_key(n)) >= 4}
            for t in texts:
                tk = org_key(t)
                hits = {pid for k, pid in keys.items() if k in tk}
                if len(hits) == 1:
                    out["partner_id"] = hits.pop()
                    break
                if len(hits) > 1:        # several names fit: the longest (most specific) one, if unique
                    best = max(len(k) for k, pid in keys.items() if k in tk)
                    top = {pid for k, pid in keys.items() if k in tk and len(k) == best}
                    if len(top) == 1:
                        out["partner_id"] = top.pop()
                        break
    return out


_FOOTER = re.compile(
    r"^\s*(?:ลงชื่อ|ลงนาม|ผู้รายงาน|ผู้รับรอง|ผู้ตรวจสอบ|ผู้อนุมัติ|ผู้จัดทำ|ผู้บันทึก|ตำแหน่ง|โทรศัพท์|โทร\.|"
    r"หมายเหตุ|ข้อมูล ณ วันที่|รับรองว่าข้อมูล|ขอรับรอง|signed|signature|prepared by|approved by|certified by|"
    r"position|remarks?\b|note\b)", re.IGNORECASE)
_SIGNATURE_LINE = re.compile(r"^[\s.…_\-–—()（）]*$|^\s*[(（][^)）]*[)）]\s*$")


def is_footer_row(raw: list[object]) -> bool:
    """A signature or note line under a table ("ลงชื่อ ........ ผู้รายงาน", "(นายสมชาย ใจดี)", "ตำแหน่ง ...",
    dotted lines): text only, few cells, every one a footer form. Not data, and not a row."""
    cells = []
    for c in raw:                      # is_blank inlined, leaving at the first cell that rules a footer out
        if c is None:
            continue
        if c.__class__ is str:
            if not c.strip():
                continue
        elif isinstance(c, float) and c != c:
            continue
        if not isinstance(c, str) or len(cells) == 4:
            return False               # a number, a date, or more than 4 cells: a data row
        if not cells and not (_FOOTER.match(c) or _SIGNATURE_LINE.match(c)):
            return False               # every cell must be a footer form: the first one is not
        cells.append(c)
    if not cells:
        return False
    return all(_FOOTER.match(c) or _SIGNATURE_LINE.match(c) for c in cells)


def apply_contract(contract: Contract, sheet: Sheet, known: dict[str, set[str]] | None = None,
                   table: Table | None = None) -> ContractResult:
    """Map headers, type every cell, run row checks and references. Raises MissingColumns when the table
    itself is not there (no header row, or a required column missing)."""
    table = table or locate_table(contract, sheet, known)
    fill = dict(table.fill)
    rows = sheet.rows
    cols = {c.name: c for c in contract.columns}
    mapping = sorted(table.mapping.items())
    plan = [(j, name, cols[name], cols[name].required, table.headers[j]) for j, name in mapping]
    labels = sheet.value_labels or {}
    label_maps = {j: labels[table.headers[j]] for j, name in mapping
                  if table.headers[j] in labels and cols[name].type in ("enum", "province")} if labels else {}
    checks = contract.compiled_checks
    refs = {k: v for k, v in (known or {}).items() if k in cols and k in contract.references}
    baselines = [(b, (known or {}).get("@" + b["baseline"])) for b in contract.baseline_checks]
    baselines = [(b, values) for b, values in baselines if values]
    skey = [k for k in contract.submission_key if k in cols]
    key_cols = set(contract.key)
    width = mapping[-1][0] + 1                 # (sorted by sheet column)

    records, problems, coverage, notes = [], [], set(), []
    blank = footer = 0
    orphan_cols: set[int] = set()
    sheet_name = sheet.name
    data: list[tuple[int, list]] = []          # (sheet row index, cells) of the rows that are read
    for i in range(table.first_data_row, len(rows)):
        raw = rows[i]
        if raw and raw[0].__class__ is float and raw[0] == raw[0]:
            data.append((i, raw))                # a number first (the usual row number): neither blank nor footer
            continue
        if _blank_row(raw):
            blank += 1
            continue
        if is_footer_row(raw):               # signature / note lines under the table: not rows
            blank += 1
            footer += 1
            continue
        data.append((i, raw))
    read = len(data)
    # type column by column (one parser and one cache per column, no per-cell call chain); a cell's problems
    # land in its row's list in column order, as a row-by-row reading gave them
    cell_errors: dict[int, list] = {}
    typed = []
    blank_rows: dict[str, set] = {}            # per column: the rows whose cell is blank / failed
    failed_rows: dict[str, set] = {}
    raws = [raw for _, raw in data]
    if raws and min(map(len, raws)) >= width:  # the usual grid (calamine's rows are all as wide): C-speed
        pick = [j for j, *_ in plan]
        columns = list(zip(*map(itemgetter(*pick), raws))) if len(pick) > 1 else [[r[pick[0]] for r in raws]]
    else:
        columns = [[raw[j] if j < len(raw) else None for raw in raws] for j, *_ in plan]
    for (j, name, col, required, head), values in zip(plan, columns):
        out, errs = type_column(col, values, label_maps.get(j))
        typed.append(out)
        if not errs:                           # the usual column: every cell typed
            blank_rows[name], failed_rows[name] = set(), set()
            continue
        blank_rows[name] = {k for k, _, err in errs if err is None}
        failed_rows[name] = {k for k, _, err in errs if err is not None}
        for k, value, err in errs:
            if err is None:
                if required:
                    cell_errors.setdefault(k, []).append((name, head, None, "required", "required value is empty",
                                                          "ต้องกรอกข้อมูลช่องนี้", "a value"))
            else:
                cell_errors.setdefault(k, []).append((name, head, value, err.rule, err.message_en, err.message_th,
                                                      err.expected))
    names = [name for _, name, _, _, _ in plan]
    # a row none of whose mapped cells holds a value is not a data row
    unmapped = set.intersection(*blank_rows.values()) if blank_rows else set(range(read))
    judged = [k for k in range(read) if k not in unmapped] if unmapped else range(read)
    by_name = dict(zip(names, typed))
    fills = list(fill.values())
    keys = ("_row", *fill, *names)
    row_nos = [i + 1 for i, _ in data]

    def column(name: str) -> list:
        """What record.get(name) gives in every row: a typed column, a title-block value, or None."""
        got = by_name.get(name)
        return got if got is not None else [fill.get(name)] * read

    every: list[dict] = []

    def records_all() -> list[dict]:
        """Every row's record, built once (when a check is evaluated row by row, or for the rows loaded)."""
        if not every and read:
            every.extend(dict(zip(keys, t)) for t in zip(row_nos, *map(repeat, fills), *typed))
        return every

    def record_at(k: int) -> dict:
        return every[k] if every else dict(zip(keys, (row_nos[k], *fills, *(c[k] for c in typed))))

    # the row rules, column by column over the rows judged (those holding a mapped value); each appends to
    # its rows' problem lists after the cells' own, in the order a row-by-row reading gave them:
    # references, baselines, row checks
    def add(k: int, problem: tuple) -> None:
        cell_errors.setdefault(k, []).append(problem)

    unknown_ref: set[int] = set()
    for name, allowed in refs.items():
        values = column(name)
        # each distinct value asked once, in the order of the rows (the look-ups are recorded: file_cache)
        distinct = dict.fromkeys(values[k] for k in judged)
        unknown = {v for v in distinct if v is not None and v is not _FAILED and v not in allowed}
        if not unknown:
            continue
        ref = contract.references.get(name, "partner_registry.partner_id")
        head = _head(table, name)
        for k in judged:
            v = values[k]
            if v in unknown:
                unknown_ref.add(k)
                add(k, (name, head, v, "reference", f"'{v}' is not in the {ref.split('.')[0].replace('_', ' ')}",
                        f"ไม่พบ '{v}' ในทะเบียนภาคี", f"an id present in {ref}"))
    for b, values in baselines:
        vs, ids = column(b["column"]), column(b.get("key", "partner_id"))
        ratio = float(b.get("max_ratio", 1.0))
        head = _head(table, b["column"])
        for k in judged:
            v, pid = vs[k], ids[k]
            base = values.get(pid)
            if isinstance(v, (int, float)) and isinstance(base, (int, float)) and base > 0 and v > base * ratio:
                add(k, (b["column"], head, v, b["rule"],
                        f"{v:,.6g} is more than {ratio:g} x the partner's {b['baseline'].split('.')[-1]} "
                        f"({base:,.6g}) in the registry ({pid}); is a unit or digit wrong?",
                        f"{v:,.6g} มากกว่า {ratio:g} เท่าของค่าฐานของภาคี ({base:,.6g}) "
                        f"ในทะเบียนภาคี ({pid}) กรุณาตรวจหน่วยหรือจำนวนหลัก",
                        f"at most {ratio * base:,.6g}"))
    # what the file is a submission for (supersession): keys that parsed and refer to known partners
    if skey and judged:
        key_values = zip(*map(column, skey))
        coverage = {t for k, t in zip(range(read), key_values)
                    if k not in unmapped and k not in unknown_ref and None not in t and _FAILED not in t}
    for chk in checks:
        # the rows it skips: a failed value; a blank one unless the check evaluates blanks. None: every row
        # (a title-block value or a column that is absent)
        skip: set | None = set()
        for c in chk.columns:
            if c in blank_rows:
                skip |= failed_rows[c]
                if chk.when_null != "evaluate":
                    skip |= blank_rows[c]
            elif (v := fill.get(c)) is _FAILED or (v is None and chk.when_null != "evaluate"):
                skip = None
                break
        if skip is None:
            continue
        failing = _failing_rows(chk, skip, read, unmapped, by_name, fill)
        if failing is None:         # evaluated row by row
            recs = records_all()
            failing = [k for k in judged if k not in skip and chk.fn(recs[k]) is False]
        if not failing:
            continue
        heads = ", ".join(_head(table, c) for c in chk.columns)
        values = [column(c) for c in chk.columns]
        for k in sorted(failing):
            add(k, (chk.columns[0], heads, ", ".join(f"{c}={_show(v[k])}" for c, v in zip(chk.columns, values)),
                    chk.rule, chk.message_en, chk.message_th, chk.expr))
    if raws and max(map(len, raws)) > width:
        for raw in raws:
            for j in range(width, len(raw)):
                if not is_blank(raw[j]):
                    orphan_cols.add(j)
    # the rows not loaded, in row order: not data rows, summary rows, rows with problems
    for k in sorted(unmapped.union(cell_errors)):
        i, raw = data[k]
        row_no = i + 1
        if k in unmapped:
            problems.append(_not_a_row(sheet_name, row_no, raw, "a row of the table's columns",
                                       "values only in columns the contract does not use; the row was not loaded",
                                       "มีข้อมูลเฉพาะในคอลัมน์ที่ไม่อยู่ในแบบฟอร์ม แถวนี้จึงไม่ถูกนำเข้า"))
            continue
        if _is_summary_row(raw, record_at(k), key_cols):
            problems.append(_not_a_row(sheet_name, row_no, raw, "one activity/record per row",
                                       "a totals or note row, not a record (Phakhi computes totals itself); remove it",
                                       "เป็นแถวผลรวมหรือหมายเหตุ ไม่ใช่ข้อมูลรายการ (ระบบคำนวณผลรวมเอง) กรุณาลบแถวนี้"))
            continue
        for name, head, value, rule, en, th, expected in cell_errors[k]:
            shown = None if value is None else _show(value)
            if cols[name].private and value is not None:      # never let a private value out
                shown = PRIVATE_MASK
                en = f"the value does not pass the '{rule}' check (value withheld: private column)"
                th = f"ค่าในช่องนี้ไม่ผ่านการตรวจ '{rule}' (ไม่แสดงค่าเพราะเป็นข้อมูลส่วนบุคคล)"
            problems.append(_problem(sheet_name, row_no, name, head, shown, rule, expected, en, th))
    # the rows loaded: every other row, built in one pass
    rows_out = every or zip(row_nos, *map(repeat, fills), *typed)
    if unmapped or cell_errors:
        rows_out = compress(rows_out, [k not in unmapped and k not in cell_errors for k in range(read)])
    records = list(rows_out) if every else [dict(zip(keys, t)) for t in rows_out]
    if fill:
        notes.append("taken from the title block: " + ", ".join(f"{k}={_show(v)}" for k, v in fill.items()))
    if footer:
        notes.append(f"{footer} signature/note line(s) under the table were not read as data")
    if orphan_cols:
        notes.append(f"values in {len(orphan_cols)} column(s) without a header were ignored "
                     f"(columns {', '.join(_col_letter(j) for j in sorted(orphan_cols))})")
    if table.ignored:
        notes.append("columns not in the contract were ignored: " + ", ".join(table.ignored[:12]))
    return ContractResult(records, problems, read, blank, coverage, table, notes)


def _failing_rows(chk: Check, skip: set | None, n: int, unmapped: set, typed: dict[str, list],
                  fill: dict) -> set | None:
    """The rows (of the n read) a row check fails, evaluated over whole columns, for the rows it applies to
    (not skipped, holding a mapped value); None when the check is evaluated row by row instead (a named
    check, a chained comparison, or an error the row-by-row evaluation may raise on some row itself)."""
    if chk.vfn is None or skip is None:
        return None
    rows = [k for k in range(n) if k not in skip and k not in unmapped] if skip or unmapped else range(n)
    if not rows:
        return set()
    every = len(rows) == n              # the typed columns as they are (the check only reads them)
    cache: dict[str, list] = {}

    def column(name: str) -> list:
        got = cache.get(name)
        if got is None:
            values = typed.get(name)
            got = ((values if every else [values[k] for k in rows]) if values is not None
                   else [fill.get(name)] * len(rows))      # a title-block value, or absent (None)
            cache[name] = got
        return got
    try:
        results = chk.vfn(column, len(rows))
    except Exception:
        return None
    if False not in results:            # (0 == False too: then the rows are looked at one by one)
        return set()
    return {k for k, r in zip(rows, results) if r is False}


_BLANK_CELL = (None, None)        # a text cell's cache entry when the cell counts as blank
_OK, _RESULT = itemgetter(0), itemgetter(1)       # of a cache entry: parsed (True), failed (False), blank (None)
_TEXT, _NUMBER = {str}, {float}
_BULK_FROM = 8                    # a shorter column is typed cell by cell (the bulk steps cost more than they save)


def type_column(col: Column, values, labels: dict | None = None) -> tuple[list, list]:
    """Every data row's cell of one column at once: (typed values, problems). A typed value is None for a
    blank cell (None, "", spaces, NaN, or a dash outside a string column) and _FAILED for a cell that fails;
    problems are (row index, value, CellError), with CellError None for a blank (the caller knows whether the
    column is required): every blank cell is listed.

    The same results, cell for cell, as `Column.parse` on each cell in turn: text cells go through the
    column's parser once per distinct text (results and errors cached, as `_memo` does), finite numbers in a
    number/integer column's range are taken as they are (what the parser returns for them), and everything
    else -- Thai digits, B.E. years, units, dates, SPSS labels -- goes through the parser itself."""
    if labels is not None:
        return _type_column_labelled(col, values, labels)
    typing = col._typing
    if typing is None or typing[0] is not col._parse:      # (a parser reset to None: both made again)
        typing = col._typing = _typing_of(col)
    _, raw, not_string, free_text, fast, whole, lo, hi, limit = typing
    if free_text and values and set(map(type, values)) == _TEXT:
        # a free-text column (no pattern): its parser only strips, and its texts rarely repeat (titles,
        # lessons learned), so they are stripped here, not looked up, parsed and kept in the cache one by one
        out = [v.strip() for v in values]
        if all(out):
            return out, []
        errs = []
        for k, s in enumerate(out):
            if not s:
                out[k] = None
                errs.append((k, None, None))
        return out, errs
    cache = col._cells
    if cache is None:
        cache = col._cells = {}

    def text_hit(v: str):
        s = v.strip()
        return _keep(cache, v, _BLANK_CELL if not s or (not_string and s in _DASHES) else _attempt(raw, v))

    # a column of one kind (the usual sheet) at C speed: texts all looked up in the cache at once, numbers
    # all in range at once; any other column cell by cell below. The same results either way.
    kinds = set(map(type, values)) if len(values) >= _BULK_FROM else None
    if kinds == _TEXT:
        hits = list(map(cache.get, values))
        if None in hits:
            # looked up again: a text new to the cache is parsed once, not once per row (a GHG file's month
            # is on all of its ~8,800 rows)
            hits = [h if h is not None else (cache.get(v) or text_hit(v)) for h, v in zip(hits, values)]
        out = list(map(_RESULT, hits))
        if all(map(_OK, hits)):
            return out, []
        errs = []
        for k, h in enumerate(hits):
            if not h[0]:
                if h is _BLANK_CELL:
                    errs.append((k, None, None))
                else:
                    out[k] = _FAILED
                    errs.append((k, values[k], h[1]))
        return out, errs
    if fast and kinds == _NUMBER and all(map(math.isfinite, values)):
        least, most = min(values), max(values)
        if lo <= least and most <= hi and (not whole or (
                -limit <= least and most <= limit and all(map(float.is_integer, values)))):
            return (list(map(int, values)) if whole else list(values)), []    # what the parser returns
    dates = col._dates
    if dates is None:
        dates = col._dates = {}
    out: list = []
    errs: list = []
    append = out.append
    for k, v in enumerate(values):
        cls = v.__class__
        if cls is str:
            hit = cache.get(v)
            if hit is None:
                hit = text_hit(v)
        elif v is None:
            hit = _BLANK_CELL
        elif cls is float:
            if v != v:
                hit = _BLANK_CELL
            elif fast and lo <= v <= hi and v != math.inf and v != -math.inf and (
                    not whole or (v.is_integer() and -limit <= v <= limit)):
                append(int(v) if whole else v)        # what the parser returns for it
                continue
            else:
                hit = _attempt(raw, v)
        elif v == "":
            hit = _BLANK_CELL
        elif cls is date or cls is datetime:         # dates repeat in a column: parse each once
            hit = dates.get((cls, v))
            if hit is None:
                hit = _keep(dates, (cls, v), _attempt(raw, v))
        else:
            hit = _attempt(raw, v)
        if hit is _BLANK_CELL:
            append(None)
            errs.append((k, None, None))
        elif hit[0]:
            append(hit[1])
        else:
            append(_FAILED)
            errs.append((k, v, hit[1]))
    return out, errs


def _typing_of(col: Column) -> tuple:
    """What type_column needs of a column, computed with its parser (and again when the parser is): (the
    parser, the parser without its cache, not a string column, a string column without a pattern (its parser
    only strips), a number column, an integer column, the range, the integer limit)."""
    if col._parse is None:
        col._parse = _compile_parser(col)
    return (col._parse, col._parse.raw, col.type != "string", col.type == "string" and not col.pattern,
            col.type in ("number", "integer"), col.type == "integer",
            -math.inf if col.min is None else col.min, math.inf if col.max is None else col.max,
            2 ** (63 if col.int_bits == 64 else 31) - 1)


def _type_column_labelled(col: Column, values, labels: dict) -> tuple[list, list]:
    """An SPSS column with value labels: cell by cell through its labels (_parse_labelled)."""
    out: list = []
    errs: list = []
    for k, value in enumerate(values):
        if value is None or value == "" or (value.__class__ is str and (not value.strip() or (
                value.strip() in _DASHES and col.type != "string"))) or (value.__class__ is float and value != value):
            out.append(None)
            errs.append((k, None, None))
            continue
        try:
            out.append(_parse_labelled(col, value, labels))
        except CellError as err:
            out.append(_FAILED)
            errs.append((k, value, err))
    return out, errs


def _blank_row(raw) -> bool:
    for c in raw:
        if c is None or c == "":
            continue
        if c.__class__ is str:
            if c.strip():
                return False
        elif not (c.__class__ is float and c != c):
            return False
    return True


class _Failed:
    def __repr__(self):
        return "<failed>"


_FAILED = _Failed()


def _parse_labelled(col: Column, value: object, labels: dict) -> object:
    """SPSS: a labelled code maps through its label first (label "หญิง" wins over code 1), then as a code."""
    key = value
    if isinstance(value, float) and value.is_integer():
        key = value if value in labels else int(value)
    label = labels.get(key, labels.get(value))
    if label is not None:
        try:
            return col.parse(str(label))
        except CellError:
            pass
    try:
        return col.parse(value)
    except CellError as err:
        if label is not None:
            raise CellError(err.rule, f"{err.message_en} (SPSS label '{label}')",
                            f"{err.message_th} (ป้ายค่า SPSS '{label}')", err.expected) from None
        raise


def _is_summary_row(raw, record, key_cols) -> bool:
    if any(record.get(k) not in (None, _FAILED) for k in key_cols if k in record):
        return False
    return any(isinstance(c, str) and _SUMMARY_ROW.match(c) for c in raw)


def _head(table: Table, name: str) -> str:
    for j, n in table.mapping.items():
        if n == name:
            return table.headers[j]
    return name


def _show(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def _col_letter(j: int) -> str:
    s, j = "", j + 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _not_a_row(sheet, row, raw, expected, en, th) -> dict:
    """A row that is not loaded as a whole (not a record): its non-blank cells shown."""
    texts = [str(c).strip() for c in raw if not is_blank(c)]
    return _problem(sheet, row, "", "", "; ".join(texts)[:200], "not_a_data_row", expected, en, th)


def _problem(sheet, row, column, header, value, rule, expected, en, th) -> dict:
    return {"sheet": sheet, "row": row, "column": column, "header": header, "value": value, "rule": rule,
            "expected": expected, "message_en": en, "message_th": th}
