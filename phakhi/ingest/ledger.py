"""The landing ledger: every file content Phakhi ever received, and what became of it.

It lives in its own DuckDB file, `$PHAKHI_HOME/landing_manifest.duckdb` (the build warehouse is rebuilt
every refresh; this is not), with the received bytes in a content-addressed archive (phakhi.ingest.archive: packs under
`$PHAKHI_HOME/landing_archive/packs/`; older homes also hold one file per content,
`landing_archive/<sha256[:2]>/<sha256><ext>`), so a superseded or overwritten file stays retrievable.

Tables
    landing_files   one row per content (sha256): family, file (landing path when first received), size,
                    partner_id / period (one value, '*' for several), coverage (JSON), received_at (UTC),
                    status, superseded_by, superseded_at, rows as last ingested, reason, archive_path
    landing_paths   every (content, landing path) pair seen, with when it was first seen
    landing_events  what changed, when (event_at): received, copy_seen, superseded, withdrawn, reappeared, status
    landing_marks   per family, the mark of the settled state (settled.py) its rows reflect, written in the same
                    transaction: a family settled on top of that very state records only its new files
                    (`_record_files(only_new=True)`); any other run (no mark, another mark: a crash between
                    the state and the ledger) records every file, as before
    landing_archive        where each archived content is (archive_path: a pack ref, archive.pack_ref), for
                           every content of the complete packs catalogued so far (landing_archive_packs)

Statuses: current (its rows are in the raw tables, some may be quarantined), rejected (unreadable or no
table), superseded (a later file covers it, or new content arrived at its path; sticky), withdrawn (no longer
in the landing area). Receiving the same content again changes nothing: the ledger is keyed by content.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from phakhi.ingest import archive as _arch


_DDL = """
create table if not exists landing_files (
    file_hash varchar primary key,
    family varchar,
    file varchar,
    size_bytes bigint,
    partner_id varchar,
    period varchar,
    coverage varchar,
    received_at timestamp,
    file_mtime timestamp,
    status varchar,
    superseded_by varchar,
    superseded_at timestamp,
    rows_read integer,
    rows_loaded integer,
    rows_quarantined integer,
    rule varchar,
    reason_en varchar,
    reason_th varchar,
    contract_version varchar,
    archive_path varchar
);
create table if not exists landing_paths (
    file_hash varchar,
    file varchar,
    first_seen_at timestamp,
    primary key (file_hash, file)
);
create table if not exists landing_events (
    event_at timestamp,
    family varchar,
    file_hash varchar,
    file varchar,
    event varchar,
    detail varchar
);
create table if not exists landing_archive (
    file_hash varchar primary key,
    archive_path varchar
);
create table if not exists landing_archive_packs (
    pack varchar primary key,
    catalogued_at timestamp
);
create table if not exists landing_marks (
    family varchar primary key,
    mark varchar,
    marked_at timestamp
);
"""

FILE_COLUMNS = ["file_hash", "family", "file", "size_bytes", "partner_id", "period", "coverage", "received_at",
                "file_mtime", "status", "superseded_by", "superseded_at", "rows_read", "rows_loaded",
                "rows_quarantined", "rule", "reason_en", "reason_th", "contract_version", "archive_path"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ledger_path(home: Path) -> Path:
    from phakhi.settings import Paths

    return Paths(Path(home)).landing_ledger


def _connect(path: Path, read_only: bool = False, attempts: int = 40):
    import duckdb

    last = None
    for _ in range(attempts):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:      # another Phakhi process holds the lock: wait a little
            last = exc
            time.sleep(0.25)
    raise RuntimeError(f"the landing ledger {path} is locked by another process ({last})")


SETTLE_COLUMNS = ("file_hash", "family", "file", "received_at", "status", "superseded_by")


def read_history(home: Path, family: str | None = None,
                 columns: tuple[str, ...] | None = None) -> dict[str, dict[str, dict]]:
    """{family: {sha256: row}} of everything received so far (empty when there is no ledger yet); only
    `family`'s rows when given; only `columns` of each row when given (SETTLE_COLUMNS: what settling reads --
    a row of every column for every file ever received cost a month's settle as much as its new files)."""
    path = ledger_path(home)
    if not path.exists():
        return {}
    with _LOCK:                    # one connection at a time in this process (DuckDB: one configuration per file)
        con = _connect(path, read_only=True)
        try:
            tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            if "landing_files" not in tables:
                return {}
            cols = ", ".join(dict.fromkeys(("file_hash", "family") + tuple(columns))) if columns else "*"
            cur = con.execute(f"select {cols} from landing_files" + (" where family = ?" if family else ""),
                              [family] if family else [])
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        finally:
            con.close()
    out: dict[str, dict[str, dict]] = {}
    for values in rows:             # plain Python values (datetimes, None): no frame per row
        r = dict(zip(names, values))
        out.setdefault(r["family"], {})[r["file_hash"]] = r
    return out


