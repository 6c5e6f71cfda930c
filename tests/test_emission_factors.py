"""Every activity unit the GHG contract accepts has a sourced, effective-dated emission factor; a row whose unit
has no factor for its month is quarantined at ingestion with a reason (never a NULL tCO2e that blocks the
month); every programme of the seed is accepted."""
import csv
from datetime import date

import pytest

from phakhi.ingest import factors
from phakhi.ingest.contracts import apply_contract, load_contract
from phakhi.ingest.readers import Sheet
from phakhi.settings import SEEDS_DIR


def _seed(name):
    with (SEEDS_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("period", ["2024-01", "2025-03", "2025-12", "2026-01", "2026-06"])
def test_every_contract_unit_has_a_factor_in_force(period):
    units = factors.unit_activities()
    assert {"litre_gasoline", "tonne_waste", "kg_waste", "litre_diesel", "kg_lpg", "kwh", "mwh"} <= set(units)
    missing = [u for u in units if factors.factor_for(u, period) is None]
    assert not missing, f"no emission factor in force in {period} for {missing}"


def test_factors_have_sources_and_never_overlap():
    rows = _seed("emission_factors")
    for r in rows:
        assert r["source"] and r["source_ref"] and r["source_note"], r["factor_id"]
        if "unverified" in r["source"] or "secondary" in r["source"]:
            assert "unverified" in r["source_note"], r["factor_id"]
    windows = factors.factor_windows()
    for key, spans in windows.items():       # two factors for one unit and day would double the claim in dbt
        for i, (f1, t1, a) in enumerate(spans):
            for f2, t2, b in spans[i + 1:]:
                lo, hi = max(f1 or date.min, f2 or date.min), min(t1 or date.max, t2 or date.max)
                assert lo > hi, f"{a} and {b} overlap for {key}"


def test_petrol_and_waste_use_the_sourced_factors():
    assert factors.factor_for("litre_gasoline", "2025-06") == "tgo_cfo_2022_gasoline_mobile"
    assert factors.factor_for("tonne_waste", "2025-06") == "ipcc2006_waste_landfill_avoided"
    assert factors.factor_for("kg_waste", "2025-06") == "ipcc2006_waste_landfill_avoided"
    assert factors.factor_for("litre_diesel", "2021-06") == "ipcc2006_diesel_co2"       # before the TGO table
    assert factors.factor_for("litre_diesel", "2025-06") == "tgo_cfo_2022_diesel_mobile"
    assert factors.factor_for("kwh", "2026-02") == "tgo_grid_2026_scope2"
    assert factors.factor_for("litre_gasoline", "2022-01") is None                      # no factor yet


def test_every_programme_of_the_seed_is_accepted():
    method = load_contract("ghg_reductions").column("method")
    seed = {r["programme_code"] for r in _seed("ghg_programmes")}
    assert seed == set(method.allowed)
    assert method.parse("CFR") == "cfr" and method.parse("ฉลากลดคาร์บอน") == "cfr"


HEAD = ["รหัสภาคี", "รหัสโครงการ", "ภาคส่วน", "เดือน", "ปริมาณก๊าซที่ลดได้ (tCO2e)", "ข้อมูลกิจกรรม", "หน่วย",
        "มาตรฐาน/วิธีการ", "เลขที่การรับรอง", "สถานะการทวนสอบ"]


def _ghg(rows):
    return apply_contract(load_contract("ghg_reductions"), Sheet(name=None, rows=[HEAD] + rows), known=None)


def test_a_unit_without_a_factor_for_its_month_is_quarantined_with_a_reason():
    res = _ghg([
        ["P001", "P001-A", "พลังงาน", "มิ.ย. 2568", "", "1,000", "ลิตรเบนซิน", "ประเมินเอง", "", "รายงานเอง"],
        ["P001", "P001-B", "ของเสีย", "มิ.ย. 2568", "", "12", "ตันขยะ", "ประเมินเอง", "", "รายงานเอง"],
        ["P001", "P001-C", "ของเสีย", "มิ.ย. 2568", "", "12", "ตันขยะ", "CFR", "CFR-2568-001", "รอทวนสอบ"],
        ["P001", "P001-D", "พลังงาน", "ม.ค. 2565", "", "500", "ลิตรเบนซิน", "ประเมินเอง", "", "รายงานเอง"],
        ["P001", "P001-E", "พลังงาน", "ม.ค. 2565", "3.5", "", "", "ประเมินเอง", "", "รายงานเอง"],
    ])
    loaded = {r["project_id"]: r for r in res.records}
    assert set(loaded) == {"P001-A", "P001-B", "P001-C", "P001-E"}
    assert loaded["P001-A"]["activity_unit"] == "litre_gasoline" and loaded["P001-C"]["method"] == "cfr"
    (problem,) = res.quarantine
    assert problem["row"] == 5 and problem["rule"] == "emission_factor_in_force"
    assert "litre_gasoline" in problem["value"] and "2022-01" in problem["value"]
    assert "emission factor" in problem["message_en"] and problem["message_th"]
    assert "seed emission_factors" in problem["expected"]


def test_removing_a_factor_quarantines_its_rows(monkeypatch):
    windows = {k: v for k, v in factors.factor_windows().items() if k[0] != "waste_diverted"}
    monkeypatch.setattr(factors, "factor_windows", lambda: windows)
    res = _ghg([["P001", "P001-B", "ของเสีย", "มิ.ย. 2568", "", "12", "ตันขยะ", "ประเมินเอง", "", "รายงานเอง"]])
    assert not res.records and res.quarantine[0]["rule"] == "emission_factor_in_force"
