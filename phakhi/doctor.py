"""`phakhi doctor`: try the platform against a corpus of malformed and hostile inputs, and print what held.

Every case is one thing a partner, a mistake or an attacker can send or do (issue 12): a workbook whose stray
cell would make the reader allocate hundreds of GB, counts of 10^19, "1e309", a B.E. typo, a future month, a
registry listing a partner twice, a '|' inside a title, formula payloads, a symlink to /etc/passwd, rollback
probes, two refreshes at once, a full disk... Files are ingested in a separate worker process (a native crash
kills the worker, is counted, and the doctor goes on). Printed figures:

    cases tried            every case run
    clear errors           cases whose problem was reported with a reason (file refused with a reason, rows
                           quarantined with a reason, a command refusing with a message)
    tracebacks             exceptions that escaped (must be 0)
    rows lost              data rows neither loaded nor quarantined (must be 0)
    publications damaged   probes after which `latest` or a publication changed (must be 0)

The same corpus is the test suite's (tests/reliability/).
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import traceback
import zipfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

# --------------------------------------------------------------------------- the corpus: file cases

REGISTRY_HEADER = ["partner_id", "name_th", "partner_type", "province_code", "join_date", "pledge_base_year",
                   "baseline_tco2e", "target_year", "reduction_pct"]
REGISTRY_ROWS = [
    ["P001", "เทศบาลตำบลบ้านสวน", "เทศบาล", "ชลบุรี", "15/03/2565", "2562", "50000", "2573", "20"],
    ["P002", "องค์การบริหารส่วนตำบลหนองบัว", "อบต.", "เชียงใหม่", "01/06/2565", "2562", "8000", "2573", "25"],
    ["P003", "บริษัท สยามกรีน จำกัด", "บริษัท", "กรุงเทพมหานคร", "10/01/2566", "2563", "120000", "2573", "30"],
]
ACTIVITY_HEADER = ["partner_id", "period", "activity_no", "ace_element", "activity_type", "title", "province_code",
                   "participants_total", "budget_thb"]
GHG_HEADER = ["partner_id", "project_id", "sector", "period", "reduction_tco2e", "method", "verification_status"]
INVENTORY_HEADER = ["partner_id", "inventory_year", "scope1_tco2e", "scope2_tco2e", "standard", "verification_status"]


def activity_row(no: int, **over) -> list:
    row = {"partner_id": "P001", "period": "2025-03", "activity_no": no, "ace_element": "การศึกษา",
           "activity_type": "workshop", "title": f"อบรมลดโลกร้อน {no}", "province_code": "ชลบุรี",
           "participants_total": 40, "budget_thb": 15000}
    row.update(over)
    return [row[h] for h in ACTIVITY_HEADER]


def ghg_row(no: int, **over) -> list:
    row = {"partner_id": "P001", "project_id": f"PRJ-{no}", "sector": "energy", "period": "2025-03",
           "reduction_tco2e": 120.5, "method": "self_estimate", "verification_status": "self_reported"}
    row.update(over)
    return [row[h] for h in GHG_HEADER]


def inventory_row(**over) -> list:
    row = {"partner_id": "P001", "inventory_year": 2567, "scope1_tco2e": 1200, "scope2_tco2e": 800,
           "standard": "cfo", "verification_status": "self_reported"}
    row.update(over)
    return [row[h] for h in INVENTORY_HEADER]


def csv_bytes(header: list, rows: list[list], delimiter: str = ",", encoding: str = "utf-8", pre: list | None = None) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    for line in pre or []:
        w.writerow(line)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], extra: dict | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for ref, v in (extra or {}).items():
        ws[ref] = v
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _patch_xlsx(data: bytes, fn: Callable[[str, bytes], bytes]) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for m in src.infolist():
            z.writestr(m.filename, fn(m.filename, src.read(m.filename)))
    return out.getvalue()


def declared_huge(data: bytes) -> bytes:
    import re

    return _patch_xlsx(data, lambda n, b: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', b)
                       if n.startswith("xl/worksheets/") else b)


def zip_bomb() -> bytes:
    base = xlsx_bytes([ACTIVITY_HEADER, activity_row(1)])

    def fn(n, b):
        if n == "xl/worksheets/sheet1.xml":     # 450 MB of padding inside the sheet: compresses to ~0.5 MB
            return b.replace(b"</worksheet>", b"<!--" + b" " * (450 * 1024 * 1024) + b"--></worksheet>")
        return b
    return _patch_xlsx(base, fn)


def ods_bytes(rows: list[list], tail: str = "") -> bytes:
    """A minimal OpenDocument spreadsheet (what LibreOffice saves), with `tail` appended inside the table."""
    def cell(v):
        if isinstance(v, (int, float)):
            return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(cell(v) for v in r) + "</table:table-row>" for r in rows)
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               f'<office:spreadsheet><table:table table:name="Sheet1">{body}{tail}</table:table></office:spreadsheet>'
               '</office:body></office:document-content>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
                   'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                   '</manifest:manifest>')
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


ODS_PADDING = ('<table:table-row table:number-rows-repeated="1048574"><table:table-cell '
               'table:number-columns-repeated="1024"/></table:table-row>')
ODS_BOMB = ('<table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated='
            '"16000" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>')


@dataclass
class Case:
    name: str
    klass: str                      # which class of issue 12 it belongs to
    family: str
    make: Callable[[], bytes]
    suffix: str = ".csv"
    expect_status: tuple = ()       # acceptable statuses
    expect_rule: str | None = None  # a rule that must appear (file rule or a quarantine rule)
    data_rows: int | None = None    # data rows the file holds (rows lost = data_rows - loaded - quarantined)
    expect_loaded: int | None = None
    expect_fill: dict = field(default_factory=dict)


def _title_block_report() -> bytes:
    """A local government's report as sent: partner and month only in the title block, ACE elements in the
    wording of official documents, signature lines under the table."""
    rows = [["แบบรายงานผลการดำเนินงานด้านการเสริมสร้างพลังการมีส่วนร่วม (ACE)"],
            ["หน่วยงาน เทศบาลตำบลบ้านสวน อำเภอเมืองชลบุรี จังหวัดชลบุรี"],
            ["ประจำเดือน มีนาคม พ.ศ. ๒๕๖๘"],
            [],
            ["ลำดับ", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด", "จำนวนผู้เข้าร่วม (คน)"],
            [1, "การให้การศึกษา", "อบรม", "อบรมครูเรื่องโลกร้อน", "ชลบุรี", 45],
            [2, "การสร้างจิตสำนึกแก่สาธารณชน", "รณรงค์", "เดินรณรงค์ลดขยะ", "ชลบุรี", 120],
            [3, "การมีส่วนร่วมของสาธารณชน", "โครงการชุมชน", "ปลูกป่าชายเลน", "ชลบุรี", 80],
            [4, "การเข้าถึงข้อมูลข่าวสารของสาธารณชน", "สื่อ", "เผยแพร่ข้อมูลทางวิทยุชุมชน", "ชลบุรี", 300],
            [],
            ["ลงชื่อ ............................................ ผู้รายงาน"],
            ["(นางสาวสมใจ ใจดี)"],
            ["ตำแหน่ง นักวิชาการสิ่งแวดล้อม"]]
    return xlsx_bytes(rows)


def file_cases() -> list[Case]:
    A, G, I, R = ACTIVITY_HEADER, GHG_HEADER, INVENTORY_HEADER, REGISTRY_HEADER
    act = "activity_reports"
    good = [activity_row(i) for i in range(1, 4)]
    cases = [
        # --- 1. bounded reads (denial of service)
        Case("stray_cell_XFD1048576", "bounded_reads", act,
             lambda: xlsx_bytes([A, activity_row(1)], {"XFD1048576": "x"}), ".xlsx", ("rejected",), "too_large"),
        Case("declared_dimension_XFD1048576", "bounded_reads", act,
             lambda: declared_huge(xlsx_bytes([A, activity_row(1)])), ".xlsx", ("rejected",), "too_large"),
        Case("stray_cell_far_row", "bounded_reads", act,
             lambda: xlsx_bytes([A, activity_row(1)], {"Z900000": "x"}), ".xlsx", ("rejected",), "too_large"),
        Case("zip_bomb_sheet", "bounded_reads", act, zip_bomb, ".xlsx", ("rejected",), "too_large"),
        Case("wide_but_fine_xlsx", "bounded_reads", act,
             lambda: xlsx_bytes([A, activity_row(1)], {"CV2": "note"}), ".xlsx", ("loaded",), None, 1, 1),
        Case("ods_repeated_value_run", "bounded_reads", act, lambda: ods_bytes([A, activity_row(1)], ODS_BOMB), ".ods",
             ("rejected",), "too_large"),
        Case("ods_libreoffice_padding_is_fine", "bounded_reads", act,
             lambda: ods_bytes([A, activity_row(1)], ODS_PADDING), ".ods", ("loaded",), None, 1, 1),
        Case("file_above_100MB", "bounded_reads", act, lambda: b"x" * (100 * 1024 * 1024 + 1), ".csv", ("rejected",),
             "too_large"),
        # --- 2. crashes on a value
        Case("count_1e19", "value_crash", act, lambda: csv_bytes(A, good + [activity_row(4, participants_total="10000000000000000000")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        Case("count_negative_1e19", "value_crash", act, lambda: csv_bytes(A, good + [activity_row(4, participants_total="-10000000000000000000")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        Case("count_1e19_in_xlsx", "value_crash", act,
             lambda: xlsx_bytes([A] + good + [activity_row(4, participants_total=1e19)]), ".xlsx",
             ("partially_loaded",), "range", 4, 3),
        Case("participants_9999999999", "value_crash", act, lambda: csv_bytes(A, good + [activity_row(4, participants_total="9,999,999,999")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        Case("budget_1e309", "value_crash", act, lambda: csv_bytes(A, good + [activity_row(4, budget_thb="1e309")]),
             expect_status=("partially_loaded",), expect_rule="type", data_rows=4, expect_loaded=3),
        Case("budget_inf", "value_crash", act, lambda: csv_bytes(A, good + [activity_row(4, budget_thb="inf")]),
             expect_status=("partially_loaded",), expect_rule="type", data_rows=4, expect_loaded=3),
        Case("budget_nan", "value_crash", act, lambda: csv_bytes(A, good + [activity_row(4, budget_thb="NaN")]),
             expect_status=("partially_loaded",), expect_rule="type", data_rows=4, expect_loaded=3),
        Case("activity_no_2_pow_40", "value_crash", act, lambda: csv_bytes(A, good + [activity_row(2 ** 40)]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        # --- 3. one row must not block the nation (row plausibility)
        Case("be_typo_2468", "row_plausibility", act, lambda: csv_bytes(A, good + [activity_row(4, period="12/2468")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        Case("period_1925", "row_plausibility", act, lambda: csv_bytes(A, good + [activity_row(4, period="1925-12")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        Case("period_be_typo_future_2668", "row_plausibility", act, lambda: csv_bytes(A, good + [activity_row(4, period="03/2668")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        Case("budget_above_ceiling", "row_plausibility", act, lambda: csv_bytes(A, good + [activity_row(4, budget_thb="99999999999")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        Case("participants_above_population", "row_plausibility", act,
             lambda: csv_bytes(A, good + [activity_row(4, participants_total="99999999")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=4, expect_loaded=3),
        Case("tco2e_99999999", "row_plausibility", "ghg_reductions",
             lambda: csv_bytes(G, [ghg_row(1), ghg_row(2, reduction_tco2e="99,999,999")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=2, expect_loaded=1),
        Case("tco2e_above_partner_baseline", "row_plausibility", "ghg_reductions",
             lambda: csv_bytes(G, [ghg_row(1), ghg_row(2, partner_id="P002", reduction_tco2e="9500")]),
             expect_status=("partially_loaded",), expect_rule="above_partner_baseline", data_rows=2, expect_loaded=1),
        Case("tco2e_negative", "row_plausibility", "ghg_reductions",
             lambda: csv_bytes(G, [ghg_row(1), ghg_row(2, reduction_tco2e="-5")]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=2, expect_loaded=1),
        Case("inventory_year_2057", "row_plausibility", "partner_inventories",
             lambda: csv_bytes(I, [inventory_row(), inventory_row(partner_id="P002", inventory_year=2057)]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=2, expect_loaded=1),
        Case("inventory_year_be_2600", "row_plausibility", "partner_inventories",
             lambda: csv_bytes(I, [inventory_row(), inventory_row(partner_id="P002", inventory_year=2600)]),
             expect_status=("partially_loaded",), expect_rule="range", data_rows=2, expect_loaded=1),
        Case("inventory_scope_1e309", "row_plausibility", "partner_inventories",
             lambda: csv_bytes(I, [inventory_row(), inventory_row(partner_id="P002", scope1_tco2e="1e309")]),
             expect_status=("partially_loaded",), expect_rule="type", data_rows=2, expect_loaded=1),
        # --- 5. registry: a partner listed twice is resolved, never dropped
        Case("registry_lists_partner_twice", "registry", "partner_registry",
             lambda: csv_bytes(R, REGISTRY_ROWS + [REGISTRY_ROWS[0][:6] + ["51000", "2573", "20"]]),
             expect_status=("partially_loaded",), expect_rule="replaced_by_later_entry", data_rows=4, expect_loaded=3),
        # --- 6. delimiter / encoding checked against the contract's headers
        Case("pipe_inside_two_titles", "delimiter", act,
             lambda: csv_bytes(A, [activity_row(1, title="ลดโลกร้อน | รุ่น 1"), activity_row(2, title="A | B | C"),
                                   activity_row(3)]), expect_status=("loaded",), data_rows=3, expect_loaded=3),
        Case("pipe_in_every_title", "delimiter", act,
             lambda: csv_bytes(A, [activity_row(i, title=f"ก | ข {i}") for i in range(1, 5)]),
             expect_status=("loaded",), data_rows=4, expect_loaded=4),
        Case("semicolon_csv", "delimiter", act, lambda: csv_bytes(A, good, ";"), expect_status=("loaded",),
             data_rows=3, expect_loaded=3),
        Case("tab_separated", "delimiter", act, lambda: csv_bytes(A, good, "\t"), ".txt", ("loaded",), None, 3, 3),
        Case("semicolons_in_titles_comma_file", "delimiter", act,
             lambda: csv_bytes(A, [activity_row(i, title=f"ก; ข; ค {i}") for i in range(1, 4)]),
             expect_status=("loaded",), data_rows=3, expect_loaded=3),
        Case("cp874_csv", "encoding", act, lambda: csv_bytes(A, good, encoding="cp874"), expect_status=("loaded",),
             data_rows=3, expect_loaded=3),
        Case("utf16_without_bom", "encoding", act, lambda: csv_bytes(A, good, "\t", encoding="utf-16-le"), ".txt",
             ("loaded",), None, 3, 3),
        Case("utf8_bom_csv", "encoding", act, lambda: b"\xef\xbb\xbf" + csv_bytes(A, good), expect_status=("loaded",),
             data_rows=3, expect_loaded=3),
        Case("mixed_encodings", "encoding", act,
             lambda: csv_bytes(A, good) + csv_bytes(A, [activity_row(9)], encoding="cp874").split(b"\n", 1)[1],
             expect_status=("rejected",), expect_rule="encoding"),
        # --- 9. real report layouts
        Case("title_block_partner_and_month", "real_layouts", act, _title_block_report, ".xlsx", ("loaded",), None, 4, 4,
             {"partner_id": "P001", "period": "2025-03"}),
        Case("official_ace_wording", "real_layouts", act,
             lambda: csv_bytes(A, [activity_row(1, ace_element="การสร้างความตระหนักรู้แก่สาธารณชน"),
                                   activity_row(2, ace_element="1. การให้การศึกษา (Education)"),
                                   activity_row(3, ace_element="ความร่วมมือระดับนานาชาติ")]),
             expect_status=("loaded",), data_rows=3, expect_loaded=3),
        Case("signature_lines_under_table", "real_layouts", act,
             lambda: csv_bytes(A, good + [[], ["ลงชื่อ ....................... ผู้รายงาน"], ["(นายสมชาย ใจดี)"],
                                          ["ตำแหน่ง ปลัดเทศบาล"]]), expect_status=("loaded",), data_rows=3, expect_loaded=3),
        # --- malformed and hostile content (held before: must keep holding)
        Case("empty_file", "malformed", act, lambda: b"", expect_status=("rejected",), expect_rule="empty_file"),
        Case("only_blanks", "malformed", act, lambda: b"  \n\n ", expect_status=("rejected",), expect_rule="empty_file"),
        Case("binary_as_csv", "malformed", act, lambda: bytes(range(256)) * 40, expect_status=("rejected",)),
        Case("pdf_renamed_xlsx", "malformed", act, lambda: b"%PDF-1.7\n" + b"0" * 100, ".xlsx", ("rejected",), "file_type"),
        Case("truncated_zip_xlsx", "malformed", act, lambda: xlsx_bytes([A, activity_row(1)])[:900], ".xlsx", ("rejected",)),
        Case("ole_encrypted", "malformed", act,
             lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 600, ".xlsx",
             ("rejected",), "encrypted"),
        Case("unsupported_extension", "malformed", act, lambda: b"hello", ".exe", ("rejected",), "file_type"),
        Case("unbalanced_quotes", "malformed", act, lambda: csv_bytes(A, good) + b'P001,"2025-03,4,x\n',
             expect_status=("rejected", "partially_loaded", "loaded", "quarantined")),
        Case("headers_only", "malformed", act, lambda: csv_bytes(A, []), expect_status=("rejected",), expect_rule="no_data"),
        Case("no_header_row", "malformed", act, lambda: b"a,b,c\n1,2,3\n", expect_status=("rejected",)),
        Case("missing_required_column", "malformed", act,
             lambda: csv_bytes(A[:-2], [r[:-2] for r in good]), expect_status=("rejected",), expect_rule="missing_columns"),
        Case("xss_payloads", "hostile", act,
             lambda: csv_bytes(A, [activity_row(1, title="<script>alert(1)</script>"),
                                   activity_row(2, title='"><img src=x onerror=alert(1)>')]),
             expect_status=("loaded",), data_rows=2, expect_loaded=2),
        Case("formula_payloads", "hostile", act,
             lambda: csv_bytes(A, [activity_row(1, title='=HYPERLINK("http://evil","x")'),
                                   activity_row(2, title="+cmd|' /C calc'!A0"), activity_row(3, title="@SUM(1+1)*cmd|' /C calc'!A0")]),
             expect_status=("loaded",), data_rows=3, expect_loaded=3),
        Case("sql_payloads", "hostile", act,
             lambda: csv_bytes(A, [activity_row(1, title="x'); drop table raw.activity_reports; --"),
                                   activity_row(2, partner_id="P001' OR '1'='1")]),
             expect_status=("partially_loaded",), expect_rule="pattern", data_rows=2, expect_loaded=1),
        Case("unknown_partner", "hostile", act, lambda: csv_bytes(A, good + [activity_row(4, partner_id="P999")]),
             expect_status=("partially_loaded",), expect_rule="reference", data_rows=4, expect_loaded=3),
        Case("control_characters", "hostile", act,
             lambda: csv_bytes(A, [activity_row(1, title="a\x07b\x1bc"), activity_row(2)]),
             expect_status=("loaded",), data_rows=2, expect_loaded=2),
        Case("huge_cell_text", "hostile", act, lambda: csv_bytes(A, [activity_row(1, title="ก" * 200_000)]),
             expect_status=("loaded",), data_rows=1, expect_loaded=1),
        Case("formula_in_count_cell", "hostile", act,
             lambda: csv_bytes(A, good + [activity_row(4, participants_total="=1+1")]),
             expect_status=("partially_loaded",), expect_rule="type", data_rows=4, expect_loaded=3),
        Case("duplicate_activity_key", "hostile", act, lambda: csv_bytes(A, good + [activity_row(1)]),
             expect_status=("partially_loaded",), expect_rule="duplicate_key", data_rows=4, expect_loaded=2),
    ]
    return cases


# --------------------------------------------------------------------------- running the file cases

@dataclass
class CaseResult:
    name: str
    klass: str
    ok: bool
    clear: bool
    traceback: str | None = None
    rows_lost: int = 0
    detail: str = ""
    error_case: bool = True        # the case is bad input (vs a valid oddity that must simply load)
    damaged: bool = False          # a publication probe after which `latest` or a publication changed


def registry_known(folder: Path) -> dict:
    """The reference sets a report is checked against, from the doctor's small registry."""
    from phakhi.ingest.files import assemble_family, ingest_file
    from phakhi.ingest.landing import known_ids

    reg = folder / "registry.csv"
    reg.write_bytes(csv_bytes(REGISTRY_HEADER, REGISTRY_ROWS))
    registry = assemble_family("partner_registry", [ingest_file("partner_registry", reg, folder)])
    return {f: known_ids(f, registry) for f in ("activity_reports", "ghg_reductions", "partner_inventories")}


