"""Read CSV / Excel / SPSS files into a grid of raw cells, and find the header row.

Every reader returns all cells as text-or-native values (no type guessing); types are the contract's job.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

SUPPORTED = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xlsx", ".sav": "sav"}


class UnreadableFile(Exception):
    """The whole file cannot be read; message_en/message_th say why."""

    def __init__(self, message_en: str, message_th: str):
        super().__init__(message_en)
        self.message_en, self.message_th = message_en, message_th


@dataclass
class Sheet:
    name: str | None
    rows: list[list[object]]                    # raw cells, first row = file row 1
    value_labels: dict[str, dict] = field(default_factory=dict)  # SPSS value labels by column
    encoding: str | None = None


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) first; Thai Windows code page cp874 (a superset of TIS-620) otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp874"), "cp874"
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"text is neither UTF-8 nor Thai cp874/TIS-620 (undecodable byte at offset {exc.start})",
            f"ไฟล์ไม่ใช่รหัสอักขระ UTF-8 หรือ cp874/TIS-620 (ไบต์ที่ตำแหน่ง {exc.start})",
        ) from exc


def read_csv(path: Path) -> list[Sheet]:
    text, encoding = decode_text(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    return [Sheet(name=None, rows=rows, encoding=encoding)]


def read_xlsx(path: Path) -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise UnreadableFile(f"not a readable Excel workbook ({exc})",
                             f"ไม่สามารถเปิดไฟล์ Excel ได้ ({exc})") from exc
    return [Sheet(name=name, rows=wb.get_sheet_by_name(name).to_python(skip_empty_area=False))
            for name in wb.sheet_names]


def read_sav(path: Path) -> list[Sheet]:
    import pyreadstat

    try:
        df, meta = pyreadstat.read_sav(str(path))
    except Exception as exc:
        raise UnreadableFile(f"not a readable SPSS .sav file ({exc})",
                             f"ไม่สามารถเปิดไฟล์ SPSS ได้ ({exc})") from exc
    rows = [list(df.columns)] + df.astype(object).where(df.notna(), None).values.tolist()
    return [Sheet(name=None, rows=rows, value_labels=dict(meta.variable_value_labels))]


def read_any(path: Path) -> list[Sheet]:
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise UnreadableFile(
            f"file type '{path.suffix or '(none)'}' is not accepted; send .csv, .xlsx or .sav",
            f"ไม่รับไฟล์ประเภท '{path.suffix or '(ไม่มี)'}' กรุณาส่ง .csv .xlsx หรือ .sav")
    if path.stat().st_size == 0:
        raise UnreadableFile("the file is empty", "ไฟล์ว่างเปล่า")
    return {"csv": read_csv, "xlsx": read_xlsx, "sav": read_sav}[kind](path)


def is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, float) and pd.isna(cell)) or (isinstance(cell, str) and not cell.strip())


def find_header_row(rows: list[list[object]], match, scan: int = 30) -> tuple[int, int]:
    """Index of the row (within the first `scan`) whose cells match the most contract headers, and that count.

    Partners put title blocks above the table; the header is the row that looks most like the contract.
    """
    best, best_hits = -1, 0
    for i, row in enumerate(rows[:scan]):
        hits = sum(1 for cell in row if not is_blank(cell) and match(str(cell)) is not None)
        if hits > best_hits:
            best, best_hits = i, hits
    return best, best_hits
