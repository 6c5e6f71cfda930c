"""Contrasts between questionnaire items answered by the same respondents, for `phakhi compare-waves --contrast`.

Items are compared on their 0-100 scores (100 (a - 1)/4, reverse-coded items 100 (5 - a)/4; "don't know" and
"refused" missing), so "k1 - b1" reads "knowledge item k1 scores this many points above behaviour item b1".

- **Within a wave**: the contrast of the item means among respondents who answered every item of the contrast
  (complete cases kept as a domain of the full design), with the wave's strata, PSUs and raked weights and
  calibration-aware SEs (phakhi.survey.contrasts, R's svycontrast). The items' covariance is used: the same
  people answered both.
- **Change of a within-wave contrast** between the baseline and a wave: independent samples, so
  SE = sqrt(SE_b^2 + SE_w^2).
- **Panel**: respondents present in both waves (same respondent_id) give the change of the contrast on the same
  people, sum_j c_j (y_j,wave - y_j,baseline), estimated with the baseline wave's design and weights (no panel
  weights are delivered; the note says so). Only when at least `min_n` respondents are matched.

Cells under `min_n` respondents are withheld, as every published figure.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from .contrasts import contrasts, parse_contrast
from .design import Design

COLUMNS = ["kind", "wave", "contrast", "domain", "estimate", "se", "ci_low", "ci_high", "p_value", "df", "n",
           "suppressed", "note"]


def item_scores(frame: pd.DataFrame, instrument: dict) -> pd.DataFrame:
    """The instrument's items as 0-100 scores (reverse coding applied, missing codes -> NaN)."""
    low, high = instrument["scale"]["min"], instrument["scale"]["max"]
    out = frame.copy()
    for item in instrument["items"]:
        code = item["code"]
        if code not in out.columns:
            continue
        a = pd.to_numeric(out[code], errors="coerce").astype(float)
        a = a.where((a >= low) & (a <= high))
        if item.get("reverse"):
            a = low + high - a
        out[code] = 100 * (a - low) / (high - low)
    return out


def check_specs(specs: list[str], instrument: dict) -> None:
    """Every contrast is readable and names items of the instrument (ValueError saying which is not)."""
    items = [i["code"] for i in instrument["items"]]
    for spec in specs:
        name, coefs = parse_contrast(spec)
        unknown = [c for c in coefs if c not in items]
        if unknown:
            raise ValueError(f"contrast {spec!r}: {', '.join(unknown)} not an item of the instrument "
                             f"({', '.join(items)})")


def within_wave(frame: pd.DataFrame, specs: list[str], wave: int, *, design: Design, calibration=None,
                min_n: int = 30, conf_level: float = 0.95) -> pd.DataFrame:
    # One spec at a time: complete cases over that contrast's own items only.
    table = pd.concat([contrasts(frame, design, "mean", [spec], calibration=calibration, lonely_psu="adjust",
                                 conf_level=conf_level) for spec in specs], ignore_index=True)
    table.insert(0, "kind", "within wave")
    table.insert(1, "wave", str(wave))
    table["note"] = ""
    return _suppress(table, min_n)


def change(before: pd.DataFrame, after: pd.DataFrame, b: int, w: int, conf_level: float = 0.95) -> pd.DataFrame:
    """Change of each within-wave contrast between two independent waves."""
    z = norm.ppf(0.5 + conf_level / 2)
    rows = []
    for (_, x), (_, y) in zip(before.iterrows(), after.iterrows()):
        withheld = bool(x["suppressed"] or y["suppressed"])
        d = y["estimate"] - x["estimate"]
        se = float(np.hypot(x["se"], y["se"]))
        p = float(2 * norm.sf(abs(d / se))) if se > 0 else np.nan
        rows.append({"kind": "change (independent waves)", "wave": f"{w}-{b}", "contrast": x["contrast"],
                     "domain": x["domain"], "estimate": d, "se": se, "ci_low": d - z * se, "ci_high": d + z * se,
                     "p_value": p, "df": np.nan, "n": int(min(x["n"], y["n"])), "suppressed": withheld,
                     "note": "SE = sqrt(SE_b^2 + SE_w^2)"})
    return _suppress(pd.DataFrame(rows, columns=COLUMNS), 0)


def panel(before: pd.DataFrame, after: pd.DataFrame, specs: list[str], b: int, w: int, *, design: Design,
          min_n: int = 30, conf_level: float = 0.95) -> pd.DataFrame:
    """Change of each contrast on the respondents present in both waves (see the module doc)."""
    matched = before.merge(after, on="respondent_id", suffixes=("", "__later"))
    if len(matched) < min_n:
        return pd.DataFrame(columns=COLUMNS)
    panel_specs = []
    for spec in specs:
        name, coefs = parse_contrast(spec)
        terms = []
        for item, c in coefs.items():
            terms += [f"{c:+g}*{item}__later", f"{-c:+g}*{item}"]
        panel_specs.append(f"{name}=" + "".join(terms).lstrip("+"))
    table = pd.concat([contrasts(matched, design, "mean", [spec], lonely_psu="adjust", conf_level=conf_level)
                       for spec in panel_specs], ignore_index=True)
    table.insert(0, "kind", "panel change (same respondents)")
    table.insert(1, "wave", f"{w}-{b}")
    table["note"] = f"{len(matched)} respondents in both waves; baseline design and weights"
    return _suppress(table, min_n)


def _suppress(table: pd.DataFrame, min_n: int) -> pd.DataFrame:
    out = table.copy()
    if "suppressed" not in out:
        out["suppressed"] = out["n"] < min_n
    else:
        out["suppressed"] = out["suppressed"].astype(bool) | (out["n"] < min_n)
    for c in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        out[c] = out[c].astype(float).where(~out["suppressed"])
    return out[COLUMNS]


def item_contrast_table(frames: dict[int, pd.DataFrame], specs: list[str], instrument: dict, b: int, w: int, *,
                        weights: str = "weight", strata: str = "stratum", psu: str = "psu", min_n: int = 30,
                        conf_level: float = 0.95) -> pd.DataFrame:
    """Within-wave contrasts for both waves, their change, and the panel change when respondents are matched.

    frames: wave -> respondents (respondent_id, items as answered, weights, strata, psu and cal_* columns of
    the raking cells, whose residuals make the SEs calibration-aware)."""
    check_specs(specs, instrument)
    design = Design(weights, strata=strata, psu=(psu,))
    scored = {k: item_scores(f.reset_index(drop=True), instrument) for k, f in frames.items()}
    parts = {}
    for wave in (b, w):
        f = scored[wave]
        cal = [c for c in f.columns if c.startswith("cal_") and f[c].notna().all()] or None
        parts[wave] = within_wave(f, specs, wave, design=design, calibration=cal, min_n=min_n, conf_level=conf_level)
    out = [parts[b], parts[w], change(parts[b], parts[w], b, w, conf_level)]
    pan = panel(scored[b], scored[w], specs, b, w, design=design, min_n=min_n, conf_level=conf_level)
    if not pan.empty:
        out.append(pan)
    return pd.concat(out, ignore_index=True)
