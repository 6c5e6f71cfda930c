"""One command: a refresh at a given scale, per stage wall / CPU / peak RSS and the ratio to its floor.

    .venv/bin/python benchmarks/refresh.py --home /tmp/phakhi-nat --scale 0.05            # generate + refresh
    .venv/bin/python benchmarks/refresh.py --home /tmp/phakhi-nat --scale 0.05 --months 11 # a history ...
    .venv/bin/python benchmarks/refresh.py --home /tmp/phakhi-nat --scale 0.05 --months 12 # ... + one new month
    .venv/bin/python benchmarks/refresh.py --home var --no-generate                        # any PHAKHI_HOME

Steps: (1) write/complete the national landing area (benchmarks/national.py; skipped with --no-generate),
(2) `phakhi refresh` as a subprocess, timed as a whole (wall, CPU of the process tree, peak RSS of the largest
process), (3) the stage timers the flow wrote ($PHAKHI_HOME/runs/stages.jsonl, phakhi/timing.py),
(4) the floors (benchmarks/floor.py: reading every file with calamine on all cores; the compiled SQL in
DuckDB), unless --no-floor. Prints one table; --json keeps the figures.

"other" = the whole refresh minus the timed stages: Python and Prefect start-up, Prefect's temporary API,
the flow's own glue. Wall times on a shared machine depend on its load (printed); CPU seconds less so.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))   # national.py, floor.py

STAGES = ["ingest", "load_raw", "dbt_build", "gate", "drift", "publish"]
FLOOR_OF = {"ingest": "read", "dbt_build": "dbt"}


def run_refresh(home: Path, period: str | None, extra: list[str]) -> dict:
    from phakhi.timing import read_stage_times

    stages_file = home / "runs" / "stages.jsonl"
    seen = len(read_stage_times(stages_file))
    cmd = [str(Path(sys.executable).with_name("phakhi")), "refresh", "--home", str(home), *extra]
    if period:
        cmd += ["--period", period]
    env = {**os.environ, "PHAKHI_PROGRESS": "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    (home / "runs").mkdir(parents=True, exist_ok=True)
    (home / "runs" / "benchmark-last.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise SystemExit(f"refresh failed ({proc.returncode}); log: {home / 'runs' / 'benchmark-last.log'}\n"
                         + (proc.stdout + proc.stderr)[-3000:])
    stages = read_stage_times(stages_file)[seen:]
    return {"wall_s": round(wall, 2),
            "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
            "peak_rss_mb_largest_process": round(after.ru_maxrss / 1024, 1),
            "stages": stages}


def table(run: dict, floor: dict | None) -> str:
    rows = [f"{'stage':12}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}{'floor s':>9}{'ratio':>8}"
            f"{'floor CPU s':>13}{'CPU ratio':>11}{'refresh MB at start/peak':>26}"]
    by = {}
    for s in run["stages"]:          # a stage may run twice (retries): sum
        b = by.setdefault(s["stage"], {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0})
        b["wall_s"] += s["wall_s"]
        b["cpu_s"] += s["cpu_s"]
        b["peak_rss_mb"] = max(b["peak_rss_mb"], s["peak_rss_mb"])
        b.setdefault("own_start", s.get("own_rss_start_mb"))      # the refresh process alone (older logs: none)
        b["own_peak"] = max(b.get("own_peak") or 0.0, s.get("own_peak_rss_mb") or 0.0)
    for name in STAGES + sorted(set(by) - set(STAGES)):
        if name not in by:
            continue
        b = by[name]
        fl = (floor or {}).get(FLOOR_OF.get(name, ""), {})
        f, fc = fl.get("wall_s"), fl.get("cpu_s")
        ratio = f"{b['wall_s'] / f:8.1f}" if f else f"{'-':>8}"
        cratio = f"{b['cpu_s'] / fc:11.1f}" if fc else f"{'-':>11}"
        rows.append(f"{name:12}{b['wall_s']:9.1f}{b['cpu_s']:9.1f}{b['peak_rss_mb']:13.0f}"
                    f"{(f'{f:9.1f}' if f else f'{chr(45):>9}')}{ratio}{(f'{fc:13.1f}' if fc else f'{chr(45):>13}')}{cratio}"
                    + (f"{b['own_start']:>17.0f} / {b['own_peak']:<6.0f}" if b.get("own_start") else ""))
    other = run["wall_s"] - sum(b["wall_s"] for b in by.values())
    rows.append(f"{'other':12}{other:9.1f}{'':9}{'':13}{'':9}{'':>8}")
    floors = sum(v.get("wall_s", 0) for k, v in (floor or {}).items() if isinstance(v, dict))
    rows.append(f"{'WHOLE':12}{run['wall_s']:9.1f}{run['cpu_s']:9.1f}{run['peak_rss_mb_largest_process']:13.0f}"
                + (f"{floors:9.1f}{run['wall_s'] / floors:8.1f}" if floors else ""))
    return "\n".join(rows)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--period", default=None, help="YYYY-MM (default: the latest month landed)")
    ap.add_argument("--no-generate", action="store_true")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    home = args.home.resolve()
    out: dict = {"home": str(home), "cpu_count": os.cpu_count()}
    if not args.no_generate:
        t = time.perf_counter()
        out["landing"] = _generate(home, args.scale, args.months)
        print(f"landing: {out['landing']} ({time.perf_counter() - t:.0f}s)")
    out["load_average_before"] = round(os.getloadavg()[0], 2)
    out["refresh"] = run_refresh(home, args.period, [])
    out["load_average_after"] = round(os.getloadavg()[0], 2)
    if not args.no_floor:
        from floor import dbt_floor, read_floor

        out["floor"] = {"read": read_floor(home / "landing"), "dbt": dbt_floor(home)}
    print(table(out["refresh"], out.get("floor")))
    print(f"load average {out['load_average_before']} -> {out['load_average_after']} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


def _generate(home: Path, scale: float, months: int) -> dict:
    from national import generate

    return generate(home / "landing", scale, months)


if __name__ == "__main__":
    main()
