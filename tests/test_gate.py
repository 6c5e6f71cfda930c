import duckdb
import pytest

from phakhi.quality.gate import load_suites, run_gate


def test_gate_blocks_on_critical_and_reports_warnings_with_sample_rows(tmp_path):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create table marts.t as select * from (values (1, 0.5), (2, 7.0), (3, 0.2)) v(id, share)")
    suites = [{"name": "t", "table": "marts.t", "row_id": ["id"], "expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}, "severity": "critical"},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "share", "min_value": 0, "max_value": 1},
         "severity": "critical"},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "share", "min_value": 0, "max_value": 0.4},
         "severity": "warning"},
    ]}, {"name": "q", "query": "select count(*) as n from marts.t", "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "n", "min_value": 3, "max_value": 3},
         "severity": "critical"}]}]
    gate = run_gate(db, suites)
    assert not gate.passed
    assert [(c.suite, c.column) for c in gate.blocking] == [("t", "share")]
    assert gate.blocking[0].sample == [7.0] and gate.blocking[0].unexpected_count == 1
    assert gate.blocking[0].sample_rows == [{"share": 7.0, "id": 2}]
    assert len(gate.warnings) == 1
    assert "share" in gate.summary() and "7.0" in gate.summary()
    gate.dbt = {"success": True}
    assert gate.to_dict()["blocking"] == 1
    # Data Docs are built and made to render offline
    from phakhi.quality.data_docs import remote_loads
    pages = list(gate.data_docs.rglob("*.html"))
    assert pages and all(remote_loads(p.read_text(encoding="utf-8")) == [] for p in pages)
    assert (gate.data_docs / "static" / "vendor" / "vega.min.js").is_file()


def test_every_suite_file_is_well_formed():
    suites = load_suites()
    assert suites, "expectations/ holds the gate's suites"
    for s in suites:
        assert s["name"] and (s.get("table") or s.get("query")), s
        for e in s["expectations"]:
            assert e["type"].startswith("expect_") and e["severity"] in ("critical", "warning"), e


@pytest.mark.integration
def test_an_implausible_area_intensity_warns_and_does_not_block_the_month(refreshed_sample, tmp_path):
    """participants_per_1000 sums every partner's activities in an area: one partner's slip (5,000,000 written
    for 5,000) must not block the country's month. The shipped overlay suite reports it as a warning."""
    import shutil

    db = tmp_path / "w.duckdb"
    shutil.copyfile(refreshed_sample.paths.published_db, db)
    with duckdb.connect(str(db)) as con:
        n = con.execute("update marts.mart_awareness_ace_overlay set participants_per_1000 = 3105.7 "
                        "where participants_per_1000 is not null").fetchone()[0]
    assert n > 0
    suites = [s for s in load_suites() if s["name"] == "mart_awareness_ace_overlay"]
    gate = run_gate(db, suites)
    assert gate.passed
    assert [c.column for c in gate.warnings] == ["participants_per_1000"]
    assert gate.warnings[0].sample[0] == 3105.7
