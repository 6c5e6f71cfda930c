"""The Excel template partners fill in, generated from the source contract (so it can never drift from it).

    write_template("activity_reports", "th", path)

Sheets: an instructions sheet (every column: required or not, format, allowed values, example), the data
sheet (title block, one header row in the chosen language, drop-down lists for coded columns and provinces,
number checks), and a hidden sheet holding the drop-down lists. The header texts and the drop-down labels
are the contract's own labels and aliases, so a filled template ingests with no mapping step.
"""
from __future__ import annotations

from pathlib import Path

from phakhi.ingest.contracts import Column, Contract, load_contract

FAMILY_ALIASES = {"activity": "activity_reports", "activities": "activity_reports", "ghg": "ghg_reductions",
                  "inventory": "partner_inventories", "inventories": "partner_inventories",
                  "registry": "partner_registry"}
TEMPLATE_FAMILIES = ("activity_reports", "ghg_reductions", "partner_inventories", "partner_registry")
FIRST_DATA_ROW = 5          # rows 1-3: title block, row 4: headers
DATA_ROWS = 500

TEXT = {
    "th": {"data": "รายงาน", "instructions": "คำแนะนำ", "lists": "รายการ",
           "fill": "กรอกข้อมูลตั้งแต่แถวที่ {row} หนึ่งแถวต่อหนึ่งรายการ · ช่องที่มีเครื่องหมาย * ต้องกรอก · "
                   "อย่าแก้ไขหัวตาราง",
           "version": "แบบฟอร์มของระบบภาคี (Phakhi) ตามข้อกำหนด {name} ฉบับ {version}",
           "steps": ["1. กรอกข้อมูลในชีต '{data}' ตั้งแต่แถวที่ {row} หนึ่งแถวต่อหนึ่งรายการ",
                     "2. ช่องที่มีรายการให้เลือก (องค์ประกอบ ACE จังหวัด ประเภท ฯลฯ) ให้เลือกจากรายการเท่านั้น",
                     "3. วันที่ใช้ปี พ.ศ. หรือ ค.ศ. ก็ได้ เช่น 15/03/2568 หรือ 2025-03-15 ตัวเลขใช้เลขไทยหรือเลขอารบิกก็ได้",
                     "4. ไม่ต้องใส่แถวผลรวม ระบบคำนวณเอง",
                     "5. ถ้าต้องแก้ไขข้อมูลที่ส่งไปแล้ว ให้ส่งไฟล์ทั้งไฟล์ใหม่ (ไฟล์ใหม่จะแทนที่ไฟล์เดิมของงวดเดียวกัน)"],
           "cols": ["คอลัมน์", "ต้องกรอก", "ชนิดข้อมูล / หน่วย", "คำอธิบาย", "ค่าที่เลือกได้", "ตัวอย่าง"],
           "yes": "ต้องกรอก", "no": "ไม่บังคับ", "error": "ค่าไม่ถูกต้อง", "pick": "กรุณาเลือกจากรายการ",
           "number": "กรุณากรอกตัวเลขที่ไม่ติดลบ", "types": {
               "string": "ข้อความ", "integer": "จำนวนเต็ม", "number": "ตัวเลข", "year": "ปี (พ.ศ. หรือ ค.ศ.)",
               "date": "วันที่", "period": "เดือน/ปี", "province": "จังหวัด", "enum": "เลือกจากรายการ",
               "likert": "รหัสคำตอบ"}},
    "en": {"data": "Report", "instructions": "Instructions", "lists": "Lists",
           "fill": "Fill in from row {row}, one record per row · columns marked * are required · "
                   "do not change the headers",
           "version": "Phakhi template for contract {name} version {version}",
           "steps": ["1. Fill in the '{data}' sheet from row {row}, one record per row.",
                     "2. Coded columns (ACE element, province, types, ...) take a value from their drop-down list.",
                     "3. Dates may use the Buddhist or the Common Era: 15/03/2568 or 2025-03-15. Thai digits are fine.",
                     "4. Do not add a totals row: Phakhi computes totals.",
                     "5. To correct a report you sent, send the whole file again: it replaces the earlier file "
                     "for the same period."],
           "cols": ["Column", "Required", "Type / unit", "Description", "Allowed values", "Example"],
           "yes": "required", "no": "optional", "error": "Invalid value", "pick": "Pick a value from the list",
           "number": "Enter a number, not negative", "types": {
               "string": "text", "integer": "whole number", "number": "number", "year": "year (B.E. or CE)",
               "date": "date", "period": "month and year", "province": "province", "enum": "pick from list",
               "likert": "answer code"}},
}


def resolve_family(name: str) -> str:
    family = FAMILY_ALIASES.get(name, name)
    if family not in TEMPLATE_FAMILIES:
        raise ValueError(f"no template for '{name}'; choose one of: activity, ghg, inventory, registry")
    return family


