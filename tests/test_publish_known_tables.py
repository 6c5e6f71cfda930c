"""Open-data files a month did not change are linked from the content store, their rows never read again
(phakhi.publish.known_tables: keyed in DuckDB), and are the very bytes the table's rows give when read whole
and formatted by files.write_table / write_partitions."""
from __future__ import annotations

import multiprocessing
import os

import duckdb
import numpy as np
import pandas as pd
import pytest

from phakhi.publish import known_tables as K
from phakhi.publish.datapackage import field_types
from phakhi.publish.files import building_dir, sharing_into, store_of, write_partitions, write_table


def _ledger(n: int = 30) -> pd.DataFrame:
    return pd.DataFrame({
        "period": [f"2025-{1 + i % 3:02d}" if i != 29 else None for i in range(n)],
        "partner_id": [f"P{i:03d}" for i in range(n)],
        "reduction_tco2e": [i * 1.5 if i % 7 else np.nan for i in range(n)],
        # NULLs in months 01 and 02 only (i % 3 == 0 is month 01): DuckDB gives pandas Int32, not int32
        "count": pd.array([None if i in (10, 12) else i for i in range(n)], dtype="Int32"),
        "note": ["=SUM(A1)" if i == 4 else f"ข้อความ {i}" for i in range(n)],
        "day": pd.to_datetime([f"2025-01-{1 + i % 28:02d}" for i in range(n)]),
    })


def _con(df: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("frame", df)
    con.execute("create table ledger as select * from frame")
    con.unregister("frame")
    return con


def _publish(pubs, pub_id, df):
    out = building_dir(pubs, pub_id)
    known = K.KnownTables(store_of(out))
    with sharing_into(store_of(out)), _con(df) as con:
        months, types = known.publish(con, "ledger", out / "data", "ghg_ledger", "period")
        whole, whole_types = known.publish(con, "ledger", out / "data", "whole")
    known.save()
    assert whole is None and types == whole_types
    return out, months, known, types


def _formatted_plainly(df, folder):
    """The files of `_publish` as the whole table read and formatted gives them, without any index or store."""
    with _con(df) as con:
        frame = K.read_table(con, "ledger")
    write_partitions(frame, folder / "data" / "ghg_ledger", "period")
    write_table(frame, folder / "data", "whole")
    return _tree(folder), field_types(frame)


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".owner"}


def test_unchanged_months_are_linked_with_the_bytes_the_whole_table_gives(tmp_path):
    pubs = tmp_path / "publications"
    df = _ledger()
    first, months, known, types = _publish(pubs, "one", df)
    assert months == ["2025-01", "2025-02", "2025-03", "undated"] and known.linked == 0
    assert (pubs / K.INDEX_FILE).is_file()
    plain, plain_types = _formatted_plainly(df, tmp_path / "plain1")
    assert _tree(first) == plain and types == plain_types

    changed = df.copy()
    changed.loc[changed["period"] == "2025-03", "reduction_tco2e"] += 1       # one month changes
    second, _, known, types = _publish(pubs, "two", changed)
    assert known.linked == 3 * 2 + 0        # months 01, 02 and undated, CSV + Parquet each; the whole table changed
    for month in ("2025-01", "2025-02"):
        for ext in ("csv", "parquet"):
            a, b = first / f"data/ghg_ledger/{month}.{ext}", second / f"data/ghg_ledger/{month}.{ext}"
            assert os.stat(a).st_ino == os.stat(b).st_ino
    assert os.stat(first / "data/ghg_ledger/2025-03.csv").st_ino != os.stat(second / "data/ghg_ledger/2025-03.csv").st_ino

    # the same bytes as the whole table formatted without any index: month 03 read alone (it has no NULL
    # count) still has the Int32 the whole table gives
    plain, plain_types = _formatted_plainly(changed, tmp_path / "plain2")
    assert _tree(second) == plain and types == plain_types

    # nothing changed: every file linked, no row formatted
    third, _, known, types = _publish(pubs, "three", changed)
    assert known.linked == 4 * 2 + 2 and types == plain_types and _tree(third) == plain


