"""Ingest everything in the landing area into the build warehouse's raw schema (what the flow calls).

    plan_landing  -> which files, per family, in batches; the landing ledger's history
    run_jobs      -> read + contract + quarantine for each batch (the flow maps batches over Prefect tasks;
                     each batch fans out over a process pool)
    settle        -> copies, superseded resubmissions, duplicate keys, accounting (files.assemble_family)
    record        -> the landing ledger + archive ($PHAKHI_HOME/landing_manifest.duckdb)
    load_raw      -> raw.<family> tables, raw.ingest_manifest (the file report), raw.quarantine, reference tables

The partner registry goes first: its partner ids are what activity, GHG and inventory rows must refer to.
"""
from __future__ import annotations

import math
import os
import sys
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from phakhi.settings import Paths, settings
from phakhi.ingest import ledger
from phakhi.ingest.contracts import contract_names, load_contract
from phakhi.survey.instrument import load_instrument
from phakhi.memory import return_freed_memory
from phakhi.ingest.files import (FamilyResult, FileOutcome, assemble_family, ingest_files, list_files, write_raw)
from phakhi.ingest.landed import SpilledResult, frame_partner_months, spill_result  # noqa: F401  (spill_result lived here)

REGISTRY = "partner_registry"


def families() -> list[str]:
    """Every family with a contract, the registry first."""
    names = contract_names()
    return [REGISTRY] + [n for n in names if n != REGISTRY] if REGISTRY in names else names


@dataclass
class Job:
    family: str
    files: list[Path]
    known: dict[str, set[str]] | None = None


@dataclass
class LandingPlan:
    paths: Paths
    files: dict[str, list[Path]]
    history: dict[str, dict[str, dict]] | None      # None: read from the ledger when first asked
    run_at: datetime
    batch_size: int = 64

    def family_history(self, family: str) -> dict[str, dict] | None:
        if self.history is None:
            self.history = ledger.read_history(self.paths.home)
        return self.history.get(family)

    def jobs(self, family: str, known: dict[str, set[str]] | None = None) -> list[Job]:
        fs = self.files.get(family, [])
        if not fs:
            return []
        n = max(1, math.ceil(len(fs) / self.batch_size))
        size = math.ceil(len(fs) / n)
        return [Job(family, fs[i:i + size], known) for i in range(0, len(fs), size)]

    @property
    def total_files(self) -> int:
        return sum(len(v) for v in self.files.values())


def plan_landing(paths: Paths, batch_size: int = 64) -> LandingPlan:
    files = {f: list_files(paths.landing_for(f)) for f in families()}
    return LandingPlan(paths, files, None, ledger.utcnow(), batch_size)


def known_ids(family: str, registry: FamilyResult | None) -> dict[str, set[str]] | None:
    """The reference sets a family's rows are checked against (partner ids from the registry)."""
    refs = load_contract(family).references
    if registry is None or not refs:
        return None
    ids = set(registry.loaded["partner_id"].dropna()) if len(registry.loaded) else set()
    known = {col: ids for col, target in refs.items() if target.startswith(REGISTRY + ".")}
    return known | registry_context(family, registry)


def registry_context(family: str, registry: FamilyResult | None) -> dict:
    """What else a family's rows are checked against in the registry (issue 12): each partner's baseline for
    the contract's baseline checks ("@partner_registry.baseline_tco2e": {partner_id: value}) and the Thai
    names a report's title block may name its partner by ("@partner_names": {name: partner_id})."""
    if registry is None or not len(registry.loaded):
        return {}
    reg = registry.loaded
    out: dict = {}
    for b in load_contract(family).baseline_checks:
        col = b["baseline"].split(".")[-1]
        if b["baseline"].startswith(REGISTRY + ".") and col in reg:
            out["@" + b["baseline"]] = {pid: float(v) for pid, v in zip(reg["partner_id"], reg[col])
                                        if isinstance(pid, str) and v is not None and v == v}
    if "name_th" in reg:
        out["@partner_names"] = {str(n): str(pid) for pid, n in zip(reg["partner_id"], reg["name_th"])
                                 if isinstance(n, str) and isinstance(pid, str)}
    return out


def run_jobs_locally(jobs: list[Job], landing: Path, workers: int | None = None,
                     progress: Callable[[int], None] | None = None) -> list[list[FileOutcome]]:
    return [ingest_files(j.family, j.files, landing, j.known, workers, progress) for j in jobs]


