"""Internal-consistency reliability of a multi-item scale (Cronbach's alpha)."""
from __future__ import annotations

import pandas as pd


def cronbach_alpha(items: pd.DataFrame, nan_policy: str = "pairwise") -> float:
    """Cronbach's alpha = k/(k-1) * (1 - sum of item variances / variance of the total score).

    items: one column per item, one row per respondent (pivot long data first).
    The total-score variance is the sum of the item covariance matrix, so missing answers can be
    handled pairwise (each covariance from the rows answering both items; as pingouin and R's
    psych) or listwise (only respondents who answered every item).
    """
    if nan_policy not in ("pairwise", "listwise"):
        raise ValueError(f"nan_policy must be 'pairwise' or 'listwise', not {nan_policy!r}")
    k = items.shape[1]
    if k < 2:
        raise ValueError("Cronbach's alpha needs at least two items")
    data = items.apply(pd.to_numeric, errors="raise").astype(float)
    if nan_policy == "listwise":
        data = data.dropna(how="any")
    cov = data.cov()   # pandas uses pairwise-complete observations
    total_var = cov.to_numpy().sum()
    if not total_var > 0:
        raise ValueError("total-score variance is zero or undefined; alpha is not defined")
    return float(k / (k - 1) * (1 - cov.to_numpy().trace() / total_var))
