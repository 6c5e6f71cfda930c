"""The partner template (`phakhi template`): Thai/English headers, drop-down lists, an instructions sheet, and
the round trip: a template filled in with values from its own drop-downs ingests cleanly."""
from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from phakhi.cli import app
from phakhi.ingest.contracts import load_contract
from phakhi.ingest.files import assemble_family, ingest_file
from phakhi.ingest.template import FIRST_DATA_ROW, template_columns, write_template

KNOWN = {"partner_id": {"P001", "P002"}}


def _lists(wb):
    lists = wb.worksheets[2]
    return {lists.cell(1, k).value: [lists.cell(i, k).value for i in range(2, lists.max_row + 1)
                                     if lists.cell(i, k).value is not None] for k in range(1, lists.max_column + 1)}


def _validations(ws):
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            out[rng.split(":")[0].rstrip("0123456789")] = dv
    return out


@pytest.mark.parametrize("lang", ["th", "en"])
def test_activity_template_layout(tmp_path, lang):
    path = write_template("activity", lang, tmp_path / "t.xlsx")
    wb = load_workbook(path)
    names = {"th": ["คำแนะนำ", "รายงาน", "รายการ"], "en": ["Instructions", "Report", "Lists"]}[lang]
    assert wb.sheetnames == names and wb.worksheets[2].sheet_state == "hidden"
    ws = wb.worksheets[1]
    cols = template_columns(load_contract("activity_reports"))
    headers = [c.value for c in ws[FIRST_DATA_ROW - 1]]
    assert headers == [(c.label_th if lang == "th" else c.label_en) + (" *" if c.required else "") for c in cols]
    if lang == "th":
        assert headers[:4] == ["รหัสภาคี *", "เดือนที่รายงาน *", "ลำดับ *", "องค์ประกอบ ACE *"]
    dvs = _validations(ws)
    letter = {c.name: chr(65 + j) for j, c in enumerate(cols)}
    for name in ("ace_element", "activity_type", "province_code"):
        dv = dvs[letter[name]]
        assert dv.type == "list" and wb.worksheets[2].title in dv.formula1, name
    assert dvs[letter["participants_total"]].type == "whole"
    lists = _lists(wb)
    assert len(lists["province_code"]) == 77 and len(lists["ace_element"]) == 6 and len(lists["activity_type"]) == 8
    if lang == "th":
        assert "การศึกษา" in lists["ace_element"] and "เชียงใหม่" in lists["province_code"]
    else:
        assert "Public awareness" in lists["ace_element"] and "Chiang Mai" in lists["province_code"]
    # the instructions sheet documents every column
    ins = wb.worksheets[0]
    text = "\n".join(str(c.value) for row in ins.iter_rows() for c in row if c.value)
    for c in cols:
        assert (c.label_th if lang == "th" else c.label_en) in text


@pytest.mark.parametrize("lang", ["th", "en"])
def test_filled_activity_template_ingests_cleanly(tmp_path, lang):
    path = write_template("activity", lang, tmp_path / "t.xlsx")
    wb = load_workbook(path)
    ws, lists = wb.worksheets[1], _lists(wb)
    cols = [c.name for c in template_columns(load_contract("activity_reports"))]
    rows = []
    for k in range(len(lists["ace_element"])):            # every ACE element, activity type and tag once
        rows.append({"partner_id": "P001", "period": "มี.ค. 2568" if lang == "th" else "2025-03", "activity_no": k + 1,
                     "ace_element": lists["ace_element"][k],
                     "activity_type": lists["activity_type"][k % len(lists["activity_type"])],
                     "title": f"กิจกรรม {k}", "province_code": lists["province_code"][k * 11],
                     "district": "เมือง", "activity_date": dt.date(2025, 3, 10 + k), "participants_total": 100 + k,
                     "participants_female": 50, "participants_male": 40, "participants_youth": 20,
                     "budget_thb": 1500.5, "climate_tag": lists["climate_tag"][k % 3], "ghg_project_id": None,
                     "lessons_learned": "ดี"})
    for i, row in enumerate(rows):
        for j, name in enumerate(cols, start=1):
            ws.cell(FIRST_DATA_ROW + i, j, row.get(name))      # optional columns left empty
    wb.save(path)
    out = ingest_file(None, path, tmp_path, KNOWN)           # recognised from its headers
    res = assemble_family(out.family, [out])
    assert out.family == "activity_reports" and out.sheet == ws.title
    assert res.quarantine.empty, res.quarantine.to_dict("records")
    df = res.loaded
    assert len(df) == 6 and list(df["_row"]) == list(range(FIRST_DATA_ROW, FIRST_DATA_ROW + 6))
    assert sorted(df["ace_element"]) == sorted(load_contract("activity_reports").column("ace_element").allowed)
    assert set(df["period"]) == {"2025-03"} and df["province_code"].str.match(r"TH-\d\d").all()
    assert list(df["participants_total"]) == [100, 101, 102, 103, 104, 105]
    assert set(df["climate_tag"]) == {"mitigation", "adaptation", "both"}


@pytest.mark.parametrize("family, values", [
    ("ghg", {"partner_id": "P001", "project_id": "P001-G1", "sector": 0, "period": "2568-03", "reduction_tco2e": None,
             "activity_amount": 1200, "activity_unit": 1, "method": 0, "credential_id": "T-1",
             "verification_status": 0}),
    ("inventory", {"partner_id": "P002", "inventory_year": 2562, "scope1_tco2e": 10.5, "scope2_tco2e": 20,
                   "scope3_tco2e": None, "standard": 0, "verification_status": 0, "verifier": "ผู้ทวนสอบ",
                   "notes": None}),
])
@pytest.mark.parametrize("lang", ["th", "en"])
def test_other_templates_round_trip(tmp_path, family, values, lang):
    path = write_template(family, lang, tmp_path / "t.xlsx")
    wb = load_workbook(path)
    ws, lists = wb.worksheets[1], _lists(wb)
    contract = load_contract({"ghg": "ghg_reductions", "inventory": "partner_inventories"}[family])
    for j, col in enumerate(template_columns(contract), start=1):
        v = values[col.name]
        ws.cell(FIRST_DATA_ROW, j, lists[col.name][v] if col.name in lists and v is not None else v)
    wb.save(path)
    out = ingest_file(contract.name, path, tmp_path, KNOWN)
    assert (out.status, out.rows_loaded) == ("loaded", 1), out.problems


def test_template_command(tmp_path):
    runner = CliRunner()
    out = tmp_path / "แบบฟอร์ม.xlsx"
    r = runner.invoke(app, ["template", "activity", "--lang", "th", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "template written" in r.output
    assert runner.invoke(app, ["template", "activity", "--lang", "fr", "--out", str(out)]).exit_code == 2
    assert runner.invoke(app, ["template", "survey", "--out", str(out)]).exit_code == 2
