"""Open-data files a month did not change are linked from the content store, never formatted again
(phakhi.publish.known_tables), and are the very bytes files.write_table gives for the same frame."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from phakhi.publish import known_tables as K
from phakhi.publish.files import building_dir, sharing_into, store_of, write_partitions, write_table


def _ledger(n: int = 30) -> pd.DataFrame:
    return pd.DataFrame({
        "period": [f"2025-{1 + i % 3:02d}" for i in range(n)],
        "partner_id": [f"P{i:03d}" for i in range(n)],
        "reduction_tco2e": [i * 1.5 if i % 7 else np.nan for i in range(n)],
        "count": pd.array([i if i % 5 else None for i in range(n)], dtype="Int32"),
        "note": ["=SUM(A1)" if i == 4 else f"ข้อความ {i}" for i in range(n)],
        "day": pd.to_datetime([f"2025-01-{1 + i % 28:02d}" for i in range(n)]),
    })


def _publish(pubs, pub_id, df):
    out = building_dir(pubs, pub_id)
    known = K.KnownTables(store_of(out))
    with sharing_into(store_of(out)):
        months = write_partitions(df, out / "data" / "ghg_ledger", "period", known.write_table)
        known.write_table(df, out / "data", "whole")
    known.save()
    return out, months, known


def _formatted_plainly(df, folder):
    """The files of `_publish` as files.write_table formats them, without any index or store."""
    write_partitions(df, folder / "data" / "ghg_ledger", "period")
    write_table(df, folder / "data", "whole")
    return _tree(folder)


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".owner"}


def test_unchanged_frames_are_linked_with_the_bytes_write_table_gives(tmp_path):
    pubs = tmp_path / "publications"
    df = _ledger()
    first, months, known = _publish(pubs, "one", df)
    assert months == ["2025-01", "2025-02", "2025-03"] and known.linked == 0
    assert (pubs / K.INDEX_FILE).is_file()

    changed = df.copy()
    changed.loc[changed["period"] == "2025-03", "reduction_tco2e"] += 1       # one month changes
    second, _, known = _publish(pubs, "two", changed)
    assert known.linked == 2 * 2 + 0        # months 01 and 02, CSV + Parquet each; the whole table changed
    for month in ("2025-01", "2025-02"):
        for ext in ("csv", "parquet"):
            a, b = first / f"data/ghg_ledger/{month}.{ext}", second / f"data/ghg_ledger/{month}.{ext}"
            assert os.stat(a).st_ino == os.stat(b).st_ino
    assert os.stat(first / "data/ghg_ledger/2025-03.csv").st_ino != os.stat(second / "data/ghg_ledger/2025-03.csv").st_ino

    # the same bytes as formatted without any index
    assert _tree(second) == _formatted_plainly(changed, tmp_path / "plain")


def test_a_different_type_or_a_lost_store_entry_is_formatted_again(tmp_path):
    pubs = tmp_path / "publications"
    df = _ledger()
    _publish(pubs, "one", df)
    # same values, another pandas type (the Parquet file records it): not the same files
    other = df.assign(count=df["count"].astype("float64"))
    _, _, known = _publish(pubs, "two", other)
    assert known.linked == 0
    # a store entry lost meanwhile: that file is formatted again, the others linked
    (pubs / K.INDEX_FILE).unlink()
    _publish(pubs, "three", df)
    for obj in (pubs / ".objects").glob("*/*"):
        obj.unlink()
    out, _, known = _publish(pubs, "four", df)
    assert known.linked == 0
    assert _tree(out) == _formatted_plainly(df, tmp_path / "plain")


def test_a_damaged_index_is_an_empty_one(tmp_path):
    pubs = tmp_path / "publications"
    pubs.mkdir()
    (pubs / K.INDEX_FILE).write_bytes(b"\xff\xfe garbage\n")
    out, _, known = _publish(pubs, "one", _ledger())
    assert known.linked == 0 and (out / "data" / "whole.csv").is_file()


def test_the_key_follows_values_order_and_types():
    df = _ledger()
    key = K.frame_key(df, "x")
    assert key == K.frame_key(df.copy(), "x")
    assert key != K.frame_key(df, "y")
    assert key != K.frame_key(df.iloc[::-1].reset_index(drop=True), "x")
    assert key != K.frame_key(df.assign(note=df["note"] + "!"), "x")
    zero, minus_zero = df.assign(reduction_tco2e=0.0), df.assign(reduction_tco2e=-0.0)   # CSV: 0.0 / -0.0
    assert K.frame_key(zero, "x") != K.frame_key(minus_zero, "x")
    assert key != K.frame_key(df.assign(count=df["count"].astype("float64")), "x")
