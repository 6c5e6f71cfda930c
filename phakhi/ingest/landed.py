"""A family's settled rows in a DuckDB file (raw.<family>), not in memory (issue 17).

    RowsWriter     -> a family's typed rows written a chunk at a time, with the types and row order that
                      `write_raw` gives the whole frame (the full settle streams into it: no family frame)
    merge_rows     -> the kept rows plus a new month's rows, merged by file in DuckDB (a new month copies
                      no kept row through Python)
    SpilledResult  -> a FamilyResult whose rows are in such a file; load_raw copies the table from it
    spill_result   -> an in-memory result written out as one (what the settled rows were before streaming)

The settled state of a family (phakhi/ingest/settled.py) keeps its rows in such a file; the refresh's spill
file (`warehouse/landed/<family>.duckdb`, deleted after load_raw) is a hard link to it, so a month whose
family did not change copies nothing at all.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

# one thread and a modest buffer: this runs beside the other families' ingest; DuckDB writes the rows out
DB_CONFIG = {"threads": 1, "memory_limit": "256MB"}


def _connect(path: Path):
    import duckdb

    con = duckdb.connect(str(path), config={**DB_CONFIG, "temp_directory": str(Path(path).parent / "tmp")})
    con.execute("set enable_progress_bar = false")
    return con


def _as_written(frame):
    """The frame as `write_raw` hands it to DuckDB: missing values in object columns become None."""
    import pandas as pd

    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else v)
    return out


def _unlink(path: Path) -> None:
    for f in (path, path.with_name(path.name + ".wal")):
        f.unlink(missing_ok=True)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class RowsWriter:
    """raw.<family> in a new DuckDB file at `path`, appended a chunk of typed rows (`typed_frame`) at a time.

    The table is what `write_raw(con, family, whole_frame)` makes of all the chunks together: same column
    types, same row order. The only column type that depends on the values is an object column's (the
    contract's dates): DATE when any row has a date, else DuckDB's NULL type (every value missing) -- so date
    columns are written as DATE and, when no chunk had one, turned into NULL-typed columns at `close`."""

    def __init__(self, path: Path, family: str):
        self.path, self.family = Path(path), family
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _unlink(self.path)
        self.con = _connect(self.path)
        self.con.execute("create schema if not exists raw")
        self.rows = 0
        self.columns: list[str] | None = None
        self.dtypes: dict | None = None
        self._dates: dict[str, bool] = {}       # object (date) column -> a value seen

    def append(self, frame) -> None:
        if self.columns is None:
            self.columns, self.dtypes = list(frame.columns), frame.dtypes.to_dict()
            self._dates = {c: False for c in self.columns if frame[c].dtype == object}
        elif list(frame.columns) != self.columns:
            raise ValueError(f"{self.family}: a chunk with other columns than the first")
        frame = _as_written(frame)
        for c, seen in self._dates.items():
            if not seen and frame[c].notna().any():
                self._dates[c] = True
        self.con.register("_frame", frame)
        try:
            if self.rows == 0 and not self._created():
                casts = ", ".join(f"cast({_q(c)} as DATE) as {_q(c)}" for c in self._dates)
                sel = f"select * replace ({casts}) from _frame" if casts else "select * from _frame"
                self.con.execute(f"create table raw.{_q(self.family)} as {sel}")
            else:
                self.con.execute(f"insert into raw.{_q(self.family)} select * from _frame")
        finally:
            self.con.unregister("_frame")
        self.rows += len(frame)

    def _created(self) -> bool:
        return bool(self.con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                                     "and table_name = ?", [self.family]).fetchall()[0][0])

    def close(self) -> None:
        """Finish the file: date columns that never held a date take DuckDB's NULL type, as write_raw gives."""
        try:
            empty = [c for c, seen in self._dates.items() if not seen]
            if empty:
                t = f"raw.{_q(self.family)}"
                nulls = ", ".join(f"NULL as {_q(c)}" for c in empty)
                self.con.execute(f"create table raw.{_q('_' + self.family)} as select * replace ({nulls}) from {t}")
                self.con.execute(f"drop table {t}")
                self.con.execute(f"alter table raw.{_q('_' + self.family)} rename to {_q(self.family)}")
        finally:
            self.con.close()

    def abort(self) -> None:
        try:
            self.con.close()
        finally:
            _unlink(self.path)


