"""The monthly refresh, as a Prefect flow: ingest → dbt → quality gate → drift report → publish.

Reads like a table of contents: every task is a thin wrapper around a plain, unit-tested function.
Write-audit-publish: everything is built into a build warehouse; only when the gate passes is a new
publication folder written and `latest` switched to it. A failed gate ends the run Failed and leaves the last
good publication (and the published warehouse) untouched.
"""
from __future__ import annotations

import json
import os
import shutil
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from phakhi.settings import Paths, use_home
from phakhi.ingest import landing
from phakhi.ingest.files import FamilyResult
from phakhi.notify import notify_failure
from phakhi.periods import publishable_period, resolve_period
from phakhi.home import check_home
from phakhi.publish.pointers import record_attempt
from phakhi.publish.warehouse import (PublishFailed, promote_warehouse, publish_switching, restore_warehouse,  # noqa: F401
                                      start_build_warehouse)
from phakhi.review import review_days
from phakhi.task_runners import ingest_task_runner, refresh_timeout_seconds
from phakhi.timing import milestone, stage_timer
from phakhi.warm_imports import warm_gate_imports_during_dbt


class GateFailed(RuntimeError):
    """The quality gate blocked publication; the message lists each failing check."""


class TransformFailed(RuntimeError):
    """dbt could not build the warehouse; the message names the failing models."""


# ---------------------------------------------------------------- stage timing (benchmarks)
def timed_stage(stage: str, paths: Paths):
    """Wall, CPU and peak RSS of a stage, logged and appended to $PHAKHI_HOME/runs/stages.jsonl (benchmarks)."""
    try:
        logger = get_run_logger()
    except Exception:        # called outside a flow run (a test): the module logger
        logger = None
    return stage_timer(stage, log_to=paths.runs / "stages.jsonl", logger=logger)


def _timed(stage: str):
    """Decorator: the task body runs inside `timed_stage` (its first argument is the Paths)."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def inner(paths, *args, **kwargs):
            with timed_stage(stage, paths):
                return fn(paths, *args, **kwargs)
        return inner
    return wrap


# ---------------------------------------------------------------- tasks (thin)
# Every task NO_CACHE: none may be skipped on a cached result (each reads or writes the home), and results are
# not persisted, so Prefect's default policy only cost a hash of each task's inputs (the gate's checks, the
# build plan) and a result-store lookup per task (issue 17: fixed cost).
# One ingest task per family (retries back off: a network share may be briefly unavailable). Inside, a
# per-file cache keyed by content hash + code/contract fingerprint (phakhi/ingest/file_cache.py) means only new
# or changed files are read; unchanged files on disk are not even re-hashed. No Prefect result cache: the
# outcomes stay in this process's memory and the per-file cache on disk.
@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5,
      cache_policy=NO_CACHE, task_run_name="ingest-{family}")
def ingest_family(paths: Paths, family: str, files: list[Path], known, run_at) -> "landing.Carried":
    """Read + contract + quarantine one family's new or changed files (fans out over a process pool), then
    settle the family (copies, resubmissions, duplicate keys, accounting). Returned inside `landing.Carried`:
    Prefect walks a task's return value, and a FamilyResult (a dataclass with one outcome per file) cost
    +440 MB for 16,000 files while it did (issue 17); a Dask runner still gets the whole result back."""
    from phakhi.transform import discard_dbt_process

    # apart: a full settle of a large family (a changed or withdrawn kept workbook) is the refresh's peak
    # (national: its child ~1.2 GB); dbt's early process (~210 MB once parsed) does not wait beside it -- it
    # starts again once ingest is done (prestart_dbt in _refresh), as after any large landing
    return landing.Carried(landing.settle_family_cached(
        paths, family, files, known, run_at, progress=landing.progress_hook(),
        spill=landing.landed_dir(paths), apart=discard_dbt_process))       # rows on disk until load_raw (memory)


def ingest_landing(paths: Paths) -> "landing.LandingResults":
    """Every landed file, the registry first (its ids are what the other families refer to), then the other
    families as concurrent tasks; then the landing manifest is brought up to date. Returns a handle
    (LandingResults): tasks given it do not walk or pickle the million-row frames it holds."""
    def run_families(jobs: list[landing.Job], run_at) -> list[FamilyResult]:
        futures = [ingest_family.submit(paths, j.family, j.files, j.known, run_at) for j in jobs]
        return [f.result().value for f in futures]

    with timed_stage("ingest", paths), landing.progress_bar(landing.plan_landing(paths, batch_size=1 << 62)) as plan:
        return landing.ingest_landing_settled(paths, run_families=run_families, plan=plan)


@task(cache_policy=NO_CACHE)
def load_raw(paths: Paths, results: list[FamilyResult]) -> pd.DataFrame:
    """This run's raw tables replace the build warehouse's raw schema (see start_build for its starting point)."""
    with timed_stage("load_raw", paths):
        return landing.load_raw(paths.build_db, results)


def start_build(paths: Paths, inputs: dict | None, full: bool) -> str:
    """The build warehouse's starting point: a copy of the published one when the same code and seeds built it
    ('incremental'), else an empty file ('fresh'); phakhi/publish/warehouse.py:start_build_warehouse."""
    with timed_stage("start_build", paths):
        mode = start_build_warehouse(paths, inputs, full=full)
    get_run_logger().info("build warehouse: %s", "a copy of the published one (incremental facts, seeds kept)"
                          if mode == "incremental" else "built from scratch")
    return mode


def plan_build(paths: Paths, mode: str, period: str, before: dict | None, scoped: bool = True):
    """What dbt builds (phakhi/selection.py): everything on a fresh warehouse; on a copy of the published one,
    only what the changed raw tables, the month and the registry history reach (seeds are never reloaded);
    `scoped`: column tests may check only the changed months' rows where sound (not on a full gate)."""
    from phakhi.refresh_inputs import read_inputs
    from phakhi.selection import plan_build as plan

    with timed_stage("plan_build", paths):
        build_plan = plan(paths, mode, period, before, read_inputs(paths.published_inputs), scoped=scoped)
    get_run_logger().info(build_plan.describe())
    return build_plan


