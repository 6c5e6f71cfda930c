"""Run dbt on the build warehouse, in its own process.

A subprocess, not in-process dbt: dbt-duckdb keeps the DuckDB file locked for the life of the process, and the
gate and publisher must open the same file next.

The build warehouse is either built from scratch or a copy of the published one on which only what changed
inputs reach is built (build_planned, phakhi/selection.py); what must outlive it - the partner-registry
snapshot (type-2 history) - lives in a second DuckDB file, $PHAKHI_HOME/warehouse/history.duckdb, which
dbt_project/profiles.yml attaches as database `history` (env PHAKHI_HISTORY).
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from phakhi.settings import DBT_PROJECT_DIR, REPO_ROOT, Paths


@dataclass
class DbtOutcome:
    success: bool
    command: list[str]
    elapsed_s: float
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)   # node, status, message
    log_tail: str = ""
    nodes: list[str] = field(default_factory=list)      # unique ids of the nodes dbt ran (any status)


# Every node but the seeds, each test selected directly. Not `--exclude resource_type:seed`: dbt's (eager)
# indirect selection would also drop every test with a seed among its parents - relationships of a fact to a
# vocabulary, assert_converted_reductions_use_factor_in_force - 192 of 547 tests that check this month's rows.
DOCS_SELECT = ["--select", "resource_type:model resource_type:snapshot resource_type:seed resource_type:source",
               "--indirect-selection", "empty"]
ALL_BUT_SEEDS = ["--select", "resource_type:model resource_type:snapshot resource_type:test resource_type:unit_test"]
# phakhi/dbt_worker.py prints it between two commands: the output before it is the first command's
STEP_MARK = "==> phakhi dbt step"
# Beside a successful build's manifest: the code it was built from (build_dbt_docs reuses its compiled SQL).
BUILT_CODE = "phakhi_built_code.txt"


def dbt_executable() -> str:
    local = Path(sys.executable).with_name("dbt")
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


# dbt's log file at 'info' (what the command prints: each node's start and result), not its default 'debug':
# the debug file logged every query's SQL and connection event (~11,000 lines for a new month's SAMPLE build),
# each record formatted, size-checked for rotation and written under one lock the threads queue on - about an
# eighth of dbt's samples (py-spy). Nothing reads the file: the gate and the quality page take dbt's outcome from
# run_results.json, and the refresh keeps the command's printed tail. DBT_LOG_LEVEL_FILE=debug brings it back.
LOG_LEVEL_FILE = "info"


def dbt_env(paths: Paths, warehouse: Path | None = None) -> dict[str, str]:
    return {**os.environ, "PHAKHI_WAREHOUSE": str(warehouse or paths.build_db),
            "PHAKHI_HISTORY": str(paths.history_db), "PHAKHI_HOME": str(paths.home),
            "DBT_LOG_PATH": str(paths.dbt_work / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE") or LOG_LEVEL_FILE}


def dbt_vars(paths: Paths, period: str) -> dict:
    """The month (passed to dbt as PHAKHI_PERIOD, see run_dbt), and whether the home holds SAMPLE or real data (model publication_origin: the SAMPLE
    banner is shown only on SAMPLE data)."""
    from phakhi.home import data_kind

    return {"period": period, "data_kind": data_kind(paths)}


def dbt_step(paths: Paths, period: str, command: str = "build", extra: list[str] | None = None,
             warehouse: Path | None = None, target: Path | None = None, scope: dict | None = None) -> dict:
    """One dbt command as phakhi/dbt_worker.py runs it: its arguments, environment and working folder (what
    `dbt <args>` gets as a process of its own), with its target folder made ready. `scope`: the column tests
    and facts that check / rebuild only some months' rows, {"tests"/"models": {model: [periods]}}
    (phakhi/selection.py:scoped_nodes)."""
    target = target or paths.dbt_work / "target"
    # The month travels as PHAKHI_PERIOD (read by macros/phakhi_period.sql), not --vars: changed --vars make
    # dbt throw away its partial parse and parse the whole project again every new month; a changed env var
    # re-parses only the files that use it.
    args = [*command.split(), "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target),
            "--vars", json.dumps({k: v for k, v in dbt_vars(paths, period).items() if k != "period"}), *(extra or [])]
    env = {**dbt_env(paths, warehouse), "PHAKHI_PERIOD": period}
    env.pop(SCOPE_ENV, None)                            # only ever this build's plan's
    if scope:
        env[SCOPE_ENV] = json.dumps(scope, sort_keys=True)
    key = parse_key(env, args)
    target.mkdir(parents=True, exist_ok=True)
    (target / "phakhi_period.txt").write_text(period, encoding="utf-8")
    (target / BUILT_CODE).unlink(missing_ok=True)       # written again below after a successful build
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").unlink(missing_ok=True)  # an earlier run's results must not pass for this one's
    return {"command": command, "args": args, "env": env, "cwd": str(DBT_PROJECT_DIR), "target": str(target),
            "parse_key": key}


# The month's variable, read only when dbt compiles to run (macros/phakhi_period.sql), never while parsing: not
# part of the parse key, so the project can be parsed before the month is known (phakhi/dbt_worker.py checks the
# parse: one that did read it serves only its own month).
PERIOD_ENV = "PHAKHI_PERIOD"
# The months the scoped column tests check and the scoped facts rebuild (macros/phakhi_scope.sql), likewise read
# only when a node compiles to run: not part of the parse key either.
SCOPE_ENV = "PHAKHI_SCOPE"


def parse_key(env: dict, args: list[str]) -> str:
    """What dbt's parse of the project depends on besides its files (which a refresh does not change): the
    environment but the month (PERIOD_ENV), the working folder, the project and profile and the vars - not the
    command, its selection or target folder. Steps with the same key can share one parse (phakhi/dbt_worker.py)."""
    import hashlib

    def value(flag: str) -> str:
        return args[args.index(flag) + 1] if flag in args else ""

    return hashlib.sha256(json.dumps([sorted((k, v) for k, v in env.items() if k not in (PERIOD_ENV, SCOPE_ENV)),
                                      str(DBT_PROJECT_DIR), value("--project-dir"),
                                      value("--profiles-dir"), value("--vars")]).encode()).hexdigest()


# phakhi/dbt_worker.py prints it after parsing ahead: the output before it is not the build's
PARSE_MARK = "==> phakhi dbt parsed ahead"


def parse_step(paths: Paths, period: str | None) -> dict:
    """`dbt parse` for the build of `period` (same environment and vars as dbt_step's; None: the month is not
    known yet, and the parse serves any month's build unless it read the month), in its own target folder
    (the build's keeps the last build's files until the build replaces them); its partial parse is seeded from
    the build's and copied back there once made (what a documentation command in another process reads)."""
    target, build_target = paths.dbt_work / "parse-target", paths.dbt_work / "target"
    target.mkdir(parents=True, exist_ok=True)
    if not (target / "partial_parse.msgpack").exists() and (build_target / "partial_parse.msgpack").exists():
        shutil.copyfile(build_target / "partial_parse.msgpack", target / "partial_parse.msgpack")
    env = {**dbt_env(paths), **({PERIOD_ENV: period} if period else {})}
    args = ["--quiet", "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target), "--no-write-json",
            "--vars", json.dumps({k: v for k, v in dbt_vars(paths, period).items() if k != "period"})]
    build_target.mkdir(parents=True, exist_ok=True)
    return {"args": args, "env": env, "cwd": str(DBT_PROJECT_DIR), "parse_key": parse_key(env, args),
            "mark": PARSE_MARK, "period_env": PERIOD_ENV,
            "copy": [[str(target / "partial_parse.msgpack"), str(build_target / "partial_parse.msgpack")]]}


def run_dbt(paths: Paths, period: str, command: str = "build", extra: list[str] | None = None,
            warehouse: Path | None = None, target: Path | None = None, scope: dict | None = None) -> DbtOutcome:
    return run_steps(paths, [dbt_step(paths, period, command, extra, warehouse, target, scope)])


def run_steps(paths: Paths, steps: list[dict], code: str | None = None) -> DbtOutcome:
    """Run dbt commands one after the other in one dbt process (the one started early, else a new one); the
    outcome is the first command's (later ones - the documentation after a build - report through their
    files). `code`: the code fingerprint, when the caller has it."""
    first = steps[0]
    target = Path(first["target"])
    cmd = [dbt_executable(), *first["args"]]
    if first["command"] == "build" and len(steps) > 1:
        from phakhi.refresh_inputs import code_fingerprint

        code = code or code_fingerprint()
        first["built_code"] = {"path": str(target / BUILT_CODE), "value": code}
    proc = take_dbt_process()
    if proc is None:        # dbt is not importable here (only a `dbt` executable on PATH): one process each
        done = subprocess.run(cmd, env=first["env"], capture_output=True, text=True, cwd=first["cwd"])
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
    else:
        stdout, stderr = proc.communicate(json.dumps({"steps": steps, "mark": STEP_MARK}) + "\n")
        returncode = proc.returncode
    if PARSE_MARK in stdout:                            # the parse ahead's output: not the build's
        stdout = stdout.split(PARSE_MARK, 1)[1].lstrip("\n")
    stdout = stdout.split(f"\n{STEP_MARK}")[0]          # the first command's output
    results_file = target / "run_results.json"
    counts, failures, elapsed, nodes = {}, [], 0.0, []
    if results_file.exists():
        data = json.loads(results_file.read_text())
        elapsed = float(data.get("elapsed_time", 0.0))
        for r in data.get("results", []):
            nodes.append(r["unique_id"])
            counts[r["status"]] = counts.get(r["status"], 0) + 1
            if r["status"] in ("error", "fail", "runtime error"):
                failures.append({"node": r["unique_id"], "status": r["status"],
                                 "message": (r.get("message") or "").strip(), "failures": r.get("failures")})
    ok = returncode == 0 and not failures
    if not ok and not failures:
        failures.append({"node": "dbt", "status": "error", "message": _tail(stdout + stderr, 25)})
    if ok and first["command"] == "build":
        from phakhi.refresh_inputs import code_fingerprint

        (target / BUILT_CODE).write_text(code or code_fingerprint(), encoding="utf-8")
    return DbtOutcome(ok, cmd, elapsed, counts, failures, _tail(stdout, 40), nodes)


# ------------------------------------------------------------------ dbt's process, started early
_EARLY: dict[str, subprocess.Popen] = {}


def _dbt_importable() -> bool:
    """dbt is installed, asked without importing it: `find_spec("dbt.cli.main")` imports its parent packages,
    and `dbt.cli`'s __init__ imports most of dbt (events, contracts, tracking: ~1.5 s CPU and ~90 MB in the
    refresh's own process, which never runs dbt; issue 17). The top-level spec plus the file is enough."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("dbt")
    except (ModuleNotFoundError, ValueError):
        return False
    return spec is not None and any(Path(p, "cli", "main.py").is_file() for p in spec.submodule_search_locations or ())


def _start_dbt_process() -> subprocess.Popen | None:
    if not _dbt_importable():
        return None
    # the same phakhi as this process's (its checkout first on the path), whatever is installed
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "phakhi.dbt_worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=DBT_PROJECT_DIR,
                            env={**os.environ, "PYTHONPATH": path})
    atexit.register(_discard, proc)      # not used after all (a failure before the build): it exits at once
    return proc


def _discard(proc: subprocess.Popen) -> None:
    """Ends a dbt process that got no job (one that did has ended: run_steps waited for it). Killed: it only
    imported dbt, or parsed ahead - a parse file cut short is one dbt reads as missing (a full parse next time)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


# processes asked to parse ahead, by pid: the parse key asked for
_PARSING: dict[int, str] = {}


def prestart_dbt(paths: Paths | None = None, period: str | None = None, parse: bool = False) -> None:
    """Start dbt's process now (phakhi/dbt_worker.py): it imports dbt (~3 s CPU) while the refresh ingests,
    loads and plans; the next run_dbt of this process uses it. With `paths` and `period` (known once the landing
    is ingested; or `parse` without it: any month's), it also parses the project for the build, which then skips
    its own parse - asked from the flow only, whose environment is the build's (the parse key's). Call only when
    a dbt command may follow, and discard_dbt_process when none will."""
    proc = _EARLY.get("dbt")
    if proc is None or proc.poll() is not None:
        proc = _start_dbt_process()
        if proc is None:
            return
        _EARLY["dbt"] = proc
    if paths is not None and (period is not None or parse):
        step = parse_step(paths, period)
        if _PARSING.get(proc.pid) == step["parse_key"]:     # asked already, for the same build
            return
        try:
            proc.stdin.write(json.dumps({"parse": step}) + "\n")
            proc.stdin.flush()
        except OSError:
            return
        _PARSING[proc.pid] = step["parse_key"]


# A large home's refresh starts dbt's process before ingest when at most this many files landed since the live
# publication (~3 national months: 6,217 files a month). Ingest makes the tree's memory peak, and it grows with
# the files it reads (national, measured: 1,051 MB for a month's 6,217 files, 1,958 MB for 67,490): a month's
# ingest leaves room for dbt's process (~200-300 MB once parsed) under issue 17's 2 GB; a backlog of months or a
# re-landed history does not.
EARLY_DBT_MAX_NEW_FILES = 20_000


def prestart_dbt_early(paths: Paths, period: str | None = None, parse: bool = False) -> None:
    """At the start of a refresh, before ingest: dbt's process imports and - with `period` (asked for or
    scheduled) or `parse` (the flow's call: any month, the parse does not read it) - parses the project while
    the landing is ingested, when files landed since the live publication (landed_since_publication): any on a
    small home (fewer raw rows than the gate's warm-up threshold in the published warehouse), at most
    EARLY_DBT_MAX_NEW_FILES on a large one (a month's; a larger ingest's memory peak must not get dbt's on top).
    A parse that read the month serves only its own (phakhi/dbt_worker.py): another month's build parses itself."""
    from phakhi.warm_imports import WARM_GX_DURING_DBT_BELOW_ROWS, raw_rows

    if not paths.published_db.exists():
        return
    most = None if raw_rows(paths.published_db) < WARM_GX_DURING_DBT_BELOW_ROWS else EARLY_DBT_MAX_NEW_FILES
    if 0 < landed_since_publication(paths, 1 if most is None else most + 1) <= (most or 1):
        prestart_dbt(paths, period, parse)


_LANDED: dict[tuple, int] = {}      # (landing, publication's mtime, up_to) -> count: the CLI and the flow both ask


def landed_since_publication(paths: Paths, up_to: int = 1) -> int:
    """How many landed files were modified after the live publication's switch, counted up to `up_to`: when
    any, this refresh most likely builds (a refresh with nothing new stops after ingest, and would only pay
    dbt's import for nothing). A guess for timing only - ingest decides what changed; a wrong guess costs a
    process start, either way. Counted once per process (the CLI asks before the flow, the flow again)."""
    try:
        since = paths.published_inputs.stat().st_mtime
    except OSError:
        return 0
    key = (str(paths.landing), since, up_to)
    if key in _LANDED:
        return _LANDED[key]
    found = 0
    for root, _dirs, files in os.walk(paths.landing):
        for name in files:
            try:
                if os.stat(os.path.join(root, name)).st_mtime > since:
                    found += 1
                    if found >= up_to:
                        _LANDED[key] = found
                        return found
            except OSError:
                continue
    _LANDED[key] = found
    return found


def take_dbt_process() -> subprocess.Popen | None:
    proc = _EARLY.pop("dbt", None)
    if proc is not None and proc.poll() is None:
        return proc
    return _start_dbt_process()


def discard_dbt_process() -> None:
    """No dbt command follows: the early process ends now."""
    proc = _EARLY.pop("dbt", None)
    if proc is not None:
        _discard(proc)


def build_planned(paths: Paths, period: str, plan) -> DbtOutcome:
    """`dbt build` as a BuildPlan says (phakhi/selection.py): everything on a fresh warehouse; on a copy of the
    published one only the nodes this run's changed inputs reach (no dbt process at all when none changed)."""
    if plan is not None and plan.nothing_to_build:
        discard_dbt_process()
        return DbtOutcome(True, [], 0.0, log_tail=plan.describe())
    steps = [dbt_step(paths, period, extra=plan.dbt_args() if plan is not None else None,
                      scope=plan.scope if plan is not None else None)]
    from phakhi.refresh_inputs import code_fingerprint

    code = code_fingerprint()                               # once for the build's checks and records
    if _dbt_importable() and docs_needed(paths, period, code):     # (without dbt's process: publish makes it)
        # dbt's documentation page (publish copies it) in the same dbt process, after a successful build: one
        # process start fewer; the page is the one publish would generate (same command, warehouse, catalog)
        # month_built: the build ran every model that reads the month (all of them, or a new month's selection)
        month_built = plan is None or plan.mode != "incremental" or plan.period_changed
        steps.append({"prepare": "phakhi.transform:docs_step",      # the code it checks the build against
                      "kwargs": {"home": str(paths.home), "period": period, "month_built": month_built,
                                 "code": code}})
    outcome = run_steps(paths, steps, code)
    if outcome.success and len(steps) > 1:
        record_docs_key(paths, period, code)
    return outcome


def _tail(text: str, n: int) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def build_dbt_docs(paths: Paths, out_dir: Path, period: str | None = None,
                   warehouse: Path | None = None) -> Path:
    """Generate dbt's documentation site for the warehouse just built and copy it into `out_dir` as one
    self-contained page, `out_dir/index.html` (models, columns, tests, lineage graph; manifest and catalog
    inlined by `dbt docs generate --static`, so it opens offline from a file).

    Call it after the build and the gate, with no DuckDB connection open on the build warehouse (dbt opens it,
    and the history database, from its own process to read the catalog). Uses its own target folder, so the
    build's run_results.json and manifest stay intact. `period` defaults to the one the last build ran with.
    About 5 s; the page is about 4 MB. Raises RuntimeError when dbt fails. A refresh's build usually made the
    page already (build_planned): then it is copied.
    """
    period = period or _last_build_period(paths)
    if not period:
        raise ValueError("no dbt build found under PHAKHI_HOME to document; pass period='YYYY-MM'")
    docs_target = paths.dbt_work / "docs-target"
    key, key_file = docs_key(paths, period, warehouse), docs_target / "phakhi_docs_key.txt"
    page = docs_target / "static_index.html"
    if key and page.exists() and key_file.exists() and key_file.read_text(encoding="utf-8") == key:
        # Same project, month, vars and warehouse catalog as the page already generated: the same page
        # (`dbt docs generate` took ~15 s CPU of every publish). Only its generation time is older.
        return _copy_docs(page, out_dir)
    outcome = run_dbt(paths, period, command="docs generate", extra=prepare_docs(paths, period),
                      warehouse=warehouse, target=docs_target)
    if not outcome.success or not page.exists():
        raise RuntimeError(f"dbt docs generate failed:\n{outcome.log_tail or outcome.failures}")
    if key:
        key_file.write_text(key, encoding="utf-8")
    record_docs_made_with(paths, period)
    return _copy_docs(page, out_dir)


def prepare_docs(paths: Paths, period: str, month_built: bool = False, code: str | None = None) -> list[str]:
    """Make the docs target ready for `dbt docs generate` (no page, no key; the build's parse and, when it
    compiled everything, its manifest) and return the command's extra arguments. `code`: the code fingerprint
    (computed when not given)."""
    from phakhi.refresh_inputs import code_fingerprint

    code = code or code_fingerprint()
    docs_target = paths.dbt_work / "docs-target"
    docs_target.mkdir(parents=True, exist_ok=True)
    (docs_target / "phakhi_docs_key.txt").unlink(missing_ok=True)
    (docs_target / "static_index.html").unlink(missing_ok=True)
    parsed = paths.dbt_work / "target" / "partial_parse.msgpack"
    if parsed.exists():   # reuse the build's parse (same project, profile and vars): saves seconds
        shutil.copyfile(parsed, docs_target / "partial_parse.msgpack")
    built = _build_manifest(paths, period, code)           # read once for both checks
    compiled = _compiled_build_manifest(paths, built)
    completed = None if compiled is not None else _completed_build_manifest(paths, period, month_built, code, built)
    (docs_target / DOCS_MADE_WITH).unlink(missing_ok=True)      # written again once this page is made
    if compiled is not None or completed is not None:
        # The build compiled every model and snapshot of this month with this code (or, after a selective
        # build, every one this month's inputs reach, the others keeping the last page's SQL for the same code,
        # vars and source: _completed_build_manifest): the page shows that manifest (tests compiled too) and dbt
        # only reads the catalog - no compile, no manifest written (--no-write-json; the page is made of the
        # manifest.json in its target folder).
        if compiled is not None:
            shutil.copyfile(compiled, docs_target / "manifest.json")
        else:
            (docs_target / "manifest.json").write_text(json.dumps(completed), encoding="utf-8")
        return ["--static", "--no-compile", "--no-write-json", *DOCS_SELECT]
    # Compile what the page shows compiled (models, snapshots); not the tests, which the page lists
    # under their models but never shows compiled (~9 s of each new month's publish). The catalog still
    # covers every model, seed, snapshot and source.
    return ["--static", *DOCS_SELECT]


def docs_step(home: str, period: str, month_built: bool = False, code: str | None = None) -> dict:
    """The documentation command that follows a successful build in the same dbt process (phakhi/dbt_worker.py
    asks for it there, after the build wrote its manifest); `code`: the refresh's code fingerprint."""
    paths = Paths(Path(home))
    return dbt_step(paths, period, command="docs generate", extra=prepare_docs(paths, period, month_built, code),
                    target=paths.dbt_work / "docs-target")


def docs_needed(paths: Paths, period: str, code: str | None = None) -> bool:
    """False when the last page was made from this code, month and vars: then only the catalog can differ,
    which build_dbt_docs checks at publish (and usually finds unchanged: no dbt at all)."""
    try:
        made = (paths.dbt_work / "docs-target" / "phakhi_docs_key.txt").read_text(encoding="utf-8")
    except OSError:
        return True
    return made.split(":")[0] != _docs_head(paths, period, code) or \
        not (paths.dbt_work / "docs-target" / "static_index.html").exists()


def record_docs_key(paths: Paths, period: str, code: str | None = None) -> None:
    """After the build's process made the page: its key, as build_dbt_docs writes it after generating. Only for
    a page written after this build's results (never an older page the documentation step did not replace)."""
    docs_target = paths.dbt_work / "docs-target"
    page, results = docs_target / "static_index.html", paths.dbt_work / "target" / "run_results.json"
    try:
        fresh = page.stat().st_mtime >= results.stat().st_mtime
    except OSError:
        return
    key = docs_key(paths, period, code=code) if fresh else None
    if key:
        (docs_target / "phakhi_docs_key.txt").write_text(key, encoding="utf-8")
    if fresh:
        record_docs_made_with(paths, period, code)


def _build_manifest(paths: Paths, period: str, code: str) -> dict | None:
    """The last build's manifest.json when that build succeeded for `period` with the code `code`; else None."""
    target = paths.dbt_work / "target"
    try:
        if (target / "phakhi_period.txt").read_text(encoding="utf-8").strip() != period or \
                (target / BUILT_CODE).read_text(encoding="utf-8") != code:
            return None
        built = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return built if isinstance(built, dict) and isinstance(built.get("nodes"), dict) else None


def _compiled_build_manifest(paths: Paths, built: dict | None) -> Path | None:
    """The last build's manifest.json when it holds the compiled SQL of every model and snapshot for the month
    and the current code (a build of everything that succeeded); None otherwise (a selective build compiles
    only what it ran). `built`: that manifest as _build_manifest read it."""
    if built is None:
        return None
    shown = [n for n in built["nodes"].values() if n.get("resource_type") in ("model", "snapshot")]
    return paths.dbt_work / "target" / "manifest.json" if shown and all(n.get("compiled_code") for n in shown) \
        else None


# Beside the documentation page: the code and vars it was compiled with (code fingerprint and vars, not the
# month), written once the page is made; what lets the next month's page keep its SQL for unselected models.
DOCS_MADE_WITH = "phakhi_docs_made_with.txt"
# What compiling adds to a manifest node (dbt 1.11): taken from the last page for a model the build did not run.
COMPILED_FIELDS = ("compiled", "compiled_code", "compiled_path", "extra_ctes", "extra_ctes_injected", "depends_on")


def _docs_made_with(paths: Paths, code: str | None = None) -> str:
    from phakhi.refresh_inputs import code_fingerprint

    vars_ = {k: v for k, v in dbt_vars(paths, "").items() if k != "period"}
    return f"{code or code_fingerprint()}|{json.dumps(vars_, sort_keys=True)}"


def record_docs_made_with(paths: Paths, period: str, code: str | None = None) -> None:
    (paths.dbt_work / "docs-target" / DOCS_MADE_WITH).write_text(
        json.dumps({"with": _docs_made_with(paths, code), "period": period}), encoding="utf-8")


def _completed_build_manifest(paths: Paths, period: str, month_built: bool, code: str,
                              built: dict | None) -> dict | None:
    """After a successful selective build for `period` and the current code: its manifest, with the compiled
    SQL of each model and snapshot it did not run taken from the last documentation page's manifest. Sound
    when the build ran every model that reads the month (`month_built`: a new month's selection,
    phakhi/selection.py) or the last page is of this month: with the same code and vars (DOCS_MADE_WITH) and
    the same source (checksum), a model that does not read the month compiles to the same SQL every month, and
    the month's SQL of the others comes from this build. (Relation-dependent SQL -
    is_incremental(), phakhi_optional_relation - follows a raw table that changed, and so a selected model.)
    None when anything is missing or differs: then the documentation step compiles, as before. `code`: the
    code fingerprint; `built`: the build's manifest as _build_manifest read it."""
    docs_target = paths.dbt_work / "docs-target"
    if built is None:
        return None
    try:
        made = json.loads((docs_target / DOCS_MADE_WITH).read_text(encoding="utf-8"))
        if made["with"] != _docs_made_with(paths, code) or not (month_built or made["period"] == period):
            return None
        last = json.loads((docs_target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    missing = [uid for uid, n in built.get("nodes", {}).items()
               if n.get("resource_type") in ("model", "snapshot") and not n.get("compiled_code")]
    if not missing:
        return None
    for uid in missing:
        node, old = built["nodes"][uid], last.get(uid)
        if not old or not old.get("compiled_code") or \
                old.get("checksum") != node.get("checksum") or \
                set((old.get("depends_on") or {}).get("nodes") or ()) != \
                set((node.get("depends_on") or {}).get("nodes") or ()):
            return None
        node.update({k: old[k] for k in COMPILED_FIELDS if k in old})
    return built


def _copy_docs(page: Path, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / "index.html"
    shutil.copyfile(page, dest)
    return dest


def docs_key(paths: Paths, period: str, warehouse: Path | None = None, code: str | None = None) -> str | None:
    """What dbt's documentation page is made of: the project (code fingerprint), the month and vars (compiled
    SQL), and the catalog - every relation and column with its type, of the warehouse and the attached
    history database. None when the warehouse cannot be read (then the page is generated)."""
    import hashlib

    import duckdb

    db = Path(warehouse or paths.build_db)
    h = hashlib.sha256()
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            if paths.history_db.exists():
                con.execute(f"attach '{paths.history_db}' as history (read_only)")
            rows = con.execute(
                "select c.table_catalog, c.table_schema, c.table_name, t.table_type, c.column_name, "
                "c.ordinal_position, c.data_type from information_schema.columns c join information_schema.tables t "
                "using (table_catalog, table_schema, table_name) order by all").fetchall()
    except duckdb.Error:
        return None
    h.update(repr([(db.stem if r[0] == db.stem else r[0], *r[1:]) for r in rows]).encode())
    return f"{_docs_head(paths, period, code)}:{h.hexdigest()}"


def _docs_head(paths: Paths, period: str, code: str | None = None) -> str:
    """The part of the documentation page's key known before the build: code, month and vars."""
    import hashlib

    from phakhi.refresh_inputs import code_fingerprint

    return hashlib.sha256(f"{code or code_fingerprint()}|{period}|{json.dumps(dbt_vars(paths, period), sort_keys=True)}"
                          .encode()).hexdigest()


def _last_build_period(paths: Paths) -> str | None:
    target = paths.dbt_work / "target"
    try:
        return (target / "phakhi_period.txt").read_text(encoding="utf-8").strip() or None
    except OSError:
        pass
    try:
        data = json.loads((target / "run_results.json").read_text())
        return (data.get("args", {}).get("vars") or {}).get("period")
    except (OSError, ValueError):
        return None
