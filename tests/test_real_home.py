"""Real operation: `phakhi init` makes a home for real data, SAMPLE and real files never mix (the refresh
refuses with a clear message), the registry is kept through the landing area (`phakhi partners`)."""
import csv

import pytest
from typer.testing import CliRunner

from phakhi.cli import app
from phakhi.home import HomeMixed, check_home, data_kind, init_home, mixing_problems
from phakhi.ingest.files import assemble_family, ingest_files, list_files
from phakhi.sample import write_sample
from phakhi.settings import Paths

runner = CliRunner()

PARTNER = ["--id", "P101", "--name-th", "เทศบาลเมืองทดสอบ", "--name-en", "Test Town Municipality", "--type", "เทศบาล",
           "--province", "เชียงใหม่", "--join-date", "15/01/2568", "--base-year", "2566", "--baseline", "12000",
           "--target-year", "2030", "--reduction-pct", "20"]


def test_init_makes_an_empty_home_for_real_data(tmp_path):
    paths = Paths(tmp_path / "real")
    lines = init_home(paths)
    assert "REAL" in lines[0] and data_kind(paths) == "real"
    assert (paths.landing / "ghg_reductions").is_dir() and not any(paths.landing.rglob("*.*"))
    assert mixing_problems(paths) == []


def test_sample_data_is_never_written_into_a_real_home(tmp_path):
    home = tmp_path / "real"
    assert runner.invoke(app, ["init", "--home", str(home)]).exit_code == 0
    result = runner.invoke(app, ["sample", "--home", str(home)])
    assert result.exit_code == 1 and "REAL" in result.output
    result = runner.invoke(app, ["refresh", "--home", str(home)])      # empty real home: no SAMPLE fallback
    assert result.exit_code == 1 and "nothing to refresh" in result.output
    assert not (Paths(home).landing / "SAMPLE_README.txt").exists()


def test_refresh_refuses_sample_files_in_a_real_home(tmp_path):
    paths = Paths(tmp_path / "real")
    init_home(paths)
    write_sample(paths.landing)
    with pytest.raises(HomeMixed, match="REAL data but its landing area holds SAMPLE data"):
        check_home(paths)
    result = runner.invoke(app, ["refresh", "--home", str(paths.home)])
    assert result.exit_code == 1 and "Refresh refused" in result.output


def test_refresh_refuses_real_files_added_to_a_sample_home(tmp_path):
    paths = Paths(tmp_path / "sample").ensure()
    write_sample(paths.landing)
    assert data_kind(paths) == "sample" and mixing_problems(paths) == []
    (paths.landing / "ghg_reductions" / "dcce_2025-06.csv").write_text("partner_id\nP001\n", encoding="utf-8")
    (problem,) = mixing_problems(paths)
    assert "ghg_reductions/dcce_2025-06.csv" in problem and "phakhi init" in problem
    with pytest.raises(HomeMixed):
        check_home(paths)
    with pytest.raises(HomeMixed):
        init_home(paths)                        # a SAMPLE home cannot be turned into a real one


def test_only_the_files_the_portal_landed_join_a_sample_home(tmp_path):
    from phakhi.home import note_portal_file

    paths = Paths(tmp_path / "sample").ensure()
    write_sample(paths.landing)
    practice = paths.landing_for("activity_reports") / "portal" / "P001" / "2025-12" / "P001_x.xlsx"
    practice.parent.mkdir(parents=True)
    practice.write_bytes(b"x")
    stray = paths.landing / "ghg_reductions" / "dcce_2025-06.csv"
    stray.write_text("partner_id\nP001\n", encoding="utf-8")
    (before,) = mixing_problems(paths)
    assert "2 file(s)" in before and "P001_x.xlsx" in before and "dcce_2025-06.csv" in before
    note_portal_file(paths, practice)
    note_portal_file(paths, practice)           # noted once
    (problem,) = mixing_problems(paths)
    assert "dcce_2025-06.csv" in problem and "P001_x.xlsx" not in problem      # a stray file is still refused
    stray.unlink()
    check_home(paths)
    assert data_kind(paths) == "sample"         # what it publishes stays labelled SAMPLE

    real = Paths(tmp_path / "real").ensure()
    init_home(real)
    landed = real.landing_for("activity_reports") / "P001_y.xlsx"
    landed.write_bytes(b"y")
    note_portal_file(real, landed)              # a home for real data: nothing to note
    assert not (real.landing / ".portal_files").exists()


def test_partners_add_import_list_through_the_landing_area(tmp_path):
    home = tmp_path / "real"
    runner.invoke(app, ["init", "--home", str(home)])
    result = runner.invoke(app, ["partners", "add", *PARTNER, "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "added: P101" in result.output
    again = runner.invoke(app, ["partners", "add", *PARTNER, "--home", str(home)])
    assert again.exit_code == 1 and "already in the registry" in again.output

    upload = tmp_path / "new_partners.csv"
    with upload.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["รหัสภาคี", "ชื่อภาคี (ไทย)", "ประเภทภาคี", "จังหวัด", "วันที่เข้าร่วม", "ปีฐาน", "การปล่อยปีฐาน (tCO2e)",
                    "ปีเป้าหมาย", "เป้าหมายการลด (%)", "รหัสภาคีแม่"])
        w.writerow(["P102", "บริษัท ทดสอบ จำกัด", "ธุรกิจ", "Chon Buri", "2025-02-01", "2023", "5000", "2030", "30", ""])
        w.writerow(["P103", "โรงเรียนทดสอบ", "สถานศึกษา", "ขอนแก่น", "2025-03-01", "2023", "300", "2030", "10", "P101"])
    result = runner.invoke(app, ["partners", "import", str(upload), "--home", str(home)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["partners", "list", "--home", str(home)])
    assert "P101" in listed.output and "P102" in listed.output and "3 partner(s)" in listed.output

    # the registry files went through the landing area: the latest complete file supersedes the earlier one
    paths = Paths(home)
    files = list_files(paths.landing_for("partner_registry"))
    assert len(files) == 2
    reg = assemble_family("partner_registry", ingest_files("partner_registry", files, paths.landing, workers=1))
    assert sorted(reg.loaded["partner_id"]) == ["P101", "P102", "P103"]
    assert set(reg.file_report["status"]) == {"loaded", "superseded"}


def test_a_bad_partner_row_changes_nothing(tmp_path):
    home = tmp_path / "real"
    runner.invoke(app, ["init", "--home", str(home)])
    bad = [a if a != "เทศบาล" else "ร้านกาแฟ" for a in PARTNER]
    result = runner.invoke(app, ["partners", "add", *bad, "--home", str(home)])
    assert result.exit_code == 1 and "registry NOT changed" in result.output and "partner_type" in result.output
    assert list_files(Paths(home).landing_for("partner_registry")) == []
