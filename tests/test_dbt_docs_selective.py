"""After a selective build (a new month on a copy of the published warehouse), dbt's documentation page keeps the
compiled SQL of the models the build did not run from the last page made with the same code and vars, and dbt
only reads the catalog (--no-compile); whatever is missing or differs falls back to compiling, as before."""
import json

import duckdb


def _setup(home, monkeypatch, *, last_checksum="c2", made_with=True, period_models=(), last_deps=("model.phakhi.m1",)):
    import phakhi.selection as selection
    import phakhi.transform as transform
    from phakhi.refresh_inputs import code_fingerprint

    with duckdb.connect(str(home.build_db)) as con:
        con.execute("create schema marts; create table marts.t as select 1 as v")
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
        transform.record_docs_made_with(home)
    monkeypatch.setattr(selection, "scan_project", lambda: selection.ProjectMap(period_models=list(period_models)))
    calls = []

    def fake_dbt(paths, period, command="build", extra=None, warehouse=None, target=None):
        calls.append({"extra": extra, "manifest": json.loads((target / "manifest.json").read_text())})
        (target / "static_index.html").write_text("<html>docs</html>")
        return transform.DbtOutcome(True, [command], 0.0)

    monkeypatch.setattr(transform, "run_dbt", fake_dbt)
    return calls


def test_unselected_models_keep_the_last_pages_sql_and_dbt_does_not_compile(home, monkeypatch):
    from phakhi.transform import DOCS_MADE_WITH, build_dbt_docs

    calls = _setup(home, monkeypatch)
    build_dbt_docs(home, home.home / "pub", "2025-12")
    assert "--no-compile" in calls[0]["extra"] and "--no-write-json" in calls[0]["extra"]
    nodes = calls[0]["manifest"]["nodes"]
    assert nodes["model.phakhi.m1"]["compiled_code"] == "select '2025-12'"      # the month's SQL, from the build
    assert nodes["model.phakhi.m2"]["compiled_code"] == "select * from m1"       # kept from the last page
    assert nodes["model.phakhi.m2"]["depends_on"]["macros"] == ["macro.dbt.x"]
    assert calls[0]["manifest"]["metadata"]["invocation_id"] == "now"
    assert (home.dbt_work / "docs-target" / DOCS_MADE_WITH).exists()            # for next month's page


def test_anything_uncertain_compiles_as_before(home, monkeypatch, tmp_path):
    from phakhi.settings import use_home
    from phakhi.transform import build_dbt_docs

    cases = {"changed source": {"last_checksum": "other"}, "no record of the last page": {"made_with": False},
             "model reads the month": {"period_models": ("m2",)}, "other parents": {"last_deps": ()}}
    for name, kwargs in cases.items():
        h = use_home(tmp_path / name.replace(" ", "_"))
        with monkeypatch.context() as mp:
            calls = _setup(h, mp, **kwargs)
            build_dbt_docs(h, h.home / "pub", "2025-12")
        assert "--no-compile" not in calls[0]["extra"], name


def test_other_vars_or_code_compile(home, monkeypatch):
    from phakhi.transform import DOCS_MADE_WITH, build_dbt_docs

    calls = _setup(home, monkeypatch)
    made = home.dbt_work / "docs-target" / DOCS_MADE_WITH
    made.write_text(made.read_text().replace('"data_kind"', '"data_kind_old"'))
    build_dbt_docs(home, home.home / "pub", "2025-12")
    assert "--no-compile" not in calls[0]["extra"]
