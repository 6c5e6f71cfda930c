"""Design-based estimation for complex survey samples, reproducing R's `survey` package.

Point estimates are weighted (Horvitz-Thompson) totals, means, proportions and ratios.  Standard
errors use Taylor linearisation: each estimator is replaced by its influence values z_i, and the
variance of the total of z is estimated from PSU totals within strata, exactly as R's
`svyrecvar` does (with-replacement, or without replacement when an fpc is given, and R's
recursive multistage formula when fpcs are given for both stages).

Domains (`by=`) and missing values are handled by zeroing the influence values of rows outside
the domain, never by dropping rows: dropping rows would drop PSUs and strata and understate
the variance.  R does the same (subsetting a design keeps its PSU counts).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from .raking import kish_effective_n, weighting_deff

__all__ = ["Design", "estimate", "influence_values", "Influence", "linearized_variance", "calibration_residuals",
           "deff", "degf", "kish_effective_n", "weighting_deff"]

STATISTICS = ("mean", "total", "proportion", "ratio")
LONELY_PSU = ("fail", "adjust", "remove")
COLUMNS = ["domain", "statistic", "variable", "level", "estimate", "se", "ci_low", "ci_high", "n"]


@dataclass(frozen=True)
class Design:
    """A sampling design described by columns of the data frame.

    weights: design (or raked) weights.  strata: stratum column (PSUs are taken as nested in
    strata, like R's nest=TRUE).  psu: () for element sampling, (psu,) or (psu, ssu) cluster ids.
    fpc: none, or one column per stage holding the population size (>1) or the sampling fraction
    (<=1) of that stage, as R's svydesign(fpc=).
    """
    weights: str
    strata: str | None = None
    psu: tuple[str, ...] = ()
    fpc: tuple[str, ...] = ()

    def __post_init__(self):
        # Accept a bare column name where a tuple is expected.
        for name in ("psu", "fpc"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if len(self.psu) > 2:
            raise ValueError("Design supports at most two sampling stages (psu, ssu)")
        if self.fpc and len(self.fpc) != max(1, len(self.psu)):
            raise ValueError(f"give an fpc column for every sampling stage or none: psu={self.psu}, fpc={self.fpc}")


# ---------------------------------------------------------------------------------------------
# Variance estimation
# ---------------------------------------------------------------------------------------------

@dataclass
class _Stage:
    stratum: np.ndarray        # stratum code of each row at this stage
    cluster: np.ndarray        # sampling-unit code of each row (unique across strata)
    labels: list[str]          # stratum labels, for messages
    popsize: np.ndarray | None  # population size (in units of this stage) per stratum


def _codes(*columns: pd.Series) -> np.ndarray:
    """Integer code of each row's combination of values (used to nest ids in strata/clusters)."""
    frame = pd.concat([c.reset_index(drop=True) for c in columns], axis=1, ignore_index=True)
    return frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy()


def _stages(df: pd.DataFrame, design: Design) -> list[_Stage]:
    """The stratum/cluster structure of each stage, and per-stratum population sizes."""
    for col in (design.strata, *design.psu, *design.fpc):
        if col is not None and df[col].isna().any():
            raise ValueError(f"design column {col!r} has missing values")
    n = len(df)
    if design.strata is None:
        strata = np.zeros(n, dtype=int)
        labels = ["1"]
    else:
        strata, uniques = pd.factorize(df[design.strata], sort=True)
        labels = [str(u) for u in uniques]
    ids = [df[c] for c in design.psu] or [pd.Series(np.arange(n))]
    cluster1 = _codes(pd.Series(strata), ids[0])
    stages = [_Stage(strata, cluster1, labels, None)]
    if len(ids) == 2:
        # Stage-2 strata are the stage-1 clusters (R forces SSUs nested in PSUs).
        cluster2 = _codes(pd.Series(cluster1), ids[1])
        first_row = np.unique(cluster1, return_index=True)[1]
        labels2 = [f"{design.psu[0]}={v}" for v in df[design.psu[0]].to_numpy()[first_row]]
        stages.append(_Stage(cluster1, cluster2, labels2, None))

    if design.fpc:
        values = df[list(design.fpc)].to_numpy(dtype=float)
        # As R's as.fpc: all values >= 1 are population sizes, all <= 1 sampling fractions.
        is_popsize = (values > 1).any()
        if is_popsize and not (values >= 1).all():
            raise ValueError("fpc must be all population sizes (>=1) or all sampling fractions (<=1)")
        for k, stage in enumerate(stages):
            col = values[:, k]
            nstrata = stage.stratum.max() + 1
            lo = np.full(nstrata, np.inf)
            hi = np.full(nstrata, -np.inf)
            np.minimum.at(lo, stage.stratum, col)
            np.maximum.at(hi, stage.stratum, col)
            if (lo != hi).any():
                bad = stage.labels[int(np.flatnonzero(lo != hi)[0])]
                raise ValueError(f"fpc column {design.fpc[k]!r} varies within stratum ({bad}) at stage {k + 1}")
            n_units = _units_per_stratum(stage)
            popsize = lo if is_popsize else n_units / lo
            if (popsize < n_units - 1e-9).any():
                bad = stage.labels[int(np.flatnonzero(popsize < n_units - 1e-9)[0])]
                raise ValueError(f"fpc implies more than 100% sampling in stratum ({bad}) at stage {k + 1}")
            stage.popsize = popsize
    return stages


def _units_per_stratum(stage: _Stage) -> np.ndarray:
    """Number of distinct sampling units in each stratum (R's nPSU)."""
    unit_stratum = np.zeros(stage.cluster.max() + 1, dtype=int)
    unit_stratum[stage.cluster] = stage.stratum
    return np.bincount(unit_stratum, minlength=stage.stratum.max() + 1).astype(float)


def _stratum_variances(x: np.ndarray, stage: _Stage, stage_no: int, lonely_psu: str,
                       present: np.ndarray) -> np.ndarray:
    """Per-stratum variance of the total of x from this stage's unit totals (R's onestrat)."""
    nstrata = stage.stratum.max() + 1
    unit_total = np.bincount(stage.cluster, weights=x)
    unit_stratum = np.zeros(len(unit_total), dtype=int)
    unit_stratum[stage.cluster] = stage.stratum
    n_h = np.bincount(unit_stratum, minlength=nstrata).astype(float)
    mean_h = np.bincount(unit_stratum, weights=unit_total, minlength=nstrata) / n_h
    ss_h = np.bincount(unit_stratum, weights=(unit_total - mean_h[unit_stratum]) ** 2, minlength=nstrata)
    f_h = np.ones(nstrata) if stage.popsize is None else np.where(
        np.isinf(stage.popsize), 1.0, (stage.popsize - n_h) / stage.popsize)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_h = np.where(n_h > 1, f_h * n_h / (n_h - 1) * ss_h, 0.0)

    lonely = (n_h == 1) & (f_h >= 1e-7)   # a fully sampled stratum has no variance: not lonely
    if lonely.any():
        # Strata the domain never reaches are skipped, as R skips them after subsetting.
        reached = np.bincount(stage.stratum, weights=present.astype(float), minlength=nstrata) > 0
        lonely &= reached
        if lonely.any() and lonely_psu == "fail":
            bad = stage.labels[int(np.flatnonzero(lonely)[0])]
            raise ValueError(
                f"Stratum ({bad}) has only one PSU at stage {stage_no}: its variance cannot be estimated. "
                "Collapse strata, or pass lonely_psu='adjust' (centre at the grand mean, as R's "
                "survey.lonely.psu='adjust') or 'remove' (no contribution).")
        if lonely_psu == "adjust":
            # R leaves the lonely PSU's total uncentred, i.e. centred at the scores' grand mean 0.
            var_h = np.where(lonely, f_h * mean_h ** 2, var_h)
    return np.where(f_h < 1e-7, 0.0, var_h)


def linearized_variance(scores, df: pd.DataFrame, design: Design, *, lonely_psu: str = "fail",
                        present=None, _stages_cache: list[_Stage] | None = None) -> float:
    """Variance of sum(scores) under the design (R's svyrecvar for one column).

    scores: influence values per row (0 outside the domain).  present: rows belonging to the
    domain being estimated (default: all); only used to skip strata a domain never reaches when
    checking for lonely PSUs.  With fpcs for two stages, stage-2 variances within each PSU are
    added, scaled by the stage-1 sampling fraction (R's multistage); otherwise the ultimate-cluster
    (stage-1 only) estimator is used.
    """
    if lonely_psu not in LONELY_PSU:
        raise ValueError(f"lonely_psu must be one of {LONELY_PSU}, not {lonely_psu!r}")
    x = np.asarray(scores, dtype=float)
    present = np.ones(len(x), dtype=bool) if present is None else np.asarray(present, dtype=bool)
    stages = _stages_cache or _stages(df, design)
    total = _stratum_variances(x, stages[0], 1, lonely_psu, present).sum()
    if len(stages) == 2 and design.fpc:
        first, second = stages
        # Stage-1 sampling fraction n_h/N_h of each PSU's stratum (R multiplies by nPSU/fpc).
        frac_h = _units_per_stratum(first) / first.popsize
        psu_stratum = np.zeros(first.cluster.max() + 1, dtype=int)
        psu_stratum[first.cluster] = first.stratum
        v2 = _stratum_variances(x, second, 2, lonely_psu, present)   # one entry per PSU
        total += (frac_h[psu_stratum] * v2).sum()
    return float(total)


def calibration_residuals(scores, df: pd.DataFrame, weights: str, columns: list[str]) -> np.ndarray:
    """Influence values adjusted for raking/post-stratification on `columns`.

    Calibrated weights make the margins' totals exact, so their variability must be removed from
    the influence values.  R's svyrecvar does this for raked designs by iterating
    x <- x - w * ave(x / w, margin) over the margins, which converges to the residual of an
    ordinary least-squares fit of x/w on all the margins' category indicators, times w
    (equivalently a least-squares fit of x on w x dummies with weights 1/w^2).  We compute that
    limit exactly.
    """
    return _calibration_projector(df, weights, columns)(scores)


def single_threaded_blas() -> None:
    """Run BLAS/LAPACK on one thread for the rest of this process (called by the dbt Python models that estimate).

    Their products are small (a wave's ~20,000 respondents x ~50 margin cells) and dbt already runs two models at
    a time on two cores: OpenBLAS's own threads then only wait for each other (measured at national size on a
    busy 2-core machine: the margin SVD 2.0 s on the default threads against 0.06 s on one, each projection
    30 ms against 3 ms). One thread also makes the last bits of every figure independent of how many cores the
    machine has. Process-wide on purpose and never undone: dbt runs in its own subprocess
    (phakhi/transform.py), and a limit switched on and off around one model would change the thread count under
    a model running beside it."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


_BASES: dict[str, np.ndarray] = {}     # digest of a design matrix -> its orthonormal basis (few entries)


def _orthonormal_basis(design_matrix: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns' span (SVD, numpy's lstsq rank cut-off), memoised on the exact matrix:
    a table of many estimates over one wave (every measure x domain, e.g. mart_awareness_baseline's 35 calls
    per wave) shares one design, and the SVD was most of its time. Same bytes in, same basis out, so memoising
    changes no figure."""
    import hashlib

    key = hashlib.blake2b(design_matrix.tobytes(), digest_size=16,
                          person=repr(design_matrix.shape).encode()[:16]).hexdigest()
    basis = _BASES.get(key)
    if basis is None:
        u, singular, _ = np.linalg.svd(design_matrix, full_matrices=False)
        cutoff = np.finfo(float).eps * max(design_matrix.shape) * (singular.max() if singular.size else 0.0)
        basis = u[:, singular > cutoff]
        basis.setflags(write=False)
        if len(_BASES) >= 8:
            _BASES.pop(next(iter(_BASES)))
        _BASES[key] = basis
    return basis


def _calibration_projector(df: pd.DataFrame, weights: str, columns: list[str]):
    """calibration_residuals as a function of the scores, for one data set, weights and margins.

    The least-squares fit is the orthogonal projection of x/w onto the span of the margins'
    indicators; an orthonormal basis of that span (from an SVD, with numpy's lstsq rank cut-off) is
    computed once, so that the many influence vectors of one estimate() call (every domain and
    category) cost a matrix-vector product each instead of a least-squares solve.
    """
    w = df[weights].to_numpy(dtype=float)
    used = w > 0
    dummies = []
    for col in columns:
        if df[col].isna().any():
            raise ValueError(f"calibration column {col!r} has missing values")
        dummies.append(pd.get_dummies(df[col]).to_numpy(dtype=float))
    design_matrix = np.column_stack(dummies) * used[:, None]
    basis = _orthonormal_basis(design_matrix)

    def residuals(scores) -> np.ndarray:
        """One vector of scores (n,), or several as the columns of an (n, m) matrix: one product for all."""
        x = np.asarray(scores, dtype=float)
        wx, ux = (w, used) if x.ndim == 1 else (w[:, None], used[:, None])
        u = np.divide(x, wx, out=np.zeros_like(x), where=ux)
        return np.where(ux, wx * (u - basis @ (basis.T @ u)), 0.0)

    residuals.batched = True       # influence_values passes all of an estimate's vectors at once
    return residuals


# ---------------------------------------------------------------------------------------------
# Estimation
# ---------------------------------------------------------------------------------------------

def _numeric(df: pd.DataFrame, column: str, statistic: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(df[column]):   # bool counts as numeric (0/1)
        raise ValueError(f"{statistic} needs a numeric column; {column!r} is {df[column].dtype} "
                         "(use statistic='proportion' for categories)")
    return df[column].to_numpy(dtype=float, na_value=np.nan)


def _ratio(y: np.ndarray, x: np.ndarray, wd: np.ndarray) -> tuple[float, np.ndarray]:
    """Ratio sum(w y)/sum(w x) over the domain and its influence values w (y - R x) / X."""
    denom = (wd * x).sum()
    if denom == 0:
        return np.nan, np.full(len(y), np.nan)
    r = (wd * y).sum() / denom
    return r, wd * (y - r * x) / denom


@dataclass
class Influence:
    """One estimate and its influence values: the linearised form every variance, contrast and test uses."""
    domain: str
    level: object            # category for proportions and category totals, else None
    estimate: float
    z: np.ndarray            # influence values per row (0 outside the domain), calibration-adjusted
    in_domain: np.ndarray    # rows used (domain x complete cases)


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series)    # bool counts as numeric 0/1 (its total is a count)


def analysis_rows(df: pd.DataFrame, columns) -> np.ndarray:
    """Rows with every one of `columns` present: complete cases, used as a domain (R's na.rm=TRUE), never dropped."""
    ok = np.ones(len(df), dtype=bool)
    for col in columns:
        if col not in df.columns:
            raise ValueError(f"complete-case column {col!r} is not in the data")
        ok &= df[col].notna().to_numpy()
    return ok


def domains(df: pd.DataFrame, by: str | None, ok: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, rows) of each domain of `by` (all rows when None), restricted to the analysis rows `ok`."""
    if by is None:
        return [("overall", ok)]
    # Integer codes once (comparing text labels per domain dominated the time with many domains).
    codes, uniques = pd.factorize(df[by], sort=True)
    return [(f"{by}={value}", ok & (codes == i)) for i, value in enumerate(uniques)]


def _series(df: pd.DataFrame, statistic: str, variable: str, ok: np.ndarray, categorical: bool):
    """[(level, values)]: one 0/1 indicator per category for proportions and category totals, else the column."""
    if statistic == "proportion" or (statistic == "total" and (categorical or _is_categorical(df[variable]))):
        levels = sorted(pd.unique(df.loc[ok, variable]))
        values = df[variable].to_numpy()
        # Plain Python category labels in the output (not numpy scalars).
        return [(level.item() if isinstance(level, np.generic) else level, (values == level).astype(float))
                for level in levels]
    return [(None, np.where(ok, _numeric(df, variable, statistic), 0.0))]


def calibration_projector(df: pd.DataFrame, weights: str, calibration):
    """The influence-value adjustment for calibrated weights: None, margin columns (raking) or a callable
    (e.g. phakhi.survey.calibration.Calibration.residuals for GREG)."""
    if calibration is None or callable(calibration):
        return calibration
    if isinstance(calibration, str):
        calibration = [calibration]
    return _calibration_projector(df, weights, list(calibration)) if calibration else None


def influence_values(df: pd.DataFrame, design: Design, statistic: str, variable: str,
                     denominator: str | None = None, by: str | None = None, *, calibration=None,
                     complete=(), categorical: bool = False, _projector=None) -> list[Influence]:
    """Point estimates with their influence values, one per domain (and category): see `estimate`."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, not {statistic!r}")
    if (statistic == "ratio") != (denominator is not None):
        raise ValueError("statistic='ratio' needs a denominator column (and only ratio takes one)")
    w = df[design.weights].to_numpy(dtype=float)
    if np.isnan(w).any() or (w < 0).any():
        raise ValueError(f"weights column {design.weights!r} has missing or negative values")
    calibrate = _projector or calibration_projector(df, design.weights, calibration)
    ok = analysis_rows(df, [variable, *([denominator] if denominator else []), *complete])
    series = _series(df, statistic, variable, ok, categorical)
    x = np.where(ok, _numeric(df, denominator, statistic), 0.0) if denominator is not None else np.ones(len(df))

    out = []
    for name, in_domain in domains(df, by, ok):
        wd = w * in_domain
        for level, y in series:
            if statistic == "total":
                est, z = (wd * y).sum(), wd * y
            else:
                est, z = _ratio(y, x, wd)
            out.append(Influence(name, level, est, z, in_domain))
    if calibrate is not None and out:
        if getattr(calibrate, "batched", False):
            # Every domain x category in one matrix product (a matrix-vector product each was most of the time
            # of a many-domain table): the same projection, summed in another order (last-bit differences).
            adjusted = calibrate(np.column_stack([inf.z for inf in out]))
            for k, inf in enumerate(out):
                inf.z = np.ascontiguousarray(adjusted[:, k])
        else:
            for inf in out:
                inf.z = calibrate(inf.z)
    return out