def table_types(con, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe select * from {relation}").fetchall()]


def merge_rows(kept: Path, fresh, out: Path, family: str, after_kept: bool, drop_files: list[str] = ()) -> bool:
    """`out` (a new file) gets raw.<family>: the kept file's rows and the `fresh` frame's (typed rows of new
    files), in the order of their files (`_file`; within a file as they were) -- what `by_file` gives the two
    frames concatenated. `after_kept`: every fresh file sorts after every kept one (no sort needed).
    `drop_files`: kept files whose rows are left out (superseded by a resubmission).

    False (and no file) when the fresh rows' types would change a kept column's type (a date column empty so
    far that now has dates): the caller settles the whole family instead."""
    out = Path(out)
    _unlink(out)
    con = _connect(out)
    ok = False
    try:
        con.execute(f"attach '{str(kept).replace(chr(39), chr(39) * 2)}' as kept (read_only)")
        src = f"kept.raw.{_q(family)}"
        frame = _as_written(fresh)
        con.register("_fresh", frame)
        kt = table_types(con, src)
        if not _compatible(kt, table_types(con, "_fresh")):
            return False
        cols = ", ".join(_q(n) for n, _ in kt)
        keep = ""
        if drop_files:
            import pandas as pd

            con.register("_dropped", pd.DataFrame({"f": list(drop_files)}))
            keep = ' where "_file" not in (select f from _dropped)'
        con.execute("create schema if not exists raw")
        if after_kept or not len(frame):
            sel = f"select {cols} from {src}{keep} union all select {cols} from _fresh"
        else:
            # rowid: a kept row's position in its file (the file was written in order); the fresh rows'
            # positions come with the frame
            frame["__pos"] = range(len(frame))
            con.unregister("_fresh")
            con.register("_fresh", frame)
            sel = (f"select {cols} from (select {cols}, 0 as __src, rowid as __pos from {src}{keep} union all "
                   f"select {cols}, 1 as __src, __pos from _fresh) order by \"_file\", __src, __pos")
        con.execute(f"create table raw.{_q(family)} as {sel}")
        ok = True
        return True
    finally:
        con.close()
        if not ok:
            _unlink(out)


def _compatible(kept_types, fresh_types) -> bool:
    """The fresh rows fit the kept table without changing a column's type: the same types, or a fresh
    column that is all missing (DuckDB's NULL type). A kept NULL-typed column (a date column empty so far)
    that now gets dates does not fit: a full settle gives it the DATE type."""
    return [n for n, _ in kept_types] == [n for n, _ in fresh_types] and \
        all(a == b or b == '"NULL"' for (_, a), (_, b) in zip(kept_types, fresh_types))


def append_rows(path: Path, fresh, family: str, kept_rows: int) -> bool:
    """The fresh rows (typed rows of new files, all sorting after the kept files) appended in place to the
    kept file's raw.<family>: work in proportion to the new rows. False, with nothing written, when the file
    does not hold exactly `kept_rows` rows (a run that ended between this append and saving its state) or
    the types do not fit: the caller settles the whole family instead."""
    con = _connect(Path(path))
    try:
        t = f"raw.{_q(family)}"
        if int(con.execute(f"select count(*) from {t}").fetchall()[0][0]) != kept_rows:
            return False
        frame = _as_written(fresh)
        con.register("_fresh", frame)
        if not _compatible(table_types(con, t), table_types(con, "_fresh")):
            return False
        con.execute(f"insert into {t} select * from _fresh")
        return True
    finally:
        con.close()


def count_rows(path: Path, family: str) -> int:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return int(con.execute(f"select count(*) from raw.{_q(family)}").fetchall()[0][0])


def partner_months_in(path: Path, family: str, columns: list[str]) -> set[tuple[str, str]]:
    """The (period, partner_id) pairs of a family's rows in its file (what `landing.partner_months` gives)."""
    import duckdb

    if "period" not in columns or "partner_id" not in columns:
        return set()
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(f"select distinct period, partner_id from raw.{_q(family)} "
                           "where period is not null and partner_id is not null").fetchall()
    return {(p, pid) for p, pid in rows}


def frame_partner_months(loaded) -> set[tuple[str, str]]:
    """The (period, partner_id) pairs of a family's rows in memory (what `landing.partner_months` gives)."""
    if "period" not in loaded or "partner_id" not in loaded or not len(loaded):
        return set()
    return {(p, pid) for p, pid in zip(loaded["period"], loaded["partner_id"])
            if isinstance(p, str) and isinstance(pid, str)}


def link_or_copy(src: Path, dest: Path) -> None:
    """`dest` becomes the same file as `src` (a hard link: nothing copied; a copy where links fail). Both are
    only ever opened read-only from now on; the settled state writes a new file for a new month."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    _unlink(dest)
    try:
        os.link(src, dest)
    except OSError:
        tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)


# ---------------------------------------------------------------- the result whose rows are in a file

def spill_result(result, folder: Path) -> "SpilledResult":
    """Write a settled family's rows to `folder/<family>.duckdb` as raw.<family> -- with `write_raw`, the very
    call load_raw made on the frame, so the raw table's types and row order are the same -- and return a
    result that keeps only the file's path, the row count and the (period, partner) pairs. At national scale
    the activity rows are ~0.8 GB of Python objects; held by the flow from ingest through load_raw they made
    the refresh's peak memory. The quarantine, file report and outcomes (one row per file) stay in memory."""
    from phakhi.ingest.files import write_raw

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.family}.duckdb"
    _unlink(path)
    loaded = result.loaded
    pairs = frame_partner_months(loaded)
    with _connect(path) as con:
        write_raw(con, result.family, loaded)
    out = SpilledResult(result.family, result.quarantine, result.file_report, result.files, path, len(loaded),
                        loaded.dtypes.to_dict(), list(loaded.columns), pairs)
    result.loaded = loaded.iloc[0:0].copy()   # a caller still holding the plain result keeps no rows either
    return out