def test_a_different_type_a_null_or_a_lost_store_entry_is_formatted_again(tmp_path):
    pubs = tmp_path / "publications"
    df = _ledger()
    _publish(pubs, "one", df)
    # same values, another column type (the Parquet file records it): not the same files
    other = df.assign(count=df["count"].astype("float64"))
    _, _, known, _ = _publish(pubs, "two", other)
    assert known.linked == 0
    # no NULL left in the table: every month's pandas type changes (Int32 -> int32)
    filled = df.assign(count=df["count"].fillna(0))
    out, _, known, _ = _publish(pubs, "three", filled)
    assert known.linked == 0 and _tree(out) == _formatted_plainly(filled, tmp_path / "plain1")[0]
    # a store entry lost meanwhile: formatted again, the same bytes
    _publish(pubs, "four", df)
    for obj in (pubs / ".objects").glob("*/*"):
        obj.unlink()
    out, _, known, _ = _publish(pubs, "five", df)
    assert known.linked == 0
    assert _tree(out) == _formatted_plainly(df, tmp_path / "plain2")[0]


def test_a_damaged_index_is_an_empty_one(tmp_path):
    pubs = tmp_path / "publications"
    pubs.mkdir()
    (pubs / K.INDEX_FILE).write_bytes(b"\xff\xfe garbage\n")
    out, _, known, _ = _publish(pubs, "one", _ledger())
    assert known.linked == 0 and (out / "data" / "whole.csv").is_file()


def test_the_key_follows_values_types_and_a_zeros_sign_not_the_stored_order():
    def keys(df, name="x", partition_by=None):
        with _con(df) as con:
            return K.TableRows.of(con, "ledger", name, partition_by, "context").keys

    df = _ledger()
    key = keys(df)
    assert key == keys(df.iloc[::-1].reset_index(drop=True))      # published in the order of all columns
    assert key != keys(df, "y")
    assert key != keys(df.assign(note=df["note"] + "!"))
    assert keys(df.assign(reduction_tco2e=0.0)) != keys(df.assign(reduction_tco2e=-0.0))   # CSV: 0.0 / -0.0
    assert key != keys(df.assign(count=df["count"].astype("float64")))
    months = keys(df, "ghg_ledger", "period")
    changed = keys(df.assign(note=np.where(df["period"] == "2025-02", "changed", df["note"])), "ghg_ledger", "period")
    assert [m for m in months if months[m] != changed[m]] == ["2025-02"]


def test_the_empty_table_and_a_partition_column_not_text_are_formatted_from_their_rows(tmp_path):
    pubs = tmp_path / "publications"
    out = building_dir(pubs, "one")
    known = K.KnownTables(store_of(out))
    df = _ledger()
    with sharing_into(store_of(out)), _con(df.iloc[:0]) as empty, _con(df.assign(period=df["day"])) as dated:
        assert known.publish(empty, "ledger", out / "data", "empty_ledger", "period")[0] == ["empty"]
        assert known.publish(empty, "ledger", out / "data", "no_rows")[0] is None
        assert len(known.publish(dated, "ledger", out / "data", "by_day", "period")[0]) == 28
    assert (out / "data" / "no_rows.csv").read_bytes().startswith(b"\xef\xbb\xbfperiod,partner_id")