@task(cache_policy=NO_CACHE)
@_timed("dbt_build")
def build_warehouse(paths: Paths, period: str, plan=None):
    """dbt build as the plan says (phakhi.transform.build_planned); no plan: everything."""
    from phakhi.transform import build_planned

    return build_planned(paths, period, plan)


@task(cache_policy=NO_CACHE)
@_timed("gate")
def audit(paths: Paths, dbt_outcome, previous: dict | None = None) -> "GateResult":
    from phakhi.quality.gate import GateResult, run_gate

    # When dbt failed (a model error or a failing dbt test), its downstream marts may not exist: the gate
    # reports dbt's failures alone. `previous`: the live publication's passed suites (reused when unchanged).
    gate = run_gate(paths.build_db, previous=previous, template_cache=paths.home / "cache" / "data_docs_templates") \
        if dbt_outcome.success else GateResult(checks=[])
    gate.dbt = {"success": dbt_outcome.success, "counts": dbt_outcome.counts, "failures": dbt_outcome.failures}
    return gate


@task(cache_policy=NO_CACHE)
@_timed("drift")
def drift(paths: Paths, out_dir: Path, reuse_from: Path | None = None, pending=None):
    """The drift report; `reuse_from`: a publication built from the same survey waves and code, whose report
    is copied instead of recomputed (phakhi/selection.py decides). `pending`: its computation, started beside
    the gate (start_drift); this stage then times the wait for it, and counts all of its CPU."""
    if reuse_from is not None:
        from phakhi.drift import reuse_drift_report

        reused = reuse_drift_report(Path(reuse_from) / "drift", out_dir)
        if reused is not None:
            get_run_logger().info("drift report reused from publication %s: no survey wave (and no code) changed "
                                  "since it was computed", Path(reuse_from).name)
            return reused
    return (pending or start_drift(paths, out_dir)).result()


@task(cache_policy=NO_CACHE)
@_timed("publish")
def publish(paths: Paths, period: str, run_id: str, gate, drift_result) -> Path:
    # warehouse switched first, `latest` second, both put back on failure (phakhi/publish/warehouse.py)
    return publish_switching(paths, period, run_id, gate, drift_result)


@task(cache_policy=NO_CACHE)
def report_run(ingest_report, gate, run_id: str, period: str, publication_id: str | None) -> None:
    """A markdown summary of the run, visible in the Prefect UI as an artifact."""
    from prefect.artifacts import create_markdown_artifact

    from phakhi.publish.run_summary import run_summary_markdown

    create_markdown_artifact(key=f"refresh-{period.replace('-', '')}", description=f"Phakhi refresh {period} ({run_id})",
                             markdown=run_summary_markdown(ingest_report, gate, run_id, period, publication_id))


# ---------------------------------------------------------------- the flow
@flow(name="monthly-refresh", log_prints=True, task_runner=ingest_task_runner(),
      timeout_seconds=refresh_timeout_seconds(), on_failure=[notify_failure], on_crashed=[notify_failure])