def _ingest_one(case_name: str, family: str, path: str, landing: str, known):
    """In the worker: ingest one file and settle it (as a refresh would); returns a plain summary."""
    from phakhi.ingest.files import assemble_family, ingest_file

    out = ingest_file(family, Path(path), Path(landing), known)
    settled = assemble_family(family, [out]) if out.family else None
    f = settled.files[0] if settled else out
    rules = set(settled.quarantine["rule"]) if settled is not None and len(settled.quarantine) else set()
    messages_ok = True
    if settled is not None and len(settled.quarantine):
        q = settled.quarantine
        messages_ok = bool(q["message_en"].fillna("").str.len().gt(0).all() and q["message_th"].fillna("").str.len().gt(0).all())
    fill = {}
    if settled is not None and len(settled.loaded):
        for c in ("partner_id", "period"):
            if c in settled.loaded:
                fill[c] = sorted(set(map(str, settled.loaded[c].dropna())))
    return {"status": f.status, "rule": f.rule, "reason_en": f.reason_en, "reason_th": f.reason_th,
            "rows_read": f.rows_read, "rows_loaded": f.rows_loaded, "rows_quarantined": f.rows_quarantined,
            "rows_superseded": f.rows_superseded, "rules": sorted(rules), "messages_ok": messages_ok, "fill": fill}


