"""Ingest in proportion to what changed: a per-file outcome cache keyed by content, not by batch position.

A file's outcome (typed records, quarantine records, counts) depends on its bytes, its family (or the contract
it was recognised by), the code that reads and judges a file and the contracts (`cache.outcome_code_fingerprint`)
and — for reference columns — whether the ids it names are in the registry. So the cache key is

    sha256(family, file content sha256, code/contract fingerprint)

and each entry also stores the answers to the reference look-ups the file made (`{column: {id: known?}}`,
recorded while the contract ran). An entry is reused only when every one of those answers is still the same
with today's registry: a new partner in the registry re-reads only files that name that partner.

Files are not even read when they are unchanged on disk: a stat index (path → size, mtime_ns, inode, sha256),
like make's or rsync's, gives the content hash of a file whose stat is the same as last time.

Storage under `Paths.ingest_cache`: `outcomes/<key[:2]>/<key>.pkl` (one pickle per content, written atomically
by this code only), `outcomes/packs/<id>.pkl` (the outcomes of one chunk of files read in the process pool,
written by the worker: one file per chunk, not per content -- creating 70,000 small files cost more than
pickling them) with `pack_index-<family>.pkl` (key -> pack), and `stat_index-<family>.pkl`. Deleting the
folder is always safe: the next run reads everything.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import threading
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from phakhi.ingest.archive import PackWriter, archivable, suffix
from phakhi.ingest.files import (MIN_FILES_FOR_POOL, FileOutcome, _pool, _rel, default_workers, ingest_file,
                                 shutdown_pool)

FORMAT = 1       # bump when the stored shape changes


def _digest(ids) -> str:
    """A fingerprint of a whole set of known ids (or keyed table): for a look-up that read all of it."""
    items = sorted(map(repr, ids.items() if hasattr(ids, "items") else ids))
    return hashlib.sha256("\0".join(items).encode("utf-8", "surrogateescape")).hexdigest()


def _answer(ids, question):
    """What a set of known ids (or a keyed table of values) answers today to a question asked earlier."""
    if isinstance(question, tuple) and len(question) == 2 and question[0] == "get":
        return ids.get(question[1]) if hasattr(ids, "get") else None
    if question == ("all",):
        return _digest(ids)
    return question in ids


class _Probe:
    """Stands in for a set of known ids: answers `in` and remembers every question and its answer."""
    __slots__ = ("allowed", "asked")

    def __init__(self, allowed):
        self.allowed, self.asked = allowed, {}

    def __contains__(self, value) -> bool:
        hit = value in self.allowed
        self.asked[value] = hit
        return hit

    def _whole(self):
        """The caller reads the whole table (e.g. matching a title block against every partner name): the
        outcome depends on all of it."""
        self.asked[("all",)] = _digest(self.allowed)
        return self.allowed

    def __iter__(self):
        return iter(self._whole())

    def __len__(self):
        return len(self._whole())

    def items(self):
        return self._whole().items()

    def keys(self):
        return self._whole().keys()

    def values(self):
        return self._whole().values()

    def get(self, value, default=None):
        """A keyed look-up (e.g. a partner's baseline for the plausibility check): the answer itself is
        remembered, so a changed baseline reads the file again."""
        answer = self.allowed.get(value, default) if hasattr(self.allowed, "get") else default
        self.asked[("get", value)] = answer
        return answer


def ingest_file_probed(family: str | None, path: Path, landing: Path | None, known: dict[str, set] | None,
                       hashed: tuple | None = None, sink: list | None = None) -> tuple[FileOutcome, dict[str, dict]]:
    """`ingest_file`, plus the reference look-ups it made: {column: {value: known?}}. `hashed`: the content
    hash and the stat it was computed for (`ingest_file`)."""
    probes = {col: _Probe(ids) for col, ids in (known or {}).items()}
    out = ingest_file(family, path, landing, probes or None, sink=sink, hashed=hashed)
    return out, {col: p.asked for col, p in probes.items()}


def _probed_isolated(family, path: Path, landing, known) -> tuple[FileOutcome, dict]:
    """`ingest_file_probed` in a single-use worker process: a reader that crashes natively kills only it."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from phakhi.ingest.files import _start_method, reader_crashed

    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context(_start_method())) as one:
        try:
            return one.submit(ingest_file_probed, family, path, landing, known).result()
        except BrokenProcessPool:
            return reader_crashed(family, path, landing), {col: {} for col in (known or {})}


