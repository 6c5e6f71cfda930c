"""Cost that grows with what changed (issue 17, Builds 4 and 5): the refresh's input fingerprints, the
"nothing changed" decision, the build warehouse's starting point and the gate's reuse of unchanged suites."""
import json

import duckdb
import pandas as pd
import pytest

from phakhi.ingest.files import FILE_REPORT_COLUMNS, FamilyResult
from phakhi.publish.pointers import last_attempt, record_attempt, write_index, write_pointers
from phakhi.publish.warehouse import record_published_inputs, start_build_warehouse
from phakhi.refresh_inputs import (code_fingerprint, data_fingerprint, read_inputs, same_inputs, seeds_fingerprint,
                                   unchanged_message, unchanged_since_publication, write_inputs)


def family(name, files, received="2026-01-01 00:00:00"):
    report = pd.DataFrame([{c: None for c in FILE_REPORT_COLUMNS} | {"family": name, "file": f, "file_hash": h,
                                                                     "status": "loaded", "rows_loaded": 3,
                                                                     "received_at": received}
                           for f, h in files], columns=FILE_REPORT_COLUMNS)
    return FamilyResult(family=name, loaded=pd.DataFrame({"x": [1, 2, 3]}), quarantine=pd.DataFrame(),
                        file_report=report)


def test_data_fingerprint_follows_the_files_not_the_clock():
    a = [family("activity_reports", [("a.xlsx", "h1"), ("b.xlsx", "h2")])]
    same_later = [family("activity_reports", [("b.xlsx", "h2"), ("a.xlsx", "h1")], received="2026-02-01 00:00:00")]
    changed = [family("activity_reports", [("a.xlsx", "h1"), ("b.xlsx", "h3")])]
    added = [family("activity_reports", [("a.xlsx", "h1"), ("b.xlsx", "h2"), ("c.xlsx", "h4")])]
    assert data_fingerprint(a) == data_fingerprint(same_later)
    assert len({data_fingerprint(a), data_fingerprint(changed), data_fingerprint(added)}) == 3


def test_code_and_seed_fingerprints_are_stable_and_cover_the_seeds(tmp_path, monkeypatch):
    assert code_fingerprint() == code_fingerprint() and seeds_fingerprint() == seeds_fingerprint()
    import phakhi.refresh_inputs as ri

    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "targets.csv").write_text("a,b\n1,2\n")
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    monkeypatch.setattr(ri, "SEEDS_DIR", tmp_path / "seeds")
    monkeypatch.setattr(ri, "REPO_ROOT", tmp_path)
    before = ri.seeds_fingerprint()
    (tmp_path / "seeds" / "targets.csv").write_text("a,b\n1,3\n")
    assert ri.seeds_fingerprint() != before


def inputs(**kw):
    return {"period": "2025-12", "data_kind": "sample", "code": "c1", "seeds": "s1", "data": "d1", **kw}


def publish_fake(home, pub_id="2025-12-r1", doc=None):
    """A live publication with its warehouse and sidecar, as the switch leaves them."""
    (home.publications / pub_id).mkdir(parents=True)
    (home.publications / pub_id / "index.html").write_text("<html></html>")
    write_pointers(home.publications, pub_id)
    with duckdb.connect(str(home.published_db)) as con:
        con.execute("create schema marts; create table marts.t as select 1 as v")
    write_inputs(home.build_inputs, doc or inputs())
    record_published_inputs(home, pub_id)


def test_nothing_changed_only_when_every_input_equals_the_live_publications(home):
    assert unchanged_since_publication(home, inputs()) is None            # nothing published yet
    publish_fake(home)
    assert read_inputs(home.published_inputs)["publication_id"] == "2025-12-r1"
    assert unchanged_since_publication(home, inputs()) == "2025-12-r1"
    for key in ("period", "data_kind", "code", "seeds", "data"):
        assert unchanged_since_publication(home, inputs(**{key: "other"})) is None, key
    # rolled back to another publication: the warehouse no longer matches the live one
    (home.publications / "2025-11-r0").mkdir()
    (home.publications / "2025-11-r0" / "index.html").write_text("<html></html>")
    write_pointers(home.publications, "2025-11-r0")
    assert unchanged_since_publication(home, inputs()) is None