def monthly_refresh(period: str | None = None, home: str | None = None, force: bool = False, full: bool = False,
                    full_gate: bool = False) -> str:
    """Refresh the month `period` (YYYY-MM; default: the latest month in the landed data). Returns the path
    of the new publication (or of the live one, when nothing changed since it: see phakhi/refresh_inputs.py).

    force: refresh even when nothing changed. full: build the warehouse from scratch (not from a copy of the
    published one) and run the whole gate. full_gate: the whole gate (default: suites scoped where sound)."""
    milestone("flow body starts")
    period = resolve_period(period)   # "previous" (the deployment) → the month before the scheduled start
    paths = use_home(home)
    check_home(paths)                 # SAMPLE and real files never mix (phakhi/home.py)
    run_id = datetime.now(timezone.utc).strftime("r%Y%m%dT%H%M%SZ")
    from phakhi.lock import refresh_lock

    with refresh_lock(paths.home, run_id):        # one refresh per home: a second one fails at once, naming this
        try:
            return _refresh(paths, period, run_id, force=force, full=full, full_gate=full_gate or full)
        finally:
            milestone("flow body ends")


def _refresh(paths: Paths, period: str | None, run_id: str, force: bool = False, full: bool = False,
             full_gate: bool = True) -> str:
    from phakhi.refresh_inputs import refresh_inputs, unchanged_message, unchanged_since_publication, write_inputs

    logger = get_run_logger()
    landing.limit_malloc_arenas()     # memory: the ingest threads' freed memory goes back to few arenas
    from phakhi.transform import discard_dbt_process, prestart_dbt_early

    prestart_dbt_early(paths, period, parse=True)  # a month landed: dbt's process imports and parses while it is ingested
    results = ingest_landing(paths)
    landing.release_ingest_workers()  # memory: no later stage reads a landed file
    period, held = publishable_period(period, partners_by_month(results))
    if held:
        logger.warning("held for their own month (not published by this run; their files stay in landing): %s",
                       ", ".join(held))
    inputs = refresh_inputs(paths, results, period)
    live = None if (force or full) else unchanged_since_publication(paths, inputs)
    if live is not None:              # nothing new or changed since the live publication: stop after ingest
        discard_dbt_process()
        logger.info(unchanged_message(period, live))
        record_attempt(paths.publications, "unchanged", period, run_id, publication_id=live)
        return str(paths.publications / live)

    from phakhi.transform import prestart_dbt

    prestart_dbt(paths, period)       # dbt's process imports dbt and parses while the warehouse is loaded and planned
    mode = start_build(paths, inputs, full)
    from phakhi.selection import raw_before, record_snapshot

    before = raw_before(paths, mode)  # the published raw tables
    ingest_report = load_raw(paths, results)
    if hasattr(results, "release"):   # the rows are in the warehouse now: later stages read it, not these frames
        results.release()
    logger.info("ingested:\n%s", ingest_report.to_string(index=False))
    plan = plan_build(paths, mode, period, before, scoped=not full_gate)
    # GX for the gate while dbt runs: on small homes, or when the survey's models (dbt's peak) are not rebuilt
    warm_gate_imports_during_dbt(paths.build_db, survey_models_kept=plan.drift_from is not None)
    dbt_outcome = build_warehouse(paths, period, plan=plan)
    record_snapshot(paths, plan, dbt_outcome)
    if not dbt_outcome.success and not dbt_outcome.counts:
        record_attempt(paths.publications, "blocked", period, run_id, [f"dbt: {f['node']}" for f in dbt_outcome.failures])
        raise TransformFailed(_dbt_summary(dbt_outcome))
    run_dir = paths.runs / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    # The drift report, when it must be computed, runs in its child process beside the gate (2 cores: each
    # ~1); both only read the built warehouse. Its result is taken only once the gate has passed; a failed gate
    # (or any error) stops it and removes what it wrote on leaving this block (phakhi/drift.py:PendingDrift).
    beside = dbt_outcome.success and plan.drift_from is None and review_days() <= 0
    with start_drift(paths, run_dir / "drift") if beside else nullcontext() as pending:
        gate = audit(paths, dbt_outcome, None if full_gate else previous_gate(paths, inputs))
        gate.dbt["build"] = plan.to_dict()          # the audit record says what this run built
        if dbt_outcome.success and gate.passed:     # what the build was made of, for the switch to carry over
            write_inputs(paths.build_inputs, {**inputs, "run_id": run_id, "gate": gate.memo(), "raw": plan.raw})
        (run_dir / "gate.json").write_text(json.dumps(gate.to_dict(), default=str, indent=1), encoding="utf-8")
        if gate.data_docs is not None:
            shutil.copytree(gate.data_docs, run_dir / "data_docs", dirs_exist_ok=True)
        report_run(ingest_report, gate, run_id, period, None)
        if not gate.passed:
            record_attempt(paths.publications, "blocked", period, run_id, gate.summary().splitlines(),
                           details=str(run_dir / "gate.json"))
            raise GateFailed(f"quality gate failed for {period}; nothing published, "
                             f"the last good publication stays live.\n{gate.summary()}\n(details: {run_dir / 'gate.json'})")
        if review_days() > 0:       # right of reply: a candidate first, published once DCCE approves
            return hold_for_review(paths, period, run_id, ingest_report)
        drift_result = drift(paths, run_dir / "drift", plan.drift_from, pending)
    pub = publish(paths, period, run_id, gate, drift_result)
    record_attempt(paths.publications, "published", period, run_id, publication_id=pub.name)
    report_run(ingest_report, gate, run_id, period, pub.name)
    logger.info("published %s", pub)
    return str(pub)


