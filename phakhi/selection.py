"""Build only what changed inputs reach (issue 17): which dbt nodes an incremental refresh selects.

On a copy of the published warehouse (phakhi/publish/warehouse.py:start_build_warehouse: same code, same seeds,
same kind of home) every table already holds what the live publication was built from, and passed its dbt
tests and gate then. What can differ this month:

- a raw table (one per landing family, plus the ingestion bookkeeping): compared by content, the copy's raw
  table before this run's load against the one loaded (`raw_digests`: column names and types, row count and
  two order-free sums of row hashes) - so a changed file, a resubmission, a registry change that moves rows into
  quarantine and a new timestamp in the file ledger all count, whatever their cause;
- the month: models (and singular tests) that read it (macro phakhi_period, env PHAKHI_PERIOD, var 'period');
- the partner-registry snapshot's history (history.duckdb lives outside the warehouse): stale when the registry
  it last saw is not this one (e.g. a refresh whose gate failed snapshotted a registry later withdrawn).

`plan_selectors` turns these into dbt selectors: `source:<source>.<table>+` for a changed raw table (its source
tests too), `<model>+` for models that read a raw table without source() (phakhi_optional_relation), `<model>+`
and `<test>` for what reads the month, `<snapshot>+` for a stale history. dbt's (eager) indirect selection then
runs every test with at least one selected parent - a relationship between a rebuilt and an unbuilt model too.
Unselected models keep their tables from the copy. Anything uncertain builds everything (None): a changed raw
table no dbt file is known to read, no record of the month the copy was built for, no copy at all.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from phakhi.settings import DBT_PROJECT_DIR
from phakhi.yaml_files import read_yaml

# What reads the month: the macro (env PHAKHI_PERIOD inside), the env var itself, or dbt's var 'period'.
PERIOD_RE = re.compile(r"""phakhi_period\s*\(|PHAKHI_PERIOD|var\(\s*['"]period['"]""")
MACRO_RE = re.compile(r"{%-?\s*macro\s+(\w+)\s*\((.*?){%-?\s*endmacro\s*-?%}", re.S)
SOURCE_RE = re.compile(r"""source\(\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]\s*\)""")
OPTIONAL_RE = re.compile(r"""phakhi_optional_relation\(\s*['"]raw['"]\s*,\s*['"](\w+)['"]\s*\)""")
RAW_NAME_RE = re.compile(r"""\braw\.(\w+)|['"]raw['"]\s*,\s*['"](\w+)['"]""")
RAW_SCHEMA = "raw"


# ------------------------------------------------------------------ the raw tables' content
def raw_digests(db_path: Path, schema: str = RAW_SCHEMA) -> dict[str, str]:
    """{table: digest} of every table of `schema` in the DuckDB file (empty when the file is missing).
    Equal digests, equal tables: column names and types, row count, and two sums of 64-bit row hashes
    (order-free: DuckDB's parallel load order does not matter). About 20 ms at SAMPLE scale.

    Tables with a `period` column also get one digest per period, under PERIODS_KEY ({table: {period: digest}},
    same content, same pass: the table's sums are the sums of its periods'), which tells the build plan which
    months' rows changed (scoped_nodes)."""
    import duckdb

    if not Path(db_path).exists():
        return {}
    out, periods = {}, {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        cols = con.execute(
            "select table_name, list(column_name || ' ' || data_type order by ordinal_position), "
            "bool_or(column_name = 'period') "
            "from information_schema.columns where table_schema = ? and table_catalog = current_database() "
            "group by table_name order by table_name", [schema]).fetchall()
        for table, columns, has_period in cols:
            by = "cast(period as varchar)" if has_period else "null"
            parts = con.execute(f'select {by}, count(*), sum(hash(t)::hugeint), sum(hash(t, 1)::hugeint) '
                                f'from "{schema}"."{table}" as t group by all').fetchall()
            # the table's count and sums from its groups' (an empty table's sums are null, as ungrouped)
            n, s1, s2 = (sum(p[i] for p in parts if p[i] is not None) if any(p[i] is not None for p in parts)
                         else (0 if i == 1 else None) for i in (1, 2, 3))
            out[table] = _digest(columns, n, s1, s2)
            if has_period:
                periods[table] = {NULL_PERIOD if p is None else p: _digest(columns, c, a, b) for p, c, a, b in parts}
    if periods:
        out[PERIODS_KEY] = periods
    return out


# The per-period digests' key in raw_digests' dict: not a table name (a raw table is never called so); and the
# key of the rows without a period (which no period filter selects: a change there scopes nothing).
PERIODS_KEY = "@periods"
NULL_PERIOD = "@null"


def _digest(columns, n, s1, s2) -> str:
    return hashlib.sha256(f"{columns}|{n}|{s1}|{s2}".encode()).hexdigest()[:32]


def raw_before(paths, mode: str) -> dict[str, str] | None:
    """The raw digests of the build warehouse before this run's load (incremental mode; else None): those
    the live publication's sidecar recorded for that very warehouse, which the build warehouse is a copy of
    (the sidecar is removed before the published warehouse is replaced: no sidecar, no trust) -- not every raw
    row hashed again each month; without them, digested from the copy."""
    if mode != "incremental":
        return None
    from phakhi.refresh_inputs import read_inputs

    raw = (read_inputs(paths.published_inputs) or {}).get("raw")
    return dict(raw) if isinstance(raw, dict) and raw else raw_digests(paths.build_db)


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """Raw tables added, removed or with other content."""
    return {t for t in set(before) | set(after) if t != PERIODS_KEY and before.get(t) != after.get(t)}


def changed_periods(before: dict, after: dict, table: str) -> set[str] | None:
    """The periods of raw `table` whose rows differ between two raw_digests (None: not known per period -
    no per-period digests on either side, or other columns, which every period's digest then shows)."""
    old, new = ((d.get(PERIODS_KEY) or {}).get(table) for d in (before, after))
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    return {p for p in set(old) | set(new) if old.get(p) != new.get(p)}


# ------------------------------------------------------------------ what the dbt project reads
@dataclass
class ProjectMap:
    """What the dbt project's files read, by node name (scanned from the files, so it always matches the code
    of this run)."""
    sources: dict[str, list[str]] = field(default_factory=dict)   # raw table -> ["source:<source>.<table>"]
    readers: dict[str, list[str]] = field(default_factory=dict)   # raw table -> models reading it without source()
    period_models: list[str] = field(default_factory=list)        # models/snapshots reading the month
    period_tests: list[str] = field(default_factory=list)         # singular tests reading the month
    snapshots: list[str] = field(default_factory=list)


def _strip_comments(text: str) -> str:
    text = re.sub(r"{#.*?#}", "", text, flags=re.S)
    return "\n".join(re.sub(r"(^|\s)(--|#).*$", "", line) for line in text.splitlines())


def period_macros(macro_texts: list[str]) -> set[str]:
    """Macros that read the month, directly or through another such macro."""
    bodies = {m.group(1): m.group(2) for text in macro_texts for m in MACRO_RE.finditer(text)}
    found = {name for name, body in bodies.items() if PERIOD_RE.search(body)}
    while True:
        more = {name for name, body in bodies.items() if name not in found
                and any(re.search(rf"\b{re.escape(m)}\s*\(", body) for m in found)}
        if not more:
            return found
        found |= more


def reads_period(text: str, macros: set[str]) -> bool:
    return bool(PERIOD_RE.search(text)) or any(re.search(rf"\b{re.escape(m)}\s*\(", text) for m in macros)


def scan_project(project_dir: Path = DBT_PROJECT_DIR) -> ProjectMap:
    project_dir = Path(project_dir)
    pm = ProjectMap()
    macros = period_macros([p.read_text(encoding="utf-8") for p in sorted((project_dir / "macros").rglob("*.sql"))]
                           + [p.read_text(encoding="utf-8") for p in sorted((project_dir / "tests").rglob("*.sql"))
                              if "generic" in p.parts])
    for yml in sorted(list((project_dir / "models").rglob("*.yml")) + list((project_dir / "snapshots").rglob("*.yml"))):
        doc = read_yaml(yml) or {}
        for src in doc.get("sources") or []:
            if (src.get("schema") or src["name"]) != RAW_SCHEMA:
                continue
            for t in src.get("tables") or []:
                table = t.get("identifier") or t["name"]
                pm.sources.setdefault(table, []).append(f"source:{src['name']}.{t['name']}")
        for snap in doc.get("snapshots") or []:
            pm.snapshots.append(snap["name"])
            if reads_period(yaml.safe_dump(snap), macros):
                pm.period_models.append(snap["name"])
    for path in sorted(list((project_dir / "models").rglob("*.sql")) + list((project_dir / "models").rglob("*.py"))
                       + list((project_dir / "snapshots").rglob("*.sql"))):
        text, name = path.read_text(encoding="utf-8"), path.stem
        if reads_period(text, macros):
            pm.period_models.append(name)
        code = _strip_comments(text)
        declared = {t for _, t in SOURCE_RE.findall(code)}
        for m in RAW_NAME_RE.finditer(code):
            table = m.group(1) or m.group(2)
            if table not in declared:                 # a raw table read without source(): the model itself
                pm.readers.setdefault(table, [])
                if name not in pm.readers[table]:
                    pm.readers[table].append(name)
    for path in sorted((project_dir / "tests").rglob("*.sql")):
        if "generic" not in path.parts and reads_period(path.read_text(encoding="utf-8"), macros):
            pm.period_tests.append(path.stem)
    return pm


# ------------------------------------------------------------------ the selection
def plan_selectors(changed: set[str], period_changed: bool, project: ProjectMap,
                   snapshot_stale: bool = False) -> list[str] | None:
    """The dbt selectors for an incremental build: [] when nothing needs building, None for everything
    (a changed raw table that no dbt file is known to read: uncertain, so build it all)."""
    out: list[str] = []
    for table in sorted(changed):
        targets = [f"{s}+" for s in project.sources.get(table, [])] + \
                  [f"{m}+" for m in project.readers.get(table, [])]
        if not targets:
            return None
        out += targets
    if period_changed:
        out += [f"{m}+" for m in project.period_models] + list(project.period_tests)
    if snapshot_stale:
        out += [f"{s}+" for s in project.snapshots]
    return sorted(set(out))


# ------------------------------------------------------------------ tests and facts scoped to the changed months
def scoped_nodes(manifest: dict, before: dict, after: dict, period_changed: bool, snapshot_stale: bool,
                 project: ProjectMap) -> dict[str, dict[str, list[str]]]:
    """{"tests": {model: [periods]}, "models": {model: [periods]}}: the column tests (phakhi_columns with a
    `scope_column`) an incremental build may run on the rows of those periods only (issue 17 item 4: "scoped to
    what changed where that is sound"), and the incremental facts (phakhi_incremental_fact with a
    `scope_column`) it may recompute for those periods only. The last build (same code) checked, and built,
    every row; a node is scoped when every input it reads, through all its ancestors, is unchanged or changed
    only in known periods:
    - each changed raw table among its ancestors has per-period digests (changed_periods): the periods are
      their union; a changed raw table without them (the registry, the units), none;
    - nothing it reads (itself included) reads the month when the month changed, no ancestor is a stale
      snapshot; seeds are the published warehouse's (same code and seeds: phakhi/publish/warehouse.py).
    The declaration says the rest (phakhi_columns.sql, phakhi_incremental.sql): a row's `scope_column` is the
    period of the raw rows it comes from, and its key includes it, so rows of other periods are the last
    build's. `manifest`: the last successful build's, of this code."""
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    changed = changed_tables(before, after)
    readers: dict[str, set[str]] = {}
    for table, models in project.readers.items():
        for m in models:
            readers.setdefault(m, set()).add(table)
    period_models = set(project.period_models)

    def periods_of(uid: str) -> set[str] | None:
        periods: set[str] = set()
        for a in _ancestors(uid, nodes) | {uid}:
            n = nodes[a]
            if (period_changed and n["name"] in period_models) or (snapshot_stale and n["resource_type"] == "snapshot"):
                return None
            tables = {n.get("identifier") or n["name"]} if n["resource_type"] == "source" and \
                n.get("schema") == RAW_SCHEMA else readers.get(n["name"], set())
            for table in tables & changed:
                more = changed_periods(before, after, table)
                if more is None or NULL_PERIOD in more:
                    return None
                periods |= more
        return periods

    scopes: dict[str, dict[str, set[str] | None]] = {"tests": {}, "models": {}}
    for uid, node in manifest.get("nodes", {}).items():
        meta = node.get("test_metadata") or {}
        if node.get("resource_type") == "test" and meta.get("name") == "phakhi_columns" and \
                (meta.get("kwargs") or {}).get("scope_column"):
            kind, model = "tests", nodes.get(node.get("attached_node") or "")
        elif node.get("resource_type") == "model" and ((node.get("config") or {}).get("meta") or {}).get("scope_column") \
                and (node.get("config") or {}).get("materialized") == "incremental":
            kind, model = "models", node
        else:
            continue
        if model:       # a test's scope is its model's: every scoped test of it must be sound, over all their periods
            name, periods = model.get("alias") or model["name"], periods_of(uid)
            known = scopes[kind].get(name, set())
            scopes[kind][name] = None if periods is None or known is None else known | periods
    return {kind: {name: sorted(p) for name, p in found.items() if p is not None} for kind, found in scopes.items()}


def _ancestors(uid: str, nodes: dict) -> set[str]:
    seen, todo = set(), [uid]
    while todo:
        for d in (nodes.get(todo.pop(), {}).get("depends_on") or {}).get("nodes") or ():
            if d in nodes and d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def last_build_manifest(paths, code: str | None) -> dict | None:
    """The manifest of the last dbt build in this home when it succeeded with the code `code` (the graph the
    tests are scoped on); None otherwise."""
    import json

    from phakhi.transform import BUILT_CODE

    target = paths.dbt_work / "target"
    try:
        if not code or (target / BUILT_CODE).read_text(encoding="utf-8") != code:
            return None
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


@dataclass
class BuildPlan:
    """What this refresh's dbt build runs, and why (logged, and recorded in the build sidecar)."""
    mode: str                                   # 'fresh' (empty warehouse) or 'incremental' (copy of the published)
    selectors: list[str] | None = None          # incremental only: None = every node but the seeds
    changed: list[str] = field(default_factory=list)   # raw tables whose content changed
    period_changed: bool = False
    snapshot_stale: bool = False
    raw: dict = field(default_factory=dict)     # raw table digests after this run's load
    drift_from: Path | None = None              # publication whose drift report is reused (survey unchanged)
    scope: dict = field(default_factory=dict)   # {"tests"/"models": {model: periods}} (scoped_nodes)

    def dbt_args(self) -> list[str] | None:
        """Extra arguments for `dbt build`: None builds everything (seeds too) on a fresh warehouse."""
        from phakhi.transform import ALL_BUT_SEEDS

        if self.mode != "incremental":
            return None
        if self.selectors is None:
            return list(ALL_BUT_SEEDS)
        return ["--select", *self.selectors]

    @property
    def nothing_to_build(self) -> bool:
        return self.mode == "incremental" and self.selectors == []

    def describe(self) -> str:
        if self.mode != "incremental":
            return "dbt: everything, from scratch"
        if self.selectors is None:
            return "dbt: every model and test (seeds kept): " + (", ".join(self.changed) or "no record to compare")
        if not self.selectors:
            return "dbt: nothing to build - no raw table, month or registry history changed since the live publication"
        why = [f"changed raw tables: {', '.join(self.changed)}" if self.changed else "",
               "the month changed" if self.period_changed else "",
               "the registry snapshot's history is stale" if self.snapshot_stale else ""]
        return f"dbt: only what changed inputs reach ({'; '.join(w for w in why if w)}): {' '.join(self.selectors)}"

    def to_dict(self) -> dict:
        return {"mode": self.mode, "selectors": self.selectors, "changed": self.changed,
                "period_changed": self.period_changed, "snapshot_stale": self.snapshot_stale,
                "drift_reused_from": self.drift_from.name if self.drift_from else None,
                "scoped_to_periods": self.scope}


# ------------------------------------------------------------------ the history database's sidecar
def history_inputs_path(paths) -> Path:
    return paths.history_db.with_name("history.inputs.json")


def snapshot_is_stale(paths, raw_after: dict) -> bool:
    """True unless the history database last snapshotted exactly this registry (no sidecar: stale)."""
    from phakhi.refresh_inputs import read_inputs

    seen = read_inputs(history_inputs_path(paths)) or {}
    return not paths.history_db.exists() or seen.get("partner_registry") != raw_after.get("partner_registry")


def record_snapshot(paths, plan: BuildPlan, outcome) -> None:
    """After a successful dbt run that ran the snapshot: the registry the history has now seen."""
    from phakhi.refresh_inputs import write_inputs

    ran = getattr(outcome, "nodes", None)
    if outcome.success and ran is not None and any(n.startswith("snapshot.") for n in ran) and "partner_registry" in plan.raw:
        write_inputs(history_inputs_path(paths), {"partner_registry": plan.raw["partner_registry"]})


# ------------------------------------------------------------------ the plan
def plan_build(paths, mode: str, period: str, before: dict | None, published: dict | None,
               project: ProjectMap | None = None, scoped: bool = True) -> BuildPlan:
    """The build plan after this run's raw tables are loaded into the build warehouse. `before`: the copy's
    raw digests taken before the load (incremental mode); `published`: the live publication's inputs sidecar
    (its period, publication id, code). `scoped`: column tests may check only the changed months' rows where
    that is sound, and the facts rebuild only those months (scoped_nodes); False (a full gate): every row."""
    raw = raw_digests(paths.build_db)
    if mode != "incremental" or before is None or not published or not published.get("period"):
        return BuildPlan("fresh" if mode != "incremental" else mode, None, raw=raw)
    changed = changed_tables(before, raw)
    period_changed = published.get("period") != period
    stale = snapshot_is_stale(paths, raw)
    project = project or scan_project()
    selectors = plan_selectors(changed, period_changed, project, stale)
    drift_from = None
    pub_id = published.get("publication_id")
    survey_tables = {"survey_waves", "survey_instrument_items"}
    if selectors is not None and not (changed & survey_tables) and pub_id:
        folder = paths.publications / pub_id
        if (folder / "drift" / "drift_report.json").is_file():
            drift_from = folder
    manifest = last_build_manifest(paths, published.get("code")) if scoped and selectors else None
    scope = scoped_nodes(manifest, before, raw, period_changed, stale, project) if manifest else {}
    return BuildPlan(mode, selectors, sorted(changed), period_changed, stale, raw, drift_from, scope)
