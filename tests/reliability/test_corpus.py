"""The hostile-input corpus of `phakhi doctor` (issue 12), one test per case: every file is refused with a
reason or its rows loaded / quarantined with a reason, nothing escapes as a traceback, no row is lost."""
import pytest

from phakhi.doctor import _ingest_one, file_cases, judge, registry_known

CASES = file_cases()


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    return registry_known(tmp_path_factory.mktemp("registry"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file_is_contained(case, known, tmp_path):
    folder = tmp_path / case.family
    folder.mkdir()
    path = folder / f"{case.name}{case.suffix}"
    path.write_bytes(case.make())
    got = _ingest_one(case.name, case.family, str(path), str(tmp_path), known.get(case.family))
    result = judge(case, got)
    assert result.ok, result.detail
    assert result.rows_lost == 0


def test_the_corpus_covers_every_class_with_sixty_cases_or_more():
    from phakhi.doctor import system_probes  # noqa: F401  (probes add the system-level classes)

    classes = {c.klass for c in CASES}
    assert {"bounded_reads", "value_crash", "row_plausibility", "registry", "delimiter", "encoding",
            "real_layouts", "malformed", "hostile"} <= classes
    assert len(CASES) + len(PROBES) >= 60


PROBES = ["rollback_..", "rollback_.", "rollback_latest", "rollback_2025-02-r1/data", "rollback_../pubs", "rollback_/etc",
          "rollback_empty", "rollback_.building-x", "rollback_2025-02-r1/", "rollback_nope", "rollback_valid_id",
          "second_refresh_refused", "lock_free_after_kill", "building_folder_of_live_run_kept", "enospc_during_publish",
          "staff_csv_neutralised", "symlink_to_passwd_refused", "symlinked_folder_not_followed", "serve_sends_csp",
          "serve_no_directory_listing", "serve_hides_dotfiles", "serve_refuses_traversal", "future_month_held_by_default",
          "requested_month_never_later", "gate_tolerates_float_noise", "reliability_withheld_below_n30", "rollback_2025-02-r1NUL",
          "ingest_land_read_only_landing"]


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    from phakhi.doctor import system_probes

    return {r.name: r for r in system_probes(tmp_path_factory.mktemp("system"))}


@pytest.mark.parametrize("name", PROBES)
def test_system_probe_holds(name, probes):
    assert name in probes, sorted(probes)
    r = probes[name]
    assert r.ok and r.traceback is None, (r.detail, r.traceback)


def test_a_probe_that_damages_publications_or_raises_is_counted(tmp_path):
    """The shared probe shape: the publications are compared before and after the action, and an exception
    becomes a failing case with its traceback, never escaping."""
    import shutil

    from phakhi.doctor import _run_probe, against_publications

    outcome, intact = against_publications(tmp_path / "a", lambda: shutil.rmtree(tmp_path / "a" / "2025-02-r1"))
    assert outcome is None and not intact
    outcome, intact = against_publications(tmp_path / "b", lambda: 1 / 0)
    assert isinstance(outcome, ZeroDivisionError) and intact
    [failed] = _run_probe("boom", "lock", lambda: 1 / 0)
    assert (failed.name, failed.klass, failed.ok) == ("boom", "lock", False) and "ZeroDivisionError" in failed.traceback
