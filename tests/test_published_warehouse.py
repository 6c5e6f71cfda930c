"""The published warehouse opens anywhere: views built in build.duckdb are rewritten so that none refers to the
build catalog, and every relation of the copy opens."""
import shutil

import duckdb

from phakhi.publish.warehouse import make_portable, unopenable_relations


def test_views_pointing_at_the_build_catalog_are_made_portable(tmp_path):
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as con:
        con.execute("create schema raw; create schema staging; create schema intermediate; create schema marts")
        con.execute("create table raw.t as select 1 as x")
        con.execute("create table raw.w as select 1 as id, 4 as q1, 5 as q2")
        # DuckDB drops the current catalog from most stored view SQL, but not inside UNPIVOT (the survey views)
        con.execute("create view staging.stg_t as select * from (unpivot (select * from build.raw.w) "
                    "on columns(* exclude (id)) into name item value answer)")
        con.execute("create view intermediate.int_t as select id, sum(answer) as y from staging.stg_t group by id")
        con.execute("create table marts.m as select x from raw.t")
    published = tmp_path / "phakhi.duckdb"
    shutil.copyfile(build, published)
    assert len(unopenable_relations(published)) == 2          # what an evaluator met: Catalog Error
    assert make_portable(published) == 1
    assert unopenable_relations(published) == []
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select y from intermediate.int_t").fetchall() == [(9,)]
        sqls = [r[0] for r in con.execute("select sql from duckdb_views() where not internal").fetchall()]
    assert sqls and not any("build." in s for s in sqls)


def test_promotion_clears_a_duckdb_spill_folder_left_beside_the_published_warehouse(tmp_path):
    """A reader of the published warehouse that spilled left DuckDB's default temp folder `phakhi.duckdb.tmp`:
    the name the next promotion copies the warehouse to. The promotion clears it and goes on."""
    from phakhi.publish.warehouse import promote_warehouse
    from phakhi.settings import Paths

    paths = Paths(tmp_path)
    paths.build_db.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.build_db)) as con:
        con.execute("create table t as select 1 as x")
    spill = paths.published_db.with_suffix(".duckdb.tmp")
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"x")
    assert promote_warehouse(paths) is None
    with duckdb.connect(str(paths.published_db), read_only=True) as con:
        assert con.execute("select x from t").fetchone() == (1,)
    assert not spill.exists()
