"""Publication folders: build aside, rename into place, switch `latest` atomically, list, roll back."""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from phakhi.publish.pointers import write_pointers

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(v) -> bool:
    return isinstance(v, str) and v.startswith(FORMULA_PREFIXES)


def _neutralise(v):
    return "'" + v if _formula_like(v) else v


# pandas' .str accessor takes these kinds of object column (infer_dtype, "bytes" apart): for them,
# `.str.startswith(FORMULA_PREFIXES).eq(True).any()` is "some cell is a str starting with a prefix"
_TEXT_KINDS = frozenset({"string", "empty", "mixed", "mixed-integer"})


# a cell's start: after the newline put before each cell (a literal first: the regex engine skips ahead to it)
_FORMULA_START = re.compile("\n[" + re.escape("".join(FORMULA_PREFIXES)) + "]")


def _any_formula_like(values) -> bool:
    """Whether some cell is a str starting with a formula prefix. A column of str only: one join and one regex
    search (C speed; a newline inside a cell may give a false "yes": the caller then maps cell by cell, which
    is exact); else cell by cell."""
    try:
        text = "\n" + "\n".join(values)
    except TypeError:            # None, NaN or a number among the cells
        return any(map(_formula_like, values))
    return _FORMULA_START.search(text) is not None


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP CSV injection).
    Numbers are left alone: a negative number is data, not a formula."""
    from pandas.api.types import infer_dtype

    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object:
            values = col.to_numpy()
            if infer_dtype(values, skipna=True) in _TEXT_KINDS:
                if not _any_formula_like(values):    # most text columns hold no formula-like cell at all
                    continue
            else:
                try:        # no text, or bytes: pandas' .str accessor decides, as it always did
                    if not col.str.startswith(FORMULA_PREFIXES).eq(True).any():
                        continue
                except (AttributeError, TypeError):          # no text in the column (or bytes): cell by cell
                    pass
            out[c] = col.map(_neutralise)
        elif pd.api.types.is_string_dtype(col):
            out[c] = col.map(_neutralise)
    return out


def stable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Round floats to 15 significant digits: open data shows 13107.92, not the binary noise 13107.920000000002.
    (Run-to-run stability itself comes from single-threaded DuckDB aggregation, set in dbt_project/profiles.yml.)"""
    import numpy as np

    for c in df.select_dtypes("float").columns:
        values = df[c].to_numpy(dtype="float64")
        uniq, inverse = np.unique(values, return_inverse=True)      # each distinct value formatted once
        rounded = np.array([float(f"{v:.15g}") for v in uniq.tolist()], dtype="float64")[inverse.reshape(-1)]
        # NaN stays the NaN it was; a zero keeps its sign (np.unique takes -0.0 and 0.0 as one value)
        df[c] = np.where(np.isnan(values) | (values == 0), values, rounded)
    return df


# ---------------------------------------------------------------- writing with the digest known (issue 17)
# Files the publish code writes are hashed from the bytes in memory as they are written, and remembered by
# inode (which survives the building folder's rename into place) with the size and mtime they were written
# with: share_unchanged_files then needs to read back only files written by someone else (copied trees such
# as dbt docs or GX Data Docs), never the thousands of pages and data files written here.
_WRITTEN: dict[tuple[int, int], tuple[int, int, str, bool]] = {}   # (size, mtime_ns, sha256, a store entry)
_MADE_DIRS: set[str] = set()          # folders this process created or found: one mkdir per folder, not per file


def known_digest(st: os.stat_result) -> str | None:
    """The sha256 of a file written by write_bytes, if it has not been rewritten since."""
    hit = _WRITTEN.get((st.st_dev, st.st_ino))
    return hit[2] if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns else None


def take_written() -> dict[tuple[int, int], tuple[int, int, str, bool]]:
    """The digests of the files this process wrote since the last call (a worker returns them)."""
    global _WRITTEN
    out, _WRITTEN = _WRITTEN, {}
    return out


