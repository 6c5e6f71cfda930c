"""Thai-aware parsing of the values partners submit: numbers, years, dates, periods and province names.

All functions are pure (the province alias table is read once from the dbt seeds and cached).
Parse failures raise :class:`ThaiParseError`, a ``ValueError`` whose ``str()`` is English and whose
``args[1]`` (also ``.message_th``) is the Thai message for the submitter.

Year rules
    * A 4-digit year >= 2400 is Buddhist Era (B.E.) and becomes CE by subtracting 543; a smaller one is CE.
    * A 2-digit year is B.E. (the usual Thai short form): ``67`` -> 2567 -> 2024, ``00`` -> 2500 -> 1957.
      It is CE (20yy) instead after an explicit "ค.ศ."/"CE"/"AD" marker or an English month name
      (``15-Mar-24``, Excel's English export, is 2024).
    * Numeric dates are day-first (``15/3/67`` is 15 March 2024), as written in Thailand.
    * A date *object* (an Excel date cell) in a year >= 2400 is a B.E. date typed into a CE calendar (Excel on a
      Thai desktop accepts ``15/03/2567`` as the year 2567): it becomes CE by subtracting 543 years. The same
      holds for an Excel serial number that falls in B.E. 2500-2643 (CE years 2500-2643).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import numbers
import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Mapping

__all__ = [
    "ThaiParseError",
    "thai_digits_to_arabic",
    "arabic_to_thai_digits",
    "THAI_DIGITS",
    "THAI_TO_ARABIC",
    "ARABIC_TO_THAI",
    "MONTHS_TH",
    "MONTHS_TH_ABBR",
    "MONTHS_EN",
    "month_name_th",
    "parse_number",
    "be_to_ce_year",
    "excel_serial_to_date",
    "parse_thai_date",
    "parse_period",
    "parse_quantity",
    "province_key",
    "load_province_aliases",
    "normalize_province",
    "SEEDS_DIR",
]

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


class ThaiParseError(ValueError):
    """A value could not be parsed. ``str(e)``/``args[0]`` is English, ``args[1]``/``message_th`` Thai."""

    def __init__(self, message_en: str, message_th: str, *, reason_en: str = "", reason_th: str = ""):
        super().__init__(message_en, message_th)
        self.message_en = message_en
        self.message_th = message_th
        self.reason_en = reason_en  # the specific cause, without the "Not a date: ..." framing
        self.reason_th = reason_th

    def __str__(self) -> str:
        return self.message_en


# --------------------------------------------------------------------------- digits and numbers

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
THAI_TO_ARABIC = str.maketrans(THAI_DIGITS, "0123456789")
ARABIC_TO_THAI = str.maketrans("0123456789", THAI_DIGITS)


def thai_digits_to_arabic(s: str) -> str:
    """Replace Thai digits ๐–๙ with 0–9; everything else is left as it is."""
    return s.translate(THAI_TO_ARABIC)


def arabic_to_thai_digits(s: str) -> str:
    """Replace 0–9 with Thai digits ๐–๙ (how Thai documents often write numbers)."""
    return s.translate(ARABIC_TO_THAI)


_EMPTY_MARKS = {"", "-", "–", "—"}
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
# A plain ASCII number with nothing around it (most text cells of a CSV): every rule below leaves it as it is
# and ends in float() of it, so it is read at once (a CSV wave's cells went through three regexes each).
_ASCII_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_SPACES = re.compile(r"\s+")


def parse_number(value) -> float | None:
    """Read a number from a cell: ints/floats, Thai digits, thousands commas and spaces.

    ``None``, NaN, ``""`` and a lone dash (``-``, ``–``, ``—``) mean "no value" and return ``None``.
    Text after the number (a unit such as ``"12 kg"`` or ``"5%"``) is rejected: units belong in the header.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ThaiParseError(
            f"Not a number: {value!r} is a yes/no value.",
            f"ไม่ใช่ตัวเลข: {value!r} เป็นค่าใช่/ไม่ใช่",
        )
    if isinstance(value, (numbers.Real, Decimal)):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            raise ThaiParseError(f"Not a number: {value!r} is infinite.", f"ไม่ใช่ตัวเลข: {value!r} เป็นค่าอนันต์")
        return f
    if not isinstance(value, str):
        raise ThaiParseError(
            f"Not a number: cannot read a number from a {type(value).__name__}.",
            f"ไม่ใช่ตัวเลข: อ่านตัวเลขจากข้อมูลชนิด {type(value).__name__} ไม่ได้",
        )
    if _ASCII_NUMBER.fullmatch(value):
        return float(value)
    s = _SPACES.sub("", thai_digits_to_arabic(value)).replace("\u2212", "-")
    if s in _EMPTY_MARKS:
        return None
    if not re.fullmatch(r"[-+\d.,eE]+", s) and re.match(r"[+-]?[\d.,]*\d", s):
        raise ThaiParseError(
            f"Not a number: {value!r} has text after the number. Enter the number only and put the unit in the column header.",
            f"ไม่ใช่ตัวเลข: {value!r} มีข้อความต่อท้ายตัวเลข กรุณากรอกเฉพาะตัวเลข และระบุหน่วยไว้ที่หัวคอลัมน์",
        )
    if "," in s:
        if not _GROUPED_NUMBER.fullmatch(s):
            raise ThaiParseError(
                f"Not a number: {value!r}. Commas are only allowed as thousands separators (1,234.5).",
                f"ไม่ใช่ตัวเลข: {value!r} ใช้เครื่องหมายจุลภาคได้เฉพาะคั่นหลักพัน เช่น 1,234.5",
            )
        s = s.replace(",", "")
    if _PLAIN_NUMBER.fullmatch(s):
        return float(s)
    raise ThaiParseError(
        f"Not a number: {value!r}. Enter digits only (Thai digits, thousands commas and spaces are fine).",
        f"ไม่ใช่ตัวเลข: {value!r} กรุณากรอกเฉพาะตัวเลข (ใช้เลขไทย จุลภาคคั่นหลักพัน และช่องว่างได้)",
    )


