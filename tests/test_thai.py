"""Tests for phakhi/thai.py and the consistency of the reference seeds in dbt_project/seeds."""

from __future__ import annotations

import csv
import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pytest

from phakhi import thai
from phakhi.thai import (
    ThaiParseError,
    be_to_ce_year,
    normalize_province,
    parse_number,
    parse_period,
    parse_thai_date,
    province_key,
    thai_digits_to_arabic,
)

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"

# ISO 3166-2:TH: 76 provinces + Bangkok (TH-10). Pattaya (TH-S) is not a province.
EXPECTED_CODES = {f"TH-{n}" for n in [
    10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    50, 51, 52, 53, 54, 55, 56, 57, 58,
    60, 61, 62, 63, 64, 65, 66, 67,
    70, 71, 72, 73, 74, 75, 76, 77,
    80, 81, 82, 83, 84, 85, 86,
    90, 91, 92, 93, 94, 95, 96,
]}


def read_seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


PROVINCES = read_seed("provinces.csv")
ALIASES = read_seed("province_aliases.csv")


# --------------------------------------------------------------------------- digits and numbers

def test_thai_digits_to_arabic():
    assert thai_digits_to_arabic("๐๑๒๓๔๕๖๗๘๙") == "0123456789"
    assert thai_digits_to_arabic("ปี ๒๕๖๗ เดือน 3") == "ปี 2567 เดือน 3"


@pytest.mark.parametrize("value, expected", [
    (12, 12.0), (1.5, 1.5), (Decimal("2.25"), 2.25), ("1,234.5", 1234.5), ("๑,๒๓๔.๕", 1234.5),
    (" 1 234 ", 1234.0), ("1\u00a0234,5" .replace(",", "."), 1234.5), ("-7", -7.0), ("\u22127", -7.0),
    ("+3.", 3.0), (".5", 0.5), ("1e3", 1000.0), ("12,345,678", 12345678.0),
    (None, None), ("", None), ("  ", None), ("-", None), ("—", None), (float("nan"), None),
])
def test_parse_number(value, expected):
    assert parse_number(value) == expected


@pytest.mark.parametrize("value", ["12 kg", "5%", "1,234 บาท", "12tCO2e", "๑๒ ตัน"])
def test_parse_number_rejects_units(value):
    with pytest.raises(ThaiParseError, match="text after the number") as e:
        parse_number(value)
    assert "หน่วย" in e.value.args[1]  # Thai message available as args[1]


@pytest.mark.parametrize("value", ["abc", "1,23", "12,34.5", "1.2.3", "N/A", True, [1], float("inf")])
def test_parse_number_errors_are_clear(value):
    with pytest.raises(ValueError) as e:
        parse_number(value)
    assert str(e.value).startswith("Not a number")
    assert e.value.args[1].startswith("ไม่ใช่ตัวเลข")


# --------------------------------------------------------------------------- years

@pytest.mark.parametrize("value, expected", [
    (2566, 2023), (2567, 2024), (2024, 2024), (2400, 1857), (2399, 2399), ("๒๕๖๖", 2023), (" 2566 ", 2023),
    (2566.0, 2023), (67, 67),
])
def test_be_to_ce_year(value, expected):
    assert be_to_ce_year(value) == expected
    assert isinstance(be_to_ce_year(value), int)


@pytest.mark.parametrize("value", ["two thousand", 2566.5, -1, None, True])
def test_be_to_ce_year_errors(value):
    with pytest.raises(ValueError, match="Not a year"):
        be_to_ce_year(value)


# --------------------------------------------------------------------------- dates

MARCH_15 = dt.date(2024, 3, 15)


@pytest.mark.parametrize("value", [
    MARCH_15, dt.datetime(2024, 3, 15, 13, 45), 45366, 45366.75, Decimal("45366"),
    "2024-03-15", "2567-03-15", "2024-03-15 00:00:00", "2024-03-15T08:30:00", "2567/3/15",
    "15/03/2567", "15/3/2567", "15/3/67", "15-03-2567", "15.03.2024", "15/03/2024",
    "15 มี.ค. 2567", "15 มีนาคม 2567", "15 มี.ค. 67", "15 มีค 2567", "15 มี.ค.2567", "15มีนาคม2567",
    "๑๕ มี.ค. ๒๕๖๗", "๑๕/๐๓/๒๕๖๗", "15 มีนาคม พ.ศ. 2567", "วันที่ 15 มีนาคม 2567",
    "วันศุกร์ที่ 15 มีนาคม พ.ศ. ๒๕๖๗", "15 มีนาคม ค.ศ. 2024", "15 March 2024", "15 Mar 2024", "15-Mar-24",
])
def test_parse_thai_date(value):
    assert parse_thai_date(value) == MARCH_15


