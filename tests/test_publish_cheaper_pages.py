"""The publish stage's cheaper paths give what the plain ones gave (issue 17): Jinja's field lookup on page dicts
(site.PageEnvironment), the awareness table's cells (pages._first_cells), the sharing pass skipping files
written as store entries (files.share_unchanged_files), and a page worker's cached DuckDB blocks evicted
(pages.drop_cached_blocks)."""
from __future__ import annotations

import os

import duckdb
import pandas as pd
from jinja2 import Environment

from phakhi.publish import files as F
from phakhi.publish.pages import _first_cells, drop_cached_blocks
from phakhi.publish.site import PageEnvironment, plain_records

TEMPLATE = ("{{ d.name }}|{{ d.items }}|{{ d.get('name') }}|{{ d.missing }}|{{ d.missing is defined }}|"
            "{{ d.nested.keys }}|{{ d.nested.x }}|{{ d.row.a }}|{{ d.l.count }}|{{ d.n.real }}|"
            "{% for k, v in d.nested.items() %}{{ k }}={{ v }};{% endfor %}|{{ d['name'] }}|{{ d.nested.x.y }}")


class Row:
    a = "attr"


def test_page_environment_reads_fields_as_jinja_does():
    data = {"name": "ภาคี <b>", "items": "an item named like a dict method", "nested": {"x": 1, "keys": "k"},
            "row": Row(), "l": [1, 2], "n": 3}
    plain = Environment(autoescape=True).from_string(TEMPLATE).render(d=data)
    fast = PageEnvironment(autoescape=True).from_string(TEMPLATE).render(d=data)
    assert fast == plain
    assert "an item named" not in fast          # d.items is dict's method for Jinja, and so it stays


def _old_cells(main: pd.DataFrame, table: list[dict], waves: list[int]) -> list[dict]:
    out = []
    for r in table:
        cells = {}
        for w in waves:
            hit = main[(main["wave"] == w) & (main["measure"] == r["measure"]) & (main["domain"] == r["domain"])
                       & (main["domain_value"] == r["domain_value"])]
            cells[w] = plain_records(hit)[0] if len(hit) else None
        out.append(cells)
    return out


def test_first_cells_give_the_rows_the_filters_gave():
    main = pd.DataFrame({
        "wave": [2024, 2024, 2025, 2025, 2025, 2024],
        "measure": ["awareness_index", "knowledge", "awareness_index", "awareness_index", "knowledge", None],
        "domain": ["overall", "sex", "overall", "overall", "sex", "sex"],
        "domain_value": ["all", "female", "all", "all", None, "male"],
        "estimate": [50.0, 40.5, 55.0, 99.0, float("nan"), 1.0]})
    table = plain_records(main.drop_duplicates(["measure", "domain", "domain_value"]))
    cells = _first_cells(main)
    new = [{w: cells.get((w, r["measure"], r["domain"], r["domain_value"])) for w in (2024, 2025)} for r in table]
    assert new == _old_cells(main, table, [2024, 2025])
    assert new[0][2025]["estimate"] == 55.0     # the first of two rows with the same key


def test_sharing_skips_files_written_as_store_entries_and_shares_the_rest(tmp_path):
    publications = tmp_path / "publications"
    first = F.building_dir(publications, "p1")
    with F.sharing_into(F.store_of(first)):
        F.write_bytes(first / "data" / "a.csv", b"alpha\n")
    (first / "copied.txt").write_bytes(b"written by someone else\n")
    one = F.share_unchanged_files(publications, first)
    assert one["files"] == 3 and one["hashed"] == 2     # a.csv (stored as written), copied.txt, .owner (read back)
    second = F.building_dir(publications, "p2")
    with F.sharing_into(F.store_of(second)):
        F.write_bytes(second / "data" / "a.csv", b"alpha\n")          # linked from the store at once
    (second / "copied.txt").write_bytes(b"written by someone else\n")
    two = F.share_unchanged_files(publications, second)
    assert two["files"] == 3 and two["hashed"] == 2 and two["shared"] == 2    # copied.txt, .owner: read back, shared
    for name in ("data/a.csv", "copied.txt"):
        assert os.stat(first / name).st_ino == os.stat(second / name).st_ino
    again = F.share_unchanged_files(publications, second)
    assert again["shared"] == 0 and again["files"] == two["files"]


def test_drop_cached_blocks_evicts_and_keeps_the_limit(tmp_path):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table t as select range as i, repeat('x', 50) || range as s from range(300000)")
    con = duckdb.connect(str(db), read_only=True, config={"memory_limit": "256MB", "threads": "1"})
    limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    con.execute("select count(*), max(s) from t").fetchall()

    def cached():
        return con.execute("select memory_usage_bytes from duckdb_memory() where tag = 'BASE_TABLE'").fetchone()[0]

    before = cached()
    assert before > 2**20
    drop_cached_blocks(con, "256MB")      # as configured (current_setting shows it rounded)
    assert cached() <= 2**20            # what fits the 1 MB the limit is lowered to
    assert con.execute("select current_setting('memory_limit')").fetchone()[0] == limit
    assert con.execute("select count(*) from t").fetchone()[0] == 300000
    con.close()
