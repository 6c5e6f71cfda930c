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


def test_a_table_suite_reads_only_the_columns_its_checks_use(tmp_path):
    from phakhi.quality.gate import frame_for, suite_columns

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create table marts.t as select * from (values "
                    "(1, 'x', 0.5, 'province', 'long text'), (2, 'y', 7.0, 'region', 'more')) v(id, code, share, level, notes)")
        spec = {"name": "t", "table": "marts.t", "row_id": ["id"], "expectations": [
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "share", "min_value": 0, "max_value": 1,
                                                                       "row_condition": "level == 'province'"}},
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}]}
        assert suite_columns(con, spec) == ["id", "share", "level"]          # table order; notes, code not read
        assert list(frame_for(con, spec).columns) == ["id", "share", "level"]
        assert suite_columns(con, {**spec, "expectations": spec["expectations"] + [
            {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id"]}}]}) is None
        assert suite_columns(con, {"name": "q", "query": "select 1 as n", "expectations": []}) is None
        assert suite_columns(con, {**spec, "row_id": ["missing"]}) is None  # the expectation reports it, not us
    assert run_gate(db, [spec]).passed          # 7.0 is on the region row, which the row condition leaves out
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.t set level = 'province'")
    gate = run_gate(db, [spec])
    assert [(c.column, c.sample, c.sample_rows) for c in gate.blocking] == [("share", [7.0], [{"share": 7.0, "id": 2}])]


def test_data_docs_templates_are_compiled_once_and_make_the_same_pages(tmp_path, monkeypatch):
    """A gate given a template cache builds the Data Docs GX builds (same files and text, but for run times and
    ids); a later gate loads GX's compiled templates from the cache instead of compiling them again."""
    import re

    import jinja2

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create table marts.t as select * from (values (1, 0.5), (2, 0.7)) v(id, share)")
    suites = [{"name": "t", "table": "marts.t", "row_id": ["id"], "expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}, "severity": "critical"}]}]

    def pages(docs):
        def norm(text):    # run times and ids differ between any two builds
            text = re.sub(r"\d{8}T\d{6}\.\d+Z", "T", text)
            text = re.sub(r"20\d\d-\d\d-\d\d[ T][\d:.]+( UTC|\+00:00|Z)?", "T", text)
            return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{10}\.\d+", "I", text)
        return {norm(str(p.relative_to(docs))): norm(p.read_text(encoding="utf-8")) for p in docs.rglob("*.html")}

    plain = pages(run_gate(db, suites).data_docs)
    cache = tmp_path / "templates"
    assert pages(run_gate(db, suites, template_cache=cache).data_docs) == plain
    assert list(cache.iterdir())
    compiled = []
    real_compile = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile", lambda self, *a, **k: compiled.append(1) or real_compile(self, *a, **k))
    assert pages(run_gate(db, suites, template_cache=cache).data_docs) == plain
    assert compiled == []


def test_narrow_integers_are_validated_as_int64_with_the_same_verdicts_and_digest(tmp_path):
    """DuckDB's INTEGER arrives as int32, which GX checks value by value in Python: the gate widens it to int64
    (vectorised) after the digest, so the verdicts, samples and the digest (of the rows as read) stay the same."""
    from phakhi.quality.gate import frame_for, read_suite, suite_digest, suite_parameters

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create table marts.t as select id::integer as id, n::integer as n, "
                    "n::bigint as wide from (values (1, 5), (2, 70000), (3, 8)) v(id, n)")
    spec = {"name": "t", "table": "marts.t", "row_id": ["id"], "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": c, "min_value": 0, "max_value": 20000},
         "severity": "critical"} for c in ("n", "wide")]}
    with duckdb.connect(str(db), read_only=True) as con:
        frame, _params, digest = read_suite(con, spec)
        raw, hashes = frame_for(con, spec, row_hashes=True)
        assert str(raw["n"].dtype) == "int32" and str(frame["n"].dtype) == "int64"
        assert digest == suite_digest(spec, raw, hashes, suite_parameters(con, spec))
    gate = run_gate(db, [spec])
    assert [(c.column, c.sample, c.sample_rows, c.unexpected_count) for c in gate.blocking] == [
        ("n", [70000], [{"n": 70000, "id": 2}], 1), ("wide", [70000], [{"wide": 70000, "id": 2}], 1)]
