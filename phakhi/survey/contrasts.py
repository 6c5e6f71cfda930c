"""Linear contrasts of survey estimates and the design-based two-group t-test (R's svycontrast and svyttest).

`joint` estimates several items on the same respondents at once (R's svymean(~a+b+c, design, na.rm=TRUE): complete
cases over the items, kept as a domain) and keeps what their joint variance needs: the influence values of every
item (Taylor designs) or the estimate under every replicate (replicate designs). A contrast sum_j c_j theta_j then
has the variance of the total of sum_j c_j z_j (resp. of the replicate contrasts): the covariance between items
answered by the same respondents is accounted for, exactly as R's svycontrast(vcov = the joint covariance).

`ttest` is svyttest(y ~ group, design): the difference of the two groups' means (second category minus first),
its design-based SE, t = difference/SE on degf(design) - 1 degrees of freedom (PSUs minus strata minus one; for
replicate designs the rank of the replicate weights minus two) and the t-based CI R prints.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy.stats import norm, t as t_dist

from . import replicates as rep_mod
from .design import _stages, analysis_rows, calibration_projector, degf, influence_values, linearized_variance

CONTRAST_COLUMNS = ["domain", "contrast", "estimate", "se", "ci_low", "ci_high", "t", "df", "p_value", "n"]


@dataclass
class Estimates:
    """Estimates of several items in one domain, with what their joint variance needs."""
    domain: str
    names: list[str]
    coef: np.ndarray
    n: int
    df: int                                       # design degrees of freedom (degf)
    variance_of: Callable[[np.ndarray], float]    # variance of c' coef

    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the estimates (by polarisation of the variance of sums)."""
        k = len(self.names)
        eye = np.eye(k)
        v = np.array([[self.variance_of(eye[i] + eye[j]) for j in range(k)] for i in range(k)])
        d = np.diag(v).copy() / 4
        cov = (v - d[:, None] - d[None, :]) / 2
        np.fill_diagonal(cov, d)
        return pd.DataFrame(cov, index=self.names, columns=self.names)


def joint(df: pd.DataFrame, design, statistic: str, variables: list[str], *, by: str | None = None,
          calibration=None, complete=(), lonely_psu: str = "fail") -> list[Estimates]:
    """Means or totals of several numeric items in each domain, complete cases over all of them (and `complete`).

    design: a phakhi.survey.design.Design (Taylor linearisation; `calibration` as in estimate) or a
    phakhi.survey.replicates.ReplicateDesign.
    """
    if statistic not in ("mean", "total"):
        raise ValueError(f"contrasts combine means or totals, not {statistic!r}")
    if len(set(variables)) != len(variables) or not variables:
        raise ValueError(f"give distinct items to combine, not {variables}")
    every = [*variables, *complete]          # complete cases over all items: one domain for every item
    if isinstance(design, rep_mod.ReplicateDesign):
        per_item = [rep_mod.replicate_values(df, design, statistic, v, by=by, complete=every) for v in variables]
        out = []
        for cells in zip(*per_item):
            coef = np.array([c.estimate for c in cells])
            reps = np.column_stack([c.replicates for c in cells])
            out.append(Estimates(cells[0].domain, list(variables), coef, int(cells[0].in_domain.sum()), design.degf(),
                                 lambda c, coef=coef, reps=reps: float(design.variance(coef @ c, reps @ c))))
        return out
    stages = _stages(df, design)
    dfree = degf(df, design)
    projector = calibration_projector(df, design.weights, calibration)
    per_item = [influence_values(df, design, statistic, v, by=by, complete=every, _projector=projector)
                for v in variables]
    out = []
    for cells in zip(*per_item):
        coef = np.array([c.estimate for c in cells])
        z = np.column_stack([c.z for c in cells])
        present = cells[0].in_domain

        def variance_of(c, z=z, present=present):
            return linearized_variance(z @ c, df, design, lonely_psu=lonely_psu, present=present,
                                       _stages_cache=stages)
        out.append(Estimates(cells[0].domain, list(variables), coef, int(present.sum()), dfree, variance_of))
    return out


_TERM = re.compile(r"\s*([+-])?\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)?\s*\*?\s*([A-Za-z_.][\w.]*)\s*")


def parse_contrast(text: str) -> tuple[str, dict[str, float]]:
    """'diff=api00-api99', 'api00 - api99', 'avg=0.5*k1+0.5*k2' -> (name, {column: coefficient})."""
    name, _, expr = text.partition("=") if "=" in text else ("", "", text)
    name, expr = name.strip() or text.strip(), expr.strip()
    coefs: dict[str, float] = {}
    pos = 0
    while pos < len(expr):
        m = _TERM.match(expr, pos)
        if not m or m.end() == pos or (pos > 0 and not m.group(1)):
            raise ValueError(f"cannot read contrast {text!r} near {expr[pos:]!r}: write e.g. 'api00 - api99' or "
                             "'avg=0.5*k1+0.5*k2'")
        sign = -1.0 if m.group(1) == "-" else 1.0
        coefs[m.group(3)] = coefs.get(m.group(3), 0.0) + sign * float(m.group(2) or 1.0)
        pos = m.end()
    if not coefs:
        raise ValueError(f"contrast {text!r} names no column")
    return name, coefs


