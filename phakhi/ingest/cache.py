"""Prefect cache keys for the ingest tasks: the content hash of the files a task reads plus the ingestion code
and contracts, so an unchanged batch of files is not read again."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from phakhi.settings import CONTRACTS_DIR, REPO_ROOT, SEEDS_DIR

# What else decides an ingest result besides the landing files: the ingestion code, the source contracts and
# the seeds they look up (emission factors in force: phakhi/ingest/factors.py).
INGEST_CODE = (REPO_ROOT / "phakhi" / "ingest", CONTRACTS_DIR, REPO_ROOT / "sources" / "instrument", SEEDS_DIR)


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def fingerprint(folders: Iterable[Path]) -> str:
    """sha256 over (relative path, content sha256) of every file under the folders — hidden files included:
    a changed file can only cause a cache miss, never a stale hit."""
    h = hashlib.sha256()
    for folder in folders:
        folder = Path(folder)
        h.update(f"\0dir:{folder.name}\0".encode())
        if not folder.is_dir():
            continue
        for p in _files_under(folder):
            h.update(str(p.relative_to(folder)).encode("utf-8", "surrogateescape") + b"\0")
            with p.open("rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()


@lru_cache(maxsize=1)
def ingest_code_fingerprint() -> str:
    from phakhi import __version__

    return f"{__version__}:{fingerprint(INGEST_CODE)}"


def _canonical(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if hasattr(value, "home") and isinstance(getattr(value, "home"), Path):   # phakhi.settings.Paths
        return {"home": str(value.home)}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _file_digests(files: Iterable[Path], root: Path | None) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(f) for f in files):
        rel = p.relative_to(root) if root is not None and p.is_relative_to(root) else p
        h.update(str(rel).encode("utf-8", "surrogateescape") + b"\0")
        if p.is_file():
            with p.open("rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
        else:
            h.update(b"<missing>")
    return h.hexdigest()


def ingest_cache_key(context, parameters: dict[str, Any]) -> str | None:
    """Prefect `cache_key_fn` for the ingest tasks. The key hashes the content (and names) of the files the task
    reads, the ingestion code and contracts, and the task's other parameters (e.g. the registry's partner ids,
    which decide what is quarantined). Two task shapes are understood:

    - a batch task, `(paths, family, files, known, batch_no)` (flows/pipeline.py:ingest_batch) or one with a `job`
      parameter carrying `.family` and `.files` (phakhi.ingest.landing.Job): only those files, so an unchanged
      batch is not read again while another is (`batch_no` only names the run: it is not part of the key).

    Returns None — no caching — when it cannot tell which files the task reads.
    """
    task_name = getattr(getattr(context, "task", None), "name", "") or ""
    job = parameters.get("job")
    paths = parameters.get("paths")
    if parameters.get("files") is not None and parameters.get("family"):
        family = parameters["family"]
        landing = Path(paths.landing) if hasattr(paths, "landing") else None
        files_digest = _file_digests(parameters["files"], landing)
        skip, extra = {"paths", "files", "batch_no"}, {}
    elif job is not None and hasattr(job, "files") and hasattr(job, "family"):
        family = job.family
        landing = Path(paths.landing) if hasattr(paths, "landing") else parameters.get("landing")
        files_digest = _file_digests(job.files, Path(landing) if landing else None)
        skip = {"job", "paths", "landing"}
        extra = {"known": getattr(job, "known", None)}
    else:
        return None
    others = {k: v for k, v in parameters.items() if k not in skip}
    h = hashlib.sha256()
    h.update(json.dumps({"task": task_name, "family": family, "params": _canonical(others), "extra": _canonical(extra),
                         "code": ingest_code_fingerprint()}, sort_keys=True).encode())
    h.update(files_digest.encode())
    return f"phakhi-ingest-{family}-{h.hexdigest()[:32]}"
