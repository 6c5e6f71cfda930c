"""Stage timers for the refresh: wall time, CPU time and peak RSS of the whole process tree (this process,
the ingest pool's workers, dbt's subprocess), logged and appended as one JSON line per stage.

    with stage_timer("dbt_build", log_to=run_dir / "stages.jsonl"):
        ...

Measurement only: no business logic. CPU and RSS come from a sampling thread (every 0.5 s, psutil) so
children still alive at the end of a stage (the ingest process pool) count too; children that ended and were
waited for (dbt) count through `os.times()`.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("phakhi.timing")
SAMPLE_EVERY_S = 0.5    # each sample walks /proc for the tree: at 0.2 s, ~6 % of a national publish's CPU
_WAITED_BY_OWN_STAGE = weakref.WeakSet()     # subprocess.Popen objects: see counted_when_waited


def counted_when_waited(process) -> None:
    """A child (subprocess.Popen) started in one stage and waited for in a later one (the drift report, computed
    beside the gate): its CPU counts once, in the stage that waits for it (os.times), never in a stage that only
    saw it running; its memory counts wherever it is alive (the stages' peaks are the tree's)."""
    _WAITED_BY_OWN_STAGE.add(process)


def _not_yet_waited() -> set[int]:
    return {p.pid for p in list(_WAITED_BY_OWN_STAGE) if p.returncode is None}    # once waited, its pid may be reused


@dataclass
class StageTime:
    stage: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    started_at: float
    own_rss_start_mb: float = 0.0   # this process alone (the refresh): what a stage starts from, under its
    own_peak_rss_mb: float = 0.0    # children's memory; its peak during the stage

    def line(self) -> str:
        own = f" (this process: {self.own_rss_start_mb:.0f} MB at start, peak {self.own_peak_rss_mb:.0f})" \
            if self.own_peak_rss_mb else ""
        return f"stage {self.stage}: wall {self.wall_s:.1f} s, CPU {self.cpu_s:.1f} s, peak RSS {self.peak_rss_mb:.0f} MB{own}"


class _TreeSampler(threading.Thread):
    """Samples the process tree: peak summed RSS and the CPU seconds of every process seen (latest value)."""

    def __init__(self):
        super().__init__(daemon=True, name="phakhi-stage-sampler")
        import psutil

        self.me = psutil.Process()
        self.stop = threading.Event()
        self.peak_rss = 0
        self.own_peak_rss = self.own_start_rss = 0
        self.cpu_seen: dict[int, float] = {}      # pid -> cpu seconds (children: since they started)
        self.cpu_start: dict[int, float] = {}     # pid -> cpu seconds at the first sight (pre-existing processes)
        self.sample(first=True)

    def sample(self, first: bool = False) -> None:
        import psutil

        try:
            procs = [self.me] + self.me.children(recursive=True)
        except psutil.Error:
            return
        rss = 0
        self.alive = {p.pid for p in procs}
        for p in procs:
            try:
                with p.oneshot():
                    mine = p.memory_info().rss
                    rss += mine
                    t = p.cpu_times()
                    cpu = t.user + t.system
            except psutil.Error:
                continue
            if first or p.pid == self.me.pid:
                self.cpu_start.setdefault(p.pid, cpu)
            if p.pid == self.me.pid:
                self.own_peak_rss = max(self.own_peak_rss, mine)
                if first:
                    self.own_start_rss = mine
            self.cpu_seen[p.pid] = cpu
        self.peak_rss = max(self.peak_rss, rss)

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY_S):
            self.sample()

    def live_children_cpu(self) -> float:
        """CPU seconds of the children still alive at the last sample (the ingest pool's workers): os.times()
        counts only children that were waited for."""
        apart = _not_yet_waited()
        return sum(v - self.cpu_start.get(pid, 0.0) for pid, v in self.cpu_seen.items()
                   if pid in self.alive and pid != self.me.pid and pid not in apart)


@contextmanager
def stage_timer(stage: str, log_to: Path | None = None, logger: logging.Logger | None = None):
    """Time one stage; yields a dict that holds the StageTime (key "result") once the block ends."""
    out: dict = {}
    milestone(f"stage {stage} starts")
    wall0, times0 = time.perf_counter(), os.times()
    started = time.time()
    try:
        sampler = _TreeSampler()
        sampler.start()
    except Exception:        # psutil missing or /proc unreadable: wall and own CPU time still count
        sampler = None
    try:
        yield out
    finally:
        wall = time.perf_counter() - wall0
        times1 = os.times()
        waited_children = (times1.children_user + times1.children_system) - (times0.children_user + times0.children_system)
        own = (times1.user + times1.system) - (times0.user + times0.system)
        cpu, rss, own_start, own_peak = own + waited_children, 0.0, 0.0, 0.0
        if sampler is not None:
            sampler.stop.set()
            sampler.join()
            sampler.sample()
            cpu += sampler.live_children_cpu()
            rss = sampler.peak_rss / 2**20
            own_start, own_peak = sampler.own_start_rss / 2**20, sampler.own_peak_rss / 2**20
        result = StageTime(stage, round(wall, 3), round(cpu, 3), round(rss, 1), started, round(own_start, 1),
                           round(own_peak, 1))
        out["result"] = result
        milestone(f"stage {stage} ends")
        (logger or log).info(result.line())
        if log_to is not None:
            try:
                Path(log_to).parent.mkdir(parents=True, exist_ok=True)
                with open(log_to, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(result)) + "\n")
            except OSError as exc:      # timing must never fail a refresh
                (logger or log).warning("could not record stage time in %s: %s", log_to, exc)


TIMELINE_ENV = "PHAKHI_TIMELINE"    # a file: milestones of the refresh's processes appended there (benchmarks)


def milestone(event: str, path: str | None = None) -> None:
    """One point of the refresh's timeline (process start-ups, Prefect's server answering, the flow's start and
    end, exit handlers, dbt's process), appended as a JSON line to $PHAKHI_TIMELINE when it names a file (or to
    `path`: a process that replaces its environment reads the variable once): what benchmarks/fixed_overhead.py
    prints to show where the fixed overhead goes. Nothing when unset."""
    path = path or os.environ.get(TIMELINE_ENV)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"t": time.time(), "pid": os.getpid(), "event": event}) + "\n")
    except OSError:
        pass


def read_stage_times(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
