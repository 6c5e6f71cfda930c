"""One column-checks test per model (dbt_project/tests/generic/phakhi_columns.sql) fails on the same rows as the
single-column not_null, unique and accepted_values tests and the multi-column phakhi_unique_combination tests it
replaced, and says which check, column and values.
The declarations name documented columns (tests/test_guards.py reads them as each check on each column)."""
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

DBT = Path(__file__).resolve().parents[1] / "dbt_project"
CHECKS = ("not_null", "unique", "accepted_values", "relationships", "between", "unique_combination")
# the row expressions, reconciliations and row count bounds of a model, folded into the same test (issue 17: one
# node, not one each)
FOLDED = ("expressions", "sums", "row_count")
# how a model's checks may be scoped to the changed months (phakhi/selection.py:scoped_nodes), not a check
SCOPE = ("scope_column",)
# every phakhi_unique_combination key the models and seeds declared before they joined phakhi_columns (issue 17)
UNIQUE_COMBINATIONS = {
    ("int_survey__item_scores", ("wave", "respondent_id", "item_code")),
    ("int_survey__respondent_weights", ("wave", "respondent_id")),
    ("int_survey__respondent_scores", ("wave", "respondent_id")),
}


def declared() -> dict[str, dict]:
    """model/seed -> check -> columns (accepted_values: column -> values), from every phakhi_columns declaration."""
    out = {}
    for path in [*DBT.glob("models/**/*.yml"), *DBT.glob("seeds/*.yml"), *DBT.glob("snapshots/*.yml")]:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in [*(doc.get("models") or []), *(doc.get("seeds") or []), *(doc.get("snapshots") or [])]:
            for t in entry.get("data_tests") or []:
                if isinstance(t, dict) and "phakhi_columns" in t:
                    assert entry["name"] not in out, f"{entry['name']}: one phakhi_columns test per model"
                    assert t["phakhi_columns"]["name"] == f"columns_{entry['name']}"
                    args = t["phakhi_columns"]["arguments"]
                    assert set(args) <= set(CHECKS) | set(FOLDED) | set(SCOPE), args
                    out[entry["name"]] = {"not_null": list(args.get("not_null") or []),
                                          "unique": list(args.get("unique") or []),
                                          "accepted_values": dict(args.get("accepted_values") or {}),
                                          "relationships": list(args.get("relationships") or []),
                                          "between": dict(args.get("between") or {}),
                                          "unique_combination": [list(k) for k in args.get("unique_combination") or []]}
            columns = {c["name"] for c in entry.get("columns") or []}
            for check, cols in out.get(entry["name"], {}).items():      # names real, documented columns
                if check == "unique_combination":
                    continue             # keys (wave, respondent_id, ...) need not each be documented
                cols = {r["column"] for r in cols} if check == "relationships" else set(cols)
                assert cols <= columns, (entry["name"], check, cols - columns)
    return out


def plain_column_tests() -> dict[str, int]:
    """How many plain (single-column) not_null / unique / accepted_values tests remain: only those with config."""
    n = dict.fromkeys(CHECKS[:5], 0)                 # the single-column checks
    n["phakhi_between"] = n.pop("between")
    for path in [*DBT.glob("models/**/*.yml"), *DBT.glob("seeds/*.yml")]:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in [*(doc.get("models") or []), *(doc.get("seeds") or [])]:
            for c in entry.get("columns") or []:
                for t in c.get("data_tests") or []:
                    name = t if isinstance(t, str) else next(iter(t))
                    if name in n:
                        assert isinstance(t, dict) and "config" in t[name], \
                            f"{entry['name']}.{c['name']}: a plain {name} belongs in the model's phakhi_columns"
                        n[name] += 1
    return n


def test_column_check_declarations_name_documented_columns():
    tests = declared()
    total = {c: sum(len(t[c]) for t in tests.values()) for c in CHECKS}
    # what the 290 not_null, 57 unique, 44 accepted_values, 45 relationships and 35 phakhi_between
    # single-column tests guarded
    assert len(tests) > 60 and total["not_null"] > 280 and total["unique"] >= 57 and total["accepted_values"] >= 44 \
        and total["relationships"] >= 45 and total["between"] >= 35, total
    assert tests["fct_activities"]["between"]["participants_total"] == [0, 10000000]
    assert {"column": "partner_type", "to": "ref('partner_types')", "field": "code"} in \
        tests["dim_partner_versions"]["relationships"]
    assert {"province_code", "region"} <= set(tests["dim_provinces"]["not_null"])
    assert tests["dim_provinces"]["unique"] == ["province_code"]
    assert set(tests["provinces"]["accepted_values"]["region"]) == {"north", "northeast", "central", "east", "west",
                                                                     "south"}


