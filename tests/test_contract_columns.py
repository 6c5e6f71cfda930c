"""Column-wise contract typing (issue 17): `apply_contract` types each column of a sheet at once
(`type_column`), and must give, cell for cell and problem for problem, what the row-by-row reading gave
(tests/oracle_contract_rows.py, the implementation before): Thai digits, B.E./C.E. years, blanks and dashes,
NaN, out-of-range and non-finite numbers, date cells, province variants, enum spellings, units, SPSS labels,
cp874 text, title blocks, footers, summary rows and the hostile corpus of `phakhi doctor`."""
from __future__ import annotations

import math
import random
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from phakhi.ingest import files
from phakhi.ingest.contracts import (_FAILED, CellError, apply_contract, contract_names, is_footer_row,
                                     load_contract, type_column)
from phakhi.ingest.readers import Sheet

sys.path.insert(0, str(Path(__file__).parent))
from oracle_contract_rows import apply_contract_rowwise  # noqa: E402
from oracle_contract_rows import is_footer_row as is_footer_row_oracle  # noqa: E402

KNOWN = {"partner_id": {"P001", "P002", "P003"}}

# values every column meets, whatever its type: blanks, dashes, text, numbers of every kind, dates
COMMON = [None, "", "  ", "-", "–", "—", "--", " - ", float("nan"), "x", "ไม่มี", 0.0, -0.0, 1.0, 1.5, -3.0,
          12.0, 2567.0, 2024.0, 1e20, -1e20, float("inf"), float("-inf"), 2.0 ** 31, 2.0 ** 31 - 1, 2.0 ** 63,
          True, 7, date(2025, 3, 15), datetime(2025, 3, 15, 0, 0), datetime(2025, 3, 15, 10, 30), date(1925, 1, 1),
          date(2099, 1, 1), "๑๒๓", "1,234.5", " 42 ", "๔๒", "12,500 บาท", "12 ตัน", "3.5 kWh", "1e400", "12abc",
          "2567", "พ.ศ. 2567", "พ.ศ.๒๕๖๗", "ค.ศ. 2024", "2024", "B.E. 2568", "2468", "3000", "2568.0",
          "15/03/2568", "15/03/2567", "๑๕/๐๓/๒๕๖๘", "15 มี.ค. 2568", "2025-03-15", "31/02/2568", "มี.ค. 2568",
          "มีนาคม ๒๕๖๘", "2025-03", "03/2568", "13/2568", "กทม.", "กรุงเทพฯ", "Bangkok", "จ.เชียงใหม่", "เชียงใหม่ ",
          "Chiang Mai", "ชลบุรี", "นอกโลก", "p001", "P001", "P 002", "P999", "๏", "ทวนสอบแล้ว", "verified",
          "1. การศึกษา (Education)", "การศึกษา", "Education", "รณรงค์", "ลิตร (ดีเซล)", "ลิตรดีเซล", "kWh",
          "กิโลวัตต์ชั่วโมง", "T-VER", "ปรับตัว", "ลดก๊าซ", "ชาย", "หญิง", 3.0, 4.0, 8.0, 9.0, 99.0,
          "รวม", "รวมทั้งสิ้น 120", "=SUM(A1:A3)", "<script>alert(1)</script>"]


def _example(col):
    ex = col.example
    return ex if ex is not None else {"integer": 5, "number": 5.5, "likert": 3, "year": 2567, "date": "15/03/2568",
                                      "period": "มี.ค. 2568", "province": "เชียงใหม่"}.get(col.type, "x")


def _sheet(contract, rows_of_values, header=None) -> Sheet:
    names = [c.name for c in contract.columns]
    head = header or [c.label_th or c.name for c in contract.columns]
    title = [["รายงานทดสอบ"], []]
    rows = title + [head] + [[r.get(n) for n in names] for r in rows_of_values]
    return Sheet(name="s", rows=rows)