def header_text(col: Column, lang: str) -> str:
    return col.label(lang) + (" *" if col.required else "")


def choices(col: Column, lang: str) -> list[str]:
    """The drop-down labels of a coded or province column, in the template's language."""
    if col.type == "province":
        import csv

        from phakhi.settings import SEEDS_DIR

        with open(SEEDS_DIR / "provinces.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        key = "name_th" if lang == "th" else "name_en"
        # Thai order skips a leading vowel (เ แ โ ใ ไ are written before the consonant they follow)
        return sorted((r[key] for r in rows), key=lambda s: s[1:] + s[0] if s[0] in "เแโใไ" else s)
    if col.type == "enum":
        return [col.value_label(code, lang) for code in col.allowed or []]
    return []


def template_columns(contract: Contract) -> list[Column]:
    """The columns a partner fills in (private contact columns are the registry's, not a partner form's)."""
    return [c for c in contract.columns if not (c.private and contract.name != "partner_registry")]


def write_template(family: str, lang: str, path: Path | str) -> Path:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    if lang not in TEXT:
        raise ValueError("lang must be 'th' or 'en'")
    family = resolve_family(family)
    contract = load_contract(family)
    t = TEXT[lang]
    cols = template_columns(contract)
    title = contract.title_th if lang == "th" else contract.title_en
    version = t["version"].format(name=contract.name, version=contract.version)
    bold, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEFE6")

    wb = Workbook()
    # ---- instructions
    ins = wb.active
    ins.title = t["instructions"]
    ins.append([title])
    ins["A1"].font = Font(bold=True, size=14)
    ins.append([version])
    ins.append([])
    for step in t["steps"]:
        ins.append([step.format(data=t["data"], row=FIRST_DATA_ROW)])
    ins.append([])
    ins.append(t["cols"])
    for cell in ins[ins.max_row]:
        cell.font, cell.fill = bold, head_fill
    for col in cols:
        kind = t["types"][col.type] + (f" ({col.unit})" if col.unit else "")
        help_text = (col.help_th if lang == "th" else col.help_en) or ""
        allowed = ", ".join(choices(col, lang)) if col.type == "enum" else (
            t["types"]["province"] + " (77)" if col.type == "province" else "")
        ins.append([header_text(col, lang), t["yes"] if col.required else t["no"], kind, help_text, allowed,
                    "" if col.example is None else str(col.example)])
    for letter, width in zip("ABCDEF", (34, 12, 22, 60, 60, 24)):
        ins.column_dimensions[letter].width = width
    for row in ins.iter_rows(min_row=10):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    # ---- data sheet
    ws = wb.create_sheet(t["data"])
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([t["fill"].format(row=FIRST_DATA_ROW)])
    ws.append([version])
    ws.append([header_text(c, lang) for c in cols])
    header_row = FIRST_DATA_ROW - 1
    for j, col in enumerate(cols, start=1):
        cell = ws.cell(row=header_row, column=j)
        cell.font, cell.fill = bold, head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        help_text = (col.help_th if lang == "th" else col.help_en)
        if help_text:
            cell.comment = Comment(help_text, "Phakhi")
        ws.column_dimensions[get_column_letter(j)].width = max(12, min(40, len(header_text(col, lang)) + 6))
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=1)

    # ---- lists (hidden) + validations
    lists = wb.create_sheet(t["lists"])
    lists.sheet_state = "hidden"
    last_row = FIRST_DATA_ROW + DATA_ROWS - 1
    k = 0
    for j, col in enumerate(cols, start=1):
        letter = get_column_letter(j)
        target = f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}"
        values = choices(col, lang)
        if values:
            k += 1
            lcol = get_column_letter(k)
            lists.cell(row=1, column=k, value=col.name)
            for i, v in enumerate(values, start=2):
                lists.cell(row=i, column=k, value=v)
            dv = DataValidation(type="list", formula1=f"'{lists.title}'!${lcol}$2:${lcol}${len(values) + 1}",
                                allow_blank=True, showErrorMessage=True, errorTitle=t["error"], error=t["pick"],
                                promptTitle=header_text(col, lang), prompt=t["pick"], showInputMessage=True)
            dv.add(target)
            ws.add_data_validation(dv)
        elif col.type in ("integer", "number") and col.min is not None and col.min >= 0:
            dv = DataValidation(type="whole" if col.type == "integer" else "decimal", operator="greaterThanOrEqual",
                                formula1=str(int(col.min) if col.type == "integer" else col.min), allow_blank=True,
                                showErrorMessage=True, errorTitle=t["error"], error=t["number"])
            dv.add(target)
            ws.add_data_validation(dv)
    wb.active = wb.index(ws)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def default_name(family: str, lang: str) -> str:
    return f"phakhi_{resolve_family(family)}_template_{lang}.xlsx"
