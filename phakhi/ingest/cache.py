"""The fingerprint of what decides an ingest result besides the files themselves: the ingestion code, the
contracts and the seeds they look up. The per-file cache (file_cache.py) keys every stored outcome with it."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Iterable

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