def _family_result():
    from phakhi.ingest.files import FamilyResult

    return FamilyResult


class SpilledResult(_family_result()):
    """A FamilyResult whose rows are in a DuckDB file rather than in memory. load_raw copies the table from
    the file; `loaded` reads the rows back (a full read: for tests and rare callers -- the flow uses
    `loaded_rows` and `partner_months`). Not a dataclass of its own: `loaded` is a property."""

    def __init__(self, family, quarantine, file_report, files, path: Path, rows: int, dtypes: dict,
                 columns: list[str], partner_months: set):
        self.family, self.quarantine, self.file_report, self.files = family, quarantine, file_report, files
        self.path, self.rows, self.dtypes, self.columns = Path(path), int(rows), dict(dtypes), list(columns)
        self.partner_months = frozenset(partner_months)
        self.discarded = False
        # (mark, rows) of the settled state these rows were appended on in the same file (its rows are the
        # file's first `rows`), or None: load_raw then appends only the rows after those (`load_into`)
        self.rows_since: tuple[str, int] | None = None

    def __repr__(self) -> str:
        return f"SpilledResult({self.family!r}, {self.rows} rows in {self.path})"

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def loaded(self):
        """The rows, read back from the file with the frame's dtypes (empty once discarded)."""
        import duckdb
        import pandas as pd

        if self.discarded:
            return self._empty()
        with duckdb.connect(str(self.path), read_only=True) as con:
            df = con.execute(f'select * from raw."{self.family}"').df()
        out = {}
        for c in self.columns:
            dtype = self.dtypes[c]
            s = df[c]
            if dtype == object:     # write_raw stored None for NaN; dates come back as timestamps
                s = pd.Series([_py_value(v) for v in s], dtype=object, name=c)
            else:
                s = s.astype(dtype)
            out[c] = s
        return pd.DataFrame(out, columns=self.columns)

    @loaded.setter
    def loaded(self, value) -> None:
        raise AttributeError("a spilled result's rows are in its file; they are not replaced in memory")

    def _empty(self):
        import pandas as pd

        return pd.DataFrame({c: pd.Series([], dtype=self.dtypes[c]) for c in self.columns}, columns=self.columns)

    def copy_into(self, con) -> None:
        """raw.<family> in `con`'s database replaced by the spilled table (same types, same row order)."""
        if self.discarded:
            raise RuntimeError(f"the settled rows of {self.family} were already discarded ({self.path})")
        con.execute("create schema if not exists raw")
        alias = f"landed_{self.family}"
        path = str(self.path).replace("'", "''")
        con.execute(f"attach '{path}' as \"{alias}\" (read_only)")
        try:
            con.execute(f'create or replace table raw."{self.family}" as '
                        f'select * from "{alias}".raw."{self.family}"')
        finally:
            con.execute(f'detach "{alias}"')

    def load_into(self, con) -> str:
        """raw.<family> in `con`'s database made equal to the spilled table, in proportion to what changed
        (issue 17): "kept" when the warehouse already holds exactly these rows, "appended" when it holds the
        rows of the settled state these were appended on (only the rows after them are copied), else
        "copied" (`copy_into`). Which rows the warehouse holds is the mark `raw_loads.families` keeps, written
        in the same transaction as the table; any doubt (no mark, another mark, another row count, other
        column types: a failed run's warehouse, a fresh one, a state merged into a new file) copies in full."""
        if self.discarded:
            raise RuntimeError(f"the settled rows of {self.family} were already discarded ({self.path})")
        mark = self.settled_mark
        held = loaded_mark(con, self.family)
        alias = f"landed_{self.family}"
        con.execute(f"attach '{str(self.path).replace(chr(39), chr(39) * 2)}' as {_q(alias)} (read_only)")
        try:
            src, dest = f"{_q(alias)}.raw.{_q(self.family)}", f"raw.{_q(self.family)}"
            how = "copied"
            if mark is not None and held is not None and _same_table(con, dest, src, held[1]):
                if held == (mark, self.rows):
                    how = "kept"
                elif self.rows_since is not None and held == tuple(self.rows_since):
                    how = "appended"
            con.execute("begin transaction")
            try:
                if how == "copied":
                    con.execute("create schema if not exists raw")
                    con.execute(f"create or replace table {dest} as select * from {src}")
                elif how == "appended":
                    # rowid: a row's position in the file, which was only ever appended to since `held`
                    con.execute(f"insert into {dest} select * from {src} where rowid >= ? order by rowid",
                                [int(held[1])])
                set_loaded_mark(con, self.family, (mark, self.rows) if mark is not None else None)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            con.execute(f"detach {_q(alias)}")
        return how

    def discard(self) -> None:
        """The rows are in the warehouse: the file goes (LandingResults.release). Only this name of it: the
        settled state may hold another (a hard link), which it keeps for the next month."""
        self.discarded = True
        _unlink(self.path)