def test_open_data_written_by_processes_of_its_own_equals_written_here(tmp_path):
    """build.py has the open data written by a process of their own (OpenDataFiles with `apart`), one task a
    table: the same files, months, types and store index as written in the publishing process, twice (the
    second publication finds the first's files in the store); the process has exited after finish."""
    from phakhi.publish.exposures import Published
    from phakhi.publish.files import read_store_index

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("frame", _ledger())
        con.execute("create schema marts")
        con.execute("create table marts.ledger as select * from frame")
    published = [Published("data", "ghg_ledger", "m", "marts.ledger", "period"),
                 Published("data", "whole", "m", "marts.ledger"),
                 Published("quality", "whole", "m", "marts.ledger")]
    results, trees, indexes = {}, {}, {}
    for run, apart in (("here", False), ("apart", True)):
        pubs = tmp_path / run
        for pub_id in ("one", "two"):
            out = building_dir(pubs, pub_id)
            before = {p.pid for p in multiprocessing.active_children()}
            files = K.OpenDataFiles(db, out, published, apart)
            assert files.apart == apart
            results[run, pub_id] = (files.finish(), files.known.linked)
            assert {p.pid for p in multiprocessing.active_children()} <= before     # its processes have exited
            trees[run, pub_id] = _tree(out)
        indexes[run] = read_store_index(pubs / K.INDEX_FILE)
    assert results["here", "one"] == results["apart", "one"]
    assert results["here", "two"] == results["apart", "two"]
    assert results["apart", "two"][1] == (4 + 1 + 1) * 2          # 4 months, 2 whole tables: all linked
    assert trees["here", "two"] == trees["apart", "two"] and trees["here", "one"] == trees["apart", "one"]
    assert indexes["here"] == indexes["apart"] and len(indexes["here"]) == (4 + 1 + 1) * 2


def test_a_table_that_fails_apart_fails_finish_and_stops_the_process(tmp_path):
    from phakhi.publish.exposures import Published

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("frame", _ledger())
        con.execute("create schema marts")
        con.execute("create table marts.ledger as select * from frame")
    published = [Published("data", "whole", "m", "marts.ledger"), Published("data", "gone", "m", "marts.gone")]
    before = {p.pid for p in multiprocessing.active_children()}
    files = K.OpenDataFiles(db, building_dir(tmp_path / "pubs", "one"), published, apart=True)
    with pytest.raises(duckdb.CatalogException):
        files.finish()
    assert {p.pid for p in multiprocessing.active_children()} <= before


def test_the_site_context_waits_for_the_open_data_before_the_pages_listing_files(tmp_path):
    """build.py reads the site's context while other processes write the open data: `before_files` is called
    after the tables are read, before the downloads and quality pages look at the publication's files."""
    import json

    from phakhi.publish import pages as P
    from phakhi.publish.datapackage import descriptor
    from phakhi.publish.files import write_partitions
    from tests.test_dashboard_site import tiny_frames

    df = pd.DataFrame({"reduction_id": ["a", "b"], "period": ["2025-11", "2025-12"], "reported_tco2e": [1.0, 2.0]})
    calls = []

    def written():
        calls.append(1)
        months = write_partitions(df, tmp_path / "data" / "ghg_ledger", "period")
        write_table(df, tmp_path / "quality", "quarantine")
        pkg = descriptor("2025-12-r1", "2025-12", {"ghg_ledger": ("mart_ghg_ledger", df)}, {}, True,
                         {"ghg_ledger": months})
        (tmp_path / "datapackage.json").write_text(json.dumps(pkg, ensure_ascii=False), encoding="utf-8")

    frames = tiny_frames()
    wh = P.Warehouse(frames, {k: f"marts.{k}" for k in frames})
    ctx = P.site_context(tmp_path / "unused.duckdb", tmp_path, period="2025-12", pub_id="2025-12-rtest",
                         is_sample=True, warehouse=wh, gate=None, before_files=written)
    assert calls == [1]
    downloads = ctx["pages"]["downloads"]
    assert "unavailable" not in downloads and downloads["resources"][0]["months"]
    assert "quality/quarantine.csv" in ctx["pages"]["quality"]["files"]
    assert list(ctx["pages"])[:7] == ["overview", "national", "partners", "provinces", "ace", "awareness", "downloads"]
