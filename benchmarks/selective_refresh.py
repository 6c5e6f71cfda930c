"""A refresh builds, tests, gates and drifts only what its changed inputs reach (issue 17): wall and CPU of

  1. `phakhi refresh --force` on the same inputs as the live publication, and
  2. `phakhi refresh` after one new activity workbook for the same month (a late report),

on a private copy of a refreshed home, with the stages (runs/stages.jsonl), the dbt nodes run
(target/run_results.json) and what the build selected (the run's gate.json, dbt.build).

    .venv/bin/python benchmarks/selective_refresh.py --home var          # copies var to a temporary folder
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def late_workbook(landing: Path, partner_id: str | None = None, from_period: str = "2025-11",
                  to_period: str = "2025-12") -> Path:
    """One more activity workbook for `to_period`: a partner's `from_period` workbook with its month (title
    block, month column, activity dates) moved to `to_period`, for a partner that has none for `to_period`
    yet (default: the first such partner). Returns the new file."""
    import openpyxl

    from phakhi.sample import SAMPLE_FILES, thai_month

    folder = landing / "activity_reports"
    have = {p.name.split("_")[0] for p in (folder / to_period).glob("*.xlsx")}
    sources = sorted(p for p in (folder / from_period).glob("*.xlsx") if p.name.split("_")[0] not in have
                     and (partner_id is None or p.name.startswith(partner_id + "_")))
    if not sources:
        raise ValueError(f"no partner with a {from_period} workbook but none for {to_period}")
    src = sources[0]
    (fy, fm), (ty, tm) = (map(int, from_period.split("-")), map(int, to_period.split("-")))
    swaps = [(thai_month(from_period), thai_month(to_period)),
             (thai_month(from_period, abbr=True), thai_month(to_period, abbr=True)),
             (f"/{fm:02d}/{fy + 543}", f"/{tm:02d}/{ty + 543}"), (f"/{fm:02d}/{fy}", f"/{tm:02d}/{ty}"),
             (f"{fy}-{fm:02d}-", f"{ty}-{tm:02d}-"), (from_period, to_period)]
    wb = openpyxl.load_workbook(src)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                if isinstance(v, str):
                    for a, b in swaps:
                        v = v.replace(a, b)
                    cell.value = v
                elif isinstance(v, (datetime, date)) and (v.year, v.month) == (fy, fm):
                    cell.value = v.replace(year=ty, month=tm)
    dest = folder / to_period / src.name.replace(from_period, to_period)
    wb.save(dest)
    sample_list = landing / SAMPLE_FILES        # derived from a SAMPLE file: part of the SAMPLE home
    if sample_list.exists():
        with open(sample_list, "a", encoding="utf-8") as fh:
            fh.write(dest.relative_to(landing).as_posix() + "\n")
    return dest


def refresh(home: Path, *args: str) -> dict:
    env = {**os.environ, "PHAKHI_HOME": str(home)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).with_name("phakhi")), "refresh", *args], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"phakhi refresh {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "log": proc.stdout + proc.stderr}


def last_run(home: Path, since: float) -> dict:
    runs = sorted((home / "runs").glob("r*T*Z"), key=lambda p: p.name)
    gate = json.loads((runs[-1] / "gate.json").read_text()) if runs and (runs[-1] / "gate.json").exists() else {}
    build = (gate.get("dbt") or {}).get("build")
    stages = {}
    for line in (home / "runs" / "stages.jsonl").read_text().splitlines():
        s = json.loads(line)
        if s.get("started_at", 0) >= since:      # this run's stages
            stages[s["stage"]] = s
    rr = home / "dbt" / "target" / "run_results.json"
    nodes = {}
    if rr.exists() and build is not None and build.get("selectors") == []:
        nodes = {"(no dbt run)": 0}
    elif rr.exists():
        for r in json.loads(rr.read_text())["results"]:
            kind = r["unique_id"].split(".")[0]
            nodes[kind] = nodes.get(kind, 0) + 1
    return {"stages": {k: (v.get("wall_s"), v.get("cpu_s")) for k, v in stages.items()}, "dbt_nodes": nodes,
            "build": build, "reused_suites": len(gate.get("reused_suites") or [])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=REPO / "var", help="a refreshed home (copied, never written)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="phakhi-selective-") as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(args.home, home, symlinks=True)
        print(f"load average before: {os.getloadavg()}")
        for label, prepare, flags in (("forced, same inputs", None, ("--force",)),
                                      ("one new activity workbook", lambda: late_workbook(home / "landing"), ())):
            if prepare:
                print(f"added {prepare().relative_to(home)}")
            since = time.time()
            out = refresh(home, *flags)
            run = last_run(home, since)
            print(f"\n== {label}: wall {out['wall_s']} s, CPU {out['cpu_s']} s (phakhi refresh {' '.join(flags)})")
            for stage, (wall, cpu) in run["stages"].items():
                print(f"   {stage:<12} wall {wall} s  CPU {cpu} s")
            print(f"   dbt nodes run: {run['dbt_nodes']}; gate suites reused: {run['reused_suites']}")
            if run["build"]:
                print(f"   build: {json.dumps(run['build'], ensure_ascii=False)}")
            for line in out["log"].splitlines():
                if "drift report reused" in line or "dbt: " in line:
                    print("   log:", line.split(" - ", 1)[-1][:300])


if __name__ == "__main__":
    main()
