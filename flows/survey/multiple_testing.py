"""Multiple-testing adjustments of p-values (as R's p.adjust)."""
from __future__ import annotations

import numpy as np


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (R: p.adjust(p, "BH")); NaNs stay NaN and are not counted."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = len(q)
    if n:
        order = np.argsort(q)
        ranked = q[order] * n / np.arange(1, n + 1)
        adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
        res = np.empty(n)
        res[order] = np.minimum(adjusted, 1.0)
        out[ok] = res
    return out


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (R: p.adjust(p, "holm")); NaNs stay NaN and are not counted."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = len(q)
    if n:
        order = np.argsort(q)
        stepped = np.maximum.accumulate((n - np.arange(n)) * q[order])
        res = np.empty(n)
        res[order] = np.minimum(stepped, 1.0)
        out[ok] = res
    return out


METHODS = {"BH": benjamini_hochberg, "holm": holm}
