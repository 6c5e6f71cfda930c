"""Settling a family in proportion to what changed (issue 17): a new month settles only its new files.

`files.assemble_family` settles a family from all of its files' outcomes (copies, superseded resubmissions,
duplicate keys, accounting, the typed frame). Done over the whole history every month, that is work in
proportion to the history, not to the month. So the last settled result of each family is kept
(`Paths.ingest_cache / settled-<family>.pkl`) with what it was settled from — per file: content sha256, mtime,
the reference look-ups it made and their answers — and a run whose files are

    the previous run's files, unchanged (same path, content, mtime; every look-up still answers the same),
    plus new files that cannot interact with them (no content, submission-key coverage or row key in common)

settles only the new files and appends them to the kept result, in the order a full settle gives (by file).
Any other change (a file removed, replaced or touched, a registry change a kept file depends on, new
code or contracts, a new file overlapping an old one) settles the whole family as before. Unchanged files
are not even looked up in the per-file cache: their content hash comes from the stat index.

Same result either way (tests/test_ingest_settled.py compares both on every step of a history).

With `spill` (the refresh), the kept rows are not in the pickle but in a DuckDB file beside it
(`settled-<family>-<id>.duckdb`, phakhi/ingest/landed.py): a full settle streams its rows into a new one,
a new month merges the new files' rows with the kept ones there (in DuckDB, by file), and the refresh's
spill file is a hard link to it. A new month thus neither loads nor writes the kept rows in Python, and a
family without new rows copies nothing.

Nor does it write the kept state again: a month that only adds files after every kept one appends what it
adds to the state's file (`save` with `since`), and `load` applies the appended months in turn; every
MAX_APPENDED months, or whenever a month changes more than that, the state is written whole.

The file opens with MAGIC and a small header -- (code, family) -- so a state settled by other code is refused
without unpickling it (a change to the settling code: ~0.33 GB and ~3 s CPU for the national activities'
state, only to be dropped, while the other families settle in full). A file without MAGIC was written by an
earlier version of this module, hence under other code (the state's code covers this file): refused unread.
"""
from __future__ import annotations

import os
import pickle
import re
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

from phakhi.ingest.file_cache import AnswerCheck, FileOutcomeCache, _rel, ingest_files_cached
from phakhi.ingest.files import FamilyResult, FileOutcome, assemble_family

MAGIC = b"phakhi settled state 4\n"    # then (code, family), the state, the months appended to it
MAX_APPENDED = 12         # months appended to a kept state before it is written whole again (`save`)
LAST: dict[str, dict] = {}        # family -> how its last settle went (mode, files kept, files new): benchmarks
READABLE = ("loaded", "partially_loaded", "quarantined")


@dataclass
class Settled:
    """A family's last settled result and what it was settled from."""
    code: str
    family: str
    inputs: dict[str, tuple]          # landing-relative file -> (sha256, mtime, {column: {question: answer}})
    result: FamilyResult              # its FileOutcomes without records (the rows are in result.loaded)
    coverage: set = field(default_factory=set)     # submission keys covered by any of its files
    keys: object = None       # row keys of every record settled (loaded or duplicate): _key_hashes, sorted
    known_columns: frozenset = frozenset()
    rows_db: str | None = None        # the file (in the same folder) holding its rows; None: in result.loaded
    rows: int = 0                     # how many (with rows_db)
    mark: str | None = None           # this state's id: the landing ledger records which state it reflects
    partner_months: frozenset | None = None   # (period, partner_id) pairs of its rows (with rows_db); None:
                                              # not kept (an earlier version's state): counted in its file
    appended: int = 0         # months appended to its file since it was written whole (`load`, `save`)


def _path(folder: Path, family: str) -> Path:
    return Path(folder) / f"settled-{family}.pkl"