def _same(contract, sheet, known):
    new = apply_contract(contract, sheet, known)
    old = apply_contract_rowwise(contract, sheet, known)
    assert new.records == old.records
    assert [list(r) for r in new.records] == [list(r) for r in old.records]     # the same column order
    assert new.quarantine == old.quarantine
    assert (new.rows_read, new.blank_rows, new.coverage, new.notes) == \
        (old.rows_read, old.blank_rows, old.coverage, old.notes)
    return new


@pytest.mark.parametrize("family", contract_names())
def test_every_value_in_every_column_types_as_row_by_row(family):
    """Each edge value alone in each column of an otherwise good row: the same record or the same problem."""
    contract = load_contract(family)
    good = {c.name: _example(c) for c in contract.columns}
    rows = []
    for col in contract.columns:
        for v in COMMON:
            rows.append({**good, col.name: v})
    res = _same(contract, _sheet(contract, rows), KNOWN)
    assert res.rows_read > 0 and res.quarantine          # the edge values do reach both outcomes


@pytest.mark.parametrize("family", contract_names())
def test_random_rows_type_as_row_by_row(family):
    """Rows mixing edge values in every column at once (several problems a row, in column order)."""
    contract = load_contract(family)
    rng = random.Random(17)
    good = {c.name: _example(c) for c in contract.columns}
    rows = [{c.name: (rng.choice(COMMON) if rng.random() < 0.3 else good[c.name]) for c in contract.columns}
            for _ in range(400)]
    rows += [{}, {c.name: None for c in contract.columns}]          # blank rows, counted apart
    _same(contract, _sheet(contract, rows), KNOWN)
    _same(contract, _sheet(contract, rows), None)                   # no registry: no reference checks


@pytest.mark.parametrize("family", ["activity_reports", "ghg_reductions", "partner_inventories"])
def test_references_and_baselines_ask_and_judge_as_row_by_row(family):
    """References and the partner-baseline check judged column by column: the same problems, coverage and
    records, and the same look-ups recorded for the per-file cache (each id asked, with the same answer)."""
    from phakhi.ingest.file_cache import _Probe

    contract = load_contract(family)
    rng = random.Random(23)
    good = {c.name: _example(c) for c in contract.columns}
    ids = ["P001", "P002", "P003", "P999", "p001", None, "x y", 7.0]
    rows = [{**good, "partner_id": rng.choice(ids),
             **({"reduction_tco2e": rng.choice([1.0, 9.5, 10.0, 10.5, 250.0, -1.0, None, "x"])}
                if "reduction_tco2e" in good else {})} for _ in range(300)]
    rows += [{}, {"partner_id": "P002"}, {c.name: None for c in contract.columns}]
    known = {**KNOWN, "@partner_registry.baseline_tco2e": {"P001": 10.0, "P002": 0.0, "P999": 5.0}}
    sheet = _sheet(contract, rows)
    new_probes = {k: _Probe(v) for k, v in known.items()}
    old_probes = {k: _Probe(v) for k, v in known.items()}
    new, old = apply_contract(contract, sheet, new_probes), apply_contract_rowwise(contract, sheet, old_probes)
    assert (new.records, new.quarantine, new.coverage) == (old.records, old.quarantine, old.coverage)
    assert {k: p.asked for k, p in new_probes.items()} == {k: p.asked for k, p in old_probes.items()}
    assert new_probes["partner_id"].asked                      # the ids were looked up at all
    if "reduction_tco2e" in good:
        assert any(p["rule"] == "above_partner_baseline" for p in new.quarantine)


@pytest.mark.parametrize("family", ["activity_reports", "ghg_reductions"])
def test_ragged_rows_and_values_beyond_the_table_as_row_by_row(family):
    """Rows shorter than the table (a CSV line cut short) or longer (values in unnamed columns), rows with
    values only outside the contract's columns: the same records, problems and notes."""
    contract = load_contract(family)
    good = {c.name: _example(c) for c in contract.columns}
    sheet = _sheet(contract, [good] * 3)
    width = len(sheet.rows[2])
    sheet.rows += [sheet.rows[3][:k] for k in range(0, width, 3)]
    sheet.rows += [sheet.rows[3] + [None, "extra"], [None] * width + ["only here"], ["-"] * width]
    sheet.rows += [["ลงชื่อ ........ ผู้รายงาน"], ["รวม", None, None, 12.0]]
    _same(contract, sheet, KNOWN)