def test_every_unique_combination_key_is_checked_once():
    """The 29 phakhi_unique_combination tests of models and seeds are keys of their phakhi_columns test now; the
    snapshot's stays a test of its own (editing snapshots/dim_partners.yml loses it from dbt's partial parse)."""
    keys = [(model, tuple(k)) for model, t in declared().items() for k in t["unique_combination"]]
    assert len(keys) == len(set(keys)) == 29
    assert UNIQUE_COMBINATIONS <= set(keys)
    assert {("mart_peer_matches", ("partner_id", "match_rank")), ("mart_peer_matches", ("partner_id", "peer_partner_id")),
            ("dim_partner_versions", ("partner_id", "version_no")), ("survey_population_margins",
            ("margin", "category", "version")), ("dash_quality_quarantine", ("family", "rule", "column_name"))} <= set(keys)
    plain = []
    for path in [*DBT.glob("models/**/*.yml"), *DBT.glob("seeds/*.yml"), *DBT.glob("snapshots/*.yml")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "- phakhi_unique_combination:" in line:
                plain.append(path.name)
    assert plain == ["dim_partners.yml"]


def test_only_configured_column_tests_stay_single():
    # the three that remain single each have a config (severity warn, where)
    assert plain_column_tests() == {"not_null": 1, "unique": 0, "accepted_values": 0, "relationships": 2,
                                    "phakhi_between": 1}


def _sample_work_home(copy_sample, tmp_path):
    """A home holding a copy of the SAMPLE warehouse and its history, for dbt tests run against them."""
    from phakhi.settings import Paths

    paths, _ = copy_sample(tmp_path / "copy")
    work = Paths(tmp_path / "home").ensure()
    shutil.copyfile(paths.build_db, work.build_db)
    shutil.copyfile(paths.history_db, work.history_db)
    return work


@pytest.mark.integration
def test_a_violation_fails_the_models_column_test_naming_check_column_and_values(copy_sample, tmp_path):
    from phakhi.transform import run_dbt

    work = _sample_work_home(copy_sample, tmp_path)
    period = "2025-12"                                  # the SAMPLE home's month
    select = ["--select", "columns_dim_provinces columns_provinces columns_dim_partner_versions columns_fct_activities"]
    clean = run_dbt(work, period, "test", extra=select)
    assert clean.success and clean.counts == {"pass": 4}, clean.failures
    with duckdb.connect(str(work.build_db)) as con:
        con.execute("update marts.dim_provinces set region = null where province_code in ('TH-10', 'TH-50')")
        con.execute("update marts.dim_provinces set partners_registered = null where province_code = 'TH-57'")
        con.execute("update marts.dim_provinces set province_code = 'TH-10' where province_code = 'TH-11'")
        con.execute("update reference.provinces set name_th = null where province_code = 'TH-10'")
        con.execute("update reference.provinces set region = 'middle' where province_code in ('TH-10', 'TH-12')")
        # not P001, whose row is copied below (its scd id is a hash of the snapshot time, so "order by all" varied)
        con.execute("update marts.dim_partner_versions set partner_type = 'XX' where partner_id in "
                    "(select partner_id from marts.dim_partner_versions where partner_id <> 'P001' "
                    "order by partner_id limit 3)")
        con.execute("update marts.fct_activities set participants_total = -5 where activity_id in "
                    "(select activity_id from marts.fct_activities order by all limit 2)")
        con.execute("insert into marts.dim_partner_versions select * from marts.dim_partner_versions "
                    "where partner_id = 'P001'")
    broken = run_dbt(work, period, "test", extra=select)
    assert not broken.success
    messages = {f["node"].split(".")[2]: f["message"] for f in broken.failures}
    assert set(messages) == {"columns_dim_provinces", "columns_provinces", "columns_dim_partner_versions",
                             "columns_fct_activities"}
    dim, seed = messages["columns_dim_provinces"], messages["columns_provinces"]
    assert "phakhi_columns failed on dim_provinces" in dim
    assert "not_null region (2 rows; expected a value)" in dim
    assert "not_null partners_registered (1 row; expected a value)" in dim
    assert "unique province_code (2 rows: TH-10; expected each value once (1 value repeated))" in dim
    assert "not_null province_code" not in dim                  # only the checks that failed
    assert "not_null name_th (1 row" in seed
    assert "accepted_values region (2 rows: middle; expected one of north, northeast, central" in seed
    assert "relationships partner_type (3 rows: XX; expected a code of partner_types)" in \
        messages["columns_dim_partner_versions"]
    assert "unique_combination partner_id, version_no (2 rows: (P001, 1); expected each combination once " \
           "(1 combination repeated))" in messages["columns_dim_partner_versions"]
    assert "between participants_total (2 rows: -5; expected between 0 and 10000000)" in messages["columns_fct_activities"]


@pytest.mark.integration
def test_with_store_failures_the_failing_checks_are_stored_rows(copy_sample, tmp_path):
    """store_failures keeps dbt's meaning (as severity warn does): the test fails, not errors, and stores the
    rows (check, column, rows, examples), one per failing check."""
    from phakhi.transform import run_dbt

    work = _sample_work_home(copy_sample, tmp_path)
    with duckdb.connect(str(work.build_db)) as con:
        con.execute("update marts.dim_provinces set region = null where province_code in ('TH-10', 'TH-50')")
    select = ["--select", "columns_dim_provinces"]
    warned = run_dbt(work, "2025-12", "test", extra=[*select, "--store-failures"])
    assert not warned.success and warned.failures[0]["status"] == "fail" and warned.failures[0]["failures"] == 1
    with duckdb.connect(str(work.build_db), read_only=True) as con:
        stored = con.execute("select check_name, column_name, failing_rows from "
                             "dbt_test__audit.columns_dim_provinces").fetchall()
    assert stored == [("not_null", "region", 2)]


def test_only_configured_expression_and_sum_tests_stay_single():
    """A model's row expressions and sum reconciliations with the default severity are folded into its
    phakhi_columns test; only those with a config of their own (severity warn) stay single nodes."""
    single, folded = [], 0
    for path in DBT.glob("models/**/*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for m in doc.get("models") or []:
            tests = [*(m.get("data_tests") or []), *(t for c in m.get("columns") or [] for t in c.get("data_tests") or [])]
            for t in tests:
                name = t if isinstance(t, str) else next(iter(t))
                if name in ("phakhi_expression_is_true", "phakhi_sum_matches"):
                    single.append((m["name"], name))
                    assert "config" in t[name], (m["name"], t)
                if name == "phakhi_columns":
                    args = t[name]["arguments"]
                    folded += len(args.get("expressions") or []) + len(args.get("sums") or [])
                    assert all(e.get("expression") and set(e) <= {"expression", "where"} for e in args.get("expressions") or [])
                    assert all({"column", "compare_model", "compare_column"} <= set(s) <= {
                        "column", "compare_model", "compare_column", "where", "compare_where", "tolerance"}
                        for s in args.get("sums") or [])
    assert len(single) == 4 and folded == 27, (single, folded)


@pytest.mark.integration
def test_a_folded_expression_or_sum_fails_the_models_column_test_naming_it(copy_sample, tmp_path):
    from phakhi.transform import run_dbt

    work = _sample_work_home(copy_sample, tmp_path)
    select = ["--select", "columns_mart_partner_links columns_fct_ghg_reductions columns_mart_awareness_ace_overlay"]
    clean = run_dbt(work, "2025-12", "test", extra=select)
    assert clean.success and clean.counts == {"pass": 3}, clean.failures
    with duckdb.connect(str(work.build_db)) as con:
        con.execute("update marts.mart_partner_links set partner_a = partner_b, partner_b = partner_a "
                    "where link_id = (select min(link_id) from marts.mart_partner_links where link_type = 'joint_activity')")
        con.execute("update marts.fct_ghg_reductions set counted_tco2e = counted_tco2e + 1 "
                    "where reduction_id = (select min(reduction_id) from marts.fct_ghg_reductions where not is_duplicate)")
        con.execute("update marts.mart_awareness_ace_overlay set change_ci_low = change + 1 "
                    "where area_id = (select min(area_id) from marts.mart_awareness_ace_overlay where change is not null)")
    broken = run_dbt(work, "2025-12", "test", extra=select)
    assert not broken.success
    messages = {f["node"].split(".")[2]: f["message"] for f in broken.failures}
    assert set(messages) == {"columns_mart_partner_links", "columns_fct_ghg_reductions",
                             "columns_mart_awareness_ace_overlay"}
    links, facts = messages["columns_mart_partner_links"], messages["columns_fct_ghg_reductions"]
    assert "expression partner_a < partner_b (1 row; expected true)" in links
    assert "relationships" not in links and "sum_matches" not in links      # the weights still add up
    assert "expression counted_tco2e = case when is_duplicate then 0 else reduction_tco2e end (1 row; expected true)" in facts
    assert "sum_matches counted_tco2e (" in facts and "expected the sum of counted_tco2e of int_ghg__claims_deduplicated within 0.001)" in facts
    assert "sum_matches reduction_tco2e" not in facts
    assert "expression change_ci_low <= change and change <= change_ci_high (1 row; expected true where change is not null)" \
        in messages["columns_mart_awareness_ace_overlay"]


@pytest.mark.integration
def test_a_row_count_outside_its_bounds_fails_the_models_column_test(copy_sample, tmp_path):
    """Row count bounds are checks of phakhi_columns (one node per model, not one more): too few rows, or none
    where at least one is required, fail the model's test naming the count and the bounds."""
    from phakhi.transform import run_dbt

    work = _sample_work_home(copy_sample, tmp_path)
    select = ["--select", "columns_dim_provinces columns_mart_practice_cases columns_mart_sector_progress"]
    clean = run_dbt(work, "2025-12", "test", extra=select)
    assert clean.success and clean.counts == {"pass": 3}, clean.failures
    with duckdb.connect(str(work.build_db)) as con:
        con.execute("delete from marts.dim_provinces where province_code in ('TH-10', 'TH-11')")
        con.execute("delete from marts.mart_practice_cases")
    broken = run_dbt(work, "2025-12", "test", extra=select)
    messages = {f["node"].split(".")[2]: f["message"] for f in broken.failures}
    assert set(messages) == {"columns_dim_provinces", "columns_mart_practice_cases"}     # 5 sectors still there
    assert "row_count rows (75 rows; expected between 77 and 77)" in messages["columns_dim_provinces"]
    assert "row_count rows (0 rows; expected at least 1)" in messages["columns_mart_practice_cases"]


@pytest.mark.integration
def test_a_scoped_column_test_checks_the_rows_of_its_months_only(copy_sample, tmp_path):
    """With a scope (an incremental build's plan, phakhi/selection.py:scoped_nodes) the activities' checks read
    the rows of the listed months - the comparison's too - and name them; without one, every row."""
    from phakhi.transform import run_dbt

    work = _sample_work_home(copy_sample, tmp_path)
    select = ["--select", "columns_fct_activities columns_stg_partner_reports__activities"]
    with duckdb.connect(str(work.build_db)) as con:
        months = [r[0] for r in con.execute("select distinct period from marts.fct_activities order by 1").fetchall()]
        # an old month's broken row: its budget out of range, its participants no longer those reported
        con.execute(f"update marts.fct_activities set budget_thb = -1, participants_total = participants_total + 7 "
                    f"where activity_id = (select min(activity_id) from marts.fct_activities where period = '{months[0]}')")
    old, new = months[0], months[-1]
    fct = "test.phakhi.columns_fct_activities"
    scoped = run_dbt(work, "2025-12", "test", extra=select, scope={"tests": {"fct_activities": [new]}})
    assert scoped.success and scoped.counts == {"pass": 2}, scoped.failures
    whole = run_dbt(work, "2025-12", "test", extra=select)
    assert not whole.success and [f["node"].split(".")[2] for f in whole.failures] == ["columns_fct_activities"]
    assert "phakhi_columns failed on fct_activities: " in whole.failures[0]["message"]
    for scope in ({"fct_activities": [old, new]}, {"fct_activities": [old], "other_model": []}):
        broken = run_dbt(work, "2025-12", "test", extra=select, scope={"tests": scope})
        message = broken.failures[0]["message"]
        assert not broken.success and broken.failures[0]["node"].startswith(fct), broken.failures
        assert f"phakhi_columns failed on fct_activities (rows of {', '.join(scope['fct_activities'])}): " in message
        assert "between budget_thb (1 row: -1.0;" in message and "sum_matches participants_total (" in message
    # no month to check (nothing it reads changed): it passes without reading a row
    assert run_dbt(work, "2025-12", "test", extra=select, scope={"tests": {"fct_activities": []}, "models": {"fct_activities": []}}).success
