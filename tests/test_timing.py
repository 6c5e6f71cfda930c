"""Stage timers: one JSON line per stage with wall, CPU (children included) and peak RSS."""
import os
import subprocess
import sys

from phakhi.timing import read_stage_times, stage_timer


def test_stage_timer_records_wall_cpu_and_rss_of_the_process_tree(tmp_path):
    log = tmp_path / "runs" / "stages.jsonl"
    with stage_timer("child_work", log_to=log) as out:
        subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    with stage_timer("second", log_to=log):
        pass
    rows = read_stage_times(log)
    assert [r["stage"] for r in rows] == ["child_work", "second"]
    first = rows[0]
    assert first == {**first, "stage": "child_work"} and out["result"].wall_s == first["wall_s"]
    assert first["wall_s"] > 0 and first["cpu_s"] > 0.05      # the child's CPU counts (waited for)
    assert first["peak_rss_mb"] > 10
    assert 10 < first["own_rss_start_mb"] <= first["own_peak_rss_mb"] <= first["peak_rss_mb"] + 1
    assert read_stage_times(tmp_path / "missing.jsonl") == []


def test_milestones_go_to_the_timeline_file_only_when_one_is_named(tmp_path, monkeypatch):
    from phakhi.timing import TIMELINE_ENV, milestone

    timeline = tmp_path / "timeline.jsonl"
    monkeypatch.delenv(TIMELINE_ENV, raising=False)
    milestone("nothing written")
    assert not timeline.exists()
    monkeypatch.setenv(TIMELINE_ENV, str(timeline))
    milestone("flow called")
    with stage_timer("gate"):
        pass
    rows = read_stage_times(timeline)
    assert [r["event"] for r in rows] == ["flow called", "stage gate starts", "stage gate ends"]
    assert rows[0]["t"] <= rows[1]["t"] <= rows[2]["t"] and {r["pid"] for r in rows} == {os.getpid()}
    monkeypatch.setenv(TIMELINE_ENV, str(tmp_path / "missing-dir" / "timeline.jsonl"))
    milestone("an unwritable timeline never fails the refresh")
