"""dbt's process, started before the refresh needs it (issue 17: fixed cost).

    python -m phakhi.dbt_worker        (phakhi/transform.py starts it; one JSON job on stdin)

A `dbt` command spent ~3 s importing dbt and its DuckDB adapter before its first log line, and 1-2 s after its
last one in the interpreter's final collections; the documentation page then took a second `dbt` process in
publish (the same imports again). This process imports dbt at once, while the refresh ingests, loads the raw
tables and plans the build, then waits for one job: a list of steps, each a dbt command line with its
environment (exactly what `dbt <args>` would get), or {"prepare": "module:function", "kwargs": {...}} for a
step made ready only when the ones before it are done (the documentation page after a build:
phakhi.transform.docs_step), run one after the other with
dbt's own programmatic entry point (dbtRunner: the same click command as the `dbt` executable) until one fails.
The process exits with the first step's code (0 success, 1 failed nodes, 2 error: the `dbt` executable's
codes); a later step reports through its files (the docs page exists or not). Steps share nothing but the imports: each reads its project, profile
and partial parse from disk as a `dbt` process would, and dbt-duckdb closes the warehouse when a command ends.
Empty stdin (the refresh needed no dbt): exits at once.
"""
from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import sys
import traceback


def exit_code(result) -> int:
    if result.exception is not None:
        return 2
    return 0 if result.success else 1


def run_job(job: dict) -> int:
    from dbt.cli.main import dbtRunner

    first = None
    for i, step in enumerate(job["steps"]):
        if i:                        # the refresh splits the output at this line
            print(f"{job['mark']} {i}", flush=True)
        try:
            if "prepare" in step:    # e.g. the documentation after the build: made ready once the build is done
                module, _, name = step["prepare"].partition(":")
                step = getattr(importlib.import_module(module), name)(**step["kwargs"])
            os.environ.clear()
            os.environ.update(step["env"])
            os.chdir(step["cwd"])
            code = exit_code(dbtRunner().invoke(list(step["args"])))
        except Exception:            # a later step's failure never turns a finished build into a failed one
            if first is None:
                raise
            traceback.print_exc()
            break
        sys.stdout.flush()
        if code == 0 and step.get("built_code"):     # what the next step (the docs) checks, as run_dbt writes it
            with open(step["built_code"]["path"], "w", encoding="utf-8") as fh:
                fh.write(step["built_code"]["value"])
        first = code if first is None else first
        if code:
            break
    return first or 0


def main() -> int:
    # the final collections walk every object dbt made (its manifest): seconds, for memory the OS takes back
    atexit.register(gc.freeze)
    import dbt.adapters.duckdb  # noqa: F401  (the adapter every command registers)
    import dbt.cli.main  # noqa: F401
    try:        # what every build's Python models use (relation.df(), their frames): ~0.4 s, off the build's path
        import pandas  # noqa: F401
    except ImportError:
        pass

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    return run_job(json.loads(line))


if __name__ == "__main__":
    sys.exit(main())
