"""TEST ORACLE: the implementation before issue 17 (kept verbatim but for its imports).

Awareness baseline and wave comparison: the tables behind the marts mart_awareness_baseline,
mart_awareness_change and mart_awareness_reliability (dbt python models call these functions).

Estimation (docs/evaluator.md has the formulas):
- every estimate uses the full stratified cluster design of its wave (strata, PSUs) and the raked weights, with
  calibration-aware Taylor-linearised SEs (phakhi.survey.design.estimate(..., calibration=[margin cells]));
  domains (region, province, sex, ...) are estimated by zeroing influence values outside the domain;
- means of 0-100 scores get normal 95% CIs; shares (%) get logit-transformed CIs (R's svyciprop(method="logit")),
  which stay inside 0-100;
- a cell with fewer than `min_n` respondents (unweighted) is withheld: estimate, SE, CI, deff and effective n
  are null and suppressed is true;
- a cell whose respondents come from few PSUs (design df = PSUs - strata in the cell < 8) is published but flagged
  unstable_se: its variance estimate rests on few degrees of freedom;
- wave vs baseline: difference = wave - baseline; the waves are independent samples, so
  SE(diff) = sqrt(SE_baseline^2 + SE_wave^2); z = diff / SE(diff); two-sided normal p-value; Benjamini-Hochberg
  adjusted p-values within each family (one comparison of two waves x one domain variable, all measures).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from oracle_survey_design import Design, estimate
from phakhi.survey.multiple_testing import METHODS
from phakhi.survey.raking import kish_effective_n
from phakhi.survey.reliability import cronbach_alpha
from phakhi.settings import SEEDS_DIR

MEAN_MEASURES = ["awareness_index", "knowledge", "concern", "behaviour"]
LEVELS = ["low", "medium", "high"]
SHARE_MEASURES = [f"share_{lvl}" for lvl in LEVELS]
MEASURES = MEAN_MEASURES + SHARE_MEASURES
DOMAINS = ["overall", "region", "province", "sex", "age_group", "urban_rural", "education"]
DOMAIN_COLUMNS = {"region": "region", "province": "province_code", "sex": "sex", "age_group": "age_group",
                  "urban_rural": "urban_rural", "education": "education"}
ALPHA = 0.05
# A cell whose respondents come from few PSUs has an unstable variance estimate: flag it when its design degrees
# of freedom (PSUs in the cell - strata in the cell) are below this (the NCHS presentation standard's 8).
MIN_DESIGN_DF = 8
ADJUSTMENT = "BH"
ADJUSTMENT_NAME = {"BH": "Benjamini-Hochberg", "holm": "Holm"}


def _seed_labels(kind: str) -> dict[str, tuple[str, str]]:
    """{code: (Thai, English)} of one kind of code, from the seed awareness_labels (the one source of them)."""
    import csv

    with (SEEDS_DIR / "awareness_labels.csv").open(encoding="utf-8", newline="") as fh:
        rows = sorted((r for r in csv.DictReader(fh) if r["kind"] == kind), key=lambda r: int(r["sort_order"]))
    return {r["code"]: (r["label_th"], r["label_en"]) for r in rows}


MEASURE_LABELS = _seed_labels("measure")
DOMAIN_LABELS = _seed_labels("domain")
VALUE_LABELS = _seed_labels("domain_value")
BASELINE_COLUMNS = ["wave", "instrument", "measure", "statistic", "unit", "domain", "domain_value", "estimate", "se",
                    "ci_low", "ci_high", "n", "effective_n", "deff", "n_psu", "design_df", "unstable_se", "suppressed",
                    "weighting",
                    "measure_th", "measure_en", "domain_th", "domain_en", "domain_value_th", "domain_value_en"]
CHANGE_COLUMNS = ["baseline_wave", "wave", "measure", "statistic", "unit", "domain", "domain_value",
                  "baseline_estimate", "baseline_se", "wave_estimate", "wave_se", "difference", "se_difference",
                  "ci_low", "ci_high", "z", "p_value", "p_adjusted", "significant", "adjustment", "test_family",
                  "n_baseline", "n_wave", "unstable_se", "suppressed", "comparable", "comparability_note",
                  "measure_th", "measure_en", "domain_th", "domain_en", "domain_value_th", "domain_value_en"]


# ---------------------------------------------------------------------------------------------- baseline
_FLOAT = {"estimate", "se", "ci_low", "ci_high", "effective_n", "deff", "baseline_estimate", "baseline_se",
          "wave_estimate", "wave_se", "difference", "se_difference", "z", "p_value", "p_adjusted"}
_INT = {"wave", "baseline_wave", "n", "n_psu", "design_df", "n_baseline", "n_wave"}
_BOOL = {"suppressed", "unstable_se", "significant", "comparable"}


def empty_table(columns: list[str]) -> pd.DataFrame:
    """No survey wave yet: a table with the mart's columns and types and no rows."""
    return _empty(columns)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in _FLOAT else "int64" if c in _INT else
                                      "boolean" if c in _BOOL else "string") for c in columns})


