"""Ingestion of files as Thai partners really send them: a corpus of malformed files, each with the exact
reason it is quarantined or rejected (rule + column) and its rows accounted for; and well-formed Thai files
(cp874, UTF-16, B.E. dates, Thai digits, units in Thai, province variants, SPSS labels) loaded with the right
values. Files are made here, in tmp dirs."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from phakhi.ingest.contracts import load_contract
from phakhi.ingest.files import assemble_family, ingest_file

KNOWN = {"partner_id": {"P001", "P002", "P003"}}

ACT_HEAD = ["ลำดับ", "รหัสภาคี", "เดือนที่รายงาน", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด",
            "อำเภอ/เขต", "วันที่จัดกิจกรรม", "ผู้เข้าร่วมทั้งหมด", "หญิง", "ชาย", "เยาวชน", "งบประมาณ (บาท)",
            "ด้าน (ลดก๊าซ/ปรับตัว)", "รหัสโครงการลดก๊าซ", "บทเรียนที่ได้รับ"]
ACT_NAMES = ["activity_no", "partner_id", "period", "ace_element", "activity_type", "title", "province_code",
             "district", "activity_date", "participants_total", "participants_female", "participants_male",
             "participants_youth", "budget_thb", "climate_tag", "ghg_project_id", "lessons_learned"]
ACT_GOOD = {"activity_no": 1, "partner_id": "P001", "period": "มี.ค. 2568", "ace_element": "การศึกษา",
            "activity_type": "รณรงค์", "title": "รณรงค์ลดขยะ", "province_code": "เชียงใหม่", "district": "เมือง",
            "activity_date": "15/03/2568", "participants_total": 120, "participants_female": 60,
            "participants_male": 55, "participants_youth": 30, "budget_thb": "12,500", "climate_tag": "ปรับตัว",
            "ghg_project_id": None, "lessons_learned": None}

GHG_HEAD = ["รหัสภาคี", "รหัสโครงการ", "ภาคส่วน", "เดือน", "ปริมาณก๊าซที่ลดได้ (tCO2e)", "ข้อมูลกิจกรรม", "หน่วย",
            "มาตรฐาน", "เลขที่การรับรอง", "สถานะการทวนสอบ"]
GHG_NAMES = ["partner_id", "project_id", "sector", "period", "reduction_tco2e", "activity_amount", "activity_unit",
             "method", "credential_id", "verification_status"]
GHG_GOOD = {"partner_id": "P001", "project_id": "P001-G1", "sector": "พลังงาน", "period": "มี.ค. 2568",
            "reduction_tco2e": "", "activity_amount": "12,000", "activity_unit": "กิโลวัตต์ชั่วโมง", "method": "T-VER",
            "credential_id": "TVER-001", "verification_status": "ทวนสอบแล้ว"}

REG_HEAD = ["partner_id", "name_th", "name_en", "partner_type", "province", "parent_partner_id", "join_date",
            "pledge_base_year", "baseline_tco2e", "target_year", "reduction_pct", "net_zero_year", "contact_email"]
REG_NAMES = ["partner_id", "name_th", "name_en", "partner_type", "province_code", "parent_partner_id", "join_date",
             "pledge_base_year", "baseline_tco2e", "target_year", "reduction_pct", "net_zero_year", "contact_email"]
REG_GOOD = {"partner_id": "P001", "name_th": "เทศบาลตัวอย่าง", "name_en": "Sample Town", "partner_type": "เทศบาล",
            "province_code": "เชียงใหม่", "parent_partner_id": "", "join_date": "15/03/2567", "pledge_base_year": 2562,
            "baseline_tco2e": "12,000.5", "target_year": 2030, "reduction_pct": 25, "net_zero_year": "",
            "contact_email": "a@example.invalid"}

INV_HEAD = ["รหัสภาคี", "ปีที่จัดทำบัญชี", "ขอบเขตที่ 1 (tCO2e)", "ขอบเขตที่ 2 (tCO2e)", "มาตรฐาน", "สถานะการทวนสอบ",
            "ผู้ทวนสอบ"]
INV_NAMES = ["partner_id", "inventory_year", "scope1_tco2e", "scope2_tco2e", "standard", "verification_status",
             "verifier"]
INV_GOOD = {"partner_id": "P001", "inventory_year": 2562, "scope1_tco2e": "1,200.5", "scope2_tco2e": 800,
            "standard": "CFO", "verification_status": "ทวนสอบแล้ว", "verifier": "ผู้ทวนสอบ ก"}

ITEMS = ["k1", "k2", "k3", "k4", "c1", "c2", "c3", "c4", "b1", "b2", "b3", "b4"]
SUR_HEAD = ["wave", "respondent_id", "stratum", "psu", "weight", "province", "urban_rural", "sex", "age", "education",
            *ITEMS]
SUR_NAMES = ["wave", "respondent_id", "stratum", "psu", "weight", "province_code", "urban_rural", "sex", "age",
             "education", *ITEMS]
SUR_GOOD = {"wave": 2025, "respondent_id": "R1", "stratum": "north-urban", "psu": "n-01", "weight": 1520.5,
            "province_code": "TH-50", "urban_rural": 1, "sex": 2, "age": 34, "education": 3, **{i: 4 for i in ITEMS}}

FAMILIES = {
    "activity_reports": (ACT_HEAD, ACT_NAMES, ACT_GOOD),
    "ghg_reductions": (GHG_HEAD, GHG_NAMES, GHG_GOOD),
    "partner_registry": (REG_HEAD, REG_NAMES, REG_GOOD),
    "partner_inventories": (INV_HEAD, INV_NAMES, INV_GOOD),
    "survey_waves": (SUR_HEAD, SUR_NAMES, SUR_GOOD),
}


def rows_for(family, *changes, n_good=1):
    """Header + n_good good rows + one row per `changes` dict (the good row with those values changed)."""
    head, names, good = FAMILIES[family]
    key = {"activity_reports": "activity_no", "survey_waves": "respondent_id", "ghg_reductions": "project_id",
           "partner_registry": "partner_id", "partner_inventories": "inventory_year"}[family]
    out = [head]
    for k in range(n_good + len(changes)):
        row = dict(good)
        row[key] = _nth(family, good[key], k)
        if k >= n_good:
            row.update(changes[k - n_good])
        out.append([row[n] for n in names])
    return out


def _nth(family, value, k):
    if family == "activity_reports":
        return k + 1
    if family == "partner_inventories":
        return 2562 + k
    if family == "partner_registry":
        return f"P{k + 1:03d}"
    return f"{value}-{k}" if k else value


def write_xlsx(path, rows, title=True, sheet="รายงาน", first_sheet=None):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if first_sheet:
        ws.title = first_sheet
        ws.append(["คำแนะนำ: กรอกข้อมูลในชีตถัดไป"])
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    if title:
        ws.append(["แบบรายงานกิจกรรม ประจำเดือน — ทดสอบ"])
        ws.append(["ภาคี: เทศบาลตัวอย่าง", None, "รหัส: P001"])
        ws.append([])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path, rows, encoding="utf-8", delimiter=","):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def run(path, family, known=KNOWN):
    """Ingest one file and settle it like a refresh does; assert the rows balance."""
    out = ingest_file(family, path, path.parent, known)
    res = assemble_family(family, [out])
    o = res.files[0]
    assert o.rows_read == o.rows_loaded + o.rows_quarantined + o.rows_superseded
    assert o.rows_quarantined == len({(p["sheet"], p["row"]) for p in res.quarantine.to_dict("records")})
    assert len(res.loaded) == o.rows_loaded
    return o, res


def problems(res):
    return sorted({(p["rule"], p["column"]) for p in res.quarantine.to_dict("records")})


# --------------------------------------------------------------------------- files rejected whole

def _ole_encrypted(p):
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 50)


def _utf8_with_cp874_byte(p):
    good = "รหัสภาคี,ชื่อกิจกรรม\nP001,รณรงค์ลดขยะ\nP001,อบรม".encode("utf-8")
    p.write_bytes(good + "\nP002,".encode() + "ขยะ".encode("cp874"))


REJECTED = [
    ("corrupt.xlsx", lambda p: p.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4), "unreadable"),
    ("text_named.xlsx", lambda p: p.write_text("รหัสภาคี,เดือน\nP001,2025-03\n", encoding="utf-8"), "unreadable"),
    ("empty.csv", lambda p: p.write_bytes(b""), "empty_file"),
    ("blank_lines.csv", lambda p: p.write_text("\n  \n\n", encoding="utf-8"), "empty_file"),
    ("report.pdf", lambda p: p.write_bytes(b"%PDF-1.4 ..."), "file_type"),
    ("report.docx", lambda p: p.write_bytes(b"PK\x03\x04 word"), "file_type"),
    ("pdf_named.xlsx", lambda p: p.write_bytes(b"%PDF-1.7 binary"), "file_type"),
    ("binary.csv", lambda p: p.write_bytes(b"\x00\x01\x02\x03partner\x00"), "not_text"),
    ("mixed_encoding.csv", _utf8_with_cp874_byte, "encoding"),
    ("bad_quotes.csv", lambda p: p.write_text('รหัสภาคี,ชื่อกิจกรรม\n"P001"x,abc\n', encoding="utf-8"), "malformed_csv"),
    ("password.xlsx", _ole_encrypted, "encrypted"),
    ("header_only.xlsx", lambda p: write_xlsx(p, [ACT_HEAD]), "no_data"),
    ("no_table.xlsx", lambda p: write_xlsx(p, [["foo", "bar"], [1, 2]]), "no_table"),
    ("no_partner_column.csv", lambda p: write_csv(p, [[c for c in r[:1] + r[2:]] for r in rows_for("activity_reports")]),
     "missing_columns"),
]


@pytest.mark.parametrize("name, make, rule", REJECTED, ids=[r[0] for r in REJECTED])
def test_file_rejected_whole_with_one_reason(tmp_path, name, make, rule):
    path = tmp_path / name
    make(path)
    o, res = run(path, "activity_reports")
    assert (o.status, o.rule) == ("rejected", rule)
    assert o.reason_en and o.reason_th and o.rows_read == o.rows_loaded == o.rows_quarantined == 0
    assert res.loaded.empty and res.quarantine.empty
    assert len(o.file_hash) == 64


def test_missing_column_reason_names_the_column(tmp_path):
    path = write_csv(tmp_path / "x.csv", [[c for c in r[:1] + r[2:]] for r in rows_for("activity_reports")])
    o, _ = run(path, "activity_reports")
    assert "partner_id" in o.reason_en and "รหัสภาคี" in o.reason_th


# --------------------------------------------------------------------------- rows quarantined

BAD_ROWS = [
    # (id, family, change to the good row, expected {(rule, column)})
    ("unknown_partner", "activity_reports", {"partner_id": "P999"}, {("reference", "partner_id")}),
    ("bad_province", "activity_reports", {"province_code": "แอตแลนติส"}, {("province", "province_code")}),
    ("bad_date", "activity_reports", {"activity_date": "31/02/2568"}, {("date", "activity_date")}),
    ("female_plus_male_over_total", "activity_reports", {"participants_female": 70, "participants_male": 60},
     {("participants_by_sex", "participants_total")}),
    ("youth_over_total", "activity_reports", {"participants_youth": 121}, {("youth_within_total", "participants_total")}),
    ("not_a_number", "activity_reports", {"participants_total": "หนึ่งร้อย"}, {("type", "participants_total")}),
    ("negative", "activity_reports", {"participants_total": -5}, {("range", "participants_total")}),
    ("participants_over_a_million", "activity_reports", {"participants_total": 2_000_000}, {("range", "participants_total")}),
    ("budget_over_100m", "activity_reports", {"budget_thb": 250_000_000}, {("range", "budget_thb")}),
    ("not_whole", "activity_reports", {"activity_no": 2.5}, {("integer", "activity_no")}),
    ("bad_ace_element", "activity_reports", {"ace_element": "ดนตรี"}, {("allowed_values", "ace_element")}),
    ("bad_period", "activity_reports", {"period": "13/2568"}, {("period", "period")}),
    ("required_blank", "activity_reports", {"title": ""}, {("required", "title")}),
    ("bad_partner_id_form", "activity_reports", {"partner_id": "X12"}, {("pattern", "partner_id")}),
    ("wrong_unit_in_cell", "activity_reports", {"budget_thb": "12 กิโลกรัม"}, {("unit", "budget_thb")}),
    ("date_outside_month", "activity_reports", {"activity_date": "15/04/2568"}, {("date_in_period", "activity_date")}),
    ("two_problems_one_row", "activity_reports", {"province_code": "xx", "activity_date": "soon"},
     {("province", "province_code"), ("date", "activity_date")}),
    ("ghg_no_figure_no_activity", "ghg_reductions", {"activity_amount": "", "activity_unit": ""},
     {("figure_or_activity_data", "reduction_tco2e")}),
    ("ghg_unknown_unit", "ghg_reductions", {"activity_unit": "ถัง"}, {("allowed_values", "activity_unit")}),
    ("ghg_verified_without_credential", "ghg_reductions", {"credential_id": ""},
     {("credential_for_verified", "credential_id")}),
    ("ghg_amount_without_unit", "ghg_reductions", {"reduction_tco2e": "5.5", "activity_unit": ""},
     {("amount_needs_unit", "activity_amount")}),
    ("ghg_self_estimate_verified", "ghg_reductions", {"method": "ประเมินเอง"}, {("self_estimate_not_verified", "method")}),
    ("ghg_unknown_sector", "ghg_reductions", {"sector": "อวกาศ"}, {("allowed_values", "sector")}),
    ("registry_target_before_base", "partner_registry", {"target_year": 2561}, {("target_after_base", "pledge_base_year")}),
    ("registry_pct_over_100", "partner_registry", {"reduction_pct": 150}, {("range", "reduction_pct")}),
    ("registry_not_a_year", "partner_registry", {"pledge_base_year": "ปีหน้า"}, {("year", "pledge_base_year")}),
    ("registry_unknown_type", "partner_registry", {"partner_type": "ดาวอังคาร"}, {("allowed_values", "partner_type")}),
    ("survey_answer_code_7", "survey_waves", {"k1": 7}, {("range", "k1")}),
    ("survey_age_12", "survey_waves", {"age": 12}, {("range", "age")}),
    ("survey_zero_weight", "survey_waves", {"weight": 0}, {("range", "weight")}),
    ("inventory_negative_scope1", "partner_inventories", {"scope1_tco2e": -1}, {("range", "scope1_tco2e")}),
    ("inventory_verified_without_verifier", "partner_inventories", {"verifier": ""},
     {("verifier_for_verified", "verifier")}),
    ("inventory_unknown_partner", "partner_inventories", {"partner_id": "P404"}, {("reference", "partner_id")}),
]


@pytest.mark.parametrize("case, family, change, expected", BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_bad_row_quarantined_with_exact_reason(tmp_path, case, family, change, expected, fmt):
    rows = rows_for(family, change)
    path = write_xlsx(tmp_path / f"{case}.xlsx", rows) if fmt == "xlsx" else write_csv(tmp_path / f"{case}.csv", rows)
    o, res = run(path, family)
    assert (o.rows_read, o.rows_loaded, o.rows_quarantined) == (2, 1, 1)
    assert set(problems(res)) == expected
    q = res.quarantine.iloc[0]
    header_row = 4 if fmt == "xlsx" else 1          # the xlsx has a 3-row title block
    assert q["row"] == header_row + 2                # file row of the bad (second) data row
    assert q["sheet"] == ("รายงาน" if fmt == "xlsx" else None)
    assert q["file"] == path.name and q["message_en"] and q["message_th"] and q["file_hash"] == o.file_hash
    assert o.status == "partially_loaded"


def test_quarantine_keeps_the_value_and_what_was_expected(tmp_path):
    path = write_csv(tmp_path / "a.csv", rows_for("activity_reports", {"province_code": "แอตแลนติส"}))
    _, res = run(path, "activity_reports")
    q = res.quarantine.iloc[0]
    assert (q["value"], q["header"], q["column"]) == ("แอตแลนติส", "จังหวัด", "province_code")
    assert "77 provinces" in q["expected"] and "ไม่ใช่ชื่อจังหวัด" in q["message_th"]


def test_duplicate_key_quarantines_both_rows(tmp_path):
    rows = rows_for("activity_reports", {"activity_no": 1})          # second row repeats activity no. 1
    o, res = run(write_xlsx(tmp_path / "dup.xlsx", rows), "activity_reports")
    assert (o.rows_read, o.rows_loaded, o.rows_quarantined) == (2, 0, 2)
    assert problems(res) == [("duplicate_key", "partner_id, period, activity_no")]
    assert o.status == "quarantined"


def test_totals_row_is_one_clear_problem_not_many(tmp_path):
    rows = rows_for("activity_reports", n_good=2) + [["รวม", None, None, None, None, None, None, None, None, 240, 120,
                                                      110, 60, "25,000", None, None, None]]
    o, res = run(write_xlsx(tmp_path / "t.xlsx", rows), "activity_reports")
    assert (o.rows_read, o.rows_loaded, o.rows_quarantined) == (3, 2, 1)
    assert problems(res) == [("not_a_data_row", "")]


def test_values_outside_the_contract_columns_are_not_lost_silently(tmp_path):
    rows = rows_for("activity_reports")
    rows[0] = rows[0] + ["หมายเหตุ"]
    rows[1] = rows[1] + ["โน้ต"]
    rows.append([None] * 17 + ["แถวนี้มีแต่หมายเหตุ"])
    rows.append([None] * 19 + ["ค่านอกตาราง"])
    o, res = run(write_xlsx(tmp_path / "n.xlsx", rows), "activity_reports")
    assert (o.rows_read, o.rows_loaded, o.rows_quarantined) == (3, 1, 2)
    assert problems(res) == [("not_a_data_row", "")]
    notes = " ".join(o.notes)
    assert "หมายเหตุ" in notes and "without a header" in notes


def test_blank_rows_are_counted_apart(tmp_path):
    rows = rows_for("activity_reports", n_good=2)
    rows.insert(2, [None] * 17)
    rows.insert(2, ["", "  ", None])
    o, _ = run(write_xlsx(tmp_path / "b.xlsx", rows), "activity_reports")
    assert (o.rows_read, o.rows_loaded, o.blank_rows) == (2, 2, 2)


# --------------------------------------------------------------------------- well-formed Thai files

def test_cp874_ghg_csv_with_thai_units_digits_and_be_months(tmp_path):
    rows = [GHG_HEAD,
            ["P001", "P001-G1", "พลังงาน", "มี.ค. 2568", "", "๑๒,๐๐๐", "กิโลวัตต์ชั่วโมง", "T-VER", "TVER-1", "ทวนสอบแล้ว"],
            ["P002", "P002-G1", "ของเสีย", "มีนาคม 2568", "1,234.56", "", "", "LESS", "LESS-9", "ทวนสอบแล้ว"],
            ["P003", "P003-G1", "พลังงาน", "03/2568", "", "500", "ลิตร (ดีเซล)", "ประเมินเอง", "", "รายงานเอง"],
            ["P001", "P001-G2", "พลังงาน", "Mar-25", "", "1.5", "เมกะวัตต์ชั่วโมง", "CFO", "", "รอทวนสอบ"],
            ["P002", "P002-G2", "ของเสีย", "2025-03", "", "2", "ตัน (ขยะ)", "ประเมินเอง", "", "รายงานเอง"],
            ["P003", "P003-G2", "พลังงาน", "๐๓/๒๕๖๘", "", "30", "หน่วย", "ประเมินเอง", "", "รายงานเอง"]]
    path = write_csv(tmp_path / "ghg.csv", rows, encoding="cp874")
    o, res = run(path, "ghg_reductions")
    assert o.encoding == "cp874" and o.status == "loaded" and o.rows_loaded == 6
    df = res.loaded.set_index("project_id")
    assert set(df["period"]) == {"2025-03"}
    assert df.loc["P001-G1", "activity_amount"] == 12000 and df.loc["P001-G1", "activity_unit"] == "kwh"
    assert df.loc["P002-G1", "reduction_tco2e"] == pytest.approx(1234.56)
    assert df.loc["P003-G1", "activity_unit"] == "litre_diesel" and df.loc["P003-G1", "method"] == "self_estimate"
    assert df.loc["P001-G2", "activity_unit"] == "mwh" and df.loc["P001-G2", "verification_status"] == "pending"
    assert df.loc["P002-G2", "activity_unit"] == "tonne_waste" and df.loc["P003-G2", "activity_unit"] == "kwh"
    assert o.partner_id == "*" and o.period == "2025-03"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp874", "utf-16"])
def test_registry_csv_encodings_be_dates_and_province_variants(tmp_path, encoding):
    rows = [REG_HEAD]
    variants = [("กทม.", "TH-10"), ("จ.เชียงใหม่", "TH-50"), ("Chiang Mai Province", "TH-50"), ("โคราช", "TH-30"),
                ("  นครศรีธรรมราช ", "TH-80"), ("Bangkok", "TH-10")]
    for k, (prov, _) in enumerate(variants):
        rows.append([f"p{k + 1:03d}", f"ภาคี {k}", "", "อบต.", prov, "", "15 มี.ค. 2567", "๒๕๖๒", "๑,๒๐๐.๕",
                     2030 if k % 2 else "2573", "25%", "", "x@example.invalid"])
    delimiter = "\t" if encoding == "utf-16" else ","
    path = write_csv(tmp_path / "reg.csv", rows, encoding=encoding, delimiter=delimiter)
    o, res = run(path, "partner_registry")
    assert o.status == "loaded", res.quarantine.to_dict("records")
    df = res.loaded
    assert list(df["partner_id"]) == [f"P{k + 1:03d}" for k in range(6)]       # ids upper-cased
    assert list(df["province_code"]) == [c for _, c in variants]
    assert set(df["join_date"]) == {dt.date(2024, 3, 15)}
    assert set(df["pledge_base_year"]) == {2019} and set(df["target_year"]) == {2030}
    assert set(df["baseline_tco2e"]) == {1200.5} and set(df["reduction_pct"]) == {25.0}
    assert set(df["partner_type"]) == {"sao"}


def test_semicolon_csv_with_excel_sep_line(tmp_path):
    rows = rows_for("activity_reports", n_good=2)
    path = tmp_path / "semi.csv"
    buf = io.StringIO()
    buf.write("sep=;\n")
    csv.writer(buf, delimiter=";").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    o, res = run(path, "activity_reports")
    assert o.status == "loaded" and o.rows_loaded == 2
    assert list(res.loaded["_row"]) == [3, 4]          # the sep= line still counts as row 1


def test_xlsx_be_date_cells_serials_thai_digits_and_units(tmp_path):
    rows = rows_for("activity_reports", n_good=4)
    rows[1][8] = dt.date(2568, 3, 15)                  # a B.E. date typed into a Thai-locale date cell
    rows[2][8] = 45731                                 # an Excel serial: 2025-03-15
    rows[2][2] = dt.datetime(2025, 3, 1)               # period as a date cell
    rows[3][8] = "๑๕ มี.ค. ๖๘"                          # Thai digits, 2-digit B.E. year
    rows[3][9:13] = ["๑๒๐", "๖๐", "๕๕ คน", "๓๐"]          # Thai digits, a unit in Thai
    rows[4][13] = "0.0125 ล้านบาท"                       # budget in millions of baht
    rows[4][8] = "วันเสาร์ที่ 15 มีนาคม พ.ศ. 2568"
    o, res = run(write_xlsx(tmp_path / "a.xlsx", rows), "activity_reports")
    assert o.status == "loaded", res.quarantine.to_dict("records")
    df = res.loaded
    assert set(df["activity_date"]) == {dt.date(2025, 3, 15)}
    assert set(df["period"]) == {"2025-03"} and set(df["province_code"]) == {"TH-50"}
    assert list(df["participants_total"]) == [120] * 4 and list(df["participants_male"]) == [55] * 4
    assert list(df["budget_thb"]) == [12500.0] * 4
    assert set(df["ace_element"]) == {"education"} and set(df["climate_tag"]) == {"adaptation"}


def test_two_row_header_with_merged_group_cell(tmp_path):
    top = ACT_HEAD[:9] + ["ผู้เข้าร่วม (คน)", None, None, None] + ACT_HEAD[13:]
    bottom = [None] * 9 + ["ทั้งหมด", "หญิง", "ชาย", "เยาวชน"] + [None] * 4
    rows = rows_for("activity_reports", n_good=2)
    o, res = run(write_xlsx(tmp_path / "two.xlsx", [top, bottom] + rows[1:]), "activity_reports")
    assert o.status == "loaded" and o.rows_loaded == 2
    assert list(res.loaded["participants_total"]) == [120, 120]
    assert list(res.loaded["participants_youth"]) == [30, 30]
    assert list(res.loaded["_row"]) == [6, 7]


def test_english_headers_any_order_on_a_later_sheet_below_a_title_block(tmp_path):
    head = ["Partner ID", "No.", "Reporting month", "ACE element", "Activity type", "Activity title", "Province",
            "Participants total", "Female", "Male", "Budget (THB)", "Remarks"]
    rows = [head, ["P002", 1, "2025-03", "Public awareness", "Campaign", "Clean-up", "Chiang-Mai", 50, 20, 25, 1000,
                   "x"]]
    path = write_xlsx(tmp_path / "en.xlsx", rows, first_sheet="Instructions", sheet="Data")
    o, res = run(path, "activity_reports")
    assert (o.status, o.sheet) == ("loaded", "Data")
    r = res.loaded.iloc[0]
    assert (r["partner_id"], r["ace_element"], r["activity_type"], r["province_code"]) == \
        ("P002", "public_awareness", "campaign", "TH-50")
    assert "Remarks" in " ".join(o.notes)


def test_data_placed_anywhere_on_the_sheet(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for i, row in enumerate(rows_for("activity_reports", n_good=2)):
        for j, v in enumerate(row):
            ws.cell(row=8 + i, column=3 + j, value=v)
    wb.save(tmp_path / "offset.xlsx")
    o, res = run(tmp_path / "offset.xlsx", "activity_reports")
    assert o.status == "loaded" and list(res.loaded["_row"]) == [9, 10]


def test_xlsx_saved_with_a_csv_name_is_read_as_a_workbook(tmp_path):
    path = write_xlsx(tmp_path / "book.xlsx", rows_for("activity_reports"))
    renamed = tmp_path / "book.csv"
    path.rename(renamed)
    o, _ = run(renamed, "activity_reports")
    assert o.status == "loaded"


def test_family_recognised_from_headers(tmp_path):
    for family in FAMILIES:
        path = write_csv(tmp_path / f"{family}.csv", rows_for(family))
        assert ingest_file(None, path, tmp_path, KNOWN).family == family


# --------------------------------------------------------------------------- SPSS

def test_sav_value_labels_map_codes_and_user_missing_codes_are_kept(tmp_path):
    import pandas as pd
    import pyreadstat

    df = pd.DataFrame([{**SUR_GOOD, "respondent_id": f"R{k}", "sex": s, "province": p, "k1": k1}
                       for k, (s, p, k1) in enumerate([(1, 10, 4), (2, 50, 8), (1, 50, 9)])])
    df = df.drop(columns=["province_code"])
    path = tmp_path / "wave.sav"
    # this survey firm codes sex 1 = female, 2 = male (the contract's bare codes say the opposite), provinces
    # as numbers with their names as labels; 8 and 9 are declared user-missing
    pyreadstat.write_sav(df, str(path), variable_value_labels={
        "sex": {1: "หญิง", 2: "ชาย"}, "province": {10: "กรุงเทพมหานคร", 50: "เชียงใหม่"},
        "k1": {1: "ไม่เห็นด้วยอย่างยิ่ง", 5: "เห็นด้วยอย่างยิ่ง", 8: "ไม่ทราบ", 9: "ไม่ตอบ"}},
        missing_ranges={"k1": [8, 9]})
    o, res = run(path, "survey_waves")
    assert o.status == "loaded", res.quarantine.to_dict("records")
    out = res.loaded.set_index("respondent_id")
    assert list(out["sex"]) == ["female", "male", "female"]
    assert list(out["province_code"]) == ["TH-10", "TH-50", "TH-50"]
    assert list(out["k1"]) == [4, 8, 9]
    assert out["k1"].dtype == "Int64"


# --------------------------------------------------------------------------- contracts

def test_every_contract_loads_and_has_bilingual_labels():
    from phakhi.ingest.contracts import contract_names

    assert set(contract_names()) == {"partner_registry", "activity_reports", "ghg_reductions", "partner_inventories",
                                     "survey_waves", "partner_replies"}
    for name in contract_names():
        c = load_contract(name)
        assert c.version and c.key and c.submission_key
        for col in c.columns:
            assert col.label_th, (name, col.name)
        for chk in c.compiled_checks:
            assert chk.message_en and chk.message_th


def test_contract_details_the_brief_asks_for():
    reg = load_contract("partner_registry")
    assert "government_agency" in reg.column("partner_type").allowed
    assert {c.name for c in reg.columns if c.private} == {"contact_name", "contact_email", "contact_phone"}
    act = {c.name for c in load_contract("activity_reports").columns}
    assert {"district", "participants_female", "participants_male", "participants_youth", "budget_thb",
            "climate_tag", "ghg_project_id", "lessons_learned"} <= act
    ghg = load_contract("ghg_reductions")
    assert set(ghg.column("method").allowed) == {"t_ver", "premium_t_ver", "less", "cfr", "cfo", "cfp", "self_estimate"}
    units = ghg.column("activity_unit").units
    assert units["kwh"]["activity"] == "electricity_grid" and units["litre_diesel"]["activity"] == "diesel"
    assert units["mwh"]["to_ef_unit"] == 1000
    inv = load_contract("partner_inventories")
    assert inv.key == ["partner_id", "inventory_year"]
    assert {"scope1_tco2e", "scope2_tco2e"} <= set(inv.required)


def test_row_check_expressions_are_three_valued():
    from phakhi.ingest.contracts import compile_check

    f = compile_check("a.notna() | (b.notna() & c.notna())", {"a", "b", "c"})
    assert f({"a": 1}) is True and f({"b": 1, "c": 2}) is True and f({"b": 1}) is False
    g = compile_check("x + y <= z", {"x", "y", "z"})
    assert g({"x": 1, "y": 2, "z": 3}) is True and g({"x": 2, "y": 2, "z": 3}) is False and g({"x": 1}) is None
    h = compile_check("ym(d) == p", {"d", "p"})
    assert h({"d": dt.date(2025, 3, 9), "p": "2025-03"}) is True
    with pytest.raises(ValueError):
        compile_check("__import__('os')", {"x"})
    with pytest.raises(ValueError):
        compile_check("nope > 1", {"x"})


def test_header_matching_ignores_case_spaces_stars_and_units():
    c = load_contract("activity_reports")
    for text in ("ผู้เข้าร่วมทั้งหมด (คน) *", "ผู้เข้าร่วมทั้งหมด(คน)", "PARTICIPANTS_TOTAL", "Participants, total",
                 "ผู้เข้าร่วมทั้งหมด", " ผู้เข้าร่วม ทั้งหมด "):
        assert c.match_header(text) == "participants_total", text
    assert c.match_header("งบประมาณ (ล้านบาท)") == "budget_thb"
    assert c.match_header("องค์ประกอบ\u200bACE") == "ace_element"
    assert c.match_header("ข้อความอื่น") is None


def test_credential_rule_applies_to_credit_programmes_only(tmp_path):
    rows = rows_for("ghg_reductions", {"method": "LESS", "credential_id": ""}, {"method": "Premium T-VER", "credential_id": ""})
    o, res = run(write_csv(tmp_path / "g.csv", rows), "ghg_reductions")
    assert (o.rows_loaded, o.rows_quarantined) == (2, 1)            # LESS without a number loads; Premium T-VER does not
    assert problems(res) == [("credential_for_verified", "credential_id")]
    assert set(res.loaded["method"]) == {"t_ver", "less"}