@pytest.mark.parametrize("value, expected", [
    ("มี.ค. 67", dt.date(2024, 3, 1)),         # month only -> first of the month
    ("มีนาคม 2567", dt.date(2024, 3, 1)),
    ("1 ม.ค. 00", dt.date(1957, 1, 1)),        # 2-digit years are B.E.: 00 -> 2500 -> 1957
    ("31 ธ.ค. 99", dt.date(2056, 12, 31)),
    ("1 ต.ค. ค.ศ. 24", dt.date(2024, 10, 1)),  # explicit CE: 2-digit year is 20yy
    ("1-Oct-24", dt.date(2024, 10, 1)),        # English month name: 2-digit year is CE too
    ("1 ต.ค. 24", dt.date(1981, 10, 1)),       # ...but not with a Thai month name (B.E. 2524)
    ("29/02/2567", dt.date(2024, 2, 29)),
    ("5 กรกฏาคม 2567", dt.date(2024, 7, 5)),   # common misspelling of กรกฎาคม
    ("1 พฤศจิกายน 2568", dt.date(2025, 11, 1)),
    ("1 พ.ย. 2568", dt.date(2025, 11, 1)),
    ("1 พ.ค. 2568", dt.date(2025, 5, 1)),
    (1, dt.date(1900, 1, 1)), (59, dt.date(1900, 2, 28)), (61, dt.date(1900, 3, 1)),
    (45292, dt.date(2024, 1, 1)),
])
def test_parse_thai_date_rules(value, expected):
    assert parse_thai_date(value) == expected


@pytest.mark.parametrize("value, fragment", [
    ("31/02/2567", "not a valid calendar date"),
    ("29/02/2566", "not a valid calendar date"),
    ("15 Foo 2567", "Unknown month name"),
    ("hello", "Use e.g."),
    ("", "empty"),
    (None, "missing"),
    (60, "does not exist"),
    (0, "1 or more"),
    (202403, "YYYYMM"),
    ("15/03", "Use e.g."),
])
def test_parse_thai_date_errors(value, fragment):
    with pytest.raises(ThaiParseError) as e:
        parse_thai_date(value)
    assert isinstance(e.value, ValueError)
    assert str(e.value).startswith("Not a date") and fragment in str(e.value)
    assert e.value.args[1].startswith("ไม่ใช่วันที่") and e.value.message_th == e.value.args[1]


# --------------------------------------------------------------------------- periods

@pytest.mark.parametrize("value", [
    "2024-03", "2567-03", "2024/3", "มี.ค. 2567", "มีนาคม 67", "มี.ค.67", "๐๓/๒๕๖๗", "03/2567", "3/67",
    "March 2024", "Mar 2024", "Mar-24", "มีนาคม พ.ศ. 2567", MARCH_15, dt.datetime(2024, 3, 31, 23, 59), 45366,
    "15/03/2567", "2024-03-15", "15 มี.ค. 2567",
])
def test_parse_period(value):
    assert parse_period(value) == "2024-03"


@pytest.mark.parametrize("value, fragment", [
    ("2024-13", "Month 13"), ("00/2567", "Month 0"), ("Foo 2567", "Unknown month name"), ("soon", "Use e.g."),
    (None, "missing"),
])
def test_parse_period_errors(value, fragment):
    with pytest.raises(ThaiParseError) as e:
        parse_period(value)
    assert str(e.value).startswith("Not a period") and fragment in str(e.value)
    assert e.value.args[1].startswith("ไม่ใช่งวดเดือน")


# --------------------------------------------------------------------------- provinces

@pytest.mark.parametrize("row", ALIASES, ids=lambda r: r["alias"])
def test_every_alias_resolves(row):
    assert normalize_province(row["alias"]) == row["province_code"]


def test_all_province_names_and_codes_resolve():
    for p in PROVINCES:
        code = p["province_code"]
        for name in (p["name_th"], p["name_en"], code, code.lower().replace("-", ""),
                     "จังหวัด" + p["name_th"], "จ." + p["name_th"], "จ. " + p["name_th"],
                     p["name_en"] + " Province", "Changwat " + p["name_en"], p["name_en"].upper(),
                     p["name_en"].replace(" ", "-"), p["name_en"].replace(" ", "")):
            assert normalize_province(name) == code, name


