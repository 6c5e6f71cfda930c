"""Floors for the refresh's stages: what the bare work costs on this machine, without the platform around it.

    .venv/bin/python benchmarks/floor.py --home /tmp/phakhi-nat [--json floor.json]

read   every landing file read into Python values on all cores: .xlsx with python-calamine (every sheet),
       .csv decoded and split by the csv module, .sav with pyreadstat — no contract, no settling.
dbt    every SQL model's compiled SQL (`dbt compile --full-refresh`, outside the timing) executed directly in
       one DuckDB connection, in dependency order, on a copy of the last build warehouse. Python models (the
       survey estimators) and dbt's tests are not in this floor; their tables come from the copy.

Run it on a PHAKHI_HOME that has been refreshed once (the dbt floor needs the build warehouse).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _read_one(path: str) -> int:
    """Cells read from one file (the value is only returned so the work cannot be skipped)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(path)
        return sum(len(r) for name in wb.sheet_names for r in wb.get_sheet_by_name(name).to_python())
    if suffix == ".sav":
        import pyreadstat

        df, _ = pyreadstat.read_sav(path)
        return df.size
    data = p.read_bytes()
    for enc in ("utf-8-sig", "cp874"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    return sum(len(r) for r in csv.reader(io.StringIO(text)))


def _read_chunk(paths: list[str]) -> tuple[int, float]:
    c = time.process_time()
    return sum(_read_one(p) for p in paths), time.process_time() - c


def read_floor(landing: Path, workers: int | None = None) -> dict:
    files = sorted(str(p) for p in landing.rglob("*") if p.is_file() and not p.name.startswith((".", "~$"))
                   and p.suffix.lower() in (".xlsx", ".csv", ".sav", ".xls", ".ods"))
    workers = workers or os.cpu_count() or 1
    chunks = [files[i::workers * 8] for i in range(workers * 8)]
    t, c = time.perf_counter(), time.process_time()
    with ProcessPoolExecutor(workers) as pool:
        done = list(pool.map(_read_chunk, chunks))
    return {"files": len(files), "cells": sum(n for n, _ in done), "workers": workers,
            "wall_s": round(time.perf_counter() - t, 3), "cpu_s": round(sum(c for _, c in done), 3)}


def _topological(models: dict[str, dict]) -> list[str]:
    order, seen = [], set()

    def visit(uid):
        if uid in seen:
            return
        seen.add(uid)
        for dep in models[uid]["depends_on"]["nodes"]:
            if dep in models:
                visit(dep)
        order.append(uid)
    for uid in sorted(models):
        visit(uid)
    return order


def dbt_floor(home: Path) -> dict:
    """Compiled SQL of every SQL model, straight in DuckDB (one connection), on a copy of the build warehouse."""
    import duckdb

    from phakhi.settings import Paths
    from phakhi.transform import _last_build_period, run_dbt

    paths = Paths.from_env(home)
    period = _last_build_period(paths) or "2025-12"
    with tempfile.TemporaryDirectory(prefix="phakhi-floor-") as tmp:
        # the same catalog name ("build") as the real warehouse: compiled SQL names relations with it
        copy = Path(tmp) / paths.build_db.name
        shutil.copyfile(paths.build_db, copy)
        target = Path(tmp) / "target"
        parsed = paths.dbt_work / "target" / "partial_parse.msgpack"
        if parsed.exists():
            target.mkdir()
            shutil.copyfile(parsed, target / "partial_parse.msgpack")
        outcome = run_dbt(paths, period, command="compile", extra=["--full-refresh"], warehouse=copy, target=target)
        if not outcome.success:
            raise RuntimeError(f"dbt compile failed: {outcome.failures}")
        manifest = json.loads((target / "manifest.json").read_text())
        models = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
        sql_models = [u for u in _topological(models) if models[u]["language"] == "sql"]
        con = duckdb.connect(str(copy))
        con.execute(f"attach '{paths.history_db}' as history (read_only)")
        t, c = time.perf_counter(), time.process_time()
        for uid in sql_models:
            m = models[uid]
            kind = "view" if m["config"]["materialized"] == "view" else "table"
            con.execute(f"create or replace {kind} {m['relation_name']} as {m['compiled_code']}")
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        con.close()
    return {"sql_models": len(sql_models), "python_models_skipped": len(models) - len(sql_models),
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--skip-dbt", action="store_true")
    args = ap.parse_args(argv)
    import phakhi  # noqa: F401  (telemetry opt-outs)

    out = {"read": read_floor(args.home / "landing"), "load_average_1min": round(os.getloadavg()[0], 2)}
    print(f"read floor: {out['read']}")
    if not args.skip_dbt:
        out["dbt"] = dbt_floor(args.home)
        print(f"dbt floor:  {out['dbt']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
