"""The drift report computed in a child process (phakhi.drift.survey_drift_in_child, issue 17: memory): the same
result as in this process, nothing started when there is nothing to compare, a clear error when it fails, and
nothing left behind when it is stopped before its result is taken (a failed gate: flows/pipeline.py)."""
from __future__ import annotations

import logging
import subprocess

import duckdb
import numpy as np
import pandas as pd
import pytest

from phakhi.drift import DriftFailed, start_survey_drift, survey_drift_from_warehouse, survey_drift_in_child
from phakhi.survey.instrument import load_instrument


def _warehouse(path, waves: dict[int, int], shift: float = 0.0, items: bool = True):
    """raw.survey_waves with the instrument's core items: `waves` maps wave -> respondents."""
    codes = [i["code"] for i in load_instrument()["items"] if i.get("core")]
    rng = np.random.default_rng(7)
    frames = []
    for wave, n in waves.items():
        f = pd.DataFrame({"wave": wave, "respondent_id": [f"w{wave}-{i:04d}" for i in range(n)],
                          "weight": rng.uniform(0.5, 2.0, n), "stratum": rng.choice(["s1", "s2"], n),
                          "psu": [f"p{i % 12}" for i in range(n)]})
        if items:
            for c in codes:
                p = np.array([0.1, 0.2, 0.3, 0.25 + shift * (wave > 1), 0.15])
                p = p / p.sum()
                f[c] = rng.choice([1, 2, 3, 4, 5], n, p=p)
        frames.append(f)
    data = pd.concat(frames, ignore_index=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.register("data", data)
        con.execute("create table raw.survey_waves as select * from data")
    return path


def test_nothing_to_compare_is_skipped_with_a_message_and_starts_no_process(tmp_path, caplog, monkeypatch):
    db = _warehouse(tmp_path / "w.duckdb", {1: 40})

    def no_process(*a, **k):
        raise AssertionError("no child process for a warehouse with one wave")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    with caplog.at_level(logging.WARNING, logger="phakhi.drift"):
        assert survey_drift_in_child(db, tmp_path / "drift") is None
    assert "only one survey wave (1) has been loaded" in caplog.text


def test_a_failing_child_raises_with_its_error_and_leaves_no_stale_report(tmp_path):
    db = _warehouse(tmp_path / "w.duckdb", {1: 40, 2: 40}, items=False)      # no item columns: the query fails
    out = tmp_path / "drift"
    out.mkdir()
    (out / "drift_report.json").write_text("{}", encoding="utf-8")           # a report of an earlier attempt
    with pytest.raises(DriftFailed, match="could not be computed: .*(Binder|column)"):
        survey_drift_in_child(db, out)
    assert not (out / "drift_report.json").exists()


def test_a_stopped_child_is_gone_and_leaves_no_report(tmp_path):
    db = _warehouse(tmp_path / "w.duckdb", {1: 120, 2: 120})
    out = tmp_path / "run" / "drift"
    with start_survey_drift(db, out) as pending:
        process = pending.process
        assert process.poll() is None                 # running (python + evidently start in seconds)
    assert process.returncode == -9                   # stopped on leaving the block: its result was not taken
    assert not out.exists()
    pending.cancel()                                  # again: nothing to do


def test_a_result_taken_is_kept_when_the_block_ends(tmp_path):
    db = _warehouse(tmp_path / "w.duckdb", {1: 120, 2: 120})
    with start_survey_drift(db, tmp_path / "drift") as pending:
        result = pending.result()
    assert result.json_path.is_file() and result.html_path.is_file()


@pytest.mark.integration
def test_the_child_gives_the_same_report_as_this_process(tmp_path, caplog):
    db = _warehouse(tmp_path / "w.duckdb", {1: 120, 2: 120}, shift=0.3)
    here = survey_drift_from_warehouse(db, tmp_path / "here")
    with caplog.at_level(logging.INFO, logger="phakhi.drift"):
        child = survey_drift_in_child(db, tmp_path / "child")
    pd.testing.assert_frame_equal(here.summary, child.summary)
    assert child.summary.to_dict("records") == here.summary.to_dict("records")
    assert (child.baseline_wave, child.current_wave, child.design_adjusted) == \
        (here.baseline_wave, here.current_wave, here.design_adjusted)
    assert child.html_path == tmp_path / "child" / "drift_report.html" and child.html_path.stat().st_size > 0
    assert child.summary["drifted"].any()          # the shifted wave is seen: a real report, not an empty one