def test_an_unchanged_attempt_is_recorded_and_shown_in_both_languages(home):
    publish_fake(home)
    record_attempt(home.publications, "unchanged", "2025-12", "r2", publication_id="2025-12-r1")
    assert last_attempt(home.publications)["outcome"] == "unchanged"
    page = write_index(home.publications).read_text(encoding="utf-8")
    assert 'data-outcome="unchanged"' in page and "BLOCKED" not in page and "nothing new or changed" in page
    msg = unchanged_message("2025-12", "2025-12-r1")
    assert "ธ.ค. ๒๕๖๘" in msg and "Dec 2025" in msg and "--force" in msg


def test_the_build_warehouse_starts_from_the_published_one_only_for_the_same_code(home):
    assert start_build_warehouse(home, inputs()) == "fresh" and not home.build_db.exists()
    publish_fake(home)
    published_bytes = home.published_db.read_bytes()
    home.build_inputs.write_text("{}")                      # a stale sidecar of an earlier build goes
    assert start_build_warehouse(home, inputs(data="new month", period="2026-01")) == "incremental"
    assert not home.build_inputs.exists()
    with duckdb.connect(str(home.build_db)) as con:          # a copy, opened under the build catalog
        assert con.execute("select v from marts.t").fetchone()[0] == 1
        con.execute("insert into marts.t values (2)")
    assert home.published_db.read_bytes() == published_bytes  # the live warehouse is only read
    assert start_build_warehouse(home, inputs(), full=True) == "fresh" and not home.build_db.exists()
    assert start_build_warehouse(home, inputs(code="changed")) == "fresh"
    assert start_build_warehouse(home, inputs(seeds="changed")) == "fresh"
    home.published_inputs.unlink()                           # no sidecar (e.g. a crash mid-switch): from scratch
    assert start_build_warehouse(home, inputs()) == "fresh"


def test_the_switch_removes_the_sidecar_before_replacing_the_warehouse(home, monkeypatch):
    import phakhi.publish.warehouse as wh

    publish_fake(home)
    with duckdb.connect(str(home.build_db)) as con:
        con.execute("create schema marts; create table marts.t as select 2 as v")

    def crash(*a, **k):
        assert not home.published_inputs.exists()           # gone before the warehouse is replaced
        raise OSError("disk full")

    monkeypatch.setattr(wh, "make_portable", crash)
    with pytest.raises(OSError):
        wh.promote_warehouse(home)
    assert not home.published_inputs.exists()                 # no sidecar rather than a wrong one
    assert unchanged_since_publication(home, inputs()) is None


def test_same_inputs_needs_both_sides():
    assert not same_inputs(None, inputs()) and not same_inputs(inputs(), {})
    assert same_inputs(inputs(), {**inputs(), "publication_id": "x"})