@pytest.mark.parametrize("name, code", [
    ("กทม.", "TH-10"), ("กทม", "TH-10"), ("กรุงเทพฯ", "TH-10"), ("กรุงเทพ", "TH-10"), ("กรุงเทพมหานคร", "TH-10"),
    ("Bangkok", "TH-10"), ("bangkok", "TH-10"), ("Krung Thep Maha Nakhon", "TH-10"), ("BKK", "TH-10"),
    ("Buri Ram", "TH-31"), ("Buriram", "TH-31"), ("Nong Khai", "TH-43"), ("Nongkhai", "TH-43"),
    ("Chon Buri", "TH-20"), ("Chonburi", "TH-20"), ("Phangnga", "TH-82"), ("Phang Nga", "TH-82"), ("Phang-nga", "TH-82"),
    ("Prachin Buri", "TH-25"), ("Prachinburi", "TH-25"), ("Ayutthaya", "TH-14"), ("อยุธยา", "TH-14"),
    ("Phra Nakhon Si Ayutthaya", "TH-14"), ("โคราช", "TH-30"), ("Korat", "TH-30"), ("Lopburi", "TH-16"),
    ("Ratchaburi", "TH-70"), ("  จังหวัด  เชียงใหม่ ", "TH-50"), ("Chiang Mai Province", "TH-50"),
    ("CHIANG-MAI", "TH-50"), ("Ubon Ratchathani", "TH-34"), ("Ubonratchathani", "TH-34"),
    ("Nakhon Si Thammarat", "TH-80"), ("Nakhonsithammarat", "TH-80"), ("Surat Thani", "TH-84"),
    ("Suratthani", "TH-84"), ("Sakon Nakhon", "TH-47"), ("Sakonnakhon", "TH-47"), ("Bueng Kan", "TH-38"),
])
def test_normalize_province_examples(name, code):
    assert normalize_province(name) == code


@pytest.mark.parametrize("name", ["Pattaya", "เมืองพัทยา", "TH-S", "Atlantis", "", "จังหวัด", "   ", None, 10, float("nan")])
def test_normalize_province_unknown(name):
    assert normalize_province(name) is None


def test_province_key():
    assert province_key("จ. เชียงใหม่") == "เชียงใหม่"
    assert province_key("Changwat Chiang-Mai Province") == "chiangmai"
    assert province_key("กทม.") == "กทม"


def test_custom_aliases_and_ambiguity():
    assert normalize_province("Foo Buri", {"Foo Buri": "TH-99"}) == "TH-99"
    assert normalize_province("Bangkok", {"Foo Buri": "TH-99"}) is None
    with pytest.raises(ValueError, match="Ambiguous"):
        normalize_province("x", {"Foo Buri": "TH-98", "FooBuri": "TH-99"})


def test_default_alias_table_is_loaded_once():
    thai._default_index.cache_clear()
    normalize_province("Bangkok")
    normalize_province("Chiang Mai")
    assert thai._default_index.cache_info().misses == 1


# --------------------------------------------------------------------------- seed consistency

SEED_FILES = sorted(p.name for p in SEEDS.glob("*.csv"))
MY_SEEDS = ["provinces.csv", "special_admin_areas.csv", "province_aliases.csv", "partner_types.csv",
            "ace_elements.csv", "ipcc_sectors.csv", "targets.csv", "national_inventory.csv", "emission_factors.csv"]


def test_seed_files_present():
    assert set(MY_SEEDS) <= set(SEED_FILES)


@pytest.mark.parametrize("name", MY_SEEDS)
def test_seed_has_source_notes_and_version(name):
    rows = read_seed(name)
    assert rows, name
    cols = rows[0].keys()
    assert {"source", "source_note"} <= cols
    assert "version" in cols or {"valid_from", "valid_to"} <= cols
    for r in rows:
        assert r["source"].strip() and r["source_note"].strip(), (name, r)
        assert all(v is not None for v in r.values()), (name, r)  # no short rows