class PickledKnown:
    """A family's known-id sets pickled once for all its chunks: each chunk carries these bytes (copied, not
    pickled again) and a worker unpickles them once, not once per chunk (the national registry's sets are
    ~0.8 MB: ~7 ms of pickling and unpickling for every chunk of 64 files)."""
    __slots__ = ("blob",)

    def __init__(self, known):
        self.blob = pickle.dumps(known, protocol=pickle.HIGHEST_PROTOCOL)


_UNPICKLED: tuple[bytes, object] | None = None        # in a worker: the last PickledKnown's bytes and sets


def _unpickled(known):
    """The sets a PickledKnown holds (unpickled again only when its bytes differ from the last one's); any
    other value as it is. The sets are only read, never changed, so chunks may share them."""
    global _UNPICKLED
    if not isinstance(known, PickledKnown):
        return known
    if _UNPICKLED is None or _UNPICKLED[0] != known.blob:
        _UNPICKLED = (known.blob, pickle.loads(known.blob))
    return _UNPICKLED[1]


def _work_chunk(family, items, landing, known, store=None, hashed=None):
    """A chunk of files in a pool worker (`known` may be a PickledKnown). With `store` (cache folder, code
    fingerprint, (landing archive, contents already archived) or None), the worker also writes the chunk's
    cache entries -- one pack file for the chunk, not one file per outcome -- and puts the bytes it read
    into the landing archive, one archive pack for the chunk: in parallel, not one by one in the process
    that settles. `hashed`: per file, the content hash the caller computed and its stat, or None (see
    `ingest_file`). Returns ([(outcome, asked)], pack id or None)."""
    known = _unpickled(known)
    hashed = hashed or [None] * len(items)
    if store is None:
        return [ingest_file_probed(family, Path(p), landing, known, h) for p, h in zip(items, hashed)]
    folder, code, archive = store
    pack = None if archive is None else (PackWriter(archive[0]), archive[1])
    out = [_ingest_archived(family, Path(p), landing, known, pack, h) for p, h in zip(items, hashed)]
    if pack is not None:
        _close_pack(pack[0])
    return out, _put_pack(Path(folder), code, family, out)


def _ingest_archived(family, path: Path, landing, known, pack, hashed=None) -> tuple[FileOutcome, dict]:
    """`ingest_file_probed`, and with `pack` = (an archive PackWriter, contents already archived) the very
    bytes it read and hashed added to the pack (the caller closes it) unless already archived."""
    if pack is None:
        return ingest_file_probed(family, path, landing, known, hashed)
    sink: list[bytes] = []
    outcome, asked = ingest_file_probed(family, path, landing, known, hashed, sink=sink)
    if sink and outcome.file_hash not in pack[1] and archivable(outcome, outcome.path):
        pack[0].add(outcome.file_hash, sink[0], suffix(outcome.path))
    return outcome, asked


def _close_pack(pack: PackWriter) -> None:
    """Write an archive pack; a failed write (disk full) is not the ingest's failure: the ledger then
    archives those contents from the landing area (ledger._place)."""
    try:
        pack.close()
    except OSError:
        pass


def _put_pack(folder: Path, code: str, family: str | None, items: list[tuple[FileOutcome, dict]]) -> str | None:
    """Write a chunk's outcomes as one pack (`outcomes/packs/<id>.pkl`: {key: (outcome, asked)}), atomically;
    its id, or None when nothing is to be kept (a crash may be the machine's, never cached)."""
    entries = {_key(code, family, o.file_hash): (o, asked) for o, asked in items if o.rule != "reader_crashed"}
    if not entries:
        return None
    pid = hashlib.sha256("\0".join(sorted(entries)).encode()).hexdigest()[:40]
    path = folder / "outcomes" / "packs" / f"{pid}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump((FORMAT, entries), fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return pid


