"""Correlation between the change in awareness and ACE intensity across areas, with its uncertainty.

Pearson's r over the areas that have both numbers; 95% CI by Fisher's z transform:
    z = atanh(r),  SE = 1 / sqrt(n - 3),  CI = tanh(z -/+ 1.96 SE)          (needs n >= 4)
Spearman's rank correlation is given beside it (less swayed by one extreme area). The CI treats each area's
awareness change as known exactly; its own survey uncertainty (the change's CI) is shown on the chart, not
folded in. An ecological association between areas, not an effect of ACE activities.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
MIN_AREAS = 4
MEASURES = {"participants_per_1000": "participants per 1,000 population",
            "activities_per_100k": "activities per 100,000 population"}
COLUMNS = ["level", "intensity_measure", "n_areas", "pearson_r", "ci_low", "ci_high", "spearman_rho", "note"]


def fisher_ci(r: float, n: int) -> tuple[float | None, float | None]:
    if r is None or n < MIN_AREAS or not math.isfinite(r):
        return None, None
    if abs(r) >= 1:
        return r, r
    z, se = math.atanh(r), 1 / math.sqrt(n - 3)
    return math.tanh(z - Z95 * se), math.tanh(z + Z95 * se)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def correlations(overlay: pd.DataFrame) -> pd.DataFrame:
    """overlay: level, change, included_in_correlation and the MEASURES columns (mart_awareness_ace_overlay)."""
    out = []
    for level in ("region", "province"):
        part = overlay[(overlay["level"] == level) & overlay["included_in_correlation"].fillna(False).astype(bool)]
        for measure in MEASURES:
            d = part[["change", measure]].dropna()
            n = len(d)
            x, y = d[measure].to_numpy(float), d["change"].to_numpy(float)
            r = _pearson(x, y)
            rho = _pearson(pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()) if n >= 2 else None
            lo, hi = fisher_ci(r, n) if r is not None else (None, None)
            if n < MIN_AREAS:
                note = f"only {n} area(s) with both numbers: fewer than {MIN_AREAS}, no correlation is given"
                r = rho = lo = hi = None
            elif r is None:
                note = "no variation in one of the two measures"
            else:
                note = ""
            out.append({"level": level, "intensity_measure": measure, "n_areas": n, "pearson_r": r, "ci_low": lo,
                        "ci_high": hi, "spearman_rho": rho, "note": note})
    return pd.DataFrame(out, columns=COLUMNS).astype({"n_areas": "int64", "pearson_r": "float64", "ci_low": "float64",
                                                       "ci_high": "float64", "spearman_rho": "float64"})
