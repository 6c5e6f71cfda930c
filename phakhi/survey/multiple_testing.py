"""Multiple-testing adjustments of p-values (as R's p.adjust)."""
from __future__ import annotations

import numpy as np


def _adjust_finite(p, adjust) -> np.ndarray:
    """Apply `adjust` (sorted p-values -> adjusted, same order) to the non-NaN p-values; NaNs stay NaN and are
    not counted in n."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    if len(q):
        order = np.argsort(q)
        res = np.empty(len(q))
        # an adjusted p-value is never below its raw p-value: clamp away the 1-ulp floating error of p * n / n
        # (BH's largest p), which the gate's p_adjusted >= p_value check rightly rejects
        res[order] = np.minimum(np.maximum(adjust(q[order]), q[order]), 1.0)
        out[ok] = res
    return out


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (R: p.adjust(p, "BH"))."""
    def bh(sorted_p):
        n = len(sorted_p)
        return np.minimum.accumulate((sorted_p * n / np.arange(1, n + 1))[::-1])[::-1]
    return _adjust_finite(p, bh)


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (R: p.adjust(p, "holm"))."""
    def step_down(sorted_p):
        n = len(sorted_p)
        return np.maximum.accumulate((n - np.arange(n)) * sorted_p)
    return _adjust_finite(p, step_down)


METHODS = {"BH": benjamini_hochberg, "holm": holm}