def test_provinces():
    assert len(PROVINCES) == 77
    codes = [p["province_code"] for p in PROVINCES]
    assert len(set(codes)) == 77 and set(codes) == EXPECTED_CODES
    assert len({p["name_th"] for p in PROVINCES}) == 77
    assert len({p["name_en"] for p in PROVINCES}) == 77
    regions = {}
    for p in PROVINCES:
        regions.setdefault(p["region"], set()).add((p["region_th"], p["region_en"]))
    assert all(len(v) == 1 for v in regions.values())  # one TH/EN label per region code
    counts = {r: sum(p["region"] == r for p in PROVINCES) for r in regions}
    assert counts == {"north": 9, "northeast": 20, "central": 22, "east": 7, "west": 5, "south": 14}
    tiles = {(int(p["grid_row"]), int(p["grid_col"])) for p in PROVINCES}
    assert len(tiles) == 77  # no two provinces on one tile
    by_code = {p["province_code"]: p for p in PROVINCES}
    assert by_code["TH-10"]["name_th"] == "กรุงเทพมหานคร"
    assert by_code["TH-96"]["name_en"] == "Narathiwat"
    # north at the top, deep south at the bottom
    assert int(by_code["TH-57"]["grid_row"]) == min(r for r, _ in tiles)
    assert int(by_code["TH-96"]["grid_row"]) == max(r for r, _ in tiles)


def test_special_admin_areas():
    rows = read_seed("special_admin_areas.csv")
    assert [r["area_code"] for r in rows] == ["TH-S"]
    assert rows[0]["parent_province_code"] == "TH-20"
    assert "TH-S" not in {p["province_code"] for p in PROVINCES}
    assert rows[0]["area_type"] in {r["code"] for r in read_seed("partner_types.csv")}


def test_aliases_point_to_real_provinces_and_are_unambiguous():
    codes = {p["province_code"] for p in PROVINCES}
    assert all(a["province_code"] in codes for a in ALIASES)
    assert len({a["alias"] for a in ALIASES}) == len(ALIASES)
    index = thai._index(thai.load_province_aliases())  # raises on a key shared by two provinces
    assert set(index.values()) == codes
    for p in PROVINCES:
        kinds = {(a["alias"], a["alias_kind"]) for a in ALIASES if a["province_code"] == p["province_code"]}
        assert (p["name_th"], "official_th") in kinds and (p["name_en"], "official_en") in kinds


# ISO 3166-2:TH English names (the romanisation ISO publishes; TH-10 is "Krung Thep Maha Nakhon [Bangkok]", and the
# bracketed conventional name is the label). A spelling outside this list is a drift from the standard.
ISO_3166_2_TH_EN = {
    "TH-10": "Bangkok", "TH-11": "Samut Prakan", "TH-12": "Nonthaburi", "TH-13": "Pathum Thani",
    "TH-14": "Phra Nakhon Si Ayutthaya", "TH-15": "Ang Thong", "TH-16": "Lop Buri", "TH-17": "Sing Buri",
    "TH-18": "Chai Nat", "TH-19": "Saraburi", "TH-20": "Chon Buri", "TH-21": "Rayong", "TH-22": "Chanthaburi",
    "TH-23": "Trat", "TH-24": "Chachoengsao", "TH-25": "Prachin Buri", "TH-26": "Nakhon Nayok", "TH-27": "Sa Kaeo",
    "TH-30": "Nakhon Ratchasima", "TH-31": "Buri Ram", "TH-32": "Surin", "TH-33": "Si Sa Ket",
    "TH-34": "Ubon Ratchathani", "TH-35": "Yasothon", "TH-36": "Chaiyaphum", "TH-37": "Amnat Charoen",
    "TH-38": "Bueng Kan", "TH-39": "Nong Bua Lam Phu", "TH-40": "Khon Kaen", "TH-41": "Udon Thani", "TH-42": "Loei",
    "TH-43": "Nong Khai", "TH-44": "Maha Sarakham", "TH-45": "Roi Et", "TH-46": "Kalasin", "TH-47": "Sakon Nakhon",
    "TH-48": "Nakhon Phanom", "TH-49": "Mukdahan", "TH-50": "Chiang Mai", "TH-51": "Lamphun", "TH-52": "Lampang",
    "TH-53": "Uttaradit", "TH-54": "Phrae", "TH-55": "Nan", "TH-56": "Phayao", "TH-57": "Chiang Rai",
    "TH-58": "Mae Hong Son", "TH-60": "Nakhon Sawan", "TH-61": "Uthai Thani", "TH-62": "Kamphaeng Phet", "TH-63": "Tak",
    "TH-64": "Sukhothai", "TH-65": "Phitsanulok", "TH-66": "Phichit", "TH-67": "Phetchabun", "TH-70": "Ratchaburi",
    "TH-71": "Kanchanaburi", "TH-72": "Suphan Buri", "TH-73": "Nakhon Pathom", "TH-74": "Samut Sakhon",
    "TH-75": "Samut Songkhram", "TH-76": "Phetchaburi", "TH-77": "Prachuap Khiri Khan", "TH-80": "Nakhon Si Thammarat",
    "TH-81": "Krabi", "TH-82": "Phangnga", "TH-83": "Phuket", "TH-84": "Surat Thani", "TH-85": "Ranong",
    "TH-86": "Chumphon", "TH-90": "Songkhla", "TH-91": "Satun", "TH-92": "Trang", "TH-93": "Phatthalung",
    "TH-94": "Pattani", "TH-95": "Yala", "TH-96": "Narathiwat",
}


