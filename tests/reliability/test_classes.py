"""One test per class of issue 12 that the corpus alone does not pin down: the period rule, the registry rule,
a reader crash isolated in its worker, the refresh lock, the supervisor, the publish order, the gate naming
partner/file/row and tolerating noise, the n < 30 rule."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from phakhi.doctor import ACTIVITY_HEADER, REGISTRY_HEADER, REGISTRY_ROWS, activity_row, csv_bytes


# ------------------------------------------------------------------ periods (Build 3)
def test_default_refresh_never_publishes_a_later_month_sent_by_one_partner():
    from datetime import datetime, timezone

    from phakhi.periods import publishable_period

    at = datetime(2026, 1, 10, tzinfo=timezone.utc)
    assert publishable_period(None, {"2025-11": 50, "2025-12": 48, "2026-01": 1}, at) == ("2025-12", ["2026-01"])
    # a month after the current one is never the default, however many partners sent it
    assert publishable_period(None, {"2025-12": 48, "2026-02": 60}, at) == ("2025-12", ["2026-02"])
    # a month with most partners reported is published even when the busiest month had a few more
    assert publishable_period(None, {"2025-11": 50, "2025-12": 30}, at) == ("2025-12", [])


def test_requested_month_is_published_and_later_months_held():
    from phakhi.periods import NoPublishableMonth, publishable_period

    assert publishable_period("2025-06", {"2025-06": 3, "2025-07": 40, "2025-05": 40}) == ("2025-06", ["2025-07"])
    with pytest.raises(NoPublishableMonth, match="pass --period"):
        publishable_period(None, {})


def test_the_flow_counts_partners_per_month():
    from flows.pipeline import partners_by_month
    from phakhi.ingest.files import FamilyResult

    loaded = pd.DataFrame({"partner_id": ["P1", "P1", "P2", "P3"], "period": ["2025-01", "2025-01", "2025-01", "2026-09"]})
    assert partners_by_month([FamilyResult("activity_reports", loaded, pd.DataFrame())]) == {"2025-01": 2, "2026-09": 1}


# ------------------------------------------------------------------ registry (Build 4)
def test_a_partner_repeated_in_a_second_registry_file_is_kept_with_the_latest_entry(tmp_path):
    from phakhi.ingest.files import assemble_family, ingest_file
    from phakhi.ingest.landing import known_ids

    first, second = tmp_path / "registry_2024.csv", tmp_path / "registry_update.csv"
    first.write_bytes(csv_bytes(REGISTRY_HEADER, REGISTRY_ROWS))
    second.write_bytes(csv_bytes(REGISTRY_HEADER, [REGISTRY_ROWS[0][:6] + ["61000", "2573", "20"]]))
    os.utime(first, (1_700_000_000, 1_700_000_000))
    res = assemble_family("partner_registry", [ingest_file("partner_registry", p, tmp_path) for p in (first, second)])
    reg = res.loaded.set_index("partner_id")
    assert sorted(reg.index) == ["P001", "P002", "P003"]                 # nobody vanished
    assert reg.loc["P001", "baseline_tco2e"] == 61000 and reg.loc["P001", "_file"] == "registry_update.csv"
    q = res.quarantine
    assert list(q["rule"]) == ["replaced_by_later_entry"] and q["file"].iloc[0] == "registry_2024.csv"
    assert "registry_update.csv row 2" in q["message_en"].iloc[0]
    # the partner's reports still find it in the registry
    report = tmp_path / "act.csv"
    report.write_bytes(csv_bytes(ACTIVITY_HEADER, [activity_row(1), activity_row(2)]))
    out = ingest_file("activity_reports", report, tmp_path, known_ids("activity_reports", res))
    assert out.status == "loaded" and out.rows_loaded == 2


# ------------------------------------------------------------------ a reader crash stays in its worker (Build 1)
def test_a_native_crash_in_a_reader_rejects_that_file_and_spares_the_run(tmp_path, monkeypatch):
    from phakhi.ingest import files

    monkeypatch.setenv("PHAKHI_INGEST_START_METHOD", "fork")
    from phakhi.settings import settings
    if hasattr(settings, "cache_clear"):
        settings.cache_clear()
    real = files.ingest_file

    def crashing(family, path, landing=None, known=None):
        if Path(path).name == "boom.csv":
            os.abort()                                    # what calamine did on XFD1048576
        return real(family, path, landing, known)

    monkeypatch.setattr(files, "ingest_file", crashing)
    monkeypatch.setattr(files, "MIN_FILES_FOR_POOL", 2)
    paths = []
    for name in ("a.csv", "boom.csv", "c.csv", "d.csv"):
        p = tmp_path / name
        p.write_bytes(csv_bytes(ACTIVITY_HEADER, [activity_row(1)]))
        paths.append(p)
    files.shutdown_pool()
    try:
        out = files.ingest_files("activity_reports", paths, tmp_path, None, workers=2)
    finally:
        files.shutdown_pool()
        if hasattr(settings, "cache_clear"):
            settings.cache_clear()
    by = {o.file: o for o in out}
    assert by["boom.csv"].status == "rejected" and by["boom.csv"].rule == "reader_crashed"
    assert "crashed" in by["boom.csv"].reason_en and by["boom.csv"].reason_th
    assert all(by[n].status == "loaded" for n in ("a.csv", "c.csv", "d.csv"))


def test_a_crashed_refresh_leaves_nothing_of_its_process_group_running(tmp_path):
    from phakhi.supervise import run_group

    pidfile = tmp_path / "server.pid"
    code = run_group([sys.executable, "-c",
                      "import os, subprocess, sys\n"
                      "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                      f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
                      "os.abort()"])
    assert code == 2
    pid = int(pidfile.read_text())
    time.sleep(0.3)
    with pytest.raises(ProcessLookupError):       # the "temporary server" went with the crashed refresh
        os.kill(pid, 0)
        # a zombie still answers kill(0) until reaped by init: check its state instead
        if Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0:
            raise ProcessLookupError


# ------------------------------------------------------------------ one refresh per home (Build 7)
def test_a_second_refresh_is_refused_naming_the_running_one(tmp_path):
    from typer.testing import CliRunner

    from phakhi.cli import app
    from phakhi.lock import RefreshLocked, refresh_lock

    home = tmp_path / "home"
    holder = subprocess.Popen([sys.executable, "-c", "import time; from phakhi.lock import refresh_lock\n"
                               f"with refresh_lock({str(home)!r}, 'r20251201T000000Z'):\n"
                               " print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RefreshLocked, match="r20251201T000000Z"):
            with refresh_lock(home, "second"):
                pass
        out = CliRunner().invoke(app, ["refresh", "--home", str(home)])
        assert out.exit_code == 1 and "another refresh is running" in out.output + (out.stderr or "")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with refresh_lock(home, "third"):              # the kernel released the killed holder's lock
        pass


def test_publish_switches_the_warehouse_first_and_puts_it_back_on_failure(tmp_path, monkeypatch):
    import duckdb

    import flows.pipeline as pipeline
    from phakhi.settings import Paths

    paths = Paths(tmp_path / "home").ensure()
    for db, marker in ((paths.build_db, "new"), (paths.published_db, "old")):
        with duckdb.connect(str(db)) as con:
            con.execute(f"create table which as select '{marker}' as w")

    def marker(db):
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute("select w from which").fetchone()[0]

    seen = {}

    def build(paths_, period, run_id, *a):
        seen["warehouse_during_build"] = marker(paths_.published_db)
        raise RuntimeError("boom")

    monkeypatch.setattr("phakhi.publish.build.build_publication", build)
    with pytest.raises(RuntimeError, match="boom"):
        pipeline.publish.fn(paths, "2025-04", "r1", None, None)
    assert seen["warehouse_during_build"] == "new"             # switched before `latest`
    assert marker(paths.published_db) == "old"                 # and put back: it matches the live site
    assert not list(paths.warehouse_dir.glob("*.previous"))


# ------------------------------------------------------------------ gate (Builds 2 and 6)
def test_gate_messages_name_partner_file_and_row(tmp_path):
    from phakhi.quality.gate import Check, GateResult, trace_sources

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema staging; create schema raw")
        con.execute("create table staging.stg_ghg as select 'R7' as reduction_id, 'P042' as partner_id, "
                    "'2025-03' as period, 99999999.0 as reduction_tco2e")
        con.execute("create table raw.ghg_reductions as select 'P042' as partner_id, '2025-03' as period, "
                    "'ghg_reductions/ghg_2025-03.csv' as _file, 53 as _row")
    suite = {"name": "stg_ghg", "table": "staging.stg_ghg", "row_id": ["reduction_id"]}
    with duckdb.connect(str(db), read_only=True) as con:
        sources = trace_sources(con, suite, [{"reduction_id": "R7", "reduction_tco2e": 99999999.0}])
    assert sources == ["reduction_id=R7: partner P042, file ghg_reductions/ghg_2025-03.csv, row 53"]
    check = Check("stg_ghg", "expect_column_values_to_be_between", "reduction_tco2e", "critical", False, 10, 1,
                  [99999999.0], [{"reduction_id": "R7"}], sources=sources)
    assert "partner P042, file ghg_reductions/ghg_2025-03.csv, row 53" in GateResult([check]).summary()


def test_gate_tolerates_floating_point_noise_but_not_a_real_shortfall():
    from phakhi.quality.gate import with_tolerance

    suite = {"expectations": [{"type": "expect_column_pair_values_a_to_be_greater_than_b",
                               "kwargs": {"column_A": "p_adjusted", "column_B": "p_value", "or_equal": True}}]}
    frame = pd.DataFrame({"p_adjusted": [0.9970038774445091, 0.04, 1.0], "p_value": [0.9970038774445092, 0.05, 1.0]})
    out = with_tolerance(frame, suite)
    assert out["p_adjusted"].iloc[0] >= out["p_value"].iloc[0]          # noise: no failure
    assert out["p_adjusted"].iloc[1] < out["p_value"].iloc[1]           # a real shortfall still fails
    assert frame["p_adjusted"].iloc[0] == 0.9970038774445091            # the warehouse's frame is not changed


# ------------------------------------------------------------------ n < 30 (Build 6)
def test_reliability_is_withheld_below_thirty_respondents():
    from phakhi.doctor import _probe_small_wave

    assert _probe_small_wave().ok


@pytest.mark.integration
def test_drift_report_withholds_items_and_waves_below_thirty(tmp_path):
    import numpy as np

    from phakhi.drift import drift_report

    rng = np.random.default_rng(3)

    def wave(n):
        return pd.DataFrame({"k1": rng.integers(1, 6, n), "k2": rng.integers(1, 6, n)})

    assert drift_report(wave(400), wave(24), ["k1", "k2"], {8, 9}, tmp_path / "a", 2023, 2025) is None
    big = wave(400)
    small_item = wave(400)
    small_item.loc[30:, "k2"] = 9                                  # k2 answered by 30 -> kept; make it 29
    small_item.loc[29, "k2"] = 9
    res = drift_report(big, small_item, ["k1", "k2"], {8, 9}, tmp_path / "b", 2023, 2025)
    assert list(res.summary["item"]) == ["k1"]
    import json
    assert json.loads(res.json_path.read_text(encoding="utf-8"))["withheld_items_n_below_min"] == ["k2"]


# ------------------------------------------------------------------ a single-PSU stratum (Build 2: one wave's stratum never blocks)
def test_a_single_psu_stratum_is_reported_not_blocking():
    import numpy as np

    from phakhi.quality.gate import load_suites
    from phakhi.survey.design import Design, estimate

    suite = next(s for s in load_suites() if s["name"] == "survey_design_psus")
    assert {e["severity"] for e in suite["expectations"]} == {"warning"}
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"stratum": ["a"] * 40 + ["b"] * 40 + ["lonely"] * 10,
                       "psu": [f"a{i // 10}" for i in range(40)] + [f"b{i // 10}" for i in range(40)] + ["l0"] * 10,
                       "weight": 1.0, "y": rng.normal(50, 10, 90)})
    design = Design(weights="weight", strata="stratum", psu=("psu",))
    est = estimate(df, design, "mean", "y", lonely_psu="adjust").iloc[0]
    assert np.isfinite(est["se"]) and est["se"] > 0
