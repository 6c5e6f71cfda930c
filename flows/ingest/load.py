"""Ingest the files of one source family: read, apply the contract, account for every row."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from flows.ingest.contracts import MissingColumns, apply_contract, load_contract
from flows.ingest.readers import SUPPORTED, UnreadableFile, read_any

QUARANTINE_COLUMNS = ["family", "file", "file_hash", "sheet", "row", "column", "header", "value", "rule",
                      "expected", "message_en", "message_th"]
MANIFEST_COLUMNS = ["family", "file", "file_hash", "size_bytes", "status", "reason_en", "reason_th",
                    "rows_read", "rows_loaded", "rows_quarantined", "blank_rows", "contract_version", "encoding"]


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class FamilyResult:
    family: str
    loaded: pd.DataFrame
    quarantine: pd.DataFrame
    manifest: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MANIFEST_COLUMNS))

    @property
    def totals(self) -> dict:
        m = self.manifest
        return {"family": self.family, "files": len(m), "files_rejected": int((m.status == "rejected").sum()),
                "rows_read": int(m.rows_read.sum()), "rows_loaded": int(m.rows_loaded.sum()),
                "rows_quarantined": int(m.rows_quarantined.sum())}


def list_files(folder: Path) -> list[Path]:
    """Every file a partner dropped in the folder (sorted: deterministic loads). Hidden files are skipped;
    unsupported types are still listed so that they are rejected with a reason, not ignored."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "~$")))


def ingest_file(family: str, path: Path, landing: Path, known: dict[str, set[str]] | None = None):
    contract = load_contract(family)
    rel = str(path.relative_to(landing)) if path.is_relative_to(landing) else path.name
    digest = file_hash(path)
    base = {"family": family, "file": rel, "file_hash": digest, "size_bytes": path.stat().st_size,
            "contract_version": contract.version, "encoding": None}
    try:
        sheets = read_any(path)
    except UnreadableFile as exc:
        return None, [], {**base, "status": "rejected", "reason_en": exc.message_en, "reason_th": exc.message_th,
                          "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0, "blank_rows": 0}
    # A workbook's table may sit on any sheet (instructions sheets come first in our template): use the first
    # sheet whose headers satisfy the contract.
    errors = []
    for sheet in sheets:
        try:
            res = apply_contract(contract, sheet, known)
        except MissingColumns as exc:
            errors.append(exc)
            continue
        loaded = res.loaded.assign(_file=rel, _sheet=sheet.name, _file_hash=digest)
        problems = [{"family": family, "file": rel, "file_hash": digest, **p} for p in res.quarantine]
        status = "loaded" if res.rows_quarantined == 0 else "partially_loaded"
        if res.rows_read == 0:
            status = "rejected"
        return loaded, problems, {
            **base, "encoding": sheet.encoding, "status": status,
            "reason_en": None if res.rows_read else "the table has headers but no data rows",
            "reason_th": None if res.rows_read else "ตารางมีแต่หัวคอลัมน์ ไม่มีข้อมูล",
            "rows_read": res.rows_read, "rows_loaded": len(res.loaded),
            "rows_quarantined": res.rows_quarantined, "blank_rows": res.blank_rows}
    best = max(errors, key=lambda e: len(e.found)) if errors else None
    return None, [], {**base, "status": "rejected",
                      "reason_en": best.message_en if best else "no sheet in the workbook",
                      "reason_th": best.message_th if best else "ไม่มีชีตในไฟล์",
                      "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0, "blank_rows": 0}


def ingest_family(family: str, files: list[Path], landing: Path, known: dict[str, set[str]] | None = None) -> FamilyResult:
    contract = load_contract(family)
    frames, problems, manifest = [], [], []
    for path in files:
        loaded, probs, entry = ingest_file(family, path, landing, known)
        if loaded is not None and len(loaded):
            frames.append(loaded)
        problems.extend(probs)
        manifest.append(entry)
    columns = ["_row"] + [c.name for c in contract.columns] + ["_file", "_sheet", "_file_hash"]
    loaded = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    loaded = _dedupe_keys(loaded, contract.key, problems, family)
    return FamilyResult(family, typed_frame(contract, loaded[columns]), pd.DataFrame(problems, columns=QUARANTINE_COLUMNS),
                        pd.DataFrame(manifest, columns=MANIFEST_COLUMNS).pipe(_recount, problems))


PANDAS_TYPES = {"integer": "Int64", "year": "Int64", "likert": "Int64", "number": "float64"}


def typed_frame(contract, df: pd.DataFrame) -> pd.DataFrame:
    """Give every contract column its type, so raw tables are typed even when a family has no rows."""
    out = df.copy()
    for col in contract.columns:
        if col.type == "date":
            out[col.name] = pd.to_datetime(out[col.name]).dt.date.astype(object).where(out[col.name].notna(), None)
        elif col.type in PANDAS_TYPES:
            out[col.name] = pd.to_numeric(out[col.name]).astype(PANDAS_TYPES[col.type])
        else:
            out[col.name] = out[col.name].astype("string")
    out["_row"] = out["_row"].astype("Int64")
    for c in ("_file", "_sheet", "_file_hash"):
        out[c] = out[c].astype("string")
    return out


def _dedupe_keys(df: pd.DataFrame, key: list[str], problems: list[dict], family: str) -> pd.DataFrame:
    """Two rows with the same key are both quarantined: we cannot tell which one the partner meant."""
    if not key or df.empty:
        return df
    dup = df.duplicated(subset=key, keep=False)
    for _, r in df[dup].iterrows():
        problems.append({"family": family, "file": r["_file"], "file_hash": r["_file_hash"], "sheet": r["_sheet"],
                         "row": r["_row"], "column": ", ".join(key), "header": ", ".join(key),
                         "value": ", ".join(str(r[k]) for k in key), "rule": "duplicate_key",
                         "expected": "one row per " + ", ".join(key),
                         "message_en": "the same " + ", ".join(key) + " appears more than once",
                         "message_th": "ข้อมูลซ้ำ: คีย์ " + ", ".join(key) + " ปรากฏมากกว่าหนึ่งครั้ง"})
    return df[~dup]


def _recount(manifest: pd.DataFrame, problems: list[dict]) -> pd.DataFrame:
    """Rows quarantined per file = distinct (sheet, row) with a problem; loaded = read - quarantined."""
    if manifest.empty:
        return manifest
    q = pd.DataFrame(problems, columns=QUARANTINE_COLUMNS)
    per_file = q.drop_duplicates(["file", "sheet", "row"]).groupby("file").size() if len(q) else pd.Series(dtype=int)
    manifest = manifest.copy()
    manifest["rows_quarantined"] = manifest["file"].map(per_file).fillna(0).astype(int)
    manifest["rows_loaded"] = manifest["rows_read"] - manifest["rows_quarantined"]
    manifest.loc[(manifest.status == "loaded") & (manifest.rows_quarantined > 0), "status"] = "partially_loaded"
    return manifest


def write_raw(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    """Replace raw.<table> with df. Object columns become VARCHAR; an empty frame still creates the table."""
    con.execute("create schema if not exists raw")
    frame = df.copy()
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else v)
    con.register("_frame", frame)
    con.execute(f'create or replace table raw."{table}" as select * from _frame')
    con.unregister("_frame")


def supported_suffixes() -> list[str]:
    return sorted(SUPPORTED)
