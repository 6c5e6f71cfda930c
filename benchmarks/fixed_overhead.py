"""The fixed cost of a refresh: a near-empty home (one partner, one small file), refreshed as a user would.

    .venv/bin/python benchmarks/fixed_overhead.py                    # fresh home in a temporary folder
    .venv/bin/python benchmarks/fixed_overhead.py --home /tmp/fx     # keep the home (re-runs reuse it)
    .venv/bin/python benchmarks/fixed_overhead.py --json out.json

Steps, each `phakhi refresh` run as a subprocess exactly as a user runs it (supervised, Prefect's temporary
server, dbt as a subprocess), timed as a whole (wall; CPU of the whole process tree) and per stage (the flow's
stage timers, $PHAKHI_HOME/runs/stages.jsonl):
  1. first   - `phakhi init`, one partner in the registry, one activity file with one row: the first refresh
  2. one_new - one more small file (the same partner's next month): what a near-empty month costs
  3. nothing - nothing changed: the refresh stops after ingest
"other" = the whole minus the timed stages: Python start-ups (supervisor and child), imports, Prefect's
temporary API server, the flow's glue. CPU by process (Linux): the refresh's processes, Prefect's temporary
server and dbt's process, sampled from /proc every 50 ms (a process's last 50 ms can be missed). Issue 17's target: a near-empty landing (step 2) in <= 15 s wall on two
idle cores. Wall depends on the machine's load (printed with the figures); CPU seconds much less.

What the dbt stage of one_new is made of (py-spy on phakhi/dbt_worker.py and dbt.log, 2026-11-30, loaded machine):
most of it is real per-node work - models (the 8 Python models ~18 % of dbt's samples, including their
pandas/scipy imports), tests, compiled SQL written per node; dbt's debug file log ~5-7 %; setup ~3 s
(profile, saved parse, manifest written, graph) and the documentation command ~1.5-3 s. The documentation
page must be made again for a new month: its compiled SQL shows the month (24 models, e.g. '2025-07-01').
Tried and dropped: gc.freeze + a 100k young threshold in dbt's process (collections ~1,600 -> ~330 per build,
but dbt's process used more CPU in four A/B refreshes at load 2.5-4: 12.7/12.9/11.8/14.5 s before,
14.2/18.4/18.8/17.0 s after).

Outside dbt (run20, 2026-11-30; py-spy --idle --subprocesses on one_new / nothing; machine at load 8-24 on 2
cores, so read shares and CPU seconds, not wall):
- Prefect's temporary server ("nothing": 4.3-5.3 s CPU): imports ~65 % of its samples (prefect.server, FastAPI
  routes, pydantic schemas), create_app ~12 %, the lifespan ~7 % - block auto-registration's memo check imports
  every Prefect collection (prefect-dask: dask, distributed) to hash the block registry before it reads the
  setting that turns it off: 1-3 s on the start-up path under load, while the refresh waits for /health - then
  requests and services ~27 % (the actions service builds an API client to itself at start-up). FastAPI also
  builds each route's dependants on its first request: the refresh's first call waited 2.8 s at load 24.
  Now the temporary server alone runs without block registration (memo included), automations (triggers and
  actions: one setting) and the event persister; task runs are still recorded (prefect_api.LIGHT_SERVER_ENV,
  PHAKHI_LIGHT_PREFECT_SERVER=0 restores Prefect's defaults; an explicit setting always wins). Server CPU on
  "nothing", interleaved at load 14: 4.6/4.6/4.5 s light vs 5.0/4.9/5.3 s default; separate runs differ by as
  much (4.3-4.8 s for the default). Measured alone, the server's CPU until it first answers /health (what the
  refresh waits for): 3.74/3.65/3.48 s light vs 4.09/4.23/4.20 s default, interleaved at load 14-21: -0.55 s
  on the start-up path.
- The supervisor now starts the server before the child (phakhi/supervise.py): the child's Python start-up and
  CLI imports (~0.3 s CPU, 0.4-1 s wall; more under load) no longer precede the server's start. Wall only.
- At the flow's end Prefect joined its flow-run heartbeat thread, which sleeps in 1 s steps (join up to 2 s;
  2.4 s seen at load 24). On the temporary server nothing reads heartbeats (it dies with the refresh's process
  group): switched off there only (prefect_api.temporary_run_settings); a configured server keeps them.
- Per-task overhead at SAMPLE is small: cache keys (hash of each task's inputs) ~0.1 s, now gone (every flow
  task NO_CACHE: none may be skipped on a cached result, results are not persisted); task state writes ~0.5 s;
  exit ~2 s at load 24 (Prefect's log/event workers drain ~1 s, the server's graceful stop ~1 s).
- Gaps between tasks: the longest is not Prefect's - `prestart_dbt` (phakhi/transform.py, another helper's)
  blocked the flow 3.7 s at load 24 in `_start_dbt_process`, and plan_build 1.5 s.
- The refresh process's own imports: flows.pipeline ~70 % of the "nothing" child's samples (prefect ~48 %,
  pandas ~15 %); each is needed by the flow itself, nothing large to defer.
- Gate (phakhi/quality/gate.py, 130 checks on SAMPLE, 2.6-3.2 s CPU for all suites): GX's Checkpoint.run 61 %
  (metric dependency graphs 19 %, metric resolution 15 %, metrics_validate 14 %, is_fresh 3 %, result store
  2 %), Data Docs 18 %, reading frames 6 %. It already keeps one context for every suite and reuses suites whose
  rows did not change; left as it is (what remains is GX validating).
- Memory of the refresh process itself (stage timer's new own_rss_start_mb / own_peak_rss_mb; glibc mallinfo2
  and gc objects at the end of ingest), scale 0.25, 12th month: 187 MB after imports; 332 MB after ingest, of
  which the glibc heap is 112 MB (56 MB in use, 55 MB free but fragmented: malloc_trim(0), which ingest already
  calls, gave back 29 MB); live Python objects ~40 MB (the ledger's file report 17,810 x 21, per-file sets and
  18k FileOutcome records - what load_raw and the run report still need); 327 MB after load_raw's release; +92
  MB when great-expectations is imported during dbt (warm_imports), gate peak 521 MB, publish 647 MB. So later
  stages start from the import baseline plus a fragmented heap, not from frames kept; the ingest side
  (phakhi/ingest, another helper's) is where the heap is made. Not changed here. Tried and dropped: gc.collect +
  malloc_trim(0) after the gate gave back 7 MB of ~100 MB (0.1 s): what the gate adds is GX's modules imported
  on first use (expectations, renderers, Data Docs templates), not garbage.
- A/B on this benchmark (base = main 503220a through PYTHONPATH, same venv; load 8-17, three other helpers):
  one_new CPU whole / Prefect server: base 26.0 / 5.5, 26.6 / 4.9, 27.1 / 5.3; now 24.5 / 4.7, 27.0 / 5.3 (load
  19; a third run changed code between its steps and is left out, as are base runs whose later step rebuilt
  everything). nothing: base 8.2 / 4.8, 7.8 / 4.3, 8.0 / 4.4; now 7.9 / 4.4, 7.6 / 4.2, 8.1 / 4.5. Within the
  run-to-run noise (~0.5 s) at this load; wall says nothing about a second of start-up at load 8-19. On an
  idle machine expect the gains
  named above (server started ~0.4-1 s earlier, ~0.5 s less server CPU before /health, 0-1 s heartbeat join).

run21 (2026-11-30, py-spy --subprocesses on one_new, load 8-11 with three other helpers; read CPU seconds):
- The refresh process imported most of dbt without running it: `_dbt_importable` (phakhi/transform.py) asked
  `importlib.util.find_spec("dbt.cli.main")`, which imports the parent packages, and dbt/cli/__init__ imports
  events, contracts, tracking: ~155 of the child's samples, 1.46 s CPU and +87 MB in a bare interpreter
  (~20 MB in the refresh, whose pydantic/jinja2/yaml are loaded already), on the flow's path (this was most of
  `prestart_dbt`'s 3.7 s block). Now the top-level spec plus the file: 0.14 s. one_new, refresh process CPU:
  12.1/12.2/11.9 s before, 10.5/11.0/10.7 s after (whole tree 25.4-26.7 -> 24.7-25.8 s).
- plan_build's yaml parsing (selection.scan_project) uses libyaml's safe loader: 0.20 -> 0.06 s.
- Still there: Prefect's temporary server 4.0-5.4 s CPU (imports ~60 %: prefect itself, settings, the API's
  routes and schemas; its SQLite migration check ~1 %); the refresh's own imports (prefect ~2 s, pandas); GX
  imported for the gate (~2 s CPU, while dbt runs on a small home); the gate's Data Docs (Jinja compiles GX's
  templates every run, ~0.4 s).

fix22 (2026-11-30; milestones of every process in $PHAKHI_TIMELINE, printed below the table as a timeline, and
py-spy; machine at load 3-12 with three other helpers, so read CPU seconds):
- Where "other" went (one_new, main b61c6e6, load 3): the supervisor reached `refresh` at 0.16 s and started the
  server at 0.24 s; the child had imported its stack at 2.1 s and then waited 1.55 s for /health (3.6 s); flow
  call -> flow body 0.6 s, of which the client waited on HTTP ~90 % (the server's first requests: FastAPI 0.150
  builds every included router's routes on its first match, SQLAlchemy configures its mappers); gaps between
  stages 0.7 s in all (largest gate -> drift, 0.22-0.26 s: gate.json, the Data Docs copy, the run-summary
  artifact); exit 0.2-0.3 s (the server's graceful stop). The server's start-up is the critical path: imports
  ~80 % of its CPU until /health (`import prefect.server.api.server` 2.9 s CPU at load 6: prefect, docket, the
  ORM, the routes and schemas - nothing a setting turns off), create_app ~10 % (Settings.hash_key twice, 0.11
  s), the migration check on the kept SQLite ~0.5 % (a marker to skip it would save ~0.02 s: not done).
- Cut: the server runs Prefect's own app (`prefect.server.api.server:create_app` through uvicorn.run, same host,
  port, log level, lifespan and environment) from `python -m phakhi.prefect_api`, with the cycle collector
  paused for its start-up and first requests (10 s, then gc.freeze + enable): `import + create_app` 2.92/2.96/
  2.93 -> 2.59/2.41/2.47 s CPU; server start + a 3-task flow 3.85/4.09/4.18 -> 3.17/3.08/3.20 s CPU (load 5).
  Again at load 5-6, three interleaved pairs from a process with Prefect imported: start -> /health 5.09/3.51/
  3.39 -> 3.65/2.85/2.74 s, then the flow 2.14/1.48/1.57 -> 1.58/1.45/1.50 s, server CPU 4.20/3.82/3.91 ->
  3.22/2.99/3.00 s: ~0.65-0.7 s less on the refresh's critical path, ~0.9 s less CPU.
  PHAKHI_PREFECT_SERVER_GC_PAUSE=0 runs Prefect's uvicorn command line as before. The refresh's own stack
  imports run with the collector paused too (frozen after, as before). While the child waits for /health it
  imports what the flow imports on its way (warm_imports.FLOW_MODULES, ~0.25 s CPU: the flow engine's graphviz
  and fastapi encoders, the task engine, psutil, jinja2, the stages' modules). The supervisor starts the server
  right after resolving the home, before its checks and imports; /health is polled every 20 ms.
- Back to back, this benchmark (CPU s; wall at this load says little):
  load 5.6 (server launcher + paused collector only): one_new whole 24.7 -> 21.9, other 7.8 -> 6.2, Prefect
  server 4.8 -> 3.7; nothing 7.9 -> 6.7 (server 4.3 -> 3.3).
  load 10 (same code): one_new 21.9 -> 23.5 (dbt 10.6 -> 12.2), server 4.5 -> 4.1; nothing 7.0 -> 7.3 (server
  3.8 -> 3.6).
  load 9.5-10 (everything): one_new whole 25.1 -> 23.4, other 7.7 -> 6.5, server 5.0 -> 4.0, refresh 10.4 ->
  10.1; nothing 7.9 -> 8.0 (server 4.4 -> 4.0, refresh 3.4 -> 3.9: the warmed modules a "nothing" run does not
  use, imported in its wait). Wall one_new 56.7 -> 31.6 s, nothing 16.2 -> 9.1 s (load-dominated).
- Left (measured, not cut): the server's imports; FastAPI's first-request route build (the same serial work
  wherever it runs); the gate's Data Docs (~30 % of one_new's gate; Jinja compiles GX's templates every run - a
  bytecode cache needs a custom GX view class, ~0.1 s) and Checkpoint.run (~42 %); an SSL context per Prefect
  client (~30 ms each, even for the plain-http loopback API); the server's graceful stop at exit (~0.1-0.2 s).

fix23 (2026-12-01; main fd0a5ab through PYTHONPATH vs this branch, alternating on one home, one_new's refresh
alone, machine at load 0.3-2 with other helpers):
- On a quiet machine main already meets the target: one_new 13.8 s (load 1.0), 11.9-14.8 s in 6 more runs at
  load 0.6-2; nothing 4.3-4.7 s. At idle: /health ~3.0 s, flow called -> body 0.4, ingest 0.8, dbt stage 4.3-6.2
  (its parse ended 0.3-1 s after the build was asked for), gate 0.7, publish 1.9-2.1, exit 0.3-0.4.
- dbt's process starts before the refresh imports its stack (cli.py), not after: its import used to end just as
  the flow asked for the parse. Three pairs at load 1.3-2: dbt stage 4.54/4.47/4.54 -> 4.14/4.14/4.20 s, wait
  for the parse 0.27/0.26/0.49 -> 0.20/0.07/0.31 s, /health ~0.15 s later (one more process on two cores),
  whole 12.33/12.25/11.89 -> 11.98/11.93/11.62 s. At load 2-5 (six more pairs, the load rising through them)
  wall says nothing either way: whole 17.99/14.94/19.07/22.57/13.82/21.11 -> 19.06/18.63/23.34/19.62/15.81/18.70 s.
- Gate: GX's Data Docs compiled its Jinja templates ~50 times per gate (one environment per view); GX's own
  views now keep them in a bytecode cache in the home (quality/data_docs_views.py; same pages but for run
  times and ids); the warehouse's columns are read in one catalog query, not one per suite; failing rows are
  traced on the gate's open connection. run_gate alone, 7 suites validated: 1.25-1.41 -> 0.92-1.08 s CPU; in
  the refresh 0.66-0.74 -> 0.61-0.67 s (its share of GX validation is larger there).
- Dropped (no gain measured): Prefect's settings pointed at the server while it starts, before /health (the
  /health -> flow called gap was 0.01 s at idle either way; py-spy at 100-250 Hz had made it look like ~0.1 s;
  only the poll's CA certificates went: ~30 ms CPU while the server starts); gc.freeze()
  before Prefect's create_app (its explicit gc.collect(): 0.47 -> 0.19 s in a bare interpreter, but 0.18 s
  either way in the served process); PREFECT_API_DATABASE_MIGRATE_ON_START=false (/health 2.5-3.0 s either
  way); report_run submitted beside drift and publish (<= 0.05 s; under a Dask runner it would ship the gate
  and the ingest report to a worker).
- Left (measured): every DuckDB instance costs ~20 ms CPU to open (it registers its built-in functions), and a
  one_new refresh opens 61 in its own process: publish's LazyWarehouse.get 30 (one per table, ~0.5 s of
  publish's 2 s), the landing ledger 12 (read-only then read-write per family: ~0.3 s of ingest's ~0.6 s CPU),
  the dbt docs key 2. FastAPI builds each router's routes on its first request (~0.3 s of the server's CPU,
  most of flow called -> body). GX's ephemeral context serializes its whole configuration to YAML on every
  asset and batch definition added (~9 % of the gate).

fix25 (2026-12-01; machine at load 3-7 with three other helpers: read CPU seconds):
- Why one_new builds 114 nodes: the month changed, and 34 of the 39 models rebuilt read it (24 call
  phakhi_period; the rest are their descendants); the new file adds 5 - stg_partner_reports__activities and
  fct_activities (raw activity_reports), stg_ingestion__files, dash_quality_files and dash_quality_ingest (the
  file ledger, source ingestion.ingest_manifest: the quality page lists the new file). The other 75 nodes are
  55 tests (39 phakhi_columns, one per rebuilt model; 8 singular; 8 more) and 20 exposures (NO-OP, 0.15 s in
  all). Each is reached by what changed: nothing to narrow soundly.
- Per node (run_results at load 5): models 15.8 s of execution time (compile 1.5, execute 13.8), tests 8.9 s
  (compile 2.8, execute 5.3). The same build run in-process at load 4: its 411 DuckDB statements (~3.6 per node)
  took 1.2 s of the build's 6.6 s CPU; the rest is dbt's own Python, ~45 ms per node (a macro namespace of
  ~1,470 macros built per node, each node's Jinja compiled, ~45 events per node, its compiled and run SQL
  written; manifest.json and run_results.json at the end ~0.08 s). Left as dbt makes it. Parse ahead 1.0-1.6 s
  CPU (off the path unless the machine is loaded).
- dbt formats every event it fires (~2,560 per build, debug ones too) for the console and for the file before
  their level drops it, and each line lists the DBT_ENV_SECRET_* values from the whole environment: 5,132
  listings, 0.26 s CPU at 47 variables (more with a larger environment). dbt_worker.list_secrets_once lists
  them once per command (the worker sets each command's environment); the same values are scrubbed.
  fixed_overhead, four pairs alternating with main (PYTHONPATH; two pairs each way round), dbt process CPU of
  one_new: main 11.4/11.1/11.8/14.1 s, this 10.6/11.9/9.8/13.9 s (load 1-6; the second run of each pair was the
  slower one in wall, whichever it was: within the noise at this load).
- The documentation step (0.7-1.0 s wall at load 4-6): needed for a new month (the page shows each model's
  compiled SQL with its month), skipped already when code, month and vars are the last page's (docs_needed).
  Overlapping it with the gate would save up to ~0.6 s at idle, but dbt-duckdb opens the warehouse read-write
  and the gate opens it read-only from another process (DuckDB refuses both): it needs a read-only docs target
  (config_options access_mode, the history attached read_only) and the flow to wait for dbt's process before
  the warehouse switch. Not built.
- flow called -> flow body: a probe (start_early_server, one trivial flow with the refresh's decorators, load
  3-4): the first call 0.58-1.1 s, of which the server used 0.48-0.67 s CPU (its first requests: routes built,
  mappers configured, first sessions) and the client 0.12-0.17 s; the next calls on the same server 0.12-0.24 s
  (server 0.04-0.10 s). The server's first-request warm-up cannot overlap anything: the server is the
  critical path until /health, and the refresh's flow call follows /health at once.
- Tried and dropped: seven more server services off (cancellation_cleanup, foreman, late_runs, scheduler,
  pause_expirations, repossessor, cleanup_reconciler): server CPU 5.44/5.76/4.97 s -> 5.66/5.45/5.31 s
  (a first batch had looked like -0.5 s: noise). `dbt build --no-populate-cache`: build CPU 6.99/6.53/7.12 ->
  6.18/7.20/6.65 s. dbt-duckdb's `SET threads` per cursor: 0.23 ms each, ~25 ms a build.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REGISTRY_HEADERS = ["รหัสภาคี", "ชื่อภาคี (ไทย)", "ชื่อภาคี (อังกฤษ)", "ประเภทภาคี", "จังหวัด", "วันที่เข้าร่วม", "ปีฐาน",
                    "การปล่อยปีฐาน (tCO2e)", "ปีเป้าหมาย", "เป้าหมายการลด (%)", "รหัสภาคีแม่"]
REGISTRY_ROW = ["P901", "เทศบาลทดสอบ", "Benchmark Municipality", "เทศบาลนคร", "ลำปาง", "12/01/2568", "2566", "18000",
                "2030", "20", ""]
ACTIVITY_HEADERS = ["รหัสภาคี", "เดือน", "ลำดับ", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด", "จำนวนผู้เข้าร่วม"]
MONTHS = {"2025-06": "มิ.ย. 2568", "2025-07": "ก.ค. 2568"}
STAGES = ["ingest", "start_build", "load_raw", "dbt_build", "gate", "drift", "publish"]


def write_csv(path: Path, headers: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)
    return path


def activity_file(landing: Path, period: str) -> Path:
    row = ["P901", MONTHS[period], "1", "public_awareness", "campaign", "รณรงค์ลดใช้ถุงพลาสติก", "ลำปาง", "120"]
    return write_csv(landing / "activity_reports" / f"bench_ace_{period}.csv", ACTIVITY_HEADERS, [row])


def make_home(home: Path) -> None:
    from phakhi.home import init_home
    from phakhi.partners import import_file
    from phakhi.settings import Paths

    paths = Paths(home)
    init_home(paths)
    change = import_file(paths, write_csv(home.parent / f"{home.name}-inbox" / "registry.csv", REGISTRY_HEADERS,
                                          [REGISTRY_ROW]))
    if not change.ok:
        raise SystemExit(f"registry refused: {change.problems}")
    activity_file(paths.landing, "2025-06")


def run_refresh(home: Path, extra: list[str]) -> dict:
    """`phakhi refresh` timed as a whole and per stage: benchmarks/refresh.py's runner, stages keyed by name."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from refresh import run_refresh as timed_refresh

    from phakhi.timing import TIMELINE_ENV

    results = home / "dbt" / "target" / "run_results.json"
    results.unlink(missing_ok=True)               # no dbt build this time (nothing changed) -> no figures
    timeline = home / "runs" / "timeline.jsonl"
    timeline.parent.mkdir(parents=True, exist_ok=True)
    timeline.unlink(missing_ok=True)
    os.environ[TIMELINE_ENV] = str(timeline)
    started = time.time()
    try:
        with ProcessCpu() as by_process:
            r = timed_refresh(home, None, extra)
    finally:
        del os.environ[TIMELINE_ENV]
    return {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "dbt": dbt_nodes(results), "cpu_by_process": by_process.totals(),
            "stages": {s["stage"]: {"wall_s": s["wall_s"], "cpu_s": s["cpu_s"]} for s in r["stages"]},
            "timeline": read_timeline(timeline, started, r["wall_s"])}