def contrast(estimates: Estimates, coefficients: dict[str, float], name: str = "contrast",
             conf_level: float = 0.95) -> dict:
    """sum_j c_j theta_j with its SE (R's svycontrast), normal CI as R's confint; t = estimate/SE with its p-value
    on degf - 1 degrees of freedom (svyttest of the contrast, one-sample)."""
    unknown = [k for k in coefficients if k not in estimates.names]
    if unknown:
        raise ValueError(f"contrast {name!r} uses {unknown}, not among the estimated items {estimates.names}")
    c = np.array([coefficients.get(v, 0.0) for v in estimates.names])
    est = float(c @ estimates.coef)
    se = float(np.sqrt(estimates.variance_of(c)))
    z = norm.ppf(0.5 + conf_level / 2)
    dfree = estimates.df - 1
    tstat = est / se if se > 0 else np.nan
    p = float(2 * t_dist.sf(abs(tstat), dfree)) if dfree > 0 and np.isfinite(tstat) else np.nan
    return {"domain": estimates.domain, "contrast": name, "estimate": est, "se": se, "ci_low": est - z * se,
            "ci_high": est + z * se, "t": tstat, "df": dfree, "p_value": p, "n": estimates.n}


def contrasts(df: pd.DataFrame, design, statistic: str, specs: list[str], *, by: str | None = None,
              calibration=None, complete=(), lonely_psu: str = "fail", conf_level: float = 0.95) -> pd.DataFrame:
    """Every contrast of `specs` ('diff=api00-api99', ...) in every domain, as one table (CONTRAST_COLUMNS)."""
    parsed = [parse_contrast(s) for s in specs]
    items = list(dict.fromkeys(v for _, coefs in parsed for v in coefs))
    rows = []
    for est in joint(df, design, statistic, items, by=by, calibration=calibration, complete=complete,
                     lonely_psu=lonely_psu):
        rows += [contrast(est, coefs, name, conf_level) for name, coefs in parsed]
    return pd.DataFrame(rows, columns=CONTRAST_COLUMNS)


# ---------------------------------------------------------------------------------------------- t-test
@dataclass
class TTest:
    variable: str
    group: str
    levels: tuple                 # (first, second): difference = mean(second) - mean(first)
    means: tuple[float, float]
    difference: float
    se: float
    t: float
    df: int
    p_value: float
    conf_level: float
    ci_low: float
    ci_high: float
    n: int

    def text(self) -> str:
        a, b = self.levels
        return (f"Design-based t-test: {self.variable} ~ {self.group}\n"
                f"t = {self.t:.4g}, df = {self.df}, p-value = {self.p_value:.4g}\n"
                f"alternative hypothesis: true difference in mean is not equal to 0\n"
                f"{self.conf_level:.0%} confidence interval: {self.ci_low:.6g} {self.ci_high:.6g}\n"
                f"difference in mean ({self.group}={b} minus {self.group}={a}): {self.difference:.6g} "
                f"(SE {self.se:.5g}; means {self.means[0]:.6g}, {self.means[1]:.6g})")


def ttest(df: pd.DataFrame, design, variable: str, group: str, *, conf_level: float = 0.95, calibration=None,
          lonely_psu: str = "fail") -> TTest:
    """svyttest(variable ~ group, design) for a group column with two categories (see the module doc)."""
    ok = analysis_rows(df, [variable, group])
    levels = sorted(pd.unique(df.loc[ok, group]))
    if len(levels) != 2:
        raise ValueError(f"the t-test compares two groups; {group!r} has {len(levels)} categories "
                         f"({', '.join(map(str, levels[:6]))}) among rows with {variable!r}")
    grp = df[group].to_numpy()
    rows = [ok & (grp == lv) for lv in levels]
    y = np.where(ok, pd.to_numeric(df[variable], errors="coerce").to_numpy(dtype=float), 0.0)
    if isinstance(design, rep_mod.ReplicateDesign):
        w_all = np.column_stack([df[design.weights].to_numpy(dtype=float), design.replicates])
        means = np.column_stack([(w_all.T @ (y * r)) / (w_all.T @ r.astype(float)) for r in rows])  # (1+R) x 2
        diff_all = means[:, 1] - means[:, 0]
        diff, se = float(diff_all[0]), float(np.sqrt(design.variance(diff_all[0], diff_all[1:])))
        m = means[0]
        dfree = design.degf() - 1
    else:
        w = df[design.weights].to_numpy(dtype=float)
        zs, m = [], []
        for r in rows:
            wd = w * r
            mean = (wd * y).sum() / wd.sum()
            m.append(mean)
            zs.append(wd * (y - mean) / wd.sum())
        z = zs[1] - zs[0]
        if calibration is not None:
            z = calibration_projector(df, design.weights, calibration)(z)
        diff = float(m[1] - m[0])
        se = float(np.sqrt(linearized_variance(z, df, design, lonely_psu=lonely_psu, present=ok)))
        dfree = degf(df, design) - 1
    if dfree < 1:
        raise ValueError(f"the design has {dfree + 1} degrees of freedom: too few PSUs for a t-test")
    tstat = diff / se
    q = t_dist.ppf(0.5 + conf_level / 2, dfree)
    return TTest(variable, group, tuple(levels), (float(m[0]), float(m[1])), diff, se, float(tstat), int(dfree),
                 float(2 * t_dist.sf(abs(tstat), dfree)), conf_level, diff - q * se, diff + q * se, int(ok.sum()))
