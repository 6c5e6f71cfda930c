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
