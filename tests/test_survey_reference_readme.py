"""The R numbers copied into the survey tests are the ones the reference README publishes (skips without it)."""
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api" / "README.md"

# (R call fragment, estimate, SE) as copied into tests/test_survey_{calibration,replicates,contrasts}.py
INLINE = [("calibrate(dclus1, formula=~api99", "666.72", "3.2959"),
          ("as.svrepdesign(dclus1)", "644.17", "26.329"),
          ("svycontrast(a, list(diff=c(1,0,-1)))", "37.191", "3.0852"),
          ("rake(dclus1, list(~stype, ~sch.wide)", "641.23", "23.704")]


@pytest.mark.parametrize("call, est, se", INLINE)
def test_inline_copies_match_the_reference_readme(call, est, se):
    if not README.is_file():
        pytest.skip(f"reference README not found at {README}")
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if call in line]
    assert rows, f"the README no longer lists {call}"
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[-2:] == [est, se]