def estimate(df: pd.DataFrame, design: Design, statistic: str, variable: str,
             denominator: str | None = None, by: str | None = None,
             conf_level: float = 0.95, *, calibration=None, lonely_psu: str = "fail",
             complete=(), categorical: bool = False, _stages_cache: list[_Stage] | None = None) -> pd.DataFrame:
    """Design-based estimate with Taylor-linearised standard error and normal-quantile CI.

    statistic: "mean", "total", "proportion" (one row per category of `variable`) or "ratio"
    (sum of variable / sum of denominator).  A total of a categorical column (text, or any
    column with categorical=True) is one row per category: the estimated number of population
    units in it (R's svytotal(~factor)); a bool column's total is the count of True.  by: one row
    per domain, estimated by zeroing the influence values outside the domain (the full design is kept, as R's svyby).  Missing values
    of the variable (or denominator) are dropped as R's na.rm=TRUE, also as a domain; complete:
    further columns that must all be present (complete cases over several variables, same domain
    semantics).  calibration: the margin columns the weights were raked/post-stratified to (the SE
    then uses calibration residuals, R's svymean on a rake()d design), or a residual function such
    as Calibration.residuals from phakhi.survey.calibration (GREG).  lonely_psu: "fail" (R's
    default), "adjust" or "remove" for strata with a single PSU.

    Returns columns domain, statistic, variable, level, estimate, se, ci_low, ci_high, n, where n
    is the unweighted number of rows used. (_stages_cache: the design's _stages(df, design), when a caller
    estimates many variables on one data set.)
    """
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), not {conf_level}")
    if lonely_psu not in LONELY_PSU:
        raise ValueError(f"lonely_psu must be one of {LONELY_PSU}, not {lonely_psu!r}")
    values = influence_values(df, design, statistic, variable, denominator, by, calibration=calibration,
                              complete=complete, categorical=categorical)
    stages = _stages_cache or _stages(df, design)
    z_crit = norm.ppf(0.5 + conf_level / 2)
    rows = []
    for inf in values:
        est = inf.estimate
        se = np.nan if np.isnan(est) else np.sqrt(linearized_variance(
            inf.z, df, design, lonely_psu=lonely_psu, present=inf.in_domain, _stages_cache=stages))
        rows.append({"domain": inf.domain, "statistic": statistic, "variable": variable, "level": inf.level,
                     "estimate": est, "se": se, "ci_low": est - z_crit * se,
                     "ci_high": est + z_crit * se, "n": int(inf.in_domain.sum())})
    return pd.DataFrame(rows, columns=COLUMNS)


def degf(df: pd.DataFrame, design: Design) -> int:
    """Design degrees of freedom: first-stage PSUs minus strata (rows minus strata without clusters), R's degf."""
    stage = _stages(df, design)[0]
    return int(len(np.unique(stage.cluster)) - len(np.unique(stage.stratum)))


def deff(df: pd.DataFrame, design: Design, variable: str, *, replace: bool = False,
         calibration: list[str] | None = None, lonely_psu: str = "fail") -> float:
    """Design effect of the overall weighted mean of `variable`: design variance over the variance
    of a simple random sample of the same size (without replacement unless replace=True), as
    R's svymean(deff=TRUE)."""
    est = estimate(df, design, "mean", variable, calibration=calibration, lonely_psu=lonely_psu).iloc[0]
    ok = df[variable].notna().to_numpy()
    y = df[variable].to_numpy(dtype=float)[ok]
    w = df[design.weights].to_numpy(dtype=float)[ok]
    n, total_w = int((w > 0).sum()), w.sum()
    pop_var = (w * (y - est["estimate"]) ** 2).sum() / total_w * n / (n - 1)
    v_srs = pop_var / n * (1.0 if replace else (total_w - n) / total_w)
    return float(est["se"] ** 2 / v_srs)
