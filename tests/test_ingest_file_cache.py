"""Ingest in proportion: per-file outcomes cached by content hash + code fingerprint; reused only while every
registry look-up the file made still gives the same answer; identical to ingesting afresh."""
from __future__ import annotations

import os
import pickle
from datetime import datetime
from pathlib import Path

from phakhi.ingest.archive import pack_entries
from phakhi.ingest.ledger import read_archived
from phakhi.ingest.file_cache import FileOutcomeCache, ingest_files_cached
from phakhi.ingest.files import assemble_family, ingest_files

from test_ingest import rows_for, write_csv


def _files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    return [write_csv(folder / "P001_2025-01.csv", rows_for("activity_reports", n_good=3)),
            write_csv(folder / "P002_2025-01.csv", rows_for("activity_reports", {"partner_id": "P002"}, n_good=1)),
            write_csv(folder / "bad.csv", rows_for("activity_reports", {"participants_total": "-5"}))]


def _plain(outcomes):
    return [(o.file, o.file_hash, o.status, o.rows_loaded, o.rows_quarantined, o.records, o.problems) for o in outcomes]


def test_cache_reuses_unchanged_files_and_equals_a_fresh_ingest(tmp_path):
    landing = tmp_path / "landing"
    files = _files(landing / "activity_reports")
    known = {"partner_id": {"P001"}}
    cache = FileOutcomeCache(tmp_path / "cache", code_fingerprint="code-v1", index_name="activity_reports")
    first = ingest_files_cached("activity_reports", files, landing, known, cache, workers=1)
    assert (cache.stats.reused, cache.stats.ingested, cache.stats.hashed) == (0, 3, 3)
    fresh = ingest_files("activity_reports", files, landing, known, workers=1)
    assert _plain(first) == _plain(fresh)
    cache.save_index()

    # a new run: nothing changed -> nothing read (not even hashed), same outcomes, same settled family
    again = FileOutcomeCache(tmp_path / "cache", code_fingerprint="code-v1", index_name="activity_reports")
    second = ingest_files_cached("activity_reports", files, landing, known, again, workers=1)
    assert (again.stats.reused, again.stats.ingested, again.stats.hashed) == (3, 0, 0)
    assert _plain(second) == _plain(fresh)
    at = datetime(2025, 2, 1)
    a, b = assemble_family("activity_reports", fresh, run_at=at), assemble_family("activity_reports", second, run_at=at)
    assert a.loaded.equals(b.loaded) and a.quarantine.equals(b.quarantine) and a.file_report.equals(b.file_report)

    # one file changes -> only it is read; a file moved keeps its outcome under its new name
    write_csv(files[0], rows_for("activity_reports", n_good=4))
    os.rename(files[2], landing / "activity_reports" / "renamed.csv")
    moved = [files[0], files[1], landing / "activity_reports" / "renamed.csv"]
    third_cache = FileOutcomeCache(tmp_path / "cache", code_fingerprint="code-v1", index_name="activity_reports")
    third = ingest_files_cached("activity_reports", moved, landing, known, third_cache, workers=1)
    assert (third_cache.stats.reused, third_cache.stats.ingested) == (2, 1)
    assert _plain(third) == _plain(ingest_files("activity_reports", moved, landing, known, workers=1))
    assert all(p["file"] == "activity_reports/renamed.csv" for p in third[2].problems)


def test_registry_change_rereads_only_files_naming_that_partner(tmp_path):
    landing = tmp_path / "landing"
    files = _files(landing / "activity_reports")
    cache = FileOutcomeCache(tmp_path / "cache", code_fingerprint="c", index_name="a")
    before = ingest_files_cached("activity_reports", files, landing, {"partner_id": {"P001"}}, cache, workers=1)
    assert before[1].rows_quarantined == 1                         # P002 unknown: quarantined
    cache = FileOutcomeCache(tmp_path / "cache", code_fingerprint="c", index_name="a")
    after = ingest_files_cached("activity_reports", files, landing, {"partner_id": {"P001", "P002", "P003"}},
                                cache, workers=1)
    assert (cache.stats.reused, cache.stats.ingested) == (2, 1)    # only the file naming P002 is read again
    assert after[1].rows_quarantined == 0 and after[1].rows_loaded == 2
    # other code or contracts: nothing reused
    other = FileOutcomeCache(tmp_path / "cache", code_fingerprint="c2", index_name="a")
    ingest_files_cached("activity_reports", files, landing, {"partner_id": {"P001"}}, other, workers=1)
    assert other.stats.reused == 0


def test_damaged_cache_entries_are_read_again(tmp_path):
    landing = tmp_path / "landing"
    files = _files(landing / "activity_reports")
    cache = FileOutcomeCache(tmp_path / "cache", code_fingerprint="c")
    ingest_files_cached("activity_reports", files, landing, None, cache, workers=1)
    for entry in (tmp_path / "cache" / "outcomes").rglob("*.pkl"):
        entry.write_bytes(b"not a pickle")
    cache.save_index()
    (tmp_path / "cache" / "stat_index-all.pkl").write_bytes(pickle.dumps("garbage"))
    cache = FileOutcomeCache(tmp_path / "cache", code_fingerprint="c")
    out = ingest_files_cached("activity_reports", files, landing, None, cache, workers=1)
    assert cache.stats.ingested == 3 and _plain(out) == _plain(ingest_files("activity_reports", files, landing, None, workers=1))