def ingest_landing(paths: Paths, run_jobs: Callable[[list[Job]], list[list[FileOutcome]]] | None = None,
                   record: bool = True, workers: int | None = None,
                   progress: Callable[[int], None] | None = None, plan: LandingPlan | None = None) -> list[FamilyResult]:
    """Ingest the whole landing area; returns one FamilyResult per family (registry first). With `record`,
    the landing ledger is brought up to date and the run's ingestion report is written to
    $PHAKHI_HOME/quarantine/.

    One path: without `run_jobs` this is `ingest_landing_settled` (the per-file cache, what a refresh runs).
    `run_jobs` maps batches of files to their outcomes some other way (e.g. `run_jobs_locally`: every file
    read again, no cache) and settles them here — the reference the cached path is tested against."""
    if run_jobs is None:
        return list(ingest_landing_settled(paths, record=record, plan=plan, workers=workers, progress=progress))
    plan = plan or plan_landing(paths)
    run = run_jobs or (lambda jobs: run_jobs_locally(jobs, paths.landing, workers, progress))
    fams = families()

    def settle(family: str, outcomes: list[FileOutcome]) -> FamilyResult:
        return assemble_family(family, outcomes, plan.family_history(family), plan.run_at)

    reg_jobs = plan.jobs(REGISTRY)
    registry = settle(REGISTRY, [o for batch in (run(reg_jobs) if reg_jobs else []) for o in batch]) \
        if REGISTRY in fams else None
    jobs = [j for f in fams if f != REGISTRY for j in plan.jobs(f, known_ids(f, registry))]
    outcomes: dict[str, list[FileOutcome]] = {f: [] for f in fams if f != REGISTRY}
    for job, batch in zip(jobs, run(jobs) if jobs else []):
        outcomes[job.family].extend(batch)
    results = ([registry] if registry is not None else []) + [settle(f, outcomes[f]) for f in fams if f != REGISTRY]
    if record:
        ledger.record(paths.home, results, plan.run_at)
        write_run_reports(paths, results)
    return results


# ---------------------------------------------------------------- progress bar (CLI)

_PROGRESS: Callable[[int], None] | None = None


def progress_hook() -> Callable[[int], None] | None:
    """The callback the ingest tasks advance (set by `progress_bar`), or None."""
    return _PROGRESS


