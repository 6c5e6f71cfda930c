"""The fingerprints of what decides an ingest result besides the files themselves: the ingestion code, the
contracts and the seeds they look up. The per-file cache (file_cache.py) keys every stored outcome with
`outcome_code_fingerprint`, a family's settled state (settled.py) with `ingest_code_fingerprint`."""
from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from phakhi.settings import CONTRACTS_DIR, REPO_ROOT, SEEDS_DIR

# What decides a result besides the landing files and the code: the source contracts and the seeds they look up
# (emission factors in force: phakhi/ingest/factors.py).
INGEST_DATA = (CONTRACTS_DIR, REPO_ROOT / "sources" / "instrument", SEEDS_DIR)
# The code that reads and judges one file: files.py and every module of the package it imports, at any depth
# (thai.py's parsers included), and file_cache.py, whose worker runs it. Reporting, settling and the ledger are
# not in it: changing them must not make a national refresh read every file again.
OUTCOME_ENTRIES = (REPO_ROOT / "phakhi" / "ingest" / "files.py",)
OUTCOME_CODE_ALSO = (REPO_ROOT / "phakhi" / "ingest" / "file_cache.py",)
# A family's settled state: settled.py and every module it imports (assembling, the rows file, the ledger's
# history), besides the outcome code. Not the run report, nor the landing's orchestration (they decide no
# settled row): a change there must not settle the country again either.
STATE_ENTRIES = (REPO_ROOT / "phakhi" / "ingest" / "settled.py",)


def imported_files(entries: Iterable[Path], root: Path = REPO_ROOT, package: str = "phakhi") -> list[Path]:
    """`entries` and the source file of every module of `package` they import, at any depth: read from the
    source, nothing imported, imports inside functions included (most are, here)."""
    def source(module: str) -> Path | None:
        base = root.joinpath(*module.split("."))
        for p in (base.with_suffix(".py"), base / "__init__.py"):
            if p.is_file():
                return p
        return None

    seen: set[Path] = set()
    todo = [Path(p) for p in entries]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        st = path.stat()
        for name in _imported_names(path, st.st_mtime_ns, st.st_size):
            parts = name.split(".")
            if parts[0] != package:
                continue
            for k in range(1, len(parts) + 1):                # a module's packages run their __init__ too
                p = source(".".join(parts[:k]))
                if p is not None and p not in seen:
                    todo.append(p)
    return sorted(seen)


@lru_cache(maxsize=256)
def _imported_names(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Every name a source file imports (absolute imports; a from-import's names too: a name may be a module),
    parsed once per version of the file in this process (both fingerprints walk the same modules)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return tuple(names)


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def fingerprint(folders: Iterable[Path], files: Iterable[Path] = (), root: Path = REPO_ROOT) -> str:
    """sha256 over (relative path, content sha256) of every file under the folders — hidden files included:
    a changed file can only cause a cache miss, never a stale hit — then of `files` (paths below `root`)."""
    h = hashlib.sha256()
    for folder in folders:
        folder = Path(folder)
        h.update(f"\0dir:{folder.name}\0".encode())
        if not folder.is_dir():
            continue
        for p in _files_under(folder):
            _add(h, p, p.relative_to(folder))
    for p in sorted(files):
        _add(h, p, Path(p).relative_to(root))
    return h.hexdigest()


def _add(h, path: Path, name: Path) -> None:
    h.update(str(name).encode("utf-8", "surrogateescape") + b"\0")
    with Path(path).open("rb") as fh:
        h.update(hashlib.file_digest(fh, "sha256").digest())


@lru_cache(maxsize=1)
def outcome_code_files() -> list[Path]:
    return sorted(set(imported_files(OUTCOME_ENTRIES)) | set(OUTCOME_CODE_ALSO))


@lru_cache(maxsize=1)
def outcome_code_fingerprint() -> str:
    """What one file's outcome depends on besides its bytes (and its reference look-ups' answers)."""
    from phakhi import __version__

    return f"{__version__}:{fingerprint(INGEST_DATA, outcome_code_files())}"


@lru_cache(maxsize=1)
def ingest_code_fingerprint() -> str:
    """What a family's settled state depends on besides its files: the code that settles it and judges its
    files, the contracts and seeds."""
    from phakhi import __version__

    code = set(imported_files(STATE_ENTRIES)) | set(outcome_code_files())
    return f"{__version__}:{fingerprint(INGEST_DATA, code)}"
