"""Benchmark: what the checks of a refresh cost - each dbt test its last build ran, and each gate suite - and how much
of it grows with the history (issue 17 build 4: "gate suites scoped to what changed where that is sound").

    .venv/bin/python benchmarks/checks.py --home /tmp/x          # a home right after a refresh (its build warehouse)

dbt tests: the compiled SQL of every test in the last build's run_results.json, run straight in DuckDB on the build
warehouse (read only, one thread; CPU seconds, best of --repeat), beside dbt's own time for the node (wall, two
threads, dbt's per-node work included). A test is marked `history` when a parent is an incremental fact or a view
over a raw table: the tests whose work grows with every month kept, whatever the month added. The difference
between the two totals is dbt's per-node cost (compiling, events, results), paid whatever the rows.

Gate: each suite of expectations/ as phakhi/quality/gate.py runs it (rows read, digest, GX validation), CPU seconds.

What it showed at quarter scale (12th month on 11, see the dbt25 lane report): the history tests' SQL is a few
hundredths of a second each; the month's dbt test nodes cost ~4 s CPU in dbt, of which their SQL ~1 s; the one gate
suite growing with the history is a distribution (`mostly`) over every activity, which is not sound to scope.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def history_parents(manifest: dict, unique_id: str) -> list[str]:
    """The test's parents whose rows accumulate month after month: incremental models, views over raw sources."""
    nodes = manifest.get("nodes", {})
    out = []
    for parent in manifest["nodes"].get(unique_id, {}).get("depends_on", {}).get("nodes", []):
        node = nodes.get(parent, {})
        config = node.get("config", {})
        over_source = any(p.startswith("source.") for p in node.get("depends_on", {}).get("nodes", []))
        if config.get("materialized") == "incremental" or (config.get("materialized") == "view" and over_source):
            out.append(parent.split(".")[-1])
    return out


def dbt_tests(con, target: Path, repeat: int) -> list[dict]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())
    rows = []
    for r in results:
        if not r["unique_id"].startswith("test.") or not r.get("compiled_code"):
            continue
        best = float("inf")
        for _ in range(repeat):
            c0 = time.process_time()
            con.execute(r["compiled_code"]).fetchall()
            best = min(best, time.process_time() - c0)
        rows.append({"test": r["unique_id"].split(".")[2], "dbt_s": r["execution_time"], "sql_cpu_s": best,
                     "history": history_parents(manifest, r["unique_id"])})
    return sorted(rows, key=lambda x: -x["sql_cpu_s"])


def gate_suites(warehouse: Path) -> list[dict]:
    import duckdb

    from phakhi.quality import gate

    suites = gate.load_suites()
    ctx = gate._LazyContext(assets=[spec["name"] for spec in suites])
    ctx.ctx                                      # GX's import and context: not any suite's cost
    rows = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        catalog = gate.table_columns(con)
        for spec in suites:
            c0 = time.process_time()
            frame, parameters, _digest = gate.read_suite(con, spec, catalog)
            c1 = time.process_time()
            gate._validate(ctx.ctx, ctx.source, spec, frame, parameters)
            c2 = time.process_time()
            rows.append({"suite": spec["name"], "rows": len(frame), "read_cpu_s": c1 - c0, "validate_cpu_s": c2 - c1,
                         "mostly": sum(1 for e in spec["expectations"] if "mostly" in e.get("kwargs", {})),
                         "expectations": len(spec["expectations"])})
    return sorted(rows, key=lambda x: -(x["read_cpu_s"] + x["validate_cpu_s"]))


def main() -> None:
    import duckdb

    from phakhi.settings import Paths

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", required=True)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--no-gate", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    paths = Paths.from_env(args.home)
    con = duckdb.connect()
    con.execute("set threads = 1")
    # the compiled SQL names the build warehouse's catalog and the history database as dbt attached them
    con.execute(f"attach '{paths.build_db}' as {paths.build_db.stem} (read_only)")
    con.execute(f"attach '{paths.history_db}' as history (read_only)")
    con.execute(f"use {paths.build_db.stem}")
    tests = dbt_tests(con, paths.dbt_work / "target", args.repeat)
    con.close()
    hist = [t for t in tests if t["history"]]
    print(f"dbt tests of the last build: {len(tests)}; dbt's node time {sum(t['dbt_s'] for t in tests):.2f} s, "
          f"their SQL {sum(t['sql_cpu_s'] for t in tests):.2f} s CPU (one thread); {len(hist)} read a history "
          f"(incremental fact or view over raw): SQL {sum(t['sql_cpu_s'] for t in hist):.2f} s CPU")
    for t in tests[:args.top]:
        print(f"  {t['sql_cpu_s']:6.3f} s SQL  {t['dbt_s']:6.2f} s dbt  {t['test'][:60]:60s} "
              f"{'history: ' + ', '.join(t['history']) if t['history'] else ''}")
    suites = [] if args.no_gate else gate_suites(paths.build_db)
    if suites:
        print(f"gate suites: {len(suites)}; read + digest {sum(s['read_cpu_s'] for s in suites):.2f} s CPU, "
              f"validation {sum(s['validate_cpu_s'] for s in suites):.2f} s CPU")
        for s in suites[:args.top]:
            print(f"  {s['read_cpu_s'] + s['validate_cpu_s']:6.3f} s  (read {s['read_cpu_s']:.3f}, validate "
                  f"{s['validate_cpu_s']:.3f})  {s['rows']:>9,} rows  {s['expectations']:2d} expectations "
                  f"({s['mostly']} with mostly)  {s['suite']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"tests": tests, "suites": suites}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