def test_landing_settled_per_family_equals_the_plain_ingest(tmp_path):
    """The refresh's path (per-family cache + settling, then the manifest) loads exactly what the plain
    `ingest_landing` loads, and a second run reads no file."""
    import pickle as _pickle

    import pandas as pd

    from phakhi.ingest.landing import (LandingResults, ingest_landing, ingest_landing_settled, plan_landing,
                                       run_jobs_locally)
    from phakhi.settings import Paths
    from test_benchmarks_national import _national

    paths = Paths.from_env(tmp_path).ensure()
    _national().generate(paths.landing, scale=0.002, months=1, workers=1)
    # the reference: every file read again in batches, no cache (ingest_landing alone is the cached path now)
    plain = ingest_landing(paths, run_jobs=lambda jobs: run_jobs_locally(jobs, paths.landing, 1), record=False)
    plan = plan_landing(paths)
    settled = ingest_landing_settled(paths, record=False, plan=plan)
    assert isinstance(settled, LandingResults) and len(settled) == len(plain)
    for a, b in zip(plain, settled):
        assert a.family == b.family and a.totals == b.totals
        pd.testing.assert_frame_equal(a.loaded.reset_index(drop=True), b.loaded.reset_index(drop=True))
    # the handle pickles small and resolves to the same results in this process
    assert len(_pickle.dumps(settled)) < 300 and _pickle.loads(_pickle.dumps(settled)) is settled
    again = ingest_landing_settled(paths, record=False, plan=plan)
    assert [r.totals for r in again] == [r.totals for r in settled]
    store = tmp_path / "cache" / "ingest"
    assert not list(store.rglob("*.tmp"))
    assert _entries(store) == sum(r.totals["files"] for r in settled)


def _entries(store) -> int:
    """Cached outcomes: one file each, or many in a pack (written by a pool worker)."""
    single = [p for p in (store / "outcomes").rglob("*.pkl") if p.parent.name != "packs"]
    return len(single) + sum(len(pickle.loads(p.read_bytes())[1]) for p in (store / "outcomes" / "packs").glob("*.pkl"))


def test_a_native_crash_in_a_reader_rejects_that_file_on_the_cached_path_too(tmp_path, monkeypatch):
    """The refresh's path keeps a crashing reader in its worker, as files.ingest_files does: the file is
    rejected with a reason (and not cached: the next run tries it again), the others are ingested."""
    import os
    from pathlib import Path

    from phakhi.doctor import ACTIVITY_HEADER, activity_row, csv_bytes
    from phakhi.ingest import file_cache, files
    from phakhi.ingest.file_cache import FileOutcomeCache, ingest_files_cached

    monkeypatch.setenv("PHAKHI_INGEST_START_METHOD", "fork")       # the patched reader reaches the workers
    real = file_cache.ingest_file

    def crashing(family, path, landing=None, known=None, **kw):
        if Path(path).name == "boom.csv":
            os.abort()
        return real(family, path, landing, known, **kw)

    monkeypatch.setattr(file_cache, "ingest_file", crashing)
    monkeypatch.setattr(file_cache, "MIN_FILES_FOR_POOL", 2)
    paths = []
    for name in ("a.csv", "boom.csv", "c.csv", "d.csv"):
        p = tmp_path / name
        p.write_bytes(csv_bytes(ACTIVITY_HEADER, [activity_row(1)]))
        paths.append(p)
    cache = FileOutcomeCache(tmp_path / "cache")
    files.shutdown_pool()
    try:
        out = ingest_files_cached("activity_reports", paths, tmp_path, None, cache, workers=2)
    finally:
        files.shutdown_pool()
    by = {o.file: o for o in out}
    assert (by["boom.csv"].status, by["boom.csv"].rule) == ("rejected", "reader_crashed")
    assert all(by[n].status == "loaded" for n in ("a.csv", "c.csv", "d.csv"))
    assert cache.get("activity_reports", by["boom.csv"].file_hash, None) is None


