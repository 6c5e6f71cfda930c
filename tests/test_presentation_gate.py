"""The presentation marts are gated like every other published table: each table the dashboard exposure and
the open-data exposures list has a GX suite or dbt tests, and a bad value planted in a presentation mart
blocks the publication."""
import json

import duckdb
import pandas as pd
import pytest
import yaml

from phakhi.publish.exposures import ExposuresMissing, dashboard_tables, published_tables
from phakhi.quality.gate import load_suites, run_gate
from phakhi.settings import DBT_PROJECT_DIR

MODELS = DBT_PROJECT_DIR / "models"


def _exposures() -> list[dict]:
    return yaml.safe_load((MODELS / "marts" / "dashboard" / "_exposures.yml").read_text(encoding="utf-8"))["exposures"]


def _tested_models() -> set[str]:
    """Models with dbt data tests in their YAML (on the model or on a column)."""
    tested = set()
    for path in MODELS.rglob("*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for m in doc.get("models", []) or []:
            if m.get("data_tests") or any(c.get("data_tests") for c in m.get("columns", []) or []):
                tested.add(m["name"])
    return tested


def test_every_exposed_table_is_gated_by_gx_or_dbt_tests():
    suites = {s["table"].split(".")[-1] for s in load_suites() if s.get("table")}
    tested = _tested_models()
    exposed = {ref.split("'")[1] for e in _exposures() for ref in e["depends_on"]}
    assert "dash_partners" in exposed and "mart_partner_progress" in exposed
    ungated = sorted(m for m in exposed if m not in suites and m not in tested)
    assert ungated == []
    # the presentation marts the pages draw from have a GX suite of their own
    for model in ("dash_partners", "dash_progress_lights", "dash_partner_trajectory", "dash_peer_summary",
                  "dash_ace_elements", "dash_overview"):
        assert model in suites, model


def test_the_publish_list_is_read_from_the_exposures_in_the_dbt_manifest(tmp_path):
    nodes = {f"model.phakhi.{m}": {"resource_type": "model", "name": m, "schema": "marts"}
             for m in ("mart_partner_progress", "dash_partners", "dash_quality_ingest")}
    manifest = {"nodes": nodes, "exposures": {
        "exposure.phakhi.dashboard": {"name": "dashboard", "depends_on": {"nodes": list(nodes)}},
        "exposure.phakhi.open_data_partner_progress": {
            "name": "open_data_partner_progress", "config": {"meta": {"publish": {"folder": "data", "name": "partner_progress"}}},
            "depends_on": {"nodes": ["model.phakhi.mart_partner_progress"]}}}}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert dashboard_tables(path) == {m: f"marts.{m}" for m in ("mart_partner_progress", "dash_partners", "dash_quality_ingest")}
    [item] = published_tables(path)
    assert (item.folder, item.name, item.table) == ("data", "partner_progress", "marts.mart_partner_progress")
    with pytest.raises(ExposuresMissing):
        published_tables(tmp_path / "missing.json")


def test_the_yaml_exposures_publish_every_open_data_file_once():
    published = [((e.get("config") or {}).get("meta") or {}).get("publish") for e in _exposures()]
    names = [(p["folder"], p["name"]) for p in published if p]
    assert len(names) == len(set(names))
    assert {("data", n) for n in ("partner_progress", "national_progress", "province_summary", "sector_progress",
                                  "ace_indicators", "best_practices", "awareness_baseline", "awareness_change",
                                  "awareness_reliability", "awareness_waves")} <= set(names)
    assert ("quality", "quarantine") in names and ("quality", "ingest_report") in names


def _presentation_warehouse(db, lights: pd.DataFrame, partners: pd.DataFrame) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.register("lights_df", lights)
        con.register("partners_df", partners)
        con.execute("create table marts.dash_progress_lights as select * from lights_df")
        con.execute("create table marts.dash_partners as select * from partners_df")


def test_a_bad_value_in_a_presentation_mart_blocks_the_publication(tmp_path):
    from flows.pipeline import GateFailed  # noqa: F401 - the flow raises it when gate.passed is False

    suites = [s for s in load_suites() if s["name"] in ("dash_progress_lights", "dash_partners")]
    assert len(suites) == 2
    lights = pd.DataFrame({"scope": ["partner"] * 3, "code": ["P1", "P2", "P3"],
                           "track_status": ["on_track", "off_track", "no_data"],
                           "pct_of_required_path": [1.2, 0.8, None], "light": ["green", "amber", "grey"],
                           "amber_from": [0.75] * 3})
    partners = pd.DataFrame({"partner_id": ["P1", "P2", "P3"], "status": ["on_track", "off_track", "no_data"],
                             "light": ["green", "amber", "grey"], "rank_in_type": [1, 2, 1], "peer_group_size": [2, 2, 1],
                             "registry_file": ["partner_registry/partner_registry.csv"] * 3})
    good = tmp_path / "good.duckdb"
    _presentation_warehouse(good, lights, partners)
    assert run_gate(good, suites).passed

    # an off-track partner painted green: the light no longer says what the status says
    bad = tmp_path / "bad.duckdb"
    _presentation_warehouse(bad, lights.assign(light=["green", "green", "grey"]),
                            partners.assign(light=["green", "green", "grey"]))
    gate = run_gate(bad, suites)
    gate.dbt = {"success": True}
    assert not gate.passed
    blocking = {(c.suite, c.expectation) for c in gate.blocking}
    assert ("dash_partners", "expect_column_pair_values_to_be_in_set") in blocking
    assert ("dash_progress_lights", "expect_column_pair_values_to_be_in_set") in blocking
    assert "dash_partners" in gate.summary()
