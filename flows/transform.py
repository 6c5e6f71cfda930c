"""Run dbt on the staging warehouse, in its own process.

A subprocess, not in-process dbt: dbt-duckdb keeps the DuckDB file locked for the life of the process, and the
gate and publisher must open the same file next.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from flows.config import DBT_PROJECT_DIR, Paths


@dataclass
class DbtOutcome:
    success: bool
    command: list[str]
    elapsed_s: float
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)   # node, status, message
    log_tail: str = ""


def dbt_executable() -> str:
    local = Path(sys.executable).with_name("dbt")
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(paths: Paths, period: str, command: str = "build", extra: list[str] | None = None,
            warehouse: Path | None = None) -> DbtOutcome:
    target = paths.dbt_work / "target"
    cmd = [dbt_executable(), command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
           "--target-path", str(target), "--vars", json.dumps({"period": period}), *(extra or [])]
    env = {**os.environ, "PHAKHI_WAREHOUSE": str(warehouse or paths.staging_db),
           "DBT_LOG_PATH": str(paths.dbt_work / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    results_file = target / "run_results.json"
    results_file.unlink(missing_ok=True)  # an earlier run's results must not pass for this one's
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR)
    counts, failures, elapsed = {}, [], 0.0
    if results_file.exists():
        data = json.loads(results_file.read_text())
        elapsed = float(data.get("elapsed_time", 0.0))
        for r in data.get("results", []):
            counts[r["status"]] = counts.get(r["status"], 0) + 1
            if r["status"] in ("error", "fail", "runtime error"):
                failures.append({"node": r["unique_id"], "status": r["status"],
                                 "message": (r.get("message") or "").strip(), "failures": r.get("failures")})
    ok = proc.returncode == 0 and not failures
    if not ok and not failures:
        failures.append({"node": "dbt", "status": "error", "message": _tail(proc.stdout + proc.stderr, 25)})
    return DbtOutcome(ok, cmd, elapsed, counts, failures, _tail(proc.stdout, 40))


def _tail(text: str, n: int) -> str:
    return "\n".join(text.strip().splitlines()[-n:])
