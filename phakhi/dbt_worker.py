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
codes); a later step reports through its files (the docs page exists or not). Steps share nothing but the imports (and a manifest parsed ahead, below): each reads its project, profile
and partial parse from disk as a `dbt` process would, and dbt-duckdb closes the warehouse when a command ends.
Empty stdin (the refresh needed no dbt): exits at once.

Before the job a line {"parse": step} may come (phakhi.transform.prestart_dbt; the month need not be known): dbt
parses the project then (`dbt parse` into its own target folder, the partial parse kept there), while the
refresh loads and plans, and the job's steps run on that manifest (dbtRunner(manifest=...), dbt's programmatic
API) instead of each reading the project again: a step whose "parse_key" (environment, working folder, project,
profile and vars: phakhi.transform.parse_key) is the parse's; the documentation step only when it does not
compile (it reads the catalog for the manifest's nodes and makes the page of the build's manifest.json on disk).
Any other step, or a failed parse, parses as before.
"""
from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import shutil
import sys
import traceback


# the refresh's timeline file (phakhi.timing.milestone), read before a step replaces this process's environment
_TIMELINE = os.environ.get("PHAKHI_TIMELINE")


def trace(event: str) -> None:
    """When each phase of this process ended, on the refresh's timeline (measuring; nothing when unset)."""
    if _TIMELINE:
        from phakhi.timing import milestone

        milestone(f"dbt process: {event}", _TIMELINE)


def list_secrets_once() -> None:
    """dbt scrubs each log line it formats of the values of the DBT_ENV_SECRET_* variables, and lists them anew
    from the whole environment for every line - formatted for the console and the file before their level drops
    it, debug events included: ~5,000 lines for a one-file month, ~0.2 ms each with ~60 variables (~1 s of
    dbt's CPU). Here the environment is set once per command (below), so the secrets are listed once then: the
    same values scrubbed from the same lines. Call after setting the command's environment."""
    try:
        from dbt_common.events import functions
        from dbt_common.exceptions import env_secrets
    except ImportError:
        return
    secrets = env_secrets()
    functions.env_secrets = lambda: secrets


def exit_code(result) -> int:
    if result.exception is not None:
        return 2
    return 0 if result.success else 1


def parse_ahead(step: dict):
    """{"key", "manifest"} of the project parsed as `step` says (None when dbt failed: the build parses)."""
    from dbt.cli.main import dbtRunner

    os.environ.clear()
    os.environ.update(step["env"])
    list_secrets_once()
    os.chdir(step["cwd"])
    try:
        result = dbtRunner().invoke(list(step["args"]))
    except Exception:
        traceback.print_exc()
        return None
    finally:
        print(step["mark"], flush=True)         # the refresh drops the output before this line
    trace("parsed")
    if not result.success or result.result is None:
        return None
    for src, dest in step.get("copy") or ():    # the fresh partial parse, where the build's own parse reads it
        try:
            shutil.copyfile(src, dest + ".tmp")
            os.replace(dest + ".tmp", dest)     # whole or not at all
        except OSError:
            pass
    # The parse key leaves the month out (the project reads it only when compiling to run); a parse that did read
    # it while parsing (dbt records such env vars in the manifest) serves only steps of the month it was made with.
    period_env = step.get("period_env")
    period_read = bool(period_env) and period_env in (getattr(result.result, "env_vars", None) or {})
    return {"key": step["parse_key"], "manifest": result.result,
            "period": step["env"].get(period_env) if period_read else None, "period_env": period_env,
            "period_read": period_read}


def reuses(step: dict, parsed: dict | None) -> bool:
    if not parsed or step.get("parse_key") != parsed["key"]:
        return False
    if parsed.get("period_read") and (step.get("env") or {}).get(parsed["period_env"]) != parsed["period"]:
        return False
    args = list(step["args"])
    return args[:1] == ["build"] or (args[:2] == ["docs", "generate"] and "--no-compile" in args)


def run_job(job: dict, parsed: dict | None = None) -> int:
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
            list_secrets_once()
            os.chdir(step["cwd"])
            runner = dbtRunner(manifest=parsed["manifest"]) if reuses(step, parsed) else dbtRunner()
            code = exit_code(runner.invoke(list(step["args"])))
        except Exception:            # a later step's failure never turns a finished build into a failed one
            if first is None:
                raise
            traceback.print_exc()
            break
        sys.stdout.flush()
        trace(f"step {i} done ({'manifest reused' if reuses(step, parsed) else 'parsed'}; code {code})")
        if code == 0 and step.get("built_code"):     # what the next step (the docs) checks, as run_dbt writes it
            with open(step["built_code"]["path"], "w", encoding="utf-8") as fh:
                fh.write(step["built_code"]["value"])
        first = code if first is None else first
        if code:
            break
    return first or 0


def main() -> int:
    # the final collections walk every object dbt made (its manifest): seconds, for memory the OS takes back
    trace("start")
    atexit.register(gc.freeze)
    import dbt.adapters.duckdb  # noqa: F401  (the adapter every command registers)
    import dbt.cli.main  # noqa: F401
    try:        # what every build's Python models use (relation.df(), their frames): ~0.4 s, off the build's path
        import pandas  # noqa: F401
    except ImportError:
        pass
    try:        # what the documentation step is made ready with (phakhi.transform.docs_step): ~0.4-0.8 s under
        import phakhi.home  # noqa: F401            # load after the build (its SAMPLE vocabulary, the code's
        import phakhi.refresh_inputs  # noqa: F401  # fingerprint), off the build's path now
        import phakhi.transform  # noqa: F401
    except ImportError:
        pass

    trace("imported")
    parsed = None
    while True:
        line = sys.stdin.readline()
        trace("read " + (line[:20] if line.strip() else "end"))
        if not line.strip():
            return 0
        job = json.loads(line)
        if "parse" not in job:
            return run_job(job, parsed)
        parsed = parse_ahead(job["parse"])


if __name__ == "__main__":
    sys.exit(main())