@contextmanager
def progress_bar(plan: LandingPlan, enabled: bool | None = None):
    """A progress bar over the plan's files on stderr, while the block runs (only on a terminal unless
    `enabled`; PHAKHI_PROGRESS=0 switches it off). Yields the plan."""
    global _PROGRESS
    if enabled is None:
        enabled = sys.stderr.isatty() and settings().progress
    if not enabled or not plan.total_files:
        yield plan
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    lock = threading.Lock()
    with Progress(TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingest", total=plan.total_files)

        def advance(n: int) -> None:
            with lock:
                bar.advance(task, n)
        _PROGRESS = advance
        try:
            yield plan
        finally:
            _PROGRESS = None


def write_run_reports(paths: Paths, results: list[FamilyResult]) -> dict:
    """The latest run's ingestion report where an engineer looks first: $PHAKHI_HOME/quarantine/."""
    from phakhi.ingest.report import write_ingest_report

    return write_ingest_report(results, paths.quarantine, rows_cache=paths.ingest_cache)


# ---------------------------------------------------------------- raw schema

def instrument_items(name: str = "ccai_core_v1"):
    import pandas as pd

    inst = load_instrument(name)
    return pd.DataFrame([{
        "instrument": inst["instrument"], "instrument_version": str(inst["version"]), "code": i["code"],
        "dimension": i["dimension"], "reverse": bool(i.get("reverse")), "core": bool(i.get("core")),
        "scale_min": inst["scale"]["min"], "scale_max": inst["scale"]["max"],
        "min_answered_share": float(inst.get("min_answered_share", 0.5)), "text_en": i["en"], "text_th": i["th"],
    } for i in inst["items"]])


def activity_units():
    """The GHG contract's activity-data unit codes and what they mean, for dbt's conversion with the
    effective-dated emission factors (seed emission_factors: activity, unit)."""
    import pandas as pd

    col = load_contract("ghg_reductions").column("activity_unit")
    rows = [{"unit_code": code, "activity": m["activity"], "ef_unit": m["ef_unit"],
             "to_ef_unit": float(m.get("to_ef_unit", 1.0)), "label_th": m.get("label_th"),
             "label_en": m.get("label_en")} for code, m in (col.units or {}).items()]
    return pd.DataFrame(rows, columns=["unit_code", "activity", "ef_unit", "to_ef_unit", "label_th", "label_en"])


QUARANTINE_TEXT = ("family", "file", "file_hash", "sheet", "column", "header", "value", "rule", "expected",
                   "message_en", "message_th")


LOADS: dict[str, str] = {}       # family -> how load_raw last wrote its raw table (kept/appended/copied/written)


def load_raw(db_path: Path, results: list[FamilyResult]):
    """(Re)create the raw schema from this run's results; returns the per-family ingestion report."""
    import duckdb
    import pandas as pd

    from phakhi.ingest.files import FILE_REPORT_COLUMNS

    from phakhi.ingest.landed import set_loaded_mark

    db_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db_path)) as con:
        for r in results:
            if isinstance(r, SpilledResult):     # already written by write_raw as it settled: copied (or only
                LOADS[r.family] = r.load_into(con)     # its new rows appended) as is
            else:
                write_raw(con, r.family, r.loaded)
                set_loaded_mark(con, r.family, None)
                LOADS[r.family] = "written"
        write_raw(con, "survey_instrument_items", instrument_items())
        write_raw(con, "activity_units", activity_units())
        frames = [r.file_report for r in results if len(r.file_report)]
        file_report = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FILE_REPORT_COLUMNS)
        write_raw(con, "ingest_manifest", file_report.astype({"received_at": "datetime64[us]"}))
        frames = [r.quarantine for r in results if len(r.quarantine)]
        quarantine = pd.concat(frames, ignore_index=True) if frames else results[0].quarantine
        write_raw(con, "quarantine", quarantine.astype({"row": "Int64"}).astype({c: "string" for c in QUARANTINE_TEXT}))
    return pd.DataFrame([r.totals for r in results])


# ---------------------------------------------------------------- in proportion to what changed (issue 17)

def ingest_family_cached(paths: Paths, family: str, files: list[Path], known: dict[str, set[str]] | None = None,
                         workers: int | None = None, progress: Callable[[int], None] | None = None) -> list[FileOutcome]:
    """One family's files through the per-file outcome cache (phakhi.ingest.file_cache): only new or changed
    files (or files naming a partner whose registry status changed) are read."""
    from phakhi.ingest.file_cache import FileOutcomeCache, ingest_files_cached

    cache = FileOutcomeCache(paths.ingest_cache, index_name=family or "any")
    out = ingest_files_cached(family, files, paths.landing, known, cache, workers, progress)
    cache.save_index()
    return out


def ingest_landing_cached(paths: Paths, run_family: Callable[[list[Job]], list[list[FileOutcome]]] | None = None,
                          record: bool = True, workers: int | None = None,
                          progress: Callable[[int], None] | None = None,
                          plan: LandingPlan | None = None) -> "LandingResults":
    """`ingest_landing` with one job per family, each through the per-file cache; returns a LandingResults
    handle. `run_family` maps the jobs (the flow: one Prefect task per family); default: in this process."""
    plan = plan or plan_landing(paths, batch_size=1 << 62)
    run = run_family or (lambda jobs: [ingest_family_cached(paths, j.family, j.files, j.known, workers, progress)
                                       for j in jobs])
    return LandingResults(ingest_landing(paths, run_jobs=run, record=record, plan=plan))


