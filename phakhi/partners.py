"""Keep the partner registry through the landing area (`phakhi partners add | import | list`).

The registry is a landed source like any other: it is never edited in place. Adding or importing partners
writes a NEW complete registry file into landing/partner_registry/ (every current partner plus the new or
changed ones), which supersedes the earlier file by the contract's rule (it lists every partner the earlier
one listed). So the partner_registry contract checks every row, the landing manifest keeps the history, and
the dim_partners snapshot records each change at the next refresh.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from phakhi.settings import Paths
from phakhi.ingest import ledger as landing_ledger
from phakhi.ingest.contracts import apply_contract, load_contract
from phakhi.ingest.files import assemble_family, ingest_file, ingest_files, list_files
from phakhi.ingest.readers import Sheet

REGISTRY = "partner_registry"


@dataclass
class RegistryChange:
    written: Path | None = None
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)     # quarantine-style records (row, column, message)

    @property
    def ok(self) -> bool:
        return self.written is not None


def columns() -> list[str]:
    return load_contract(REGISTRY).column_names


def current(paths: Paths) -> list[dict]:
    """The registry as the next refresh will load it: every landed registry file through the contract, settled
    (superseded files left out), one dict per partner, sorted by id."""
    files = list_files(paths.landing_for(REGISTRY))
    if not files:
        return []
    history = landing_ledger.read_history(paths.home).get(REGISTRY)
    result = assemble_family(REGISTRY, ingest_files(REGISTRY, files, paths.landing, workers=1), history)
    rows = result.loaded[[c for c in columns() if c in result.loaded.columns]].to_dict("records")
    return sorted(({k: _plain(v) for k, v in r.items()} for r in rows), key=lambda r: r["partner_id"])


def _plain(v):
    try:
        import pandas as pd

        if v is None or (not isinstance(v, (list, dict)) and pd.isna(v)):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        return v.item()
    return v


def check_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Run the partner_registry contract over rows given as {column: value}: (typed rows, problems)."""
    cols = columns()
    sheet = Sheet(name=None, rows=[cols] + [[r.get(c) for c in cols] for r in rows])
    res = apply_contract(load_contract(REGISTRY), sheet)
    typed = [{c: _plain(r.get(c)) for c in cols} for r in res.records]
    return typed, res.quarantine


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (date, datetime)):
        return v.isoformat()[:10]
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def write_registry(paths: Paths, rows: list[dict]) -> Path:
    """A complete registry file in the landing area (written aside, then renamed: never half-written)."""
    folder = paths.landing_for(REGISTRY)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"partner_registry-{stamp}.csv"
    tmp = folder / f".{path.name}.tmp"
    cols = columns()
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in sorted(rows, key=lambda r: r["partner_id"]):
            w.writerow([_cell(r.get(c)) for c in cols])
    tmp.replace(path)
    return path


def merge(paths: Paths, new_rows: list[dict], problems: list[dict], allow_update: bool) -> RegistryChange:
    """Merge checked rows into the current registry and write the new registry file (nothing written when a
    row has a problem, or when an id exists and allow_update is False)."""
    change = RegistryChange(problems=list(problems))
    if change.problems:
        return change
    registry = {r["partner_id"]: r for r in current(paths)}
    for r in new_rows:
        pid = r["partner_id"]
        if pid in registry and not allow_update:
            change.problems.append({"row": None, "column": "partner_id", "value": pid, "rule": "exists",
                                    "message_en": f"{pid} is already in the registry (use --update to change it)",
                                    "message_th": f"มี {pid} ในทะเบียนแล้ว (ใช้ --update เพื่อแก้ไข)"})
            continue
        (change.updated if pid in registry else change.added).append(pid)
        registry[pid] = r
    parents = set(registry)
    for r in new_rows:
        parent = r.get("parent_partner_id")
        if parent and parent not in parents:
            change.problems.append({"row": None, "column": "parent_partner_id", "value": parent, "rule": "reference",
                                    "message_en": f"parent {parent} of {r['partner_id']} is not in the registry",
                                    "message_th": f"ไม่พบภาคีแม่ {parent} ในทะเบียน"})
    if change.problems:
        change.added, change.updated = [], []
        return change
    change.written = write_registry(paths, list(registry.values()))
    return change


def add(paths: Paths, row: dict, allow_update: bool = False) -> RegistryChange:
    typed, problems = check_rows([row])
    return merge(paths, typed, problems, allow_update)


def import_file(paths: Paths, file: Path, allow_update: bool = False) -> RegistryChange:
    """Partners from a CSV / Excel / SPSS file with the registry's columns (Thai or English headers)."""
    outcome = ingest_file(REGISTRY, Path(file))
    if outcome.rule:
        return RegistryChange(problems=[{"row": None, "column": "", "value": str(file), "rule": outcome.rule,
                                         "message_en": outcome.reason_en, "message_th": outcome.reason_th}])
    cols = columns()
    typed = [{c: _plain(r.get(c)) for c in cols} for r in outcome.records]
    return merge(paths, typed, outcome.problems, allow_update)


def describe(problem: dict) -> str:
    where = f"row {problem['row']}, " if problem.get("row") else ""
    col = f"{problem.get('column')}" if problem.get("column") else ""
    value = f" = {problem.get('value')!r}" if problem.get("value") not in (None, "") else ""
    return f"{where}{col}{value}: {problem.get('message_en')} / {problem.get('message_th')}"
