"""manifest.json names the input-file lists (quality/inputs/<landing folder>.csv) instead of every file: a closed
month's list keeps its bytes (shared between publications), and reading the lists back gives every file."""
import hashlib
import json

import pandas as pd
import pytest

from phakhi.publish.build import INPUT_COLUMNS, input_list_name, read_inputs, write_input_lists


def _inputs(months):
    rows = [{"family": "activity_reports", "file": f"activity_reports/{m}/P{i:04d}_{m}.xlsx", "file_hash": f"{i:064x}",
             "status": "loaded", "rows_read": i, "rows_loaded": i, "rows_quarantined": 0}
            for m in months for i in range(1, 4)]
    rows += [{"family": "ghg_reductions", "file": f"ghg_reductions/ghg_{m}.csv", "file_hash": "ab" * 32, "status": "loaded",
              "rows_read": 5, "rows_loaded": 4, "rows_quarantined": 1} for m in months]
    rows += [{"family": "partner_registry", "file": "=HYPERLINK(1).csv", "file_hash": "cd" * 32, "status": "loaded",
              "rows_read": 1, "rows_loaded": 1, "rows_quarantined": 0}]
    return pd.DataFrame(rows)[INPUT_COLUMNS]


def _publish(tmp_path, name, months):
    pub = tmp_path / name
    (pub / "quality").mkdir(parents=True)
    lists = write_input_lists(_inputs(months), pub / "quality")
    (pub / "manifest.json").write_text(json.dumps({"inputs": lists}), encoding="utf-8")
    return pub, lists


def test_one_list_per_landing_folder_and_a_closed_month_keeps_its_bytes(tmp_path):
    assert input_list_name("activity_reports/2025-01/P1.xlsx") == "activity_reports/2025-01"
    assert input_list_name("top.csv") == "landing"
    nov, lists = _publish(tmp_path, "nov", ["2025-10", "2025-11"])
    dec, _ = _publish(tmp_path, "dec", ["2025-10", "2025-11", "2025-12"])
    assert lists["files"] == 9 and [x["path"] for x in lists["lists"]] == [
        "quality/inputs/activity_reports/2025-10.csv", "quality/inputs/activity_reports/2025-11.csv",
        "quality/inputs/ghg_reductions.csv", "quality/inputs/landing.csv"]
    for x in lists["lists"]:
        assert hashlib.sha256((nov / x["path"]).read_bytes()).hexdigest() == x["sha256"]
    same = (nov / "quality/inputs/activity_reports/2025-11.csv").read_bytes()
    assert same == (dec / "quality/inputs/activity_reports/2025-11.csv").read_bytes()


def test_reading_the_lists_back_gives_every_file_and_checks_each_list(tmp_path):
    pub, _ = _publish(tmp_path, "dec", ["2025-11", "2025-12"])
    back = read_inputs(pub)
    want = _inputs(["2025-11", "2025-12"]).sort_values(["family", "file"]).reset_index(drop=True)
    assert back["file"].tolist()[:-1] == want["file"].tolist()[:-1]
    assert back["file"].iloc[-1] == "'=HYPERLINK(1).csv"       # a spreadsheet never runs a file name
    assert back["file_hash"].tolist() == want["file_hash"].tolist()
    assert int(back["rows_quarantined"].sum()) == 2
    (pub / "quality/inputs/ghg_reductions.csv").write_bytes(b"family,file\n")
    with pytest.raises(ValueError, match="SHA-256"):
        read_inputs(pub)