# ---------------------------------------------------------------- plain helpers
def previous_gate(paths: Paths, inputs: dict) -> dict | None:
    """The live publication's passed gate suites (digest + checks), when the same code built it: a suite over
    byte-identical rows need not be validated again (phakhi/quality/gate.py:run_gate)."""
    from phakhi.refresh_inputs import read_inputs, same_inputs

    published = read_inputs(paths.published_inputs)
    return published.get("gate") if same_inputs(published, inputs, keys=("code", "data_kind")) else None


def latest_period(results: list[FamilyResult]) -> str:
    """The month a default refresh publishes (see phakhi.periods.publishable_period: never a later month sent
    by a few partners, never after the current month)."""
    return publishable_period(None, partners_by_month(results))[0]


def partners_by_month(results: list[FamilyResult]) -> dict[str, int]:
    """How many partners reported for each month (activity and GHG reports) -- what `publishable_period`
    weighs so one partner's file dated a later month cannot become the country's month."""
    seen: dict[str, set] = {}
    for r in results:
        for p, pid in landing.partner_months(r):      # a spilled family kept its pairs, not its rows
            seen.setdefault(p, set()).add(pid)
    return {p: len(v) for p, v in seen.items()}


def start_drift(paths: Paths, out_dir: Path):
    """Baseline (earliest) wave vs the latest wave, per core item, design-adjusted (Rao-Scott), started now in
    a child process (phakhi.drift.start_survey_drift): evidently and the report's frames stay out of the
    refresh's process, which publishes next (memory, issue 17). `.result()` waits for it."""
    from phakhi.drift import start_survey_drift

    return start_survey_drift(paths.build_db, out_dir)


def hold_for_review(paths: Paths, period: str, run_id: str, ingest_report: pd.DataFrame) -> str:
    """Right of reply (phakhi/review.py): keep the audited warehouse as a candidate, then, on a Prefect server,
    pause this flow run until DCCE approves in the portal's console (which resumes it with a ReviewDecision)
    and publish. In local mode nothing could resume the run: the flow ends with the candidate, and the
    console's approve (or `phakhi publish-candidate`) publishes it. Returns the publication or candidate path."""
    from prefect.context import get_run_context
    from prefect.flow_runs import pause_flow_run

    from phakhi.prefect_api import is_temporary_api
    from phakhi.review import ReviewDecision, publish_candidate, set_state, write_candidate

    logger = get_run_logger()
    flow_run_id = str(get_run_context().flow_run.id)
    write_candidate(paths, period, run_id, ingest_report, flow_run_id)
    if is_temporary_api():         # local mode: nothing could resume a paused run
        logger.info("candidate %s waits for review (%s days); approve it in the portal's console", run_id, review_days())
        return str(paths.candidate_dir / run_id)
    set_state(paths, run_id, "open", paused=True)
    # the pause key may hold lowercase letters, digits and dashes only
    decision = pause_flow_run(wait_for_input=ReviewDecision, key=f"review-{run_id.lower()}",
                              timeout=int((review_days() + 30) * 86400))
    if not decision.approved:
        set_state(paths, run_id, "rejected", decided_by=decision.decided_by, note=decision.note)
        raise GateFailed(f"DCCE did not approve candidate {run_id}: {decision.note or 'no reason given'}")
    return str(publish_candidate(paths, run_id, decided_by=decision.decided_by))


def _dbt_summary(outcome) -> str:
    return "dbt build failed:\n" + "\n".join(f"- {f['node']}: {f['message'][:400]}" for f in outcome.failures)