def _srs_variance(y: np.ndarray, w: np.ndarray) -> float:
    """Variance of a mean under simple random sampling of the same size (with replacement), from the weighted
    population variance of y in the cell: s^2 / n."""
    n = len(y)
    if n < 2 or w.sum() <= 0:
        return np.nan
    mu = (w * y).sum() / w.sum()
    s2 = (w * (y - mu) ** 2).sum() / w.sum() * n / (n - 1)
    return s2 / n


def logit_ci(p: float, se: float, z: float) -> tuple[float, float]:
    """CI for a proportion on the logit scale (R's svyciprop(method="logit")): stays inside [0, 1]."""
    if np.isnan(p) or np.isnan(se):
        return np.nan, np.nan
    if p <= 0 or p >= 1 or se == 0:
        return p, p
    half = z * se / (p * (1 - p))
    lo, hi = np.log(p / (1 - p)) - half, np.log(p / (1 - p)) + half
    return float(1 / (1 + np.exp(-lo))), float(1 / (1 + np.exp(-hi)))


def wave_estimates(frame: pd.DataFrame, design: Design, calibration: list[str] | None, *,
                   domains: list[str] = DOMAINS, conf_level: float = 0.95) -> pd.DataFrame:
    """All measures x domains for one wave's respondents (one row per cell, nothing suppressed yet).

    frame: one row per respondent of the wave with the design columns, the final weight (design.weights), the
    calibration cell columns, the scores (MEAN_MEASURES), awareness_level and the DOMAIN_COLUMNS.
    """
    z_crit = float(norm.ppf(0.5 + conf_level / 2))
    w_all = frame[design.weights].to_numpy(float)
    strata_all = (frame[design.strata].astype(str) if design.strata else pd.Series("1", index=frame.index)).to_numpy()
    psu_all = (strata_all + "\x1f" + frame[design.psu[0]].astype(str).to_numpy()) if design.psu else \
        np.arange(len(frame)).astype(str)
    rows = []
    for domain in domains:
        by = None if domain == "overall" else DOMAIN_COLUMNS[domain]
        # Domain values as text; a missing value is its own domain ("unknown"), never dropped with its PSU.
        domain_values = None if by is None else frame[by].astype("string").fillna("unknown")
        values = None if by is None else domain_values.to_numpy(dtype=object)
        data = frame if by is None else frame.assign(**{by: domain_values})
        jobs = [(m, "mean", m) for m in MEAN_MEASURES] + [("awareness_level", "proportion", None)]
        for variable, statistic, measure in jobs:
            est = estimate(data, design, statistic, variable, by=by, conf_level=conf_level, calibration=calibration,
                           lonely_psu="adjust")
            for rec in est.to_dict("records"):
                value = "all" if by is None else rec["domain"].split("=", 1)[1]
                in_domain = np.ones(len(frame), bool) if by is None else (values == value)
                present = in_domain & frame[variable].notna().to_numpy()
                w = w_all[present]
                if statistic == "mean":
                    y = frame[variable].to_numpy(float)[present]
                    scale, unit, name = 1.0, "score 0-100", measure
                    lo, hi = rec["ci_low"], rec["ci_high"]
                else:
                    if rec["level"] not in LEVELS:
                        continue
                    y = (frame[variable].to_numpy()[present] == rec["level"]).astype(float)
                    scale, unit, name = 100.0, "percent", f"share_{rec['level']}"
                    lo, hi = logit_ci(rec["estimate"], rec["se"], z_crit)
                v_srs = _srs_variance(y, w)
                n_psu = len(set(psu_all[present]))
                design_df = n_psu - len(set(strata_all[present]))
                rows.append({"measure": name, "statistic": statistic, "unit": unit, "domain": domain,
                             "domain_value": value, "estimate": rec["estimate"] * scale, "se": rec["se"] * scale,
                             "ci_low": lo * scale, "ci_high": hi * scale, "n": int(rec["n"]),
                             "effective_n": kish_effective_n(w) if len(w) else 0.0,
                             "deff": rec["se"] ** 2 / v_srs if v_srs and v_srs > 0 else np.nan,
                             "n_psu": n_psu, "design_df": design_df, "unstable_se": design_df < MIN_DESIGN_DF})
    return pd.DataFrame(rows)


