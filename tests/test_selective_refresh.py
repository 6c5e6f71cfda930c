"""A refresh builds, tests and drifts only what its changed inputs reach (phakhi/selection.py) - and publishes
exactly what a from-scratch (`--full`) refresh of the same inputs publishes.

On a copy of the session's refreshed SAMPLE home: (1) one late activity workbook for the same month: the
selective refresh rebuilds only what raw.activity_reports (and the file ledger) reach, reuses the drift report,
and its publication equals a --full refresh's, file for file; (2) a changed survey answer and another month:
the awareness marts are rebuilt and drift is computed again, and again it equals --full."""
import importlib.util
import json
import os
from pathlib import Path

import pytest

from phakhi.settings import REPO_ROOT
from phakhi.selection import raw_digests
from test_refresh_integration import _normalised

pytestmark = pytest.mark.integration

AUDIT_RECORD = {"quality/gate.json", "quality.html"}    # says what this run did (suites reused, nodes built)


def _bench():
    spec = importlib.util.spec_from_file_location("selective_refresh", REPO_ROOT / "benchmarks" / "selective_refresh.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def home(copy_sample, tmp_path_factory):
    return copy_sample(tmp_path_factory.mktemp("selective")).paths


def _run(paths, **kw):
    """Refresh; returns (publication folder, the run's gate.json, the published warehouse's marts digests)."""
    from flows.pipeline import monthly_refresh

    pub = Path(monthly_refresh(home=str(paths.home), **kw))
    run_id = pub.name.split("-", 2)[2]
    gate = json.loads((paths.runs / run_id / "gate.json").read_text(encoding="utf-8"))
    return pub, gate, raw_digests(paths.published_db, schema="marts")


def _assert_same_publication(a: Path, b: Path, marts_a: dict, marts_b: dict):
    na, nb = _normalised(a, a.name), _normalised(b, b.name)
    assert na.keys() == nb.keys()
    assert sorted(k for k in na if na[k] != nb[k] and k not in AUDIT_RECORD) == []
    assert marts_a == marts_b                                   # every published table, row for row
    checks = [json.loads((p / "quality" / "gate.json").read_text())["checks"] for p in (a, b)]
    assert checks[0] == checks[1]


def test_a_late_workbook_rebuilds_only_what_it_reaches_and_publishes_what_full_does(home):
    live = os.readlink(home.latest)
    added = _bench().late_workbook(home.landing)
    assert added.parent.name == "2025-12"
    pub, gate, marts = _run(home)
    build = gate["dbt"]["build"]
    assert build["mode"] == "incremental" and build["changed"] == ["activity_reports", "ingest_manifest"]
    assert build["selectors"] == ["source:ingestion.ingest_manifest+", "source:partner_reports.activity_reports+"]
    assert build["drift_reused_from"] == live and not build["period_changed"]
    # only the workbook's month changed in what the activities read: their column tests check its rows, the fact
    # recomputes it (the GHG claims' models and tests run through the file ledger's source but read no changed
    # row: scoped to no month)
    assert build["scoped_to_periods"] == {
        "models": {"fct_activities": ["2025-12"], "fct_ghg_reductions": [], "int_ghg__claims_deduplicated": []},
        "tests": {"fct_activities": ["2025-12"], "stg_partner_reports__activities": ["2025-12"],
                  "fct_ghg_reductions": [], "int_ghg__claims_deduplicated": [], "int_ghg__reductions_converted": [],
                  "stg_partner_reports__ghg_reductions": []}}
    ran = json.loads((home.dbt_work / "target" / "run_results.json").read_text())["results"]
    ran_ids = {r["unique_id"] for r in ran}
    assert "model.phakhi.fct_activities" in ran_ids and "model.phakhi.mart_partner_progress" in ran_ids
    assert not any("awareness_baseline" in n or n.startswith(("seed.", "snapshot.")) for n in ran_ids)
    # tests with a rebuilt and an unbuilt parent still run: fct_activities' column checks hold its
    # relationships to the registry's staging model and to a seed
    assert any(n.startswith("test.phakhi.columns_fct_activities.") for n in ran_ids)
    assert "model.phakhi.stg_registry__partners" not in ran_ids
    # the new workbook's rows are published
    with __import__("duckdb").connect(str(home.published_db), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_activities where partner_id = ? and period = '2025-12'",
                           [added.name.split("_")[0]]).fetchone()[0] > 0
    full, full_gate, full_marts = _run(home, full=True)
    assert full_gate["dbt"]["build"]["mode"] == "fresh"
    _assert_same_publication(pub, full, marts, full_marts)


def test_a_changed_wave_rebuilds_the_awareness_marts_and_recomputes_drift(home):
    import csv

    wave = home.landing / "survey_waves" / "wave_2023.csv"
    with wave.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    k1 = rows[0].index("k1")
    rows[1][k1] = "5" if rows[1][k1] != "5" else "4"          # one respondent's answer, still on the scale
    with wave.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    live_drift = json.loads((home.latest / "drift" / "drift_report.json").read_text(encoding="utf-8"))
    pub, gate, marts = _run(home, period="2025-11")            # and another month: what reads it is rebuilt
    build = gate["dbt"]["build"]
    assert build["mode"] == "incremental" and "survey_waves" in build["changed"] and build["period_changed"]
    assert build["drift_reused_from"] is None
    ran_ids = {r["unique_id"] for r in json.loads((home.dbt_work / "target" / "run_results.json").read_text())["results"]}
    assert {"model.phakhi.mart_awareness_baseline", "model.phakhi.mart_awareness_waves",
            "model.phakhi.mart_partner_progress", "model.phakhi.dash_period"} <= ran_ids
    drift = json.loads((pub / "drift" / "drift_report.json").read_text(encoding="utf-8"))
    assert drift["baseline_wave"] == 2023
    full, _, full_marts = _run(home, period="2025-11", full=True)
    _assert_same_publication(pub, full, marts, full_marts)
    # drift was computed from the changed wave: not the live publication's report
    assert drift["items"] != live_drift["items"]