def adopt_written(entries: dict[tuple[int, int], tuple[int, int, str, bool]]) -> None:
    """Digests of files another process (partner_pool's workers) wrote and hashed as it wrote them."""
    _WRITTEN.update(entries)


_STORE: str | None = None             # the content-addressed store write_bytes shares into (sharing_into)


@contextmanager
def sharing_into(store: Path | None):
    """While active, write_bytes takes a file whose bytes the store already holds as another name of that
    store entry (a hard link: nothing written, nothing to share later), and stores the bytes of a new file at
    once. share_unchanged_files then finds these files shared already. Used for the partner pages, most of
    which a new month does not change."""
    global _STORE
    previous, _STORE = _STORE, (os.fspath(store) if store is not None else None)
    try:
        yield
    finally:
        _STORE = previous


def active_store() -> str | None:
    """The store write_bytes shares into now (sharing_into), or None."""
    return _STORE


def link_known(path: Path, digest: str, size: int) -> bool:
    """Give `path` the bytes the active store holds under `digest` (a hard link: nothing read or written);
    False when there is no store or it lost the entry (the caller writes the bytes)."""
    if _STORE is None:
        return False
    name = os.fspath(path)
    _ensure_dir(os.path.dirname(name))
    return _link_from_store(name, os.path.join(_STORE, digest[:2], digest), size, digest)


def read_store_index(path: Path | None, wanted: set[str] | None = None) -> dict[str, tuple[str, int]]:
    """An index beside a content store (the per-partner files', the open-data files'): key -> (sha256, size)
    of the bytes it gave - only the `wanted` keys, if given (a page worker keeps only its partners'); a missing
    or damaged index is an empty one (it is only a shortcut)."""
    out: dict[str, tuple[str, int]] = {}
    if path is None:
        return out
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition("\t")
                if wanted is not None and key not in wanted:
                    continue
                sha256, _, size = rest.rstrip("\n").partition("\t")
                if len(sha256) == 64 and size.isdigit():
                    out[key] = (sha256, int(size))
    except (OSError, UnicodeDecodeError):
        return {}
    return out


def write_store_index(path: Path | None, entries: dict[str, tuple[str, int]]) -> None:
    """Such an index, written whole (atomic: a reader sees the old or the new one)."""
    if path is None or not entries:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text("".join(f"{k}\t{s}\t{n}\n" for k, (s, n) in sorted(entries.items())), encoding="ascii")
        os.replace(tmp, path)
    except OSError:                   # a read-only or full disk: the next publication formats every file
        tmp.unlink(missing_ok=True)


def store_of(folder: Path) -> Path | None:
    """The store beside a publication being built (building_dir: publications/.building-<id>), else None."""
    folder = Path(folder)
    return folder.parent / OBJECTS_DIR if folder.name.startswith(".building-") else None


def _ensure_dir(parent: str) -> None:
    if parent not in _MADE_DIRS:
        # one mkdir: a partner's folder is new and its parent made already (makedirs first stats the parent)
        try:
            os.mkdir(parent)
        except FileExistsError:
            if not os.path.isdir(parent):
                raise
        except FileNotFoundError:       # its parent is missing too (or `parent` is "")
            os.makedirs(parent or ".", exist_ok=True)
        _MADE_DIRS.add(parent)


def _link_from_store(name: str, obj: str, size: int, digest: str) -> bool:
    try:
        st = os.stat(obj)
    except FileNotFoundError:
        return False
    if st.st_size != size:               # a damaged entry: write the file (share_unchanged_files repairs it)
        return False
    try:
        try:
            os.link(obj, name)
        except FileExistsError:          # written before in this build: replace the name, never the inode
            os.unlink(name)
            os.link(obj, name)
    except FileNotFoundError:            # the entry was pruned meanwhile (or the folder removed): write it
        return False
    _WRITTEN[(st.st_dev, st.st_ino)] = (st.st_size, st.st_mtime_ns, digest, True)
    return True