class FamilyHistory:
    """One family's ledger history for settling it: read whole (call it: `read_history`), or -- a month settled
    on top of its kept state -- asked only about the kept files' receipt and the new files' rows (`lookup`):
    a month then reads no row per file ever received (issue 17)."""

    def __init__(self, home: Path, family: str, columns: tuple[str, ...] = SETTLE_COLUMNS):
        self.home, self.family, self.columns = Path(home), family, columns

    def __call__(self) -> dict[str, dict] | None:
        return read_history(self.home, self.family, self.columns).get(self.family)

    def lookup(self, kept: list[tuple[str, datetime | None]], new: list[str]) -> tuple[dict, dict[str, dict]]:
        """For the kept files ((content hash, received_at) each): {index: (in the family's ledger?, its ledger
        received_at)} of those missing from the ledger or received at another time there (usually none); and
        the family's ledger rows of the `new` contents, {sha256: row} as `read_history` gives them."""
        import pandas as pd

        path = ledger_path(self.home)
        nothing = ({k: (False, None) for k in range(len(kept))}, {})
        if not path.exists():
            return nothing
        with _LOCK:
            con = _connect(path, read_only=True)
            try:
                tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
                if "landing_files" not in tables:
                    return nothing
                frame = pd.DataFrame({"i": pd.Series(range(len(kept)), dtype="int64"),
                                      "file_hash": pd.Series([h for h, _ in kept], dtype=object),
                                      "received_at": pd.Series([r for _, r in kept], dtype="datetime64[us]")})
                con.register("_kept", frame)
                try:
                    odd = con.execute(
                        "select k.i, f.file_hash is not null, f.received_at from _kept k left join landing_files f "
                        "on f.file_hash = k.file_hash and f.family = ? where f.file_hash is null "
                        "or k.received_at is null or f.received_at is distinct from k.received_at",
                        [self.family]).fetchall()
                finally:
                    con.unregister("_kept")
                cols = list(dict.fromkeys(("file_hash", "family") + tuple(self.columns)))
                rows = _rows_for(con, f"select {', '.join('f.' + c for c in cols)} from landing_files f",
                                 sorted(set(new)), "where f.family = ?", [self.family])
            finally:
                con.close()
        return ({int(i): (bool(present), when) for i, present, when in odd},
                {r[0]: dict(zip(cols, r)) for r in rows})


def _isna(v) -> bool:
    try:
        return v is None or (v != v)
    except Exception:
        return False


def read_table(home: Path, table: str = "landing_files"):
    """A ledger table as a DataFrame (empty frame when there is no ledger)."""
    import pandas as pd

    path = ledger_path(home)
    if not path.exists():
        return pd.DataFrame(columns=FILE_COLUMNS if table == "landing_files" else [])
    con = _connect(path, read_only=True)
    try:
        return con.execute(f"select * from {table} order by 1, 2").df()
    finally:
        con.close()


_LOCK = threading.RLock()      # families settle in concurrent threads of one process: one ledger writer at a time


def record(home: Path, results, run_at: datetime | None = None, landed_paths: dict[str, Path] | None = None) -> dict:
    """Bring the ledger up to date with one ingestion run (the families in `results`: all of them, or the
    one a refresh's family task just settled). Returns counts of what changed. Nothing changes when the
    landing area holds exactly what it held last time."""
    with _LOCK:
        return _record(home, results, run_at)