@dataclass
class CacheStats:
    files: int = 0
    hashed: int = 0          # files read to compute their hash (new or changed on disk)
    reused: int = 0          # outcomes taken from the cache
    ingested: int = 0        # files read and checked against the contract
    by_family: dict = field(default_factory=dict)


class FileOutcomeCache:
    """The per-file outcome cache of one PHAKHI_HOME (thread-safe: families may run concurrently)."""

    def __init__(self, folder: Path, code_fingerprint: str | None = None, index_name: str = "all"):
        from phakhi.ingest.cache import ingest_code_fingerprint, outcome_code_fingerprint

        self.folder = Path(folder)
        # outcomes are kept under the code that judges a file; a settled state under the code that settles it too
        self.code = code_fingerprint or outcome_code_fingerprint()
        self.state_code = code_fingerprint or ingest_code_fingerprint()
        self._lock = threading.Lock()
        self.stats = CacheStats()
        # one stat index per family: families ingested concurrently (or in other processes) never overwrite
        # each other's entries
        self._index_path = self.folder / f"stat_index-{index_name}.pkl"
        self._index: dict[str, tuple] = self._load_index()
        self._dirty = False
        # outcomes written by pool workers live in packs (one file per chunk of files): key -> pack id
        self._packs_path = self.folder / f"pack_index-{index_name}.pkl"
        self._packs: dict[str, str] | None = None          # read when first needed
        self._packs_dirty = False
        self._pack_memo: dict[str, dict] = {}              # the last packs read (look-ups come in file order)

    # ---- content hashes without reading unchanged files
    def _load_index(self) -> dict:
        try:
            with self._index_path.open("rb") as fh:
                fmt, index = pickle.load(fh)
            return index if fmt == FORMAT else {}
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            return {}

    def save_index(self) -> None:
        with self._lock:
            for dirty, path, data in ((self._dirty, self._index_path, self._index),
                                      (self._packs_dirty, self._packs_path, self._packs)):
                if not dirty:
                    continue
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                with tmp.open("wb") as fh:
                    pickle.dump((FORMAT, data), fh, protocol=pickle.HIGHEST_PROTOCOL)
                tmp.replace(path)
            self._dirty = self._packs_dirty = False

    # ---- packs
    def _pack_index(self) -> dict[str, str]:
        if self._packs is None:
            try:
                with self._packs_path.open("rb") as fh:
                    fmt, packs = pickle.load(fh)
                self._packs = packs if fmt == FORMAT and isinstance(packs, dict) else {}
            except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
                self._packs = {}
        return self._packs

    def add_pack(self, pid: str, outcomes: list[FileOutcome], family: str | None) -> None:
        with self._lock:
            packs = self._pack_index()
            for o in outcomes:
                if o.rule != "reader_crashed":
                    packs[self.key(family, o.file_hash)] = pid
            self._packs_dirty = True

    def _from_pack(self, key: str):
        with self._lock:
            pid = self._pack_index().get(key)
            entries = self._pack_memo.get(pid) if pid else None
        if pid is None:
            return None
        if entries is None:
            try:
                with (self.folder / "outcomes" / "packs" / f"{pid}.pkl").open("rb") as fh:
                    fmt, entries = pickle.load(fh)
                if fmt != FORMAT or not isinstance(entries, dict):
                    return None
            except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
                return None
            with self._lock:
                if len(self._pack_memo) >= 8:
                    self._pack_memo.pop(next(iter(self._pack_memo)))
                self._pack_memo[pid] = entries
        return entries.get(key)

    def content_hash_stat(self, path: Path) -> tuple[str, os.stat_result]:
        """The content hash and the stat it was checked against (one stat per file: 70,000 a month)."""
        entry, st = self._indexed(path)
        return entry[3], st

    def content_entry(self, path: Path) -> tuple[int, int, int, str]:
        """(size, mtime_ns, inode, sha256) of the file: the stat index's own entry (no new objects per file)."""
        return self._indexed(path)[0]

    def _indexed(self, path: Path) -> tuple[tuple, os.stat_result]:
        st = path.stat()
        sig = (st.st_size, st.st_mtime_ns, st.st_ino)
        key = str(path)
        with self._lock:
            hit = self._index.get(key)
        if hit is not None and hit[:3] == sig:
            return hit, st
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        entry = (*sig, digest)
        with self._lock:
            self._index[key] = entry
            self._dirty = True
            self.stats.hashed += 1
        return entry, st

    # ---- outcomes
    def key(self, family: str | None, content_hash: str) -> str:
        return _key(self.code, family, content_hash)

    def _entry_path(self, key: str) -> Path:
        return self.folder / "outcomes" / key[:2] / f"{key}.pkl"

    def get(self, family: str | None, content_hash: str, known: dict[str, set] | None,
            with_answers: bool = False):
        """The stored outcome when it still holds with today's reference look-ups, else None; with
        `with_answers`, (outcome, the look-ups' answers) or None."""
        key = self.key(family, content_hash)
        hit = self._from_pack(key)
        if hit is None:
            try:
                with self._entry_path(key).open("rb") as fh:
                    hit = pickle.load(fh)
            except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
                return None
        try:
            outcome, asked = hit
        except (TypeError, ValueError):
            return None
        if not answers_hold(asked, known):
            return None
        return (outcome, asked) if with_answers else outcome

    def put(self, family: str | None, outcome: FileOutcome, asked: dict[str, dict]) -> None:
        _put(self.folder, self.code, family, outcome, asked)