def judge(case: Case, got: dict) -> CaseResult:
    status_ok = not case.expect_status or got["status"] in case.expect_status
    rule_ok = case.expect_rule is None or case.expect_rule == got["rule"] or case.expect_rule in got["rules"]
    loaded_ok = case.expect_loaded is None or got["rows_loaded"] == case.expect_loaded
    fill_ok = all(got["fill"].get(k) == [v] for k, v in case.expect_fill.items())
    lost = 0
    if case.data_rows is not None and got["status"] != "rejected":
        lost = max(0, case.data_rows - got["rows_loaded"] - got["rows_quarantined"] - got["rows_superseded"])
    balanced = got["rows_read"] == got["rows_loaded"] + got["rows_quarantined"] + got["rows_superseded"]
    if got["status"] == "rejected":
        clear = bool(got["reason_en"]) and bool(got["reason_th"])
    elif got["rows_quarantined"]:
        clear = got["messages_ok"]
    else:
        clear = True                    # nothing wrong to report
    ok = status_ok and rule_ok and loaded_ok and fill_ok and balanced and clear and lost == 0
    detail = (f"{got['status']} rule={got['rule']} rules={got['rules']} read={got['rows_read']} "
              f"loaded={got['rows_loaded']} quarantined={got['rows_quarantined']}"
              + (f" reason={got['reason_en']!r}" if got["reason_en"] else ""))
    error_case = case.expect_rule is not None or any(st != "loaded" for st in case.expect_status)
    return CaseResult(case.name, case.klass, ok, clear, None, lost, detail, error_case)


