"""Raking (iterative proportional fitting) of survey weights, and weight diagnostics.

`rake` adjusts base weights so that weighted counts match known population totals on each
margin in turn (R `survey::rake`, which post-stratifies on each margin until the table stops
changing).  Estimates made with raked weights should pass the raked columns as
`estimate(..., calibration=[...])` so the standard errors account for the calibration.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class RakeResult:
    weights: pd.Series      # raked weights, aligned with the input frame's index
    converged: bool
    iterations: int         # full sweeps over all margins
    max_abs_diff: float     # largest |weighted count - population total| over all margin cells


def _as_targets(column: str, margin: pd.Series | dict) -> pd.Series:
    targets = pd.Series(margin, dtype=float) if isinstance(margin, dict) else margin.astype(float)
    if targets.isna().any() or (targets < 0).any():
        raise ValueError(f"margin for column {column!r} has missing or negative population totals")
    return targets


def rake(df: pd.DataFrame, weights: str, margins: dict[str, pd.Series | dict],
         max_iter: int = 100, tol: float = 1e-8,
         trim: tuple[float, float] | None = None) -> RakeResult:
    """Rake `df[weights]` to population totals by category, one margin after another.

    margins: {column: {category: population total}} (a dict or a Series indexed by category).
    Converged means every margin cell is within a relative `tol` of its population total.
    trim: optional (low, high) bounds on the adjustment factor raked/base weight, applied after
    every sweep (as R's calibrate(bounds=)); tight bounds may prevent convergence.
    Raises ValueError when a category occurs in the sample but not in the margin (or has a zero
    total there), or when a category with a positive total has no sample rows: raking cannot
    give such a category any weight, so the margin would silently be missed.
    """
    if not margins:
        raise ValueError("rake needs at least one margin")
    base = df[weights].to_numpy(dtype=float)
    if np.isnan(base).any() or (base < 0).any():
        raise ValueError(f"weights column {weights!r} has missing or negative values")
    if trim is not None and not (0 <= trim[0] <= trim[1]):
        raise ValueError(f"trim bounds {trim} must satisfy 0 <= low <= high")

    # Per margin: the row -> cell index and the cell targets, validated up front.
    cells: list[tuple[str, np.ndarray, pd.Series]] = []
    for column, margin in margins.items():
        if column not in df.columns:
            raise ValueError(f"margin column {column!r} is not in the data")
        values = df[column]
        if values.isna().any():
            raise ValueError(f"margin column {column!r} has missing values; recode them to a category")
        targets = _as_targets(column, margin)
        sample_cats = list(pd.unique(values))   # in order of appearance: deterministic messages
        for cat in sample_cats:
            if cat not in targets.index:
                raise ValueError(f"column {column!r}: sample category {cat!r} is missing from the margins")
            if targets[cat] == 0:
                raise ValueError(f"column {column!r}: sample category {cat!r} has a population total of 0")
        present = set(sample_cats)
        for cat, total in targets.items():
            if total > 0 and cat not in present:
                raise ValueError(f"column {column!r}: margin category {cat!r} has no rows in the sample")
        targets = targets[targets > 0]
        cells.append((column, targets.index.get_indexer(values), targets))

    totals = {c: float(t.sum()) for c, _, t in cells}
    grand = next(iter(totals.values()))
    if any(abs(t - grand) > 1e-6 * grand for t in totals.values()):
        raise ValueError(f"margin totals differ between columns ({totals}); raking cannot match them all")

    def discrepancies(w: np.ndarray) -> tuple[float, float]:
        """Largest absolute and largest relative gap between weighted counts and targets."""
        gaps = [(np.bincount(i, weights=w, minlength=len(t)) - t.to_numpy(), t.to_numpy()) for _, i, t in cells]
        return max(np.abs(g).max() for g, _ in gaps), max((np.abs(g) / t).max() for g, t in gaps)

    w = base.copy()
    converged, iterations, (diff, _) = False, 0, discrepancies(w)
    for iterations in range(1, max_iter + 1):
        for column, i, t in cells:
            current = np.bincount(i, weights=w, minlength=len(t))
            if (current == 0).any():
                bad = t.index[np.flatnonzero(current == 0)[0]]
                raise ValueError(f"column {column!r}: category {bad!r} has zero total weight in the sample")
            w = w * (t.to_numpy() / current)[i]
        if trim is not None:
            # Bound the adjustment factor; zero base weights stay zero.
            w = np.where(base > 0, base * np.clip(np.divide(w, base, out=np.ones_like(w), where=base > 0),
                                                  trim[0], trim[1]), 0.0)
        diff, rel_diff = discrepancies(w)
        if rel_diff <= tol:
            converged = True
            break
    return RakeResult(pd.Series(w, index=df.index, name=weights), converged, iterations, float(diff))


def kish_effective_n(w) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: the SRS size giving the same precision
    when only the weights' variability inflates variance."""
    w = np.asarray(w, dtype=float)
    w = w[~np.isnan(w)]
    return float(w.sum() ** 2 / np.square(w).sum())


def weighting_deff(w) -> float:
    """Kish's design effect due to unequal weighting, 1 + CV^2 (population CV) = n / kish_effective_n."""
    w = np.asarray(w, dtype=float)
    w = w[~np.isnan(w)]
    return float(1.0 + w.var() / w.mean() ** 2)
