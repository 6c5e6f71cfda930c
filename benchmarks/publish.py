"""The publish stage alone, on a copy of a refreshed home's warehouse: wall, CPU and peak RSS of the process
tree (phakhi.timing.stage_timer, as the flow's stage timers), optionally py-spy's top functions and
tracemalloc's top allocation sites; after each publish, each process's RSS at the tree's peak and its own peak
(PeakBreakdown: the publishing process, the partner-page workers, dbt's docs subprocess) and each kind's CPU
seconds. Prints figures; asserts nothing; never writes into the source home. (In a refresh, dbt's docs page is
usually made during the dbt stage: its CPU here is the benchmark's, not the flow's publish stage's.)

    # the proof that a change left the files as they were: the same warehouse published by two checkouts
    .venv/bin/python benchmarks/publication_compare.py /tmp/a/home/publications/<id> /tmp/b/home/publications/<id>

    # once: copy a national home's warehouse (read-only source), then publish from the copy, twice
    # (the second publish finds the first one: what a month with nothing changed costs)
    .venv/bin/python benchmarks/publish.py --source /work/nat10 --work /tmp/pubmem --runs 2
    # where the CPU goes (py-spy must be installed in the venv, it is not a project dependency):
    .venv/bin/python benchmarks/publish.py --source /work/nat10 --work /tmp/pubmem --py-spy
    # partner pages rendered in the publishing process instead of one worker process per core:
    .venv/bin/python benchmarks/publish.py --source /work/nat10 --work /tmp/pubmem --workers 1
    # where the Python allocations peak (slow: tracemalloc roughly doubles the time):
    .venv/bin/python benchmarks/publish.py --source /work/nat10 --work /tmp/pubmem --tracemalloc

Near-empty home (benchmarks/fixed_overhead.py's home after one_new, 2026-12-01, load ~2, py-spy): of the
publish's ~2.0 s CPU, opening a DuckDB connection per dashboard table (~37 tables, ~25 ms each) was ~36 % of
the samples, site_context 49 % in all, Jinja compiling the templates ~15 %, the Thai dictionary's pure-Python
YAML parse ~7 %, the docs key (a catalog query: the page is copied) ~7 %. Now one connection for every table
and libyaml's parser: 1.83/2.02/2.18 s -> 1.16/1.18/1.19 s CPU (the same warehouse, three publishes each;
pages as main's apart from dbt's docs page, regenerated in the work home when the code fingerprint differs).
What is left there (136 -> 69 samples at 50 Hz): Jinja compiling the templates ~25 % (a bytecode cache would
have to be keyed by every template and by site.py, whose constant-label folding writes markup into the
compiled code: not done), the docs key's catalog query ~20 % (phakhi/transform.py:docs_key, in a thread),
the open-data tables ~10 %.
Quarter scale, 12th month on the 11-month publications (py-spy, 2026-12-01): page workers 76 % of the samples,
the publishing process 24 %; creating files (os.open, makedirs: kernel time) ~20 %, page templates ~18 %,
credentials and linking sections ~30 % cumulative, the per-partner CSVs ~19 %.
That "credentials and linking ~30 %" is the generator chain, not their work: partner_stream is
with_credentials(with_linking_sections(partner_pages(...))), so every sample taken inside partner_pages has
both wrappers on its stack. One worker's share alone (render_partner_range in one process, partners 0-999 of
1,999, py-spy at 200 Hz, 2026-12-01, load ~5): month (the 11-month publication's store and index present)
~4.6 s CPU, ~25 % of it kernel; page templates ~28 % (chart JSON 4 %), writing the ~20 files a partner ~22 %
(16,750 hard links from the store + 3,120 new files per 1,000 partners: strace counts 19.9k link, 29k stat,
4.4k open), the fact batches (new month's rows, latest rows, CSV) ~17 %, the worker's start (marts, group
digests, templates compiled) ~0.55 s a task, the two sections' own per-page work ~1 %. Full (no earlier
publication): CSV formatting (to_csv ~18 %, formula check 7 % before it was made a join + regex) and reading
the batches' rows (~11 %) lead, and kernel time is 25-55 % of the CPU and varies 2x between identical runs:
perf shows ext4 allocating inodes (recently_deleted, find_get_block_common, find_inode_bit ~20 % of all
samples) - a file system without a journal skips inodes freed in the last minutes, so it depends on what was
deleted before, not on the syscalls per file. Those are already one open/write/fstat/close (+ one link into
the store) per new file, one stat + one link per unchanged one; no temporary name and rename per file (the
building folder is renamed into place whole, files.finalise). Evicting DuckDB's cached blocks after each
batch (drop_cached_blocks) costs little (3.3-3.7 vs 3.4-4.8 s CPU without it, three runs each: within the
noise) and keeps a worker's memory bounded: kept.

Where a national month's publish waits (pub30, 2026-12-01, PHAKHI_TIMELINE milestones: `publish: ...` from the
publishing process, the open data's writer and each partner range; /work/p30's 12th-month warehouse on
/work/p30-full-snap's 11-month publications; load 4.5-7 from other work, so walls are inflated): 66.2 s wall,
63.4 CPU. The page workers start their first range only at 19.0 s, once the site's context is read (0.4-19 s:
input lists 4.4 s, site pages to 14.9 s, then waiting for the open data's process, done at 18.7 s); then four
ranges of 2,000 partners, ~19 s each, both workers ending at 57-58 s; the practices' static pages and the merge
to 64.0 s. Tried and dropped: the workers on their ranges at once (the pages' header and job read first,
the open data as the pool's first task so one worker formats while the other renders, ranges shrinking from
2,000 to 500 so both end together; pages and indexes byte-identical): 77.1 / 80.2 / 91.7 s wall, 65.2 / 67.7 /
64.2 CPU, peak 1,321-1,342 MB, against main alternated with it 94.3 / 57.8 / 59.0 s, 60.4 / 65.2 / 57.5 CPU,
1,267-1,297 MB. Both workers ended within ~5 s, but a range costs ~2.5 s of wall whatever its size under that
load (500 partners took 7-8 s, 2,000 took 19 s: the per-range re-reads), the nine ranges +4-6 s of user CPU,
and with four equal ranges the late worker (after the open data) left the other idle ~18 s at the end (88.0 s
wall, 74.3 CPU). What would make it pay: a range's fixed cost gone (the per-partner marts read once a worker,
not once a range), then the early start with a few large ranges.

The work home gets warehouse/build.duckdb (a copy of the source's published phakhi.duckdb), its
history.duckdb, the source's dbt folder (manifest, docs) and its last gate.json: exactly what the flow's
publish task receives (phakhi/publish/warehouse.py:publish_switching).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def prepare(source: Path, work: Path, fresh: bool) -> Path:
    home = work / "home"
    if fresh and home.exists():
        shutil.rmtree(home)
    wh = home / "warehouse"
    wh.mkdir(parents=True, exist_ok=True)
    for name, dest in (("phakhi.duckdb", "build.duckdb"), ("history.duckdb", "history.duckdb")):
        src = work / name if (work / name).exists() else source / "warehouse" / name
        if not (wh / dest).exists():
            shutil.copyfile(src, wh / dest)
    if not (home / "dbt").exists():
        shutil.copytree(source / "dbt", home / "dbt", ignore=shutil.ignore_patterns("logs"))
    gates = sorted((source / "runs").glob("*/gate.json"), key=lambda p: p.stat().st_mtime)
    if gates and not (home / "runs" / "rsource" / "gate.json").exists():
        (home / "runs" / "rsource").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gates[-1], home / "runs" / "rsource" / "gate.json")
    marker = source / "phakhi_home.json"
    if marker.exists() and not (home / marker.name).exists():
        shutil.copyfile(marker, home / marker.name)
    return home


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True, help="a refreshed home (only read)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/pubmem"), help="where the copy and publications go")
    ap.add_argument("--period", default=None)
    ap.add_argument("--runs", type=int, default=1, help="publishes in a row (the later ones share unchanged files)")
    ap.add_argument("--fresh", action="store_true", help="start from an empty work home (no earlier publication)")
    ap.add_argument("--py-spy", action="store_true", help="profile the first publish with py-spy (top functions)")
    ap.add_argument("--tracemalloc", action="store_true", help="top allocation sites at the peak (slow)")
    ap.add_argument("--workers", type=int, default=None,
                    help="processes rendering the partner pages (PHAKHI_PUBLISH_WORKERS; 1 = in the publishing "
                         "process; default one per core)")
    args = ap.parse_args()
    if args.workers is not None:
        import os

        os.environ["PHAKHI_PUBLISH_WORKERS"] = str(args.workers)

    home = prepare(args.source, args.work, args.fresh)
    if args.py_spy:        # profile this same script, without --py-spy, in a child
        out = args.work / "publish.pyspy.txt"
        cmd = [sys.executable, __file__, "--source", str(args.source), "--work", str(args.work), "--runs", "1",
               *(["--workers", str(args.workers)] if args.workers is not None else []),
               *(["--period", args.period] if args.period else [])]
        subprocess.run([str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses", "-r", "50",
                        "-f", "raw", "-o", str(out), "--", *cmd], check=False)
        top_functions(out)
        return

    import os

    os.environ["PHAKHI_HOME"] = str(home)
    import importlib.util

    spec = importlib.util.spec_from_file_location("site_bench", REPO / "benchmarks" / "site.py")
    site_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site_bench)
    last_gate = site_bench.last_gate       # the gate result as the publish stage receives it

    from phakhi.publish.warehouse import publish_switching
    from phakhi.settings import Paths
    from phakhi.timing import stage_timer
    from phakhi.transform import _last_build_period

    paths = Paths.from_env(home)
    period = args.period or _last_build_period(paths) or "2025-11"
    gate = last_gate(paths)
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(12)
    for n in range(args.runs):
        run_id = "rbench" + time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        watch = PeakBreakdown()
        with stage_timer("publish", log_to=paths.runs / "publish-bench.jsonl") as t:
            watch.start()
            try:
                pub = publish_switching(paths, period, run_id, gate, None)
            finally:
                watch.finish()
        r = t["result"]
        print(json.dumps({"run": n + 1, "publication": pub.name, "wall_s": r.wall_s, "cpu_s": r.cpu_s,
                          "peak_rss_mb": r.peak_rss_mb}), flush=True)
        watch.report()
        if args.tracemalloc:
            current, peak = tracemalloc.get_traced_memory()
            print(f"tracemalloc: current {current / 2**20:.0f} MB, peak {peak / 2**20:.0f} MB")
            for stat in tracemalloc.take_snapshot().statistics("lineno")[:15]:
                print("  ", stat)
            tracemalloc.reset_peak()
        time.sleep(1.1)         # run ids are per second


class PeakBreakdown:
    """What each process of the tree held when their summed RSS peaked (sampled every 0.25 s, as
    phakhi.timing samples the sum), and each process's own peak: where the stage's peak RSS comes from."""

    def __init__(self, every_s: float = 0.25):
        import threading

        import psutil

        self.me, self.every_s = psutil.Process(), every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="bench-peak-breakdown")
        self.peak: tuple[int, float, list[tuple[str, int]]] = (0, 0.0, [])
        self.own_peak: dict[str, int] = {}
        self.cpu: dict[int, float] = {}        # each process's CPU seconds (user + system) when last sampled
        self.sys: dict[int, float] = {}        # ... of which in the kernel (system): creating files, page faults
        self.names: dict[int, str] = {}
        self.t0 = time.monotonic()

    @staticmethod
    def _name(p) -> str:
        try:
            cmd = p.cmdline()
        except Exception:  # noqa: BLE001 - gone meanwhile
            return f"pid {p.pid}"
        text = " ".join(cmd)
        kind = ("partner-page worker" if "multiprocessing" in text else "dbt (docs)" if "dbt" in text
                else "publishing process" if "benchmarks/publish.py" in text else cmd[0] if cmd else "?")
        return f"{kind} [{p.pid}]"

    def _sample(self) -> None:
        import psutil

        try:
            procs = [self.me] + self.me.children(recursive=True)
        except psutil.Error:
            return
        rows = []
        for p in procs:
            try:
                name = self.names.get(p.pid) or self._name(p)
                if not name.startswith("pid "):
                    self.names[p.pid] = name
                rows.append((name, p.memory_info().rss))
                c = p.cpu_times()
                self.cpu[p.pid] = c.user + c.system
                self.sys[p.pid] = c.system
            except psutil.Error:
                continue
        total = sum(r for _, r in rows)
        for name, r in rows:
            self.own_peak[name] = max(self.own_peak.get(name, 0), r)
        if total > self.peak[0]:
            self.peak = (total, time.monotonic() - self.t0, rows)

    def _run(self) -> None:
        while not self.stop.wait(self.every_s):
            self._sample()

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()

    def report(self) -> None:
        total, at, rows = self.peak
        print(f"peak {total / 2**20:.0f} MB at {at:.1f} s:", flush=True)
        for name, r in sorted(rows, key=lambda x: -x[1]):
            print(f"   {r / 2**20:7.0f} MB  {name}")
        print("each process's own peak:")
        for name, r in sorted(self.own_peak.items(), key=lambda x: -x[1]):
            print(f"   {r / 2**20:7.0f} MB  {name}")
        # sampled every every_s: a process's last quarter second before it exits is not counted
        kinds: dict[str, float] = {}
        system: dict[str, float] = {}
        for pid, c in self.cpu.items():
            kind = self.names.get(pid, "other").rsplit(" [", 1)[0]
            kinds[kind] = kinds.get(kind, 0.0) + c
            system[kind] = system.get(kind, 0.0) + self.sys.get(pid, 0.0)
        print("CPU s by kind of process (as last sampled; the publishing process's includes its start-up): "
              + ", ".join(f"{k} {v:.1f}" for k, v in sorted(kinds.items(), key=lambda x: -x[1])), flush=True)
        # the kernel's share varies between identical runs: on an ext4 without a journal, allocating an inode
        # skips those freed in the last few minutes, so files created soon after a large deletion cost more
        print("  of which system (kernel): "
              + ", ".join(f"{k} {system[k]:.1f}" for k, _ in sorted(kinds.items(), key=lambda x: -x[1])), flush=True)


def top_functions(raw: Path, n: int = 30) -> None:
    """py-spy's raw (collapsed stacks) output → the functions with the most samples, own and cumulative."""
    own: dict[str, int] = {}
    cum: dict[str, int] = {}
    per_process = {"publishing process": 0, "partner page workers": 0}
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = stack.split(";")
        # --subprocesses: each stack starts with its process ("process <pid>:<command line>"), a worker's with
        # the publishing process's and then its own
        worker = len(frames) > 1 and frames[1].startswith("process ")
        per_process["partner page workers" if worker else "publishing process"] += c
        frames = [f for f in frames if not f.startswith("process ")] or ["(process start)"]
        own[frames[-1]] = own.get(frames[-1], 0) + c
        for f in set(frames):
            cum[f] = cum.get(f, 0) + c
    print(f"py-spy: {total} samples; " + ", ".join(f"{k} {100 * v / max(1, total):.0f}%" for k, v in per_process.items()))
    print("own:")
    for f, c in sorted(own.items(), key=lambda kv: -kv[1])[:n]:
        print(f"  {100 * c / total:5.1f}%  {f}")
    print("cumulative (phakhi):")
    for f, c in sorted(((f, c) for f, c in cum.items() if "phakhi" in f), key=lambda kv: -kv[1])[:n]:
        print(f"  {100 * c / total:5.1f}%  {f}")


if __name__ == "__main__":
    main()