def _open_new(name: str, flags: int) -> int:
    """Open `name` for writing; with O_EXCL, an existing name (written before in this build, perhaps a store
    entry's) is unlinked first, so a new inode is written. The name is tried first: almost every file of a
    building folder is new (one system call, not a failing unlink and an open)."""
    try:
        return os.open(name, flags, 0o666)
    except FileExistsError:
        os.unlink(name)
        return os.open(name, flags, 0o666)


def write_bytes(path: Path, data: bytes) -> Path:
    import hashlib

    name = os.fspath(path)
    parent = os.path.dirname(name)
    _ensure_dir(parent)
    digest = hashlib.sha256(data).hexdigest()
    store = _STORE
    obj = os.path.join(store, digest[:2], digest) if store is not None else None
    if obj is not None and _link_from_store(name, obj, len(data), digest):
        return path
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    if obj is not None:              # a name that may be a store entry's: a new inode, never truncate that one
        flags |= os.O_EXCL
    try:
        fd = _open_new(name, flags)
    except FileNotFoundError:              # the folder was removed since (e.g. a rebuilt assets/ folder)
        os.makedirs(parent or ".", exist_ok=True)
        fd = _open_new(name, flags)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        st = os.fstat(fd)
    finally:
        os.close(fd)
    stored = False
    if obj is not None:                    # the first publication holding these bytes: store them now
        try:
            _ensure_dir(os.path.dirname(obj))
            os.link(name, obj)
            stored = True
        except OSError:                    # stored by another refresh meanwhile: share_unchanged_files links
            pass
    _WRITTEN[(st.st_dev, st.st_ino)] = (st.st_size, st.st_mtime_ns, digest, stored)
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    return write_bytes(path, text.encode(encoding))


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV as published: UTF-8 with a BOM (Excel opens Thai correctly); same frame, same bytes."""
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def parquet_bytes(df: pd.DataFrame) -> bytes:
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def write_table(df: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
    write_bytes(csv_path, csv_bytes(neutralise_formulas(df)))
    write_bytes(parquet_path, parquet_bytes(df))
    return [csv_path, parquet_path]


def write_partitions(df: pd.DataFrame, folder: Path, column: str, writer=None) -> list[str]:
    """One CSV + Parquet pair per value of `column` (folder/<value>.csv), values in order; rows keep their
    order. Returns the values written. A month that did not change keeps byte-identical files. `writer`:
    write_table's stand-in (known_tables.KnownTables writes only the months its store does not hold)."""
    write_table_ = writer or write_table
    key = df[column].astype("string").fillna("undated")
    values = []
    for value, part in df.groupby(key, sort=True):
        write_table_(part.reset_index(drop=True), folder, str(value))
        values.append(str(value))
    if not values:                                   # an empty table still publishes its header
        write_table_(df, folder, "empty")
        values.append("empty")
    return values


def building_dir(publications: Path, pub_id: str) -> Path:
    path = publications / f".building-{pub_id}"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    _mark_owner(path)
    return path


OWNER_FILE = ".owner"


def _mark_owner(path: Path) -> None:
    """Which process builds this folder: `discard_building` never deletes a folder a live run is writing."""
    import socket

    (path / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}), encoding="utf-8")


def _owner_alive(path: Path) -> bool:
    import socket

    try:
        owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if owner.get("host") != socket.gethostname() or owner.get("pid") == os.getpid():
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except (ProcessLookupError, ValueError, TypeError, KeyError):
        return False
    except PermissionError:
        return True
    return True


def discard_own(publications: Path, pub_id: str) -> None:
    """Remove this run's own building folder (after a failure, e.g. a full disk): never another run's."""
    shutil.rmtree(publications / f".building-{pub_id}", ignore_errors=True)


def finalise(publications: Path, building: Path, pub_id: str) -> Path:
    """Rename the finished folder into place, then point `latest` at it. Readers see the old or the new
    publication, never a half-written one."""
    final = publications / pub_id
    if final.exists():
        raise FileExistsError(f"publication {pub_id} already exists; publications are immutable")
    (building / OWNER_FILE).unlink(missing_ok=True)
    os.rename(building, final)
    switch_latest(publications, pub_id)
    return final


