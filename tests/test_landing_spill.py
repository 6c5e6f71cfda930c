"""Settled rows spilled to disk as each family settles (phakhi/ingest/landing.py:spill_result): the refresh
holds no million-row frames between ingest and load_raw, and the raw tables stay exactly what they were --
the same types, the same rows in the same order."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from phakhi.ingest import landing
from phakhi.settings import use_home


@pytest.fixture(scope="module")
def sample_results(tmp_path_factory):
    from phakhi.sample import write_sample

    paths = use_home(tmp_path_factory.mktemp("spill") / "home")
    write_sample(paths.landing)
    return paths, landing.ingest_landing(paths, record=False, workers=1)


def _tables(db) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'raw' order by 1").fetchall()]
        out = {}
        for t in names:
            types = con.execute(f"select column_name, data_type from information_schema.columns where table_schema "
                                f"= 'raw' and table_name = '{t}' order by ordinal_position").fetchall()
            cols = [c for c, _ in types if not (t == "ingest_manifest" and c == "received_at")]
            rows = con.execute(f'select {", ".join(chr(34) + c + chr(34) for c in cols)} from raw."{t}"').fetchall()
            out[t] = (types, rows)
        return out


def test_spilled_families_load_the_same_raw_tables_and_read_back_the_same_frames(sample_results, tmp_path):
    paths, results = sample_results
    frames = {r.family: r.loaded.copy() for r in results}
    months = {r.family: landing.partner_months(r) for r in results}
    plain_db, spilled_db = tmp_path / "plain.duckdb", tmp_path / "spilled.duckdb"
    report_plain = landing.load_raw(plain_db, results)

    spilled = [landing.spill_result(r, tmp_path / "landed") if r.family != landing.REGISTRY else r for r in results]
    assert {type(r).__name__ for r in spilled} == {"FamilyResult", "SpilledResult"}
    for r in spilled:
        assert landing.loaded_rows(r) == len(frames[r.family])
        assert landing.partner_months(r) == months[r.family]
        pd.testing.assert_frame_equal(r.loaded, frames[r.family])      # read back: same dtypes, values, order
    assert months["activity_reports"]                                 # the pairs were really counted
    report_spilled = landing.load_raw(spilled_db, spilled)

    pd.testing.assert_frame_equal(report_plain, report_spilled)
    plain, other = _tables(plain_db), _tables(spilled_db)
    assert plain.keys() == other.keys() and "activity_reports" in plain
    for t in plain:
        assert plain[t] == other[t], t                                 # column types, rows and row order

    # release: the rows are in the warehouse, the files go; the counts and columns stay
    files = [r.path for r in spilled if isinstance(r, landing.SpilledResult)]
    assert files and all(f.exists() for f in files)
    held = landing.LandingResults(spilled)
    held.release()
    assert not any(f.exists() for f in files)
    act = next(r for r in spilled if r.family == "activity_reports")
    assert len(act.loaded) == 0 and list(act.loaded.columns) == list(frames["activity_reports"].columns)
    with pytest.raises(RuntimeError, match="discarded"):
        with duckdb.connect(str(tmp_path / "again.duckdb")) as con:
            act.copy_into(con)


def test_settle_family_cached_spills_every_family_but_the_registry(sample_results, tmp_path):
    """What the refresh's ingest task runs: the registry stays in memory (the other families are checked
    against its partner ids), every other family comes back spilled, with its rows in the file."""
    paths, _ = sample_results
    plan = landing.plan_landing(paths, batch_size=1 << 62)
    spill = tmp_path / "landed"
    reg = landing.settle_family_cached(paths, landing.REGISTRY, plan.files[landing.REGISTRY], None, plan.run_at,
                                       workers=1, record=False, spill=spill)
    assert not isinstance(reg, landing.SpilledResult) and len(reg.loaded)
    fam = "ghg_reductions"
    expected = landing.settle_family_cached(paths, fam, plan.files[fam], landing.known_ids(fam, reg), plan.run_at,
                                            workers=1, record=False)
    got = landing.settle_family_cached(paths, fam, plan.files[fam], landing.known_ids(fam, reg), plan.run_at,
                                       workers=1, record=False, spill=spill)
    assert isinstance(got, landing.SpilledResult) and got.path == spill / f"{fam}.duckdb"
    assert got.rows == len(expected.loaded) > 0
    pd.testing.assert_frame_equal(got.loaded, expected.loaded)
    with pytest.raises(AttributeError):
        got.loaded = expected.loaded          # the rows live in the file; nothing replaces them in memory


def test_a_large_family_settles_in_its_own_process_to_the_same_rows_and_ledger(sample_results, tmp_path, monkeypatch):
    """A family with many files is read, settled and spilled in a child process (its memory goes back whole
    when the child ends); the rows, the file report, the progress ticks and the ledger are those of settling
    it here."""
    paths, _ = sample_results
    plan = landing.plan_landing(paths, batch_size=1 << 62)
    reg = landing.settle_family_cached(paths, landing.REGISTRY, plan.files[landing.REGISTRY], None, plan.run_at,
                                       workers=1)
    fam = "activity_reports"
    known = landing.known_ids(fam, reg)
    here = landing.settle_family_cached(paths, fam, plan.files[fam], known, plan.run_at, workers=1, record=False)
    ticks = []
    monkeypatch.setattr(landing, "APART_FROM_FILES", 1)
    apart = landing.settle_family_cached(paths, fam, plan.files[fam], known, plan.run_at, workers=1,
                                         progress=ticks.append, spill=tmp_path / "landed")
    assert isinstance(apart, landing.SpilledResult) and apart.rows == len(here.loaded) > 0
    pd.testing.assert_frame_equal(apart.loaded, here.loaded)
    pd.testing.assert_frame_equal(apart.file_report, here.file_report)
    pd.testing.assert_frame_equal(apart.quarantine, here.quarantine)
    assert sum(ticks) in (0, len(plan.files[fam]))          # ticks only for files read (none: all cached)
    from phakhi.ingest import ledger

    recorded = ledger.read_history(paths.home, fam)[fam]
    assert {o.file_hash for o in here.files} <= set(recorded)


def test_an_error_while_settling_apart_is_raised_in_the_refresh_process(sample_results, tmp_path, monkeypatch):
    paths, _ = sample_results
    monkeypatch.setattr(landing, "APART_FROM_FILES", 1)
    with pytest.raises(Exception) as info:
        landing.settle_family_apart(paths, "no_such_family", [paths.landing / "nothing.xlsx"], None,
                                    landing.ledger.utcnow(), tmp_path / "landed", workers=1)
    assert "no_such_family" in str(info.value) + "".join(getattr(info.value, "__notes__", []))


def test_the_refresh_ingest_task_returns_an_opaque_handle_around_a_spilled_result(sample_results):
    """Prefect walks what a task returns: a FamilyResult (a dataclass, one outcome per file) cost +440 MB at
    16,000 files. The refresh's ingest task returns it inside `landing.Carried` (not a dataclass), which a Dask
    runner's pickle carries whole (tests/test_dask_ingest.py)."""
    import dataclasses
    import pickle

    from flows.pipeline import ingest_family

    paths, _ = sample_results
    plan = landing.plan_landing(paths, batch_size=1 << 62)
    reg = landing.settle_family_cached(paths, landing.REGISTRY, plan.files[landing.REGISTRY], None, plan.run_at,
                                       workers=1, record=False)
    fam = "ghg_reductions"
    out = ingest_family.fn(paths, fam, plan.files[fam], landing.known_ids(fam, reg), plan.run_at)
    assert isinstance(out, landing.Carried) and not dataclasses.is_dataclass(out)
    assert isinstance(out.value, landing.SpilledResult) and out.value.rows > 0
    back = pickle.loads(pickle.dumps(out)).value        # what a process-based runner hands back
    assert back.family == fam and back.rows == out.value.rows
    held = landing.LandingResults([out.value])
    held.release()