def read_timeline(path: Path, started: float, wall_s: float) -> list[dict]:
    """The refresh's milestones (phakhi.timing.milestone), in seconds since the command was started."""
    events = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return events
    for line in lines:
        e = json.loads(line)
        events.append({"at_s": round(e["t"] - started, 2), "pid": e["pid"], "event": e["event"]})
    events.append({"at_s": round(wall_s, 2), "pid": None, "event": "command returned"})
    return events


def print_timeline(name: str, events: list[dict]) -> None:
    """The milestones with the gap since the previous one: what waits on what (stage bodies are timed above)."""
    print(f"timeline ({name}): seconds since the command started (+ since the previous milestone)")
    previous = 0.0
    for e in events:
        print(f"  {e['at_s']:7.2f} (+{e['at_s'] - previous:5.2f})  {e['event']}")
        previous = e["at_s"]


class ProcessCpu:
    """CPU seconds of this process's descendants by role, from /proc (Linux; empty elsewhere)."""
    # by what the process runs, not by its path (a checkout in a folder named like "wt-dbt24" is no dbt process)
    ROLES = (("prefect server", ("uvicorn", "-m phakhi.prefect_api")), ("dbt", ("-m phakhi.dbt_worker", "bin/dbt ")),
             ("refresh", ("",)))

    def __init__(self, interval: float = 0.05):
        self.interval, self.seen, self.stop = interval, {}, threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        if Path("/proc/self/stat").exists():
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.is_set():
            parents, cpu = {}, {}
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    parents[int(d)] = int(fields[1])
                    cpu[int(d)] = (int(fields[11]) + int(fields[12])) / self.tick
            for pid in cpu:
                p, depth = pid, 0
                while p in parents and p != me and depth < 20:
                    p, depth = parents[p], depth + 1
                if p == me and pid != me:
                    # a process first seen between fork and exec still shows its parent's command line: read it
                    # again until it names a role other than the refresh
                    if pid not in self.seen or self.role(self.seen[pid][0]) == "refresh":
                        try:
                            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                        except OSError:
                            cmd = ""
                        self.seen[pid] = [cmd, self.seen.get(pid, ["", 0.0])[1]]
                    self.seen[pid][1] = cpu[pid]
            self.stop.wait(self.interval)

    def role(self, cmd: str) -> str:
        return next(name for name, marks in self.ROLES if any(m in cmd for m in marks))

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for cmd, cpu in self.seen.values():
            role = self.role(cmd)
            out[role] = round(out.get(role, 0.0) + cpu, 1)
        return out


