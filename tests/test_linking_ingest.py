"""Contract 1.2's optional activity columns (co-organising partners, English lessons): in both templates,
ingested when filled, and files without them (contract 1.1 and earlier) still valid; the SAMPLE data's joint
activities."""
from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from phakhi.ingest.contracts import load_contract
from phakhi.ingest.files import assemble_family, ingest_file
from phakhi.ingest.template import FIRST_DATA_ROW, template_columns, write_template

KNOWN = {"partner_id": {"P001", "P002"}}
OLD_HEADERS = ["ลำดับ", "รหัสภาคี", "เดือนที่รายงาน", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด",
               "อำเภอ/เขต", "วันที่จัดกิจกรรม", "ผู้เข้าร่วมทั้งหมด", "หญิง", "ชาย", "เยาวชน", "งบประมาณ (บาท)",
               "ด้าน (ลดก๊าซ/ปรับตัว)", "รหัสโครงการลดก๊าซ", "บทเรียนที่ได้รับ"]
ROW = [1, "P001", "มี.ค. 2568", "การศึกษา", "อบรม", "อบรมการคัดแยกขยะ", "เชียงใหม่", None, "15/03/2568", 120, 60, 50, 30,
       15000, "ลดก๊าซเรือนกระจก", None, "ชุมชนร่วมมือดี"]


def test_contract_has_the_optional_columns():
    c = load_contract("activity_reports")
    assert c.version == "1.2"
    for name, th, en in (("co_organisers", "ภาคีผู้ร่วมจัด", "Co-organising partners"),
                         ("lessons_learned_en", "บทเรียนที่ได้รับ (ภาษาอังกฤษ)", "Lessons learned (English)")):
        col = c.column(name)
        assert not col.required and col.label_th == th and col.label_en == en
        assert c.match_header(th) == name and c.match_header(en) == name


@pytest.mark.parametrize("lang", ["th", "en"])
def test_templates_carry_and_ingest_the_new_columns(tmp_path, lang):
    path = write_template("activity", lang, tmp_path / "t.xlsx")
    wb = load_workbook(path)
    ws = wb.worksheets[1]
    cols = [c.name for c in template_columns(load_contract("activity_reports"))]
    headers = [c.value for c in ws[FIRST_DATA_ROW - 1]]
    assert ("ภาคีผู้ร่วมจัด" if lang == "th" else "Co-organising partners") in headers
    values = dict(zip(["activity_no", "partner_id", "period", "ace_element", "activity_type", "title", "province_code",
                       "district", "activity_date", "participants_total", "participants_female", "participants_male",
                       "participants_youth", "budget_thb", "climate_tag", "ghg_project_id", "lessons_learned"], ROW))
    values.update(period="2025-03", activity_date="15/03/2568", ace_element="education" if lang == "en" else "การศึกษา",
                  activity_type="training_course", province_code="Chiang Mai" if lang == "en" else "เชียงใหม่",
                  climate_tag="mitigation", co_organisers="P002; เทศบาลตัวอย่าง",
                  lessons_learned_en="Communities cooperate well")
    for j, name in enumerate(cols, start=1):
        ws.cell(FIRST_DATA_ROW, j, values.get(name))
    wb.save(path)
    out = ingest_file(None, path, tmp_path, KNOWN)
    res = assemble_family(out.family, [out])
    assert res.quarantine.empty, res.quarantine.to_dict("records")
    row = res.loaded.iloc[0]
    assert row["co_organisers"] == "P002; เทศบาลตัวอย่าง" and row["lessons_learned_en"] == "Communities cooperate well"


def test_files_without_the_new_columns_stay_valid(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["แบบรายงานกิจกรรม (แบบเดิม ก่อนฉบับ 1.2)"])
    ws.append(OLD_HEADERS)
    ws.append(ROW)
    path = tmp_path / "P001_2025-03.xlsx"
    wb.save(path)
    out = ingest_file("activity_reports", path, tmp_path, KNOWN)
    res = assemble_family(out.family, [out])
    assert res.quarantine.empty and len(res.loaded) == 1
    row = res.loaded.iloc[0]
    assert pd.isna(row["co_organisers"]) and pd.isna(row["lessons_learned_en"])
    assert row["lessons_learned"] == "ชุมชนร่วมมือดี"


def test_sample_has_joint_activities_and_english_lessons(tmp_path):
    from python_calamine import CalamineWorkbook

    from phakhi.sample import JOINT_MONTHS, JOINT_UNKNOWN, write_sample

    write_sample(tmp_path)
    joint, english, thai_only = [], 0, 0
    for path in sorted((tmp_path / "activity_reports").rglob("*.xlsx")):
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        head = next(i for i, r in enumerate(rows) if "บทเรียนที่ได้รับ" in r or "Lessons learned" in r)
        for r in rows[head + 1:]:
            if len(r) < 19 or r[1] in (None, ""):
                continue
            if r[18]:
                joint.append((path.stem, r[18]))
            english += bool(r[17])
            thai_only += bool(r[16]) and not r[17]
    assert len(joint) > 30 and english > 50 and thai_only > english
    months = {int(stem.split("_")[1][5:7]) for stem, _ in joint}
    assert months <= set(JOINT_MONTHS)
    assert any(JOINT_UNKNOWN in v for _, v in joint) and any("P0" in v for _, v in joint)