def load(folder: Path, family: str, code: str) -> Settled | None:
    """The kept state: the last one written whole, with the months appended to it since (`save`, `since`).
    Anything unexpected (an appended month cut short by a crash, one that does not follow its predecessor):
    None, and the family settles in full -- never a wrong state."""
    path = _path(folder, family)
    try:
        with path.open("rb") as fh:
            # the header first: the state itself is unpickled only when it can be used
            if fh.read(len(MAGIC)) != MAGIC or pickle.load(fh) != (code, family):
                return None
            state = pickle.load(fh)
            if state.code != code or state.family != family:
                return None
            size = os.fstat(fh.fileno()).st_size
            parts = []
            while fh.tell() < size:
                parts.append(pickle.load(fh))
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
        return None
    try:
        return _appended(state, parts) if parts else state
    except (ValueError, TypeError, AttributeError):     # a part not of this shape: in full
        return None


def save(folder: Path, state: Settled, since: Settled | None = None) -> None:
    """Keep `state`. With `since` (the kept state it was settled on top of, as `load` gave it): when it only
    adds files after every kept one (the usual month), only what it adds is appended to the kept file --
    writing the whole state again cost a national month ~0.8 s CPU, the part it adds ~1/12 of that; after
    MAX_APPENDED months the state is written whole again (what `load` unpickles stays close to one pickle)."""
    if since is not None and since.appended < MAX_APPENDED:
        part = _added(since, state)
        if part is not None:
            with _path(folder, state.family).open("ab") as fh:     # one write; cut short, `load` gives None
                fh.write(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL))
            _drop_rows_files(folder, state.family, keep=state.rows_db)
            return
    path = _path(folder, state.family)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(MAGIC)
        pickle.dump((state.code, state.family), fh, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(replace(state, appended=0), fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    _drop_rows_files(folder, state.family, keep=state.rows_db)


def _added(kept: Settled, state: Settled) -> tuple | None:
    """What `state` adds to `kept` when it only appends to it -- the same kept outcomes (the very objects),
    its report and quarantine rows first, its rows in the same rows file -- else None (written whole)."""
    import numpy as np
    import pandas as pd

    a, b = kept.result, state.result
    n = len(a.files)
    if (kept.mark is None or state.rows_db is None or state.rows_db != kept.rows_db or not n
            or kept.partner_months is None or state.partner_months is None
            or (kept.code, kept.family, kept.known_columns) != (state.code, state.family, state.known_columns)
            or len(b.files) < n or any(x is not y for x, y in zip(a.files, b.files))):
        return None
    tails = []
    for name in ("file_report", "quarantine"):
        old, new = getattr(a, name), getattr(b, name)
        k = len(old)
        if len(new) < k or list(old.columns) != list(new.columns):
            return None
        if k and len(new) > k and (not old["file"].equals(new["file"].iloc[:k]) or     # as `_appended` joins them
                                   not pd.concat([old.iloc[:0], new.iloc[:0]]).dtypes.equals(new.dtypes)):
            return None
        tails.append(new.iloc[k:].reset_index(drop=True))
    inputs = {f: v for f, v in state.inputs.items() if f not in kept.inputs}
    if len(kept.inputs) + len(inputs) != len(state.inputs):
        return None
    keys = state.keys if kept.keys is None else np.setdiff1d(state.keys, kept.keys, assume_unique=True)
    return ("month", kept.mark, n, b.files[n:], *tails, inputs, state.coverage - kept.coverage, keys,
            state.partner_months - kept.partner_months, state.rows, state.mark)


def _appended(state: Settled, parts: list[tuple]) -> Settled | None:
    """`state` with its appended months (`_added`) applied in turn -- their rows joined to the kept frames
    once, not once a month; None when one does not follow its predecessor."""
    import pandas as pd

    r = state.result
    if state.partner_months is None:
        return None
    # the state was just unpickled (`load`): its containers are changed in place, not copied
    files, reports, quarantines = r.files, [], []
    inputs, coverage, keys, pairs = state.inputs, state.coverage, state.keys, set(state.partner_months)
    mark, rows = state.mark, state.rows
    for part in parts:
        kind, kept_mark, n, new_files, report, quarantine, new_inputs, new_coverage, new_keys, new_pairs, rows, \
            new_mark = part
        if kind != "month" or kept_mark != mark or n != len(files):
            return None
        files += new_files
        reports.append(report)
        quarantines.append(quarantine)
        inputs.update(new_inputs)
        coverage |= new_coverage
        keys = _union(keys, new_keys)
        pairs |= new_pairs
        mark = new_mark

    def joined(a, tails):     # as _try_incremental's by_file joins the kept rows and each month's new ones
        frames = ([a] if len(a) else []) + [t for t in tails if len(t)]
        return a if not frames else frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    quarantine = joined(r.quarantine, quarantines)
    quarantine["row"] = quarantine["row"].astype("Int64")
    result = FamilyResult(r.family, r.loaded, quarantine, joined(r.file_report, reports), files)
    return replace(state, inputs=inputs, result=result, coverage=coverage, keys=keys, rows=rows, mark=mark,
                   partner_months=frozenset(pairs), appended=state.appended + len(parts))


def forget(folder: Path, family: str) -> None:
    _path(folder, family).unlink(missing_ok=True)
    _drop_rows_files(folder, family)


def _rows_name(family: str) -> str:
    return f"settled-{family}-{uuid.uuid4().hex[:12]}.duckdb"


def _drop_rows_files(folder: Path, family: str, keep: str | None = None) -> None:
    """Every rows file of the family but the kept state's (an earlier month's, or one a failed run left).
    A refresh's spill file linked to one keeps its own name: removing this one does not touch it."""
    pattern = re.compile(re.escape(f"settled-{family}-") + r"[0-9a-f]{12}\.duckdb(\.wal)?")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name) and name.split(".duckdb")[0] + ".duckdb" != keep:
            (Path(folder) / name).unlink(missing_ok=True)


def _row_keys(contract, outcomes: list[FileOutcome]):
    """Every complete row key among the readable outcomes' records (what duplicate-key checking compares),
    as a sorted array of 64-bit hashes (`_key_hashes`): a million key tuples kept in the state cost a new
    month ~0.25 GB and a second to load; their hashes cost 8 MB. Two equal keys always have equal hashes,
    so a key a new file shares with a kept one is always seen; a rare collision of two different keys only
    sends the family to a full settle."""
    import numpy as np

    key = list(contract.key)
    out: list[tuple] = []
    parts = []        # hashed a chunk of keys at a time: a million keys' tuples and texts at once cost a
    if key:           # national full settle ~0.25 GB at a moment its outcomes' rows are all in memory
        for o in outcomes:
            if o.status in READABLE:
                for r in o.records:
                    k = tuple(map(r.get, key))
                    if None not in k:
                        out.append(k)
                if len(out) >= KEYS_HASHED_AT_ONCE:
                    parts.append(_key_hashes(out, len(key)))
                    out = []
        if out:
            parts.append(_key_hashes(out, len(key)))
    if len(parts) > 1:
        return np.unique(np.concatenate(parts))
    return parts[0] if parts else np.empty(0, dtype=np.uint64)


KEYS_HASHED_AT_ONCE = 100_000


def _norm(v) -> str:
    """A key value as text that is equal exactly when the values are equal in Python (1 == 1.0 == True)."""
    if isinstance(v, str):
        return "s" + v
    if isinstance(v, (bool, int)) or (isinstance(v, float) and v.is_integer()):
        return f"i{int(v)}"
    if isinstance(v, datetime):
        return "t" + v.isoformat()
    if hasattr(v, "isoformat"):
        return "d" + v.isoformat()
    return "o" + repr(v)


def _key_hashes(keys: list[tuple], width: int):
    import numpy as np
    import pandas as pd

    cols = {k: pd.Series([_norm(t[k]) for t in keys], dtype=object) for k in range(width)}
    h = pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy(dtype=np.uint64)
    return np.unique(h)


def _shares_a_key(new, kept) -> bool:
    import numpy as np

    if kept is None or not len(new) or not len(kept):
        return False
    return bool(np.isin(new, kept, assume_unique=True).any())


def settle_family(folder: Path, family: str, files: list[Path], landing: Path | None, known: dict | None,
                  history: Callable[[], dict | None], run_at: datetime, workers: int | None = None,
                  progress: Callable[[int], None] | None = None, cache: FileOutcomeCache | None = None,
                  stats: dict | None = None, archive: tuple[Path, Path] | None = None,
                  spill: Path | None = None, only: str | None = None,
                  read: Callable[[], None] | None = None) -> FamilyResult | None:
    """One family's files settled: incrementally on top of the kept result when only unrelated new files
    arrived, else in full. `history` returns the family's ledger history (read only when needed).

    With `spill` (a folder), the rows are kept in a DuckDB file, never as one frame, and the result is a
    landed.SpilledResult whose file is `spill/<family>.duckdb` (a hard link to the kept rows).

    `only="incremental"`: None instead of a full settle (the caller settles in full elsewhere: a large
    family in its own process); `only="full"`: no incremental attempt (that caller's second call).
    `read`: called once a full settle's files are read, before their rows are settled (that process stops
    its ingest pool: idle workers would wait beside its peak)."""
    from phakhi.ingest.contracts import load_contract

    cache = cache or FileOutcomeCache(folder, index_name=family or "any")
    contract = load_contract(family)
    files = [f if isinstance(f, Path) else Path(f) for f in files]    # Path(a Path) parses it again: ~2 µs each
    folder = Path(folder)
    state = None if only == "full" else load(folder, family, cache.state_code)  # (not loaded only to be dropped)
    if state is not None and ((state.rows_db is None) != (spill is None) or
                              (state.rows_db is not None and not (folder / state.rows_db).exists())):
        state = None          # its rows kept the other way (in a file / in memory), or the file is gone: in full
    rel = [_rel(f, landing) for f in files]
    stats = LAST.setdefault(family, {}) if stats is None else stats
    stats.update(mode="full", kept=0, new=len(files))

    new_idx = list(range(len(files)))
    if only == "full":
        state = None
    if state is not None and frozenset((known or {})) == state.known_columns:
        new_idx = _new_files(state, files, rel, cache, known)
    # (a family with no files at all, as before: its kept state stands -- not settled and copied anew)
    if new_idx is not None and state is not None and (len(new_idx) < len(files) or not files):
        hist = history if hasattr(history, "lookup") else history()     # a FamilyHistory: asked, not read whole
        fresh = _try_incremental(state, contract, [files[k] for k in new_idx], landing, known, hist, run_at,
                                 workers, progress, cache, archive, folder)
        if fresh is not None:
            result, new_state, new_files = fresh
            cache.save_index()
            if new_state.mark is None:           # kept by an earlier version: given its mark once
                new_state = replace(new_state, mark=uuid.uuid4().hex)
            if new_state.rows_db is not None and new_state.partner_months is None:     # ... and its pairs
                new_state = replace(new_state, partner_months=_pairs_in(folder, new_state))
            if new_state is not state:           # nothing new and nothing to update: the kept state stands
                save(folder, new_state, since=state)
            stats.update(mode="incremental", kept=len(files) - len(new_idx), new=len(new_idx))
            # the same rows file, only appended to: its first rows are the kept state's (load_raw appends the rest)
            since = (state.mark, state.rows) if state.mark and new_state.rows_db == state.rows_db else None
            out = _spilled(folder, new_state, result, spill, since) if spill is not None else result
            return _marked(out, new_state.mark, (state.mark, new_files))
    if only == "incremental":
        return None
    # the whole family, as before
    answers: list = []
    outcomes = ingest_files_cached(family, files, landing, known, cache, workers, progress, answers, archive)
    cache.save_index()
    # its stat and pack indexes (national activities ~45 MB) are not needed to settle: not held at its peak
    code, cache = cache.state_code, None
    if read is not None:
        read()
    keys = _row_keys(contract, outcomes)
    if spill is None:
        result = assemble_family(family, outcomes, history(), run_at, in_place=True)    # frees the row dicts
        state = _state(code, family, known, outcomes, answers, result, keys)
        save(folder, state)
        return _marked(result, state.mark, None)
    from phakhi.ingest.landed import RowsWriter

    name = _rows_name(family)
    writer = RowsWriter(folder / name, family)
    try:      # the rows stream into the file a chunk of files at a time: the family's frame never exists
        result = assemble_family(family, outcomes, history(), run_at, in_place=True, sink=writer.append)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    state = _state(code, family, known, outcomes, answers, result, keys, name, writer.rows)
    state = replace(state, partner_months=_pairs_in(folder, state))
    save(folder, state)
    return _marked(_spilled(folder, state, result, spill), state.mark, None)


def _marked(result: FamilyResult, mark: str | None, since: tuple | None) -> FamilyResult:
    """The result as returned, with which settled state it is (`settled_mark`) and, when settled on top of a
    kept state, that state's mark and the files new since it (`settled_since`): ledger.record then writes only
    the new files' rows when the ledger already reflects the kept state, else every file. A copy: the kept
    state's own result object (pickled with it) never carries them."""
    import copy

    out = copy.copy(result)
    out.settled_mark, out.settled_since = mark, since
    return out


def _new_files(state: Settled, files: list[Path], rel: list[str], cache: FileOutcomeCache,
               known: dict | None) -> list[int] | None:
    """Indexes of the files new since the kept result, or None when a kept file changed or is gone."""
    seen = set()
    new = []
    holds = AnswerCheck(known)
    for k, (f, r) in enumerate(zip(files, rel)):
        before = state.inputs.get(r)
        if before is None:
            new.append(k)
            continue
        try:
            h, st = cache.content_hash_stat(f)
            mtime = st.st_mtime
        except OSError:
            return None
        if (h, mtime) != before[:2] or not holds(before[2]):
            return None
        seen.add(r)
    return new if len(seen) == len(state.inputs) else None


def _try_incremental(state: Settled, contract, new_files: list[Path], landing, known, history, run_at, workers,
                     progress, cache, archive=None, folder: Path | None = None) -> tuple[FamilyResult, Settled] | None:
    import pandas as pd

    family = state.family
    kept = state.result
    answers: list = []
    outcomes = ingest_files_cached(family, new_files, landing, known, cache, workers, progress, answers, archive)
    odd = None        # kept file index -> (in the ledger?, received_at there): only those not as kept
    if hasattr(history, "lookup"):     # the ledger asked about these files only (ledger.FamilyHistory)
        odd, history = history.lookup([(o.file_hash, o.received_at) for o in kept.files],
                                      [o.file_hash for o in outcomes])
    history = history or {}
    kept_hashes = {o.file_hash for o in kept.files}
    # the kept files must settle the same way again: every readable one already in the ledger (else a full
    # settle would give it this run's received_at and could reorder resubmissions)
    # (an unreadable one too: one that is not is filed under another family -- the same bytes -- and a full
    # ledger record notes that copy again every run, which recording only the new files would not)
    if odd is None:
        for o in kept.files:
            if o.status not in ("duplicate",) and o.file_hash not in history:
                return None
    elif any(not present and kept.files[k].status != "duplicate" for k, (present, _) in odd.items()):
        return None
    # new files must not interact with the kept ones: no shared content or row key, and a shared coverage
    # only as a resubmission that supersedes kept files (`_superseded_kept`, `_keys_stay_apart`)
    if any(o.file_hash in kept_hashes for o in outcomes):
        return None
    resubmitted = any(o.readable and (o.coverage & state.coverage) for o in outcomes)
    if resubmitted and contract.duplicate_keys == "latest_wins":
        return None         # a superseded entry's row may have been the one a kept row lost to
    new_keys = _row_keys(contract, outcomes)
    if not resubmitted and _shares_a_key(new_keys, state.keys):
        return None
    fresh = assemble_family(family, outcomes, history, run_at, consume=True)
    # received_at as a full settle gives it: the ledger's, else this run's (a duplicate file is never in the ledger)
    files_kept, changed = [], False
    for k, o in enumerate(kept.files):
        if odd is None:
            when = (history.get(o.file_hash) or {}).get("received_at") or run_at
        else:                 # a kept file not in `odd` is in the ledger, received when the state says
            when = ((odd[k][1] or run_at) if k in odd else o.received_at)
        if when != o.received_at:
            o, changed = replace(o, received_at=when), True
        files_kept.append(o)
    gone: dict[int, FileOutcome] = {}        # kept file index -> the kept file, superseded now
    if resubmitted:
        if changed:
            return None
        gone = _superseded_kept(files_kept, fresh.files, outcomes, history)
        if gone is None or not _keys_stay_apart(state, contract, gone):
            return None
        for k, o in gone.items():
            files_kept[k] = o
    merged_files = sorted(files_kept + fresh.files, key=lambda o: o.file)
    order = {o.file: k for k, o in enumerate(merged_files)}

    def by_file(a: "pd.DataFrame", b: "pd.DataFrame", col: str) -> "pd.DataFrame":
        if not len(b):
            return a.copy()
        if not len(a):
            return b.copy()
        both = pd.concat([a, b], ignore_index=True)
        pos = both[col].map(order)
        return both.iloc[pos.argsort(kind="stable")].reset_index(drop=True)

    if not new_files and not changed:
        return kept, state, []
    report_kept, kept_quarantine, kept_loaded = kept.file_report, kept.quarantine, kept.loaded
    if changed:
        report_kept = report_kept.copy()
        when = {o.file: o.received_at for o in files_kept}
        report_kept["received_at"] = report_kept["file"].map(when)
    dropped = sorted(kept.files[k].file for k in gone)     # their rows and problems leave; their report rows change
    if gone:
        from phakhi.ingest.files import FILE_REPORT_COLUMNS

        now = pd.DataFrame([o.file_report_row() for o in gone.values()], columns=FILE_REPORT_COLUMNS)
        report_kept = by_file(report_kept[~report_kept["file"].isin(dropped)].reset_index(drop=True), now, "file")
        kept_quarantine = kept_quarantine[~kept_quarantine["file"].isin(dropped)].reset_index(drop=True)
        if state.rows_db is None:
            kept_loaded = kept_loaded[~kept_loaded["_file"].isin(dropped)].reset_index(drop=True)
    rows_db, rows = state.rows_db, state.rows
    if rows_db is None:
        loaded = by_file(kept_loaded, fresh.loaded, "_file")
        rows = len(loaded)
    else:                  # the kept rows stay in their file: the new rows are merged with them in DuckDB
        from phakhi.ingest.landed import append_rows, merge_rows

        loaded = kept.loaded                  # empty: the frame's columns and dtypes
        if len(fresh.loaded) or gone:
            last_kept = max((o.file for o in kept.files), default="")
            if not gone and fresh.loaded["_file"].min() > last_kept:   # the usual month: appended to the kept file
                if not append_rows(Path(folder) / rows_db, fresh.loaded, family, rows):
                    return None
            else:             # files among the kept ones, or kept files superseded: merged into a new file
                rows_db = _rows_name(family)
                if not merge_rows(Path(folder) / state.rows_db, fresh.loaded, Path(folder) / rows_db, family,
                                  after_kept=False, drop_files=dropped):
                    return None
            rows += len(fresh.loaded) - sum(kept.files[k].rows_loaded for k in gone)
    if rows != sum(o.rows_loaded for o in merged_files):
        return None
    quarantine = by_file(kept_quarantine, fresh.quarantine, "file")
    quarantine["row"] = quarantine["row"].astype("Int64")
    file_report = by_file(report_kept, fresh.file_report, "file")
    result = FamilyResult(family, loaded, quarantine, file_report, merged_files)
    inputs = dict(state.inputs)
    for o, asked in zip(outcomes, answers):
        inputs[o.file] = (o.file_hash, o.mtime, asked or {})
    pairs = None
    if rows_db is not None and state.partner_months is not None and not gone:   # kept rows' pairs and the new
        from phakhi.ingest.landed import frame_partner_months                   # rows' (else counted again)

        pairs = state.partner_months | frame_partner_months(fresh.loaded)
    new_state = Settled(cache.state_code, family, inputs, result, state.coverage | _coverage(outcomes),
                        _union(state.keys, new_keys), state.known_columns, rows_db, rows, uuid.uuid4().hex, pairs)
    # the ledger records the new files and the kept files they superseded (ledger.record: only these change)
    return result, new_state, fresh.files + list(gone.values())


def _superseded_kept(kept_files: list[FileOutcome], fresh_files: list[FileOutcome], new: list[FileOutcome],
                     history: dict) -> dict[int, FileOutcome] | None:
    """Which kept files the new ones supersede, as a full settle's step 2 decides (files.assemble_family):
    {kept index: a superseded copy of it}. None when a new file meets a kept one any other way -- it covers
    only part of the kept file's submission keys, or sorts before it -- and the family settles in full."""
    from phakhi.ingest.files import _supersede

    dup = {o.file for o in fresh_files if o.status == "duplicate"}
    when = {o.file: o.received_at for o in fresh_files}       # received_at as the full settle gives it
    by_key: dict[tuple, list[FileOutcome]] = {}               # the new live files holding each submission key
    for b in new:
        if (b.readable and b.status != "superseded" and b.file not in dup
                and (history.get(b.file_hash) or {}).get("status") != "superseded"):
            for key in b.coverage:
                by_key.setdefault(key, []).append(b)
    out = {}
    for k, a in enumerate(kept_files):
        if not (a.readable and a.status != "superseded"):
            continue
        met = {b.file: b for key in a.coverage for b in by_key.get(key, ())}
        if not met:
            continue
        rank = (a.received_at, a.mtime, a.file)
        ranks = {f: (when[f], b.mtime, f) for f, b in met.items()}
        if any(r <= rank for r in ranks.values()):      # a new file before a kept one it meets: in full
            return None
        later = [f for f, b in met.items() if a.coverage <= b.coverage]
        if not later:                                    # only partly covered: both stay current -- in full
            return None
        # the full settle's pick: the first live file after it that covers it -- a new one (a kept file
        # after it that covered it would have superseded it already)
        by = met[min(later, key=ranks.__getitem__)]
        copy = replace(a, records=[], problems=[], notes=list(a.notes))
        _supersede(copy, by.file_hash)
        out[k] = copy
    return out


def _keys_stay_apart(state: Settled, contract, gone: dict[int, FileOutcome]) -> bool:
    """Whether a new row can share a row key only with rows of the kept files it supersedes: so when every
    row key holds the submission key (a kept current row with a new row's key is then in a file the new
    one met -- superseded now, else the family settles in full), and no superseded file was in a
    duplicate-key pair (the pair's other row would now load). Otherwise the family settles in full."""
    if not contract.key or not set(contract.submission_key) <= set(contract.key):
        return False
    files = [o.file for o in gone.values()]
    q = state.result.quarantine
    return not (len(q) and q[q["file"].isin(files)]["rule"].isin(["duplicate_key", "replaced_by_later_entry"]).any())


def _union(a, b):
    import numpy as np

    if a is None:
        return b
    both = np.sort(np.concatenate([a, b]), kind="stable")     # two sorted runs: merged in linear time
    return both[np.concatenate(([True], both[1:] != both[:-1]))] if len(both) else both


def _coverage(outcomes: list[FileOutcome]) -> set:
    out = set()
    for o in outcomes:
        out |= set(o.coverage)
    return out


def _state(code, family, known, outcomes, answers, result, keys: set, rows_db: str | None = None,
           rows: int = 0) -> Settled:
    inputs = {o.file: (o.file_hash, o.mtime, asked or {}) for o, asked in zip(outcomes, answers)}
    return Settled(code, family, inputs, result, _coverage(outcomes), keys, frozenset(known or {}), rows_db, rows,
                   uuid.uuid4().hex)


def _pairs_in(folder: Path, state: Settled) -> frozenset:
    """The (period, partner_id) pairs of a state's rows, counted in its rows file (landing.partner_months): kept
    with the state, a new month adds its own rows' pairs instead of counting the family's every row again."""
    from phakhi.ingest.landed import partner_months_in

    cols = list(state.result.loaded.columns) if state.result is not None else []
    return frozenset(partner_months_in(Path(folder) / state.rows_db, state.family, cols))


def _spilled(folder: Path, state: Settled, result: FamilyResult, spill: Path, since: tuple | None = None):
    """The refresh's view of a settled family whose rows are in the state's file: `spill/<family>.duckdb`,
    a hard link to it (load_raw copies from it; LandingResults.release removes that name only)."""
    from phakhi.ingest.landed import SpilledResult, link_or_copy, partner_months_in

    src = Path(folder) / state.rows_db
    dest = Path(spill) / f"{state.family}.duckdb"
    link_or_copy(src, dest)
    empty = result.loaded          # no rows: the columns and dtypes of the family's frame
    pairs = state.partner_months
    if pairs is None:
        pairs = partner_months_in(dest, state.family, list(empty.columns))
    out = SpilledResult(state.family, result.quarantine, result.file_report, result.files, dest, state.rows,
                        empty.dtypes.to_dict(), list(empty.columns), pairs)
    out.rows_since = since
    return out
