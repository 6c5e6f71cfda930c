"""Ingest alone: a PHAKHI_HOME's whole landing area through the refresh's ingest path, without Prefect.

    .venv/bin/python benchmarks/ingest_landing.py --home /tmp/phakhi-nat10            # all cores: wall, CPU, RSS
    .venv/bin/python benchmarks/ingest_landing.py --home /tmp/phakhi-nat10 --parts    # one process: CPU per part
    .venv/bin/python benchmarks/ingest_landing.py --home H --cold                     # forget the per-file cache,
                                                                                      # the ledger and the archive first

The path is `landing.ingest_landing_settled` — what the flow's ingest tasks and `phakhi ingest --landing` run:
per-file cache (stat index, content hash), read + contract + quarantine, settle, the landing ledger + archive,
the run report. Wall, CPU and peak RSS are those of the whole process tree (phakhi.timing.stage_timer: the
ingest pool's workers count).

--parts runs everything in this one process (PHAKHI_INGEST_WORKERS=1) and charges CPU seconds to the part that
spends them (a part's time excludes the parts nested inside it), so the split adds up to the total:

    listing        list_files over the landing area
    hash           stat index + content sha256 of new or changed files (FileOutcomeCache.content_hash_stat)
    cache_get      per-file cache look-ups; cache_put: writing new outcomes (here, one process: one file per
                   outcome; with a pool, each worker writes its chunk's outcomes as one pack and archives them)
    read_bytes     the file's bytes (read_bounded);  bounds: the zip/sheet-size guard (check_workbook_bounds)
    read           calamine / csv / pyreadstat parsing into Python values (iter_sheets)
    find_table     header row, column mapping, title block (_choose_table)
    contract       typing every cell, row checks, references (apply_contract)
    ingest_other   the rest of ingest_file (sha256 of the bytes, FileOutcome)
    settle         copies, resubmissions, duplicate keys, accounting, frames (assemble_family; only the new
                   files when nothing else changed: phakhi.ingest.settled)
    settled_state  loading / saving each family's last settled result
    history        reading the landing ledger's history
    ledger         landing ledger rows (ledger.record without the archive);  archive: linking/copying into it
    report         the run's ingestion report + quarantine files ($PHAKHI_HOME/quarantine/)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class PartTimer:
    """CPU seconds per part, exclusive of nested parts (one thread)."""

    def __init__(self):
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.stack: list[list] = []

    def wrap(self, part: str, fn, eager: bool = False):
        timer = self

        def inner(*a, **k):
            frame = [part, time.process_time(), 0.0]      # part, start, time spent in nested parts
            timer.stack.append(frame)
            try:
                out = fn(*a, **k)
                if eager:                                  # a lazy iterator: do its work here
                    out = iter(list(out))
                return out
            finally:
                timer.stack.pop()
                spent = time.process_time() - frame[1]
                timer.cpu[part] = timer.cpu.get(part, 0.0) + spent - frame[2]
                timer.calls[part] = timer.calls.get(part, 0) + 1
                if timer.stack:
                    timer.stack[-1][2] += spent
        inner.__wrapped__ = fn
        return inner


def install_parts() -> PartTimer:
    from phakhi.ingest import file_cache, files, landing, ledger, readers

    t = PartTimer()
    files.read_bounded = t.wrap("read_bytes", files.read_bounded)
    if hasattr(files, "read_bounded_stat"):
        files.read_bounded_stat = t.wrap("read_bytes", files.read_bounded_stat)
    readers.check_workbook_bounds = t.wrap("bounds", readers.check_workbook_bounds)
    files.iter_sheets = t.wrap("read", files.iter_sheets, eager=True)
    files._choose_table = t.wrap("find_table", files._choose_table)
    files.apply_contract = t.wrap("contract", files.apply_contract)
    files.ingest_file = t.wrap("ingest_other", files.ingest_file)
    file_cache.ingest_file = files.ingest_file
    C = file_cache.FileOutcomeCache
    if hasattr(C, "content_hash_stat"):
        C.content_hash_stat = t.wrap("hash", C.content_hash_stat)
    else:                           # an older checkout
        C.content_hash = t.wrap("hash", C.content_hash)
    C.get = t.wrap("cache_get", C.get)
    C.put = t.wrap("cache_put", C.put)
    landing.list_files = t.wrap("listing", landing.list_files)
    landing.assemble_family = t.wrap("settle", landing.assemble_family)
    try:
        from phakhi.ingest import settled
    except ImportError:             # an older checkout (before the incremental settle): A/B comparisons
        settled = None
    if settled is not None:
        settled.assemble_family = t.wrap("settle", settled.assemble_family)
        settled._row_keys = t.wrap("settle", settled._row_keys)
        settled._try_incremental = t.wrap("settle", settled._try_incremental)
        settled.load = t.wrap("settled_state", settled.load)
        settled.save = t.wrap("settled_state", settled.save)
        settled.ingest_files_cached = file_cache.ingest_files_cached
    ledger.read_history = t.wrap("history", ledger.read_history)
    ledger.record = t.wrap("ledger", ledger.record)
    ledger._archive = t.wrap("archive", ledger._archive)
    if hasattr(ledger, "archive_bytes"):           # the archive written from the bytes in hand (issue 17)
        ledger.archive_bytes = t.wrap("archive", ledger.archive_bytes)
    if hasattr(ledger, "record_family"):
        ledger.record_family = t.wrap("ledger", ledger.record_family)
    landing.write_run_reports = t.wrap("report", landing.write_run_reports)
    if hasattr(landing, "write_family_report"):
        landing.write_family_report = t.wrap("report", landing.write_family_report)
    return t


def forget(home: Path) -> None:
    """A cold start: no per-file cache, no ledger, no archive, no previous report."""
    from phakhi.settings import Paths

    p = Paths(home)
    for d in (p.ingest_cache, p.landing_archive, p.quarantine):
        shutil.rmtree(d, ignore_errors=True)
    for f in (p.landing_ledger, Path(str(p.landing_ledger) + ".wal")):
        Path(f).unlink(missing_ok=True)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--parts", action="store_true", help="one process, CPU seconds per part")
    ap.add_argument("--cold", action="store_true", help="forget cache, ledger and archive first")
    ap.add_argument("--floor", action="store_true",
                    help="also measure the read floor (benchmarks/floor.py) right before, under the same load")
    ap.add_argument("--spill", action="store_true",
                    help="as the refresh's tasks: every family but the registry settled into its spill file "
                         "(a large one in its own process), then the spill files removed")
    ap.add_argument("--apart-from", type=int, default=None, help="landing.APART_FROM_FILES (with --spill)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.parts:
        os.environ["PHAKHI_INGEST_WORKERS"] = "1"
    os.environ["PHAKHI_HOME"] = str(args.home)
    os.environ.setdefault("PHAKHI_PROGRESS", "0")

    import phakhi  # noqa: F401  (telemetry opt-outs)
    from phakhi.ingest import landing
    from phakhi.settings import Paths, settings
    from phakhi.timing import stage_timer

    if args.cold:
        forget(args.home)
    floor = None
    if args.floor:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from floor import read_floor

        floor = read_floor(args.home / "landing")
        print(f"read floor: {floor['files']:,} files, wall {floor['wall_s']:.1f} s, CPU {floor['cpu_s']:.1f} s "
              f"({floor['workers']} processes)")
    timer = install_parts() if args.parts else None
    paths = Paths(args.home)
    run_families = None
    if args.spill:
        if args.apart_from is not None:
            landing.APART_FROM_FILES = args.apart_from

        def run_families(jobs, run_at):
            return [landing.settle_family_cached(paths, j.family, j.files, j.known, run_at,
                                                 spill=landing.landed_dir(paths)) for j in jobs]
    with stage_timer("ingest_alone") as st:
        results = landing.ingest_landing_settled(paths, run_families=run_families)
    s = st["result"]
    totals = [r.totals for r in results]
    out = {"home": str(args.home), "mode": "parts (1 process)" if args.parts else "all cores",
           "cold": args.cold, "wall_s": s.wall_s, "cpu_s": s.cpu_s, "peak_rss_mb": s.peak_rss_mb,
           "files": sum(t["files"] for t in totals), "rows_read": sum(t["rows_read"] for t in totals),
           "rows_loaded": sum(t["rows_loaded"] for t in totals),
           "rows_quarantined": sum(t["rows_quarantined"] for t in totals),
           "load_average_1min": round(os.getloadavg()[0], 1)}
    print(f"ingest alone ({out['mode']}{', cold' if args.cold else ''}): wall {s.wall_s:.1f} s, CPU {s.cpu_s:.1f} s, "
          f"peak RSS {s.peak_rss_mb:.0f} MB; {out['files']:,} files, {out['rows_read']:,} rows read = "
          f"{out['rows_loaded']:,} loaded + {out['rows_quarantined']:,} quarantined (+ superseded)"
          f"   [load average {out['load_average_1min']}]")
    try:
        from phakhi.ingest import settled

        out["settle_modes"] = {f: dict(v) for f, v in settled.LAST.items()}
        print("settled: " + ", ".join(f"{f} {v['mode']} ({v['kept']:,} kept, {v['new']:,} new)"
                                      for f, v in settled.LAST.items()))
    except ImportError:
        pass
    if floor:
        out["floor"] = floor
        out["ratio_cpu"] = round(s.cpu_s / floor["cpu_s"], 2)
        out["ratio_wall"] = round(s.wall_s / floor["wall_s"], 2)
        print(f"ingest / read floor: CPU {out['ratio_cpu']}x, wall {out['ratio_wall']}x")
    if timer:
        total = sum(timer.cpu.values())
        out["parts_cpu_s"] = {k: round(v, 3) for k, v in sorted(timer.cpu.items(), key=lambda kv: -kv[1])}
        out["parts_calls"] = timer.calls
        print(f"\n{'part':14}{'CPU s':>9}{'share':>8}{'calls':>9}")
        for k, v in sorted(timer.cpu.items(), key=lambda kv: -kv[1]):
            print(f"{k:14}{v:9.2f}{v / total:8.0%}{timer.calls[k]:9,}")
        print(f"{'(timed parts)':14}{total:9.2f}   of {s.cpu_s:.2f} s CPU in all")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    if hasattr(results, "release"):
        results.release()
    return out


if __name__ == "__main__":
    main()
