"""The Excel template of a report, pre-filled with the partner's id (first data row, and a one-value list
on the id column so a typo cannot slip in)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from phakhi.ingest.contracts import load_contract
from phakhi.ingest.template import FIRST_DATA_ROW, DATA_ROWS, TEXT, template_columns, write_template


def partner_template(family: str, lang: str, partner_id: str) -> bytes:
    from openpyxl import load_workbook
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.utils import get_column_letter

    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(family, lang, Path(tmp) / "t.xlsx")
        wb = load_workbook(path)
        ws = wb[TEXT[lang]["data"]]
        names = [c.name for c in template_columns(load_contract(family))]
        if "partner_id" in names:
            j = names.index("partner_id") + 1
            letter = get_column_letter(j)
            ws.cell(row=FIRST_DATA_ROW, column=j, value=partner_id)
            dv = DataValidation(type="list", formula1=f'"{partner_id}"', allow_blank=True, showErrorMessage=True)
            dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{FIRST_DATA_ROW + DATA_ROWS - 1}")
            ws.add_data_validation(dv)
        ws.cell(row=2, column=1, value=f"{ws.cell(row=2, column=1).value} · {partner_id}")
        wb.save(path)
        return path.read_bytes()
