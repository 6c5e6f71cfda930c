import hashlib

import pandas as pd
from python_calamine import CalamineWorkbook

from phakhi.sample import PERIODS, write_sample


def _digest(path):
    if path.suffix == ".xlsx":   # xlsx zips carry timestamps: compare cell contents
        wb = CalamineWorkbook.from_path(str(path))
        return repr([wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names])
    if path.suffix == ".sav":    # .sav headers carry a creation timestamp: compare the data
        import pyreadstat
        return repr(pyreadstat.read_sav(str(path))[0].values.tolist())
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sample_is_deterministic_and_labelled(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    counts = write_sample(a)
    write_sample(b)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files_a[::25] + [f for f in files_a if f.suffix != ".xlsx"]:
        assert _digest(a / rel) == _digest(b / rel), rel
    assert counts["partners"] == 60
    assert "SAMPLE" in (a / "SAMPLE_README.txt").read_text()
    reg = pd.read_csv(a / "partner_registry" / "partner_registry.csv", encoding="utf-8-sig")
    assert reg["partner_type"].nunique() == 10 and reg["province"].nunique() >= 15
    assert reg["name_en"].str.startswith("Sample").all()
    # one Excel per partner per month, Thai headers under a title block
    first = sorted((a / "activity_reports" / PERIODS[0]).glob("*.xlsx"))[0]
    rows = CalamineWorkbook.from_path(str(first)).get_sheet_by_name("รายงาน").to_python()
    assert "SAMPLE" in rows[0][0] and "องค์ประกอบ ACE" in rows[4]
    # GHG files are Thai Windows code page, survey waves ~2,000 respondents each
    (a / "ghg_reductions" / "ghg_2025-01.csv").read_bytes().decode("cp874")
    assert 1900 <= len(pd.read_csv(a / "survey_waves" / "wave_2023.csv")) <= 2100