class NotAPublication(FileNotFoundError):
    """A rollback target that is not a publication id (a path, '..', 'latest', a sub-folder...)."""


def check_publication_id(publications: Path, pub_id: str) -> str:
    """`pub_id` must name a finished publication: a plain folder name directly under `publications` (no path
    separator, not '.', '..', 'latest', a hidden building folder or a symlink) holding a publication manifest."""
    bad = (not isinstance(pub_id, str) or not pub_id or pub_id in (".", "..", "latest") or pub_id.startswith(".")
           or "/" in pub_id or "\\" in pub_id or "\0" in pub_id or pub_id != pub_id.strip())
    folder = publications / pub_id if not bad else None
    if bad or folder.is_symlink() or not folder.is_dir() or not any(
            (folder / f).is_file() for f in ("manifest.json", "index.html")):
        known = [p["id"] for p in list_publications(publications)] if publications.is_dir() else []
        shown = pub_id if isinstance(pub_id, str) and pub_id.isprintable() else repr(pub_id)
        raise NotAPublication(f"no publication {shown} under {publications}: rollback takes a publication id, "
                              f"one of: {', '.join(known[-5:]) or '(none yet)'}")
    return pub_id


def switch_latest(publications: Path, pub_id: str) -> None:
    check_publication_id(publications, pub_id)
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
    """Remove folders left by a crashed build (never published, never linked); a folder another live run is
    still writing is left alone (each run cleans only what is its own or abandoned)."""
    for p in publications.glob(".building-*"):
        if not _owner_alive(p):
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
    made `latest` — a reader sees the same content either way. A file written by `write_bytes` is not read
    back: its digest was taken from the bytes as they were written (`hashed` counts the files read back). Files are never modified in place after
    publication (publications are immutable), which is what makes sharing inodes safe. Returns counts."""
    store = os.path.join(os.fspath(publications), OBJECTS_DIR)
    stats = {"files": 0, "shared": 0, "stored": 0, "bytes_shared": 0, "hashed": 0}
    made: set[str] = set()
    for path, dev, ino in sorted(_files_with_inodes(os.fspath(folder))):
        hit = _WRITTEN.get((dev, ino))
        if hit is not None and hit[3]:           # written here as a store entry's other name: shared already
            if hit[0] >= min_bytes:
                stats["files"] += 1
            continue
        st = os.stat(path, follow_symlinks=False)
        if st.st_size < min_bytes:
            continue
        stats["files"] += 1
        digest = known_digest(st)
        if digest is None:
            digest = _sha256(Path(path))
            stats["hashed"] += 1
        bucket = os.path.join(store, digest[:2])
        obj = os.path.join(bucket, digest)
        try:
            ost = os.stat(obj)
        except FileNotFoundError:
            if bucket not in made:
                os.makedirs(bucket, exist_ok=True)
                made.add(bucket)
            try:
                os.link(path, obj)                       # the first publication holding these bytes
                stats["stored"] += 1
            except FileExistsError:                      # another refresh stored it meanwhile
                pass
            continue
        if ost.st_ino == st.st_ino and ost.st_dev == st.st_dev:
            continue                                     # already shared (run twice)
        if ost.st_size != st.st_size:                    # a damaged store entry: replace it, keep this file
            tmp = f"{obj}.{uuid.uuid4().hex}.tmp"
            os.link(path, tmp)
            os.replace(tmp, obj)
            stats["stored"] += 1
            continue
        head, name = os.path.split(path)
        tmp = os.path.join(head, f".{name}.{uuid.uuid4().hex}.link")
        os.link(obj, tmp)
        os.replace(tmp, path)                            # atomic: same bytes under the same name
        stats["shared"] += 1
        stats["bytes_shared"] += st.st_size
    return stats


def _files_with_inodes(folder: str):
    """(path, device, inode) of every regular file under folder (symlinks skipped): the inode from os.scandir
    (no stat per file), the device from each folder's stat."""
    stack = [folder]
    while stack:
        here = stack.pop()
        dev = os.stat(here).st_dev
        with os.scandir(here) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    yield e.path, dev, e.inode()


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
