"""Stage timers: one JSON line per stage with wall, CPU (children included) and peak RSS."""
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