def run_file_cases(cases: list[Case] | None = None, workdir: Path | None = None) -> list[CaseResult]:
    """Each case's file written to a landing-like folder and ingested in a worker process."""
    import multiprocessing as mp

    cases = file_cases() if cases is None else cases
    own = workdir is None
    tmp = tempfile.TemporaryDirectory(prefix="phakhi-doctor-") if own else None
    root = Path(tmp.name) if own else Path(workdir)
    results = []
    root.mkdir(parents=True, exist_ok=True)
    try:
        known = registry_known(root)
        pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
        for case in cases:
            folder = root / case.family
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{case.name}{case.suffix}"
            try:
                path.write_bytes(case.make())
                got = pool.submit(_ingest_one, case.name, case.family, str(path), str(root),
                                  known.get(case.family)).result()
                results.append(judge(case, got))
            except BrokenProcessPool:
                results.append(CaseResult(case.name, case.klass, False, False, "the reader process crashed"))
                pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
            except Exception:
                results.append(CaseResult(case.name, case.klass, False, False, traceback.format_exc(limit=4)))
            finally:
                path.unlink(missing_ok=True)
        pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return results


# --------------------------------------------------------------------------- system probes
# Each probe is a function of a scratch folder returning its CaseResult(s); `_run_probe` runs one so that an
# exception is recorded as a failing case with its traceback, never escaping.