def test_pool_workers_write_packs_that_later_runs_reuse(tmp_path, monkeypatch):
    """Files read in the process pool are cached by the worker, one pack per chunk (and archived there when
    asked); a later run finds every outcome in the packs; a damaged pack only means reading again."""
    from phakhi.ingest import file_cache
    from test_benchmarks_national import _national

    monkeypatch.setattr(file_cache, "MIN_FILES_FOR_POOL", 1)
    landing = tmp_path / "landing"
    _national().generate(landing, scale=0.002, months=2, workers=1)
    files = sorted((landing / "activity_reports").rglob("*.xlsx"))
    store = tmp_path / "cache"
    cache = FileOutcomeCache(store, code_fingerprint="c", index_name="activity_reports")
    archive = tmp_path / "home" / "landing_archive"
    first = ingest_files_cached("activity_reports", files, landing, None, cache, workers=2,
                                archive=(archive, tmp_path / "home"))
    cache.save_index()
    assert list((store / "outcomes" / "packs").glob("*.pkl")) and _entries(store) == len(files)
    packed = {}
    for pack in archive.rglob("*.pack"):
        packed.update(pack_entries(str(pack)))
    assert set(packed) == {o.file_hash for o in first}           # each content archived once, in packs
    assert all(read_archived(tmp_path / "home", o.file_hash) == o_path.read_bytes()
               for o, o_path in ((o, Path(o.path)) for o in first))
    plain = ingest_files("activity_reports", files, landing, None, workers=1)
    assert _plain(first) == _plain(plain)
    again = FileOutcomeCache(store, code_fingerprint="c", index_name="activity_reports")
    second = ingest_files_cached("activity_reports", files, landing, None, again, workers=2)
    assert (again.stats.reused, again.stats.ingested) == (len(files), 0) and _plain(second) == _plain(plain)
    for pack in (store / "outcomes" / "packs").glob("*.pkl"):
        pack.write_bytes(b"not a pickle")
    third = FileOutcomeCache(store, code_fingerprint="c", index_name="activity_reports")
    out = ingest_files_cached("activity_reports", files, landing, None, third, workers=2)
    assert third.stats.ingested == len(files) and _plain(out) == _plain(plain)


def test_known_sets_shipped_once_to_the_pool_give_the_same_outcomes_and_answers(tmp_path, monkeypatch):
    """The pool's chunks carry the known-id sets pickled once (PickledKnown); outcomes and recorded look-ups
    equal one process's, and a worker holding another family's (or an older registry's) sets reads the new
    ones."""
    from phakhi.ingest import file_cache, files as load
    from phakhi.ingest.file_cache import PickledKnown, _unpickled

    monkeypatch.setattr(file_cache, "MIN_FILES_FOR_POOL", 1)
    landing = tmp_path / "landing"
    paths = _files(landing / "activity_reports")
    load.shutdown_pool()
    try:
        for known in ({"partner_id": {"P001"}}, {"partner_id": {"P001", "P002"}}):
            answers_one, answers_pool = [], []
            one = ingest_files_cached("activity_reports", paths, landing, known,
                                      FileOutcomeCache(tmp_path / "one", code_fingerprint="c"), workers=1,
                                      answers=answers_one)
            pool = ingest_files_cached("activity_reports", paths, landing, known,
                                       FileOutcomeCache(tmp_path / "pool", code_fingerprint="c"), workers=2,
                                       answers=answers_pool)
            assert _plain(pool) == _plain(one) and answers_pool == answers_one
    finally:
        load.shutdown_pool()
    first, second = PickledKnown({"partner_id": {"P001"}}), PickledKnown({"partner_id": {"P002"}})
    assert _unpickled(first) == {"partner_id": {"P001"}} and _unpickled(first) is _unpickled(PickledKnown(
        {"partner_id": {"P001"}}))                                    # the same bytes: unpickled once
    assert _unpickled(second) == {"partner_id": {"P002"}} and _unpickled(None) is None


def test_the_hash_computed_for_the_cache_key_is_the_outcomes_only_while_the_file_has_that_stat(tmp_path, monkeypatch):
    """The reader takes the caller's content hash instead of hashing the bytes again, but only for the very
    file (size, mtime, inode) it was computed for: a file rewritten between the two is hashed again."""
    import hashlib

    from phakhi.ingest import files as load
    from phakhi.ingest.file_cache import ingest_file_probed

    landing = tmp_path / "landing"
    f = _files(landing / "activity_reports")[0]
    st = f.stat()
    real = hashlib.sha256(f.read_bytes()).hexdigest()
    calls, sha256 = [], hashlib.sha256
    monkeypatch.setattr(load.hashlib, "sha256", lambda b=b"": calls.append(len(b)) or sha256(b))
    out, _ = ingest_file_probed("activity_reports", f, landing, None, (st.st_size, st.st_mtime_ns, st.st_ino, real))
    assert out.file_hash == real and calls == []                      # not hashed twice
    stale = (st.st_size, st.st_mtime_ns - 1, st.st_ino, "0" * 64)  # computed for an earlier state of the file
    out, _ = ingest_file_probed("activity_reports", f, landing, None, stale)
    assert out.file_hash == real and calls == [st.st_size]
    # the cached path hands its hashes to the reader: same outcomes as a plain ingest, hashed once per file
    calls.clear()
    cache = FileOutcomeCache(tmp_path / "cache", code_fingerprint="code-v1", index_name="activity_reports")
    got = ingest_files_cached("activity_reports", [f], landing, None, cache, workers=1)
    assert st.st_size not in calls and cache.stats.hashed == 1         # (cache keys are hashed too)
    assert _plain(got) == _plain(ingest_files("activity_reports", [f], landing, None, workers=1))
