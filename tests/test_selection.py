"""Which dbt nodes an incremental refresh builds (phakhi/selection.py): only what changed inputs reach, and
everything when in doubt."""
import json

import duckdb
import pandas as pd
import pytest

from phakhi.selection import (BuildPlan, ProjectMap, changed_tables, period_macros, plan_build, plan_selectors,
                              raw_before, raw_digests, record_snapshot, scan_project, snapshot_is_stale)
from phakhi.transform import ALL_BUT_SEEDS, DbtOutcome


@pytest.fixture(scope="module")
def project():
    return scan_project()


# ------------------------------------------------------------------ which families changed -> which selectors
def test_each_changed_family_selects_its_source_and_everything_downstream(project):
    assert plan_selectors({"activity_reports"}, False, project) == ["source:partner_reports.activity_reports+"]
    assert plan_selectors({"ghg_reductions", "ingest_manifest", "quarantine"}, False, project) == [
        "source:ingestion.ingest_manifest+", "source:ingestion.quarantine+", "source:partner_reports.ghg_reductions+"]
    assert plan_selectors({"survey_waves"}, False, project) == ["source:survey.survey_waves+"]
    assert plan_selectors({"partner_registry"}, False, project) == ["source:registry.partner_registry+"]
    # the portal's replies are a landing family of their own (raw.partner_replies, source portal)
    assert plan_selectors({"partner_replies"}, False, project) == ["source:portal.partner_replies+"]
    # read without source() (the family may not be deployed): the model that reads it, and its descendants
    assert plan_selectors({"partner_inventories"}, False, project) == ["stg_registry__partner_inventories+"]


def test_nothing_changed_selects_nothing_and_an_unknown_table_selects_everything(project):
    assert plan_selectors(set(), False, project) == []
    assert plan_selectors({"activity_reports", "a_table_no_model_reads"}, False, project) is None


def test_a_new_month_rebuilds_what_reads_the_month(project):
    selected = plan_selectors(set(), True, project)
    # the as-of marts read phakhi_period(); the linking marts read var('period'); singular tests reading the
    # month run although their parents may not be rebuilt
    for name in ("mart_partner_progress+", "mart_national_progress+", "dash_period+", "mart_practice_cases+",
                 "assert_rollups_reconcile_with_facts"):
        assert name in selected, name
    # what does not read the month is not rebuilt for it: facts, staging, the survey marts
    for name in ("fct_activities+", "stg_partner_reports__activities+", "mart_awareness_baseline+"):
        assert name not in selected, name
    assert "dim_partners+" in plan_selectors(set(), False, project, snapshot_stale=True)


def test_the_project_scan_follows_macros_and_ignores_comments(tmp_path):
    (tmp_path / "macros").mkdir()
    (tmp_path / "models" / "m").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "macros" / "m.sql").write_text(
        "{% macro month_row() %}select {{ phakhi_period() }}{% endmacro %}\n"
        "{% macro as_of() %}{{ month_row() }}{% endmacro %}\n{% macro other() %}select 1{% endmacro %}")
    assert period_macros([(tmp_path / "macros" / "m.sql").read_text()]) == {"month_row", "as_of"}
    (tmp_path / "models" / "m" / "_src.yml").write_text(
        "version: 2\nsources:\n  - name: feed\n    schema: raw\n    tables:\n      - name: rows\n"
        "  - name: elsewhere\n    schema: other\n    tables:\n      - name: t\n")
    (tmp_path / "models" / "m" / "a.sql").write_text("select * from {{ source('feed', 'rows') }}, ({{ as_of() }})")
    (tmp_path / "models" / "m" / "b.sql").write_text("-- mentions raw.rows in a comment only\nselect {{ other() }}")
    (tmp_path / "models" / "m" / "c.py").write_text("def model(dbt, s):\n    return s.sql('select * from raw.extra')\n")
    (tmp_path / "tests" / "t.sql").write_text("select * from {{ ref('b') }}, ({{ month_row() }})")
    pm = scan_project(tmp_path)
    assert pm.sources == {"rows": ["source:feed.rows"]}
    assert pm.readers == {"extra": ["c"]}
    assert pm.period_models == ["a"] and pm.period_tests == ["t"]


# ------------------------------------------------------------------ raw table digests
def test_raw_digests_follow_the_content_not_the_row_order(tmp_path):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw; create table raw.a as select * from (values (1, 'x'), (2, 'y')) v(id, s);"
                    "create table raw.b as select 1 as id")
    first = raw_digests(db)
    with duckdb.connect(str(db)) as con:
        con.execute("create or replace table raw.a as select * from (values (2, 'y'), (1, 'x')) v(id, s)")
    assert raw_digests(db) == first
    for sql in ("update raw.a set s = 'z' where id = 2", "insert into raw.a values (1, 'x')",
                "alter table raw.a add column extra int"):
        with duckdb.connect(str(db)) as con:
            con.execute(sql)
        now = raw_digests(db)
        assert changed_tables(first, now) == {"a"}, sql
        first = now
    assert changed_tables(first, {"b": first["b"]}) == {"a"}
    assert raw_digests(tmp_path / "missing.duckdb") == {}


def test_the_raw_tables_before_the_load_are_the_published_sidecars_else_digested(home):
    """The published warehouse's sidecar recorded its raw digests: the copy is not hashed again; without a
    sidecar (or without digests in it) the copy is digested; a fresh warehouse has no 'before'."""
    from phakhi.refresh_inputs import write_inputs

    digested = _warehouse(home)
    assert raw_before(home, "fresh") is None
    assert raw_before(home, "incremental") == digested                  # no sidecar: the copy digested
    write_inputs(home.published_inputs, {"period": "2025-12"})
    assert raw_before(home, "incremental") == digested                  # a sidecar without digests
    recorded = {"partner_registry": "recorded", "survey_waves": digested["survey_waves"]}
    write_inputs(home.published_inputs, {"period": "2025-12", "raw": recorded})
    assert raw_before(home, "incremental") == recorded