def _record(home: Path, results, run_at: datetime | None = None) -> dict:
    home = Path(home)
    run_at = run_at or utcnow()
    from phakhi.settings import Paths

    archive = Paths(Path(home)).landing_archive
    con = _connect(ledger_path(home))
    changes = {"received": 0, "copy_seen": 0, "superseded": 0, "withdrawn": 0, "reappeared": 0, "status": 0}
    try:
        con.execute(_DDL)
    except Exception:
        con.close()
        raise
    buf: dict[str, list] = {t: [] for t in _BUF_COLUMNS}
    try:
        con.execute("begin transaction")
        _catalog_packs(con, archive, run_at)
        owner = _Owners(con)
        marks = dict(con.execute("select family, mark from landing_marks").fetchall())
        for res in results:
            fam = res.family
            mark, since = res.settled_mark, res.settled_since
            if since is not None and since[0] is not None and marks.get(fam) == since[0]:
                # the ledger holds exactly the family's settled state this run started from (both were
                # written for it): only the run's new files can change anything -- see record_new
                _record_files(con, buf, home, archive, run_at, fam, list(since[1]), changes, owner, only_new=True)
            else:
                _record_files(con, buf, home, archive, run_at, fam, res.files, changes, owner)
            # which settled state the family's rows now reflect (none: the next run records in full)
            con.execute("delete from landing_marks where family = ?", [fam])
            if mark is not None:
                con.execute("insert into landing_marks values (?, ?, ?)", [fam, mark, run_at])
            marks[fam] = mark
        _flush(con, buf)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.close()
    return changes


class _Owners:
    """content sha256 -> the family it is filed under: every row read at once when a family records in full,
    only the new contents' rows when it records its new files only."""

    def __init__(self, con):
        self.con, self.map, self.whole = con, {}, False

    def load(self, hashes: list[str] | None) -> None:
        """The owners of these contents (None: of every content, once)."""
        if self.whole:
            return
        want = None if hashes is None else sorted({h for h in hashes if h not in self.map})
        for h, fam in _rows_for(self.con, "select f.file_hash, f.family from landing_files f", want):
            self.map.setdefault(h, fam)
        self.whole = hashes is None


def _rows_for(con, select: str, hashes: list[str] | None, where: str = "", params: list | None = None) -> list:
    """`select` (over landing_files f) restricted to the given contents, via a registered list; None: every
    content."""
    if hashes is None:
        return con.execute(f"{select} {where}", params or []).fetchall()
    if not hashes:
        return []
    import pandas as pd

    con.register("_want", pd.DataFrame({"file_hash": hashes}))
    try:
        return con.execute(f"{select} join _want w on w.file_hash = f.file_hash {where}", params or []).fetchall()
    finally:
        con.unregister("_want")