class Carried:
    """One task's return value, carried whole: a leaf to Prefect, which walks the lists, dicts and dataclasses
    a task returns (a FamilyResult's 16,000 file outcomes cost +440 MB while it did), yet pickled with its
    contents when a process-based task runner (Dask) sends it back -- unlike LandingResults, whose pickle is
    only a handle valid in the process that made it."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return f"Carried({type(self.value).__name__})"


class LandingResults:
    """A run's FamilyResults, held by the process that ingested them, behind a small handle.

    Deliberately not a list or a dataclass: a Prefect task given it as an input neither walks its 78k file
    outcomes nor cloudpickles its million-row frames to compute a cache key — pickling it yields only the
    handle (valid in the process that made it, which is where the refresh's load_raw and publish tasks run).
    Iterate, index and len() it like the list it wraps."""
    _live: "weakref.WeakValueDictionary[str, LandingResults]" = weakref.WeakValueDictionary()

    def __init__(self, results: list[FamilyResult]):
        import uuid

        self.results = list(results)
        self.handle = uuid.uuid4().hex
        LandingResults._live[self.handle] = self      # weak: gone once the flow no longer holds it

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, k):
        return self.results[k]

    def __reduce__(self):
        return (_landing_results, (self.handle,))

    def __repr__(self) -> str:
        return f"LandingResults({[r.family for r in self.results]}, handle={self.handle[:8]})"

    def release(self) -> None:
        """Drop the rows once they are in the warehouse (after load_raw): the refresh's later stages read the
        warehouse, and holding million-row frames through gate, drift and publish raised their peak memory by
        about a gigabyte at national scale. The frames are emptied in place (a FamilyResult someone else still
        holds keeps its columns, not its rows) and freed memory is handed back to the OS."""
        for r in self.results:
            if isinstance(r, SpilledResult):
                r.discard()
            for name in ("quarantine", "file_report") if isinstance(r, SpilledResult) else \
                    ("loaded", "quarantine", "file_report"):
                frame = getattr(r, name, None)
                if frame is not None and hasattr(frame, "iloc"):
                    setattr(r, name, frame.iloc[0:0].copy())
            r.files = []
        self.results = []
        return_freed_memory()


def release_ingest_workers(give_back: bool = True) -> None:
    """Once the landing is ingested, stop the ingest process pool: its workers keep the memory of the last
    files they read (and count in the refresh's process tree through load_raw, dbt, gate and publish), while
    no later stage reads a landed file. A later ingest in this process starts a new pool. `give_back`: then
    collect and return freed memory to the system."""
    from phakhi.ingest.files import shutdown_pool

    shutdown_pool()
    stop_forkserver()
    if give_back:
        return_freed_memory()


def stop_forkserver() -> bool:
    """Stop multiprocessing's fork server once no pool needs it: it keeps the ingest modules it preloaded
    (~40-50 MB) for the rest of the refresh, though only a later ingest forks from it -- and that starts it
    again (`ForkServer.ensure_running`). True when one was running and is stopped. Private API of the standard
    library (3.9+): without it, nothing changes."""
    try:
        from multiprocessing import forkserver

        server = forkserver._forkserver
        if getattr(server, "_forkserver_pid", None) is None:
            return False
        server._stop()
        return True
    except Exception:          # another Python's internals: the server simply stays
        return False


def limit_malloc_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas for threads started from now on (what MALLOC_ARENA_MAX does at start-up).
    Prefect runs the ingest tasks in threads; by default glibc gives each up to 8 x cores arenas of its own,
    whose freed pages stay in the process (fragmented, so malloc_trim gives back little). False when this is
    not glibc (nothing changes)."""
    import ctypes

    M_ARENA_MAX = -8
    if os.environ.get("MALLOC_ARENA_MAX"):      # set by whoever started the process: theirs
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, int(n)))
    except (OSError, AttributeError):
        return False


def _landing_results(handle: str) -> LandingResults:
    try:
        return LandingResults._live[handle]
    except KeyError:
        raise RuntimeError("these ingest results live in the process that ingested them (the refresh flow); "
                           "run load_raw and publish in that process") from None


_GC_LOCK = threading.Lock()
_GC_HOLDS = 0


@contextmanager
def gc_paused():
    """Python's cycle collector off while a family is ingested (re-entrant; families run in threads), one
    collection after. Ingest builds millions of small acyclic containers (a dict per row, tuples, outcomes):
    each of them kept triggering collections that walk everything alive, a growing share of the ingest's
    CPU (and of loading the settled state: 2x). Nothing is lost: refcounting frees the acyclic garbage as
    before, and the few cycles wait for the collection at the end. (Not gc.freeze() instead of that
    collection: what ingest leaves alive includes cyclic pandas frames that die once load_raw releases the
    results; frozen, they were never collected -- the national month's refresh held ~170 MB more from
    then on, through publish.)"""
    import gc

    global _GC_HOLDS
    with _GC_LOCK:
        _GC_HOLDS += 1
        was_enabled = _GC_HOLDS == 1 and gc.isenabled()
        if _GC_HOLDS == 1:
            gc.disable()
            gc_paused.restore = was_enabled
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_HOLDS -= 1
            last = _GC_HOLDS == 0
            if last and gc_paused.restore:
                gc.enable()
        if last:
            gc.collect()


