"""TEST ORACLE: `apply_contract` before issue 17's column-wise typing (kept verbatim but for its imports and
name); tests compare the package's column-wise implementation with it, cell for cell and problem for problem."""
from __future__ import annotations

from phakhi.ingest.contracts import (_DASHES, _FAILED, PRIVATE_MASK, ContractResult, _blank_row, _col_letter, _head,
                                     _is_summary_row, _parse_labelled, _problem, _show, _FOOTER, _SIGNATURE_LINE, locate_table,
                                     CellError, Contract)
from phakhi.ingest.readers import Sheet, is_blank


def is_footer_row(raw: list[object]) -> bool:
    cells = [c for c in raw if not is_blank(c)]
    if not cells or len(cells) > 4 or not all(isinstance(c, str) for c in cells):
        return False
    return all(_FOOTER.match(c) or _SIGNATURE_LINE.match(c) for c in cells)


def apply_contract_rowwise(contract: Contract, sheet: Sheet, known: dict[str, set[str]] | None = None,
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
                  if table.headers[j] in labels and cols[name].type in ("enum", "province")}
    checks = contract.compiled_checks
    refs = {k: v for k, v in (known or {}).items() if k in cols and k in contract.references}
    baselines = [(b, (known or {}).get("@" + b["baseline"])) for b in contract.baseline_checks]
    baselines = [(b, values) for b, values in baselines if values]
    skey = [k for k in contract.submission_key if k in cols]
    key_cols = set(contract.key)
    mapped_idx = {j for j, _ in mapping}
    width = max(mapped_idx) + 1

    records, problems, coverage, notes = [], [], set(), []
    blank = read = footer = 0
    orphan_cols: set[int] = set()
    sheet_name = sheet.name
    for i in range(table.first_data_row, len(rows)):
        raw = rows[i]
        if _blank_row(raw):
            blank += 1
            continue
        if is_footer_row(raw):               # signature / note lines under the table: not rows
            blank += 1
            footer += 1
            continue
        read += 1
        row_no = i + 1
        record = {"_row": row_no, **fill}
        errors = []
        any_mapped = False
        n = len(raw)
        for j, name, col, required, head in plan:
            value = raw[j] if j < n else None
            if value is None or value == "" or (value.__class__ is str and (not value.strip() or (
                    value.strip() in _DASHES and col.type != "string"))) or (value.__class__ is float and value != value):
                record[name] = None
                if required:
                    errors.append((name, head, None, "required", "required value is empty",
                                   "ต้องกรอกข้อมูลช่องนี้", "a value"))
                continue
            any_mapped = True
            try:
                if j in label_maps:
                    record[name] = _parse_labelled(col, value, label_maps[j])
                else:
                    record[name] = col.parse(value)
            except CellError as err:
                record[name] = _FAILED
                errors.append((name, head, value, err.rule, err.message_en, err.message_th, err.expected))
        if n > width:
            for j in range(width, n):
                if not is_blank(raw[j]):
                    orphan_cols.add(j)
        if not any_mapped:
            texts = [str(c).strip() for c in raw if not is_blank(c)]
            problems.append(_problem(sheet_name, row_no, "", "", "; ".join(texts)[:200], "not_a_data_row",
                                     "a row of the table's columns",
                                     "values only in columns the contract does not use; the row was not loaded",
                                     "มีข้อมูลเฉพาะในคอลัมน์ที่ไม่อยู่ในแบบฟอร์ม แถวนี้จึงไม่ถูกนำเข้า"))
            continue
        unknown_ref = False
        for name, allowed in refs.items():
            v = record.get(name)
            if v is not None and v is not _FAILED and v not in allowed:
                unknown_ref = True
                ref = contract.references.get(name, "partner_registry.partner_id")
                errors.append((name, _head(table, name), v, "reference",
                               f"'{v}' is not in the {ref.split('.')[0].replace('_', ' ')}",
                               f"ไม่พบ '{v}' ในทะเบียนภาคี", f"an id present in {ref}"))
        for b, values in baselines:
            v, base = record.get(b["column"]), values.get(record.get(b.get("key", "partner_id")))
            if isinstance(v, (int, float)) and isinstance(base, (int, float)) and base > 0 \
                    and v > base * float(b.get("max_ratio", 1.0)):
                pid = record.get(b.get("key", "partner_id"))
                errors.append((b["column"], _head(table, b["column"]), v, b["rule"],
                               f"{v:,.6g} is more than {float(b.get('max_ratio', 1.0)):g} x the partner's "
                               f"{b['baseline'].split('.')[-1]} ({base:,.6g}) in the registry ({pid}); is a unit or "
                               "digit wrong?",
                               f"{v:,.6g} มากกว่า {float(b.get('max_ratio', 1.0)):g} เท่าของค่าฐานของภาคี ({base:,.6g}) "
                               f"ในทะเบียนภาคี ({pid}) กรุณาตรวจหน่วยหรือจำนวนหลัก",
                               f"at most {float(b.get('max_ratio', 1.0)) * base:,.6g}"))
        # what the file is a submission for (supersession): keys that parsed and refer to known partners
        if skey and not unknown_ref and all(record.get(k) not in (None, _FAILED) for k in skey):
            coverage.add(tuple(record[k] for k in skey))
        for chk in checks:
            vals = [record.get(c) for c in chk.columns]
            if any(v is _FAILED for v in vals):
                continue
            if chk.when_null != "evaluate" and any(v is None for v in vals):
                continue
            if chk.fn(record) is False:
                errors.append((chk.columns[0], ", ".join(_head(table, c) for c in chk.columns),
                               ", ".join(f"{c}={_show(record.get(c))}" for c in chk.columns),
                               chk.rule, chk.message_en, chk.message_th, chk.expr))
        if errors:
            if _is_summary_row(raw, record, key_cols):
                texts = [str(c).strip() for c in raw if not is_blank(c)]
                problems.append(_problem(sheet_name, row_no, "", "", "; ".join(texts)[:200], "not_a_data_row",
                                         "one activity/record per row",
                                         "a totals or note row, not a record (Phakhi computes totals itself); remove it",
                                         "เป็นแถวผลรวมหรือหมายเหตุ ไม่ใช่ข้อมูลรายการ (ระบบคำนวณผลรวมเอง) กรุณาลบแถวนี้"))
                continue
            for name, head, value, rule, en, th, expected in errors:
                shown = None if value is None else _show(value)
                if cols[name].private and value is not None:      # never let a private value out
                    shown = PRIVATE_MASK
                    en = f"the value does not pass the '{rule}' check (value withheld: private column)"
                    th = f"ค่าในช่องนี้ไม่ผ่านการตรวจ '{rule}' (ไม่แสดงค่าเพราะเป็นข้อมูลส่วนบุคคล)"
                problems.append(_problem(sheet_name, row_no, name, head, shown, rule, expected, en, th))
        else:
            records.append(record)
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
