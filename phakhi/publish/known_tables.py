"""Open-data files a new month did not change (issue 17): each published table - or each month of a table
published month by month (`ghg_ledger`, `partner_trajectory`) - is fingerprinted in DuckDB, from the rows its
files are formatted from, before any row is read into pandas (`TableRows`: one hash aggregate a table). An
index beside the content store (publications/.open-data-files.tsv) remembers which CSV and Parquet bytes that
fingerprint gave; a file the index knows is linked from the store (files.link_known) without its rows being
read or formatted, and only the months not known are read. The bytes are the same either way
(tests/test_publish_known_tables.py).

The rows decide the files through `select * ... order by all` (`read_table` below): the order is the rows' own
(a sum of row hashes is enough, no ordered digest), and pandas' types come from DuckDB's column types and from
whether the WHOLE table has a NULL in a column (Int32 / boolean instead of int32 / bool), so both are in the
key, and a month read alone is read with one row holding each such NULL (`_read_months`). The key also holds
what else decides the bytes: this module's FORMAT, the file's name, the DuckDB / pandas / pyarrow / numpy
versions, DuckDB's time zone and the formula prefixes neutralised; a float's sign is hashed apart (DuckDB's
hash takes -0.0 as 0.0, the CSV does not). The index is only a shortcut: a missing, stale or damaged index, or
a store entry lost meanwhile, means the files are formatted again."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from phakhi.publish.datapackage import field_types
from phakhi.publish.files import (FORMULA_PREFIXES, adopt_written, known_digest, link_known, read_store_index,
                                  sharing_into, stable_frame, store_of, take_written, write_partitions,
                                  write_store_index, write_table)

FORMAT = "2"                   # change when write_table's bytes or the key change: every entry is then unknown
INDEX_FILE = ".open-data-files.tsv"
UNDATED = "undated"                       # the file of rows without a partition value (files.write_partitions)


def read_table(con, table: str) -> pd.DataFrame:
    """A published table's rows (`table`: a name or a parenthesised query) as its files are formatted from:
    in the order of all columns, floats stable (files.stable_frame)."""
    return stable_frame(con.execute(f"select * from {table} order by all").df())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _context(con) -> str:
    import duckdb
    import numpy as np
    import pyarrow

    tz = con.execute("select current_setting('TimeZone')").fetchone()[0]
    text = json.dumps([FORMAT, duckdb.__version__, pd.__version__, pyarrow.__version__, np.__version__, tz,
                       list(FORMULA_PREFIXES)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class TableRows:
    """A published table as DuckDB sees it: `keys` maps each file stem (the table's name, or each month's
    value: files.write_partitions) to the key of the rows that file holds; `with_null` the columns with a NULL
    somewhere in the table."""
    table: str
    partition_by: str | None
    keys: dict[str, str]
    columns: list[tuple[str, str]]       # (name, DuckDB type)
    with_null: list[str]

    def field_types(self, con) -> dict[str, str]:
        """datapackage.field_types of the whole table, reading only the values that can decide a type: a text
        column is a Table Schema string whatever it holds (read without rows), the others are read whole."""
        text = {c for c, t in self.columns if t == "VARCHAR"}
        head = con.execute(f"select * from {self.table} limit 0").df()
        rest = [_quote(c) for c, _ in self.columns if c not in text]
        values = con.execute(f"select {', '.join(rest)} from {self.table}").df() if rest else head
        return {c: field_types(head[[c]] if c in text else values[[c]])[c] for c, _ in self.columns}

    @classmethod
    def of(cls, con, table: str, name: str, partition_by: str | None, context: str,
           file: str | None = None) -> "TableRows | None":
        """`file`: the name the key holds (default `name`). None when no key can be given (a partition column that is not text, or an empty partitioned table:
        the file names come from pandas' values then); the files are formatted from the rows read."""
        columns = [(c, t) for c, t, *_ in con.execute(f"describe select * from {table}").fetchall()]
        if not columns or (partition_by and (partition_by, "VARCHAR") not in columns):
            return None
        counts = con.execute(f"select count(*), {', '.join(f'count({_quote(c)})' for c, _ in columns)} "
                             f"from {table}").fetchone()
        with_null = [c for (c, _), n in zip(columns, counts[1:]) if n < counts[0]]
        signs = [f"signbit({_quote(c)})" for c, t in columns if t in ("DOUBLE", "FLOAT")]
        row = f"hash({', '.join([_quote(c) for c, _ in columns] + signs)})"
        label = f"coalesce({_quote(partition_by)}, {_literal(UNDATED)})" if partition_by else _literal(name)
        groups = con.execute(f"select {label} as stem, count(*), sum(h::hugeint)::varchar, bit_xor(h) "
                             f"from (select *, {row} as h from {table}) group by stem").fetchall()
        if partition_by and not groups:
            return None
        if not groups:                        # an empty table: its file holds the header
            groups = [(name, 0, "0", 0)]
        head = [context, [(c, t, c in with_null) for c, t in columns]]
        keys = {}
        for stem, n, total, xor in groups:
            text = json.dumps([*head, f"{file or name}/{stem}" if partition_by else file or name, n, total, xor],
                              ensure_ascii=True)
            keys[str(stem)] = hashlib.sha256(text.encode("ascii")).hexdigest()[:40]
        return cls(table, partition_by, dict(sorted(keys.items())), columns, with_null)


class KnownTables:
    """The index of one content store (`<key>.<csv|parquet>` -> the bytes' sha256 and size): read once per
    publication; `publish` uses and remembers entries; `save()` keeps the entries this publication used
    (atomic)."""

    def __init__(self, store: Path | None):
        self.path = None if store is None else Path(store).parent / INDEX_FILE
        self.known: dict[str, tuple[str, int]] = read_store_index(self.path)
        self.used: dict[str, tuple[str, int]] = {}
        self.entries: dict[str, tuple[str, int]] = {}     # this publication's files: key.kind -> sha256, size
        self.linked = 0
        self._context: str | None = None

    def publish(self, con, table: str, folder: Path, name: str,
                partition_by: str | None = None) -> tuple[list[str] | None, dict[str, str]]:
        """Write the files of `table` as folder/<name>.csv|parquet, or one pair per month under folder/<name>/
        (partition_by). Returns (the months, or None; the columns' Table Schema types)."""
        rows = None
        if self.path is not None:
            self._context = self._context or _context(con)
            rows = TableRows.of(con, table, name, partition_by, self._context, f"{folder.name}/{name}")
        if rows is None:
            return self._format(read_table(con, table), folder, name, partition_by, {})
        here = folder / name if partition_by else folder
        todo = [stem for stem, key in rows.keys.items() if not self._link(here, stem, key)]
        types = None
        if todo:
            _, made = self._format(self._read_months(con, rows, todo) if partition_by else read_table(con, table),
                                   folder, name, partition_by, {s: rows.keys[s] for s in todo})
            if not partition_by:      # the whole table was just read: its types, without reading it again
                types = made
        for key in rows.keys.values():
            for kind in ("csv", "parquet"):
                if f"{key}.{kind}" in self.entries:
                    self.used[f"{key}.{kind}"] = self.entries[f"{key}.{kind}"]
        return (list(rows.keys) if partition_by else None), types if types is not None else rows.field_types(con)

    @staticmethod
    def _read_months(con, rows: TableRows, months: list[str]) -> pd.DataFrame:
        """The rows of `months` only, with pandas' types of the whole table: a column with a NULL in another
        month only gets one such row (dropped after the read), since DuckDB types a column with a NULL apart."""
        label = f"coalesce({_quote(rows.partition_by)}, {_literal(UNDATED)})"
        wanted = ", ".join(map(_literal, months))
        parts = [f"select * from {rows.table} where {label} in ({wanted})"]
        parts += [f"(select * from {rows.table} where {_quote(c)} is null and {label} not in ({wanted}) limit 1)"
                  for c in rows.with_null]
        frame = read_table(con, f"({' union all '.join(parts)})")
        keep = frame[rows.partition_by].astype("string").fillna(UNDATED).isin(months)
        return frame[keep.to_numpy()].reset_index(drop=True)

    def _format(self, frame: pd.DataFrame, folder: Path, name: str, partition_by: str | None,
                keys: dict[str, str]) -> tuple[list[str] | None, dict[str, str]]:
        """Format and write the files of `frame`, each remembered under its key (if it has one)."""
        def write(df: pd.DataFrame, into: Path, stem: str) -> None:
            self._write(df, into, stem, keys.get(stem))

        months = None
        if partition_by and partition_by in frame.columns:
            months = write_partitions(frame, folder / name, partition_by, write)
        else:
            write(frame, folder, name)
        return months, field_types(frame)

    def _link(self, folder: Path, stem: str, key: str) -> bool:
        """Both files of `stem` linked from the store (the index knows them and the store still holds them)."""
        hits = [self.known.get(f"{key}.{kind}") for kind in ("csv", "parquet")]
        if any(h is None for h in hits):
            return False
        for kind, hit in zip(("csv", "parquet"), hits):
            if not link_known(folder / f"{stem}.{kind}", *hit):
                return False
        for kind, hit in zip(("csv", "parquet"), hits):
            self.entries[f"{key}.{kind}"] = hit
        self.linked += 2
        return True

    def _write(self, df: pd.DataFrame, folder: Path, stem: str, key: str | None) -> None:
        for path in write_table(df, folder, stem):
            st = os.stat(path)
            digest = known_digest(st)          # taken as write_bytes wrote it
            if key is not None and digest is not None:
                self.entries[f"{key}.{path.suffix[1:]}"] = (digest, st.st_size)

    def save(self) -> None:
        write_store_index(self.path, self.used)


class OpenDataFiles:
    """The files of every published table (exposures.Published) of the publication being built in `out`.

    With `apart`, they are written by one spawned process of their own, one task a table, started at once:
    the publishing process reads the site's context meanwhile. `finish` waits for it, and the process exits
    before the partner pages render, so what it held (a table's frames, pyarrow's and DuckDB's memory) is the
    OS's again, not carried through the pages (open26 wrote the open data in the partner pages' workers: each
    kept ~100 MB more through its pages, and the national publish peaked at 2,103 MB). One process, not one
    per core: the site's context and the idle page workers are held meanwhile, and two such processes made
    that moment the publish's peak (national full publish, benchmarks/publish.py: 1,964 MB against 1,556 MB
    when the pages render; the ledger and the peer matches each take ~550-650 MB to format). Without `apart`,
    the tables are written here by `finish`. Either way `finish` returns, table by table, (the months, or
    None; the columns' Table Schema types) and saves the store's index."""

    def __init__(self, db: Path, out: Path, published: list, apart: bool = False):
        self.db, self.out, self.published = Path(db), Path(out), list(published)
        self.known = KnownTables(store_of(self.out))
        self.executor = self.future = None
        if apart:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            # spawned, never forked: the flow's process runs Prefect's threads (see partner_pool)
            self.executor = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
            try:
                self.future = self.executor.submit(_write_apart, str(self.db), str(self.out), self.published)
            except BaseException:
                self.abandon()
                raise

    @property
    def apart(self) -> bool:
        """Written by a process of their own (else by `finish`, here)."""
        return self.executor is not None

    def finish(self) -> list[tuple[list[str] | None, dict[str, str]]]:
        if self.executor is None:
            out = self._write()
        else:
            try:
                out, used, linked, written = self.future.result()
            finally:
                self.abandon()
            adopt_written(written)          # share_unchanged_files never reads these files back
            self.known.used.update(used)
            self.known.linked += linked
        self.known.save()
        return out

    def abandon(self) -> None:
        """Stop the process, waiting for it if it runs (it never writes into a folder being removed); it exits."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)

    def _write(self) -> list[tuple[list[str] | None, dict[str, str]]]:
        import duckdb

        from phakhi.publish.pages import drop_cached_blocks

        out = []
        # one connection for every table (opening one costs ~25 ms of CPU), its cached blocks evicted after
        # each table: DuckDB keeps what a connection read cached until it closes (+56 MB of this process's peak
        # at scale 0.25 if kept, growing with the data)
        with sharing_into(store_of(self.out)), duckdb.connect(str(self.db), read_only=True) as con:
            limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
            for item in self.published:
                out.append(self.known.publish(con, item.table, self.out / item.folder, item.name, item.partition_by))
                drop_cached_blocks(con, limit)
        return out


def _write_apart(db: str, out: str, published: list):
    """In the OpenDataFiles process: every table's files, written as here; returns what the publishing
    process merges (their months and types, the store index entries used, the digests of the files written)."""
    from phakhi.timing import milestone

    milestone("publish: open data starts")
    take_written()
    files = OpenDataFiles(Path(db), Path(out), published)
    written = files._write()
    milestone("publish: open data written")
    return written, files.known.used, files.known.linked, take_written()
