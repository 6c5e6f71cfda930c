"""The refresh releases the ingest results once load_raw has put them in the warehouse (flows/pipeline.py):
the later stages' peak memory must not include the million-row frames."""
from __future__ import annotations

import pandas as pd

from phakhi.ingest.files import FamilyResult
from phakhi.ingest.landing import LandingResults


def test_release_empties_the_frames_of_every_result_even_one_held_elsewhere():
    held = FamilyResult("activities", pd.DataFrame({"partner_id": ["P1"] * 1000, "period": ["2025-01"] * 1000}),
                        pd.DataFrame({"file": ["a.xlsx"], "reason": ["x"]}))
    results = LandingResults([held])
    assert len(results) == 1 and len(held.loaded) == 1000
    results.release()
    assert len(results) == 0
    assert len(held.loaded) == 0 and list(held.loaded.columns) == ["partner_id", "period"]   # columns kept
    assert len(held.quarantine) == 0 and held.files == []


def test_release_ingest_workers_stops_the_pool_and_its_processes():
    """Once the landing is ingested the flow stops the ingest pool: its workers' memory no longer counts in
    load_raw's, dbt's, the gate's and publish's peak (a later ingest starts a new pool)."""
    import os

    import psutil

    from phakhi.ingest import files
    from phakhi.ingest.landing import release_ingest_workers

    pool = files._pool(2)
    worker_pids = {pool.submit(os.getpid).result() for _ in range(4)}
    assert worker_pids and os.getpid() not in worker_pids
    release_ingest_workers()
    assert files._POOL is None
    assert not [p for p in worker_pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    again = files._pool(1)                      # a later ingest in the same process gets a new pool
    assert again.submit(os.getpid).result() not in worker_pids
    files.shutdown_pool()


def test_limit_malloc_arenas_leaves_an_explicit_setting_alone(monkeypatch):
    import platform

    from phakhi.ingest.landing import limit_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False       # whoever started the process chose: not overridden
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert limit_malloc_arenas() is (platform.libc_ver()[0] == "glibc")


def test_release_ingest_workers_also_stops_the_fork_server_and_a_later_pool_starts_it_again():
    """The fork server keeps the preloaded ingest modules in memory for the rest of the refresh; once the pool
    is stopped it goes too, and a later ingest in the same process still gets working workers."""
    import os
    from multiprocessing import forkserver

    import psutil

    from phakhi.ingest import files
    from phakhi.ingest.landing import release_ingest_workers

    if files._start_method() != "forkserver":
        import pytest
        pytest.skip("the ingest pool does not use the fork server here")
    files._pool(1).submit(os.getpid).result()
    server = forkserver._forkserver._forkserver_pid
    assert server and psutil.pid_exists(server)
    release_ingest_workers()
    assert forkserver._forkserver._forkserver_pid is None
    assert not psutil.pid_exists(server) or psutil.Process(server).status() == psutil.STATUS_ZOMBIE
    assert files._pool(1).submit(os.getpid).result() != os.getpid()     # started again on demand
    files.shutdown_pool()


def test_the_pool_stops_when_the_last_family_settling_here_ends_while_one_settles_apart(monkeypatch):
    """A family settling in its own process (landing.settle_family_apart) has its own pool; once no family
    settles in the refresh's process, that process's idle pool is stopped rather than kept beside the child:
    when the last family here ends during the child, or when the child starts with none here (the full
    settles here end before it: landing._FullSettles)."""
    from phakhi.ingest import landing

    stopped = []
    monkeypatch.setattr(landing, "release_ingest_workers", lambda: stopped.append(True))
    with landing._settling("here"):          # the registry, alone: nothing settles apart
        pass
    assert stopped == []
    here = landing._settling("here")
    here.__enter__()
    with landing._settling("apart"):
        with landing._settling("here"):
            pass
        assert stopped == []                 # one family still settles here
        here.__exit__(None, None, None)
        assert stopped == [True]
    with landing._settling("apart"):         # none settles here
        assert stopped == [True, True]
    with landing._settling(None):            # not a refresh (nothing spilled): never counted
        pass
    assert stopped == [True, True] and landing._SETTLING == {"here": 0, "apart": 0}


def _fake_settles(monkeypatch, landing, gates):
    """settle_family_cached's two settles replaced: each records when it runs and waits for its gate."""
    import threading

    events, entered = [], {f: threading.Event() for f in gates}

    def settle(family, result):
        events.append(f"{family} in")
        entered[family].set()
        assert gates[family].wait(10)
        events.append(f"{family} out")
        return result

    def settle_here(paths, family, files, known, run_at, workers, progress, record, spill, only=None):
        if only == "incremental":
            if family == "big":
                assert gates["decide"].wait(10)
            return "settled incrementally" if family == "month" else None
        return settle(family, family)

    monkeypatch.setattr(landing, "_settle_family_cached", settle_here)
    monkeypatch.setattr(landing, "settle_family_apart", lambda paths, family, *a: settle(family, family))
    monkeypatch.setattr(landing, "release_ingest_workers", lambda: None)
    monkeypatch.setattr(landing, "APART_FROM_FILES", 2)
    return events, entered


def _settle_in_thread(landing, tmp_path, family, n, got):
    import threading

    def run():
        got[family] = landing.settle_family_cached(tmp_path, family, [tmp_path / f"{k}.xlsx" for k in range(n)],
                                                   None, None, spill=tmp_path)
    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_full_settle_here_waits_for_a_large_family_deciding_and_settling_apart(monkeypatch, tmp_path):
    """When every family settles in full (a change to the settling code), the families here settle after the
    large family's child, not beside it (landing._FullSettles): this process is at its smallest through the
    child's peak. A usual month's settle never waits."""
    import threading

    from phakhi.ingest import landing

    gates = {"decide": threading.Event(), "big": threading.Event(), "small": threading.Event()}
    events, entered = _fake_settles(monkeypatch, landing, gates)
    got = {}
    big = _settle_in_thread(landing, tmp_path, "big", 2, got)
    small = _settle_in_thread(landing, tmp_path, "small", 1, got)
    _settle_in_thread(landing, tmp_path, "month", 1, got).join(10)
    assert got == {"month": "settled incrementally"}          # an incremental settle: not held up
    assert not entered["small"].wait(0.3)      # the big family is still deciding
    gates["decide"].set()
    assert entered["big"].wait(10) and not entered["small"].wait(0.3)      # ... then settles apart, alone
    gates["big"].set()
    gates["small"].set()
    big.join(10)
    small.join(10)
    assert events == ["big in", "big out", "small in", "small out"]
    assert got == {"month": "settled incrementally", "big": "big", "small": "small"}


def test_a_full_settle_apart_waits_for_a_full_settle_here_already_running(monkeypatch, tmp_path):
    import threading

    from phakhi.ingest import landing

    gates = {"decide": threading.Event(), "big": threading.Event(), "small": threading.Event()}
    events, entered = _fake_settles(monkeypatch, landing, gates)
    gates["decide"].set()
    got = {}
    small = _settle_in_thread(landing, tmp_path, "small", 1, got)
    assert entered["small"].wait(10)
    big = _settle_in_thread(landing, tmp_path, "big", 2, got)
    assert not entered["big"].wait(0.3)        # the child waits for the full settle here
    gates["small"].set()
    gates["big"].set()
    big.join(10)
    small.join(10)
    assert events == ["small in", "small out", "big in", "big out"] and got == {"big": "big", "small": "small"}
