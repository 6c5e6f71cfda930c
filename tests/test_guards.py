"""Each guard one job (expectations/README.md): contracts judge rows at ingestion, dbt tests own keys,
relationships and reconciliations, great-expectations owns plausibility, distributions, `mostly` and severity.
These tests fail when a check lands in a second guard, or when a code list drifts from its seed."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DBT = REPO / "dbt_project"

# GX expectation -> the dbt tests that already say the same thing about a column (or a table)
SAME_AS_DBT = {
    "expect_column_values_to_be_unique": {"unique"},
    "expect_column_values_to_not_be_null": {"not_null"},
    "expect_column_values_to_be_in_set": {"accepted_values", "relationships"},
    "expect_column_values_to_be_between": {"phakhi_between"},
    "expect_compound_columns_to_be_unique": {"phakhi_unique_combination"},
    "expect_table_row_count_to_equal": {"row_count"},
    "expect_table_row_count_to_be_between": {"row_count"},
}


def _test_name(t) -> str:
    return t if isinstance(t, str) else next(iter(t))


def column_checks(test) -> dict[str, list[str]]:
    """A phakhi_columns test (dbt_project/tests/generic/phakhi_columns.sql) as check -> the columns it guards."""
    if _test_name(test) != "phakhi_columns":
        return {}
    args = test["phakhi_columns"]["arguments"]
    return {**{check: list(args.get(check) or []) for check in ("not_null", "unique", "accepted_values")},
            "relationships": [r["column"] for r in args.get("relationships") or []],
            "phakhi_between": list(args.get("between") or [])}


def dbt_tests() -> dict[tuple[str, str | None], set[str]]:
    """(model, column or None for model-level) -> names of the dbt generic tests on it."""
    out: dict[tuple[str, str | None], set[str]] = {}
    for path in (DBT / "models").rglob("*.yml"):
        for m in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            out.setdefault((m["name"], None), set()).update(_test_name(t) for t in m.get("data_tests") or [])
            for c in m.get("columns") or []:
                out.setdefault((m["name"], c["name"]), set()).update(_test_name(t) for t in c.get("data_tests") or [])
            for t in m.get("data_tests") or []:          # one test for a model's column checks: each on its columns
                for check, columns in column_checks(t).items():
                    for column in columns:
                        out.setdefault((m["name"], column), set()).add(check)
                if _test_name(t) == "phakhi_columns" and t["phakhi_columns"]["arguments"].get("unique_combination"):
                    out[(m["name"], None)].add("phakhi_unique_combination")     # its keys: a model-level check
                if _test_name(t) == "phakhi_columns" and t["phakhi_columns"]["arguments"].get("row_count"):
                    out[(m["name"], None)].add("row_count")                     # its row count bounds: the same
    return out


def suites() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((REPO / "expectations").glob("*.json"))]


def test_no_gx_expectation_repeats_a_dbt_test():
    tests, repeats = dbt_tests(), []
    for s in suites():
        if not s.get("table"):
            continue                                   # a query suite checks a shape no dbt model has
        model = s["table"].split(".")[-1]
        for e in s["expectations"]:
            k = e["kwargs"]
            if "mostly" in k or "row_condition" in k or e["severity"] == "warning":
                continue                               # what dbt cannot say well: GX's own job
            column = k.get("column")
            if set(SAME_AS_DBT.get(e["type"], ())) & tests.get((model, column), set()):
                repeats.append(f"{s['name']}: {e['type']} {column or ''}")
    assert not repeats, "checks that dbt already owns: " + "; ".join(repeats)


def test_reconciliations_and_windows_belong_to_dbt():
    for s in suites():
        assert not s["name"].startswith("reconcile_"), f"{s['name']}: reconciliations are dbt singular tests"
        q = (s.get("query") or "").lower()
        assert "interval" not in q and "max(period)" not in q, \
            f"{s['name']}: the 12-month window comes from the phakhi_period macro, not from a suite"
    singular = {p.stem for p in (DBT / "tests").glob("assert_*.sql")}
    assert {"assert_rollups_reconcile_with_facts", "assert_national_counts_each_reduction_once",
            "assert_national_series_never_mix_kinds", "assert_ace_grid_is_complete"} <= singular
    for name in ("assert_rollups_reconcile_with_facts", "assert_ace_grid_is_complete"):
        assert "phakhi_period()" in (DBT / "tests" / f"{name}.sql").read_text(encoding="utf-8")


def _seed_codes(seed: str, column: str) -> set[str]:
    with (DBT / "seeds" / f"{seed}.csv").open(encoding="utf-8") as fh:
        return {row[column] for row in csv.DictReader(fh)}


def _contract_column(contract: str, column: str) -> dict:
    data = yaml.safe_load((REPO / "sources" / "contracts" / f"{contract}.yml").read_text(encoding="utf-8"))
    return next(c for c in data["columns"] if c["name"] == column)


def test_contract_code_lists_are_drawn_from_their_seeds():
    for contract, column, seed, code in [("activity_reports", "ace_element", "ace_elements", "element_code"),
                                         ("ghg_reductions", "sector", "ipcc_sectors", "sector_code"),
                                         ("ghg_reductions", "method", "ghg_programmes", "programme_code"),
                                         ("partner_registry", "partner_type", "partner_types", "code")]:
        allowed = set(_contract_column(contract, column)["allowed"])
        assert allowed <= _seed_codes(seed, code), f"{contract}.{column} has codes seed {seed} does not hold"


def test_row_checks_taken_out_of_the_gate_are_held_by_the_contracts():
    """The GX row checks deleted from the staging suites: the contract must still quarantine those rows."""
    assert _contract_column("partner_registry", "partner_id")["pattern"] == "^P[0-9]{3,5}$"
    assert _contract_column("partner_registry", "province_code")["type"] == "province"
    assert (_contract_column("partner_registry", "reduction_pct")["min"],
            _contract_column("partner_registry", "reduction_pct")["max"]) == (0, 100)
    assert _contract_column("partner_registry", "baseline_tco2e")["type"] == "number"
    registry = yaml.safe_load((REPO / "sources" / "contracts" / "partner_registry.yml").read_text(encoding="utf-8"))
    assert "target_after_base" in {c["rule"] for c in registry["checks"]}
    assert _contract_column("activity_reports", "period")["type"] == "period"
    for column in ("reduction_tco2e", "activity_amount"):
        assert _contract_column("ghg_reductions", column)["min"] == 0
    assert _contract_column("survey_waves", "weight")["min"] > 0
    assert all(_contract_column("survey_waves", c)["required"] for c in ("stratum", "psu"))
    age = _contract_column("survey_waves", "age")
    assert (age["min"], age["max"]) == (15, 110)


def test_the_gate_readme_names_every_suite():
    readme = (REPO / "expectations" / "README.md").read_text(encoding="utf-8")
    for s in suites():
        assert f"`{s['name']}`" in readme, f"expectations/README.md does not say what {s['name']} owns"


# The publish pages are being rewritten over the dbt presentation layer (issue 11, item 1); until that lands
# they keep their own copies. Remove an entry when its copy is gone.
VOCABULARY_PENDING: set[str] = set()


def test_thai_months_and_digits_live_only_in_thai_py():
    """One bilingual vocabulary: Thai month names and the Thai-digit table are defined in phakhi/thai.py only."""
    markers = ("มกราคม", "ม.ค.", "๐๑๒")
    found = []
    for p in sorted((REPO / "phakhi").rglob("*.py")) + sorted((REPO / "flows").rglob("*.py")):
        rel = p.relative_to(REPO).as_posix()
        if rel in ("phakhi/thai.py", *VOCABULARY_PENDING):
            continue
        text = p.read_text(encoding="utf-8")
        found += [f"{rel}: {m}" for m in markers if m in text]
    assert not found, found


def test_awareness_labels_come_from_their_seed():
    from phakhi.survey import awareness

    with (DBT / "seeds" / "awareness_labels.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    seed = {(r["kind"], r["code"]): (r["label_th"], r["label_en"]) for r in rows}
    for kind, table in (("measure", awareness.MEASURE_LABELS), ("domain", awareness.DOMAIN_LABELS),
                        ("domain_value", awareness.VALUE_LABELS)):
        assert {(kind, c): v for c, v in table.items()} == {k: v for k, v in seed.items() if k[0] == kind}
    assert set(awareness.MEASURES) == {c for k, c in seed if k == "measure"}
    assert set(awareness.DOMAINS) == {c for k, c in seed if k == "domain"}
