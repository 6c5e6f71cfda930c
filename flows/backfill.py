"""Backfill: months in order through the monthly refresh, skipping months that already have a publication
unless forced; the live publication stays live when it is newer than the range."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from phakhi.periods import PERIOD_RE, months


def published_periods(publications: Path) -> set[str]:
    """Periods that have at least one publication folder (whatever `latest` points to)."""
    from phakhi.publish.files import list_publications

    if not publications.is_dir():
        return set()
    out = set()
    for row in list_publications(publications):
        period = row.get("period") or row["id"][:7]
        if PERIOD_RE.match(str(period)):
            out.add(str(period))
    return out


@dataclass
class MonthOutcome:
    period: str
    status: str            # "published" | "skipped" | "failed" | "not run" | "live" (latest restored)
    detail: str = ""


def run_locally(period: str, home: Path) -> str:
    """One month through the flow in this process (Prefect's local mode, or PREFECT_API_URL's server)."""
    from flows.pipeline import monthly_refresh

    return str(monthly_refresh(period=period, home=str(home)))


def run_through_deployment(deployment: str) -> Callable[[str, Path], str]:
    """One month as a run of `deployment` (e.g. "monthly-refresh/monthly") on the Prefect server, waiting for it
    to finish: the run queues behind the deployment's concurrency limit and runs on the worker."""
    def run(period: str, home: Path) -> str:
        from prefect.deployments import run_deployment

        flow_run = run_deployment(deployment, parameters={"period": period}, timeout=None)
        state = flow_run.state
        if state is None or not state.is_completed():
            raise RuntimeError(f"flow run {flow_run.name} ended {state.name if state else 'without a state'}: "
                               f"{(state.message or '') if state else ''}")
        return f"flow run {flow_run.name} Completed"
    return run


def backfill(start: str, end: str, *, force: bool = False, home: str | os.PathLike | None = None,
             keep_going: bool = False, run: Callable[[str, Path], str] | None = None,
             on_month: Callable[[MonthOutcome], None] | None = None) -> list[MonthOutcome]:
    """Refresh every month from `start` to `end` in order. A month that already has a publication is skipped
    unless `force`. The first failure stops the backfill (later months may build on earlier ones) unless
    `keep_going`; the months not reached are reported as "not run"."""
    from phakhi.settings import use_home
    from phakhi.publish.files import current_latest, list_publications, switch_latest

    paths = use_home(home)
    run = run or run_locally
    todo = months(start, end)
    out: list[MonthOutcome] = []
    live = current_latest(paths.publications)
    live_period = next((r["period"] for r in list_publications(paths.publications) if r["id"] == live), None) \
        if live else None

    def record(o: MonthOutcome) -> None:
        out.append(o)
        if on_month:
            on_month(o)

    for i, period in enumerate(todo):
        if not force and period in published_periods(paths.publications):
            record(MonthOutcome(period, "skipped", "already published (use --force to refresh it again)"))
            continue
        try:
            record(MonthOutcome(period, "published", run(period, paths.home)))
        except Exception as exc:  # noqa: BLE001 - a failed month is reported, then stop or go on
            record(MonthOutcome(period, "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
            if not keep_going:
                for rest in todo[i + 1:]:
                    record(MonthOutcome(rest, "not run", "stopped after the failure above"))
                break
    # Each refresh switches `latest` to what it published. A backfill of older months must not leave the public
    # site on the oldest month it rebuilt: when the live publication is for a later month than the range, it
    # goes back live.
    if live and live_period and live_period > todo[-1] and current_latest(paths.publications) != live \
            and (paths.publications / live).is_dir():
        switch_latest(paths.publications, live)
        record(MonthOutcome(live_period, "live", f"`latest` back on {live} (newer than the backfilled months)"))
    return out
