import os

import pandas as pd
import pytest

from phakhi.publish.files import (current_latest, finalise, list_publications, neutralise_formulas, building_dir,
                                 switch_latest, write_table)


def test_formula_payloads_are_neutralised_but_numbers_are_not():
    df = pd.DataFrame({"title": ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "ok", None],
                       "value": [-1.5, 2, 3, 4, 5, 6]})
    out = neutralise_formulas(df)
    assert out["title"].tolist()[:5] == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "ok"]
    assert out["value"].tolist() == [-1.5, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("cells", [
    ["ok", "fine"],                            # text only, no formula: left as it is
    ["ok", "\t=tab", "x"],                    # a formula among text only
    ["line one\n=not a cell start", "ok"],    # a newline inside a cell: no cell starts with a prefix
    ["ok", None, "-3"],                        # text and a missing value
    ["ok", 7, "@x"],                           # text and a number (mixed-integer)
    [None, None],                              # nothing at all
    [1.5, -2.5],                               # numbers only: data, never changed
    [b"=bytes", "ok"],                         # bytes are not text
])
def test_neutralise_formulas_changes_exactly_the_cells_that_start_with_a_prefix(cells):
    df = pd.DataFrame({"c": pd.Series(cells, dtype=object)})
    out = neutralise_formulas(df)
    expected = ["'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" and v else v for v in cells]
    assert out["c"].tolist() == expected
    assert df["c"].tolist() == cells            # the input frame is not changed


def test_write_table_writes_csv_with_bom_and_parquet(tmp_path):
    df = pd.DataFrame({"name_th": ["เทศบาล", "=cmd"], "n": [1, 2]})
    csv_path, pq = write_table(df, tmp_path, "t")
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "'=cmd" in csv_path.read_text(encoding="utf-8-sig")
    assert pd.read_parquet(pq)["name_th"].tolist() == ["เทศบาล", "=cmd"]   # Parquet keeps the value as data


def test_publications_are_immutable_and_latest_switches_atomically(tmp_path):
    pubs = tmp_path / "publications"
    b1 = building_dir(pubs, "2025-11-r1")
    (b1 / "index.html").write_text("one")
    finalise(pubs, b1, "2025-11-r1")
    assert current_latest(pubs) == "2025-11-r1"
    b2 = building_dir(pubs, "2025-12-r2")
    (b2 / "index.html").write_text("two")
    finalise(pubs, b2, "2025-12-r2")
    assert (pubs / "latest" / "index.html").read_text() == "two"
    assert os.readlink(pubs / "latest") == "2025-12-r2"          # relative link
    with pytest.raises(FileExistsError):
        finalise(pubs, building_dir(pubs, "2025-12-r2"), "2025-12-r2")
    switch_latest(pubs, "2025-11-r1")
    assert (pubs / "latest" / "index.html").read_text() == "one"
    assert [p["id"] for p in list_publications(pubs)] == ["2025-11-r1", "2025-12-r2"]
    assert [p["latest"] for p in list_publications(pubs)] == [True, False]
    with pytest.raises(FileNotFoundError):
        switch_latest(pubs, "no-such-id")
