"""Replicate-weight designs (phakhi.survey.replicates) against R's as.svrepdesign / svrepdesign.

R's published result (reference README, copied inline): options(survey.replicates.mse=FALSE);
svymean(~api00, as.svrepdesign(dclus1)) = 644.17, SE 26.329 (JK1 built from the one-stage cluster design).
The invariants: for a linear statistic (a total) the jackknife and a fully balanced BRR/Fay set reproduce the
linearised variance exactly (algebraic identities, so rel=1e-9); the bootstrap reproduces it up to Monte Carlo
error, whose relative size for the SE is about 1/sqrt(2B) (2.2% for B = 1000): we allow 8% (3.5 of those).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import hadamard

from phakhi.survey import replicates as rep
from phakhi.survey.calibration import calibrate
from phakhi.survey.design import Design, estimate

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api"
DCLUS1 = Design("pw", psu=("dnum",), fpc=("fpc",))
DSTRAT = Design("pw", strata="stype", fpc=("fpc",))


@pytest.fixture(scope="module")
def data():
    if not REF.is_dir():
        pytest.skip(f"R survey reference data not found at {REF}")
    return {name: pd.read_csv(REF / f"{name}.csv") for name in ("apiclus1", "apistrat")}


def test_jk1_mean_matches_r(data):
    df = data["apiclus1"]
    design = rep.jk1(df, DCLUS1)
    row = rep.estimate(df, design, "mean", "api00").iloc[0]
    assert row["estimate"] == pytest.approx(644.17, rel=1e-4)
    assert row["se"] == pytest.approx(26.329, rel=1e-4)
    assert design.n_replicates == 15 and design.degf() == 14
    assert design.scale == pytest.approx((757 - 15) / 757 * 14 / 15)     # fpc * (n-1)/n, as jk1weights


def test_mse_option_centres_at_the_full_sample_estimate(data):
    df = data["apiclus1"]
    plain = rep.jk1(df, DCLUS1)
    mse = rep.jk1(df, DCLUS1, mse=True)
    values = rep.replicate_values(df, plain, "mean", "api00")[0]
    by_hand = plain.scale * np.sum((values.replicates - values.estimate) ** 2)
    se_mse = rep.estimate(df, mse, "mean", "api00").se[0]
    assert se_mse == pytest.approx(np.sqrt(by_hand), rel=1e-12)
    assert se_mse >= rep.estimate(df, plain, "mean", "api00").se[0]   # sum of squares about the mean is smallest


@pytest.mark.parametrize("statistic, variable", [("total", "enroll"), ("total", "stype"), ("mean", "api00")])
def test_jackknife_of_a_total_equals_the_linearised_variance(data, statistic, variable):
    for df, design, build in [(data["apiclus1"], DCLUS1, rep.jk1), (data["apistrat"], DSTRAT, rep.jkn)]:
        ours = rep.estimate(df, build(df, design), statistic, variable, by="sch.wide")
        taylor = estimate(df, design, statistic, variable, by="sch.wide")
        assert ours["estimate"].to_numpy() == pytest.approx(taylor["estimate"].to_numpy(), rel=1e-12)
        # Exact for totals. A (domain) mean is a ratio: the jackknife differs from linearisation at O(1/n) of the
        # PSUs, i.e. up to 20% with 15 clusters (26.33 vs 23.54 overall) and a few % with 200 schools.
        tol = 1e-9 if statistic == "total" else 0.2 if design is DCLUS1 else 0.05
        assert ours["se"].to_numpy() == pytest.approx(taylor["se"].to_numpy(), rel=tol)


def test_file_replicates_reproduce_built_ones(data):
    df = data["apiclus1"]
    built = rep.jk1(df, DCLUS1)
    names = [f"repw{i + 1}" for i in range(built.n_replicates)]
    frame = pd.concat([df, pd.DataFrame(built.replicates, columns=names)], axis=1)
    read = rep.from_columns(frame, "pw", names, "JK1", scale=built.scale)
    assert rep.estimate(frame, read, "mean", "api00").se[0] == pytest.approx(26.329, rel=1e-4)
    # JKn on the stratified design, from its columns and rscales
    st = data["apistrat"]
    jkn = rep.jkn(st, DSTRAT)
    cols = [f"r{i}" for i in range(jkn.n_replicates)]
    st2 = pd.concat([st, pd.DataFrame(jkn.replicates, columns=cols)], axis=1)
    read = rep.from_columns(st2, "pw", cols, "JKn", rscales=jkn.rscales)
    assert rep.estimate(st2, read, "mean", "api00").se[0] == pytest.approx(
        rep.estimate(st, jkn, "mean", "api00").se[0], rel=1e-12)
    with pytest.raises(ValueError, match="JKn replicates need rscales"):
        rep.from_columns(st2, "pw", cols, "JKn")
    with pytest.raises(ValueError, match="Fay replicates need rho"):
        rep.from_columns(st2, "pw", cols, "Fay")
    with pytest.raises(ValueError, match="not in the data"):
        rep.from_columns(st2, "pw", ["nope", "r1"], "BRR")
    with pytest.raises(ValueError, match="JK1 is for unstratified"):
        rep.jk1(st, DSTRAT)


def _paired_design(n_strata=7, seed=3):
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(n_strata):
        for p in range(2):
            for k in range(rng.integers(3, 8)):
                rows.append({"h": h, "psu": f"{h}-{p}", "w": rng.uniform(5, 20), "y": rng.normal(10 + h, 3)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("rho", [0.0, 0.5])
def test_balanced_brr_and_fay_reproduce_the_linearised_total(rho):
    # Two PSUs per stratum, a Hadamard matrix of order 8 for 7 strata (columns 2..8): full orthogonal balance.
    df = _paired_design()
    H = hadamard(8)[:, 1:]
    first = df.psu.str.endswith("-0").to_numpy()
    h = df.h.to_numpy()
    factors = np.where((H[:, h] > 0) == first[None, :], 2 - rho, rho).T       # n x R
    names = [f"brr{r}" for r in range(8)]
    frame = pd.concat([df, pd.DataFrame(df.w.to_numpy()[:, None] * factors, columns=names)], axis=1)
    design = rep.from_columns(frame, "w", names, "Fay" if rho else "BRR", rho=rho or None, mse=True)
    ours = rep.estimate(frame, design, "total", "y").se[0]
    taylor = estimate(df, Design("w", strata="h", psu=("psu",)), "total", "y").se[0]
    assert ours == pytest.approx(taylor, rel=1e-9)


def test_bootstrap_se_of_a_total_is_close_to_the_linearised_one():
    # A census-like design with many PSUs: 4 strata x 50 PSUs x 5 rows.
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"h": np.repeat(np.arange(4), 250), "psu": np.repeat(np.arange(200), 5)})
    df["w"] = rng.uniform(50, 150, len(df))
    df["y"] = rng.normal(20, 5, len(df)) + rng.normal(0, 4, 200)[df.psu]
    design = Design("w", strata="h", psu=("psu",))
    boot = rep.bootstrap(df, design, 1000, seed=11)
    assert boot.scale == pytest.approx(1 / 999)
    ours = rep.estimate(df, boot, "total", "y").se[0]
    taylor = estimate(df, design, "total", "y").se[0]
    assert ours == pytest.approx(taylor, rel=0.08)
    assert rep.estimate(df, rep.bootstrap(df, design, 1000, seed=11), "total", "y").se[0] == ours  # reproducible


def test_calibrated_replicates_hit_the_totals_in_every_replicate(data):
    df = data["apiclus1"]
    cal = calibrate(df, DCLUS1, "~api99", {"N": 6194, "api99": 3914069})
    frame = df.assign(**{cal.weights.name: cal.weights})
    design = rep.calibrate_replicates(rep.jk1(df, DCLUS1), df, cal)
    x = np.column_stack([np.ones(len(df)), df.api99])
    assert (x.T @ design.replicates).T == pytest.approx(np.tile(cal.population, (15, 1)), rel=1e-7)
    row = rep.estimate(frame, design, "mean", "api00").iloc[0]
    assert row["estimate"] == pytest.approx(666.72, rel=1e-4)
    # The replicate SE of the GREG mean is near the linearised 3.2959 (15 clusters: within 20%).
    assert row["se"] == pytest.approx(3.2959, rel=0.2)


def test_replicates_refuse_to_exhaust_memory(data, monkeypatch):
    monkeypatch.setattr(rep, "MAX_CELLS", 1000)
    with pytest.raises(ValueError, match="use the bootstrap with a few hundred replicates"):
        rep.jk1(data["apiclus1"], DCLUS1)          # 183 rows x 15 replicates > 1000


def test_post_stratified_replicates_match_r_api_example(data):
    # survey's tests/api.Rout.save: rclus1 <- as.svrepdesign(dclus1); svytotal(~enroll, rclus1) = 3404940 (932235);
    # dclus1p / rclus1p <- postStratify(., ~stype, pop.types): svymean(~api00) 642.31 (23.921) / 642.31 (26.934),
    # svytotal(~enroll) 3680893 (406293) / 3680893 (473431). Post-stratification = GREG on ~stype.
    df = data["apiclus1"]
    jk = rep.jk1(df, DCLUS1)
    total = rep.estimate(df, jk, "total", "enroll").iloc[0]
    assert (total["estimate"], total["se"]) == (pytest.approx(3404940, rel=1e-6), pytest.approx(932235, rel=1e-6))
    cal = calibrate(df, DCLUS1, "~stype", {"stypeE": 4421, "stypeH": 755, "stypeM": 1018})
    frame = df.assign(**{cal.weights.name: cal.weights})
    taylor = Design(cal.weights.name, psu=("dnum",), fpc=("fpc",))
    replicated = rep.calibrate_replicates(jk, df, cal)
    for variable, statistic, est, se_taylor, se_rep in [("api00", "mean", 642.31, 23.921, 26.934),
                                                        ("enroll", "total", 3680893, 406293, 473431)]:
        lin = estimate(frame, taylor, statistic, variable, calibration=cal.residuals).iloc[0]
        assert (lin["estimate"], lin["se"]) == (pytest.approx(est, rel=1e-4), pytest.approx(se_taylor, rel=1e-4))
        row = rep.estimate(frame, replicated, statistic, variable).iloc[0]
        assert (row["estimate"], row["se"]) == (pytest.approx(est, rel=1e-4), pytest.approx(se_rep, rel=1e-4))