def _two_publications(pubs: Path) -> None:
    from phakhi.publish.files import finalise, building_dir

    for pid, text in (("2025-02-r1", "feb"), ("2025-03-r2", "mar")):
        b = building_dir(pubs, pid)
        (b / "data").mkdir()
        (b / "index.html").write_text(text, encoding="utf-8")
        (b / "manifest.json").write_text(json.dumps({"period": pid[:7]}), encoding="utf-8")
        finalise(pubs, b, pid)


def _snapshot(pubs: Path) -> tuple:
    return (os.readlink(pubs / "latest") if (pubs / "latest").is_symlink() else None,
            tuple(sorted(p.name for p in pubs.iterdir())),
            tuple((p / "index.html").read_text(encoding="utf-8") for p in sorted(pubs.glob("2025-*")) if p.is_dir()))


def against_publications(pubs: Path, action: Callable[[], object]) -> tuple[object, bool]:
    """Two finished publications under `pubs`, then `action()`: (what it returned, or the exception it raised;
    whether `latest` and every publication are as they were)."""
    _two_publications(pubs)
    before = _snapshot(pubs)
    try:
        outcome = action()
    except Exception as exc:
        outcome = exc
    return outcome, _snapshot(pubs) == before


def probe_rollback(root: Path, target: str) -> tuple[bool, bool, bool]:
    """(refused with a message, publications intact, a traceback escaped)"""
    from phakhi.publish.files import NotAPublication, switch_latest

    pubs = root / f"pubs-{abs(hash(target))}"
    outcome, intact = against_publications(pubs, lambda: switch_latest(pubs, target))
    refused = isinstance(outcome, NotAPublication) and bool(str(outcome))
    escaped = isinstance(outcome, Exception) and not isinstance(outcome, NotAPublication)
    return refused, intact, escaped


