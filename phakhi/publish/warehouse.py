"""The published warehouse (phakhi.duckdb) must open anywhere: no relation may depend on the build catalog.

dbt builds into warehouse/build.duckdb, so its views (staging, intermediate) are stored as
`create view ... as select ... from "build"."staging".…` - qualified with the catalog name, which DuckDB takes
from the file name. A copy renamed phakhi.duckdb has no catalog "build", and every such view fails with a
Catalog Error for the evaluator who opens it. `make_portable` rewrites each view without the build catalog's
qualifier (so it resolves in whatever file holds it) and checks that every relation opens.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb


def _unqualify(sql: str, catalog: str) -> str:
    """Drop `"catalog".` / `catalog.` qualifiers (only before a schema-qualified name)."""
    return re.sub(rf'(?<![\w"])(?:"{re.escape(catalog)}"|{re.escape(catalog)})\.(?=("?\w+"?)\.)', "", sql)


def views(con) -> list[tuple[str, str, str]]:
    return con.execute("select schema_name, view_name, sql from duckdb_views() "
                       "where not internal and database_name = current_database() order by all").fetchall()


def make_portable(db_path: Path, build_catalog: str = "build") -> int:
    """Rewrite the views of the DuckDB file at db_path so none refers to `build_catalog`. Views may refer to
    each other: recreate in passes until all bind. Returns the number of views rewritten; raises RuntimeError
    naming the views that still cannot be created."""
    with duckdb.connect(str(db_path)) as con:
        todo = [(s, v, _unqualify(sql, build_catalog)) for s, v, sql in views(con)
                if re.search(rf'(?<![\w"])("{re.escape(build_catalog)}"|{re.escape(build_catalog)})\.', sql)]
        n, errors = 0, {}
        # dropping first: a view that refers to another broken view cannot be recreated until that one is fixed
        for s, v, _ in todo:
            con.execute(f'drop view if exists "{s}"."{v}"')
        pending = todo
        while pending:
            left = []
            for s, v, sql in pending:
                try:
                    con.execute(sql)
                    n += 1
                except duckdb.Error as exc:          # depends on a view not recreated yet: next pass
                    errors[(s, v)] = str(exc).splitlines()[0]
                    left.append((s, v, sql))
            if len(left) == len(pending):
                raise RuntimeError("views that cannot be made portable: " +
                                   "; ".join(f"{s}.{v}: {errors[(s, v)]}" for s, v, _ in left))
            pending = left
    return n


def unopenable_relations(db_path: Path) -> list[str]:
    """Every table and view of the file that fails to open (select ... limit 0), as 'schema.name: error'."""
    bad = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        rels = con.execute("select table_schema, table_name from information_schema.tables "
                           "where table_catalog = current_database() order by all").fetchall()
        for schema, name in rels:
            try:
                con.execute(f'select * from "{schema}"."{name}" limit 0').fetchall()
            except duckdb.Error as exc:
                bad.append(f"{schema}.{name}: {str(exc).splitlines()[0]}")
    return bad


# ------------------------------------------------------------------ the switch (the flow and the review's publish)
class PublishFailed(RuntimeError):
    """Writing the publication failed (e.g. the disk is full); nothing was published."""


def promote_warehouse(paths) -> Path | None:
    """The audited build warehouse becomes the published one (copy aside, then atomic replace). Returns
    the previous published warehouse, kept aside (hard link) until the publication is in place, or None."""
    tmp = paths.published_db.with_suffix(".duckdb.tmp")
    if tmp.is_dir():            # DuckDB's default spill folder of the published file (left by a reader): not ours
        shutil.rmtree(tmp, ignore_errors=True)
    previous = None
    paths.published_inputs.unlink(missing_ok=True)    # no sidecar rather than a wrong one (refresh_inputs.py)
    if paths.published_db.exists():
        previous = paths.published_db.with_suffix(".duckdb.previous")
        previous.unlink(missing_ok=True)
        os.link(paths.published_db, previous)
    try:
        shutil.copyfile(paths.build_db, tmp)
        make_portable(tmp, build_catalog=paths.build_db.stem)   # views must not point at the build catalog
    except BaseException:
        tmp.unlink(missing_ok=True)
        if previous is not None:
            previous.unlink(missing_ok=True)
        raise
    tmp.replace(paths.published_db)
    return previous


def restore_warehouse(paths, previous: Path | None) -> None:
    """Put back the warehouse that matches the publication still live (after a failed publish)."""
    if previous is not None and previous.exists():
        previous.replace(paths.published_db)


def publish_switching(paths, period: str, run_id: str, gate, drift_result) -> Path:
    """Publish what the build warehouse holds. The warehouse is switched first, then `latest` (inside
    build_publication): a crash between the two leaves the new warehouse under the old site, never the new
    site over the old warehouse; a failed build puts the previous warehouse back and removes this run's own
    building folder (a full disk is freed at once, not by some later run)."""
    from phakhi.publish import build
    from phakhi.publish.files import discard_own, share_unchanged_files
    from phakhi.timing import milestone

    previous = promote_warehouse(paths)
    milestone("publish: warehouse promoted")
    try:
        # read from the promoted copy: dbt's documentation reads the build warehouse meanwhile
        pub = build.build_publication(paths, period, run_id, gate, drift_result, paths.published_db)
    except BaseException as exc:
        discard_own(paths.publications, f"{period}-{run_id}")
        restore_warehouse(paths, previous)
        if isinstance(exc, OSError):
            raise PublishFailed(f"publishing {period} failed ({exc.strerror or exc}); nothing was published, the "
                                "last good publication and its warehouse stay live") from exc
        raise
    record_published_inputs(paths, pub.name)
    milestone("publish: publication in place")
    share_unchanged_files(paths.publications, pub)     # hard links: an unchanged file costs no new disk
    milestone("publish: unchanged files shared")
    if previous is not None:
        previous.unlink(missing_ok=True)
    return pub


def record_published_inputs(paths, publication_id: str) -> None:
    """The published warehouse now holds what the build warehouse held: its inputs sidecar follows, naming
    the publication (a later refresh with the same inputs has nothing to do; phakhi/refresh_inputs.py)."""
    from phakhi.refresh_inputs import read_inputs, write_inputs

    built = read_inputs(paths.build_inputs)
    if built:
        write_inputs(paths.published_inputs, {**built, "publication_id": publication_id})


# ------------------------------------------------------------------ the build warehouse's starting point
def start_build_warehouse(paths, inputs: dict | None, full: bool = False) -> str:
    """Make the build warehouse this refresh writes into. 'incremental': a copy of the published warehouse
    (its incremental facts then write only new or changed rows, its seeds need no reload), when that one was
    built by the same code and seeds for the same kind of home; 'fresh' (an empty file) otherwise, or when
    `full`. The published warehouse is only read: a crash here or later leaves the live one as it was."""
    from phakhi.refresh_inputs import read_inputs, same_inputs

    paths.build_inputs.unlink(missing_ok=True)
    for stale in (paths.build_db, paths.build_db.with_name(paths.build_db.name + ".wal")):
        stale.unlink(missing_ok=True)
    published = read_inputs(paths.published_inputs)
    if full or inputs is None or not paths.published_db.exists() or \
            not same_inputs(published, inputs, keys=("data_kind", "code", "seeds")):
        return "fresh"
    tmp = paths.build_db.with_suffix(".duckdb.tmp")
    try:
        shutil.copyfile(paths.published_db, tmp)
        tmp.replace(paths.build_db)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return "incremental"
