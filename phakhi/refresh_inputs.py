"""What a refresh's output depends on, as fingerprints: the month, the kind of home, the code (library, flows,
dbt project with its seeds, expectations, contracts, templates, key package versions) and the ingested data
(the landing ledger's verdict on every file: name, content hash, status, rows).

After the build, the sidecar also holds the digest of every raw table (`raw`, phakhi/selection.py), which an
incremental refresh compares to build only what changed.

Two uses (issue 17, cost that grows with what changed):
- "nothing changed": when the fingerprints equal those of the live publication, a refresh says so and stops
  after ingest (`phakhi refresh --force` refreshes anyway);
- the build warehouse starts from a copy of the published one (so the incremental facts only write what
  changed, and the unchanged seeds are not reloaded) only when the code is the one that built it; any code
  change builds from scratch (a removed model leaves no stale table behind).

Each warehouse file has a sidecar: warehouse/build.inputs.json (written after a successful dbt build) and
warehouse/phakhi.inputs.json (written by the switch, after the published warehouse is in place; removed before
it is replaced, so a crash leaves no sidecar rather than a wrong one - and no sidecar means "changed").
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from importlib import metadata
from pathlib import Path

from phakhi.settings import REPO_ROOT, SEEDS_DIR

# Everything under these folders (relative to the repository) shapes what a refresh builds and publishes.
CODE_PARTS = ("phakhi", "flows", "dbt_project", "expectations", "sources", "dashboards")
SKIP_DIRS = {"__pycache__", "target", "logs", "dbt_packages", ".pytest_cache"}
PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb", "great-expectations", "evidently", "pandas", "numpy", "scipy")
# Columns of the ledger's file report that are the run's clock, not the data
VOLATILE_COLUMNS = {"received_at"}


def _hash_tree(h, root: Path, suffixes: tuple[str, ...] | None = None) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith((".pyc", ".msgpack")) or (suffixes and not name.endswith(suffixes)):
                continue
            path = Path(dirpath) / name
            h.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")


def code_fingerprint(parts: tuple[str, ...] = CODE_PARTS) -> str:
    h = hashlib.sha256()
    for part in parts:
        _hash_tree(h, REPO_ROOT / part)
    for pkg in PACKAGES:
        try:
            h.update(f"{pkg}=={metadata.version(pkg)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{pkg} missing\n".encode())
    return h.hexdigest()[:32]


def seeds_fingerprint() -> str:
    h = hashlib.sha256()
    _hash_tree(h, SEEDS_DIR)
    h.update((SEEDS_DIR.parent / "dbt_project.yml").read_bytes())
    return h.hexdigest()[:32]


def data_fingerprint(results) -> str:
    """The ingested data, through the ledger's file report of every family (each landed file's name, content
    hash, verdict and row counts): the raw tables are a function of these files and the code."""
    from phakhi.ingest.landing import loaded_rows     # a family spilled to disk is not read back to count it

    h = hashlib.sha256()
    for r in sorted(results, key=lambda r: r.family):
        report = r.file_report
        cols = sorted(c for c in report.columns if c not in VOLATILE_COLUMNS)
        h.update(f"{r.family}|{loaded_rows(r)}|{len(r.quarantine)}|{','.join(cols)}\n".encode())
        if len(report):     # each row's values as text joined by \x1f, rows sorted, one per line
            text = report[cols].astype(str)
            rows = ["\x1f".join(values) for values in zip(*(text[c].tolist() for c in cols))]
            h.update(("\n".join(sorted(rows)) + "\n").encode())     # column-wise: ~74k national rows, history
    return h.hexdigest()[:32]


def refresh_inputs(paths, results, period: str) -> dict:
    from phakhi.home import data_kind

    return {"period": period, "data_kind": data_kind(paths), "code": code_fingerprint(),
            "seeds": seeds_fingerprint(), "data": data_fingerprint(results)}


# ------------------------------------------------------------------ sidecars
def read_inputs(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_inputs(path: Path, doc: dict) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def same_inputs(a: dict | None, b: dict | None, keys=("period", "data_kind", "code", "seeds", "data")) -> bool:
    return bool(a) and bool(b) and all(a.get(k) == b.get(k) for k in keys)


def unchanged_since_publication(paths, inputs: dict) -> str | None:
    """The live publication's id when it was built from exactly these inputs (and its warehouse is the
    published one), else None."""
    from phakhi.publish.pointers import latest_id

    published = read_inputs(paths.published_inputs)
    live = latest_id(paths.publications)
    if not live or not paths.published_db.exists() or not (paths.publications / live).is_dir():
        return None
    if published and published.get("publication_id") == live and same_inputs(published, inputs):
        return live
    return None


def unchanged_message(period: str, live: str) -> str:
    from phakhi.publish.pointers import _period

    th, en = _period(period)
    return (f"ไม่มีข้อมูลใหม่หรือข้อมูลที่เปลี่ยนแปลงสำหรับเดือน {th} ตั้งแต่ฉบับเผยแพร่ {live}: ไม่ต้องปรับปรุง "
            f"(ใช้ --force เพื่อปรับปรุงอีกครั้ง)\n"
            f"Nothing new or changed for {en} since publication {live}: no refresh needed "
            f"(use --force to refresh anyway)")
