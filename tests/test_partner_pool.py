"""Partner pages rendered by spawned worker processes (phakhi.publish.partner_pool) are the same files, byte for
byte, as the pages rendered in the publishing process - on a tiny warehouse file (fast) and on the SAMPLE
month's published warehouse (integration) - and the workers' digests are known to share_unchanged_files."""
from __future__ import annotations

import duckdb
import pytest

from phakhi.publish import files as F
from phakhi.publish import pages as P
from phakhi.publish import partner_pool
from phakhi.publish.site import render_site


def _tree(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _publish(db, tables, out, workers):
    out.mkdir(parents=True)
    ctx = P.site_context(db, out, period="2025-12", pub_id="2025-12-rpool", is_sample=True, tables=tables)
    assert ctx["partner_job"] and ctx["partner_job"]["partners"] > 1
    render_site(out, ctx, strict=True, workers=workers)
    return _tree(out)


def _same_site(db, tables, tmp_path, workers=2) -> dict[str, bytes]:
    one = _publish(db, tables, tmp_path / "one", 1)
    many = _publish(db, tables, tmp_path / "many", workers)
    assert sorted(one) == sorted(many)
    assert [f for f in one if one[f] != many[f]] == []
    return many


def test_ranges_cover_every_partner_once():
    assert partner_pool.ranges(10, 3) == [(0, 4), (4, 8), (8, 10)]
    assert partner_pool.ranges(2, 4) == [(0, 1), (1, 2)]
    assert partner_pool.ranges(0, 2) == []


def test_too_few_partners_stay_in_this_process_unless_workers_are_asked_for(tmp_path):
    job = {"partners": 30, "db": "x", "tables": {}, "render": None}
    assert partner_pool.start(tmp_path, job, {"meta": {}}, workers=None) is None
    assert partner_pool.start(tmp_path, job, {"meta": {}}, workers=1) is None
    assert partner_pool.start(tmp_path, None, {"meta": {}}, workers=4) is None


def test_pool_pages_equal_sequential_pages_on_a_warehouse_file(tmp_path):
    from tests.test_dashboard_site import tiny_frames, tiny_warehouse

    frames = tiny_frames()
    extra = frames["dash_partners"].iloc[[0]].assign(partner_id="P003", parent_partner_id="P001")
    frames["dash_partners"] = frames["dash_partners"]._append(extra, ignore_index=True)
    db, tables = tiny_warehouse(tmp_path, frames)
    F.take_written()
    many = _same_site(db, tables, tmp_path, workers=3)
    assert {"partners/P001.html", "partners/P003.html", "data/partners/P001/2025-12-claims.csv"} <= set(many)
    # what the workers wrote is known by digest: sharing never reads those files back
    stats = F.share_unchanged_files(tmp_path / "pubs", tmp_path / "many")
    assert stats["files"] > 0 and stats["hashed"] < stats["files"]
    page = tmp_path / "many" / "partners" / "P001.html"
    assert F.known_digest(page.stat()) is not None


def test_a_worker_renders_several_tasks_the_same_pages(tmp_path, monkeypatch):
    from tests.test_dashboard_site import tiny_frames, tiny_warehouse

    frames = tiny_frames()
    extra = frames["dash_partners"].iloc[[0]].assign(partner_id="P003", parent_partner_id="P001")
    frames["dash_partners"] = frames["dash_partners"]._append(extra, ignore_index=True)
    db, tables = tiny_warehouse(tmp_path, frames)
    monkeypatch.setattr(partner_pool, "PARTNERS_PER_TASK", 1)      # 3 tasks on 2 workers
    many = _same_site(db, tables, tmp_path, workers=2)
    assert {"partners/P001.html", "partners/P003.html"} <= set(many)


def test_file_hashes_of_a_worker_equal_those_of_the_whole_table(tmp_path):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        # a file listed twice (the last row of the whole table's order wins), a NULL digest, a NULL file
        con.execute("create table marts.dash_quality_files as select * from (values "
                    "('a.xlsx', 'h2', 'z'), ('a.xlsx', 'h1', 'a'), ('b.csv', null, 'x'), (null, 'h3', 'y'), "
                    "('c.csv', 'h4', 'q')) t(file, file_hash, folder)")
    tables = {"dash_quality_files": "marts.dash_quality_files"}
    whole = P.file_hashes(P.read_warehouse(db, tables))
    assert whole == {"a.xlsx": "h2", "None": "h3", "c.csv": "h4"}
    lazy = P.lazy_warehouse(db, tables)
    assert P.file_hashes(lazy) == whole and "dash_quality_files" not in lazy.frames


@pytest.mark.integration
def test_pool_pages_equal_sequential_pages_on_sample(refreshed_sample, tmp_path, monkeypatch):
    from phakhi.publish.exposures import dashboard_tables

    monkeypatch.setattr(partner_pool, "PARTNERS_PER_TASK", 7)      # each worker renders several tasks
    paths = refreshed_sample.paths
    tables = dashboard_tables(paths.dbt_work / "target" / "manifest.json")
    many = _same_site(paths.published_db, tables, tmp_path)
    assert sum(1 for f in many if f.startswith("partners/")) >= 20
    assert any(f.startswith("data/partners/") for f in many)


def test_pages_built_into_the_store_twice_equal_pages_built_without_it(tmp_path, monkeypatch):
    """Into a publication being built (a content store beside it), the first publication formats every
    per-partner file and indexes it; the next one, by worker processes, links the months it knows: the same
    files, byte for byte, as without a store."""
    from phakhi.publish import partner_csv as C
    from tests.test_dashboard_site import tiny_frames, tiny_warehouse

    frames = tiny_frames()
    db, tables = tiny_warehouse(tmp_path, frames)
    plain = _publish(db, tables, tmp_path / "plain", 1)
    first = _publish(db, tables, tmp_path / "pubs" / ".building-a", 1)
    index = F.read_store_index(tmp_path / "pubs" / C.INDEX_FILE)
    assert index and all((tmp_path / "pubs" / F.OBJECTS_DIR / s[:2] / s).is_file() for s, _ in index.values())
    second = _publish(db, tables, tmp_path / "pubs" / ".building-b", 2)
    assert first == plain and second == plain
    page_data = [f for f in second if f.startswith("data/partners/") and f.endswith("-claims.csv")]
    assert page_data and all((tmp_path / "pubs" / ".building-b" / f).stat().st_nlink >= 3 for f in page_data)
    # nothing changed: no fact row is read or formatted for the files, only the latest rows for the pages

    def no_rows(*args, **kwargs):
        raise AssertionError("a known month was read again")

    monkeypatch.setattr(P.PartnerBatches, "_rows", no_rows)
    assert _publish(db, tables, tmp_path / "pubs" / ".building-c", 1) == plain


def test_workers_started_before_the_open_data_render_the_same_pages(tmp_path):
    """build.py starts the pool (partner_pool.prestart: the workers import the page code) before it writes the
    open data; render_site hands those workers their job: the same files as rendered in this process. Not
    taken (no pool needed): shut down."""
    from tests.test_dashboard_site import tiny_frames, tiny_warehouse

    db, tables = tiny_warehouse(tmp_path, tiny_frames())
    one = _publish(db, tables, tmp_path / "one", 1)
    executor = partner_pool.prestart(2, P.render_partner_range, workers=2)
    assert executor is not None and partner_pool.prestart(30, P.render_partner_range) is None
    out = tmp_path / "pre"
    out.mkdir()
    ctx = P.site_context(db, out, period="2025-12", pub_id="2025-12-rpool", is_sample=True, tables=tables)
    ctx["partner_workers"] = executor
    render_site(out, ctx, strict=True, workers=2)
    assert _tree(out) == one
    unused = partner_pool.prestart(2, P.render_partner_range, workers=2)
    assert partner_pool.start(tmp_path, None, {"meta": {}}, executor=unused) is None
    with pytest.raises(RuntimeError):          # shut down: takes no more work
        unused.submit(print)