gc_paused.restore = True


def settle_family_cached(paths: Paths, family: str, files: list[Path], known: dict[str, set[str]] | None,
                         run_at: datetime, workers: int | None = None,
                         progress: Callable[[int], None] | None = None, record: bool = True,
                         spill: Path | None = None, apart: Callable[[], None] | None = None) -> FamilyResult:
    """`_settle_family_cached` with the cycle collector paused; with `spill` (a folder: the refresh passes
    `landed_dir(paths)`), the settled rows go to a DuckDB file there as they settle (streamed, or merged with
    the family's kept rows: phakhi/ingest/settled.py) and the result returned holds no rows in memory.
    `apart`: called before a family settles in full in its own process (the ingest's peak).
    A spilled family tries the incremental settle first; one that must settle in full waits for its turn
    (`_FullSettles`)."""
    if spill is None or family == REGISTRY:
        # the registry's rows stay in memory: they are what later families are checked against
        with _settling("here" if spill is not None else None):
            with gc_paused():
                return _settle_family_cached(paths, family, files, known, run_at, workers, progress, record, None)
    # a new month settles here: only its new files are read and its rows merge with the kept ones in
    # DuckDB (no family frame); a full settle builds the family's row dicts: a large one in its own process
    large = record and len(files) >= APART_FROM_FILES
    with FULL_SETTLES.deciding(family if large else None):
        with _settling("here"):
            with gc_paused():
                result = _settle_family_cached(paths, family, files, known, run_at, workers, progress, record,
                                               spill, only="incremental")
        if result is not None:
            return result
        if large:
            with FULL_SETTLES.apart(family):
                # memory: the kept state the incremental attempt loaded goes back to the system before the
                # child's peak (issue 17)
                return_freed_memory()
                if apart is not None:
                    apart()
                with _settling("apart"):
                    return settle_family_apart(paths, family, files, known, run_at, spill, workers, progress)
    with FULL_SETTLES.here(), _settling("here"):
        with gc_paused():
            result = _settle_family_cached(paths, family, files, known, run_at, workers, progress, record,
                                           spill, only="full")
        if files:
            return_freed_memory()     # a full settle's row dicts were freed (a new month's few: not worth a
    return result                     # collection walking every kept file outcome)


class _FullSettles:
    """One full settle at a time, in this process or in its own (a large family's), and a large family first.
    When a change to the settling code re-settles every family, the activities' child (national ~1.4 GB) ran
    beside this process's full settles of the other families, whose row dicts -- built in several threads
    at once, so interleaved in memory -- left this process ~0.3 GB larger through the child's peak, though
    freed (2,086-2,159 MB the tree). So a full settle here also waits while a large family is still deciding
    whether it settles incrementally (`deciding`: from its start, the families' tasks start together) or
    settles apart: this process is then at its smallest through the child's peak, and the families here
    settle after it. Only full settles wait: a usual month's incremental settles never do."""

    def __init__(self):
        self._cond = threading.Condition()
        self._busy = False
        self._deciding: list[str] = []

    @contextmanager
    def deciding(self, family: str | None):
        if family is None:
            yield
            return
        with self._cond:
            self._deciding.append(family)
        try:
            yield
        finally:
            self._decided(family)

    def _decided(self, family: str) -> None:
        with self._cond:
            if family in self._deciding:
                self._deciding.remove(family)
                self._cond.notify_all()

    @contextmanager
    def apart(self, family: str):
        with self._turn(lambda: not self._busy):
            self._decided(family)            # its turn taken: the families here wait for the lock now
            yield

    def here(self):
        return self._turn(lambda: not self._busy and not self._deciding)

    @contextmanager
    def _turn(self, ready):
        with self._cond:
            self._cond.wait_for(ready)
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


FULL_SETTLES = _FullSettles()


_SETTLING = {"here": 0, "apart": 0}
_SETTLING_LOCK = threading.Lock()


