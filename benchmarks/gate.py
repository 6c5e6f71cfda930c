"""Benchmark: the refresh's gate stage (phakhi/quality/gate.py:run_gate) over a home's build warehouse, CPU seconds.

    .venv/bin/python benchmarks/gate.py --home /tmp/x                                   # every suite validated
    .venv/bin/python benchmarks/gate.py --home /tmp/x --previous /tmp/h11/warehouse/phakhi.inputs.json  # a month
    .venv/bin/python benchmarks/gate.py --home /tmp/x --save a.json ; ... --compare a.json             # verdicts

run_gate runs on a copy of the build warehouse (in a temporary folder), with great-expectations imported first and
timed on its own (the refresh imports it while dbt runs, or in the background at the gate's start). `--previous`:
a publication's inputs file (warehouse/phakhi.inputs.json of the home the month was added to), whose gate memo is
reused as the refresh does for a new month. Printed: the import, then run_gate's wall and CPU (best of
--repeat; each repeat a fresh GX context, as each refresh has). `--save` keeps the verdicts (checks, reused
suites, pass/fail; no timings, ids or paths); `--compare` says whether this run's are the same and where not.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def verdicts(gate) -> dict:
    """What a gate decided and reports, without what changes from run to run (the Data Docs' folder)."""
    d = gate.to_dict()
    d.pop("data_docs", None)
    return json.loads(json.dumps(d, sort_keys=True, default=str))


def differences(a: dict, b: dict) -> list[str]:
    out = [f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted(set(a) | set(b)) if k != "checks" and a.get(k) != b.get(k)]
    ca, cb = a.get("checks", []), b.get("checks", [])
    if len(ca) != len(cb):
        out.append(f"{len(ca)} checks != {len(cb)}")
    for x, y in zip(ca, cb):
        if x != y:
            keys = [k for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)]
            out.append(f"{x.get('suite')}.{x.get('expectation')}({x.get('column')}): differs in {keys}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", required=True)
    ap.add_argument("--previous", help="a publication's inputs json: its gate memo is reused (a month's gate)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--save")
    ap.add_argument("--compare")
    ap.add_argument("--json")
    args = ap.parse_args()

    c0, w0 = time.process_time(), time.perf_counter()
    import great_expectations  # noqa: F401

    from phakhi.quality.gate import run_gate
    from phakhi.settings import Paths
    imported = (time.process_time() - c0, time.perf_counter() - w0)
    previous = json.loads(Path(args.previous).read_text())["gate"] if args.previous else None
    paths = Paths.from_env(args.home)
    runs = []
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
        warehouse = Path(tmp) / paths.build_db.name
        shutil.copy2(paths.build_db, warehouse)
        for _ in range(args.repeat):
            c, w = time.process_time(), time.perf_counter()
            gate = run_gate(warehouse, previous=previous, template_cache=Path(tmp) / "templates")
            runs.append({"cpu_s": time.process_time() - c, "wall_s": time.perf_counter() - w})
            docs = sorted(p.relative_to(gate.data_docs).as_posix() for p in gate.data_docs.rglob("*.html"))
            if gate.data_docs.parent == Path(tempfile.gettempdir()) and gate.data_docs.name.startswith("tmp"):
                shutil.rmtree(gate.data_docs, ignore_errors=True)            # GX's temporary site of this run
    best = min(runs, key=lambda r: r["cpu_s"])
    v = verdicts(gate)
    print(f"great-expectations import: {imported[0]:.2f} s CPU ({imported[1]:.2f} s wall)")
    every = ", ".join(f"{r['cpu_s']:.2f}" for r in runs)
    print(f"run_gate: best of {len(runs)} {best['cpu_s']:.2f} s CPU / {best['wall_s']:.2f} s wall "
          f"(all CPU: {every}); {len(v['checks'])} checks, "
          f"{len(v['reused_suites'])} suites reused, passed={v['passed']}, blocking {v['blocking']}, "
          f"warnings {v['warnings']}; Data Docs {len(docs)} pages")
    if args.save:
        Path(args.save).write_text(json.dumps(v, indent=1, sort_keys=True), encoding="utf-8")
    if args.compare:
        diff = differences(json.loads(Path(args.compare).read_text()), v)
        print("verdicts: the same as " + args.compare if not diff else "verdicts DIFFER:\n  " + "\n  ".join(diff))
    if args.json:
        Path(args.json).write_text(json.dumps({"import": imported, "runs": runs, "pages": len(docs)}, indent=1),
                                   encoding="utf-8")


if __name__ == "__main__":
    main()
