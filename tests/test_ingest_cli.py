"""`phakhi ingest PATH...`: ingest given files without a full refresh and print their report; --land puts them
into the landing area and the landing ledger. And the Prefect flow's mapped ingest tasks (integration)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from phakhi.cli import app
from phakhi.settings import use_home
from phakhi.ingest import ledger

from test_ingest import REG_GOOD, REG_HEAD, REG_NAMES, rows_for, write_csv, write_xlsx


@pytest.fixture
def home(tmp_path):
    paths = use_home(tmp_path / "home")
    rows = [REG_HEAD] + [[{**REG_GOOD, "partner_id": pid}[n] for n in REG_NAMES] for pid in ("P001", "P002")]
    write_csv(paths.landing_for("partner_registry") / "registry.csv", rows)
    return paths


def _invoke(*args):
    return CliRunner().invoke(app, ["ingest", *map(str, args)])


def test_ingest_clean_file_prints_report_and_exits_0(home, tmp_path):
    f = write_xlsx(tmp_path / "P001_2025-03.xlsx", rows_for("activity_reports", n_good=3))
    r = _invoke(f, "--home", home.home, "--out", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    assert "activity_reports" in r.output and "loaded" in r.output
    assert (tmp_path / "rep" / "ingest_report.html").is_file() and (tmp_path / "rep" / "ingest_files.csv").is_file()
    assert not ledger.ledger_path(home.home).exists()              # a check only: nothing recorded


def test_ingest_reports_quarantine_and_rejects_with_exit_1(home, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", rows_for("activity_reports", {"partner_id": "P777"}))
    junk = tmp_path / "notes.pdf"
    junk.write_bytes(b"%PDF")
    r = _invoke(bad, junk, "--family", "activity", "--home", home.home, "--out", tmp_path / "rep")
    assert r.exit_code == 1, r.output
    assert "reference" in r.output and "rejected" in r.output and "partially_loaded" in r.output


def test_ingest_recognises_the_family_and_lands_files(home, tmp_path):
    f = write_xlsx(tmp_path / "P002_2025-03.xlsx", [[c if c != "P001" else "P002" for c in r]
                                                     for r in rows_for("activity_reports", n_good=2)])
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not excel")
    r = _invoke(f, junk, "--land", "--home", home.home, "--out", tmp_path / "rep")
    assert r.exit_code == 1, r.output                      # the junk file is rejected (and not landed)
    assert "not landed" in r.output
    landed = home.landing_for("activity_reports") / "P002_2025-03.xlsx"
    assert landed.is_file() and not (home.landing_for("activity_reports") / "junk.xlsx").exists()
    files = ledger.read_table(home.home).set_index("file")
    assert files.loc["activity_reports/P002_2025-03.xlsx", "status"] == "current"
    # landing the same content again changes nothing
    before = ledger.read_table(home.home, "landing_events")
    assert _invoke(f, "--land", "--home", home.home, "--out", tmp_path / "rep2").exit_code == 0
    assert len(ledger.read_table(home.home, "landing_events")) == len(before)


def test_ingest_whole_landing_and_usage_errors(home, tmp_path):
    write_xlsx(home.landing_for("activity_reports") / "a.xlsx", rows_for("activity_reports"))
    r = _invoke("--landing", "--home", home.home, "--out", tmp_path / "rep")
    assert r.exit_code == 0, r.output and "partner_registry" in r.output
    assert ledger.ledger_path(home.home).exists()
    assert _invoke("--home", home.home).exit_code == 2
    assert _invoke(tmp_path, "--family", "nonsense", "--home", home.home).exit_code == 2


@pytest.mark.integration
def test_prefect_maps_ingest_batches(tmp_path):
    """The flow's ingest step: batches mapped over Prefect tasks, the registry first, results settled."""
    from prefect import flow

    from flows.pipeline import ingest_landing
    from phakhi.sample import write_sample

    paths = use_home(tmp_path / "home")
    write_sample(paths.landing)

    @flow
    def just_ingest():
        return ingest_landing(paths)

    results = just_ingest()
    by = {r.family: r for r in results}
    assert by["activity_reports"].totals["files"] > 500 and by["activity_reports"].quarantine.empty
    assert by["partner_inventories"].totals["rows_loaded"] == 30
    assert ledger.read_table(paths.home).shape[0] == sum(r.totals["files"] for r in results)