def dbt_nodes(results: Path) -> dict | None:
    """What `dbt build` ran (its run_results.json): nodes and tests, and dbt's own elapsed seconds."""
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ids = [r["unique_id"] for r in data.get("results", [])]
    return {"nodes": len(ids), "tests": sum(i.startswith("test.") for i in ids),
            "elapsed_s": round(float(data.get("elapsed_time", 0.0)), 1)}


def print_table(results: dict[str, dict]) -> None:
    names = list(results)
    print(f"{'stage':<12}" + "".join(f"{n + ' wall':>14}{'CPU':>8}" for n in names))
    for stage in STAGES + ["other", "whole"]:
        cells = []
        for n in names:
            r = results[n]
            if stage == "whole":
                w, c = r["wall_s"], r["cpu_s"]
            elif stage == "other":
                w = r["wall_s"] - sum(s["wall_s"] for s in r["stages"].values())
                c = r["cpu_s"] - sum(s["cpu_s"] for s in r["stages"].values())
            elif stage in r["stages"]:
                w, c = r["stages"][stage]["wall_s"], r["stages"][stage]["cpu_s"]
            else:
                cells.append(f"{'-':>14}{'-':>8}")
                continue
            cells.append(f"{w:>14.1f}{c:>8.1f}")
        print(f"{stage:<12}" + "".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="home to make (default: a temporary folder, removed afterwards)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()
    tmp = None
    if args.home is None:
        tmp = tempfile.TemporaryDirectory(prefix="phakhi-fixed-")
        args.home = Path(tmp.name) / "home"
    home = args.home.resolve()
    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    if not (home / "landing").exists():
        make_home(home)
    results["first"] = run_refresh(home, ["--period", "2025-06"])
    activity_file(home / "landing", "2025-07")
    results["one_new"] = run_refresh(home, ["--period", "2025-07"])
    results["nothing"] = run_refresh(home, ["--period", "2025-07"])
    load_after = os.getloadavg()
    print(f"fixed overhead, near-empty home {home} ({os.cpu_count()} cores; load average before "
          f"{load_before[0]:.1f}, after {load_after[0]:.1f})")
    print_table(results)
    for name, r in results.items():
        if r.get("cpu_by_process"):
            print(f"CPU by process ({name}): " + ", ".join(f"{k} {v:.1f} s" for k, v in r["cpu_by_process"].items()))
    for name, r in results.items():
        if r.get("dbt"):
            d = r["dbt"]
            print(f"dbt build ({name}): {d['nodes']} nodes, {d['tests']} tests, dbt's elapsed {d['elapsed_s']} s")
    for name, r in results.items():
        if r.get("timeline") and name != "first":
            print_timeline(name, r["timeline"])
    target = results["one_new"]["wall_s"]
    print(f"near-empty landing (one_new): {target:.1f} s wall, target <= 15 s: {'met' if target <= 15 else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps({"load_before": load_before, "load_after": load_after, **results}, indent=1),
                             encoding="utf-8")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
