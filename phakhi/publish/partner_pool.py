"""Partner pages rendered in parallel (issue 17): a pool of spawned worker processes, each opening the audited
warehouse file read-only and rendering contiguous ranges of partners (in page order; PARTNERS_PER_TASK at a
time) straight into the publication's building folder. A worker returns only small results: the files it wrote with their digests
(files.adopt_written: share_unchanged_files never reads them back) and the notes of pages it could not render.

Spawned, never forked: the flow's process runs Prefect's threads, and a fork taken while another thread holds
a lock can leave the child hung. Each worker reads only the tables the partner pages use, when they first use
them (pages.LazyWarehouse), and the per-partner facts batch by batch (pages.PartnerBatches), so memory grows with
workers x (one batch + the small per-partner marts), not with the country.

The pages and files are the bytes the sequential path (site.write_partner_pages in the publishing process)
writes: every page depends only on its own partner's rows and on whole-table facts (date formats, peer
summaries) that each worker reads the same way; tests/test_partner_pool.py compares both on SAMPLE.
"""
from __future__ import annotations

import logging
import math
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from phakhi.memory import return_freed_memory
from phakhi.publish.files import adopt_written, take_written
from phakhi.publish.partner_csv import remember, take_used

log = logging.getLogger("phakhi.publish.partner_pool")

MIN_PARTNERS = 400          # below this (SAMPLE), a worker's start-up (~2 s of imports) costs more than it saves
MIN_PER_WORKER = 200
# A worker's share is rendered as tasks of at most this many partners: what a task keeps until it returns (the
# digests and file-index entries of its partners, the files it wrote) grows with its range, and is freed when
# the task returns; each task re-reads the small per-partner marts (~1-2 s at national scale).
PARTNERS_PER_TASK = 2000


def default_workers() -> int:
    from phakhi.settings import settings

    return max(1, settings().publish_workers or os.cpu_count() or 1)


def _run(render, *args):
    """In a worker: one range of partner pages; returns (files written, notes, their digests, the per-partner
    file index entries it used)."""
    take_written()
    take_used()
    paths, notes = render(*args)
    return_freed_memory()           # the task's pages and batches are gone: the next task starts from the marts
    return paths, notes, take_written(), take_used()


class PartnerPool:
    """Partner pages being rendered by worker processes, and other pages given to them (`render_pages`);
    `finish()` waits for them."""

    def __init__(self, executor: ProcessPoolExecutor, futures: list[Future]):
        self.executor, self.futures = executor, futures
        self.static: list[Future] = []

    def render_pages(self, render, *args) -> Future:
        """render(*args) -> (files written, notes) in a worker (site.render_static_pages); its results come
        from finish(), in the order asked."""
        f = self.executor.submit(_run, render, *args)
        self.static.append(f)
        return f

    def finish(self) -> tuple[list[Path], list[dict], list[tuple[list[Path], list[dict]]]]:
        """(partner pages written, their notes, [(files, notes) of each render_pages])."""
        written, notes, static = [], [], []
        try:
            for f in self.futures:          # in page order: the same order as the sequential path
                paths, part_notes, digests, used = f.result()
                written += [Path(p) for p in paths]
                notes += part_notes
                adopt_written(digests)
                for key, (sha256, size) in used.items():
                    remember(key, sha256, size)
            for f in self.static:
                paths, part_notes, digests, _used = f.result()
                adopt_written(digests)
                static.append(([Path(p) for p in paths], part_notes))
        finally:
            self.executor.shutdown(wait=True, cancel_futures=True)
        return written, notes, static

    def abandon(self) -> None:
        """Stop (the publication failed): wait for running workers so none writes into a folder being removed."""
        self.executor.shutdown(wait=True, cancel_futures=True)


def ranges(n: int, workers: int) -> list[tuple[int, int]]:
    """[0, n) in `workers` contiguous ranges of near-equal size."""
    size = math.ceil(n / max(1, workers)) if n else 0
    return [(i, min(n, i + size)) for i in range(0, n, size)] if size else []


def workers_for(job: dict | None, workers: int | None = None) -> int:
    """How many worker processes render the partner pages (1: in this process): none without a warehouse file;
    by default one per core (PHAKHI_PUBLISH_WORKERS), none below MIN_PARTNERS (the start-up costs more)."""
    if not job or not job.get("partners"):
        return 1
    n = job["partners"]
    if workers is None:
        if n < MIN_PARTNERS:
            return 1
        workers = min(default_workers(), math.ceil(n / MIN_PER_WORKER))
    return max(1, min(workers, n))


def _warm(render) -> None:
    """Nothing: unpickling `render` imported its module (the page code) in the worker."""


def _executor(workers: int) -> ProcessPoolExecutor:
    import multiprocessing as mp

    return_freed_memory()           # the workers start beside this process: give back what it freed
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))


def prestart(partners: int, render, workers: int | None = None) -> ProcessPoolExecutor | None:
    """The workers `start` will use for `partners` partner pages, started now: each spawns and imports the
    page code (`render`'s module, ~2 s) while the publishing process writes the open data. None when the pages
    will be rendered in this process. The caller shuts it down if `start` never takes it."""
    workers = workers_for({"partners": partners}, workers)
    if workers <= 1:
        return None
    executor = _executor(workers)
    for _ in range(workers):        # one task each: the pool spawns a process per task while none is idle
        executor.submit(_warm, render)
    return executor


def start(out_dir: Path, job: dict | None, common: dict, strict: bool = False,
          workers: int | None = None, executor: ProcessPoolExecutor | None = None) -> PartnerPool | None:
    """Start rendering the partner pages in worker processes (workers_for), those of `executor` if given
    (prestart); None when they are rendered in this process (`executor` is then shut down)."""
    workers = workers_for(job, workers)
    if workers <= 1:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        return None
    executor = executor or _executor(workers)
    ctx = {"meta": common["meta"]}
    try:
        render = job["render"]          # pages.render_partner_range (passed in: this module imports no page code)
        args = {k: v for k, v in job.items() if k != "render"}
        n = job["partners"]
        parts = ranges(n, max(workers, math.ceil(n / PARTNERS_PER_TASK)))
        # `more`: ranges are queued after this one (a worker keeps its whole tables for its next range); the
        # last `workers` ranges have none after them, so no worker holds those tables once its ranges are done
        futures = [executor.submit(_run, render, str(out_dir), args, a, b, ctx, strict, i < len(parts) - workers)
                   for i, (a, b) in enumerate(parts)]
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    return PartnerPool(executor, futures)