@contextmanager
def _settling(where: str | None):
    """Count the refresh's families settling here and apart. When a family starts settling apart while none
    settles here, or the last one settling here ends while a family still settles apart, this process's
    ingest pool is stopped: its idle workers and fork server (~150 MB) would otherwise wait beside the child
    through its peak. A later family here starts it again."""
    if where is None:
        yield
        return
    with _SETTLING_LOCK:
        _SETTLING[where] += 1
        if where == "apart" and _SETTLING["here"] == 0:     # none settles here now (_FullSettles)
            release_ingest_workers()
    try:
        yield
    finally:
        with _SETTLING_LOCK:      # held while stopping: a family starting here waits, then starts a new pool
            _SETTLING[where] -= 1
            if where == "here" and _SETTLING["here"] == 0 and _SETTLING["apart"] > 0:
                release_ingest_workers()


def _settle_family_cached(paths: Paths, family: str, files: list[Path], known: dict[str, set[str]] | None,
                          run_at: datetime, workers: int | None = None,
                          progress: Callable[[int], None] | None = None, record: bool = True,
                          spill: Path | None = None, only: str | None = None) -> FamilyResult | None:
    """One family, start to end: its new or changed files read through the per-file cache, settled against
    the family's history in the landing ledger (only the new files when nothing else changed:
    phakhi.ingest.settled), and (with `record`) the family's rows of the ledger brought up to date, its new
    contents put into the archive. What a refresh's per-family task runs, so settling and
    the ledger happen inside the task (families in parallel), not in a gap between tasks."""
    from phakhi.ingest import settled

    result = settled.settle_family(paths.ingest_cache, family, files, paths.landing, known,
                                   ledger.FamilyHistory(paths.home, family), run_at,
                                   workers, progress,
                                   archive=(paths.landing_archive, paths.home) if record else None,
                                   spill=spill, only=only)
    if record and result is not None:
        ledger.record(paths.home, [result], run_at)
    return result


def ingest_landing_settled(paths: Paths, run_families: Callable[[list[Job], datetime], list[FamilyResult]] | None = None,
                           record: bool = True, plan: LandingPlan | None = None, workers: int | None = None,
                           progress: Callable[[int], None] | None = None) -> "LandingResults":
    """Every family through `settle_family_cached` — the registry first (its ids are what the other
    families refer to), then the others (mapped by `run_families`, e.g. as concurrent Prefect tasks; each
    records its own family in the landing ledger) — then the run's report. What `ingest_landing`, the
    refresh and `phakhi ingest --landing` run."""
    with gc_paused():
        return _ingest_landing_settled(paths, run_families, record, plan, workers, progress)


def _ingest_landing_settled(paths, run_families, record, plan, workers, progress) -> "LandingResults":
    plan = plan or plan_landing(paths, batch_size=1 << 62)
    run = run_families or (lambda jobs, at: [settle_family_cached(paths, j.family, j.files, j.known, at, workers,
                                                                  progress, record=record) for j in jobs])
    fams = families()
    registry = run([Job(REGISTRY, plan.files.get(REGISTRY, []))], plan.run_at)[0] if REGISTRY in fams else None
    jobs = [Job(f, plan.files.get(f, []), known_ids(f, registry)) for f in fams if f != REGISTRY]
    results = ([registry] if registry is not None else []) + (run(jobs, plan.run_at) if jobs else [])
    if record:
        write_run_reports(paths, results)
    return LandingResults(results)


# ---------------------------------------------------------------- settled rows on disk, not in memory (issue 17)

def landed_dir(paths: Paths) -> Path:
    """Where a refresh's settled rows wait for load_raw, one DuckDB file per family: beside the warehouses."""
    return paths.warehouse_dir / "landed"


def partner_months(result: FamilyResult) -> set[tuple[str, str]]:
    """The (period, partner_id) pairs of a family's loaded rows (what `partners_by_month` counts); a spilled
    result kept them when its rows left memory."""
    if isinstance(result, SpilledResult):
        return set(result.partner_months)
    return frame_partner_months(result.loaded)


def loaded_rows(result: FamilyResult) -> int:
    """How many rows a family loaded, without reading a spilled result's rows back."""
    return result.rows if isinstance(result, SpilledResult) else len(result.loaded)


# ---------------------------------------------------------------- a large family settled in its own process