def labels(table: pd.DataFrame, province_names: dict[str, tuple[str, str]] | None = None,
           region_names: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Thai/English labels of measure, domain and domain value (columns *_th, *_en)."""
    value_labels = {**VALUE_LABELS, **(region_names or {}), **(province_names or {})}
    out = table.copy()
    out["measure_th"] = out["measure"].map(lambda m: MEASURE_LABELS.get(m, (m, m))[0])
    out["measure_en"] = out["measure"].map(lambda m: MEASURE_LABELS.get(m, (m, m))[1])
    out["domain_th"] = out["domain"].map(lambda d: DOMAIN_LABELS.get(d, (d, d))[0])
    out["domain_en"] = out["domain"].map(lambda d: DOMAIN_LABELS.get(d, (d, d))[1])
    out["domain_value_th"] = out["domain_value"].map(lambda v: value_labels.get(v, (v, v))[0])
    out["domain_value_en"] = out["domain_value"].map(lambda v: value_labels.get(v, (v, v))[1])
    return out


def suppress(table: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Withhold cells with fewer than min_n respondents: estimate, SE, CI, deff and effective n become null."""
    out = table.copy()
    out["suppressed"] = out["n"] < int(min_n)
    for c in ("estimate", "se", "ci_low", "ci_high", "effective_n", "deff"):
        out[c] = out[c].astype(float).where(~out["suppressed"])
    return out


def baseline_table(frame: pd.DataFrame, *, min_n: int = 30, instruments: dict[int, str] | None = None,
                   province_names=None, region_names=None, domains: list[str] = DOMAINS,
                   weights: str = "final_weight", strata: str = "stratum", psu: str = "psu") -> pd.DataFrame:
    """Estimates for every wave x measure x domain (the content of mart_awareness_baseline)."""
    design = Design(weights=weights, strata=strata, psu=(psu,))
    if frame.empty:
        return _empty(BASELINE_COLUMNS)
    parts = []
    for wave, wf in frame.groupby("wave", sort=True):
        wf = wf.reset_index(drop=True)
        cal = [c for c in wf.columns if c.startswith("cal_") and wf[c].notna().all()]
        method = wf["weighting_method"].iloc[0] if "weighting_method" in wf else ("raked" if cal else "design")
        cal = cal if method == "raked" else []
        est = wave_estimates(wf, design, cal or None, domains=domains)
        est.insert(0, "wave", int(wave))
        est.insert(1, "instrument", (instruments or {}).get(int(wave)))
        est["weighting"] = "raked (calibrated SE)" if cal else "design weights"
        parts.append(est)
    out = suppress(pd.concat(parts, ignore_index=True), min_n)
    out = labels(out, province_names, region_names)
    return out[BASELINE_COLUMNS]


# ---------------------------------------------------------------------------------------------- change
def change_table(baseline: pd.DataFrame, baseline_wave: int, waves: list[int] | None = None, *,
                 comparability: dict[int, "object"] | None = None, alpha: float = ALPHA,
                 method: str = ADJUSTMENT, conf_level: float = 0.95) -> pd.DataFrame:
    """Each wave in `waves` (default: every wave after baseline_wave) against the baseline, cell by cell.

    baseline: rows of mart_awareness_baseline. comparability: {wave: Comparability}; a wave that is not
    comparable gets rows with comparable = false, every number null and the differences in comparability_note.
    A cell suppressed in either wave is suppressed in the comparison.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, not {method!r}")
    z_crit = float(norm.ppf(0.5 + conf_level / 2))
    all_waves = sorted(int(w) for w in baseline["wave"].unique())
    if int(baseline_wave) not in all_waves:
        raise ValueError(f"baseline wave {baseline_wave} is not in the estimates (waves: {all_waves})")
    targets = [w for w in all_waves if w > int(baseline_wave)] if waves is None else [int(w) for w in waves]
    missing = [w for w in targets if w not in all_waves]
    if missing:
        raise ValueError(f"wave(s) {missing} not in the estimates (waves: {all_waves})")
    key = ["measure", "statistic", "unit", "domain", "domain_value"]
    label_cols = ["measure_th", "measure_en", "domain_th", "domain_en", "domain_value_th", "domain_value_en"]
    base = baseline[baseline["wave"] == int(baseline_wave)]
    parts = []
    for wave in targets:
        cur = baseline[baseline["wave"] == wave]
        cols = key + ["estimate", "se", "n", "suppressed", "unstable_se"] + label_cols
        m = base.reindex(columns=cols).merge(cur.reindex(columns=cols), on=key, how="outer", suffixes=("_b", "_w"))
        out = pd.DataFrame({k: m[k] for k in key})
        out.insert(0, "baseline_wave", int(baseline_wave))
        out.insert(1, "wave", int(wave))
        for c in label_cols:
            out[c] = m[f"{c}_w"].fillna(m[f"{c}_b"])
        out["baseline_estimate"], out["baseline_se"] = m["estimate_b"].astype(float), m["se_b"].astype(float)
        out["wave_estimate"], out["wave_se"] = m["estimate_w"].astype(float), m["se_w"].astype(float)
        out["n_baseline"] = m["n_b"].fillna(0).astype(int)
        out["n_wave"] = m["n_w"].fillna(0).astype(int)
        flag = lambda col, default: m[col].astype("boolean").fillna(default).astype(bool)  # noqa: E731
        out["suppressed"] = flag("suppressed_b", True) | flag("suppressed_w", True)   # a cell missing in a wave too
        out["unstable_se"] = flag("unstable_se_b", False) | flag("unstable_se_w", False)
        comp = (comparability or {}).get(wave)
        out["comparable"] = True if comp is None else bool(comp.comparable)
        out["comparability_note"] = "" if comp is None else comp.message()
        usable = ~out["suppressed"] & out["comparable"]
        diff = out["wave_estimate"] - out["baseline_estimate"]
        se = np.sqrt(out["baseline_se"] ** 2 + out["wave_se"] ** 2)      # independent samples
        out["difference"] = diff.where(usable)
        out["se_difference"] = se.where(usable)
        out["ci_low"] = (diff - z_crit * se).where(usable)
        out["ci_high"] = (diff + z_crit * se).where(usable)
        with np.errstate(divide="ignore", invalid="ignore"):
            zval = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.nan))
        out["z"] = pd.Series(zval, index=out.index).where(usable)
        out["p_value"] = pd.Series(2 * norm.sf(np.abs(out["z"].to_numpy(float))), index=out.index).where(usable)
        out["test_family"] = f"{baseline_wave} vs {wave}: " + out["domain"]
        out["adjustment"] = ADJUSTMENT_NAME[method]
        out["p_adjusted"] = np.nan
        for _, idx in out.groupby("test_family").groups.items():
            out.loc[idx, "p_adjusted"] = METHODS[method](out.loc[idx, "p_value"].to_numpy())
        out["significant"] = (out["p_adjusted"] < alpha).where(usable)
        parts.append(out)
    if not parts:
        return _empty(CHANGE_COLUMNS)
    result = pd.concat(parts, ignore_index=True)
    result["significant"] = result["significant"].astype("boolean")
    order = {m: i for i, m in enumerate(MEASURES)}
    dorder = {d: i for i, d in enumerate(DOMAINS)}
    result = result.sort_values(["wave", "domain", "measure", "domain_value"],
                                key=lambda s: s.map(order) if s.name == "measure" else
                                s.map(dorder) if s.name == "domain" else s).reset_index(drop=True)
    return result[CHANGE_COLUMNS]


# ---------------------------------------------------------------------------------------------- reliability
RELIABILITY_TYPES = {"wave": "int64", "dimension": "string", "n_items": "int64", "items": "string",
                     "n_respondents": "int64", "n_complete": "int64", "cronbach_alpha": "float64",
                     "missing_handling": "string", "acceptable": "boolean"}


def reliability_table(item_scores: pd.DataFrame, dimensions: list[str] | None = None,
                      nan_policy: str = "pairwise", min_n: int = 30) -> pd.DataFrame:
    """Cronbach's alpha of each dimension's core items (and of all core items together) per wave.

    item_scores: long table wave, respondent_id, item_code, dimension, is_core, item_score (reverse-coded items
    already reflected, missing codes null). Unweighted (the usual practice for internal consistency).
    """
    core = item_scores[item_scores["is_core"].astype(bool)]
    dims = dimensions or sorted(core["dimension"].unique())
    rows = []
    for wave, wf in core.groupby("wave", sort=True):
        wide = wf.pivot_table(index="respondent_id", columns="item_code", values="item_score", aggfunc="first")
        groups = [(d, sorted(wf.loc[wf.dimension == d, "item_code"].unique())) for d in dims]
        groups.append(("all_core_items", sorted(wf["item_code"].unique())))
        for name, items in groups:
            items = [i for i in items if i in wide.columns]
            data = wide[items]
            answered = data.notna().sum(axis=1) >= 2
            alpha = np.nan
            if len(items) >= 2 and answered.sum() >= max(3, min_n):     # nothing below n = 30 is published
                try:
                    alpha = cronbach_alpha(data[answered], nan_policy=nan_policy)
                except ValueError:
                    alpha = np.nan
            rows.append({"wave": int(wave), "dimension": name, "n_items": len(items), "items": ",".join(items),
                         "n_respondents": int(answered.sum()),
                         "n_complete": int(data.notna().all(axis=1).sum()), "cronbach_alpha": alpha,
                         "missing_handling": nan_policy,
                         "acceptable": bool(alpha >= 0.7) if not np.isnan(alpha) else None})
    out = pd.DataFrame(rows, columns=list(RELIABILITY_TYPES))      # no wave yet: empty, same columns and types
    return out.astype(RELIABILITY_TYPES)