_QUANTITY = re.compile(r"\s*([+-]?[\d,.\s]*\d[\d,.]*)\s*(.*?)\s*")


def parse_quantity(value) -> tuple[float | None, str]:
    """A number with an optional unit written after it: ``"5,000 บาท"`` -> ``(5000.0, "บาท")``,
    ``"๑๒๐ คน"`` -> ``(120.0, "คน")``, ``12.5`` -> ``(12.5, "")``. The unit text is returned as written (stripped)
    for the caller to check against the column's unit. Raises :class:`ThaiParseError` when there is no number."""
    try:
        return parse_number(value), ""
    except ThaiParseError:
        if not isinstance(value, str):
            raise
    m = _QUANTITY.fullmatch(thai_digits_to_arabic(value))
    if not m or not m.group(2):
        raise ThaiParseError(
            f"Not a number: {value!r}. Enter digits only (Thai digits, thousands commas and spaces are fine).",
            f"ไม่ใช่ตัวเลข: {value!r} กรุณากรอกเฉพาะตัวเลข (ใช้เลขไทย จุลภาคคั่นหลักพัน และช่องว่างได้)",
        )
    return parse_number(m.group(1)), m.group(2)


# --------------------------------------------------------------------------- years

def be_to_ce_year(y) -> int:
    """Return the CE year: ``2566`` -> 2023; years below 2400 are taken as CE already (``2023`` -> 2023).

    Accepts ints, whole floats and digit strings (Thai digits allowed). Two-digit years are *not*
    expanded here (``67`` -> 67); the date parsers apply the 2-digit B.E. rule described in the module doc.
    """
    raw = y
    if isinstance(y, str):
        y = thai_digits_to_arabic(y.strip())
        y = int(y) if y.isdigit() else None
    elif isinstance(y, float) and y.is_integer():
        y = int(y)
    elif isinstance(y, bool) or not isinstance(y, numbers.Integral):
        y = None
    if y is None or y < 0:
        raise ThaiParseError(f"Not a year: {raw!r}.", f"ไม่ใช่ปี: {raw!r}")
    y = int(y)
    return y - 543 if y >= 2400 else y


def _year(token: str, era: str | None) -> int:
    """Expand a 2- or 4-digit year token to CE (see module doc)."""
    n = int(token)
    if len(token) == 2:
        return 2000 + n if era == "CE" else 2500 + n - 543
    if era == "CE":
        return n
    return be_to_ce_year(n)


# --------------------------------------------------------------------------- dates

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_MAX_SERIAL = (dt.date(2199, 12, 31) - _EXCEL_EPOCH).days
# Serials of B.E. 2500-01-01 .. 2643-12-31 read as CE dates: a B.E. date typed into an Excel date cell.
# (YYYYMM codes such as 202403 stay below this window and are still rejected.)
_BE_SERIALS = ((dt.date(2500, 1, 1) - _EXCEL_EPOCH).days, (dt.date(2643, 12, 31) - _EXCEL_EPOCH).days)