def _record_files(con, buf, home, archive, run_at, fam, files, changes, owner: _Owners, only_new: bool = False):
    """One family's files into the ledger. In full (`only_new` False): every file of the run, then every
    content the ledger knows that is no longer in the landing area. With `only_new`: the files are the ones
    new since the settled state the ledger already reflects, whose other files are unchanged (same path,
    content, outcome): the ledger rows of those are already what a full record writes, and none of them
    leaves the landing area -- so only the new contents' rows are read and written."""
    hashes = sorted({o.file_hash for o in files}) if only_new else None      # None: the family's every content
    existing = {r[0]: dict(zip(FILE_COLUMNS, r)) for r in _rows_for(
        con, f"select {', '.join('f.' + c for c in FILE_COLUMNS)} from landing_files f", hashes,
        "where f.family = ?", [fam])}
    known_paths = {(h, f) for h, f in _rows_for(
        con, "select p.file_hash, p.file from landing_paths p join landing_files f using (file_hash)", hashes,
        "where f.family = ?", [fam])}
    owner.load(hashes)
    owners = owner.map
    seen_hashes, path_now, unplaced = set(), {}, []
    for o in files:
        path_now[o.file] = o.file_hash
        if (o.file_hash, o.file) not in known_paths:
            buf["landing_paths"].append([o.file_hash, o.file, run_at])
            known_paths.add((o.file_hash, o.file))
            if o.file_hash in existing or o.file_hash in seen_hashes:
                _event(buf, run_at, fam, o.file_hash, o.file, "copy_seen", "same content at another path")
                changes["copy_seen"] += 1
        if o.status == "duplicate" or o.file_hash in seen_hashes:
            continue
        if owners.setdefault(o.file_hash, fam) != fam:       # the same bytes already filed under another family
            _event(buf, run_at, fam, o.file_hash, o.file, "copy_seen", f"same content as a {owners[o.file_hash]} file")
            changes["copy_seen"] += 1
            continue
        seen_hashes.add(o.file_hash)
        status = _status(o)
        row = existing.get(o.file_hash)
        if row is None:
            values = {
                "file_hash": o.file_hash, "family": fam, "file": o.file, "size_bytes": o.size_bytes,
                "partner_id": o.partner_id, "period": o.period,
                "coverage": json.dumps(sorted([[_j(v) for v in k] for k in o.coverage])),
                "received_at": o.received_at or run_at,
                "file_mtime": datetime.fromtimestamp(o.mtime, timezone.utc).replace(tzinfo=None),
                "status": status, "superseded_by": o.superseded_by,
                "superseded_at": run_at if status == "superseded" else None,
                "rows_read": o.rows_read, "rows_loaded": o.rows_loaded, "rows_quarantined": o.rows_quarantined,
                "rule": o.rule, "reason_en": o.reason_en, "reason_th": o.reason_th,
                "contract_version": o.contract_version, "archive_path": None}
            buf["landing_files"].append([values[c] for c in FILE_COLUMNS])
            unplaced.append((buf["landing_files"][-1], o))
            _event(buf, run_at, fam, o.file_hash, o.file, "received", status)
            changes["received"] += 1
            if status == "superseded":
                _event(buf, run_at, fam, o.file_hash, o.file, "superseded", o.superseded_by)
                changes["superseded"] += 1
            continue
        update = {}
        if row["status"] != status and row["status"] != "superseded":
            update["status"] = status
            if status == "superseded":
                update.update(superseded_by=o.superseded_by, superseded_at=run_at)
                _event(buf, run_at, fam, o.file_hash, o.file, "superseded", o.superseded_by)
                changes["superseded"] += 1
            elif row["status"] == "withdrawn":
                _event(buf, run_at, fam, o.file_hash, o.file, "reappeared", status)
                changes["reappeared"] += 1
            else:
                _event(buf, run_at, fam, o.file_hash, o.file, "status", f"{row['status']} -> {status}")
                changes["status"] += 1
        if status != "superseded":
            for c in ("rows_read", "rows_loaded", "rows_quarantined", "rule", "reason_en", "reason_th",
                      "contract_version"):
                if row[c] != getattr(o, c):
                    update[c] = getattr(o, c)
        if update:
            sets = ", ".join(f"{k} = ?" for k in update)
            con.execute(f"update landing_files set {sets} where file_hash = ?", [*update.values(), o.file_hash])
    places = _place(con, archive, home, run_at, [o for _, o in unplaced])
    for values, o in unplaced:
        values[_ARCHIVE_COL] = places.get(o.file_hash)
    if only_new:
        return
    # contents no longer in the landing area: overwritten at their path (superseded) or withdrawn
    for h, row in existing.items():
        if h in seen_hashes or row["status"] in ("superseded", "withdrawn"):
            continue
        newer = path_now.get(row["file"])
        if newer and newer != h:
            con.execute("update landing_files set status = 'superseded', superseded_by = ?, superseded_at = ? "
                        "where file_hash = ?", [newer, run_at, h])
            _event(buf, run_at, fam, h, row["file"], "superseded", f"{newer} (new content at the same path)")
            changes["superseded"] += 1
        else:
            con.execute("update landing_files set status = 'withdrawn' where file_hash = ?", [h])
            _event(buf, run_at, fam, h, row["file"], "withdrawn", "no longer in the landing area")
            changes["withdrawn"] += 1


def _status(o) -> str:
    if o.status == "superseded":
        return "superseded"
    if o.status == "rejected":
        return "rejected"
    return "current"


def _j(v):
    return v.isoformat() if hasattr(v, "isoformat") else v


def _event(buf, at, family, h, file, event, detail) -> None:
    buf["landing_events"].append([at, family, h, file, event, detail])


_BUF_COLUMNS = {"landing_files": FILE_COLUMNS, "landing_paths": ["file_hash", "file", "first_seen_at"],
                "landing_events": ["event_at", "family", "file_hash", "file", "event", "detail"]}


def _flush(con, buf) -> None:
    """Insert the buffered rows, one statement per table (row-by-row inserts cost a millisecond each)."""
    import pandas as pd

    for table, rows in buf.items():
        if not rows:
            continue
        cols = _BUF_COLUMNS[table]
        frame = pd.DataFrame(rows, columns=cols).astype(object)
        frame = frame.where(frame.notna(), None)
        con.register("_rows", frame)
        con.execute(f"insert into {table} ({', '.join(cols)}) select {', '.join(cols)} from _rows")
        con.unregister("_rows")
        rows.clear()


_ARCHIVE_COL = FILE_COLUMNS.index("archive_path")