# ---------------------------------------------------------------- which settled rows a warehouse's raw table holds

LOADS = "raw_loads.families"       # outside `raw`: not a raw table (dbt sources, digests and dumps list raw.*)


def loaded_mark(con, family: str) -> tuple[str, int] | None:
    """(settled mark, rows) that the warehouse's raw.<family> was last loaded from, or None."""
    try:
        row = con.execute(f"select mark, rows from {LOADS} where family = ?", [family]).fetchall()
    except Exception:            # no such table: a fresh warehouse, or one loaded before marks were kept
        return None
    return (row[0][0], int(row[0][1])) if row and row[0][0] is not None else None


def set_loaded_mark(con, family: str, mark: tuple[str, int] | None) -> None:
    """Note which settled rows raw.<family> now holds (None: unknown -- the next load copies in full)."""
    con.execute("create schema if not exists raw_loads")
    con.execute(f"create table if not exists {LOADS} (family varchar primary key, mark varchar, rows bigint)")
    con.execute(f"delete from {LOADS} where family = ?", [family])
    if mark is not None:
        con.execute(f"insert into {LOADS} values (?, ?, ?)", [family, mark[0], int(mark[1])])


def _same_table(con, dest: str, src: str, rows: int) -> bool:
    """raw.<family> exists with `rows` rows and the very column names and types of the spilled table."""
    try:
        if int(con.execute(f"select count(*) from {dest}").fetchall()[0][0]) != int(rows):
            return False
        return table_types(con, dest) == table_types(con, src)
    except Exception:
        return False


def _py_value(v):
    """A value DuckDB's .df() gave back, as the frame held it: None for missing, a date for a DATE."""
    import pandas as pd

    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    return v
