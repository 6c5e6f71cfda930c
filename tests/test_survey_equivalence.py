"""The faster awareness baseline (one design structure and one calibration projector per wave, every domain's
influence values projected in one matrix product) gives the figures of the implementation before issue 17
(tests/oracle_awareness.py + tests/oracle_survey_design.py, kept verbatim): counts, flags, suppression, labels
exactly; estimates, SEs, CIs, deff and effective n to 1e-12 relative.

Why a tolerance and not bit equality: a matrix-matrix product adds the same terms in another order than one
matrix-vector product per vector, which moves the last bit or two of an SE (~1e-16 relative). The old figures
themselves move by as much with the number of BLAS threads (1 vs 2 cores); a published figure has 2-4 decimals.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import oracle_awareness
from phakhi.survey.awareness import baseline_table
from phakhi.survey.simulate import synthetic_wave
from phakhi.survey.weighting import Margin, rake_to_margins

FLOATS = ["estimate", "se", "ci_low", "ci_high", "effective_n", "deff"]


def waves(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for k, wave in enumerate([2023, 2025, 2027][: 1 + seed % 3]):
        w = synthetic_wave(wave, seed=seed, shift=float(k), strata=int(rng.integers(2, 7)),
                           psus=int(rng.integers(2, 12)), per_psu=int(rng.integers(3, 15)))
        if seed % 2 == 0:      # raked to sex and region: calibrated SEs (the national path)
            total = float(w["design_weight"].sum())
            sex = w["sex"].value_counts(normalize=True)
            region = w["region"].value_counts(normalize=True)
            margins = [Margin("sex", ("sex",), pd.Series((sex * 0 + 1 / len(sex)) * total)),
                       Margin("region", ("region",), pd.Series(region * total))]
            res = rake_to_margins(w, "design_weight", margins)
            w = w.assign(final_weight=res.weights.to_numpy(), weighting_method=res.method,
                         **{c: res.cells[c].to_numpy() for c in res.cells.columns})
        # missing scores, levels and domain values: their own domain ("unknown"), dropped per measure
        miss = rng.random(len(w)) < 0.05
        w.loc[miss, "knowledge"] = np.nan
        w.loc[rng.random(len(w)) < 0.03, "awareness_level"] = None
        w.loc[rng.random(len(w)) < 0.03, "education"] = None
        parts.append(w)
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("seed", range(6))
def test_baseline_table_equals_the_implementation_before(seed):
    frame = waves(seed)
    kw = dict(min_n=int(np.random.default_rng(seed).integers(5, 40)), instruments={2023: "a", 2025: "b"})
    new, old = baseline_table(frame, **kw), oracle_awareness.baseline_table(frame, **kw)
    assert len(new) > 50 and (new["weighting"] == "raked (calibrated SE)").any() == (seed % 2 == 0)
    pd.testing.assert_frame_equal(new.drop(columns=FLOATS), old.drop(columns=FLOATS), check_exact=True)
    for c in FLOATS:
        a, b = new[c].to_numpy(float), old[c].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=c)