def test_english_province_names_follow_iso_3166_2_th():
    assert {p["province_code"]: p["name_en"] for p in PROVINCES} == ISO_3166_2_TH_EN
    bangkok = {a["alias"]: a["alias_kind"] for a in ALIASES if a["province_code"] == "TH-10"}
    assert bangkok["Bangkok"] == "official_en" and bangkok["Krung Thep Maha Nakhon"] == "iso_romanisation"
    assert thai.normalize_province("Krung Thep Maha Nakhon") == "TH-10"
    assert "[Bangkok]" in next(p["source_note"] for p in PROVINCES if p["province_code"] == "TH-10")


def test_partner_types_and_ace_and_sectors():
    pt = {r["code"]: r for r in read_seed("partner_types.csv")}
    assert set(pt) == {"pao", "municipality", "sao", "special_lg", "business", "tourism", "agriculture",
                       "education", "civil_society", "government_agency"}
    assert {c for c, r in pt.items() if r["is_local_government"] == "true"} == {"pao", "municipality", "sao", "special_lg"}
    ace = [r["element_code"] for r in read_seed("ace_elements.csv")]
    assert ace == ["education", "training", "public_awareness", "public_participation",
                   "public_access_to_information", "international_cooperation"]
    sectors = {r["sector_code"]: r for r in read_seed("ipcc_sectors.csv")}
    assert {c for c, r in sectors.items() if not r["parent_sector_code"]} == {"energy", "ippu", "agriculture", "lulucf", "waste"}
    assert all(r["parent_sector_code"] in sectors for r in sectors.values() if r["parent_sector_code"])


def _d(s: str) -> dt.date | None:
    return dt.date.fromisoformat(s) if s else None


def test_targets_registry():
    t = {r["target_id"]: r for r in read_seed("targets.csv")}
    assert {"updated_ndc_2020_unconditional", "updated_ndc_2020_conditional", "ndc2_unconditional", "ndc2_conditional",
            "lt_leds_peak_2025", "lt_leds_carbon_neutrality_2050", "lt_leds_net_zero_2065", "ndc3",
            "ndc3_net_zero_2050"} == set(t)
    for r in t.values():
        assert r["basis"] in {"", "bau_relative", "absolute_net"}
        assert r["gwp_set"] in {"", "AR4", "AR5"}
        if r["superseded_by"]:
            nxt = t[r["superseded_by"]]
            assert _d(r["valid_to"]) == _d(nxt["valid_from"]) - dt.timedelta(days=1), r["target_id"]
        else:
            assert not r["valid_to"], r["target_id"]
    assert t["ndc2_unconditional"]["valid_from"] == "2022-11-02"
    assert t["ndc2_unconditional"]["valid_to"] == "2025-11-03"
    assert t["ndc3"]["valid_from"] == "2025-11-04"
    assert math.isclose(float(t["ndc2_unconditional"]["target_value_mtco2e"]), 555 * (1 - 0.30))
    assert "555" in t["ndc2_unconditional"]["source_note"] and "389" in t["ndc2_unconditional"]["source_note"]
    assert math.isclose(float(t["ndc2_conditional"]["target_value_mtco2e"]), 333)
    n3 = t["ndc3"]
    assert (n3["basis"], n3["includes_lulucf"], n3["gwp_set"]) == ("absolute_net", "true", "AR5")
    assert (float(n3["target_value_mtco2e"]), n3["target_year"], float(n3["reference_value_mtco2e"]), n3["reference_year"]) == \
        (152.0, "2035", 287.2, "2019")
    for k in ("ndc2_unconditional", "ndc2_conditional", "updated_ndc_2020_unconditional"):
        assert (t[k]["basis"], t[k]["includes_lulucf"], t[k]["gwp_set"]) == ("bau_relative", "false", "AR4")