ROLLBACK_TARGETS = ("..", ".", "latest", "2025-02-r1/data", "../pubs", "/etc", "", ".building-x", "2025-02-r1/",
                    "nope", "2025-02-r1\0")


def _rollback_label(target: str) -> str:
    return "rollback_" + (target.replace("\0", "NUL") or "empty")


def _probe_rollback_to(root: Path, target: str) -> CaseResult:
    refused, intact, tb = probe_rollback(root, target)
    return CaseResult(_rollback_label(target), "rollback", refused and intact and not tb, refused,
                      "traceback" if tb else None, 0, f"refused={refused} intact={intact}", damaged=not intact)


def _probe_valid_rollback(root: Path) -> CaseResult:
    """A good rollback still works."""
    from phakhi.publish.files import current_latest, switch_latest

    pubs = root / "pubs-good"
    against_publications(pubs, lambda: switch_latest(pubs, "2025-02-r1"))
    return CaseResult("rollback_valid_id", "rollback", current_latest(pubs) == "2025-02-r1", True, error_case=False)


def _hold_in_subprocess(code: str):
    """A second Python process that runs `code` (which prints a line once it holds what it holds), then waits."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    return proc


def _probe_lock(root: Path) -> list[CaseResult]:
    """A second refresh on one home is refused, naming the first; a killed holder leaves no stale lock."""
    from phakhi.lock import RefreshLocked, refresh_lock

    home = root / "home-lock"
    home.mkdir()
    holder = _hold_in_subprocess("import sys,time; from phakhi.lock import refresh_lock\n"
                                 f"with refresh_lock({str(home)!r}, 'r-first'):\n print('held', flush=True); time.sleep(30)")
    out = []
    try:
        with refresh_lock(home, "r-second"):
            out.append(CaseResult("second_refresh_refused", "lock", False, False, None, 0, "second refresh got the lock"))
    except RefreshLocked as exc:
        out.append(CaseResult("second_refresh_refused", "lock", "r-first" in str(exc), True, None, 0, str(exc)[:120]))
    finally:
        holder.kill()
        holder.wait()
    with refresh_lock(home, "r-third"):
        out.append(CaseResult("lock_free_after_kill", "lock", True, True, error_case=False))
    return out


def _probe_building_folders(root: Path) -> CaseResult:
    """Each run cleans only its own building folder."""
    from phakhi.publish.files import discard_building, discard_own, building_dir

    pubs = root / "pubs-building"
    pubs.mkdir()
    other = _hold_in_subprocess("import sys,time; from pathlib import Path; from phakhi.publish.files import building_dir\n"
                                f"building_dir(Path({str(pubs)!r}), 'other'); print('ok', flush=True); time.sleep(30)")
    (pubs / ".building-crashed").mkdir()
    discard_building(pubs)
    kept = (pubs / ".building-other").is_dir() and not (pubs / ".building-crashed").exists()
    other.kill()
    other.wait()
    mine = building_dir(pubs, "mine")
    discard_own(pubs, "mine")
    return CaseResult("building_folder_of_live_run_kept", "lock", kept and not mine.exists(), True)


def _probe_periods(root: Path) -> list[CaseResult]:
    """A later month is held, never published by default."""
    from phakhi.periods import publishable_period

    p, held = publishable_period(None, {"2025-02": 40, "2025-03": 41, "2026-04": 1})
    first = CaseResult("future_month_held_by_default", "future_month", p == "2025-03" and held == ["2026-04"], True,
                       None, 0, f"{p} {held}")
    p, held = publishable_period("2025-02", {"2025-02": 40, "2025-03": 41})
    return [first, CaseResult("requested_month_never_later", "future_month", p == "2025-02" and held == ["2025-03"],
                              True, error_case=False)]


def _probe_gate_tolerance(root: Path) -> CaseResult:
    """Statistical comparisons: noise is not a failure, a real shortfall is."""
    import pandas as pd

    from phakhi.quality.gate import with_tolerance

    suite = {"expectations": [{"type": "expect_column_pair_values_a_to_be_greater_than_b",
                               "kwargs": {"column_A": "p_adjusted", "column_B": "p_value", "or_equal": True}}]}
    f = with_tolerance(pd.DataFrame({"p_adjusted": [0.9970038774445091, 0.2], "p_value": [0.9970038774445092, 0.3]}), suite)
    return CaseResult("gate_tolerates_float_noise", "gate_tolerance",
                      f["p_adjusted"].iloc[0] >= f["p_value"].iloc[0] and f["p_adjusted"].iloc[1] < f["p_value"].iloc[1],
                      True, error_case=False)


def _run_probe(name: str, klass: str, probe: Callable[[], CaseResult | list[CaseResult]]) -> list[CaseResult]:
    try:
        got = probe()
    except Exception:
        got = CaseResult(name, klass, False, False, traceback.format_exc(limit=3))
    return got if isinstance(got, list) else [got]


def system_probes(root: Path) -> list[CaseResult]:
    """Probes on publications, the lock, serve, staff-facing CSVs, symlinks and the period rule."""
    root.mkdir(parents=True, exist_ok=True)
    probes = [(_rollback_label(t), "rollback", lambda r, t=t: _probe_rollback_to(r, t)) for t in ROLLBACK_TARGETS]
    probes += [
        ("rollback_valid_id", "rollback", _probe_valid_rollback),
        ("second_refresh_refused", "lock", _probe_lock),
        ("building_folder_of_live_run_kept", "lock", _probe_building_folders),
        ("enospc_during_publish", "disk_full", _probe_enospc),                 # a full disk while publishing
        ("staff_csv_neutralised", "staff_csv", _probe_staff_csv),              # staff-facing CSVs are neutralised
        ("symlink_refused", "symlink", _probe_symlinks),                       # refused in landing, never archived
        ("serve_headers", "serve", _probe_serve),                              # no listing, CSP, no traversal
        ("future_month_held_by_default", "future_month", _probe_periods),
        ("gate_tolerates_float_noise", "gate_tolerance", _probe_gate_tolerance),
        ("reliability_withheld_below_n30", "small_cells", _probe_small_wave),  # nothing below n = 30 published
        ("ingest_land_read_only_landing", "read_only_landing", _probe_read_only_landing),
    ]
    out: list[CaseResult] = []
    for name, klass, probe in probes:
        out.extend(_run_probe(name, klass, lambda: probe(root)))
    return out


def _probe_small_wave(root: Path | None = None) -> CaseResult:
    """Cronbach's alpha of a 24-respondent wave is withheld."""
    import numpy as np
    import pandas as pd

    from phakhi.survey.awareness import reliability_table

    rng = np.random.default_rng(7)
    rows = [{"wave": 2025, "respondent_id": f"R{i}", "item_code": f"k{j}", "dimension": "knowledge", "is_core": True,
             "item_score": float(rng.integers(1, 6))} for i in range(24) for j in range(1, 5)]
    table = reliability_table(pd.DataFrame(rows), dimensions=["knowledge"])
    ok = bool(table["cronbach_alpha"].isna().all()) and int(table["n_respondents"].max()) == 24
    return CaseResult("reliability_withheld_below_n30", "small_cells", ok, True, None, 0,
                      f"alpha={table['cronbach_alpha'].tolist()}", error_case=False)


