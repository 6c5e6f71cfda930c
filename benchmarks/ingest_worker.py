"""The pool worker's per-file cost (read, bounds, calamine, find the table, contract, quarantine), one checkout
against another, on one machine, best of N passes: a figure that holds on a loaded machine, where wall and
whole-run CPU times swing by 20 % or more.

    .venv/bin/python benchmarks/ingest_worker.py --home /tmp/phakhi-nat10                    # this checkout
    .venv/bin/python benchmarks/ingest_worker.py --home H --repo /work/main --repo .        # A/B, alternating
    .venv/bin/python benchmarks/ingest_worker.py --home H --parts                           # CPU per step

Each pass runs `file_cache.ingest_file_probed` (what `_work_chunk` runs for every file, without the cache
pack and the archive copy) over every 4th activity workbook, every inventory and every GHG CSV of H's
landing, with the registry's ids as the reference sets and each file's content hash and stat as the
settling process hands them to the workers (computed before the timing; a checkout that does not take
them hashes the bytes itself); each checkout runs in its own process. CPU seconds
(process time); per family: the best pass.

--parts splits one pass of this checkout by step (CPU per file): read_bytes (read_bounded_stat), bounds
(check_workbook_bounds), calamine (the workbook and sheet reads, without the bounds check), find_table
(_choose_table minus its reading), contract (apply_contract), and the rest of ingest_file.

--instructions N counts the instructions of one warm pass over the first N of those activity workbooks and
N/8 inventories (no GHG file: thousands of rows each, slow under valgrind), each checkout in its own
valgrind (callgrind, counting only inside the pass: `operator.call` marks it). Exact and the same on a loaded
machine, where CPU seconds are not; ~1-2 min per checkout.

    .venv/bin/python benchmarks/ingest_worker.py --home H --repo /work/main --repo . --instructions 100
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _files(landing: Path) -> dict[str, list[Path]]:
    def under(fam, every=1):
        fs = sorted(p for p in (landing / fam).rglob("*") if p.is_file() and not p.name.startswith((".", "~$")))
        return fs[::every]
    return {"activity_reports": under("activity_reports", 4), "partner_inventories": under("partner_inventories"),
            "ghg_reductions": under("ghg_reductions")}


def _hashed(fams: dict[str, list[Path]]) -> dict[Path, tuple]:
    """Each file's (size, mtime_ns, inode, sha256): what the settling process computes for the cache key."""
    import hashlib

    out = {}
    for fs in fams.values():
        for p in fs:
            st = p.stat()
            out[p] = (st.st_size, st.st_mtime_ns, st.st_ino, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def _known(home: Path) -> dict:
    from phakhi.ingest import files, landing
    from phakhi.settings import Paths

    paths = Paths(home)
    reg_files = landing.list_files(paths.landing_for(landing.REGISTRY))
    registry = files.assemble_family(landing.REGISTRY, files.ingest_files(landing.REGISTRY, reg_files, paths.landing,
                                                                          None, 1))
    return {fam: landing.known_ids(fam, registry) for fam in ("activity_reports", "partner_inventories",
                                                              "ghg_reductions")}


def measure(home: Path, passes: int) -> dict:
    """In this process (this checkout): the best pass per family."""
    os.environ["PHAKHI_HOME"] = str(home)
    import phakhi  # noqa: F401
    from phakhi.ingest.file_cache import ingest_file_probed

    landing = home / "landing"
    fams, known = _files(landing), _known(home)
    hashed = _hashed(fams)
    best: dict[str, float] = {}
    for _ in range(passes):
        for fam, fs in fams.items():
            t = time.process_time()
            for p in fs:
                ingest_file_probed(fam, p, landing, known[fam], hashed[p])
            best[fam] = min(best.get(fam, float("inf")), time.process_time() - t)
    return {fam: {"files": len(fams[fam]), "cpu_s": round(best[fam], 3),
                  "us_per_file": round(best[fam] / max(len(fams[fam]), 1) * 1e6)} for fam in fams}


def parts(home: Path) -> dict:
    """One pass, CPU per step and file (this checkout)."""
    os.environ["PHAKHI_HOME"] = str(home)
    import phakhi  # noqa: F401
    from phakhi.ingest import contracts, files, readers
    from phakhi.ingest.file_cache import ingest_file_probed

    spent: dict[str, float] = {}
    stack: list[list] = []

    def wrap(name, fn, eager=False):
        def inner(*a, **k):
            frame = [time.process_time(), 0.0]
            stack.append(frame)
            try:
                out = fn(*a, **k)
                return iter(list(out)) if eager else out
            finally:
                stack.pop()
                dt = time.process_time() - frame[0]
                spent[name] = spent.get(name, 0.0) + dt - frame[1]
                if stack:
                    stack[-1][1] += dt
        return inner

    readers.check_workbook_bounds = wrap("bounds", readers.check_workbook_bounds)
    if hasattr(files, "read_bounded_stat"):
        files.read_bounded_stat = wrap("read_bytes", files.read_bounded_stat)
    files.read_bounded = wrap("read_bytes", files.read_bounded)
    files.iter_sheets = wrap("calamine", files.iter_sheets, eager=True)
    files._choose_table = wrap("find_table", files._choose_table)
    files.apply_contract = wrap("contract", contracts.apply_contract)
    landing = home / "landing"
    fams, known = _files(landing), _known(home)
    hashed = _hashed(fams)
    n = 0
    t = time.process_time()
    for fam, fs in fams.items():
        for p in fs:
            ingest_file_probed(fam, p, landing, known[fam], hashed[p])
            n += 1
    total = time.process_time() - t
    spent["rest of ingest_file"] = total - sum(spent.values())
    return {"files": n, "cpu_s": round(total, 3),
            "us_per_file": {k: round(v / n * 1e6) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}}


def count_pass(home: Path, n: int) -> None:
    """In a child under callgrind: a warm pass, then the counted one (inside `operator.call`)."""
    import operator

    os.environ["PHAKHI_HOME"] = str(home)
    import phakhi  # noqa: F401
    from phakhi.ingest.file_cache import ingest_file_probed

    landing = home / "landing"
    fams, known = _files(landing), _known(home)
    chosen = {"activity_reports": fams["activity_reports"][:n],
              "partner_inventories": fams["partner_inventories"][:max(1, n // 8)]}
    hashed = _hashed(chosen)

    def one_pass():
        for fam, fs in chosen.items():
            for p in fs:
                ingest_file_probed(fam, p, landing, known[fam], hashed[p])
    one_pass()
    operator.call(one_pass)
    print(json.dumps({fam: len(fs) for fam, fs in chosen.items()}))


def instructions(repo: Path, home: Path, n: int) -> tuple[int, dict]:
    """(instructions of the counted pass, files per family) for one checkout."""
    import re

    python = repo / ".venv" / "bin" / "python"
    run = subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=_operator_call",
                          "--callgrind-out-file=/dev/null", str(python if python.exists() else sys.executable),
                          str(Path(__file__).resolve()), "--home", str(home), "--one", str(repo), "--ir", str(n)],
                         capture_output=True, text=True, cwd=repo,
                         env={**os.environ, "PYTHONPATH": str(repo), "PHAKHI_PROGRESS": "0"})
    got = re.search(r"Collected : ([0-9]+)", run.stderr)
    if run.returncode or not got:
        raise SystemExit(run.stderr[-2000:])
    return int(got.group(1)), json.loads(run.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--repo", type=Path, action="append", default=None,
                    help="a checkout to measure (repeat: A/B, alternating rounds); default this one")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2, help="A/B rounds (each checkout once a round)")
    ap.add_argument("--parts", action="store_true")
    ap.add_argument("--instructions", type=int, default=0, metavar="N",
                    help="instructions of one pass over N activity workbooks (and N/8 inventories), under valgrind")
    ap.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)   # a child: measure that checkout
    ap.add_argument("--ir", type=int, default=0, help=argparse.SUPPRESS)        # a child under callgrind
    args = ap.parse_args(argv)
    if args.instructions:
        for repo in [r.resolve() for r in (args.repo or [REPO])]:
            total, files = instructions(repo, args.home.resolve(), args.instructions)
            print(f"{repo}: {total:,} instructions, {total / sum(files.values()):,.0f} per file "
                  f"({', '.join(f'{f} {k}' for f, k in files.items())})")
        return 0
    if args.parts:
        sys.path.insert(0, str(REPO))
        out = parts(args.home.resolve())
        print(f"{out['files']:,} files, {out['cpu_s']:.2f} s CPU; per file (µs): "
              + ", ".join(f"{k} {v}" for k, v in out["us_per_file"].items()))
        return 0
    if args.one and args.ir:
        sys.path.insert(0, str(args.one))
        count_pass(args.home.resolve(), args.ir)
        return 0
    if args.one:
        sys.path.insert(0, str(args.one))
        from phakhi.ingest import file_cache

        assert Path(file_cache.__file__).resolve().is_relative_to(args.one), file_cache.__file__
        print(json.dumps(measure(args.home.resolve(), args.passes)))
        return 0
    repos = [r.resolve() for r in (args.repo or [REPO])]
    for rnd in range(args.rounds if len(repos) > 1 else 1):
        for repo in repos:
            python = repo / ".venv" / "bin" / "python"
            run = subprocess.run([str(python if python.exists() else sys.executable), str(Path(__file__).resolve()),
                                  "--home", str(args.home), "--passes", str(args.passes), "--one", str(repo)],
                                 capture_output=True, text=True, cwd=repo,
                                 env={**os.environ, "PYTHONPATH": str(repo), "PHAKHI_PROGRESS": "0"})
            if run.returncode:
                print(run.stderr[-2000:], file=sys.stderr)
                return run.returncode
            got = json.loads(run.stdout.strip().splitlines()[-1])
            total = sum(v["cpu_s"] for v in got.values())
            print(f"round {rnd + 1} {repo}: " + ", ".join(f"{f} {v['us_per_file']} µs/file ({v['files']:,})"
                                                          for f, v in got.items()) + f"; total {total:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
