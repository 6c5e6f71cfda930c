"""The evidently drift report: HTML + JSON, the registered StatTest is Phakhi's design-adjusted test, "don't know"
and "refused" are not categories, and the summary's p-values are the ones evidently reports."""
import json

import numpy as np
import pandas as pd
import pytest

from phakhi.drift import STATTEST_NAME, _stattest_impl, drift_report, two_sample_stattest

pytestmark = pytest.mark.integration     # evidently takes ~7 s to import

ITEMS = ["k1", "k2", "c1"]


def wave(seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_psu, m = 40, 10
    psu_effect = np.repeat(rng.normal(0, 0.6, n_psu), m)
    frame = pd.DataFrame({"stratum": np.repeat(["a", "b"], n_psu * m // 2),
                          "psu": np.repeat([f"p{seed}-{i}" for i in range(n_psu)], m),
                          "weight": np.repeat(rng.uniform(50, 150, n_psu), m)})
    for item in ITEMS:
        latent = psu_effect + rng.normal(0, 1, n_psu * m) + (shift if item == "c1" else 0.0)
        answer = np.digitize(latent, [-1.2, -0.4, 0.4, 1.2]) + 1
        answer[rng.random(n_psu * m) < 0.05] = 8         # don't know
        answer[rng.random(n_psu * m) < 0.02] = 9         # refused
        frame[item] = answer
    return frame


def test_drift_report_is_design_adjusted_and_flags_the_shifted_item(tmp_path):
    result = drift_report(wave(1), wave(2, shift=1.0), ITEMS, {8, 9}, tmp_path, 2023, 2025)
    assert result.html_path.is_file() and result.json_path.is_file() and result.design_adjusted
    payload = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert payload["design_adjusted"] and payload["stattest"] == STATTEST_NAME
    assert payload["correction"] == "Benjamini-Hochberg"
    for item in ITEMS:
        assert payload["distributions"][item]["categories"] == ["1", "2", "3", "4", "5"]    # 8/9 excluded
    summary = result.summary.set_index("item")
    assert bool(summary.loc["c1", "drifted"]) and not summary.loc[["k1", "k2"], "drifted"].any()
    assert (summary["mean_deff"] > 1.3).all()               # clustered samples: design effects well above 1
    # evidently's per-column drift scores are the summary's p-values (same registered function).
    scores = [m["value"] for m in payload["evidently"]["metrics"]
              if isinstance(m.get("value"), float) and (m.get("config") or {}).get("column") in ITEMS]
    assert sorted(scores) == pytest.approx(sorted(summary["p_value"]), rel=1e-12)


def test_the_registered_stattest_is_phakhis_function():
    test = two_sample_stattest()
    assert test.name == STATTEST_NAME and test.func is _stattest_impl


def test_frames_without_design_columns_fall_back_to_pearson(tmp_path):
    a, b = wave(3)[ITEMS], wave(4)[ITEMS]
    result = drift_report(a, b, ITEMS, {8, 9}, tmp_path, 2023, 2025)
    assert not result.design_adjusted
    assert (result.summary["mean_deff"] == 1.0).all()