def _key(code: str, family: str | None, content_hash: str) -> str:
    return hashlib.sha256(f"{FORMAT}\0{family or '*'}\0{content_hash}\0{code}".encode()).hexdigest()


def _put(folder: Path, code: str, family: str | None, outcome: FileOutcome, asked: dict[str, dict]) -> None:
    """Write one outcome's entry atomically (also from a pool worker: see _work_chunk)."""
    key = _key(code, family, outcome.file_hash)
    path = folder / "outcomes" / key[:2] / f"{key}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump((outcome, asked), fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def answers_hold(asked: dict[str, dict], known: dict[str, set] | None) -> bool:
    """Whether the reference look-ups a file made (`asked`) get the same answers from today's `known`."""
    return AnswerCheck(known)(asked)


class AnswerCheck:
    """`answers_hold` for many files against one `known`, each (column, question) answered once: a family's
    files ask about the same few thousand partner ids (a national month checked 73,000 kept files' look-ups
    one by one, ~0.1 s). Equal questions get equal answers (`in`, `.get`), so equal keys may share one."""

    def __init__(self, known: dict[str, set] | None):
        self.known = known or {}
        self.columns = set(self.known)
        self.memo: dict[tuple, object] = {}

    def __call__(self, asked: dict[str, dict]) -> bool:
        known, memo = self.known, self.memo
        for col, answers in asked.items():
            ids = known.get(col)
            if ids is None:
                return False
            for v, hit in answers.items():
                key = (col, v)
                try:
                    now = memo[key]
                except KeyError:
                    now = memo[key] = _answer(ids, v)
                if now != hit:
                    return False     # the registry changed for an id this file names: read it again
        return not (self.columns - asked.keys())  # else: checked without a reference it must now be checked against


def _as_found(outcome: FileOutcome, path: Path, landing: Path | None) -> FileOutcome:
    """A cached outcome, re-addressed to where the content is now (the same bytes may have moved)."""
    rel, st = _rel(path, landing), path.stat()
    problems = [{**p, "file": rel} for p in outcome.problems] if outcome.file != rel else list(outcome.problems)
    return replace(outcome, file=rel, path=str(path), mtime=st.st_mtime, records=list(outcome.records),
                   problems=problems, notes=list(outcome.notes), coverage=set(outcome.coverage))


