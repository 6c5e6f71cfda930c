"""load_raw in proportion to what changed (phakhi/ingest/landed.py:SpilledResult.load_into): a warehouse that
holds a family's rows of the settled state a new month was appended on gets only the new rows; one that holds
this very state gets nothing; any doubt (another mark, another row count, a failed load) copies in full. Each
way the raw tables equal those load_raw makes in an empty warehouse (values, types, row order)."""
import shutil

import duckdb
import pytest

from phakhi.ingest import landed, landing
from phakhi.settings import Paths
from test_benchmarks_national import _national

FAMILY = "activity_reports"


def _ingest(paths):
    spill = landing.landed_dir(paths)

    def run_families(jobs, run_at):
        return [landing.settle_family_cached(paths, j.family, j.files, j.known, run_at, spill=spill, workers=1)
                for j in jobs]

    return landing.ingest_landing_settled(paths, run_families=run_families, workers=1)


def _tables(db) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'raw' order by 1").fetchall()]
        return {t: (con.execute(f'describe raw."{t}"').fetchall(),
                    con.execute(f'select * exclude (received_at) from raw."{t}"' if t == "ingest_manifest"
                                else f'select * from raw."{t}"').fetchall()) for t in names}


def _load(results, db, fresh) -> str:
    """load_raw into `db` (kept between steps) and into an empty `fresh`: the same raw tables; how `db` got
    the family's rows."""
    landing.load_raw(db, results)
    how = landing.LOADS[FAMILY]
    fresh.unlink(missing_ok=True)
    landing.load_raw(fresh, results)
    assert landing.LOADS[FAMILY] == "copied"
    assert _tables(db) == _tables(fresh)
    return how


@pytest.fixture
def history(tmp_path):
    nat = _national()
    paths = Paths.from_env(tmp_path / "home").ensure()
    nat.generate(paths.landing, scale=0.002, months=2, workers=1)
    return nat, paths


def test_a_new_month_appends_only_its_rows_and_nothing_new_copies_nothing(history, tmp_path):
    nat, paths = history
    db, fresh = tmp_path / "warehouse.duckdb", tmp_path / "fresh.duckdb"
    assert _load(_ingest(paths), db, fresh) == "copied"
    before = _tables(db)[FAMILY][1]
    nat.generate(paths.landing, scale=0.002, months=3, workers=1)
    assert _load(_ingest(paths), db, fresh) == "appended"
    after = _tables(db)[FAMILY][1]
    assert len(after) > len(before) and after[:len(before)] == before
    assert _load(_ingest(paths), db, fresh) == "kept"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select rows from raw_loads.families where family = ?", [FAMILY]).fetchall() == \
            [(len(after),)]
        assert "raw_loads" not in {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}


def test_any_doubt_copies_the_whole_table(history, tmp_path):
    nat, paths = history
    db, fresh = tmp_path / "warehouse.duckdb", tmp_path / "fresh.duckdb"
    _load(_ingest(paths), db, fresh)
    older = tmp_path / "older.duckdb"
    shutil.copy(db, older)                 # e.g. the published warehouse, when the next run's gate failed
    nat.generate(paths.landing, scale=0.002, months=3, workers=1)
    assert _load(_ingest(paths), db, fresh) == "appended"
    nat.generate(paths.landing, scale=0.002, months=4, workers=1)
    results = _ingest(paths)
    assert _load(results, older, fresh) == "copied"        # it holds a state two appends back: another mark

    with duckdb.connect(str(db)) as con:   # the mark fits, the rows do not
        con.execute(f'delete from raw."{FAMILY}" where rowid = 0')
    assert _load(results, db, fresh) == "copied"


def test_a_failed_append_changes_nothing_and_the_next_load_appends(history, tmp_path, monkeypatch):
    nat, paths = history
    db, fresh = tmp_path / "warehouse.duckdb", tmp_path / "fresh.duckdb"
    _load(_ingest(paths), db, fresh)
    before = _tables(db)
    with duckdb.connect(str(db), read_only=True) as con:
        mark = landed.loaded_mark(con, FAMILY)
    nat.generate(paths.landing, scale=0.002, months=3, workers=1)
    results = _ingest(paths)

    real = landed.set_loaded_mark

    def fail(con, family, mark):
        if family == FAMILY:
            raise OSError("disk full")
        real(con, family, mark)

    monkeypatch.setattr(landed, "set_loaded_mark", fail)      # after the rows went in, before the mark
    with pytest.raises(OSError):
        landing.load_raw(db, results)
    monkeypatch.undo()
    assert _tables(db)[FAMILY] == before[FAMILY]              # rolled back with its mark
    with duckdb.connect(str(db), read_only=True) as con:
        assert landed.loaded_mark(con, FAMILY) == mark
    assert _load(results, db, fresh) == "appended"
