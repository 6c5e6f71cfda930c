"""dbt's documentation page reuses the SQL the build compiled: after a build of everything for the month and the
current code, `dbt docs generate` only reads the catalog (--no-compile, the build's manifest on the page);
otherwise (a selective build, another month, other code, a failed build) it compiles as before."""
import json

import duckdb


def _setup(home, monkeypatch, *, compiled_models=("m1", "m2"), period="2025-12", code=None):
    import phakhi.transform as transform
    from phakhi.refresh_inputs import code_fingerprint

    with duckdb.connect(str(home.build_db)) as con:
        con.execute("create schema marts; create table marts.t as select 1 as v")
    target = home.dbt_work / "target"
    target.mkdir(parents=True, exist_ok=True)
    nodes = {f"model.phakhi.{m}": {"resource_type": "model", "compiled_code": f"select {i}" if m in compiled_models else None}
             for i, m in enumerate(("m1", "m2"))}
    nodes["seed.phakhi.s"] = {"resource_type": "seed"}
    (target / "manifest.json").write_text(json.dumps({"nodes": nodes}))
    (target / "phakhi_period.txt").write_text(period)
    (target / transform.BUILT_CODE).write_text(code or code_fingerprint())
    calls = []

    def fake_dbt(paths, period, command="build", extra=None, warehouse=None, target=None):
        calls.append({"extra": extra, "manifest": (target / "manifest.json").read_text()
                      if (target / "manifest.json").exists() else None})
        (target / "static_index.html").write_text("<html>docs</html>")
        return transform.DbtOutcome(True, [command], 0.0)

    monkeypatch.setattr(transform, "run_dbt", fake_dbt)
    return target, calls


def test_after_a_full_build_the_page_is_made_from_the_builds_manifest(home, monkeypatch):
    from phakhi.transform import build_dbt_docs

    target, calls = _setup(home, monkeypatch)
    build_dbt_docs(home, home.home / "pub", "2025-12")
    assert "--no-compile" in calls[0]["extra"] and "--no-write-json" in calls[0]["extra"]
    assert calls[0]["manifest"] == (target / "manifest.json").read_text()


def test_otherwise_the_docs_compile_as_before(home, monkeypatch, tmp_path):
    from phakhi.settings import use_home
    from phakhi.transform import build_dbt_docs

    cases = {"selective build": {"compiled_models": ("m1",)}, "another month": {"period": "2025-11"},
             "other code": {"code": "0" * 32}}
    for name, kwargs in cases.items():
        h = use_home(tmp_path / name.replace(" ", "_"))
        with monkeypatch.context() as mp:
            _, calls = _setup(h, mp, **kwargs)
            build_dbt_docs(h, h.home / "pub", "2025-12")
        assert "--no-compile" not in calls[0]["extra"], name
