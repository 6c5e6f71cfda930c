"""Which dbt nodes an incremental refresh builds (phakhi/selection.py): only what changed inputs reach, and
everything when in doubt."""
import json

import duckdb
import pandas as pd
import pytest

from phakhi.selection import (PERIODS_KEY, BuildPlan, ProjectMap, changed_periods, changed_tables, period_macros,
                              plan_build, plan_selectors, raw_before, raw_digests, record_snapshot, scan_project,
                              scoped_nodes, snapshot_is_stale)
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


def test_per_period_digests_name_the_months_whose_rows_changed(tmp_path):
    """A table with a period column gets one digest per month too (same pass); the table's own digest is the one
    it had without them. Rows without a period are a group of their own."""
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw; create table raw.r as select * from (values ('2025-11', 1), ('2025-12', 2), "
                    "('2025-12', 3)) v(period, n); create table raw.b as select 1 as id; create table raw.e (period varchar);"
                    "create table raw.z (id int)")
        s1, s2 = con.execute("select sum(hash(t)::hugeint), sum(hash(t, 1)::hugeint) from raw.r as t").fetchone()
    first = raw_digests(db)
    import hashlib
    assert first["r"] == hashlib.sha256(f"['period VARCHAR', 'n INTEGER']|3|{s1}|{s2}".encode()).hexdigest()[:32]
    assert set(first[PERIODS_KEY]) == {"r", "e"} and set(first[PERIODS_KEY]["r"]) == {"2025-11", "2025-12"}
    for table, columns in (("e", "['period VARCHAR']"), ("z", "['id INTEGER']")):      # empty: null sums, as before
        assert first[table] == hashlib.sha256(f"{columns}|0|None|None".encode()).hexdigest()[:32]
    with duckdb.connect(str(db)) as con:
        con.execute("update raw.r set n = 4 where n = 3; insert into raw.r values ('2026-01', 5), (null, 6)")
    now = raw_digests(db)
    assert changed_tables(first, now) == {"r"}          # the per-period digests are not a table
    assert changed_periods(first, now, "r") == {"2025-12", "2026-01", "@null"}
    assert changed_periods(first, now, "b") is None and changed_periods({}, now, "r") is None


def _manifest(*tests):
    """A manifest shaped like dbt's: raw source -> staging -> fact, the registry beside, a month-reading mart."""
    def node(kind, name, deps=(), **more):
        return {"resource_type": kind, "name": name, "alias": name, "depends_on": {"nodes": list(deps)}, **more}
    nodes = {"model.p.stg": node("model", "stg", ["source.p.feed.rows"]),
             "model.p.reg": node("model", "reg", ["source.p.feed.registry"]),
             "model.p.fct": node("model", "fct", ["model.p.stg", "model.p.reg", "seed.p.codes"]),
             "seed.p.codes": node("seed", "codes"),
             "model.p.mart": node("model", "mart", ["model.p.fct"])}
    nodes["model.p.fct"]["config"] = {"materialized": "incremental", "meta": {"scope_column": "period"}}
    nodes["model.p.mart"]["config"] = {"materialized": "table", "meta": {"scope_column": "period"}}   # not incremental
    for name, model, deps in tests:
        nodes[f"test.p.{name}"] = node("test", name, deps, attached_node=f"model.p.{model}",
                                       test_metadata={"name": "phakhi_columns", "kwargs": {"scope_column": "period"}})
    nodes["test.p.plain"] = node("test", "plain", ["model.p.stg"], attached_node="model.p.stg",
                                 test_metadata={"name": "phakhi_columns", "kwargs": {}})
    sources = {f"source.p.feed.{t}": {"resource_type": "source", "name": t, "identifier": t, "schema": "raw"}
               for t in ("rows", "registry", "manifest")}
    return {"nodes": nodes, "sources": sources}


def _tests(*args):
    found = scoped_nodes(*args)
    assert set(found) == {"tests", "models"}
    return found["tests"]


def test_column_tests_are_scoped_to_the_changed_months_only_where_every_input_says_so():
    manifest = _manifest(("columns_stg", "stg", ["model.p.stg"]), ("columns_fct", "fct", ["model.p.fct", "model.p.reg"]),
                         ("columns_mart", "mart", ["model.p.mart"]))
    pm = ProjectMap(period_models=["mart"])
    before = {"rows": "a", "registry": "r", "manifest": "m", PERIODS_KEY: {"rows": {"2025-11": "x", "2025-12": "y"}}}
    one_month = {**before, "rows": "b", "manifest": "n", PERIODS_KEY: {"rows": {"2025-11": "x", "2025-12": "z"}}}
    # a month of rows changed (and a table the tests do not read): each scoped test checks that month
    assert _tests(manifest, before, one_month, False, False, pm) == \
        {"stg": ["2025-12"], "fct": ["2025-12"], "mart": ["2025-12"]}
    # a new month: what reads it (mart) checks every row; a stale registry snapshot has no snapshot here
    assert _tests(manifest, before, one_month, True, False, pm) == {"stg": ["2025-12"], "fct": ["2025-12"]}
    # the registry changed (no periods): the fact's rows may all have changed; the staging rows may not
    registry = {**one_month, "registry": "s"}
    assert _tests(manifest, before, registry, False, False, pm) == {"stg": ["2025-12"]}
    # no per-period digests recorded before (an older sidecar): nothing scoped
    assert _tests(manifest, {k: v for k, v in before.items() if k != PERIODS_KEY}, one_month, False, False,
                        pm) == {}
    # rows without a period changed: no period filter would select them
    nulls = {**one_month, PERIODS_KEY: {"rows": {"2025-11": "x", "2025-12": "y", "@null": "q"}}}
    assert _tests(manifest, before, nulls, False, False, pm) == {}
    # nothing the tests read changed: they check no row (every row is the last build's)
    assert _tests(manifest, before, {**before, "manifest": "n"}, False, False, pm) == \
        {"stg": [], "fct": [], "mart": []}
    # a raw table read without source() by an ancestor counts as its input
    reader = ProjectMap(readers={"manifest": ["reg"]})
    assert _tests(manifest, before, one_month, False, False, reader) == {"stg": ["2025-12"]}


def test_an_incremental_fact_declaring_its_period_column_is_rebuilt_for_the_changed_months_only():
    manifest = _manifest()
    pm = ProjectMap(period_models=["fct"])
    before = {"rows": "a", "registry": "r", PERIODS_KEY: {"rows": {"2025-11": "x", "2025-12": "y"}}}
    one_month = {**before, "rows": "b", PERIODS_KEY: {"rows": {"2025-11": "x", "2025-12": "z"}}}
    assert scoped_nodes(manifest, before, one_month, False, False, pm) == {"tests": {}, "models": {"fct": ["2025-12"]}}
    # the fact itself reads the month, which changed; the registry (no periods) changed: every row
    assert scoped_nodes(manifest, before, one_month, True, False, pm)["models"] == {}
    assert scoped_nodes(manifest, before, {**one_month, "registry": "s"}, False, False, pm)["models"] == {}


def test_a_model_is_scoped_only_when_all_its_scoped_tests_are():
    manifest = _manifest(("a", "stg", ["model.p.stg"]), ("b", "stg", ["model.p.stg", "model.p.reg"]))
    before = {"rows": "a", "registry": "r", PERIODS_KEY: {"rows": {"2025-12": "y"}}}
    after = {"rows": "b", "registry": "s", PERIODS_KEY: {"rows": {"2025-12": "z"}}}
    assert _tests(manifest, before, after, False, False, ProjectMap()) == {}


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