# ------------------------------------------------------------------ the gate reuses unchanged suites
def test_gate_reuses_a_suite_only_over_identical_rows(tmp_path):
    from phakhi.quality.gate import run_gate

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create table marts.t as select * from (values (1, 0.5), (2, 0.7)) v(id, share);"
                    "create table marts.u as select * from (values (1), (2)) v(id)")
    suites = [{"name": "t", "table": "marts.t", "row_id": ["id"], "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "share", "min_value": 0, "max_value": 1},
         "severity": "critical"}]},
              {"name": "u", "table": "marts.u", "expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}, "severity": "critical"}]}]
    first = run_gate(db, suites)
    assert first.passed and first.reused == [] and set(first.memo()) == {"t", "u"}
    memo = json.loads(json.dumps(first.memo(), default=str))          # as stored in the sidecar
    second = run_gate(db, suites, previous=memo)
    assert sorted(second.reused) == ["t", "u"] and second.passed
    assert [c.__dict__ for c in second.checks] == [c.__dict__ for c in run_gate(db, suites).checks]
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.t set share = 7.0 where id = 2")   # a changed row is validated again
    third = run_gate(db, suites, previous=memo)
    assert third.reused == ["u"] and not third.passed
    assert [(c.suite, c.column) for c in third.blocking] == [("t", "share")]
    assert "t" not in third.memo()                                     # a failing suite is never reused


def test_gate_reuses_a_suite_with_failing_warnings_over_identical_rows_and_still_reports_them(tmp_path):
    from phakhi.quality.gate import run_gate

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create table marts.t as select * from (values (1, 0.5), (2, 7.0)) v(id, share)")
    suites = [{"name": "t", "table": "marts.t", "row_id": ["id"], "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "share", "min_value": 0, "max_value": 1},
         "severity": "warning"},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "severity": "critical"}]}]
    first = run_gate(db, suites)
    assert first.passed and [(c.column, c.sample) for c in first.warnings] == [("share", [7.0])]
    memo = json.loads(json.dumps(first.memo(), default=str))          # as stored in the sidecar
    assert set(memo) == {"t"}
    second = run_gate(db, suites, previous=memo)
    assert second.reused == ["t"] and second.passed
    assert [c.__dict__ for c in second.checks] == [c.__dict__ for c in first.checks]   # the warning, as found
    with duckdb.connect(str(db)) as con:
        con.execute("insert into marts.t values (3, 9.0)")             # a new row: validated again
    third = run_gate(db, suites, previous=memo)
    assert third.reused == [] and [c.sample for c in third.warnings] == [[7.0, 9.0]]


# ------------------------------------------------------------------ dbt docs: generated only when what they show changed
def test_dbt_docs_are_generated_again_only_when_project_month_or_catalog_change(home, monkeypatch):
    import phakhi.transform as transform
    from phakhi.transform import DbtOutcome, build_dbt_docs

    with duckdb.connect(str(home.build_db)) as con:
        con.execute("create schema marts; create table marts.t as select 1 as v")
    runs = []

    def fake_dbt(paths, period, command="build", extra=None, warehouse=None, target=None):
        runs.append(period)
        (target / "static_index.html").write_text(f"<html>docs {len(runs)}</html>")
        return DbtOutcome(True, [command], 0.0)

    monkeypatch.setattr(transform, "run_dbt", fake_dbt)
    first = build_dbt_docs(home, home.home / "pub1", "2025-12").read_text()
    again = build_dbt_docs(home, home.home / "pub2", "2025-12").read_text()
    assert runs == ["2025-12"] and first == again == "<html>docs 1</html>"
    build_dbt_docs(home, home.home / "pub3", "2026-01")                   # another month: compiled SQL differs
    assert runs == ["2025-12", "2026-01"]
    with duckdb.connect(str(home.build_db)) as con:                      # a new column is in the catalog
        con.execute("alter table marts.t add column w integer")
    assert build_dbt_docs(home, home.home / "pub4", "2026-01").read_text() == "<html>docs 3</html>"
    assert len(runs) == 3


@pytest.mark.integration
def test_an_incremental_build_skips_the_seeds_but_no_test(home):
    """Seeds are not reloaded on a copy of the published warehouse, yet every dbt test still runs - also the
    tests that have a seed among their parents (a fact's relationship to a vocabulary)."""
    from phakhi.transform import ALL_BUT_SEEDS

    def ls(*extra):
        import subprocess

        from phakhi.settings import DBT_PROJECT_DIR
        from phakhi.transform import dbt_env, dbt_executable
        proc = subprocess.run([dbt_executable(), "ls", "-q", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                               str(DBT_PROJECT_DIR), "--target-path", str(home.dbt_work / "target"), *extra],
                              env={**dbt_env(home), "PHAKHI_PERIOD": "2025-12"}, capture_output=True, text=True,
                              cwd=DBT_PROJECT_DIR)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return set(proc.stdout.split())

    everything, incremental = ls(), ls(*ALL_BUT_SEEDS)
    tests = ls("--resource-type", "test")
    seeds = ls("--resource-type", "seed")
    assert tests and tests <= incremental                      # every test, seed-dependent ones included
    assert seeds and not (seeds & incremental)
    assert ls("--resource-type", "model") <= incremental
    assert everything - incremental - seeds <= {n for n in everything if n.startswith(("source:", "exposure:"))}
