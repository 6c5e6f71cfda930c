"""GREG, raking and bounded calibration (phakhi.survey.calibration) against R's survey::calibrate.

Reference data: ../shared/reference/survey-api (skips when absent). The expected R numbers are copied inline
(README of the reference folder: svymean(~api00, calibrate(dclus1, ~api99, c(6194, 3914069))) = 666.72, SE 3.2959;
rake(dclus1, list(~stype, ~sch.wide), ...) then svymean(~api00) = 641.23, SE 23.704). R prints five significant
digits: relative tolerance 1e-4.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phakhi.survey.calibration import calibrate, population_vector
from phakhi.survey.design import Design, estimate
from phakhi.survey.formula import model_matrix, variables
from phakhi.survey.raking import rake

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api"
DCLUS1 = Design("pw", psu=("dnum",), fpc=("fpc",))
GREG_POPULATION = {"N": 6194, "api99": 3914069}
STYPE = {"E": 4421, "H": 755, "M": 1018}
SCH_WIDE = {"No": 1072, "Yes": 5122}


@pytest.fixture(scope="module")
def clus1():
    if not REF.is_dir():
        pytest.skip(f"R survey reference data not found at {REF}")
    return pd.read_csv(REF / "apiclus1.csv")


def calibrated_mean(df, cal, variable="api00"):
    frame = df.assign(wcal=cal.weights)
    return estimate(frame, Design("wcal", psu=("dnum",), fpc=("fpc",)), "mean", variable,
                    calibration=cal.residuals).iloc[0]


def test_greg_mean_matches_r(clus1):
    cal = calibrate(clus1, DCLUS1, "~api99", GREG_POPULATION)
    row = calibrated_mean(clus1, cal)
    assert row["estimate"] == pytest.approx(666.72, rel=1e-4)
    assert row["se"] == pytest.approx(3.2959, rel=1e-4)
    assert cal.iterations == 1             # linear calibration is one exact solve
    assert cal.names == ["(Intercept)", "api99"]


def test_greg_without_calibration_adjustment_overstates_the_se(clus1):
    cal = calibrate(clus1, DCLUS1, "~api99", GREG_POPULATION)
    naive = estimate(clus1.assign(wcal=cal.weights), Design("wcal", psu=("dnum",), fpc=("fpc",)), "mean", "api00")
    assert naive.se[0] > 5 * calibrated_mean(clus1, cal)["se"]     # api99 explains most of api00


@pytest.mark.parametrize("formula, population, calfun, bounds", [
    ("~api99", GREG_POPULATION, "linear", None),
    ("~api99", GREG_POPULATION, "linear", (0.7, 1.7)),
    ("~api99", GREG_POPULATION, "raking", None),
    ("~stype + sch.wide", {"stypeE": 4421, "stypeH": 755, "stypeM": 1018, "sch.wideYes": 5122}, "linear", None),
    ("~stype + sch.wide + api99", {"N": 6194, "stypeH": 755, "stypeM": 1018, "sch.wideYes": 5122,
                                   "api99": 3914069}, "raking", (0.3, 3.0)),
])
def test_calibrated_weights_reproduce_the_totals_exactly(clus1, formula, population, calfun, bounds):
    cal = calibrate(clus1, DCLUS1, formula, population, calfun=calfun, bounds=bounds)
    totals = cal.totals()
    assert np.abs(totals["gap"] / totals["population"]).max() < 1e-7       # R's epsilon
    x = model_matrix(clus1, formula).to_numpy()
    assert x.T @ cal.weights.to_numpy() == pytest.approx(cal.population, rel=1e-7)
    if bounds:
        assert cal.g.min() >= bounds[0] - 1e-12 and cal.g.max() <= bounds[1] + 1e-12
    # A calibration variable's total is known exactly: its calibration-aware SE is 0.
    frame = clus1.assign(wcal=cal.weights)
    for column in [c for c in variables(formula) if pd.api.types.is_numeric_dtype(clus1[c])]:
        row = estimate(frame, Design("wcal", psu=("dnum",), fpc=("fpc",)), "total", column,
                       calibration=cal.residuals).iloc[0]
        assert row["se"] < 1e-6 * row["estimate"]


def test_bounded_calibration_binds_and_fails_clearly_when_impossible(clus1):
    free = calibrate(clus1, DCLUS1, "~api99", GREG_POPULATION)
    assert free.g.min() < 0.7                                   # the bound below really binds
    bounded = calibrate(clus1, DCLUS1, "~api99", GREG_POPULATION, bounds=(0.7, 1.7))
    assert bounded.g.min() == pytest.approx(0.7) and bounded.max_abs_gap < 1e-6
    with pytest.raises(ValueError, match="did not converge"):
        calibrate(clus1, DCLUS1, "~api99", GREG_POPULATION, bounds=(0.9, 1.3))
    with pytest.raises(ValueError, match="must contain 1"):
        calibrate(clus1, DCLUS1, "~api99", GREG_POPULATION, bounds=(1.2, 2))


def test_raking_calfun_equals_rake_and_matches_r(clus1):
    # calibrate(dclus1, ~stype+sch.wide, calfun="raking") and rake() reach the same weights; R's raked mean.
    pop = {**{f"stype{k}": v for k, v in STYPE.items()}, "sch.wideYes": SCH_WIDE["Yes"]}
    cal = calibrate(clus1, DCLUS1, "~stype + sch.wide", pop, calfun="raking")
    raked = rake(clus1, "pw", {"stype": STYPE, "sch.wide": SCH_WIDE}, tol=1e-12)
    assert cal.weights.to_numpy() == pytest.approx(raked.weights.to_numpy(), rel=1e-6)
    row = calibrated_mean(clus1, cal)
    assert row["estimate"] == pytest.approx(641.23, rel=1e-4)
    assert row["se"] == pytest.approx(23.704, rel=1e-4)


def test_joint_raking_on_an_interaction_matches_every_cell(clus1):
    # ~stype*sch.wide: the full two-way table (6 cells) from the population file, not only its margins.
    pop = pd.read_csv(REF / "apipop.csv")
    cells = pop.groupby(["stype", "sch.wide"]).size()
    mm_names = model_matrix(clus1, "~stype*sch.wide").columns
    full = model_matrix(pop, "~stype*sch.wide")
    assert list(full.columns) == list(mm_names) == ["(Intercept)", "stypeH", "stypeM", "sch.wideYes",
                                                     "stypeH:sch.wideYes", "stypeM:sch.wideYes"]
    cal = calibrate(clus1, DCLUS1, "~stype*sch.wide", full.sum().to_dict(), calfun="raking")
    achieved = clus1.assign(w=cal.weights).groupby(["stype", "sch.wide"])["w"].sum()
    assert achieved.to_numpy() == pytest.approx(cells.loc[achieved.index].to_numpy(), rel=1e-7)
    # Joint raking = post-stratification on the cells: g is constant within a cell.
    assert clus1.assign(g=cal.g).groupby(["stype", "sch.wide"])["g"].nunique().max() == 1


def test_population_vector_reads_r_names_and_full_category_totals(clus1):
    names = ["(Intercept)", "stypeH", "stypeM"]
    full = population_vector(clus1, "~stype", names, {"stypeE": 4421, "stypeH": 755, "stypeM": 1018})
    assert full.tolist() == [6194, 755, 1018]
    assert population_vector(clus1, "~stype", names, {"N": 6194, "stypeH": 755, "stypeM": 1018}).tolist() == \
        [6194, 755, 1018]
    with pytest.raises(ValueError, match="add up to 6000, not to N = 6194"):
        population_vector(clus1, "~stype", names, {"N": 6194, "stypeE": 4227, "stypeH": 755, "stypeM": 1018})
    with pytest.raises(ValueError, match="missing stypeM.*expected N, stypeH, stypeM"):
        population_vector(clus1, "~stype", names, {"N": 6194, "stypeH": 755})
    with pytest.raises(ValueError, match="needs an intercept"):
        calibrate(clus1, DCLUS1, "~api99 - 1", {"api99": 3914069})
    with pytest.raises(ValueError, match="not a column"):
        calibrate(clus1, DCLUS1, "~api98", {"N": 1, "api98": 1})


def test_model_matrix_codes_like_r(clus1):
    assert list(model_matrix(clus1, "~api99 + stype - 1").columns) == ["api99", "stypeE", "stypeH", "stypeM"]
    assert list(model_matrix(clus1, "~factor(cds):api99").columns)[:1] == ["(Intercept)"]
    assert list(model_matrix(clus1, "~sch.wide:api99 + sch.wide").columns) == \
        ["(Intercept)", "sch.wideYes", "sch.wideNo:api99", "sch.wideYes:api99"]   # R codes sch.wide in full here
    assert list(model_matrix(clus1, "~stype:sch.wide").columns)[1:4] == \
        ["stypeE:sch.wideNo", "stypeH:sch.wideNo", "stypeM:sch.wideNo"]


def test_bounded_calibration_matches_r_caleg(clus1):
    # survey's tests/caleg.Rout.save: pop <- colSums(cbind(1, apipop$enroll), na.rm=TRUE);
    # calibrate(dclus1, ~enroll, pop): range(g) 0.7906782 1.7891164; with bounds=c(.6,1.5): 0.7198751 1.5000000.
    pop = pd.read_csv(REF / "apipop.csv")
    totals = [len(pop), pop.enroll.sum()]
    free = calibrate(clus1, DCLUS1, "~enroll", totals)
    assert (free.g.min(), free.g.max()) == (pytest.approx(0.7906782, rel=1e-6), pytest.approx(1.7891164, rel=1e-6))
    bounded = calibrate(clus1, DCLUS1, "~enroll", totals, bounds=(0.6, 1.5))
    assert (bounded.g.min(), bounded.g.max()) == (pytest.approx(0.7198751, rel=1e-6), pytest.approx(1.5, rel=1e-9))


def test_ratio_estimator_by_calibration_matches_r_caleg():
    # caleg.Rout.save: dstratg <- calibrate(dstrat, ~enroll-1, total.enroll, variance=1);
    # svytotal(~api.stu, dstratg) = 3190038, SE 29566 (= predict(svyratio(~api.stu, ~enroll, dstrat), total)).
    if not REF.is_dir():
        pytest.skip(f"R survey reference data not found at {REF}")
    strat = pd.read_csv(REF / "apistrat.csv")
    total_enroll = pd.read_csv(REF / "apipop.csv").enroll.sum()
    dstrat = Design("pw", strata="stype", fpc=("fpc",))
    cal = calibrate(strat, dstrat, "~enroll - 1", [total_enroll], variance=1)
    row = estimate(strat.assign(wcal=cal.weights), Design("wcal", strata="stype", fpc=("fpc",)), "total", "api.stu",
                   calibration=cal.residuals).iloc[0]
    assert row["estimate"] == pytest.approx(3190038, rel=1e-6)
    assert row["se"] == pytest.approx(29566, rel=1e-4)
    with pytest.raises(ValueError, match="linear calibration without bounds"):
        calibrate(strat, dstrat, "~enroll - 1", [total_enroll], variance=1, calfun="raking")
