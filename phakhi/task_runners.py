"""How the refresh runs its tasks: the task runner (PHAKHI_TASK_RUNNER) and the run's time limit
(PHAKHI_REFRESH_TIMEOUT_SECONDS). Nothing here imports Prefect at module level."""
from __future__ import annotations

import os

from phakhi.settings import settings

TIMEOUT_ENV = "PHAKHI_REFRESH_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_S = 2 * 3600


def refresh_timeout_seconds(setting: str | None = None) -> float | None:
    """The refresh's time limit (PHAKHI_REFRESH_TIMEOUT_SECONDS; default 2 h, 0 = none). A run past it ends
    TimedOut (a Failed state: the failure hook notifies) instead of hanging — and holding the deployment's only
    concurrency slot, which would keep every later month waiting."""
    raw = (settings().refresh_timeout_seconds if setting is None else setting).strip()
    if not raw:
        return float(DEFAULT_TIMEOUT_S)
    value = float(raw)
    if value < 0:
        raise ValueError(f"{TIMEOUT_ENV} must be >= 0 (0: no limit); got {raw!r}")
    return value or None


TASK_RUNNER_ENV = "PHAKHI_TASK_RUNNER"


def ingest_task_runner(setting: str | None = None):
    """The task runner for the refresh's submitted (ingest) tasks, from PHAKHI_TASK_RUNNER:

    threads | threads:N     Prefect's thread pool (default; N threads)
    dask | dask:N           a temporary local Dask cluster of N worker processes (default: one per core)
    dask:tcp://host:8786    an existing Dask cluster (its workers must see the same PHAKHI_HOME/landing)
    """
    raw = settings().task_runner if setting is None else setting
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