def _be_date_to_ce(d: dt.date, value=None) -> dt.date:
    """A date whose year is B.E. (>= 2400) as the same day in CE; 29 Feb of a B.E. year whose CE year is not
    a leap year does not exist."""
    try:
        return d.replace(year=d.year - 543)
    except ValueError:
        raise _bad_date(value if value is not None else d,
                        f"29 February {d.year} B.E. ({d.year - 543} CE) does not exist.",
                        f"วันที่ 29 ก.พ. {d.year} ไม่มีอยู่จริง (ค.ศ. {d.year - 543} ไม่ใช่ปีอธิกสุรทิน)") from None


def excel_serial_to_date(serial) -> dt.date:
    """Convert an Excel serial day number (1900 date system) to a date; the time fraction is dropped.

    Serial 1 is 1900-01-01. Serial 60 is Excel's non-existent 29 Feb 1900 and is rejected. A serial that
    falls in the years 2500-2643 is a B.E. date typed into a date cell and becomes CE (minus 543 years).
    Other serials that would fall after 2199 are rejected: such numbers are usually YYYYMM or YYYYMMDD codes.
    """
    f = float(serial)
    if not math.isfinite(f) or f < 1:
        raise _bad_date(serial, "An Excel date serial must be 1 or more.", "เลขวันที่ของ Excel ต้องมีค่าตั้งแต่ 1 ขึ้นไป")
    n = int(f)
    if n == 60:
        raise _bad_date(serial, "Excel serial 60 is 29 Feb 1900, which does not exist (Excel's 1900 leap-year bug).",
                        "เลข 60 ของ Excel คือ 29 ก.พ. 1900 ซึ่งไม่มีอยู่จริง")
    if _BE_SERIALS[0] <= n <= _BE_SERIALS[1]:
        # a B.E. date typed into a CE cell (Excel stores 15/03/2567 as the year 2567): shift back 543 years
        return _be_date_to_ce(_EXCEL_EPOCH + dt.timedelta(days=n), serial)
    if n > _EXCEL_MAX_SERIAL:
        raise _bad_date(
            serial,
            "As an Excel date serial it would fall after 2199; is it a YYYYMM or YYYYMMDD code? Write the date as 2024-03-15.",
            "หากเป็นเลขวันที่ของ Excel จะตรงกับหลังปี 2199 อาจเป็นรหัสปีเดือน กรุณากรอกวันที่ เช่น 15/03/2567",
        )
    return _EXCEL_EPOCH + dt.timedelta(days=n + 1 if n < 60 else n)


MONTHS_TH = ["มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
             "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม"]
MONTHS_TH_ABBR = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
                  "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July",
             "August", "September", "October", "November", "December"]


def month_name_th(month: int, abbr: bool = False) -> str:
    """Thai name of month 1-12 (full, or abbreviated as in ม.ค.)."""
    return (MONTHS_TH_ABBR if abbr else MONTHS_TH)[month - 1]


def _month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for i in range(12):
        full_en = MONTHS_EN[i].lower()
        for name in (MONTHS_TH[i], MONTHS_TH_ABBR[i], full_en, full_en[:3]):
            table[_month_key(name)] = i + 1
    table[_month_key("กรกฏาคม")] = 7  # common misspelling (ฏ for ฎ)
    table["sept"] = 9
    return table


def _month_key(token: str) -> str:
    return re.sub(r"[\s.]", "", unicodedata.normalize("NFC", token)).casefold()


_MONTHS: dict[str, int] = _month_table()

_ERA_BE = re.compile(r"(?:พ\.?\s?ศ\.?|\bB\.?E\.?(?=\s|\d|$))")
_ERA_CE = re.compile(r"(?:ค\.?\s?ศ\.?|\b(?:C\.?E|A\.?D)\.?(?=\s|\d|$))")
_WEEKDAY_PREFIX = re.compile(r"^วัน\S*?ที่\s*")
_TIME_SUFFIX = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME_SUFFIX)
_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME_SUFFIX)
_YM = re.compile(r"(\d{4})[-/.](\d{1,2})")
_MY = re.compile(r"(\d{1,2})[-/.](\d{4}|\d{2})")
_TEXT_MONTH = re.compile(r"(?:(\d{1,2})[\s/-]*)?([^\d\s/-][^\d]*?)[\s,/-]*(\d{4}|\d{2})")


