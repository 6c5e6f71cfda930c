"""Replicate-weight designs, as R's svrepdesign / as.svrepdesign / svrVar.

A replicate design is the full-sample weights plus R columns of replicate weights (full weights, R's
combined.weights=TRUE). Any statistic is recomputed with every replicate's weights, and

    variance = scale * sum_r rscales_r * (theta_r - centre)^2,

with centre the mean of the replicates (R's default, options(survey.replicates.mse=FALSE)) or the full-sample
estimate (mse=True). Replicates come from a file (`from_columns`, types JK1, JKn, BRR, Fay, bootstrap, other)
or are built from a Taylor design:

- `jk1`: unstratified delete-one-PSU jackknife; scale = (1 - f)(n - 1)/n with f the first-stage sampling
  fraction when the design has an fpc (R's as.svrepdesign(type="JK1"));
- `jkn`: stratified jackknife, one replicate per PSU, rscales_h = (1 - f_h)(n_h - 1)/n_h (type="JKn");
- `bootstrap`: Rao-Wu rescaled bootstrap: n_h - 1 PSUs drawn with replacement within each stratum, weights
  times n_h/(n_h - 1) x times drawn; scale = 1/(R - 1) (type="bootstrap"; no finite-population correction).

Replicate estimates of a calibrated design are calibrated replicate by replicate (`calibrate_replicates`, as
R's calibrate on a svyrep.design), so the calibration's effect on the variance is carried by the replicates.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import norm

from .design import COLUMNS, STATISTICS, Design, _numeric, _series, _stages, _units_per_stratum, analysis_rows, domains

TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "other")


@dataclass
class ReplicateDesign:
    weights: str                     # full-sample weight column
    replicates: np.ndarray           # n x R replicate weights (full weights, not multipliers)
    type: str
    scale: float
    rscales: np.ndarray
    mse: bool = False
    rho: float | None = None
    names: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.replicates = np.asarray(self.replicates, dtype=float)
        self.rscales = np.broadcast_to(np.asarray(self.rscales, dtype=float), (self.replicates.shape[1],)).copy()
        if self.type not in TYPES:
            raise ValueError(f"replicate type must be one of {TYPES}, not {self.type!r}")
        if np.isnan(self.replicates).any() or (self.replicates < 0).any():
            raise ValueError("replicate weights have missing or negative values")

    @property
    def n_replicates(self) -> int:
        return self.replicates.shape[1]

    def degf(self) -> int:
        """Degrees of freedom: rank of the replicate weights minus 1 (R's degf for svyrep.design)."""
        return int(np.linalg.matrix_rank(self.replicates, tol=1e-5 * np.abs(self.replicates).max())) - 1

    def variance(self, full, reps) -> np.ndarray:
        """Variance (or covariance matrix) from replicate estimates reps (R, or R x k) and the full estimate."""
        reps = np.asarray(reps, dtype=float)
        full = np.asarray(full, dtype=float)
        centre = full if self.mse else reps.mean(axis=0)
        dev = reps - centre
        if dev.ndim == 1:
            return self.scale * np.sum(self.rscales * dev ** 2)
        return self.scale * (dev * self.rscales[:, None]).T @ dev


# ---------------------------------------------------------------------------------------------- builders
MAX_CELLS = 50_000_000      # rows x replicates held in memory (400 MB of float64)


def _check_size(rows: int, replicates: int, kind: str) -> None:
    if rows * replicates > MAX_CELLS:
        size = rows * replicates * 8 / 1e9
        raise ValueError(f"{kind} would need {replicates:,} replicates of {rows:,} rows ({size:.1f} GB): "
                         "use the bootstrap with a few hundred replicates, or Taylor linearisation")


def _fpc_factor(df: pd.DataFrame, design: Design):
    """Per-row stage-1 (1 - f) and the stage-1 structure."""
    stage = _stages(df, design)[0]
    if stage.popsize is None:
        return stage, np.ones(stage.stratum.max() + 1)
    n_h = _units_per_stratum(stage)
    return stage, np.where(np.isinf(stage.popsize), 1.0, (stage.popsize - n_h) / stage.popsize)


def jk1(df: pd.DataFrame, design: Design, *, mse: bool = False) -> ReplicateDesign:
    """Delete-one-PSU jackknife of an unstratified design (R's as.svrepdesign(design, type="JK1"))."""
    if design.strata is not None:
        raise ValueError("JK1 is for unstratified designs; use jkn (JKn) or bootstrap for a stratified design")
    stage, f = _fpc_factor(df, design)
    w = df[design.weights].to_numpy(dtype=float)
    psu = stage.cluster
    n = psu.max() + 1
    if n < 2:
        raise ValueError("the jackknife needs at least two PSUs")
    _check_size(len(df), n, "the JK1 jackknife")
    reps = np.where(psu[:, None] == np.arange(n)[None, :], 0.0, w[:, None] * n / (n - 1))
    return ReplicateDesign(design.weights, reps, "JK1", float(f[0] * (n - 1) / n), np.ones(n), mse)


def jkn(df: pd.DataFrame, design: Design, *, mse: bool = False) -> ReplicateDesign:
    """Stratified delete-one-PSU jackknife (R's as.svrepdesign(design, type="JKn")); fully sampled strata get no
    replicates."""
    stage, f = _fpc_factor(df, design)
    w = df[design.weights].to_numpy(dtype=float)
    n_h = _units_per_stratum(stage)
    psu_stratum = np.zeros(stage.cluster.max() + 1, dtype=int)
    psu_stratum[stage.cluster] = stage.stratum
    if ((n_h == 1) & (f > 0)).any():
        bad = stage.labels[int(np.flatnonzero((n_h == 1) & (f > 0))[0])]
        raise ValueError(f"Stratum ({bad}) has only one PSU: the jackknife cannot drop it; collapse strata")
    _check_size(len(df), int((f[psu_stratum] > 0).sum()), "the JKn jackknife")
    cols, rscales = [], []
    for unit in range(len(psu_stratum)):
        h = psu_stratum[unit]
        if f[h] == 0:
            continue
        in_h = stage.stratum == h
        col = w.copy()
        col[in_h] *= n_h[h] / (n_h[h] - 1)
        col[stage.cluster == unit] = 0.0
        cols.append(col)
        rscales.append(f[h] * (n_h[h] - 1) / n_h[h])
    return ReplicateDesign(design.weights, np.column_stack(cols), "JKn", 1.0, np.array(rscales), mse)


def bootstrap(df: pd.DataFrame, design: Design, replicates: int = 50, *, seed: int | None = None,
              mse: bool = False) -> ReplicateDesign:
    """Rao-Wu rescaled bootstrap of the PSUs within strata (R's as.svrepdesign(design, type="bootstrap"))."""
    if replicates < 2:
        raise ValueError("the bootstrap needs at least 2 replicates")
    _check_size(len(df), replicates, "the bootstrap")
    stage = _stages(df, design)[0]
    w = df[design.weights].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    n_units = stage.cluster.max() + 1
    psu_stratum = np.zeros(n_units, dtype=int)
    psu_stratum[stage.cluster] = stage.stratum
    multipliers = np.ones((n_units, replicates))
    for h in range(stage.stratum.max() + 1):
        units = np.flatnonzero(psu_stratum == h)
        n = len(units)
        if n < 2:
            raise ValueError(f"Stratum ({stage.labels[h]}) has only one PSU: it cannot be resampled; collapse strata")
        draws = rng.integers(0, n, size=(n - 1, replicates))
        counts = np.stack([np.bincount(draws[:, r], minlength=n) for r in range(replicates)], axis=1)
        multipliers[units] = counts * n / (n - 1)
    return ReplicateDesign(design.weights, w[:, None] * multipliers[stage.cluster], "bootstrap",
                           1.0 / (replicates - 1), np.ones(replicates), mse)


def from_columns(df: pd.DataFrame, weights: str, columns: list[str], type: str, *, rho: float | None = None,
                 scale: float | None = None, rscales=None, mse: bool = False,
                 combined: bool = True) -> ReplicateDesign:
    """A file's own replicate weights: full replicate weights (R's svrepdesign(combined.weights=TRUE)), or with
    combined=False replicate factors that multiply the full-sample weights (combined.weights=FALSE).

    Default scales as R: BRR 1/R, Fay 1/(R (1 - rho)^2), bootstrap 1/(R - 1), JK1 (R - 1)/R (the delete-one
    jackknife without fpc; give scale when the file's documentation says otherwise). JKn needs rscales
    ((n_h - 1)/n_h of each replicate's stratum) and "other" needs scale, as in R.
    """
    if type not in TYPES:
        raise ValueError(f"replicate type must be one of {', '.join(TYPES)}, not {type!r}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"replicate weight column(s) {missing} are not in the data")
    if len(columns) < 2:
        raise ValueError("a replicate design needs at least two replicate weight columns")
    reps = df[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if np.isnan(reps).any():
        bad = columns[int(np.flatnonzero(np.isnan(reps).any(axis=0))[0])]
        raise ValueError(f"replicate weight column {bad!r} has missing or non-numeric values")
    if not combined:
        reps = reps * df[weights].to_numpy(dtype=float)[:, None]
    r = len(columns)
    if type == "Fay":
        if rho is None or not 0 <= rho < 1:
            raise ValueError("Fay replicates need rho in [0, 1), e.g. 0.5")
    defaults = {"BRR": 1 / r, "Fay": 1 / (r * (1 - (rho or 0)) ** 2), "bootstrap": 1 / (r - 1), "JK1": (r - 1) / r,
                "JKn": 1.0}
    if scale is None:
        if type == "other":
            raise ValueError("replicate type 'other' needs its scale")
        scale = defaults[type]
    if rscales is None:
        if type == "JKn":
            raise ValueError("JKn replicates need rscales ((n_h - 1)/n_h for each replicate), as R's svrepdesign")
        rscales = np.ones(r)
    rscales = np.asarray(rscales, dtype=float)
    if rscales.size not in (1, r):
        raise ValueError(f"{rscales.size} rscales for {r} replicate columns")
    return ReplicateDesign(weights, reps, type, float(scale), rscales, mse, rho, list(columns))


def calibrate_replicates(rep: ReplicateDesign, df: pd.DataFrame, calibration) -> ReplicateDesign:
    """The replicate design after calibration: full-sample weights calibrated (calibration.weights, which must
    be in df under rep.weights's calibrated name) and every replicate calibrated to the same totals."""
    from .calibration import grake

    if calibration.variance is not None:
        raise ValueError("replicate designs are calibrated with constant working variance only")
    x = calibration._matrix
    cols = []
    for r in range(rep.n_replicates):
        g, _ = grake(x, rep.replicates[:, r], calibration.population, calibration.calfun, calibration.bounds)
        cols.append(rep.replicates[:, r] * g)
    return ReplicateDesign(calibration.weights.name, np.column_stack(cols), rep.type, rep.scale, rep.rscales,
                           rep.mse, rep.rho, rep.names)


# ---------------------------------------------------------------------------------------------- estimation
@dataclass
class ReplicateEstimate:
    domain: str
    level: object
    estimate: float
    replicates: np.ndarray       # the estimate under each replicate's weights
    in_domain: np.ndarray


def replicate_values(df: pd.DataFrame, rep: ReplicateDesign, statistic: str, variable: str,
                     denominator: str | None = None, by: str | None = None, *, complete=(),
                     categorical: bool = False) -> list[ReplicateEstimate]:
    """Full-sample and replicate estimates of every domain (and category), computed as one matrix product."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, not {statistic!r}")
    if (statistic == "ratio") != (denominator is not None):
        raise ValueError("statistic='ratio' needs a denominator column (and only ratio takes one)")
    w = df[rep.weights].to_numpy(dtype=float)
    if np.isnan(w).any() or (w < 0).any():
        raise ValueError(f"weights column {rep.weights!r} has missing or negative values")
    ok = analysis_rows(df, [variable, *([denominator] if denominator else []), *complete])
    series = _series(df, statistic, variable, ok, categorical)
    x = np.where(ok, _numeric(df, denominator, statistic), 0.0) if denominator is not None else np.ones(len(df))
    cells = [(name, level, y, dom) for name, dom in domains(df, by, ok) for level, y in series]
    if not cells:
        return []
    def weighted_totals(columns):
        # Each cell's column is zero outside its domain: a sparse product costs rows x replicates, not x cells.
        m = sparse.csr_matrix(np.column_stack(columns).T)
        return np.vstack([m @ w, (m @ rep.replicates).T])      # (1 + R) x cells, full sample first

    totals = weighted_totals([y * dom for _, _, y, dom in cells])
    if statistic != "total":
        with np.errstate(divide="ignore", invalid="ignore"):
            totals = totals / weighted_totals([x * dom for *_, dom in cells])
    return [ReplicateEstimate(name, level, float(totals[0, j]), totals[1:, j], dom)
            for j, (name, level, _, dom) in enumerate(cells)]


def estimate(df: pd.DataFrame, rep: ReplicateDesign, statistic: str, variable: str,
             denominator: str | None = None, by: str | None = None, conf_level: float = 0.95, *,
             complete=(), categorical: bool = False) -> pd.DataFrame:
    """Like phakhi.survey.design.estimate, with replicate-weight variances (R's svymean etc. on a svrepdesign).
    CIs use normal quantiles, as R's confint."""
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), not {conf_level}")
    z_crit = norm.ppf(0.5 + conf_level / 2)
    rows = []
    for v in replicate_values(df, rep, statistic, variable, denominator, by, complete=complete,
                              categorical=categorical):
        se = float(np.sqrt(rep.variance(v.estimate, v.replicates))) if np.isfinite(v.estimate) else np.nan
        rows.append({"domain": v.domain, "statistic": statistic, "variable": variable, "level": v.level,
                     "estimate": v.estimate, "se": se, "ci_low": v.estimate - z_crit * se,
                     "ci_high": v.estimate + z_crit * se, "n": int(v.in_domain.sum())})
    return pd.DataFrame(rows, columns=COLUMNS)
