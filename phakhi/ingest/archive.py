"""The landing archive: the bytes of every content Phakhi received, as received, once per content.

New contents go into packs, `$PHAKHI_HOME/landing_archive/packs/<id>.pack`: the contents one after another,
then an index (JSON {sha256: [offset, length, suffix]}), its length (8 bytes) and a magic tag. Why packs: one
file per workbook cost 0.15-0.23 ms of kernel time each (ext4 inode and directory entry), seconds per national
month; appending the same bytes to a pack costs a tenth of that (BENCHMARKS.md).

Crash safety: a pack is written under a temporary name and renamed into place when complete, so a `.pack` is
whole or absent (a killed writer leaves only a `.tmp`, never read); a pack whose tail is not a valid index
is ignored. The ledger records where each content is (`pack_ref`: pack, offset, length) only for complete
packs; `ledger.read_archived` reads a content back by its hash. Homes of the old layout
(`landing_archive/<sha[:2]>/<sha><ext>`, one file per content) keep working: their recorded paths are plain
files, read as they are.

Never a hard link or a clone of the landed file: the archive keeps the bytes as received when a landed file
is later overwritten in place (tests/test_ingest_landing.py::test_new_content_at_the_same_path...).
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import threading

MAGIC = b"PHKPACK1"
_TAIL = struct.Struct("<Q8s")          # index length, magic
_NOT_ARCHIVED = ("symlink", "file_type", "too_large", "reader_crashed")    # refused unread


def packs_dir(archive: str) -> str:
    return os.path.join(os.fspath(archive), "packs")


def archivable(o, src: str) -> bool:
    """Whether a received file's bytes belong in the archive: not for a file refused unread (a link is never
    followed into the archive)."""
    return o.rule not in _NOT_ARCHIVED and not os.path.islink(src)


def suffix(path: str) -> str:
    """`Path(path).suffix.lower()` without building the Path."""
    name = os.path.basename(path)
    i = name.rfind(".")
    return name[i:].lower() if 0 < i < len(name) - 1 else ""


def pack_ref(pack: str, offset: int, length: int) -> str:
    """How the ledger records a content's place (`archive_path`, relative to PHAKHI_HOME)."""
    return f"landing_archive/packs/{pack}#{offset}+{length}"


class PackWriter:
    """Collects contents (each once) and writes them as one pack when closed; nothing is on disk under the
    pack's name before it is complete."""

    def __init__(self, archive: str):
        self.archive = os.fspath(archive)
        self.parts: list[bytes] = []
        self.index: dict[str, list] = {}
        self.size = 0
        self.name: str | None = None         # the last pack written

    def add(self, file_hash: str, data: bytes, ext: str = "") -> None:
        if file_hash in self.index:
            return
        self.index[file_hash] = [self.size, len(data), ext]
        self.parts.append(data)
        self.size += len(data)

    def close(self) -> dict[str, str]:
        """Write the pack (temporary name, then renamed into place); {sha256: ref} of what it holds."""
        if not self.index:
            return {}
        name = hashlib.sha256("\0".join(sorted(self.index)).encode()).hexdigest()[:40] + ".pack"
        folder = packs_dir(self.archive)
        dest = os.path.join(folder, name)
        if not os.path.exists(dest):      # the same contents already packed under this name: nothing to write
            os.makedirs(folder, exist_ok=True)
            tmp = f"{dest}.{os.getpid()}.{threading.get_ident()}.tmp"
            index = json.dumps(self.index, separators=(",", ":")).encode()
            with open(tmp, "wb") as fh:
                fh.writelines(self.parts)
                fh.write(index)
                fh.write(_TAIL.pack(len(index), MAGIC))
            os.replace(tmp, dest)
        out = {h: pack_ref(name, off, n) for h, (off, n, _) in self.index.items()}
        self.parts, self.index, self.size, self.name = [], {}, 0, name
        return out


def pack_entries(path: str) -> dict[str, str]:
    """{sha256: ref} of a complete pack; {} for anything else (torn, foreign, unreadable)."""
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            if end < _TAIL.size:
                return {}
            fh.seek(end - _TAIL.size)
            n, magic = _TAIL.unpack(fh.read(_TAIL.size))
            if magic != MAGIC or n > end - _TAIL.size:
                return {}
            fh.seek(end - _TAIL.size - n)
            index = json.loads(fh.read(n))
    except (OSError, ValueError):
        return {}
    name = os.path.basename(path)
    return {h: pack_ref(name, off, length) for h, (off, length, _) in index.items()}


def list_packs(archive: str) -> list[str]:
    """The names of the complete packs (temporary files of an unfinished write are not packs)."""
    try:
        return sorted(n for n in os.listdir(packs_dir(archive)) if n.endswith(".pack"))
    except OSError:
        return []


def settle_packs(archive: str, names: list[str], stale_after: float = 3600.0) -> None:
    """Before the ledger records references to these packs: their bytes on disk (fsync: a renamed pack is
    whole after a crash of the process, this makes it whole after a power cut too), and the leftovers of
    writers killed mid-write (`.tmp` older than `stale_after` seconds: a live writer's are recent) removed."""
    import time

    folder = packs_dir(archive)
    for name in names:
        try:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)                  # the renames themselves
        finally:
            os.close(fd)
        now = time.time()
        for name in os.listdir(folder):
            if name.endswith(".tmp"):
                path = os.path.join(folder, name)
                if now - os.stat(path).st_mtime > stale_after:
                    os.unlink(path)
    except OSError:
        pass


def read_ref(home: str, ref: str) -> bytes | None:
    """The bytes at a recorded archive place (a pack ref, or an old-layout file path), or None."""
    path, _, span = ref.partition("#")
    try:
        with open(os.path.join(os.fspath(home), path), "rb") as fh:
            if not span:
                return fh.read()
            off, _, n = span.partition("+")
            fh.seek(int(off))
            data = fh.read(int(n))
            return data if len(data) == int(n) else None
    except (OSError, ValueError):
        return None


def find(home: str, file_hash: str) -> str | None:
    """A content's place by looking through the archive itself (no ledger entry: e.g. archived by a run
    that crashed before recording); None when absent."""
    archive = os.path.join(home, "landing_archive")
    try:
        for name in os.listdir(os.path.join(archive, file_hash[:2])):
            if name.startswith(file_hash):
                return f"landing_archive/{file_hash[:2]}/{name}"
    except OSError:
        pass
    for name in list_packs(archive):
        ref = pack_entries(os.path.join(packs_dir(archive), name)).get(file_hash)
        if ref:
            return ref
    return None