# ------------------------------------------------------------------ the plan
def _warehouse(home, registry=("P1",), waves=(2023, 2025)):
    home.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home.build_db)) as con:
        con.execute("create schema if not exists raw")
        con.register("reg", pd.DataFrame({"partner_id": list(registry)}))
        con.execute("create or replace table raw.partner_registry as select * from reg")
        con.register("w", pd.DataFrame({"wave": list(waves)}))
        con.execute("create or replace table raw.survey_waves as select * from w")
    return raw_digests(home.build_db)


def test_the_plan_reuses_the_drift_report_only_when_the_waves_did_not_change(home, project):
    before = _warehouse(home)
    pub = home.publications / "2025-12-r1"
    (pub / "drift").mkdir(parents=True)
    (pub / "drift" / "drift_report.json").write_text("{}")
    published = {"period": "2025-12", "publication_id": pub.name}
    home.history_db.write_bytes(b"")
    from phakhi.refresh_inputs import write_inputs
    from phakhi.selection import history_inputs_path

    write_inputs(history_inputs_path(home), {"partner_registry": before["partner_registry"]})
    plan = plan_build(home, "incremental", "2025-12", before, published, project)
    assert plan.selectors == [] and plan.nothing_to_build and plan.drift_from == pub and not plan.snapshot_stale
    assert "nothing to build" in plan.describe()

    _warehouse(home, registry=("P1", "P2"))                    # the registry changed: snapshot and all it reaches
    plan = plan_build(home, "incremental", "2025-12", before, published, project)
    assert plan.changed == ["partner_registry"] and plan.snapshot_stale and plan.drift_from == pub
    assert "source:registry.partner_registry+" in plan.selectors and "dim_partners+" in plan.selectors

    _warehouse(home, waves=(2023, 2025, 2027))                 # a new wave: drift computed again
    plan = plan_build(home, "incremental", "2026-01", before, published, project)
    assert plan.drift_from is None and plan.period_changed
    assert "source:survey.survey_waves+" in plan.selectors and "mart_partner_progress+" in plan.selectors
    assert plan.dbt_args()[0] == "--select"

    # no record of the month the copy was built for, or a fresh warehouse: everything
    assert plan_build(home, "incremental", "2025-12", before, {"publication_id": pub.name}, project).dbt_args() == ALL_BUT_SEEDS
    fresh = plan_build(home, "fresh", "2025-12", None, published, project)
    assert fresh.dbt_args() is None and fresh.drift_from is None and fresh.raw


def test_the_history_sidecar_follows_the_snapshot_runs(home):
    raw = _warehouse(home)
    assert snapshot_is_stale(home, raw)                       # no history yet
    home.history_db.write_bytes(b"")
    plan = BuildPlan("incremental", ["x+"], raw=raw)
    record_snapshot(home, plan, DbtOutcome(True, [], 0.0, nodes=["model.phakhi.x"]))
    assert snapshot_is_stale(home, raw)                       # the snapshot did not run
    record_snapshot(home, plan, DbtOutcome(False, [], 0.0, nodes=["snapshot.phakhi.dim_partners"]))
    assert snapshot_is_stale(home, raw)                       # it failed
    record_snapshot(home, plan, DbtOutcome(True, [], 0.0, nodes=["snapshot.phakhi.dim_partners"]))
    assert not snapshot_is_stale(home, raw)
    assert snapshot_is_stale(home, _warehouse(home, registry=("P9",)))


def test_a_reused_drift_report_reads_back_as_computed(tmp_path):
    from phakhi.drift import reuse_drift_report

    src = tmp_path / "pub" / "drift"
    src.mkdir(parents=True)
    items = [{"item": "k1", "p_value": 0.0648678205056488, "p_adjusted": 0.1112019780096837, "drifted": False,
              "statistic": 8.87, "df": 4, "mean_deff": 1.97, "n_baseline": 1937, "n_current": 1931}]
    (src / "drift_report.json").write_text(json.dumps({"baseline_wave": 2023, "current_wave": 2025,
                                                       "design_adjusted": True, "items": items}))
    assert reuse_drift_report(src, tmp_path / "out") is None               # no HTML: compute it
    (src / "drift_report.html").write_text("<html>report</html>")
    got = reuse_drift_report(src, tmp_path / "out")
    assert (got.baseline_wave, got.current_wave, got.design_adjusted) == (2023, 2025, True)
    assert got.summary.to_dict("records") == items
    assert got.html_path.read_text() == "<html>report</html>" and got.html_path.parent == tmp_path / "out"


# ------------------------------------------------------------------ the data fingerprint in the sidecar
def test_the_data_fingerprint_moves_with_a_new_file():
    from test_refresh_in_proportion import family

    from phakhi.refresh_inputs import data_fingerprint

    a = [family("partner_registry", [("r.csv", "h0")]), family("activity_reports", [("a.xlsx", "h1")]),
         family("partner_replies", [])]
    b = [family("partner_registry", [("r.csv", "h0")]), family("activity_reports", [("a.xlsx", "h1"), ("b.xlsx", "h2")]),
         family("partner_replies", [])]
    assert data_fingerprint(a) != data_fingerprint(b)
    assert data_fingerprint(a) == data_fingerprint(list(reversed(a)))    # family order does not matter
