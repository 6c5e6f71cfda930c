"""Source contracts (sources/contracts/*.yml): what a file of each source family must hold.

`apply_contract` turns one sheet of raw cells into typed rows that pass the contract, plus one quarantine
record per failing cell or rule. Every non-blank data row ends up in exactly one of the two.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from flows import thai
from flows.config import CONTRACTS_DIR, REPO_ROOT
from flows.ingest.readers import Sheet, find_header_row, is_blank

INSTRUMENT_DIR = REPO_ROOT / "sources" / "instrument"


def norm_header(text: str) -> str:
    return re.sub(r"\s+", " ", thai.thai_digits_to_arabic(str(text))).strip().casefold()


@dataclass
class Column:
    name: str
    type: str
    required: bool = False
    aliases: list[str] = field(default_factory=list)
    allowed: list[str] | None = None
    value_aliases: dict[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    private: bool = False
    label_th: str | None = None
    unit: str | None = None
    missing_codes: tuple[int, ...] = ()


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

    def header_lookup(self) -> dict[str, str]:
        lookup = {}
        for col in self.columns:
            for alias in [col.name, *col.aliases, *( [col.label_th] if col.label_th else [])]:
                lookup[norm_header(alias)] = col.name
        return lookup

    def match_header(self, text: str) -> str | None:
        return self.header_lookup().get(norm_header(text))

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@lru_cache(maxsize=None)
def load_instrument(name: str = "ccai_core_v1") -> dict:
    return yaml.safe_load((INSTRUMENT_DIR / f"{name}.yml").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def load_contract(name: str) -> Contract:
    spec = yaml.safe_load((CONTRACTS_DIR / f"{name}.yml").read_text(encoding="utf-8"))
    cols = [Column(**{k: v for k, v in c.items() if k in Column.__dataclass_fields__}) for c in spec["columns"]]
    for c in cols:
        c.value_aliases = {norm_header(k): v for k, v in (c.value_aliases or {}).items()}
    if spec.get("item_columns", {}).get("from_instrument"):
        inst = load_instrument(spec["instrument"])
        codes = tuple(int(k) for k in inst["missing_codes"])
        for item in inst["items"]:
            cols.append(Column(name=item["code"], type="likert", required=bool(item.get("core")),
                               min=inst["scale"]["min"], max=inst["scale"]["max"], missing_codes=codes,
                               aliases=[item["code"]], label_th=item["th"]))
    return Contract(name=spec["name"], version=str(spec["version"]), columns=cols, checks=spec.get("checks", []),
                    key=spec.get("key", []), references=spec.get("references", {}),
                    description_en=spec.get("description_en", ""), description_th=spec.get("description_th", ""))


class CellError(ValueError):
    def __init__(self, rule: str, message_en: str, message_th: str, expected: str = ""):
        super().__init__(message_en)
        self.rule, self.message_en, self.message_th, self.expected = rule, message_en, message_th, expected


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return thai.thai_digits_to_arabic(str(value)).strip()


def _number(value: object) -> float:
    try:
        out = thai.parse_number(value)
    except (ValueError, TypeError) as exc:
        raise CellError("type", f"'{value}' is not a number", f"'{value}' ไม่ใช่ตัวเลข", "a number, e.g. 1,234.5") from exc
    if out is None or math.isnan(out):
        raise CellError("type", f"'{value}' is not a number", f"'{value}' ไม่ใช่ตัวเลข", "a number")
    return float(out)


def parse_cell(col: Column, value: object) -> object:
    """Typed value of one non-blank cell, or CellError saying what was wrong and what was expected."""
    t = col.type
    if t == "string":
        text = str(value).strip() if not isinstance(value, float) else _as_text(value)
        if col.pattern and not re.fullmatch(col.pattern, text):
            raise CellError("pattern", f"'{text}' does not have the expected form",
                            f"'{text}' ไม่อยู่ในรูปแบบที่กำหนด", f"pattern {col.pattern}")
        return text
    if t in ("number", "integer", "likert"):
        out = _number(value)
        if t in ("integer", "likert"):
            if not float(out).is_integer():
                raise CellError("type", f"'{value}' is not a whole number", f"'{value}' ไม่ใช่จำนวนเต็ม", "a whole number")
            out = int(out)
        if t == "likert":
            if out in col.missing_codes:
                return out
            if not (col.min <= out <= col.max):
                raise CellError("range", f"answer code {out} is neither a scale point nor a missing code",
                                f"รหัสคำตอบ {out} ไม่อยู่ในมาตรวัดและไม่ใช่รหัสไม่ตอบ",
                                f"{col.min:g}–{col.max:g} or {', '.join(map(str, col.missing_codes))}")
            return out
        if col.min is not None and out < col.min:
            raise CellError("range", f"{out:g} is below the minimum {col.min:g}", f"{out:g} ต่ำกว่าค่าต่ำสุด {col.min:g}",
                            f">= {col.min:g}")
        if col.max is not None and out > col.max:
            raise CellError("range", f"{out:g} is above the maximum {col.max:g}", f"{out:g} สูงกว่าค่าสูงสุด {col.max:g}",
                            f"<= {col.max:g}")
        return out
    if t == "year":
        out = _number(value)
        if not float(out).is_integer():
            raise CellError("type", f"'{value}' is not a year", f"'{value}' ไม่ใช่ปี", "a year, e.g. 2567 or 2024")
        year = thai.be_to_ce_year(int(out))
        if not 1990 <= year <= 2100:
            raise CellError("range", f"year {value} is out of range", f"ปี {value} อยู่นอกช่วงที่รับได้", "1990–2100 (CE) or 2533–2643 (BE)")
        return year
    if t == "date":
        try:
            return thai.parse_thai_date(value)
        except (ValueError, TypeError) as exc:
            raise CellError("date", f"'{value}' is not a date", f"'{value}' ไม่ใช่วันที่",
                            "a date, e.g. 15/03/2567 or 15 มี.ค. 2567 or 2024-03-15") from exc
    if t == "period":
        try:
            return thai.parse_period(value)
        except (ValueError, TypeError) as exc:
            raise CellError("period", f"'{value}' is not a month", f"'{value}' ไม่ใช่เดือนที่รายงาน",
                            "a month, e.g. มี.ค. 2567 or 2024-03") from exc
    if t == "province":
        code = thai.normalize_province(str(value))
        if code is None:
            raise CellError("province", f"'{value}' is not a Thai province name", f"'{value}' ไม่ใช่ชื่อจังหวัด",
                            "one of the 77 provinces, in Thai or English (e.g. กรุงเทพฯ, Chiang Mai)")
        return code
    if t == "enum":
        text = _as_text(value)
        key = norm_header(text)
        if key in col.value_aliases:
            return col.value_aliases[key]
        if text in (col.allowed or []) or key in (col.allowed or []):
            return key
        raise CellError("allowed_values", f"'{text}' is not an allowed value", f"'{text}' ไม่ใช่ค่าที่กำหนด",
                        "one of: " + ", ".join(col.allowed or []))
    raise RuntimeError(f"contract column {col.name} has unknown type {t}")


@dataclass
class ContractResult:
    loaded: pd.DataFrame                 # typed rows + _row (file row number)
    quarantine: list[dict]               # one record per problem
    rows_read: int
    rows_quarantined: int
    blank_rows: int


def apply_contract(contract: Contract, sheet: Sheet, known: dict[str, set[str]] | None = None) -> ContractResult:
    """Map headers, type every cell, run row checks and references. Raises UnreadableFile-like ValueError
    (`MissingColumns`) when the table itself is not there."""
    header_idx, hits = find_header_row(sheet.rows, contract.match_header)
    if header_idx < 0:
        raise MissingColumns(contract, [], found=[])
    header = sheet.rows[header_idx]
    mapping: dict[int, str] = {}
    for j, cell in enumerate(header):
        if not is_blank(cell):
            name = contract.match_header(str(cell))
            if name and name not in mapping.values():
                mapping[j] = name
    missing = [c for c in contract.required if c not in mapping.values()]
    if missing:
        raise MissingColumns(contract, missing, found=[str(c) for c in header if not is_blank(c)])

    good, problems, blank, read = [], [], 0, 0
    col_of = {c.name: c for c in contract.columns}
    header_text = {j: str(header[j]) for j in mapping}
    for i in range(header_idx + 1, len(sheet.rows)):
        raw = sheet.rows[i]
        if all(is_blank(c) for c in raw):
            blank += 1
            continue
        read += 1
        row_no = i + 1
        record, errors = {"_row": row_no}, []
        for j, name in mapping.items():
            value = raw[j] if j < len(raw) else None
            col = col_of[name]
            if is_blank(value):
                if col.required:
                    errors.append((name, header_text[j], value,
                                   CellError("required", "required value is empty", "ต้องกรอกข้อมูลช่องนี้", "a value")))
                record[name] = None
                continue
            try:
                record[name] = parse_cell(col, value)
            except CellError as err:
                errors.append((name, header_text[j], value, err))
        if not errors:
            for name, allowed in (known or {}).items():
                if record.get(name) is not None and record[name] not in allowed:
                    ref = contract.references.get(name, "")
                    errors.append((name, name, record[name], CellError(
                        "reference", f"'{record[name]}' is not in {ref.split('.')[0].replace('_', ' ')}",
                        f"ไม่พบ '{record[name]}' ในทะเบียนภาคี", f"an id present in {ref}")))
        if not errors:
            errors.extend(_row_checks(contract, record))
        if errors:
            for name, head, value, err in errors:
                problems.append({"sheet": sheet.name, "row": row_no, "column": name, "header": head,
                                 "value": None if is_blank(value) else str(value), "rule": err.rule,
                                 "expected": err.expected, "message_en": err.message_en, "message_th": err.message_th})
        else:
            good.append(record)
    names = ["_row"] + [c.name for c in contract.columns]
    loaded = pd.DataFrame(good, columns=names)
    return ContractResult(loaded, problems, read, read - len(loaded), blank)


def _row_checks(contract: Contract, record: dict) -> list[tuple]:
    errs = []
    for check in contract.checks:
        values = {c: record.get(c) for c in check["columns"]}
        if check.get("when_null") != "evaluate" and any(v is None for v in values.values()):
            continue
        frame = pd.DataFrame([values], dtype=object).infer_objects()
        try:
            ok = bool(frame.eval(check["expr"], engine="python").iloc[0])
        except Exception:
            ok = False
        if not ok:
            errs.append((check["columns"][0], ", ".join(check["columns"]), ", ".join(f"{k}={v}" for k, v in values.items()),
                         CellError(check["rule"], check["message_en"], check["message_th"], check["expr"])))
    return errs


class MissingColumns(ValueError):
    def __init__(self, contract: Contract, missing: list[str], found: list[str]):
        self.missing, self.found = missing, found
        if not found and not missing:
            en = f"no table matching the {contract.name} contract was found (no header row recognised)"
            th = "ไม่พบตารางข้อมูลตามรูปแบบที่กำหนด (ไม่พบแถวหัวตาราง)"
        else:
            labels = [contract.column(m).label_th or m for m in missing]
            en = (f"required column(s) missing: {', '.join(missing)}; headers found: {', '.join(found) or '(none)'}")
            th = f"ไม่พบคอลัมน์ที่ต้องมี: {', '.join(labels)}"
        super().__init__(en)
        self.message_en, self.message_th = en, th


def to_jsonable(v: object) -> object:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return v