def test_a_repeated_text_is_typed_once_and_blank_or_failed_cells_are_marked():
    col = load_contract("activity_reports").column("participants_total")
    out, errs = type_column(col, ["๑๒", "๑๒", None, "-", "x", 7.0])
    assert out[:4] == [12, 12, None, None] and out[4] is _FAILED and out[5] == 7
    assert [(k, v) for k, v, _ in errs] == [(2, None), (3, None), (4, "x")]
    assert errs[0][2] is None and isinstance(errs[2][2], CellError) and errs[2][2].rule == "type"


@pytest.mark.parametrize("values", [
    ["  งานปลูกป่า ", "งานปลูกป่า", "", "   ", "-", "—", "x", "\tแท็บ\n", "P001", "ไม่มี"],     # blanks; dashes are text
    ["ชื่อกิจกรรม"] * 12, ["a", "b"], [""], ["  ", "x"], [],
    ["a", None, "b"], ["a", 1.0, "b"], ["a", float("nan"), "b", "c", "d", "e", "f", "g", "h"]])   # not all text
def test_a_free_text_column_types_as_its_parser_does_cell_by_cell(values):
    """A string column without a pattern (titles, lessons learned) is stripped, not cached: each cell typed
    as Column.parse types it alone, a blank marked as one; nothing is kept in the column's cell cache."""
    col = load_contract("activity_reports").column("title")
    assert col.type == "string" and not col.pattern
    col._cells = None
    out, errs = type_column(col, values)
    want, blanks = [], []
    for k, v in enumerate(values):
        if v is None or (v.__class__ is str and not v.strip()) or (v.__class__ is float and v != v):
            want.append(None)
            blanks.append((k, None, None))
        else:
            want.append(col.parse(v))
    assert out == want and [type(x) for x in out] == [type(x) for x in want] and errs == blanks
    if all(v.__class__ is str for v in values):
        assert not col._cells


def test_a_patterned_string_column_still_goes_through_its_parser():
    col = load_contract("activity_reports").column("partner_id")
    out, errs = type_column(col, [" p001 ", "P 002", "x", "", "P001"] * 2)
    assert out[:2] == ["P001", "P002"] and out[2] is _FAILED and out[3] is None
    assert [(k, err and err.rule) for k, _, err in errs[:2]] == [(2, "pattern"), (3, None)]


def test_the_month_of_a_date_is_remembered_boundedly_and_as_formatted():
    """ym() over a column: what _ym gives each value (a datetime and a date of one month alike), errors as
    _ym raises them, and the memo never past its limit."""
    from phakhi.ingest import contracts

    values = [date(2025, 3, 1), None, datetime(2025, 3, 31, 23, 59), date(1999, 12, 31), date(2025, 3, 1)]
    assert contracts._ym_column(values) == [contracts._ym(v) for v in values]
    assert contracts._ym_column(values) == [contracts._ym(v) for v in values]      # from the memo
    with pytest.raises(AttributeError):
        contracts._ym_column([date(2025, 1, 1), "2025-01"])
    with pytest.raises(TypeError):
        contracts._ym_column([[2025, 1]])          # unhashable: the check is then evaluated row by row
    many = [date(2000, 1, 1) + (date(2000, 1, 2) - date(2000, 1, 1)) * k for k in range(contracts._CACHE_LIMIT + 50)]
    assert contracts._ym_column(many) == [contracts._ym(v) for v in many]
    assert len(contracts._YMS) <= contracts._CACHE_LIMIT


@pytest.mark.parametrize("value", [1e20, -1.0, 2.0 ** 31, 1.5, float("inf"), float("-inf")])
def test_the_fast_number_path_leaves_every_refusal_to_the_parser(value):
    col = load_contract("activity_reports").column("participants_total")
    out, errs = type_column(col, [value])
    try:
        want = col.parse(value)
    except CellError as err:
        assert out == [_FAILED] and errs[0][2].rule == err.rule and errs[0][2].message_en == err.message_en
    else:
        assert out == [want] and not errs