def _clean(value: str) -> tuple[str, str | None]:
    """Thai digits -> arabic, drop weekday prefix and era markers; return (text, era)."""
    s = unicodedata.normalize("NFC", thai_digits_to_arabic(value)).strip()
    s = _WEEKDAY_PREFIX.sub("", s)
    era = None
    if _ERA_BE.search(s):
        era, s = "BE", _ERA_BE.sub(" ", s)
    elif _ERA_CE.search(s):
        era, s = "CE", _ERA_CE.sub(" ", s)
    return re.sub(r"\s+", " ", s).strip(), era


_HINTS = {
    "date": ("Not a date", "ไม่ใช่วันที่", "Use e.g. 2024-03-15, 15/03/2567 or 15 มี.ค. 2567.",
             "กรุณากรอกเช่น 15/03/2567 หรือ 15 มี.ค. 2567 หรือ 2024-03-15"),
    "period": ("Not a period", "ไม่ใช่งวดเดือน", "Use e.g. 2024-03, 03/2567 or มี.ค. 2567.",
               "กรุณากรอกเช่น 03/2567 หรือ มี.ค. 2567 หรือ 2024-03"),
}


def _bad_date(value, why_en: str = "", why_th: str = "", kind: str = "date") -> ThaiParseError:
    head_en, head_th, hint_en, hint_th = _HINTS[kind]
    return ThaiParseError(
        f"{head_en}: {value!r}. {why_en or hint_en}",
        f"{head_th}: {value!r} {why_th or hint_th}",
        reason_en=why_en, reason_th=why_th,
    )


def _text_month(s: str, value) -> tuple[int, int | None, str, bool] | None:
    """Match '15 มี.ค. 67' / 'มีนาคม 2567' / '15 March 2024'.

    Return (month, day or None, year token, month name is English) or None if the form does not match.
    """
    m = _TEXT_MONTH.fullmatch(s)
    if not m:
        return None
    key = _month_key(m.group(2))
    month = _MONTHS.get(key)
    if month is None:
        raise _bad_date(value, f"Unknown month name {m.group(2)!r}.", f"ไม่รู้จักชื่อเดือน {m.group(2)!r}")
    return month, (int(m.group(1)) if m.group(1) else None), m.group(3), key.isascii()


def _make_date(value, y: int, m: int, d: int) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise _bad_date(
            value,
            f"Day {d}, month {m}, year {y} (CE) is not a valid calendar date.",
            f"วันที่ {d} เดือน {m} ปี ค.ศ. {y} ไม่มีอยู่จริงในปฏิทิน",
        ) from None


def parse_thai_date(value) -> dt.date:
    """Parse a date as Thai spreadsheets write it and return a ``datetime.date``.

    Accepts ``date``/``datetime`` objects; Excel serials (int/float, 1900 system); ``2024-03-15`` or
    ``2567-03-15`` (a time part is ignored); day-first ``15/03/2567``, ``15/3/67``, ``15.3.2024``;
    Thai or English month names, full or abbreviated, with or without dots (``15 มี.ค. 2567``,
    ``15 มีนาคม พ.ศ. 2567``, ``วันศุกร์ที่ 15 มีนาคม 2567``, ``15 March 2024``); Thai digits anywhere.
    A month without a day (``มี.ค. 67``) gives the first of the month. Blank values raise: check for
    blanks before calling. See the module doc for the year rules.
    """
    if isinstance(value, dt.datetime):
        if value != value:  # pandas NaT
            raise _bad_date(value, "The value is missing.", "ไม่มีข้อมูล")
        value = value.date()
    if isinstance(value, dt.date):
        return _be_date_to_ce(value) if value.year >= 2400 else value
    if isinstance(value, bool) or value is None:
        raise _bad_date(value, *(("The value is missing.", "ไม่มีข้อมูล") if value is None else ("", "")))
    if isinstance(value, (numbers.Real, Decimal)):
        return excel_serial_to_date(value)
    if not isinstance(value, str):
        raise _bad_date(value, f"Cannot read a date from a {type(value).__name__}.",
                        f"อ่านวันที่จากข้อมูลชนิด {type(value).__name__} ไม่ได้")
    s, era = _clean(value)
    if not s:
        raise _bad_date(value, "The value is empty.", "ไม่มีข้อมูล")
    if m := _YMD.fullmatch(s):
        return _make_date(value, _year(m.group(1), era), int(m.group(2)), int(m.group(3)))
    if m := _DMY.fullmatch(s):
        return _make_date(value, _year(m.group(3), era), int(m.group(2)), int(m.group(1)))
    if parts := _text_month(s, value):
        month, day, year, english = parts
        return _make_date(value, _year(year, era or ("CE" if english else None)), month, day or 1)
    raise _bad_date(value)


