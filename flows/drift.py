"""Per-item drift between the baseline survey wave and the latest one, as an evidently report.

evidently's default categorical test treats the baseline's counts as exact and flags identical distributions
~34% of the time; Phakhi registers a two-sample chi-square test of homogeneity instead, and corrects the
per-item p-values for multiple testing (Benjamini–Hochberg) in the summary.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

_REGISTERED = {}


def two_sample_stattest():
    """The registered evidently StatTest (registered once per process)."""
    if "test" in _REGISTERED:
        return _REGISTERED["test"]
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType
    from scipy.stats import chi2_contingency

    def _chi2_homogeneity(reference_data, current_data, feature_type, threshold):
        keys = sorted(set(reference_data.dropna().unique()) | set(current_data.dropna().unique()))
        table = np.array([[(reference_data == k).sum() for k in keys], [(current_data == k).sum() for k in keys]])
        table = table[:, table.sum(axis=0) > 0]
        p = float(chi2_contingency(table)[1]) if table.shape[1] > 1 else 1.0
        return p, p < threshold

    test = StatTest(name="chi2_two_sample", display_name="chi-square two-sample (homogeneity) p_value",
                    allowed_feature_types=[ColumnType.Categorical], default_threshold=0.05)
    register_stattest(test, default_impl=_chi2_homogeneity)
    _REGISTERED["test"] = test
    return test


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    n = len(p)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out


@dataclass
class DriftResult:
    baseline_wave: int
    current_wave: int
    summary: pd.DataFrame      # item, p_value, p_adjusted, drifted
    html_path: Path
    json_path: Path


def drift_report(baseline: pd.DataFrame, current: pd.DataFrame, items: list[str], missing_codes: set[int],
                 out_dir: Path, baseline_wave: int, current_wave: int, alpha: float = 0.05) -> DriftResult:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    def prep(df):
        # Missing codes ("don't know", "refused") are not answers: they must not count as a category.
        return df[items].astype("Float64").mask(df[items].isin(list(missing_codes))).astype(object).where(
            lambda x: x.notna(), None).astype("string")

    definition = DataDefinition(categorical_columns=items)
    ref = Dataset.from_pandas(prep(baseline), data_definition=definition)
    cur = Dataset.from_pandas(prep(current), data_definition=definition)
    snapshot = Report([DataDriftPreset(columns=items, method=two_sample_stattest())]).run(cur, ref)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / "drift_report.html", out_dir / "drift_report.json"
    snapshot.save_html(str(html_path))
    data = snapshot.dict()
    pvals = {}
    for metric in data.get("metrics", []):
        params = metric.get("config", {}).get("params", {}) if isinstance(metric.get("config"), dict) else {}
        column = params.get("column")
        if column in items and isinstance(metric.get("value"), (int, float)):
            pvals[column] = float(metric["value"])
    summary = pd.DataFrame({"item": list(pvals), "p_value": list(pvals.values())})
    summary["p_adjusted"] = benjamini_hochberg(summary["p_value"].to_numpy()) if len(summary) else []
    summary["drifted"] = summary["p_adjusted"] < alpha
    payload = {"baseline_wave": baseline_wave, "current_wave": current_wave, "test": "chi-square two-sample homogeneity",
               "correction": "Benjamini-Hochberg", "alpha": alpha, "items": summary.to_dict("records"),
               "evidently": data}
    json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return DriftResult(baseline_wave, current_wave, summary, html_path, json_path)
