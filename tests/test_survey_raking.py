"""Raking and calibration-adjusted standard errors, against R's `survey::rake` / `postStratify`."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phakhi.survey.design import Design, calibration_residuals, estimate, linearized_variance
from phakhi.survey.raking import kish_effective_n, rake, weighting_deff

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api"

STYPE = {"E": 4421, "H": 755, "M": 1018}
SCH_WIDE = {"No": 1072, "Yes": 5122}


@pytest.fixture(scope="module")
def clus1():
    if not REF.is_dir():
        pytest.skip(f"R survey reference data not found at {REF}")
    return pd.read_csv(REF / "apiclus1.csv")


@pytest.fixture(scope="module")
def raked(clus1):
    result = rake(clus1, "pw", {"stype": STYPE, "sch.wide": pd.Series(SCH_WIDE)})
    return result, clus1.assign(wr=result.weights)


def test_rake_converges_and_honours_margins(raked):
    result, df = raked
    assert result.converged and 1 < result.iterations < 100
    assert result.max_abs_diff <= 1e-8 * 4421
    assert result.weights.index.equals(df.index) and (result.weights > 0).all()
    for column, margin in [("stype", STYPE), ("sch.wide", SCH_WIDE)]:
        achieved = df.groupby(column)["wr"].sum()
        for category, total in margin.items():
            assert achieved[category] == pytest.approx(total, rel=1e-8)   # the default tol


def test_readme_raked_mean_and_calibrated_se(raked):
    # rake(dclus1, list(~stype, ~sch.wide), ...) then svymean(~api00, .): 641.23, SE 23.704.
    _, df = raked
    design = Design("wr", psu=("dnum",), fpc=("fpc",))
    row = estimate(df, design, "mean", "api00", calibration=["stype", "sch.wide"]).iloc[0]
    assert row["estimate"] == pytest.approx(641.23, rel=1e-4)
    assert row["se"] == pytest.approx(23.704, rel=1e-4)
    # Ignoring the calibration treats the raked weights as design weights: a different SE.
    plain = estimate(df, design, "mean", "api00").iloc[0]
    assert abs(plain["se"] - 23.704) > 0.05


def test_calibration_residuals_equal_rs_iterated_projection(raked):
    # R's svyrecvar: ten rounds of x <- x - w * ave(x / w, margin) over the margins.
    _, df = raked
    w, y = df.wr.to_numpy(), df.api00.to_numpy(float)
    x = w * (y - (w * y).sum() / w.sum()) / w.sum()
    r_style = x.copy()
    for _ in range(10):
        for column in ["stype", "sch.wide"]:
            r_style = r_style - w * pd.Series(r_style / w).groupby(df[column].to_numpy()).transform("mean").to_numpy()
    ours = calibration_residuals(x, df, "wr", ["stype", "sch.wide"])
    design = Design("wr", psu=("dnum",), fpc=("fpc",))
    assert linearized_variance(ours, df, design) == pytest.approx(linearized_variance(r_style, df, design), rel=1e-6)


def test_post_stratification_matches_r(clus1):
    # api.Rout.save: dclus1p <- postStratify(dclus1, ~stype, pop.types).
    result = rake(clus1, "pw", {"stype": STYPE})
    assert result.converged and result.iterations == 1
    df = clus1.assign(wp=result.weights)
    design = Design("wp", psu=("dnum",), fpc=("fpc",))
    mean = estimate(df, design, "mean", "api00", calibration="stype").iloc[0]
    assert (mean["estimate"], mean["se"]) == (pytest.approx(642.31, rel=1e-4), pytest.approx(23.921, rel=1e-4))
    total = estimate(df, design, "total", "enroll", calibration=["stype"]).iloc[0]
    assert (total["estimate"], total["se"]) == (pytest.approx(3680893, rel=1e-4), pytest.approx(406293, rel=1e-4))


def _toy():
    return pd.DataFrame({"sex": ["f", "f", "m", "m", "m", "f"], "age": ["y", "o", "y", "o", "y", "y"],
                         "w": [1.0, 2.0, 1.0, 1.0, 2.0, 1.0]})


def test_rake_synthetic_margins_and_iteration_limit():
    df = _toy()
    margins = {"sex": {"f": 50, "m": 50}, "age": {"y": 70, "o": 30}}
    result = rake(df, "w", margins)
    assert result.converged
    assert df.assign(r=result.weights).groupby("sex")["r"].sum().to_dict() == pytest.approx({"f": 50, "m": 50})
    assert df.assign(r=result.weights).groupby("age")["r"].sum().to_dict() == pytest.approx({"y": 70, "o": 30})
    stopped = rake(df, "w", margins, max_iter=1)
    assert not stopped.converged and stopped.iterations == 1 and stopped.max_abs_diff > 0


def test_rake_errors_name_column_and_category():
    df = _toy()
    with pytest.raises(ValueError, match=r"'age'.*'o'.*missing from the margins"):
        rake(df, "w", {"sex": {"f": 50, "m": 50}, "age": {"y": 100}})
    with pytest.raises(ValueError, match=r"'sex'.*'x'.*no rows"):
        rake(df, "w", {"sex": {"f": 40, "m": 40, "x": 20}})
    with pytest.raises(ValueError, match="margin totals differ"):
        rake(df, "w", {"sex": {"f": 50, "m": 50}, "age": {"y": 70, "o": 40}})
    with pytest.raises(ValueError, match="'region'"):
        rake(df, "w", {"region": {"n": 1}})
    with pytest.raises(ValueError, match="missing values"):
        rake(df.assign(sex=[None, "f", "m", "m", "m", "f"]), "w", {"sex": {"f": 50, "m": 50}})


def test_rake_trim_bounds_adjustment_factors():
    df = _toy()
    margins = {"sex": {"f": 50, "m": 50}, "age": {"y": 70, "o": 30}}
    free = rake(df, "w", margins)
    g_free = free.weights / df.w
    bounded = rake(df, "w", margins, trim=(0.8 * g_free.min(), 1.2 * g_free.max()))
    assert bounded.converged    # loose bounds do not bind
    tight = rake(df, "w", margins, trim=(g_free.mean() * 0.99, g_free.mean() * 1.01))
    g = tight.weights / df.w
    assert not tight.converged
    assert g.min() >= g_free.mean() * 0.99 - 1e-12 and g.max() <= g_free.mean() * 1.01 + 1e-12


def test_weight_diagnostics():
    assert kish_effective_n([2.0] * 10) == pytest.approx(10)
    assert weighting_deff([2.0] * 10) == pytest.approx(1.0)
    w = np.array([1.0, 1.0, 2.0, 2.0])
    assert kish_effective_n(w) == pytest.approx(36 / 10)
    assert weighting_deff(w) == pytest.approx(1 + w.var() / w.mean() ** 2)
    assert weighting_deff(w) == pytest.approx(len(w) / kish_effective_n(w))