def test_national_inventory_holds_only_the_sourced_figures():
    rows = read_seed("national_inventory.csv")
    got = {(r["source"], int(r["year"]), r["scope"]): float(r["value_mtco2e"]) for r in rows}
    assert got == {
        ("BTR1", 2019, "gross_excl_lulucf"): 379.2, ("BTR1", 2019, "net_incl_lulucf"): 287.2,
        ("BTR1", 2022, "gross_excl_lulucf"): 385.94114, ("BTR1", 2022, "net_incl_lulucf"): 278.03973,
        ("CAIT", 2019, "gross_excl_lulucf"): 422.09, ("EDGAR", 2023, "gross_excl_lulucf"): 447.0,
        ("EPPO", 2022, "energy_co2"): 247.7,
    }
    assert len({r["observation_id"] for r in rows}) == len(rows)


def test_emission_factors_effective_dating():
    ef = read_seed("emission_factors.csv")
    by_id = {r["factor_id"]: r for r in ef}
    assert len(by_id) == len(ef)
    grid2 = [r for r in ef if r["activity"] == "electricity_grid" and r["scope"] == "scope_2"]

    def in_force(day: dt.date) -> list[str]:
        return [r["kgco2e_per_unit"] for r in grid2
                if (_d(r["valid_from"]) or dt.date.min) <= day <= (_d(r["valid_to"]) or dt.date.max)]

    assert in_force(dt.date(2025, 12, 31)) == ["0.4999"]
    assert in_force(dt.date(2026, 1, 1)) == ["0.4750"]
    prev = next(r for r in grid2 if r["kgco2e_per_unit"] == "0.4999")
    assert (prev["valid_to"], prev["allowed_until"]) == ("2025-12-31", "2026-03-31")
    assert "unverified" in prev["source_note"]
    assert any(r["kgco2e_per_unit"] == "0.0812" and r["scope"] == "scope_3" for r in ef)
    for r in ef:
        if r["source"].startswith("IPCC"):
            assert "IPCC 2006 default-derived, unverified for Thailand" in r["source_note"]


def test_seeds_yml_documents_every_seed_and_column():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((SEEDS / "_seeds.yml").read_text(encoding="utf-8"))
    seeds = {s["name"]: s for s in doc["seeds"]}
    for name in MY_SEEDS:
        seed = seeds[name.removesuffix(".csv")]
        assert seed.get("description"), name
        with open(SEEDS / name, encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        documented = [c["name"] for c in seed["columns"]]
        assert documented == header, name
        assert all(c.get("description") for c in seed["columns"]), name
        assert set(seed["config"]["column_types"]) == set(header), name
        for col in seed["columns"]:  # dbt 1.11 syntax: arguments nested under `arguments`
            for test in col.get("data_tests", []):
                if isinstance(test, dict):
                    (args,) = test.values()
                    assert set(args) <= {"arguments", "config"}, (name, col["name"], test)


# --------------------------------------------------------------------------- ingestion additions (issue 3)

@pytest.mark.parametrize("value, expected", [
    ("5,000 บาท", (5000.0, "บาท")), ("๑๒๐ คน", (120.0, "คน")), (12.5, (12.5, "")), ("1 234", (1234.0, "")),
    ("0.5 ล้านบาท", (0.5, "ล้านบาท")), ("-", (None, "")), ("12kg", (12.0, "kg")),
])
def test_parse_quantity(value, expected):
    assert thai.parse_quantity(value) == expected


@pytest.mark.parametrize("value", ["บาท", "abc", "1,2,3 บาท", None and "x"])
def test_parse_quantity_errors(value):
    if value is None:
        return
    with pytest.raises(ThaiParseError):
        thai.parse_quantity(value)


def test_be_year_in_a_date_cell_becomes_ce():
    # Thai-locale Excel stores "15/03/2567" typed into a date cell as the year 2567
    assert parse_thai_date(dt.date(2567, 3, 15)) == MARCH_15
    assert parse_thai_date(dt.datetime(2567, 3, 15, 9, 30)) == MARCH_15
    assert parse_period(dt.date(2567, 3, 1)) == "2024-03"
    assert parse_thai_date((dt.date(2567, 3, 15) - dt.date(1899, 12, 30)).days) == MARCH_15   # its serial
    with pytest.raises(ThaiParseError, match="does not exist"):
        parse_thai_date(dt.date(2568, 2, 29))                              # CE 2025 has no 29 February
    with pytest.raises(ThaiParseError, match="YYYYMM"):
        parse_thai_date(209912)                                            # codes below the B.E. window stay errors
