"""Publication folders: build aside, rename into place, switch `latest` atomically, list, roll back."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd

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


def staging_dir(publications: Path, pub_id: str) -> Path:
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


# ---------------------------------------------------------------- sharing unchanged files (issue 17)
OBJECTS_DIR = ".objects"     # content-addressed store beside the publications (hidden: never listed)


def _sha256(path: Path) -> str:
    import hashlib

    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def share_unchanged_files(publications: Path, folder: Path, min_bytes: int = 1) -> dict:
    """Hard-link every file of a complete publication `folder` to a content-addressed store,
    `publications/.objects/<sha256[:2]>/<sha256>`: a file whose bytes an earlier publication already holds
    becomes another name of that same inode, so a month in which little changed costs little disk.

    Each publication stays a complete folder of ordinary files (a hard link is a file, not a pointer to
    another publication): deleting or rolling back one publication never touches another's files. Each file
    is replaced by an atomic rename of a link to identical bytes, so this may run before or after the folder is
    made `latest` — a reader sees the same content either way. Files are never modified in place after
    publication (publications are immutable), which is what makes sharing inodes safe. Returns counts."""
    store = Path(publications) / OBJECTS_DIR
    stats = {"files": 0, "shared": 0, "stored": 0, "bytes_shared": 0}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink()):
        st = path.stat()
        if st.st_size < min_bytes:
            continue
        stats["files"] += 1
        digest = _sha256(path)
        obj = store / digest[:2] / digest
        try:
            ost = obj.stat()
        except FileNotFoundError:
            obj.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, obj)                       # the first publication holding these bytes
                stats["stored"] += 1
            except FileExistsError:                      # another refresh stored it meanwhile
                pass
            continue
        if ost.st_ino == st.st_ino and ost.st_dev == st.st_dev:
            continue                                     # already shared (run twice)
        if ost.st_size != st.st_size:                    # a damaged store entry: replace it, keep this file
            tmp = obj.with_name(f"{digest}.{uuid.uuid4().hex}.tmp")
            os.link(path, tmp)
            os.replace(tmp, obj)
            stats["stored"] += 1
            continue
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.link")
        os.link(obj, tmp)
        os.replace(tmp, path)                            # atomic: same bytes under the same name
        stats["shared"] += 1
        stats["bytes_shared"] += st.st_size
    return stats


def prune_store(publications: Path) -> int:
    """Remove store entries no publication uses any more (link count 1: only the store's own name), e.g.
    after old publications were deleted. Returns how many were removed."""
    removed = 0
    for obj in (Path(publications) / OBJECTS_DIR).glob("*/*"):
        if obj.is_file() and obj.stat().st_nlink == 1:
            obj.unlink()
            removed += 1
    return removed


def disk_usage(publications: Path) -> int:
    """Bytes the publications really occupy on disk (each inode counted once, hard links shared)."""
    seen, total = set(), 0
    for p in Path(publications).rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
