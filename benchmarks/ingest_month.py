"""A new month's ingest and load_raw alone, profiled: what the refresh's ingest and load_raw stages run (every
family settled with its rows spilled to disk, the ledger, the run report, then load_raw into a copy of the
published warehouse), in this process, without Prefect -- so where the CPU goes is attributed exactly.

    .venv/bin/python benchmarks/ingest_month.py --home /tmp/q            # a home whose landing has a new month
    .venv/bin/python benchmarks/ingest_month.py --home /tmp/q --profile /tmp/month.prof --top 40

The home is changed as a refresh would change it (ledger, settled states, caches): measure on a copy
(keep the landing's inodes: `cp -al` it, the stat index knows files by path, size, mtime and inode).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(home: Path) -> dict:
    from phakhi.ingest import landing, settled
    from phakhi.settings import Paths

    paths = Paths(home)
    spill = landing.landed_dir(paths)
    out = {}

    def run_families(jobs, run_at):
        return [landing.settle_family_cached(paths, j.family, j.files, j.known, run_at, spill=spill) for j in jobs]

    t, c = time.perf_counter(), time.process_time()
    results = landing.ingest_landing_settled(paths, run_families=run_families)
    out["ingest"] = (time.perf_counter() - t, time.process_time() - c)
    out["modes"] = {f: s.get("mode") for f, s in settled.LAST.items()}
    db = paths.build_db
    if paths.published_db.exists():
        shutil.copyfile(paths.published_db, db)
    t, c = time.perf_counter(), time.process_time()
    landing.load_raw(db, results)
    out["load_raw"] = (time.perf_counter() - t, time.process_time() - c)
    out["loads"] = dict(getattr(landing, "LOADS", {}))
    results.release()
    landing.release_ingest_workers()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--profile", type=Path, default=None, help="write cProfile stats here (this process only)")
    ap.add_argument("--top", type=int, default=0, help="print the top N functions by cumulative time")
    ap.add_argument("--repo", type=Path, default=REPO, help="the code checkout to ingest with")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.repo))
    os.environ["PHAKHI_HOME"] = str(args.home)
    os.environ.setdefault("PHAKHI_PROGRESS", "0")
    import phakhi  # noqa: F401
    from phakhi.ingest import files
    assert Path(files.__file__).resolve().is_relative_to(args.repo.resolve()), files.__file__
    files.list_files                                   # imports done before timing
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        out = prof.runcall(run, args.home)
        prof.dump_stats(str(args.profile))
        if args.top:
            pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(args.top)
    else:
        out = run(args.home)
    import resource

    for k in ("ingest", "load_raw"):
        print(f"{k}: {out[k][0]:.2f} s wall, {out[k][1]:.2f} s CPU (this process)")
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"child processes (reading workers, as far as reaped): {kids.ru_utime + kids.ru_stime:.2f} s CPU; "
          f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("settled:", out["modes"])
    print("load_raw:", out["loads"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
