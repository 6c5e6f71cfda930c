"""Ingest the files of one source family: read, apply the contract, account for every row.

`ingest_file` is the unit of work (one file -> a FileOutcome: typed records + quarantine records + its
file-report row). `ingest_files` runs it over many files, in a process pool when there are enough of them.
`assemble_family` settles a family: identical copies, superseded resubmissions, duplicate keys across files,
and the row accounting, which must balance for every file:

    rows_read = rows_loaded + rows_quarantined + rows_superseded

(blank rows are counted apart and are not rows). An imbalance raises `AccountingError`: it is a bug,
never a silent loss.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from operator import itemgetter
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

from phakhi.ingest.contracts import (MissingColumns, apply_contract, contract_names, load_contract, locate_table)
from phakhi.ingest.readers import SUPPORTED, UnreadableFile, iter_sheets, read_bounded, read_bounded_stat

QUARANTINE_COLUMNS = ["family", "file", "file_hash", "sheet", "row", "column", "header", "value", "rule",
                      "expected", "message_en", "message_th"]
FILE_REPORT_COLUMNS = ["family", "file", "file_hash", "size_bytes", "status", "reason_en", "reason_th",
                       "rows_read", "rows_loaded", "rows_quarantined", "blank_rows", "contract_version", "encoding",
                       # added with the landing ledger (issue 3)
                       "rule", "rows_superseded", "sheet", "partner_id", "period", "received_at", "superseded_by",
                       "notes"]
META_COLUMNS = ["_file", "_sheet", "_file_hash"]
STATUSES = ("loaded", "partially_loaded", "quarantined", "rejected", "superseded", "duplicate")


class AccountingError(AssertionError):
    """Rows read do not equal rows loaded + quarantined + superseded for some file: a bug, never data."""


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class FileOutcome:
    family: str | None
    file: str
    path: str
    file_hash: str
    size_bytes: int
    mtime: float
    status: str
    rule: str | None = None
    reason_en: str | None = None
    reason_th: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_superseded: int = 0
    blank_rows: int = 0
    sheet: str | None = None
    encoding: str | None = None
    contract_version: str | None = None
    notes: list[str] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    coverage: set = field(default_factory=set)
    received_at: datetime | None = None
    superseded_by: str | None = None

    @property
    def readable(self) -> bool:
        return self.status not in ("rejected", "duplicate")

    key_cols: list[str] = field(default_factory=list)   # names of the coverage tuple's fields

    @property
    def partner_id(self) -> str | None:
        return _summary(self.coverage, self.key_cols, ("partner_id",))

    @property
    def period(self) -> str | None:
        return _summary(self.coverage, self.key_cols, ("period", "inventory_year", "wave"))

    def file_report_row(self) -> dict:
        return {"family": self.family, "file": self.file, "file_hash": self.file_hash, "size_bytes": self.size_bytes,
                "status": self.status, "reason_en": self.reason_en, "reason_th": self.reason_th,
                "rows_read": self.rows_read, "rows_loaded": self.rows_loaded, "rows_quarantined": self.rows_quarantined,
                "blank_rows": self.blank_rows, "contract_version": self.contract_version, "encoding": self.encoding,
                "rule": self.rule, "rows_superseded": self.rows_superseded, "sheet": self.sheet,
                "partner_id": self.partner_id, "period": self.period, "received_at": self.received_at,
                "superseded_by": self.superseded_by, "notes": "; ".join(self.notes) or None}


def _summary(coverage: set, key_cols: list[str], names: tuple[str, ...]) -> str | None:
    """One value when the file covers exactly one (partner / period), '*' for several, None for none."""
    pos = next((key_cols.index(n) for n in names if n in key_cols), None)
    if pos is None:
        return None
    values = {k[pos] for k in coverage if len(k) > pos and k[pos] is not None}
    if not values:
        return None
    if len(values) == 1:
        v = next(iter(values))
        return v.isoformat() if isinstance(v, (date, datetime)) else str(v)
    return "*"


def _rel(path: Path, landing: Path | None) -> str:
    if landing is not None:
        p, root = str(path), str(landing)    # both normalised by pathlib: a prefix test is relative_to's answer
        if root != "/" and p.startswith(root) and p[len(root):len(root) + 1] == "/" and len(p) > len(root) + 1:
            return p[len(root) + 1:]
        try:                                  # cheap first, then resolved (only when the cheap one fails)
            return path.relative_to(landing).as_posix()
        except ValueError:
            pass
        try:
            return path.resolve().relative_to(landing.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def ingest_file(family: str | None, path: Path | str, landing: Path | None = None,
                known: dict[str, set[str]] | None = None, sink: list | None = None,
                hashed: tuple[int, int, int, str] | None = None) -> FileOutcome:
    """Read one file and apply its family's contract (family None: recognised from the headers). Never raises
    for bad content: an unreadable file is a `rejected` outcome with one reason. `sink`, when given, receives
    the bytes read (the landing archive keeps exactly those). `hashed` = (size, mtime_ns, inode, sha256):
    the content hash the caller computed for the file with that stat; it is the file's hash when the file
    read has the same stat (the bytes are not hashed a second time: 3-4 % of a workbook's instructions)."""
    if path.__class__ is str:
        path = Path(path)
    try:
        data, stat = read_bounded_stat(path)
    except UnreadableFile as exc:          # a link, a device, or beyond the size bound: refused unread
        return _refused(family, path, landing, exc)
    except OSError as exc:
        return _refused(family, path, landing, UnreadableFile(
            f"the file cannot be opened ({exc.strerror or exc})", f"เปิดไฟล์ไม่ได้ ({exc.strerror or exc})", "unreadable"))
    if sink is not None:
        sink.append(data)
    if hashed is not None and len(data) == stat.st_size and hashed[:3] == (stat.st_size, stat.st_mtime_ns, stat.st_ino):
        digest = hashed[3]
    else:
        digest = hashlib.sha256(data).hexdigest()
    out = FileOutcome(family=family, file=_rel(path, landing), path=str(path), file_hash=digest,
                      size_bytes=len(data), mtime=stat.st_mtime, status="rejected")
    if family is not None:
        out.contract_version = load_contract(family).version
    try:
        sheets = iter_sheets(path, data)
        contract, sheet, table = _choose_table(family, sheets, known)
    except UnreadableFile as exc:
        out.rule, out.reason_en, out.reason_th = exc.rule, exc.message_en, exc.message_th
        return out
    except MissingColumns as exc:
        out.rule, out.reason_en, out.reason_th = exc.rule, exc.message_en, exc.message_th
        return out
    out.family, out.contract_version = contract.name, contract.version
    out.sheet, out.encoding = sheet.name, sheet.encoding
    res = apply_contract(contract, sheet, known, table)
    out.records, out.coverage, out.notes = res.records, res.coverage, res.notes
    names = contract.column_names            # (a list built per call)
    out.key_cols = [k for k in contract.submission_key if k in names]
    out.problems = [{"family": contract.name, "file": out.file, "file_hash": out.file_hash, **p} for p in res.quarantine]
    out.rows_read, out.blank_rows = res.rows_read, res.blank_rows
    if res.rows_read == 0:
        out.rule = "no_data"
        out.reason_en, out.reason_th = "the table has headers but no data rows", "ตารางมีแต่หัวคอลัมน์ ไม่มีข้อมูล"
        return out
    _set_counts(out)
    return out


def _refused(family: str | None, path: Path, landing: Path | None, exc: UnreadableFile) -> FileOutcome:
    """A file refused before reading (never followed through a link): hashed by what it is, not by a target."""
    try:
        st = os.lstat(path)
        ident = f"{exc.rule}:{os.readlink(path) if path.is_symlink() else st.st_size}:{path.name}"
        size, mtime = st.st_size, st.st_mtime
    except OSError:
        ident, size, mtime = f"{exc.rule}:{path}", 0, 0.0
    return FileOutcome(family=family, file=_rel_nofollow(path, landing), path=str(path),
                       file_hash=hashlib.sha256(ident.encode()).hexdigest(), size_bytes=size, mtime=mtime,
                       status="rejected", rule=exc.rule, reason_en=exc.message_en, reason_th=exc.message_th)


def _rel_nofollow(path: Path, landing: Path | None) -> str:
    if landing is not None:
        try:
            return path.relative_to(landing).as_posix()
        except ValueError:
            pass
    return path.name


def reader_crashed(family: str | None, path: Path, landing: Path | None) -> FileOutcome:
    """The outcome of a file whose reader process died (a native crash or the memory limit)."""
    return _refused(family, Path(path), landing, UnreadableFile(
        "reading this file crashed the reader process; the file was set aside (send it again saved as .xlsx "
        "or CSV, with only the table)",
        "การอ่านไฟล์นี้ทำให้โปรแกรมอ่านไฟล์หยุดทำงาน จึงแยกไฟล์นี้ไว้ (กรุณาส่งใหม่เป็น .xlsx หรือ CSV ที่มีเฉพาะตาราง)",
        "reader_crashed"))


def _set_counts(out: FileOutcome) -> None:
    out.rows_quarantined = len({(p["sheet"], p["row"]) for p in out.problems})
    out.rows_loaded = len(out.records)
    if out.rows_loaded + out.rows_quarantined != out.rows_read:
        raise AccountingError(f"{out.file}: {out.rows_read} rows read but {out.rows_loaded} loaded + "
                              f"{out.rows_quarantined} quarantined")
    out.status = ("loaded" if not out.rows_quarantined else
                  "quarantined" if not out.rows_loaded else "partially_loaded")


def _choose_table(family: str | None, sheets: Iterable, known: dict | None = None):
    """The first sheet (visible sheets first) holding a table of the family's contract; with family None,
    the contract whose table fits best. Raises MissingColumns for the closest miss."""
    names = [family] if family else contract_names()
    contracts = [load_contract(n) for n in names]
    misses: list[MissingColumns] = []
    readings = []              # a text file's readings with each delimiter: the one the contract fits best wins
    for sheet in sheets:
        found = []
        for c in contracts:
            try:
                found.append((c, locate_table(c, sheet, known)))
            except MissingColumns as exc:
                misses.append(exc)
        if found:
            contract, table = max(found, key=lambda ct: len(ct[1].mapping) / len(ct[0].columns))
            if getattr(sheet, "delimiter", None) is None:
                return contract, sheet, table
            readings.append((len(table.mapping) / len(contract.columns), -len(readings), contract, sheet, table))
    if readings:
        _, _, contract, sheet, table = max(readings, key=lambda r: r[:2])
        return contract, sheet, table
    if not misses:
        raise UnreadableFile("the file holds no sheet with data", "ไฟล์ไม่มีชีตที่มีข้อมูล", "no_table")
    raise max(misses, key=lambda e: (len(e.found) - len(e.missing) if e.found else -999))


# --------------------------------------------------------------------------- many files, in parallel

_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0
_POOL_LOCK = threading.Lock()
MIN_FILES_FOR_POOL = 48


def default_workers() -> int:
    from phakhi.settings import settings

    env = settings().ingest_workers
    if env:
        return max(1, env)
    return max(1, os.cpu_count() or 1)


def _start_method() -> str:
    """`forkserver` on Linux, `spawn` elsewhere; never plain `fork`: batches are submitted from Prefect's worker
    threads, and a fork taken while another thread holds the import lock leaves the child hung forever (seen:
    a refresh blocked for 15 minutes). The fork server is started once, with the ingestion code preloaded.
    PHAKHI_INGEST_START_METHOD overrides."""
    import sys

    from phakhi.settings import settings

    return settings().ingest_start_method or ("forkserver" if sys.platform == "linux" else "spawn")


def _pool(workers: int) -> ProcessPoolExecutor:
    """One process pool per Python process, started lazily and reused by every batch of the run."""
    global _POOL, _POOL_WORKERS
    with _POOL_LOCK:
        if _POOL is None or _POOL_WORKERS != workers:
            if _POOL is not None:
                _POOL.shutdown(wait=True)
            import multiprocessing as mp

            ctx = mp.get_context(_start_method())
            if ctx.get_start_method() == "forkserver":
                ctx.set_forkserver_preload(["phakhi.ingest.files"])
            _POOL, _POOL_WORKERS = ProcessPoolExecutor(max_workers=workers, mp_context=ctx), workers
        return _POOL


def shutdown_pool() -> None:
    global _POOL, _POOL_WORKERS
    with _POOL_LOCK:
        if _POOL is not None:
            try:
                _POOL.shutdown(wait=True, cancel_futures=True)
            except Exception:       # a broken pool may fail to shut down cleanly: it is dropped either way
                pass
        _POOL, _POOL_WORKERS = None, 0


atexit.register(shutdown_pool)


def _work_chunk(family, paths, landing, known) -> list[FileOutcome]:
    return [ingest_file(family, p, landing, known) for p in paths]


def ingest_files(family: str | None, files: list[Path], landing: Path | None = None,
                 known: dict[str, set[str]] | None = None, workers: int | None = None,
                 progress: Callable[[int], None] | None = None) -> list[FileOutcome]:
    """`ingest_file` over many files, in input order. With more than one worker and enough files the work
    runs in a process pool (chunks of files per task: the known-id sets travel once per chunk)."""
    files = [Path(f) for f in files]
    workers = default_workers() if workers is None else max(1, workers)
    if workers == 1 or len(files) < MIN_FILES_FOR_POOL:
        out = []
        for f in files:
            out.append(ingest_file(family, f, landing, known))
            if progress:
                progress(1)
        return out
    size = max(4, min(64, len(files) // (workers * 6) or 1))
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    results: list[list[FileOutcome] | None] = [None] * len(chunks)
    try:
        pool = _pool(workers)
        futures = {pool.submit(_work_chunk, family, chunk, landing, known): k for k, chunk in enumerate(chunks)}
        for fut in as_completed(futures):
            k = futures[fut]
            results[k] = fut.result()
            if progress:
                progress(len(chunks[k]))
    except BrokenProcessPool:
        # a worker died (a native crash, out of memory, killed): never retry its files in this process (the
        # same file would take the refresh down with it); each unfinished file runs alone in a fresh worker,
        # and a file that kills its worker again is rejected with a reason
        shutdown_pool()
        for k, chunk in enumerate(chunks):
            if results[k] is None:
                results[k] = [ingest_isolated(family, p, landing, known) for p in chunk]
                if progress:
                    progress(len(chunk))
    return [o for chunk in results for o in chunk]


def _ingest_one_file(family, path, landing, known) -> FileOutcome:
    return ingest_file(family, path, landing, known)


def ingest_isolated(family: str | None, path: Path, landing: Path | None = None,
                    known: dict[str, set[str]] | None = None) -> FileOutcome:
    """`ingest_file` in a single-use worker process: a reader that crashes natively kills only that worker."""
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context(_start_method())) as one:
        try:
            return one.submit(_ingest_one_file, family, path, landing, known).result()
        except BrokenProcessPool:
            return reader_crashed(family, path, landing)


# --------------------------------------------------------------------------- settling a family

@dataclass
class FamilyResult:
    family: str
    loaded: "pd.DataFrame"                 # noqa: F821  typed rows of current files (raw.<family>)
    quarantine: "pd.DataFrame"             # noqa: F821
    file_report: "pd.DataFrame" = None     # noqa: F821  one row per file seen in this run
    files: list[FileOutcome] = field(default_factory=list)
    # which settled state these rows are (settled.py) and, settled on top of a kept state, (its mark, the files
    # new since it): the ledger and the run report then handle only the new files
    settled_mark: str | None = None
    settled_since: tuple | None = None

    def __post_init__(self):
        import pandas as pd

        if self.file_report is None:
            self.file_report = pd.DataFrame(columns=FILE_REPORT_COLUMNS)

    @property
    def totals(self) -> dict:
        m = self.file_report
        status = m["status"] if len(m) else []

        def n(s):
            return int((status == s).sum()) if len(m) else 0

        return {"family": self.family, "files": len(m), "files_rejected": n("rejected"),
                "rows_read": int(m.rows_read.sum()), "rows_loaded": int(m.rows_loaded.sum()),
                "rows_quarantined": int(m.rows_quarantined.sum()),
                "files_superseded": n("superseded"), "files_duplicate": n("duplicate"),
                "rows_superseded": int(m.rows_superseded.sum()) if len(m) else 0}


def assemble_family(family: str, outcomes: list[FileOutcome], history: dict[str, dict] | None = None,
                    run_at: datetime | None = None, consume: bool = False,
                    sink: Callable | None = None, in_place: bool = False) -> FamilyResult:
    """Settle one family's files into its raw table, quarantine and file report (one row per file).

    1. identical content under two names: the second is a `duplicate` (not loaded twice);
    2. superseded resubmissions: a readable file whose submission-key coverage (e.g. partner x month) is
       covered by a later-received readable file is `superseded` by it (its rows leave the raw table, it stays
       in the ledger); once superseded, always superseded (history);
    3. the same key on two current rows (one file or two): both quarantined (`duplicate_key`);
    4. per-file accounting, checked.

    With `consume`, the given outcomes' records are handed over (emptied in them): each file's rows are freed
    as soon as they are in the frame, so a family's rows are not held twice at the peak (at national scale a
    million row dicts, about a gigabyte). Only for outcomes nobody reads the records of again.

    With `sink`, the typed rows are handed to it a chunk of files at a time (in order; at least one chunk,
    maybe empty) instead of being built into one frame: the result's `loaded` is then empty (its columns and
    dtypes only). Each chunk's row dicts are freed once its frame is made, so the family's frame never
    exists whole (landed.RowsWriter streams it into a DuckDB file).

    With `in_place` (implies `consume`), the given outcomes themselves are settled, not copies: for a caller
    that reads only their file, hash, mtime and coverage afterwards (a full settle: its 73,700 copies cost
    ~0.1 GB at a national full settle's peak).
    """
    import pandas as pd

    contract = load_contract(family)
    given = outcomes
    history = history or {}
    run_at = run_at or datetime.now()
    # work on copies: the outcomes may be a (cached) task result that another run reads again, or the caller
    # reads their statuses as they were (settled._try_incremental) -- unless `in_place`
    if in_place:
        outcomes = sorted(given, key=lambda o: o.file)
    else:
        outcomes = sorted((replace(o, records=o.records if consume else list(o.records), problems=list(o.problems),
                                   notes=list(o.notes)) for o in outcomes), key=lambda o: o.file)
        if consume:
            for o in given:
                o.records = []

    # 1. identical copies: keep the one at the path the ledger knows, else the oldest file (then shortest name)
    by_hash: dict[str, list[FileOutcome]] = {}
    for o in outcomes:
        by_hash.setdefault(o.file_hash, []).append(o)
    for h, group in by_hash.items():
        if len(group) > 1:
            known_path = (history.get(h) or {}).get("file")
            group.sort(key=lambda o: (o.file != known_path, o.mtime, len(o.file), o.file))
            for dup in group[1:]:
                _clear(dup, "duplicate")
                dup.rule = "duplicate_file"
                dup.reason_en = f"same content as {group[0].file} (identical file, not loaded twice)"
                dup.reason_th = f"เนื้อหาเหมือนไฟล์ {group[0].file} ทุกประการ (ไม่นำเข้าซ้ำ)"
    for o in outcomes:
        prior = history.get(o.file_hash) or {}
        o.received_at = prior.get("received_at") or run_at

    # 2. supersession
    live = [o for o in outcomes if o.readable and o.status != "superseded"]
    for o in live:
        prior = history.get(o.file_hash) or {}
        if prior.get("status") == "superseded":
            _supersede(o, prior.get("superseded_by"))
    live = [o for o in live if o.status != "superseded"]
    order = sorted(live, key=lambda o: (o.received_at, o.mtime, o.file))
    rank = {id(o): k for k, o in enumerate(order)}
    holders: dict[tuple, list[FileOutcome]] = {}
    for o in order:
        for key in o.coverage:
            holders.setdefault(key, []).append(o)
    for a in order:
        if not a.coverage:
            continue
        first = next(iter(a.coverage))
        for b in holders.get(first, []):
            if rank[id(b)] > rank[id(a)] and b.status != "rejected" and a.coverage <= b.coverage:
                _supersede(a, b.file_hash)
                break

    # 3. duplicate keys among current rows
    current = [o for o in outcomes if o.status in ("loaded", "partially_loaded", "quarantined")]
    if contract.key:
        dup_ids = set()
        key_text = ", ".join(contract.key)
        latest_wins = contract.duplicate_keys == "latest_wins"
        for k, hits in _repeated_keys(current, contract.key):
            if latest_wins:
                # documented rule (the registry): the latest version of an entry wins, i.e. the row of the
                # file received last (then modified last, then the lower row); every earlier version is
                # quarantined naming the entry that replaced it -- the partner itself never disappears
                hits = sorted(hits, key=lambda h: (h[0].received_at or run_at, h[0].mtime, h[0].file, h[1]["_row"]))
                win_o, win_r = hits[-1]
                for o, r in hits[:-1]:
                    dup_ids.add(id(r))
                    shown = ", ".join(str(_plain(v)) for v in k)
                    o.problems.append({
                        "family": family, "file": o.file, "file_hash": o.file_hash, "sheet": o.sheet, "row": r["_row"],
                        "column": key_text, "header": key_text, "value": shown, "rule": "replaced_by_later_entry",
                        "expected": "one entry per " + key_text + " (the latest version wins)",
                        "message_en": f"{key_text} {shown} is listed again in {win_o.file} row {win_r['_row']}; that "
                                      "later entry is the one used (latest version wins)",
                        "message_th": f"{shown} มีอยู่อีกครั้งใน {win_o.file} แถว {win_r['_row']} ระบบใช้รายการที่ใหม่กว่านั้น "
                                      "(ฉบับล่าสุดมีผล)"})
                continue
            where = "; ".join(f"{o.file} row {r['_row']}" for o, r in hits)
            for o, r in hits:
                dup_ids.add(id(r))
                o.problems.append({
                    "family": family, "file": o.file, "file_hash": o.file_hash, "sheet": o.sheet, "row": r["_row"],
                    "column": key_text, "header": key_text, "value": ", ".join(str(_plain(v)) for v in k),
                    "rule": "duplicate_key", "expected": "one row per " + key_text,
                    "message_en": f"the same {key_text} appears more than once ({where})",
                    "message_th": f"ข้อมูลซ้ำ: {key_text} เดียวกันปรากฏมากกว่าหนึ่งครั้ง ({where})"})
        if dup_ids:
            for o in current:
                o.records = [r for r in o.records if id(r) not in dup_ids]

    # 4. accounting
    for o in current:
        _set_counts(o)
    for o in outcomes:
        if o.rows_read != o.rows_loaded + o.rows_quarantined + o.rows_superseded:
            raise AccountingError(f"{family}/{o.file}: rows do not balance ({o.file_report_row()})")

    expected_rows = sum(o.rows_loaded for o in outcomes)
    if sink is None:
        loaded = typed_frame(contract, records_frame(contract, current, release=True), copy=False)
        written = len(loaded)
    else:
        written = 0
        for chunk in _chunks_of_rows(current, SINK_CHUNK_ROWS):
            part = typed_frame(contract, records_frame(contract, chunk, release=True), copy=False)
            written += len(part)
            sink(part)
            del part
        loaded = typed_frame(contract, records_frame(contract, []), copy=False)
    if written != expected_rows:
        raise AccountingError(f"{family}: {written} rows in the raw table but the files account for "
                              f"{expected_rows}")
    problems = [p for o in outcomes for p in o.problems]
    quarantine = pd.DataFrame(problems, columns=QUARANTINE_COLUMNS)
    quarantine["row"] = quarantine["row"].astype("Int64")
    file_report = pd.DataFrame([o.file_report_row() for o in outcomes], columns=FILE_REPORT_COLUMNS)
    for o in outcomes:             # the rows live in the frames now (these are the copies)
        o.records = []
    return FamilyResult(family, loaded, quarantine, file_report, outcomes)


def _repeated_keys(outcomes: list[FileOutcome], key: list[str]) -> list[tuple[tuple, list[tuple[FileOutcome, dict]]]]:
    """Every complete row key (no None) on more than one of the outcomes' records, with its (outcome, record)
    pairs, in the order the keys and rows first appear. Found by the keys' hashes first (8 bytes a row), the
    exact keys compared only for rows whose hash repeats: a dict of every row's key (a million at national
    scale) cost a full settle ~0.15 GB at its peak. Equal keys have equal hashes, so none is missed; rows
    whose hashes merely collide are told apart by the exact keys, as before."""
    from array import array

    import numpy as np

    hashes = array("q")
    for o in outcomes:
        hashes.extend([hash(tuple(map(r.get, key))) for r in o.records])
    h = np.frombuffer(hashes, dtype=np.int64) if len(hashes) else np.empty(0, dtype=np.int64)
    s = np.sort(h)
    again = np.isin(h, s[1:][s[1:] == s[:-1]])
    if not again.any():
        return []
    seen: dict[tuple, list[tuple[FileOutcome, dict]]] = {}
    ends = np.cumsum([len(o.records) for o in outcomes])
    for at in np.flatnonzero(again).tolist():
        i = int(np.searchsorted(ends, at, side="right"))
        o = outcomes[i]
        r = o.records[at - (int(ends[i - 1]) if i else 0)]
        k = tuple(map(r.get, key))
        if None not in k:
            seen.setdefault(k, []).append((o, r))
    return [(k, hits) for k, hits in seen.items() if len(hits) > 1]


SINK_CHUNK_ROWS = 50_000      # rows per chunk handed to assemble_family's sink


def _chunks_of_rows(outcomes: list[FileOutcome], rows: int) -> list[list[FileOutcome]]:
    """Consecutive runs of outcomes holding about `rows` records each (always at least one, maybe empty)."""
    out: list[list[FileOutcome]] = [[]]
    n = 0
    for o in outcomes:
        if n >= rows:
            out.append([])
            n = 0
        out[-1].append(o)
        n += len(o.records)
    return out


def _plain(v):
    return v.isoformat() if isinstance(v, (date, datetime)) else v


def _clear(o: FileOutcome, status: str) -> None:
    o.status, o.records, o.problems = status, [], []
    o.rows_read = o.rows_loaded = o.rows_quarantined = o.rows_superseded = o.blank_rows = 0


def _supersede(o: FileOutcome, by: str | None) -> None:
    o.status, o.superseded_by = "superseded", by
    o.rows_superseded, o.rows_loaded, o.rows_quarantined = o.rows_read, 0, 0
    o.records, o.problems = [], []
    o.rule = "superseded"
    o.reason_en = f"replaced by a later submission for the same {_what(o)} ({(by or '?')[:12]})"
    o.reason_th = f"ถูกแทนที่ด้วยไฟล์ที่ส่งภายหลังสำหรับ{_what(o, 'th')}เดียวกัน ({(by or '?')[:12]})"


def _what(o: FileOutcome, lang: str = "en") -> str:
    try:
        key = load_contract(o.family).submission_key
    except Exception:
        key = []
    if lang == "th":
        return "ภาคีและงวด" if "period" in key else "ข้อมูลชุด"
    return " and ".join(k.replace("_", " ") for k in key) or "data"


PANDAS_TYPES = {"integer": "Int64", "year": "Int64", "likert": "Int64", "number": "float64"}


def records_frame(contract, outcomes: list[FileOutcome], release: bool = False):
    """The outcomes' records as one untyped frame (contract columns + the file's META_COLUMNS), built column
    by column: one tuple per row (C-speed `itemgetter`), transposed per file. Building it from a merged dict
    per row (`{**record, **meta}`) cost a second copy of every row as a dict -- about a gigabyte at national
    scale, the ingest's peak -- and twice the time. A column a record lacks is empty (None), as before."""
    import pandas as pd

    names = ["_row"] + contract.column_names
    get = itemgetter(*names)
    cols: list[list] = [[] for _ in names]
    meta: list[list] = [[] for _ in META_COLUMNS]
    for o in outcomes:
        recs = o.records
        if not recs:
            continue
        try:
            rows = list(map(get, recs))
        except KeyError:                   # a record without some optional column
            rows = [tuple(map(r.get, names)) for r in recs]    # (no generator per row: 1.6x)
        if len(names) == 1:
            rows = [(v,) for v in rows]
        for acc, values in zip(cols, zip(*rows)):
            acc.extend(values)
        for acc, v in zip(meta, (o.file, o.sheet, o.file_hash)):
            acc.extend([v] * len(recs))
        if release:                        # this file's row dicts are freed now (the values live on in cols)
            del rows, recs
            o.records = []
    frame = {n: pd.Series(c, dtype=object) for n, c in zip(names + META_COLUMNS, cols + meta)}
    return pd.DataFrame(frame, columns=names + META_COLUMNS)     # typed by typed_frame (object until then)


def typed_frame(contract, df, copy: bool = True):
    """Give every contract column its type, so raw tables are typed even when a family has no rows."""
    import pandas as pd

    out = df.copy() if copy else df
    for col in contract.columns:
        if col.name not in out:
            out[col.name] = None
        if col.type == "date":
            s = out[col.name]
            out[col.name] = pd.Series([v if isinstance(v, date) else None for v in s], index=out.index, dtype=object)
        elif col.type in PANDAS_TYPES:
            out[col.name] = pd.to_numeric(out[col.name]).astype(PANDAS_TYPES[col.type])
        else:
            out[col.name] = out[col.name].astype("string")
    out["_row"] = out["_row"].astype("Int64")
    for c in META_COLUMNS:
        out[c] = out[c].astype("string")
    return out[["_row"] + contract.column_names + META_COLUMNS]


def write_raw(con, table: str, df) -> None:
    """Replace raw.<table> with df. Object columns become VARCHAR (dates DATE); an empty frame still
    creates the table with its types."""
    import pandas as pd

    con.execute("create schema if not exists raw")
    frame = df.copy()
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else v)
    con.register("_frame", frame)
    con.execute(f'create or replace table raw."{table}" as select * from _frame')
    con.unregister("_frame")


def list_files(folder: Path) -> list[Path]:
    """Every file a partner dropped in the folder (sorted: deterministic loads). Hidden files and Office lock
    files are skipped; unsupported types are still listed so that they are rejected with a reason."""
    if not folder.exists():
        return []
    # symlinks are listed (not followed) so that they are refused with a reason, never silently skipped;
    # one scandir per folder (the entries' types come with the listing: no stat per file, 70,000 a month)
    # sorted as Paths sort (by their parts), by the parts below `folder` each file's walk already knows: no
    # Path comparison, which parses both sides' parts on every call (~18 per file)
    found: list[tuple[tuple[str, ...], Path]] = []
    folder = Path(folder)

    def walk(d: Path, parts: tuple[str, ...], hidden: bool) -> None:
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError:
            return
        for e in entries:
            try:
                link = e.is_symlink()
                is_dir = not link and e.is_dir(follow_symlinks=False)
                is_file = link or (not is_dir and e.is_file())
            except OSError:
                continue
            if is_dir:     # rglob's walk: links are not followed
                walk(d / e.name, parts + (e.name,), hidden or e.name.startswith("."))
            elif is_file and not hidden and not e.name.startswith((".", "~$")):
                found.append((parts + (e.name,), d / e.name))

    walk(folder, (), False)
    found.sort(key=itemgetter(0))
    return [p for _, p in found]


def supported_suffixes() -> list[str]:
    return sorted(SUPPORTED)
