"""After a selective build (a new month on a copy of the published warehouse), dbt's documentation page keeps the
compiled SQL of the models the build did not run from the last page made with the same code and vars, and dbt
only reads the catalog (--no-compile); whatever is missing or differs falls back to compiling, as before."""
import json


def _setup(home, *, last_checksum="c2", made_with=True, last_period="2025-11", last_deps=("model.phakhi.m1",)):
    import phakhi.transform as transform
    from phakhi.refresh_inputs import code_fingerprint

    target, docs = home.dbt_work / "target", home.dbt_work / "docs-target"
    target.mkdir(parents=True, exist_ok=True)
    docs.mkdir(parents=True, exist_ok=True)
    built = {"metadata": {"invocation_id": "now"}, "nodes": {
        "model.phakhi.m1": {"resource_type": "model", "name": "m1", "checksum": "c1", "compiled": True,
                            "compiled_code": "select '2025-12'", "depends_on": {"macros": [], "nodes": []}},
        "model.phakhi.m2": {"resource_type": "model", "name": "m2", "checksum": "c2",
                            "depends_on": {"macros": [], "nodes": ["model.phakhi.m1"]}},
        "test.phakhi.t": {"resource_type": "test", "name": "t"}}}
    last = {"nodes": {
        "model.phakhi.m1": {"resource_type": "model", "name": "m1", "checksum": "c1", "compiled": True,
                            "compiled_code": "select '2025-11'"},
        "model.phakhi.m2": {"resource_type": "model", "name": "m2", "checksum": last_checksum, "compiled": True,
                            "compiled_code": "select * from m1", "extra_ctes": [], "extra_ctes_injected": True,
                            "depends_on": {"macros": ["macro.dbt.x"], "nodes": list(last_deps)}}}}
    (target / "manifest.json").write_text(json.dumps(built))
    (target / "phakhi_period.txt").write_text("2025-12")
    (target / transform.BUILT_CODE).write_text(code_fingerprint())
    (docs / "manifest.json").write_text(json.dumps(last))
    if made_with:
        transform.record_docs_made_with(home, last_period)
    return docs


def test_unselected_models_keep_the_last_pages_sql_and_dbt_does_not_compile(home):
    from phakhi.transform import DOCS_MADE_WITH, prepare_docs

    docs = _setup(home)
    extra = prepare_docs(home, "2025-12", month_built=True)
    assert "--no-compile" in extra and "--no-write-json" in extra
    manifest = json.loads((docs / "manifest.json").read_text())
    nodes = manifest["nodes"]
    assert nodes["model.phakhi.m1"]["compiled_code"] == "select '2025-12'"      # the month's SQL, from the build
    assert nodes["model.phakhi.m2"]["compiled_code"] == "select * from m1"       # kept from the last page
    assert nodes["model.phakhi.m2"]["depends_on"]["macros"] == ["macro.dbt.x"]
    assert manifest["metadata"]["invocation_id"] == "now"
    assert not (docs / DOCS_MADE_WITH).exists()          # until this page is made (then written for the next one)


def test_the_same_month_needs_no_rebuilt_month(home):
    from phakhi.transform import prepare_docs

    _setup(home, last_period="2025-12")
    assert "--no-compile" in prepare_docs(home, "2025-12", month_built=False)


def test_anything_uncertain_compiles_as_before(home, tmp_path):
    from phakhi.settings import use_home
    from phakhi.transform import prepare_docs

    cases = {"changed source": {"last_checksum": "other"}, "no record of the last page": {"made_with": False},
             "other parents": {"last_deps": ()}, "another month, not rebuilt": {"month_built": False}}
    for name, kwargs in cases.items():
        h = use_home(tmp_path / name.replace(" ", "_").replace(",", ""))
        month_built = kwargs.pop("month_built", True)
        docs = _setup(h, **kwargs)
        last = (docs / "manifest.json").read_text()
        assert "--no-compile" not in prepare_docs(h, "2025-12", month_built=month_built), name
        assert (docs / "manifest.json").read_text() == last, name


def test_other_vars_or_code_compile(home):
    from phakhi.transform import DOCS_MADE_WITH, prepare_docs

    docs = _setup(home)
    made = docs / DOCS_MADE_WITH
    made.write_text(made.read_text().replace("data_kind", "data_kind_old"))
    assert "--no-compile" not in prepare_docs(home, "2025-12", month_built=True)


def test_a_made_page_records_what_it_was_made_with(home, monkeypatch):
    import duckdb

    import phakhi.transform as transform

    with duckdb.connect(str(home.build_db)) as con:
        con.execute("create schema marts; create table marts.t as select 1 as v")
    _setup(home, made_with=False)

    def fake_dbt(paths, period, command="build", extra=None, warehouse=None, target=None):
        (target / "static_index.html").write_text("<html>docs</html>")
        return transform.DbtOutcome(True, [command], 0.0)

    monkeypatch.setattr(transform, "run_dbt", fake_dbt)
    transform.build_dbt_docs(home, home.home / "pub", "2025-12")
    made = json.loads((home.dbt_work / "docs-target" / transform.DOCS_MADE_WITH).read_text())
    assert made["period"] == "2025-12" and made["with"] == transform._docs_made_with(home)
