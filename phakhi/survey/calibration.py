"""Calibration of survey weights to known population totals (GREG and its relatives), as R's survey::calibrate.

`calibrate(df, design, "~api99", {"N": 6194, "api99": 3914069})` finds weights w_i = d_i g_i, close to the design
weights d_i, whose weighted totals of the model-matrix columns x_i (phakhi.survey.formula: numeric auxiliaries,
categories, interactions) equal the population totals T exactly. g_i = F(x_i' eta) with the calibration function
F of `calfun`:

- "linear" (GREG, the default): F(u) = 1 + u, one linear solve;
- "raking": F(u) = exp(u), i.e. raking on the formula's margins; with an interaction (~a*b) it rakes to the
  joint table;
- bounds=(L, U) keeps every g_i in [L, U] (bounded/truncated linear or raking calibration).

eta is found by R's Newton iteration (grake: Moore-Penrose solve, stop when every |misfit|/(1+|T|) < epsilon).

Standard errors: a calibrated estimator is approximately the GREG estimator, so its influence values z_i are
replaced by the residuals of their weighted regression on the auxiliaries (R's svyrecvar for a calibrated
design: qr.resid(qr(X sqrt(d)), z/(g sqrt(d))) * g sqrt(d)). Pass `Calibration.residuals` as
`estimate(..., calibration=...)`; totals of the calibration variables then have SE 0, as they should.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .design import Design
from .formula import INTERCEPT, _block, column_of, model_matrix, parse

CALFUNS = ("linear", "raking")
INTERCEPT_ALIASES = ("N", INTERCEPT, "Intercept", "(intercept)", "intercept")


@dataclass
class Calibration:
    formula: str
    calfun: str
    bounds: tuple[float, float] | None
    names: list[str]                 # model-matrix columns, as R names them
    population: np.ndarray           # their population totals
    sample_totals: np.ndarray        # their totals under the design weights
    g: np.ndarray                    # calibrated / design weight
    weights: pd.Series               # calibrated weights, aligned with the data
    iterations: int
    _matrix: np.ndarray
    _basis: np.ndarray               # orthonormal basis of the columns of X sqrt(d / sigma2)
    _scale: np.ndarray               # g sqrt(d sigma2): R's caldata$w
    variance: object = None          # working-variance coefficients lambda, or None (constant)

    def residuals(self, scores) -> np.ndarray:
        """Calibration-adjusted influence values (see the module doc)."""
        x = np.asarray(scores, dtype=float)
        scale = self._scale
        used = scale > 0
        u = np.divide(x, scale, out=np.zeros_like(x), where=used)
        return np.where(used, (u - self._basis @ (self._basis.T @ u)) * scale, 0.0)

    def totals(self) -> pd.DataFrame:
        """Population totals against the design-weighted and calibrated sample totals (the calibration check)."""
        achieved = self._matrix.T @ self.weights.to_numpy(dtype=float)
        return pd.DataFrame({"term": self.names, "population": self.population, "design_weighted": self.sample_totals,
                             "calibrated": achieved, "gap": achieved - self.population})

    @property
    def max_abs_gap(self) -> float:
        return float(np.abs(self.totals()["gap"]).max())


def population_vector(df: pd.DataFrame, formula: str, names: list[str], population) -> np.ndarray:
    """Population totals in model-matrix order from a dict/Series keyed by R's column names ("N" is accepted for
    the intercept), or a sequence in that order. A categorical auxiliary may instead be given with a total for
    every category (stypeE, stypeH, stypeM): the first category's total is then checked against N (or gives N)."""
    if not isinstance(population, (dict, pd.Series)):
        values = np.asarray(population, dtype=float).ravel()
        if len(values) != len(names):
            raise ValueError(f"{len(values)} population totals for {len(names)} model columns ({', '.join(names)})")
        return values
    given = {str(k): float(v) for k, v in dict(population).items()}
    for alias in INTERCEPT_ALIASES:
        if alias in given and alias != INTERCEPT:
            if INTERCEPT in given and given[INTERCEPT] != given[alias]:
                raise ValueError(f"population gives two different totals for the intercept ({alias}, {INTERCEPT})")
            given[INTERCEPT] = given.pop(alias)
    # Categories given in full: the baseline category's total determines or checks N.
    terms, intercept = parse(formula)
    for term in terms:
        if len(term.variables) != 1:
            continue
        v = term.variables[0]
        col, forced = column_of(v)
        _, full = _block(df[col], v, forced)
        if full is None or full.columns[0] in names or full.columns[0] not in given:
            continue
        levels = list(full.columns)
        if not all(c in given for c in levels):
            missing = [c for c in levels if c not in given]
            raise ValueError(f"population gives {levels[0]} but not {', '.join(missing)}: give every category of {v} "
                             "or all but the first")
        level_sum = sum(given[c] for c in levels)
        if intercept and INTERCEPT not in given:
            given[INTERCEPT] = level_sum
        elif intercept and abs(given[INTERCEPT] - level_sum) > 1e-9 * max(1.0, abs(level_sum)):
            raise ValueError(f"the totals of {v}'s categories add up to {level_sum:g}, not to N = {given[INTERCEPT]:g}")
        given.pop(levels[0])
    missing = [n for n in names if n not in given]
    extra = [k for k in given if k not in names]
    if missing or extra:
        raise ValueError("population totals do not match the formula's model columns: "
                         + (f"missing {', '.join(missing)}; " if missing else "")
                         + (f"not in the model {', '.join(extra)}; " if extra else "")
                         + f"expected {', '.join('N' if n == INTERCEPT else n for n in names)}")
    return np.array([given[n] for n in names])