def ingest_files_cached(family: str | None, files: list[Path], landing: Path | None, known: dict[str, set] | None,
                        cache: FileOutcomeCache, workers: int | None = None,
                        progress: Callable[[int], None] | None = None,
                        answers: list | None = None, archive: tuple[Path, Path] | None = None) -> list[FileOutcome]:
    """Like `files.ingest_files` (same outcomes, input order), but a file whose content was already checked
    with the same code, contracts and reference answers is not read again. `answers`, when given, is filled
    with each file's reference look-ups and their answers (input order). `archive` = (landing archive,
    PHAKHI_HOME): the files read are also put into the landing archive there, by the worker that read them
    (one pack per chunk of files, only contents not archived before; the ledger catalogues the packs)."""
    files = [Path(f) for f in files]
    asked_by: list[dict | None] = [None] * len(files)
    out: list[FileOutcome | None] = [None] * len(files)
    todo: list[int] = []
    # (size, mtime_ns, inode, sha256) of each file to read: the stat index's entries, handed to the workers
    # (a worker reading a file with that stat does not hash its bytes again)
    entry_of: dict[int, tuple] = {}
    for k, f in enumerate(files):
        try:
            entry = cache.content_entry(f)
            h = entry[3]
        except OSError:
            todo.append(k)           # vanished or unreadable: ingest_file reports it
            continue
        hit = cache.get(family, h, known, with_answers=True)
        if hit is not None:
            out[k], asked_by[k] = _as_found(hit[0], f, landing), hit[1]
        else:
            todo.append(k)
            entry_of[k] = entry
    archived: set[str] = set()
    if archive is not None and todo:
        # contents archived before (e.g. read again after a code change) are not written again; a ledger
        # locked for long (10 s) by another process only costs a second copy in the archive
        from phakhi.ingest.ledger import archive_refs

        archived = set(archive_refs(archive[1], [e[3] for e in entry_of.values()]))
    reused = len(files) - len(todo)
    if progress and reused:
        progress(reused)

    def keep(k: int, outcome: FileOutcome, asked: dict, stored: bool = False) -> None:
        out[k], asked_by[k] = outcome, asked
        if outcome.rule != "reader_crashed" and not stored:   # a crash may be the machine's (memory): retry
            cache.put(family, outcome, asked)

    workers = default_workers() if workers is None else max(1, workers)
    if workers == 1 or len(todo) < MIN_FILES_FOR_POOL:
        pack = None if archive is None else (PackWriter(str(archive[0])), archived)
        for k in todo:
            keep(k, *_ingest_archived(family, files[k], landing, known, pack, entry_of.get(k)))
            if progress:
                progress(1)
        if pack is not None:
            _close_pack(pack[0])
    else:
        size = max(4, min(64, len(todo) // (workers * 6) or 1))
        chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
        done = set()
        try:
            pool = _pool(workers)
            futures = {}
            shipped = PickledKnown(known)
            for c, chunk in enumerate(chunks):
                chunk_files = [files[k] for k in chunk]
                store = (str(cache.folder), cache.code, None if archive is None else
                         (str(archive[0]), archived & {entry_of[k][3] for k in chunk if k in entry_of}))
                futures[pool.submit(_work_chunk, family, chunk_files, landing, shipped, store,
                                    [entry_of.get(k) for k in chunk])] = c
            for fut in as_completed(futures):
                c = futures[fut]
                results, pid = fut.result()
                for k, res in zip(chunks[c], results):
                    keep(k, *res, stored=True)
                if pid is not None:
                    cache.add_pack(pid, [o for o, _ in results], family)
                done.add(c)
                if progress:
                    progress(len(chunks[c]))
        except BrokenProcessPool:
            # a worker died (a native crash in a reader, the memory limit): as files.ingest_files does, each
            # unfinished file runs alone in a fresh worker -- never in this process, which the same file would
            # take down -- and a file that kills its worker again is rejected with a reason
            shutdown_pool()
            for c, chunk in enumerate(chunks):
                if c not in done:
                    for k in chunk:
                        keep(k, *_probed_isolated(family, files[k], landing, known))
    with cache._lock:
        cache.stats.files += len(files)
        cache.stats.reused += reused
        cache.stats.ingested += len(todo)
        fam = cache.stats.by_family.setdefault(family or "*", {"files": 0, "reused": 0, "ingested": 0})
        fam["files"] += len(files)
        fam["reused"] += reused
        fam["ingested"] += len(todo)
    if answers is not None:
        answers[:] = asked_by
    return out
