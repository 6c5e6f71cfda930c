"""Net Zero reference data and project wiring, checked without a warehouse (fast).

The seeds behind the targets registry, the national series and the GHG programmes agree with
shared/domain-facts.md; every net-zero model is documented and tested; the SAMPLE data's deliberate double
claims are where the monitor's guide says they are.
"""
import csv
import math
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DBT = REPO / "dbt_project"
SEEDS = DBT / "seeds"
DOMAIN_FACTS = REPO.parent / "shared" / "domain-facts.md"

NETZERO_MODELS = {
    "stg_registry__partners", "stg_partner_reports__activities", "stg_partner_reports__ghg_reductions",
    "stg_registry__partner_inventories", "int_ghg__reductions_converted", "int_ghg__claims_deduplicated",
    "int_partners__families", "int_targets__trajectories", "dim_partner_versions", "dim_provinces", "dim_targets",
    "fct_activities", "fct_ghg_reductions", "mart_partner_progress", "mart_national_progress",
    "mart_province_summary", "mart_sector_progress", "mart_ace_indicators", "mart_best_practices",
}


def read_seed(name):
    with open(SEEDS / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def trajectory(t: dict, year: int) -> float:
    """The documented formula: start + (target - start) x (y - start_year) / (target_year - start_year)."""
    y0, v0 = int(t["path_start_year"]), float(t["path_start_value_mtco2e"])
    y1, v1 = int(t["target_year"]), float(t["target_value_mtco2e"])
    return v0 + (v1 - v0) * (year - y0) / (y1 - y0)


def test_every_target_has_source_validity_and_a_documented_path_start():
    targets = {r["target_id"]: r for r in read_seed("targets.csv")}
    inventory = {(r["series_id"], int(r["year"])): float(r["value_mtco2e"]) for r in read_seed("national_inventory.csv")}
    for tid, t in targets.items():
        assert t["source"] and t["source_ref"] and t["source_note"] and t["valid_from"], tid
        assert t["path_start_note"], tid
        has_level = bool(t["target_value_mtco2e"])
        if t["path_start_year"]:
            assert has_level and int(t["path_start_year"]) < int(t["target_year"]), tid
    # where the start points come from (domain-facts: BTR1 2019 gross 379.2, net 287.2; NDC 3.0 152 in 2035)
    for tid in ("ndc2_unconditional", "ndc2_conditional", "updated_ndc_2020_unconditional", "updated_ndc_2020_conditional"):
        assert float(targets[tid]["path_start_value_mtco2e"]) == inventory[("btr1_gross_excl_lulucf", 2019)]
        assert "project" in targets[tid]["path_start_note"].lower()          # a project choice, said so
    assert float(targets["ndc3"]["path_start_value_mtco2e"]) == inventory[("btr1_net_incl_lulucf", 2019)] == 287.2
    nz = targets["ndc3_net_zero_2050"]
    assert (int(nz["path_start_year"]), float(nz["path_start_value_mtco2e"])) == (2035, 152.0)
    assert not targets["lt_leds_peak_2025"]["path_start_year"]               # a peak states no level
    assert not targets["lt_leds_carbon_neutrality_2050"]["path_start_year"]


def test_trajectory_formula_hits_both_ends_and_the_published_conversions():
    targets = {r["target_id"]: r for r in read_seed("targets.csv")}
    n3 = targets["ndc3"]
    assert trajectory(n3, 2019) == pytest.approx(287.2)
    assert trajectory(n3, 2035) == pytest.approx(152.0)
    assert trajectory(n3, 2027) == pytest.approx(287.2 - (287.2 - 152) * 8 / 16)
    assert 152 / 287.2 == pytest.approx(1 - 0.47, abs=0.001)                # "47% below 2019 net"
    assert trajectory(targets["ndc2_unconditional"], 2030) == pytest.approx(555 * 0.7)   # 388.5 (CAT: ~389)
    assert trajectory(targets["ndc2_conditional"], 2030) == pytest.approx(333)
    assert 555 - 333 == 222                                                  # "40% ~ 222 Mt reduction"


def test_supplementary_national_figures_match_domain_facts():
    sup = {r["observation_id"]: r for r in read_seed("national_inventory_supplementary.csv")}
    assert float(sup["btr1_reductions_vs_bau_2021"]["value_mtco2e"]) == 60.33
    assert float(sup["btr1_reductions_vs_bau_2022"]["value_mtco2e"]) == 65.23
    split = [float(r["value_mtco2e"]) for r in sup.values() if r["series_id"].startswith("eppo_energy_co2_")]
    eppo_total = next(float(r["value_mtco2e"]) for r in read_seed("national_inventory.csv")
                      if r["series_id"] == "eppo_energy_co2")
    assert len(split) == 4 and math.isclose(sum(split), eppo_total)          # 79.6 + 87.9 + 66.5 + 13.7 = 247.7
    sectors = {r["sector_code"] for r in read_seed("ipcc_sectors.csv")}
    for r in sup.values():
        assert r["source"] and r["source_ref"] and r["source_note"] and r["version"]
        assert not r["sector_code"] or r["sector_code"] in sectors
        if r["sector_code"]:
            assert "unverified" in r["source_note"]                        # the EPPO -> IPCC mapping is ours
    if DOMAIN_FACTS.exists():
        facts = DOMAIN_FACTS.read_text(encoding="utf-8")
        for figure in ("60.33", "65.23", "79.6", "87.9", "66.5", "13.7"):
            assert figure in facts


def test_ghg_programmes_cover_every_contract_method_and_rank_tver_first():
    yaml = pytest.importorskip("yaml")
    contract = yaml.safe_load((REPO / "sources" / "contracts" / "ghg_reductions.yml").read_text(encoding="utf-8"))
    methods = set(next(c for c in contract["columns"] if c["name"] == "method")["allowed"])
    prog = {r["programme_code"]: r for r in read_seed("ghg_programmes.csv")}
    assert methods <= set(prog)
    rank = {k: int(v["dedup_priority"]) for k, v in prog.items()}
    assert rank["premium_t_ver"] < rank["t_ver"] < rank["less"] < rank["self_estimate"]
    assert len(set(rank.values())) == len(rank)
    assert prog["t_ver"]["tradable_credits"] == "true" and prog["less"]["tradable_credits"] == "false"
    for r in prog.values():
        assert r["source"] and r["source_note"] and r["version"]


def test_new_seeds_are_documented_column_by_column():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((SEEDS / "_seeds.yml").read_text(encoding="utf-8"))
    seeds = {s["name"]: s for s in doc["seeds"]}
    for name in ("ghg_programmes", "national_inventory_supplementary", "targets"):
        with open(SEEDS / f"{name}.csv", encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        seed = seeds[name]
        assert [c["name"] for c in seed["columns"]] == header, name
        assert set(seed["config"]["column_types"]) == set(header), name
        assert all(c.get("description") for c in seed["columns"]), name


def _yaml_models():
    yaml = pytest.importorskip("yaml")
    models = {}
    for path in (DBT / "models").rglob("*.yml"):
        for m in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            models[m["name"]] = m
    return models


def test_every_netzero_model_exists_is_documented_and_tested():
    models = _yaml_models()
    sql = {p.stem for p in (DBT / "models").rglob("*.sql")}
    for name in NETZERO_MODELS:
        assert name in sql, name
        m = models.get(name)
        assert m and m.get("description"), f"{name}: no YAML description"
        tests = list(m.get("data_tests", [])) + [t for c in m.get("columns", []) for t in c.get("data_tests", [])]
        assert tests, f"{name}: no dbt test"
    singular = {p.stem for p in (DBT / "tests").glob("*.sql")}
    assert {"assert_target_paths_follow_formula", "assert_national_counts_each_reduction_once",
            "assert_rollups_reconcile_with_facts", "assert_each_claim_group_counted_once"} <= singular


def test_snapshot_lives_in_the_persistent_history_database():
    yaml = pytest.importorskip("yaml")
    profile = yaml.safe_load((DBT / "profiles.yml").read_text(encoding="utf-8"))
    attach = profile["phakhi"]["outputs"]["local"]["attach"]
    assert [a["alias"] for a in attach] == ["history"] and "PHAKHI_HISTORY" in attach[0]["path"]
    snap = yaml.safe_load((DBT / "snapshots" / "dim_partners.yml").read_text(encoding="utf-8"))["snapshots"][0]
    assert snap["name"] == "dim_partners" and snap["config"]["database"] == "history"
    assert snap["config"]["unique_key"] == "partner_id"

    from phakhi.settings import Paths
    from phakhi.transform import dbt_env

    paths = Paths(Path("/tmp/phakhi-home"))
    env = dbt_env(paths)
    assert env["PHAKHI_HISTORY"] == str(paths.history_db) == "/tmp/phakhi-home/warehouse/history.duckdb"
    assert env["PHAKHI_WAREHOUSE"] == str(paths.build_db)   # rebuilt each refresh: not where history lives


def test_incremental_facts_have_a_full_refresh_path():
    # the shared header and filter live in one macro file (macros/phakhi_incremental.sql); each fact calls them
    macros = (DBT / "macros" / "phakhi_incremental.sql").read_text(encoding="utf-8")
    assert "materialized='incremental'" in macros and "is_incremental()" in macros
    assert "phakhi_delete_vanished" in macros
    for name in ("fct_ghg_reductions", "fct_activities"):
        text = next((DBT / "models").rglob(f"{name}.sql")).read_text(encoding="utf-8")
        assert "phakhi_incremental_fact(" in text and "phakhi_changed_rows(" in text, name
        assert "phakhi_row_hash" in text and "config(" not in text, name


def test_sample_double_claims_copy_the_original_claim():
    from phakhi.sample import SAMPLE_DOUBLE_CLAIMS, SAMPLE_PARENTS, double_claims

    rows = [["P019", "P019-G1", "เกษตร", "ธ.ค. 2568", "51.80", "", "", "LESS", "LESS-P019-2567", "ทวนสอบแล้ว"],
            ["P022", "P022-G1", "เกษตร", "ธ.ค. 2568", "68.82", "", "", "LESS", "LESS-P022-2567", "ทวนสอบแล้ว"],
            ["P036", "P036-G1", "พลังงาน", "ธ.ค. 2568", "", "37,000", "กิโลวัตต์ชั่วโมง", "T-VER", "T-VER-P036-2567",
             "ทวนสอบแล้ว"]]
    dups = {r[0]: r for r in double_claims("2025-12", rows)}
    assert set(dups) == {"P001", "P004"}                         # P040's copies are in September/October only
    assert dups["P001"][1:] == rows[0][1:]                       # same project, same credential: the child's claim
    assert dups["P004"][1] == "P022-G1" and dups["P004"][7:9] == ["T-VER", "T-VER-P022-2567"]
    assert double_claims("2025-01", rows) == []
    # two double claims come from a parent re-claiming its child's project, one from an unrelated partner
    family = [(claimant, original) for claimant, original, *_ in SAMPLE_DOUBLE_CLAIMS
              if SAMPLE_PARENTS.get(original) == claimant]
    assert family == [("P001", "P019"), ("P004", "P022")]
    assert all(re.fullmatch(r"P\d{3}", p) for p in [*SAMPLE_PARENTS, *SAMPLE_PARENTS.values()])
