"""Production orchestration, as plain functions the flow, the CLI and the deployment call.

- `resolve_period`: the deployment passes `period="previous"`; this turns it into the calendar month before the
  run's *scheduled* start (Bangkok time), so a late or re-run scheduled run still refreshes the month it was for.
- `backfill`: months in order, skipping months that already have a publication unless forced.
- `ingest_cache_key`: Prefect task cache key for the ingest tasks — the content hash of the family's landing
  files plus the ingestion code and contracts, so an unchanged family is not read again.
- `notify_failure`: a flow `on_failure`/`on_crashed` hook that POSTs a JSON summary to PHAKHI_NOTIFY_WEBHOOK
  (off when unset; signed with HMAC-SHA256 when PHAKHI_NOTIFY_SECRET is set).
- `ingest_task_runner`: PHAKHI_TASK_RUNNER=threads (default) | dask | dask:N | dask:tcp://scheduler:8786.
- `refresh_timeout_seconds`: PHAKHI_REFRESH_TIMEOUT_SECONDS (default 2 h): a hung refresh fails and notifies.

Nothing here imports Prefect, pandas or DuckDB at module level: the CLI imports this module on every call.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from flows.config import CONTRACTS_DIR, REPO_ROOT

SCHEDULE_TZ = "Asia/Bangkok"
PREVIOUS = "previous"
LATEST = "latest"
PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

log = logging.getLogger("phakhi.orchestration")


# ---------------------------------------------------------------- periods
def validate_period(period: str) -> str:
    if not isinstance(period, str) or not PERIOD_RE.match(period):
        raise ValueError(f"period must be YYYY-MM (e.g. 2025-12), 'previous' or 'latest'; got {period!r}")
    return period


def previous_month(at: datetime, tz: str = SCHEDULE_TZ) -> str:
    """The calendar month before `at`, as seen on a wall clock in `tz` (naive datetimes are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    local = at.astimezone(ZoneInfo(tz))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def scheduled_start_time() -> datetime:
    """When this flow run was scheduled to start (a deployment's cron slot, or the time a run was requested);
    now, outside a flow run."""
    try:
        from prefect.runtime import flow_run

        t = flow_run.scheduled_start_time
    except Exception:  # pragma: no cover - runtime lookups never break a refresh
        t = None
    if t is None:
        return datetime.now(timezone.utc)
    return datetime.fromtimestamp(t.timestamp(), tz=timezone.utc)


def resolve_period(period: str | None, at: datetime | None = None, tz: str = SCHEDULE_TZ) -> str | None:
    """The month a refresh is for.

    None, "" or "latest" → None (the flow then takes the latest month in the landed data);
    "previous" → the calendar month before `at` (default: this flow run's scheduled start) in Bangkok time;
    "YYYY-MM" → itself. Anything else raises ValueError (the run fails before any work, and says why).
    """
    if period is None or not str(period).strip() or str(period).strip().lower() == LATEST:
        return None
    p = str(period).strip()
    if p.lower() == PREVIOUS:
        return previous_month(at or scheduled_start_time(), tz)
    return validate_period(p)


def months(start: str, end: str) -> list[str]:
    """Every month from `start` to `end`, both included, in order."""
    y0, m0 = map(int, validate_period(start).split("-"))
    y1, m1 = map(int, validate_period(end).split("-"))
    if (y1, m1) < (y0, m0):
        raise ValueError(f"backfill range ends ({end}) before it starts ({start})")
    out, y, m = [], y0, m0
    while (y, m) <= (y1, m1):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    return out


# ---------------------------------------------------------------- backfill
def published_periods(publications: Path) -> set[str]:
    """Periods that have at least one publication folder (whatever `latest` points to)."""
    from flows.publish.files import list_publications

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
    from flows.config import use_home
    from flows.publish.files import current_latest, list_publications, switch_latest

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


# ---------------------------------------------------------------- task caching
FAMILY_OF_TASK = {"ingest_registry": "partner_registry", "ingest_survey": "survey_waves"}
# What else decides an ingest result besides the landing files: the ingestion code and the source contracts.
INGEST_CODE = (REPO_ROOT / "flows" / "ingest", CONTRACTS_DIR, REPO_ROOT / "sources" / "instrument")


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def fingerprint(folders: Iterable[Path]) -> str:
    """sha256 over (relative path, content sha256) of every file under the folders — hidden files included:
    a changed file can only cause a cache miss, never a stale hit."""
    h = hashlib.sha256()
    for folder in folders:
        folder = Path(folder)
        h.update(f"\0dir:{folder.name}\0".encode())
        if not folder.is_dir():
            continue
        for p in _files_under(folder):
            h.update(str(p.relative_to(folder)).encode("utf-8", "surrogateescape") + b"\0")
            with p.open("rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()


@lru_cache(maxsize=1)
def ingest_code_fingerprint() -> str:
    from flows import __version__

    return f"{__version__}:{fingerprint(INGEST_CODE)}"


def _canonical(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if hasattr(value, "home") and isinstance(getattr(value, "home"), Path):   # flows.config.Paths
        return {"home": str(value.home)}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _file_digests(files: Iterable[Path], root: Path | None) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(f) for f in files):
        rel = p.relative_to(root) if root is not None and p.is_relative_to(root) else p
        h.update(str(rel).encode("utf-8", "surrogateescape") + b"\0")
        if p.is_file():
            with p.open("rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
        else:
            h.update(b"<missing>")
    return h.hexdigest()


def ingest_cache_key(context, parameters: dict[str, Any]) -> str | None:
    """Prefect `cache_key_fn` for the ingest tasks. The key hashes the content (and names) of the files the task
    reads, the ingestion code and contracts, and the task's other parameters (e.g. the registry's partner ids,
    which decide what is quarantined). Two task shapes are understood:

    - a family task, `(paths, family=…)` or a task named ingest_registry / ingest_survey: every file in
      landing/<family>/, plus the persistent landing manifest when there is one (a result also depends on the
      history it settles against);
    - a batch task, `(paths, family, files, known, batch_no)` (flows/pipeline.py:ingest_batch) or one with a `job`
      parameter carrying `.family` and `.files` (flows.ingest.landing.Job): only those files, so an unchanged
      batch is not read again while another is (`batch_no` only names the run: it is not part of the key).

    Returns None — no caching — when it cannot tell which files the task reads.
    """
    task_name = getattr(getattr(context, "task", None), "name", "") or ""
    job = parameters.get("job")
    paths = parameters.get("paths")
    if parameters.get("files") is not None and parameters.get("family"):
        family = parameters["family"]
        landing = Path(paths.landing) if hasattr(paths, "landing") else None
        files_digest = _file_digests(parameters["files"], landing)
        skip, extra = {"paths", "files", "batch_no"}, {}
    elif job is not None and hasattr(job, "files") and hasattr(job, "family"):
        family = job.family
        landing = Path(paths.landing) if hasattr(paths, "landing") else parameters.get("landing")
        files_digest = _file_digests(job.files, Path(landing) if landing else None)
        skip = {"job", "paths", "landing"}
        extra = {"known": getattr(job, "known", None)}
    else:
        family = parameters.get("family") or FAMILY_OF_TASK.get(task_name)
        if paths is None or not family or not hasattr(paths, "landing_for"):
            return None
        manifest = Path(paths.home) / "landing_manifest.duckdb"
        files_digest = fingerprint([paths.landing_for(family)]) + ":" + _file_digests([manifest], paths.home)
        skip, extra = {"paths"}, {"home": str(paths.home)}
    others = {k: v for k, v in parameters.items() if k not in skip}
    h = hashlib.sha256()
    h.update(json.dumps({"task": task_name, "family": family, "params": _canonical(others), "extra": _canonical(extra),
                         "code": ingest_code_fingerprint()}, sort_keys=True).encode())
    h.update(files_digest.encode())
    return f"phakhi-ingest-{family}-{h.hexdigest()[:32]}"


# ---------------------------------------------------------------- failure notification
NOTIFY_ENV = "PHAKHI_NOTIFY_WEBHOOK"
NOTIFY_SECRET_ENV = "PHAKHI_NOTIFY_SECRET"
SIGNATURE_HEADER = "X-Phakhi-Signature"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def failure_payload(flow, flow_run, state) -> dict:
    """A short, self-contained JSON summary of a failed (or crashed) run. `text` makes it readable as-is by
    chat webhooks (Slack, Mattermost, Google Chat)."""
    message = (getattr(state, "message", None) or "").strip()
    params = dict(getattr(flow_run, "parameters", None) or {})
    run_id = str(getattr(flow_run, "id", ""))
    ui = os.environ.get("PREFECT_UI_URL", "").rstrip("/")
    payload = {
        "event": "phakhi.refresh." + (getattr(state, "name", "failed") or "failed").lower(),
        "flow": getattr(flow, "name", None),
        "flow_run_id": run_id,
        "flow_run_name": getattr(flow_run, "name", None),
        "deployment_id": str(flow_run.deployment_id) if getattr(flow_run, "deployment_id", None) else None,
        "state": getattr(state, "name", None),
        "message": message[:4000],
        "parameters": {k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                       for k, v in params.items()},
        "scheduled_start": str(getattr(flow_run, "expected_start_time", "") or ""),
        "phakhi_home": os.environ.get("PHAKHI_HOME"),
        "host": socket.gethostname(),
        "ui_url": f"{ui}/runs/flow-run/{run_id}" if ui and run_id else None,
    }
    first = message.splitlines()[0] if message else "(no message)"
    payload["text"] = (f"Phakhi refresh {payload['state']}: {payload['flow_run_name']} "
                       f"(period={params.get('period')!s}) — {first[:300]}"
                       + (f"\n{payload['ui_url']}" if payload["ui_url"] else ""))
    return payload


def post_webhook(url: str, payload: dict, secret: str | None = None, timeout: float = 10.0) -> int:
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"{NOTIFY_ENV} must be an http(s) URL")
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "phakhi-notify/1"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:   # noqa: S310 - scheme checked above
        return resp.status


def notify_failure(flow, flow_run, state) -> None:
    """Flow hook (on_failure, on_crashed): POST the run's summary to PHAKHI_NOTIFY_WEBHOOK when it is set.
    Never raises — a notification problem is logged and must not hide the run's own failure."""
    url = os.environ.get(NOTIFY_ENV, "").strip()
    if not url:
        return
    try:
        status = post_webhook(url, failure_payload(flow, flow_run, state), os.environ.get(NOTIFY_SECRET_ENV) or None)
        _logger().info("failure notification sent (HTTP %s)", status)
    except (OSError, ValueError, urllib.error.URLError) as exc:
        _logger().warning("failure notification to %s could not be sent: %s", _redact(url), exc)


def _redact(url: str) -> str:
    """Webhook URLs often carry their token in the path: log the host only."""
    m = re.match(r"^(https?://[^/]+)", url)
    return (m.group(1) + "/…") if m else "(invalid URL)"


def _logger():
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # outside a run context
        return log


# ---------------------------------------------------------------- run time limit
TIMEOUT_ENV = "PHAKHI_REFRESH_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_S = 2 * 3600


def refresh_timeout_seconds(setting: str | None = None) -> float | None:
    """The refresh's time limit (PHAKHI_REFRESH_TIMEOUT_SECONDS; default 2 h, 0 = none). A run past it ends
    TimedOut (a Failed state: the failure hook notifies) instead of hanging — and holding the deployment's only
    concurrency slot, which would keep every later month waiting."""
    raw = (os.environ.get(TIMEOUT_ENV, "") if setting is None else setting).strip()
    if not raw:
        return float(DEFAULT_TIMEOUT_S)
    value = float(raw)
    if value < 0:
        raise ValueError(f"{TIMEOUT_ENV} must be >= 0 (0: no limit); got {raw!r}")
    return value or None


# ---------------------------------------------------------------- task runner
TASK_RUNNER_ENV = "PHAKHI_TASK_RUNNER"


def ingest_task_runner(setting: str | None = None):
    """The task runner for the refresh's submitted (ingest) tasks, from PHAKHI_TASK_RUNNER:

    threads | threads:N     Prefect's thread pool (default; N threads)
    dask | dask:N           a temporary local Dask cluster of N worker processes (default: one per core)
    dask:tcp://host:8786    an existing Dask cluster (its workers must see the same PHAKHI_HOME/landing)
    """
    raw = os.environ.get(TASK_RUNNER_ENV, "") if setting is None else setting
    kind, _, arg = raw.strip().partition(":")
    kind = kind.lower() or "threads"
    if kind in ("threads", "thread", "default"):
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=int(arg)) if arg else ThreadPoolTaskRunner()
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        if arg and not arg.isdigit():
            return DaskTaskRunner(address=arg if "://" in arg else f"tcp://{arg}")
        n = int(arg) if arg else max(1, os.cpu_count() or 1)
        return DaskTaskRunner(cluster_kwargs=local_dask_cluster_kwargs(n))
    raise ValueError(f"{TASK_RUNNER_ENV}={raw!r}: expected threads[:N], dask[:N] or dask:tcp://host:port")


def local_dask_cluster_kwargs(n_workers: int) -> dict:
    """One single-threaded worker process per slot (ingest is CPU-bound Python: processes, not threads).
    PHAKHI_INGEST_WORKERS=1 inside the workers: Dask already spreads the work, and a process pool of the
    ingest code's own would oversubscribe the cores. The diagnostics dashboard listens on a free loopback port
    (None does not switch it off; a fixed :8787 could clash)."""
    return {"n_workers": n_workers, "processes": True, "threads_per_worker": 1, "dashboard_address": "127.0.0.1:0",
            "env": {"PHAKHI_INGEST_WORKERS": "1"}}
