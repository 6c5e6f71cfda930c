"""Publication folders: build aside, rename into place, switch `latest` atomically, list, roll back."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd

from phakhi.publish.pointers import write_pointers

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP CSV injection).
    Numbers are left alone: a negative number is data, not a formula."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v)
    return out


def stable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Round floats to 15 significant digits: open data shows 13107.92, not the binary noise 13107.920000000002.
    (Run-to-run stability itself comes from single-threaded DuckDB aggregation, set in dbt_project/profiles.yml.)"""
    for c in df.select_dtypes("float").columns:
        df[c] = df[c].map(lambda v: float(f"{v:.15g}") if pd.notna(v) else v).astype("float64")
    return df


def write_table(df: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
    neutralise_formulas(df).to_csv(csv_path, index=False, encoding="utf-8-sig")  # BOM: Excel opens Thai correctly
    df.to_parquet(parquet_path, index=False)
    return [csv_path, parquet_path]


def building_dir(publications: Path, pub_id: str) -> Path:
    path = publications / f".building-{pub_id}"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def finalise(publications: Path, building: Path, pub_id: str) -> Path:
    """Rename the finished folder into place, then point `latest` at it. Readers see the old or the new
    publication, never a half-written one."""
    final = publications / pub_id
    if final.exists():
        raise FileExistsError(f"publication {pub_id} already exists; publications are immutable")
    os.rename(building, final)
    switch_latest(publications, pub_id)
    return final


def switch_latest(publications: Path, pub_id: str) -> None:
    if not (publications / pub_id).is_dir():
        raise FileNotFoundError(f"no publication {pub_id} under {publications}")
    tmp = publications / f".latest-{uuid.uuid4().hex}"
    os.symlink(pub_id, tmp)           # relative: the folder can move as a whole
    os.replace(tmp, publications / "latest")
    write_pointers(publications, pub_id)   # latest.json / latest.html / index.html: hosts without symlinks


def current_latest(publications: Path) -> str | None:
    link = publications / "latest"
    return os.readlink(link) if link.is_symlink() else None


def list_publications(publications: Path) -> list[dict]:
    latest = current_latest(publications)
    out = []
    for p in sorted(publications.glob("*")):
        if p.is_dir() and not p.is_symlink() and not p.name.startswith("."):
            manifest = p / "manifest.json"
            meta = json.loads(manifest.read_text()) if manifest.exists() else {}
            out.append({"id": p.name, "period": meta.get("period"), "created_at": meta.get("created_at"),
                        "latest": p.name == latest})
    return out


def discard_building(publications: Path) -> None:
    """Remove folders left by a crashed build (never published, never linked)."""
    for p in publications.glob(".building-*"):
        shutil.rmtree(p, ignore_errors=True)