def test_be_years_thai_digits_and_dates_type_as_the_parser_does():
    c = load_contract("partner_registry")
    for name, values in {"pledge_base_year": ["2562", "พ.ศ. ๒๕๖๒", "ค.ศ. 2019", 2562.0, 2019.0, "2468", "x"],
                         "join_date": [date(2024, 3, 15), datetime(2024, 3, 15), "๑๕/๐๓/๒๕๖๗", "31/02/2567",
                                       date(1925, 1, 1), date(2024, 3, 15)]}.items():
        col = c.column(name)
        out, errs = type_column(col, values)
        failed = {k for k, _, _ in errs}
        for k, v in enumerate(values):
            try:
                assert out[k] == col.parse(v) and k not in failed
            except CellError:
                assert out[k] is _FAILED and k in failed


def test_province_variants_and_cp874_text_type_alike():
    col = load_contract("activity_reports").column("province_code")
    cp874 = "เชียงใหม่".encode("cp874").decode("cp874")
    values = ["กทม.", "กรุงเทพฯ", "Bangkok", "จ.เชียงใหม่", cp874, "นอกโลก"]
    out, errs = type_column(col, values)
    assert out[:5] == [col.parse(v) for v in values[:5]] and out[5] is _FAILED
    assert errs[0][2].rule == "province"


def test_sav_labelled_columns_go_through_their_labels():
    contract = load_contract("survey_waves")
    col = contract.column("sex")
    out, errs = type_column(col, [1.0, 2.0, 9.0, None], labels={1.0: "ชาย", 2.0: "หญิง"})
    assert out[:2] == [col.parse("ชาย"), col.parse("หญิง")] and out[3] is None


@pytest.mark.parametrize("raw", [
    ["ลงชื่อ ....... ผู้รายงาน"], ["(นางสาวสมใจ ใจดี)", None, ""], ["ตำแหน่ง นักวิชาการ", float("nan")],
    ["ลงชื่อ", "ลงชื่อ", "ลงชื่อ", "ลงชื่อ"], ["ลงชื่อ", "ลงชื่อ", "ลงชื่อ", "ลงชื่อ", "ลงชื่อ"], [1.0, "ลงชื่อ"],
    [None, "  "], [], ["หมายเหตุ", date(2025, 1, 1)], ["......", "___"], ["งานปลูกป่า"]])
def test_footer_rows_as_before(raw):
    assert is_footer_row(raw) == is_footer_row_oracle(raw)


def test_the_hostile_corpus_ingests_as_row_by_row(tmp_path, monkeypatch):
    """Every file of `phakhi doctor`'s corpus: the same outcome with the column-wise and row-by-row typing."""
    from phakhi.doctor import file_cases, registry_known

    (tmp_path / "reg").mkdir()
    known = registry_known(tmp_path / "reg")
    seen = 0
    for case in file_cases():
        folder = tmp_path / case.family
        folder.mkdir(exist_ok=True)
        path = folder / f"{case.name}{case.suffix}"
        path.write_bytes(case.make())
        k = known.get(case.family)
        new = files.ingest_file(case.family, path, tmp_path, k)
        monkeypatch.setattr(files, "apply_contract", apply_contract_rowwise)
        old = files.ingest_file(case.family, path, tmp_path, k)
        monkeypatch.undo()
        assert (new.status, new.rule, new.reason_en, new.records, new.problems, new.notes, new.rows_read,
                new.blank_rows, new.coverage) == (old.status, old.rule, old.reason_en, old.records, old.problems,
                                                  old.notes, old.rows_read, old.blank_rows, old.coverage), case.name
        seen += bool(new.records or new.problems)
    assert seen >= 20


CHECK_EXPRS = ["a + b <= c", "a <= c", "ym(d) == p", "a.notna() | (b.notna() & p.notna())", "a.notna() | (p != 'x')",
               "p != 'dispute' or b.notna()", "c > a", "a / b > 1", "a - b * c < 0", "~(a > b)", "-a < b",
               "(a > 1) & (b > 1)", "(a > 1) | (b > 1)", "a.isna()", "a < b < c", "not a", "a == 'x' and b"]