def _calfun(calfun: str, bounds: tuple[float, float]):
    low, high = bounds
    if calfun == "linear":
        def fm1(u):
            return np.clip(u + 1, low, high) - 1

        def d_f(u):
            return ((u < high - 1) & (u > low - 1)).astype(float)
    else:
        def fm1(u):
            return np.clip(np.exp(u), low, high) - 1

        def d_f(u):
            return np.where((u < high - 1) & (u > low - 1), np.exp(u), 0.0)
    return fm1, d_f


def grake(matrix: np.ndarray, weights: np.ndarray, population: np.ndarray, calfun: str = "linear",
          bounds: tuple[float, float] | None = None, epsilon: float = 1e-7, maxit: int = 50) -> tuple[np.ndarray, int]:
    """(g, iterations): R's grake Newton iteration for the calibration factors g."""
    if calfun not in CALFUNS:
        raise ValueError(f"calfun must be one of {CALFUNS}, not {calfun!r}")
    bounds = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not bounds[0] <= 1 <= bounds[1]:
        raise ValueError(f"calibration bounds {bounds} must contain 1 (no adjustment)")
    fm1, d_f = _calfun(calfun, bounds)
    sample_total = matrix.T @ weights
    eta = np.zeros(matrix.shape[1])
    xeta = matrix @ eta
    scale = 1 + np.abs(population)
    for iteration in range(1, maxit + 1):
        tmat = (matrix * (weights * d_f(xeta))[:, None]).T @ matrix
        misfit = population - sample_total - matrix.T @ (weights * fm1(xeta))
        eta = eta + np.linalg.pinv(tmat, rcond=np.sqrt(np.finfo(float).eps)) @ misfit
        xeta = matrix @ eta
        misfit = population - sample_total - matrix.T @ (weights * fm1(xeta))
        if np.all(np.abs(misfit) / scale < epsilon):
            return 1 + fm1(xeta), iteration
    worst = int(np.argmax(np.abs(misfit) / scale))
    raise ValueError(f"calibration did not converge in {maxit} iterations (largest misfit {misfit[worst]:.4g} on "
                     f"model column {worst + 1}); the bounds may be too tight or the totals unreachable")


def calibrate(df: pd.DataFrame, design: Design, formula: str, population, *, calfun: str = "linear",
              bounds: tuple[float, float] | None = None, variance=None, epsilon: float = 1e-7,
              maxit: int = 50) -> Calibration:
    """Calibrate design.weights to population totals of `formula`'s model columns (see the module doc).

    R: calibrate(design, formula, population, calfun=, bounds=, variance=). population: {column name: total}
    (R's names; "N" for the intercept) or a sequence in model-matrix order. variance: coefficients lambda of a
    heteroscedastic working model, var_i proportional to x_i' lambda (e.g. variance=1 on "~enroll - 1" gives the
    ratio estimator); linear calibration without bounds only, as R.
    """
    d = df[design.weights].to_numpy(dtype=float)
    if np.isnan(d).any() or (d < 0).any():
        raise ValueError(f"weights column {design.weights!r} has missing or negative values")
    mm = model_matrix(df, formula)
    names = list(mm.columns)
    x = mm.to_numpy(dtype=float)
    if variance is None:
        sigma2 = np.ones(len(df))
        if INTERCEPT not in names:
            # R: "Calibration models with constant variance must have an intercept" (or a full set of categories).
            fit = np.linalg.lstsq(x, np.ones(len(df)), rcond=None)[0]
            if not np.allclose(x @ fit, 1.0, atol=1e-7):
                raise ValueError(f"calibration formula {formula!r} needs an intercept (or a full set of categories)")
    else:
        if calfun != "linear" or bounds is not None:
            raise ValueError("variance= is for linear calibration without bounds (R's regcalibrate)")
        lam = np.broadcast_to(np.asarray(variance, dtype=float).ravel(), (x.shape[1],))
        sigma2 = x @ lam
        if not (sigma2[d > 0] > 0).all():
            raise ValueError("the working variance x'lambda must be positive for every sampled row")
    pop = population_vector(df, formula, names, population)
    sample_totals = x.T @ d
    empty = [n for n, s, p in zip(names, sample_totals, pop) if s == 0 and p != 0]
    if empty:
        raise ValueError(f"no sample weight in {', '.join(empty)}, which has a non-zero population total")
    if variance is None:
        g, iterations = grake(x, d, pop, calfun, bounds, epsilon, maxit)
    else:
        tmat = (x * (d / sigma2)[:, None]).T @ x
        g, iterations = 1 + (x @ np.linalg.solve(tmat, pop - sample_totals)) / sigma2, 1
    whalf = np.sqrt(d)
    root = np.sqrt(sigma2)
    scaled = x * (whalf / root)[:, None]
    # Orthonormal basis of the column space (an SVD copes with redundant columns, as R's pivoting QR).
    basis, singular, _ = np.linalg.svd(scaled, full_matrices=False)
    keep = singular > np.finfo(float).eps * max(x.shape) * (singular.max() if singular.size else 0.0)
    return Calibration(formula, calfun, bounds, names, pop, sample_totals, g,
                       pd.Series(d * g, index=df.index, name=f"{design.weights}_cal"), iterations, x,
                       basis[:, keep], g * whalf * root, variance)
