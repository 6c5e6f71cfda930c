"""A month appended to the kept settled state (settled.save with `since`) loads as the state written whole
would; anything else -- a state that does not only append, an appended month cut short or out of turn -- is
written whole or loads as None (the family then settles in full)."""
import pickle

import numpy as np
import pandas as pd

from phakhi.ingest import settled
from phakhi.ingest.files import FILE_REPORT_COLUMNS, QUARANTINE_COLUMNS, FamilyResult, FileOutcome

FAMILY = "activity_reports"
ROWS = "settled-activity_reports-0123456789ab.duckdb"


def _outcome(name: str) -> FileOutcome:
    return FileOutcome(FAMILY, name, f"/l/{name}", f"h-{name}", 10, 1.5, "loaded", rows_read=2, rows_loaded=2,
                       coverage={(name, "2025-01")}, key_cols=["partner_id", "period"])


def _report(names):
    out = pd.DataFrame({c: pd.Series([None] * len(names), dtype=object) for c in FILE_REPORT_COLUMNS})
    out["file"] = names
    out["rows_loaded"] = pd.Series([2] * len(names), dtype="int64")
    return out


def _quarantine(names):
    out = pd.DataFrame({c: pd.Series([None] * len(names), dtype=object) for c in QUARANTINE_COLUMNS})
    out["file"] = names
    out["row"] = pd.Series(range(len(names)), dtype="Int64")
    return out


def _state(files, quarantined, mark, kept=None):
    names = [o.file for o in files]
    result = FamilyResult(FAMILY, pd.DataFrame({"x": pd.Series([], dtype="int64")}), _quarantine(quarantined),
                          _report(names), files)
    return settled.Settled("code", FAMILY, {o.file: (o.file_hash, o.mtime, {}) for o in files}, result,
                           {c for o in files for c in o.coverage},
                           np.unique(np.array([hash(n) % 1000 for n in names], dtype=np.uint64)),
                           frozenset(), ROWS, 2 * len(files), mark,
                           frozenset(("2025-01", n) for n in names))


def _same(a: settled.Settled, b: settled.Settled) -> None:
    for name in ("file_report", "quarantine", "loaded"):
        pd.testing.assert_frame_equal(getattr(a.result, name), getattr(b.result, name), obj=name)
    assert [vars(o) for o in a.result.files] == [vars(o) for o in b.result.files]
    assert (a.inputs, a.coverage, a.rows, a.mark, a.partner_months, a.rows_db) == \
           (b.inputs, b.coverage, b.rows, b.mark, b.partner_months, b.rows_db)
    np.testing.assert_array_equal(a.keys, b.keys)


def _month(tmp_path, kept: settled.Settled, new_names, mark) -> settled.Settled:
    """What a month settled on top of `kept` gives (the kept outcomes themselves, then the new ones), saved."""
    files = kept.result.files + [_outcome(n) for n in new_names]
    quarantined = list(kept.result.quarantine["file"]) + new_names[:1]
    state = _state(files, quarantined, mark)
    settled.save(tmp_path, state, since=kept)
    return state


def test_appended_months_load_as_the_state_written_whole(tmp_path):
    settled.save(tmp_path, _state([_outcome("a1"), _outcome("a2")], ["a2"], "m0"))
    kept = settled.load(tmp_path, FAMILY, "code")
    size = (tmp_path / "settled-activity_reports.pkl").stat().st_size
    for k, names in enumerate((["b1", "b2"], ["c1"], [])):
        state = _month(tmp_path, kept, names, f"m{k + 1}")
        kept = settled.load(tmp_path, FAMILY, "code")
        _same(kept, state)
        assert kept.appended == k + 1
    assert (tmp_path / "settled-activity_reports.pkl").stat().st_size > size     # appended to, not rewritten
    whole = tmp_path / "whole"
    settled.save(whole, state)                                                    # the same state written whole
    _same(settled.load(whole, FAMILY, "code"), kept)


def test_a_state_that_does_not_only_append_is_written_whole(tmp_path):
    settled.save(tmp_path, _state([_outcome("b1"), _outcome("b2")], [], "m0"))
    kept = settled.load(tmp_path, FAMILY, "code")
    files = sorted(kept.result.files + [_outcome("a0")], key=lambda o: o.file)  # a file among the kept ones
    state = _state(files, [], "m1")
    settled.save(tmp_path, state, since=kept)
    got = settled.load(tmp_path, FAMILY, "code")
    _same(got, state)
    assert got.appended == 0


def test_after_max_appended_months_the_state_is_written_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(settled, "MAX_APPENDED", 2)
    settled.save(tmp_path, _state([_outcome("a1")], [], "m0"))
    for k in range(3):
        kept = settled.load(tmp_path, FAMILY, "code")
        _month(tmp_path, kept, [f"b{k}"], f"m{k + 1}")
    got = settled.load(tmp_path, FAMILY, "code")
    assert got.appended == 0 and [o.file for o in got.result.files] == ["a1", "b0", "b1", "b2"]


def test_an_appended_month_cut_short_or_out_of_turn_loads_as_nothing(tmp_path):
    path = tmp_path / "settled-activity_reports.pkl"
    settled.save(tmp_path, _state([_outcome("a1")], [], "m0"))
    kept = settled.load(tmp_path, FAMILY, "code")
    before = path.read_bytes()
    _month(tmp_path, kept, ["b1"], "m1")
    whole = path.read_bytes()
    path.write_bytes(whole[:-7])                                  # a crash while appending
    assert settled.load(tmp_path, FAMILY, "code") is None
    part = pickle.loads(whole[len(before):])
    path.write_bytes(whole + pickle.dumps(part))                  # the same month twice: not on top of m1
    assert settled.load(tmp_path, FAMILY, "code") is None
    path.write_bytes(whole)
    assert settled.load(tmp_path, FAMILY, "code").mark == "m1"


def test_an_earlier_versions_state_is_refused_unread(tmp_path, monkeypatch):
    """A file without the header was written by an earlier version of settled.py, so under other code (a
    state's code covers settled.py): refused without unpickling it; the family settles in full, and its
    next month is appended to the state written whole then."""
    state = _state([_outcome("a1")], [], "m0")
    path = tmp_path / "settled-activity_reports.pkl"
    path.write_bytes(pickle.dumps((3, state)) + pickle.dumps(("month",)))      # as format 3 wrote it
    unpickled = []
    real = pickle.load
    monkeypatch.setattr(pickle, "load", lambda fh: unpickled.append(1) or real(fh))
    assert settled.load(tmp_path, FAMILY, "code") is None and not unpickled
    monkeypatch.undo()
    settled.save(tmp_path, state)
    kept = settled.load(tmp_path, FAMILY, "code")
    _same(kept, state)
    month = _month(tmp_path, kept, ["b1"], "m1")
    with path.open("rb") as fh:
        assert fh.read(len(settled.MAGIC)) == settled.MAGIC and pickle.load(fh) == ("code", FAMILY)
        pickle.load(fh)
        assert fh.read()                                                      # the month appended
    _same(settled.load(tmp_path, FAMILY, "code"), month)