CHECK_VALUES = [None, 0, 1, 2.5, -3.0, 10, "x", "dispute", "verified", True, False, date(2025, 3, 1),
                datetime(2025, 4, 2), "2025-03", float("inf")]


@pytest.mark.parametrize("kind", ["mixed", "no_blank", "numbers"])    # no blank: the columns' C-speed paths
@pytest.mark.parametrize("expr", CHECK_EXPRS)
def test_checks_over_columns_give_each_row_its_row_by_row_result(expr, kind):
    """compile_check_columns: for every row the result compile_check gives it (None/True/False), or an error,
    after which apply_contract evaluates that check row by row."""
    from phakhi.ingest.contracts import _RowWise, compile_check, compile_check_columns

    names = {"a", "b", "c", "d", "p"}
    rng = random.Random(sum(expr.encode()))
    dates = [None, date(2025, 3, 1), datetime(2025, 4, 2)]        # a date column holds dates (ym() needs one)
    values = {"mixed": CHECK_VALUES, "no_blank": [v for v in CHECK_VALUES if v is not None],
              "numbers": [0, 1, 2.5, -3.0, 10, 4, 0.0, float("inf")]}[kind]
    if kind != "mixed":
        dates = dates[1:]
    rows = [{k: rng.choice(dates if k == "d" else values) for k in names} for _ in range(300)]
    row_fn = compile_check(expr, names)
    try:
        vec = compile_check_columns(expr)
    except _RowWise:
        return                                              # evaluated row by row: nothing to compare
    try:
        got = vec(lambda name: [r[name] for r in rows], len(rows))
    except Exception:
        return           # apply_contract evaluates this sheet's check row by row: the same by construction
    want = [row_fn(r) for r in rows]                        # never raises where the columns did not
    assert got == want and [type(g) for g in got] == [type(w) for w in want]


def test_the_header_search_skips_rows_too_short_to_win_and_finds_the_same_table():
    """find_table with its memo does not ask about a row with no more texts than the best row's matches (it
    cannot match more columns): the same header row and mapping as the search that asks about every row."""
    from phakhi.ingest.readers import find_table

    contract = load_contract("activity_reports")
    head = [c.label_th or c.name for c in contract.columns]
    rng = random.Random(29)
    layouts = [
        [["รายงาน"], ["ภาคี: P001"], [], head[:3], ["a", "b", "c", "d"], head, ["x"] * 30, head[:5]],
        [["ลำดับ", "รหัสภาคี"], ["ข้อความ"] * 3, head[:4] + ["อื่น"] * 9, [1.0, "P001"], head],
        [[rng.choice(head + ["ข้อความ", "", None, 3.0]) for _ in range(rng.randrange(0, 25))] for _ in range(45)],
        [["ผู้เข้าร่วม (คน)", None, None], ["ทั้งหมด", "หญิง", "ชาย"], [12.0, 5.0, 7.0]],
        [[], [None, ""], [3.0]],
    ]
    for rows in layouts:
        want = find_table(rows, contract.match_header)                      # every row asked
        got = find_table(rows, contract.match_header, seen={})
        assert got == want
        contract._match_cache = None
        assert contract.find_table(Sheet(name="s", rows=rows)) == want     # with the contract's memo


def test_a_column_whose_parser_is_reset_types_with_its_new_rules():
    """type_column's per-column constants go with the column's parser: a parser reset (a contract changed in
    place, as a test does) makes both again, so a free-text column given a pattern is checked against it."""
    from phakhi.ingest.contracts import Column

    col = Column(name="email", type="string")
    assert type_column(col, ["somchai at example"] * 9) == (["somchai at example"] * 9, [])
    col.pattern, col._parse = r"^\S+@\S+$", None
    out, errs = type_column(col, ["somchai at example"] * 9)
    assert out == [_FAILED] * 9 and {err.rule for _, _, err in errs} == {"pattern"}