def _probe_read_only_landing(root: Path) -> CaseResult:
    import errno
    from unittest import mock

    import typer
    from typer.testing import CliRunner

    from phakhi.ingest.cli import register

    app = typer.Typer()
    register(app)            # the `phakhi ingest` command itself

    home = root / "home-ro"
    src = root / "ro-src" / "activity_reports"
    src.mkdir(parents=True)
    f = src / "P001_2025-03.csv"
    f.write_bytes(csv_bytes(ACTIVITY_HEADER, [activity_row(1)]))

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    with mock.patch("shutil.copy2", read_only):
        res = CliRunner().invoke(app, ["ingest", str(f), "--land", "--home", str(home)])
    ok = res.exit_code == 2 and res.exception is None or isinstance(res.exception, SystemExit)
    text = res.output + (res.stderr if res.stderr_bytes is not None else "")
    ok = ok and "Read-only file system" in text and "Traceback" not in text
    return CaseResult("ingest_land_read_only_landing", "read_only_landing", ok, "Read-only" in text,
                      None, 0, text.strip().splitlines()[-1][:120] if text.strip() else "")


def _probe_enospc(root: Path) -> CaseResult:
    """A publish that hits a full disk: its own building folder is removed, `latest` and the published
    warehouse stay as they were."""
    import errno
    from unittest import mock

    import duckdb

    import flows.pipeline as pipeline
    from phakhi.publish.files import building_dir
    from phakhi.settings import Paths

    paths = Paths(root / "home-enospc").ensure()
    for db, marker in ((paths.build_db, "new warehouse"), (paths.published_db, "old warehouse")):
        with duckdb.connect(str(db)) as con:
            con.execute(f"create table which as select '{marker}' as w")

    def full_disk(paths_, period, run_id, *a, **k):
        b = building_dir(paths_.publications, f"{period}-{run_id}")
        (b / "big").write_bytes(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    def publish():
        with mock.patch("phakhi.publish.build.build_publication", full_disk):
            pipeline.publish.fn(paths, "2025-04", "r9", None, None)

    outcome, intact = against_publications(paths.publications, publish)
    if isinstance(outcome, Exception) and not isinstance(outcome, pipeline.PublishFailed):
        raise outcome
    refused = isinstance(outcome, pipeline.PublishFailed) and "No space left" in str(outcome)
    left = list(paths.publications.glob(".building-*"))
    with duckdb.connect(str(paths.published_db), read_only=True) as con:
        warehouse = con.execute("select w from which").fetchone()[0]
    return CaseResult("enospc_during_publish", "disk_full", refused and not left and intact and warehouse == "old warehouse",
                      refused, None, 0, f"left={left}", damaged=not intact)


def _probe_staff_csv(root: Path) -> CaseResult:
    import pandas as pd

    from phakhi.ingest.files import FamilyResult, QUARANTINE_COLUMNS
    from phakhi.ingest.report import write_ingest_report

    q = pd.DataFrame([{c: None for c in QUARANTINE_COLUMNS} | {"family": "activity_reports", "file": "x.csv",
                                                              "row": 2, "value": v, "rule": "type",
                                                              "message_en": "m", "message_th": "ม"}
                      for v in ('=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3+cmd|x")],
                     columns=QUARANTINE_COLUMNS)
    res = FamilyResult("activity_reports", pd.DataFrame(), q)
    written = write_ingest_report([res], root / "staff-report")
    text = written["ingest_quarantine.csv"].read_text(encoding="utf-8-sig")
    raw = any(line.split(",")[7:8] and line.split(",")[7].lstrip('"').startswith(("=", "+", "@", "-"))
              for line in text.splitlines()[1:])
    return CaseResult("staff_csv_neutralised", "staff_csv", not raw and "'=HYPERLINK" in text, True, None, 0, "")


def _probe_symlinks(root: Path) -> list[CaseResult]:
    from phakhi.ingest.files import ingest_file, list_files
    from phakhi.ingest.ledger import _archive

    landing = root / "landing-links"
    fam = landing / "activity_reports"
    fam.mkdir(parents=True)
    target = Path("/etc/passwd") if Path("/etc/passwd").exists() else root / "secret.txt"
    if not target.exists():
        target.write_text("secret")
    (fam / "passwd.csv").symlink_to(target)
    (fam / "dirlink").symlink_to("/etc")
    files = list_files(fam)
    res = []
    o = ingest_file("activity_reports", fam / "passwd.csv", landing)
    archived = _archive(root / "archive", o, root)
    res.append(CaseResult("symlink_to_passwd_refused", "symlink",
                          o.status == "rejected" and o.rule == "symlink" and archived is None and
                          not (root / "archive").exists(), bool(o.reason_en and o.reason_th), None, 0, o.reason_en or ""))
    inside = [f for f in files if "dirlink" in f.parts[:-1]]
    res.append(CaseResult("symlinked_folder_not_followed", "symlink", not inside, True, None, 0, str(inside[:2])))
    return res


def _probe_serve(root: Path) -> list[CaseResult]:
    import threading
    import urllib.error
    import urllib.request

    from phakhi.publish.serve import make_server

    site = root / "site"
    (site / "data").mkdir(parents=True)
    (site / "index.html").write_text("<h1>ok</h1>", encoding="utf-8")
    (site / "data" / "a.csv").write_text("a\n1\n", encoding="utf-8")
    (site / ".secret").write_text("s", encoding="utf-8")
    server = make_server(site, 0, verbose=False)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def get(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), b""

    try:
        s, h, _ = get("/")
        csp = s == 200 and "default-src 'self'" in h.get("Content-Security-Policy", "")
        listing = get("/data/")[0] == 404
        hidden = get("/.secret")[0] == 404
        traversal = all(get(p)[0] in (400, 404) for p in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                                          "/data/../../etc/passwd"))
    finally:
        server.shutdown()
        server.server_close()
    return [CaseResult("serve_sends_csp", "serve", csp, True), CaseResult("serve_no_directory_listing", "serve", listing, True),
            CaseResult("serve_hides_dotfiles", "serve", hidden, True),
            CaseResult("serve_refuses_traversal", "serve", traversal, True)]


# --------------------------------------------------------------------------- report

@dataclass
class DoctorReport:
    results: list[CaseResult]
    publications_damaged: int

    @property
    def cases(self) -> int:
        return len(self.results)

    @property
    def error_cases(self) -> int:
        return sum(1 for r in self.results if r.error_case)

    @property
    def clear_errors(self) -> int:
        """Bad-input cases reported with a reason a person can act on (no traceback)."""
        return sum(1 for r in self.results if r.error_case and r.ok and r.clear and r.traceback is None)

    @property
    def tracebacks(self) -> int:
        return sum(1 for r in self.results if r.traceback)

    @property
    def rows_lost(self) -> int:
        return sum(r.rows_lost for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    def figures(self) -> dict:
        return {"cases tried": self.cases, "bad-input cases": self.error_cases, "clear errors": self.clear_errors,
                "valid oddities accepted": sum(1 for r in self.results if not r.error_case and r.ok),
                "tracebacks": self.tracebacks,
                "rows lost": self.rows_lost, "publications damaged": self.publications_damaged,
                "cases failing": len(self.failed)}

    def classes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.klass] = out.get(r.klass, 0) + 1
        return out


def run_doctor(workdir: Path | None = None) -> DoctorReport:
    with tempfile.TemporaryDirectory(prefix="phakhi-doctor-") as tmp:
        root = Path(workdir or tmp)
        files = run_file_cases(workdir=root / "files")
        probes = system_probes(root / "system")
        return DoctorReport(files + probes, sum(r.damaged for r in probes))
