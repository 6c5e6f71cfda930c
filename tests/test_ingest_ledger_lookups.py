"""The ledger's look-ups for settling a new month (ledger.read_history_of, ledger.holds_received): only the
contents asked about, only the family's rows, and the kept files' received_at checked in SQL."""
from datetime import datetime

import duckdb

from phakhi.ingest import ledger

T1, T2 = datetime(2026, 1, 1, 8, 30, 0, 123456), datetime(2026, 2, 1)


def _ledger(home):
    home.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(ledger.ledger_path(home)))
    con.execute(ledger._DDL)
    for h, fam, t in (("a", "activity_reports", T1), ("b", "activity_reports", T2), ("c", "ghg_reductions", T1)):
        con.execute("insert into landing_files (file_hash, family, file, received_at, status) values (?, ?, ?, ?, ?)",
                    [h, fam, f"{fam}/{h}.xlsx", t, "current"])
    con.close()


def test_history_of_some_contents_is_the_whole_history_restricted_to_them(tmp_path):
    _ledger(tmp_path)
    whole = ledger.read_history(tmp_path, "activity_reports", ledger.SETTLE_COLUMNS)["activity_reports"]
    got = ledger.read_history_of(tmp_path, "activity_reports", ["a", "c", "zz"])
    assert got == {"a": whole["a"]}                      # c is another family's; zz was never received
    assert ledger.read_history_of(tmp_path, "activity_reports", []) == {}
    assert ledger.read_history_of(tmp_path / "none", "activity_reports", ["a"]) == {}


def test_holds_received_only_when_every_content_is_the_familys_with_that_received_at(tmp_path):
    _ledger(tmp_path)
    fam = "activity_reports"
    assert ledger.holds_received(tmp_path, fam, [("a", T1), ("b", T2), ("a", T1)])     # a copy: the same row
    assert not ledger.holds_received(tmp_path, fam, [("a", T1), ("b", T1)])            # another received_at
    assert not ledger.holds_received(tmp_path, fam, [("a", T1), ("c", T1)])            # another family's
    assert not ledger.holds_received(tmp_path, fam, [("a", T1), ("zz", T1)])           # not in the ledger
    assert not ledger.holds_received(tmp_path, fam, [("a", None)])
    assert not ledger.holds_received(tmp_path / "none", fam, [("a", T1)])
    assert ledger.holds_received(tmp_path, fam, [])