APART_FROM_FILES = 5_000     # a spilled family with at least this many files settles in a child process


def settle_family_apart(paths: Paths, family: str, files: list[Path], known: dict | None, run_at: datetime,
                        spill: Path, workers: int | None = None,
                        progress: Callable[[int], None] | None = None) -> "SpilledResult":
    """`settle_family_cached(..., spill=spill)` with the reading, settling and spilling done in a child
    process; the landing ledger is brought up to date here, as before. Why: the family's row dicts and its
    frame (at national scale ~1.7 GB for the activity reports, at the moment its frame is built) leave the
    refresh's process fragmented -- Python's allocator keeps ~0.5 GB of mostly empty arenas -- through dbt,
    the gate and publish. A child's memory goes back to the system whole when it ends. Same result: the same
    functions run, in the same order, on the same inputs (the family's ledger history is read here first;
    only this family's rows of the ledger are ever changed by settling it)."""
    import multiprocessing as mp
    import queue as queue_mod

    from phakhi.ingest import settled

    import pickle

    # pickled here, once: the child gets the bytes (a fraction of the row dicts' memory, which are freed
    # now rather than held here -- by the child's Process object -- through the child's peak)
    history = pickle.dumps(ledger.read_history(paths.home, family, ledger.SETTLE_COLUMNS).get(family),
                           protocol=pickle.HIGHEST_PROTOCOL)
    ctx = mp.get_context("spawn")          # from a Prefect worker thread: never fork
    q = ctx.Queue()
    child = ctx.Process(target=_settle_apart_child, name=f"phakhi-settle-{family}",
                        args=(q, str(paths.home), family, [str(f) for f in files], known, run_at, str(spill),
                              history, workers, progress is not None))
    child.start()
    try:
        while True:
            try:
                kind, value, stats = q.get(timeout=1.0)
            except queue_mod.Empty:
                if child.is_alive():
                    continue
                try:                       # it may have sent its last message just before ending
                    kind, value, stats = q.get(timeout=1.0)
                except queue_mod.Empty:
                    raise RuntimeError(f"settling {family} in its own process ended without a result "
                                       f"(exit code {child.exitcode})") from None
            if kind == "progress":
                if progress is not None:
                    progress(value)
                continue
            if kind == "error":
                raise value
            result = value
            settled.LAST[family] = stats
            break
    finally:
        child.join(timeout=60)
        if child.is_alive():
            child.kill()
            child.join()
        q.close()
    ledger.record(paths.home, [result], run_at)
    return result


def _files_read() -> None:
    """In the settling child, once its files are read: its ingest pool's workers (~150 MB after a cold read)
    would otherwise wait through the settle's peak. (No collection: it would walk every row dict just read.)"""
    release_ingest_workers(give_back=False)


def _settle_apart_child(q, home: str, family: str, files: list[str], known, run_at, spill: str, history,
                        workers, report_progress: bool) -> None:
    """In the child: what `_settle_family_cached` does up to the ledger (read through the per-file cache, copy
    into the archive, settle, keep the settled state), then spill; the result goes back on `q`. `history`: the
    family's ledger history, pickled (settle_family_apart)."""
    import pickle
    import traceback

    from phakhi.ingest import settled

    try:
        paths = Paths(Path(home))

        def progress(n: int) -> None:
            q.put(("progress", n, None))

        history = pickle.loads(history)
        with gc_paused():
            result = settled.settle_family(paths.ingest_cache, family, [Path(f) for f in files], paths.landing,
                                           known, lambda: history, run_at, workers,
                                           progress if report_progress else None,
                                           archive=(paths.landing_archive, paths.home), spill=Path(spill),
                                           only="full", read=_files_read)
        q.put(("result", result, dict(settled.LAST.get(family, {}))))
    except BaseException as exc:           # noqa: BLE001 -- handed to the refresh's process, raised there
        try:
            pickle.dumps(exc)
            err = exc
        except Exception:
            err = RuntimeError(f"{type(exc).__name__}: {exc}")
        if hasattr(err, "add_note"):
            err.add_note(f"(settling {family} in its own process)\n" + traceback.format_exc())
        q.put(("error", err, None))
    finally:
        release_ingest_workers()      # the fork server waited for too: its workers' CPU counts in the stage's
        q.close()
        q.join_thread()