def _catalog_packs(con, archive: Path, run_at: datetime) -> None:
    """Note where the contents of the complete packs not yet catalogued are (written by pool workers since the
    last record, or by a run that crashed before recording): read their indexes, once per pack."""
    names = _arch.list_packs(os.fspath(archive))
    if not names:
        return
    done = {r[0] for r in con.execute("select pack from landing_archive_packs").fetchall()}
    new = [n for n in names if n not in done]
    if not new:
        return
    import pandas as pd

    folder = _arch.packs_dir(os.fspath(archive))
    _arch.settle_packs(os.fspath(archive), new)
    refs: dict[str, str] = {}
    for name in new:
        for h, ref in _arch.pack_entries(os.path.join(folder, name)).items():
            refs.setdefault(h, ref)
    _note_places(con, refs)
    con.register("_packs", pd.DataFrame({"pack": new, "catalogued_at": [run_at] * len(new)}))
    try:
        con.execute("insert or ignore into landing_archive_packs select pack, catalogued_at from _packs")
    finally:
        con.unregister("_packs")


def _note_places(con, refs: dict[str, str]) -> None:
    """Record archived contents' places (the first place of a content stays its place)."""
    if not refs:
        return
    import pandas as pd

    con.register("_refs", pd.DataFrame({"file_hash": list(refs), "archive_path": list(refs.values())}))
    try:
        con.execute("insert or ignore into landing_archive select file_hash, archive_path from _refs")
    finally:
        con.unregister("_refs")


def _place(con, archive: Path, home: Path, run_at: datetime, outcomes: list) -> dict[str, str]:
    """{sha256: archive_path} of new contents: where a pool worker archived them (a catalogued pack), the
    old layout's file, or -- read from the landing area here, only when the bytes are still the ones
    received (sha256 checked) -- a new pack. A file refused unread has no place."""
    outcomes = [o for o in outcomes if _arch.archivable(o, o.path)]
    if not outcomes:
        return {}
    places = dict(_rows_for(con, "select f.file_hash, f.archive_path from landing_archive f",
                            sorted({o.file_hash for o in outcomes})))
    arch, home_s = os.fspath(archive), os.fspath(home)
    pack = _arch.PackWriter(arch)
    for o in outcomes:
        if o.file_hash in places:
            continue
        old = os.path.join(arch, o.file_hash[:2], o.file_hash + _arch.suffix(o.path))
        if os.path.isfile(old):               # archived in the old layout (one file per content)
            places[o.file_hash] = os.path.relpath(old, home_s)
            continue
        try:
            with open(o.path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == o.file_hash:
            pack.add(o.file_hash, data, _arch.suffix(o.path))
    try:
        written = pack.close()
        if written:
            _arch.settle_packs(arch, [pack.name])
    except OSError:
        written = {}
    _note_places(con, written)
    return {**places, **written}


def _archive(archive: Path, o, home: Path) -> str | None:
    """Put one received file's bytes into the archive (a pack of one: what `phakhi doctor` probes); where
    it is, None for a file refused unread."""
    if not _arch.archivable(o, o.path):
        return None
    with open(o.path, "rb") as fh:
        data = fh.read()
    pack = _arch.PackWriter(os.fspath(archive))
    pack.add(o.file_hash, data, _arch.suffix(o.path))
    return pack.close().get(o.file_hash)


def archive_refs(home, hashes: list[str], attempts: int = 40) -> dict[str, str]:
    """{sha256: archive_path} of those contents the ledger knows to be archived (a pack or an old-layout
    file); {} without a ledger, or when it stays locked for `attempts` quarter seconds."""
    path = ledger_path(Path(home))
    if not hashes or not path.exists():
        return {}
    with _LOCK:
        try:
            con = _connect(path, read_only=True, attempts=attempts)
        except RuntimeError:
            return {}
        try:
            tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            want = sorted(set(hashes))
            rows = []
            if "landing_files" in tables:
                rows += _rows_for(con, "select f.file_hash, f.archive_path from landing_files f", want,
                                  "where f.archive_path is not null")
            if "landing_archive" in tables:
                rows += _rows_for(con, "select f.file_hash, f.archive_path from landing_archive f", want)
        finally:
            con.close()
    return dict(rows)


def read_archived(home, file_hash: str, ref: str | None = None) -> bytes | None:
    """The archived bytes of a content, by its sha256 (checked): at `ref` when given, else where the ledger
    recorded it, else found in the archive itself (an old-layout file or a pack); None when absent (what the
    tests read the archive with; `phakhi doctor` only probes that a link is never archived)."""
    home = os.fspath(home)
    if ref is None:
        ref = archive_refs(home, [file_hash]).get(file_hash) or _arch.find(home, file_hash)
    data = _arch.read_ref(home, ref) if ref else None
    return data if data is not None and hashlib.sha256(data).hexdigest() == file_hash else None