def parse_period(value) -> str:
    """Parse a reporting month and return ``"YYYY-MM"`` (CE).

    Accepts ``2024-03``, ``2567-03``, ``03/2567``, ``3/67``, ``มี.ค. 2567``, ``มีนาคม 67``, ``March 2024``,
    date objects, Excel serials and any full date :func:`parse_thai_date` reads (its month is taken).
    """
    try:
        if isinstance(value, str):
            s, era = _clean(value)
            ym = None
            if m := _YM.fullmatch(s):
                ym = _year(m.group(1), era), int(m.group(2))
            elif m := _MY.fullmatch(s):
                ym = _year(m.group(2), era), int(m.group(1))
            elif (parts := _text_month(s, value)) and parts[1] is None:
                ym = _year(parts[2], era or ("CE" if parts[3] else None)), parts[0]
            if ym is not None:
                if not 1 <= ym[1] <= 12:
                    raise _bad_date(value, f"Month {ym[1]} is not between 1 and 12.",
                                    f"เดือน {ym[1]} ต้องอยู่ระหว่าง 1 ถึง 12", kind="period")
                return f"{ym[0]:04d}-{ym[1]:02d}"
        d = parse_thai_date(value)
    except ThaiParseError as e:
        if e.message_en.startswith(_HINTS["period"][0]):
            raise
        raise _bad_date(value, e.reason_en, e.reason_th, kind="period") from e
    return f"{d.year:04d}-{d.month:02d}"


# --------------------------------------------------------------------------- provinces

_PROVINCE_PREFIX = re.compile(r"^\s*(?:จังหวัด|จ\.)\s*")
_PROVINCE_WORDS = re.compile(r"\b(?:province|changwat)\b", re.IGNORECASE)
_PROVINCE_JOINERS = re.compile(r"[\s\-\u2010-\u2015._'’]+")


def province_key(name: str) -> str:
    """Matching key for a province name: no "จังหวัด"/"จ." prefix, no "Province"/"Changwat",
    casefolded, without spaces, hyphens, dots or apostrophes (``"จ. เชียงใหม่"`` -> ``"เชียงใหม่"``,
    ``"Chiang-Mai Province"`` -> ``"chiangmai"``)."""
    s = unicodedata.normalize("NFC", name).strip()
    s = _PROVINCE_PREFIX.sub("", s)
    s = _PROVINCE_WORDS.sub(" ", s)
    return _PROVINCE_JOINERS.sub("", s.casefold())


def load_province_aliases(seeds_dir: Path | str = SEEDS_DIR) -> dict[str, str]:
    """Read ``province_aliases.csv`` and ``provinces.csv`` into {name as written: ISO code}.

    Province codes themselves (``TH-50``) and both official names are included.
    """
    seeds_dir = Path(seeds_dir)
    mapping: dict[str, str] = {}
    with open(seeds_dir / "provinces.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            for name in (row["province_code"], row["name_th"], row["name_en"]):
                mapping[name] = row["province_code"]
    with open(seeds_dir / "province_aliases.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            mapping[row["alias"]] = row["province_code"]
    return mapping


def _index(aliases: Mapping[str, str]) -> dict[str, str]:
    """{province_key(alias): code}; raises ValueError if two aliases collide on different codes."""
    index: dict[str, str] = {}
    for alias, code in aliases.items():
        key = province_key(alias)
        if not key:
            continue
        if index.setdefault(key, code) != code:
            raise ValueError(
                f"Ambiguous province alias {alias!r}: its key {key!r} maps to both {index[key]} and {code}."
            )
    return index


@lru_cache(maxsize=1)
def _default_index() -> dict[str, str]:
    return _index(load_province_aliases())


def normalize_province(name, aliases: Mapping[str, str] | None = None) -> str | None:
    """Return the ISO 3166-2:TH code for a province name as written, or ``None`` if unknown.

    Matches Thai and English names, ISO codes and the aliases in the dbt seeds (loaded once, cached),
    ignoring "จังหวัด"/"จ." prefixes, "Province"/"Changwat", case, spaces, hyphens and dots.
    Pass ``aliases`` ({alias: code}) to use another table instead. Pattaya is not a province: ``None``.
    """
    if not isinstance(name, str):
        return None
    key = province_key(name)
    if not key:
        return None
    index = _default_index() if aliases is None else _index(aliases)
    return index.get(key)
