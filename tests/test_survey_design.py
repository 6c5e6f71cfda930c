"""Design-based estimation reproduces R's `survey` package.

Reference data (R's api and fpc data sets) live in ../shared/reference/survey-api seen from the
project root; tests needing them skip when it is absent.  Expected values are R's printed output:
the README table (tests/api.Rout.save), the package's tests/fpc.Rout.save, domain.Rout.save and
lonely.psu.Rout.save, and the vignette "A survey analysis example".  R prints about five
significant digits, hence relative tolerances of 1e-4 (2.2e-3 for SEs printed as 0.0463).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from phakhi.survey.design import Design, deff, estimate, linearized_variance

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api"

DSTRAT = Design("pw", strata="stype", fpc=("fpc",))           # svydesign(id=~1, strata=~stype, fpc=~fpc)
DCLUS1 = Design("pw", psu=("dnum",), fpc=("fpc",))            # svydesign(id=~dnum, fpc=~fpc)
DCLUS1_WR = Design("pw", psu=("dnum",))                       # svydesign(id=~dnum, weights=~pw)
DCLUS2 = Design("pw", psu=("dnum", "snum"), fpc=("fpc1", "fpc2"))
DCLUS2_WR = Design("pw", psu=("dnum", "snum"))
DFPC = Design("weight", strata="stratid", psu=("psuid",), fpc=("Nh",))
DFPC_WR = Design("weight", strata="stratid", psu=("psuid",))


@pytest.fixture(scope="module")
def data():
    if not REF.is_dir():
        pytest.skip(f"R survey reference data not found at {REF}")
    return {name: pd.read_csv(REF / f"{name}.csv")
            for name in ("apistrat", "apiclus1", "apiclus2", "apisrs", "fpc")}


def one(df, design, statistic, variable, **kwargs) -> pd.Series:
    result = estimate(df, design, statistic, variable, **kwargs)
    assert len(result) == 1
    return result.iloc[0]


# --- the README table ----------------------------------------------------------------------------

@pytest.mark.parametrize("dataset, design, statistic, variable, est, se", [
    ("apistrat", DSTRAT, "mean", "api00", 662.29, 9.4089),
    ("apistrat", DSTRAT, "total", "enroll", 3687178, 114642),
    ("apiclus1", DCLUS1, "mean", "api00", 644.169399, 23.5422),
    ("apiclus1", DCLUS1, "total", "enroll", 3404940.13, 932235.03),
])
def test_readme_published_estimates(data, dataset, design, statistic, variable, est, se):
    row = one(data[dataset], design, statistic, variable)
    assert row["estimate"] == pytest.approx(est, rel=1e-4)
    assert row["se"] == pytest.approx(se, rel=1e-4)
    assert row["n"] == len(data[dataset])


def test_readme_cluster_proportions(data):
    result = estimate(data["apiclus1"], DCLUS1, "proportion", "stype").set_index("level")
    assert list(result.index) == ["E", "H", "M"]
    assert result["estimate"].tolist() == pytest.approx([0.786885, 0.076503, 0.136612], rel=1e-4)
    assert result["se"].tolist() == pytest.approx([0.0463, 0.0268, 0.0296], rel=2.2e-3)
    assert result["estimate"].sum() == pytest.approx(1.0)


# --- multistage and fpc --------------------------------------------------------------------------

def test_two_stage_without_replacement_matches_r(data):
    # svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2): R's recursive multistage variance.
    mean = one(data["apiclus2"], DCLUS2, "mean", "api00")
    assert (mean["estimate"], mean["se"]) == (pytest.approx(670.81, rel=1e-4), pytest.approx(30.099, rel=1e-4))
    total = one(data["apiclus2"], DCLUS2, "total", "enroll")   # 6 missing enroll: na.rm=TRUE
    assert (total["estimate"], total["se"]) == (pytest.approx(2639273, rel=1e-4), pytest.approx(799638, rel=1e-4))
    assert total["n"] == 120


def test_two_stage_with_replacement_uses_first_stage_only(data):
    mean = one(data["apiclus2"], DCLUS2_WR, "mean", "api00")
    assert mean["se"] == pytest.approx(30.712, rel=1e-4)
    total = one(data["apiclus2"], DCLUS2_WR, "total", "enroll")
    assert total["se"] == pytest.approx(820261, rel=1e-4)


def test_fpc_example(data):
    # R's example(fpc) / tests/fpc.Rout.save.  (The brief quoted 5.4499 / 0.3005; R's saved output
    # and a hand computation, sum(w x)/sum(w) = 147.1/27 = 5.448148, give 5.4481 / 0.616.)
    with_fpc = one(data["fpc"], DFPC, "mean", "x")
    assert with_fpc["estimate"] == pytest.approx(147.1 / 27, rel=1e-6)
    assert with_fpc["estimate"] == pytest.approx(5.4481, rel=1e-4)
    assert with_fpc["se"] == pytest.approx(0.616, rel=1e-4)
    assert one(data["fpc"], DFPC_WR, "mean", "x")["se"] == pytest.approx(0.7413, rel=1e-4)
    # fpc given as sampling fractions is the same design
    fractions = data["fpc"].assign(frac=lambda d: d.nh / d.Nh)
    as_fraction = Design("weight", strata="stratid", psu=("psuid",), fpc=("frac",))
    assert one(fractions, as_fraction, "mean", "x")["se"] == pytest.approx(with_fpc["se"], rel=1e-12)


# --- domains -------------------------------------------------------------------------------------

def test_domain_example_from_r_tests(data):
    # tests/domain.Rout.save: svyby(~x, ~I(x>4), dfpc, svymean), both domains lose whole PSUs.
    df = data["fpc"].assign(big=lambda d: d.x > 4)
    result = estimate(df, DFPC_WR, "mean", "x", by="big").set_index("domain")
    assert result.loc["big=False", "estimate"] == pytest.approx(3.314286, rel=1e-6)
    assert result.loc["big=False", "se"] == pytest.approx(0.3117042, rel=1e-6)
    assert result.loc["big=True", "estimate"] == pytest.approx(6.195, rel=1e-6)
    assert result.loc["big=True", "se"] == pytest.approx(0.7555129, rel=1e-6)


def test_domains_match_r_vignette(data):
    # "A survey analysis example": svyby(~ell+meals, ~stype, dclus1, svymean) and
    # svyratio(~api.stu, ~enroll, subset(dclus1, stype == "H")).
    df = data["apiclus1"]
    expected = {"ell": {"E": (29.69444, 1.411617), "H": (15.0, 5.347065), "M": (22.68, 2.952862)},
                "meals": {"E": (53.09028, 7.070399), "H": (37.57143, 5.912262), "M": (43.08, 6.017110)}}
    for variable, by_type in expected.items():
        result = estimate(df, DCLUS1, "mean", variable, by="stype").set_index("domain")
        for stype, (est, se) in by_type.items():
            assert result.loc[f"stype={stype}", "estimate"] == pytest.approx(est, rel=1e-6)
            assert result.loc[f"stype={stype}", "se"] == pytest.approx(se, rel=1e-6)
    ratio = estimate(df, DCLUS1, "ratio", "api.stu", denominator="enroll", by="stype").set_index("domain")
    assert ratio.loc["stype=H", "estimate"] == pytest.approx(0.8300683, rel=1e-6)
    assert ratio.loc["stype=H", "se"] == pytest.approx(0.01472607, rel=1e-6)


def test_domains_match_published_svyby_with_replacement(data):
    # svyby output for svydesign(ids=~dnum, weights=~pw, data=apiclus1) (no fpc) as printed in a
    # public R survey tutorial: by stype, and by stype + sch.wide.
    df = data["apiclus1"].assign(cell=lambda d: d.stype + "." + d["sch.wide"])
    by_type = estimate(df, DCLUS1_WR, "mean", "api00", by="stype").set_index("domain")
    for stype, est, se in [("E", 648.8681, 22.58731), ("H", 618.5714, 38.40263), ("M", 631.44, 31.92737)]:
        assert by_type.loc[f"stype={stype}", "estimate"] == pytest.approx(est, rel=1e-6)
        assert by_type.loc[f"stype={stype}", "se"] == pytest.approx(se, rel=1e-6)
    by_cell = estimate(df, DCLUS1_WR, "mean", "api00", by="cell").set_index("domain")
    for cell, est, se in [("E.No", 596.3333, 43.92749), ("H.No", 659.3333, 27.27433),
                          ("M.No", 606.375, 41.53039), ("E.Yes", 653.6439, 20.52153),
                          ("H.Yes", 607.4545, 44.14423), ("M.Yes", 643.2353, 42.55219)]:
        assert by_cell.loc[f"cell={cell}", "estimate"] == pytest.approx(est, rel=1e-6)
        assert by_cell.loc[f"cell={cell}", "se"] == pytest.approx(se, rel=1e-6)


def test_domain_estimation_keeps_the_full_design(data):
    df = data["apiclus1"]
    by_type = estimate(df, DCLUS1, "mean", "api00", by="stype").set_index("domain")
    for stype in ["E", "H", "M"]:
        # Explicit computation: zero the weights outside the domain, keep every row and PSU.
        zeroed = df.assign(w0=np.where(df.stype == stype, df.pw, 0.0))
        explicit = one(zeroed, Design("w0", psu=("dnum",), fpc=("fpc",)), "mean", "api00")
        row = by_type.loc[f"stype={stype}"]
        assert row["estimate"] == pytest.approx(explicit["estimate"], rel=1e-12)
        assert row["se"] == pytest.approx(explicit["se"], rel=1e-12)
        # Domain mean = ratio of y*1{domain} to 1{domain} (R's tests/domain.R identity).
        ratio_df = df.assign(num=np.where(df.stype == stype, df.api00, 0.0), den=(df.stype == stype) * 1.0)
        ratio = one(ratio_df, DCLUS1, "ratio", "num", denominator="den")
        assert row["se"] == pytest.approx(ratio["se"], rel=1e-10)
        assert row["n"] == (df.stype == stype).sum()
    # Subsetting rows first drops the districts without high schools: a different (wrong) SE.
    naive = one(df[df.stype == "H"], DCLUS1, "mean", "api00")
    assert abs(naive["se"] - by_type.loc["stype=H", "se"]) > 1.0
    # One-stage design: the fpc scales the with-replacement SE by sqrt(1 - 15/757) in every domain.
    wr = estimate(df, DCLUS1_WR, "mean", "api00", by="stype").set_index("domain")
    assert by_type["se"].to_numpy() == pytest.approx(wr["se"].to_numpy() * np.sqrt(1 - 15 / 757), rel=1e-12)
    assert by_type["se"].tolist() == pytest.approx([22.36241, 38.02025, 31.60947], rel=1e-6)


def test_missing_values_are_a_domain(data):
    df = data["apiclus2"]
    result = one(df, DCLUS2, "mean", "enroll")
    zeroed = df.assign(w0=np.where(df.enroll.notna(), df.pw, 0.0), enroll0=df.enroll.fillna(0))
    explicit = one(zeroed, Design("w0", psu=("dnum", "snum"), fpc=("fpc1", "fpc2")), "mean", "enroll0")
    assert result["estimate"] == pytest.approx(explicit["estimate"], rel=1e-12)
    assert result["se"] == pytest.approx(explicit["se"], rel=1e-12)
    assert result["n"] == df.enroll.notna().sum()


# --- other statistics, lonely PSUs, design effects ------------------------------------------------

def test_ratio_and_category_totals_match_r_vignette(data):
    df = data["apiclus1"]
    ratio = one(df, DCLUS1, "ratio", "api.stu", denominator="enroll")
    assert (ratio["estimate"], ratio["se"]) == (pytest.approx(0.8497087, rel=1e-6),
                                                pytest.approx(0.008386297, rel=1e-6))
    # svytotal(~stype, dclus1)
    for stype, est, se in [("E", 4873.97, 1333.32), ("H", 473.86, 158.70), ("M", 846.17, 167.55)]:
        row = one(df.assign(is_type=df.stype == stype), DCLUS1, "total", "is_type")
        assert (row["estimate"], row["se"]) == (pytest.approx(est, rel=1e-5), pytest.approx(se, rel=1e-4))


def test_lonely_psu(data):
    # tests/lonely.psu.Rout.save: svydesign(id=~1, weights=~pw, strata=~dnum, data=apiclus1).
    df = data["apiclus1"]
    design = Design("pw", strata="dnum")
    with pytest.raises(ValueError, match=r"Stratum \(413\) has only one PSU at stage 1"):
        estimate(df, design, "mean", "api00")
    assert one(df, design, "mean", "api00", lonely_psu="remove")["se"] == pytest.approx(5.8058, rel=1e-4)
    assert one(df, design, "mean", "api00", lonely_psu="adjust")["se"] == pytest.approx(5.8281, rel=1e-4)
    # A stratum sampled completely (fpc = 1 = its size) is a certainty stratum, not an error.
    certain = df.assign(N=np.where(df.dnum == 413, 1, 1000))
    assert one(certain, Design("pw", strata="dnum", fpc=("N",)), "mean", "api00")["se"] == pytest.approx(5.7344, rel=1e-4)
    # A domain leaving one PSU in a stratum keeps the design's two PSUs (no error, as R).
    sub = df[df.dnum != 413].reset_index(drop=True)
    sub = sub.assign(keep=np.arange(len(sub)) != 30)
    kept = estimate(sub, design, "mean", "api00", by="keep").set_index("domain").loc["keep=True"]
    assert (kept["estimate"], kept["se"]) == (pytest.approx(645.14, rel=1e-4), pytest.approx(5.8909, rel=1e-4))


def test_design_effect(data):
    # svymean(~api00, dclus1, deff=TRUE) prints DEff 9.3459.
    assert deff(data["apiclus1"], DCLUS1, "api00") == pytest.approx(9.3459, rel=1e-4)
    # Equal-weight SRS analysed with replacement: deff = N / (N - n) exactly.
    assert deff(data["apisrs"], Design("pw"), "api00") == pytest.approx(6194 / (6194 - 200), rel=1e-9)


def test_confidence_interval_uses_normal_quantiles(data):
    row = one(data["apistrat"], DSTRAT, "mean", "api00", conf_level=0.90)
    assert row["ci_high"] - row["estimate"] == pytest.approx(norm.ppf(0.95) * row["se"], rel=1e-12)
    assert row["estimate"] - row["ci_low"] == pytest.approx(norm.ppf(0.95) * row["se"], rel=1e-12)


# --- no reference data needed --------------------------------------------------------------------

def test_srs_matches_textbook_formulas():
    rng = np.random.default_rng(20240501)
    N, n = 5000, 80
    y = rng.gamma(2.0, 10.0, size=n)
    df = pd.DataFrame({"y": y, "w": N / n, "N": N, "yes": rng.random(n) < 0.3})
    s2, f = y.var(ddof=1), n / N
    mean = one(df, Design("w", fpc=("N",)), "mean", "y")
    assert mean["estimate"] == pytest.approx(y.mean(), rel=1e-12)
    assert mean["se"] == pytest.approx(np.sqrt((1 - f) * s2 / n), rel=1e-10)
    assert one(df, Design("w"), "mean", "y")["se"] == pytest.approx(np.sqrt(s2 / n), rel=1e-10)
    total = one(df, Design("w", fpc=("N",)), "total", "y")
    assert total["se"] == pytest.approx(N * np.sqrt((1 - f) * s2 / n), rel=1e-10)
    p = df.yes.mean()
    prop = estimate(df, Design("w", fpc=("N",)), "proportion", "yes").set_index("level")
    assert prop.loc[True, "se"] == pytest.approx(np.sqrt((1 - f) * p * (1 - p) / (n - 1)), rel=1e-10)


def test_srs_simulation_se_is_calibrated():
    # Repeated SRS from one population: the linearised SE tracks the spread of the estimates
    # and the 95% interval covers the population mean about 95% of the time.
    rng = np.random.default_rng(7)
    N, n, reps = 3000, 60, 400
    population = rng.lognormal(3.0, 0.5, size=N)
    design = Design("w", fpc=("N",))
    estimates, ses, covered = [], [], 0
    for _ in range(reps):
        df = pd.DataFrame({"y": rng.choice(population, size=n, replace=False), "w": N / n, "N": N})
        row = one(df, design, "mean", "y")
        estimates.append(row["estimate"])
        ses.append(row["se"])
        covered += row["ci_low"] <= population.mean() <= row["ci_high"]
    true_se = np.sqrt((1 - n / N) * population.var(ddof=1) / n)
    assert np.std(estimates) == pytest.approx(true_se, rel=0.15)
    assert np.sqrt(np.mean(np.square(ses))) == pytest.approx(true_se, rel=0.10)
    assert 0.90 <= covered / reps <= 0.99


def test_linearized_variance_of_a_stratified_total():
    # Two strata, with-replacement: sum over strata of n_h/(n_h-1) * sum (z - mean_h)^2.
    df = pd.DataFrame({"h": [1, 1, 1, 2, 2], "w": 1.0})
    z = np.array([1.0, 2.0, 6.0, 4.0, 0.0])
    expected = 3 / 2 * (4 + 1 + 9) + 2 / 1 * (4 + 4)   # stratum means 3 and 2
    assert linearized_variance(z, df, Design("w", strata="h")) == pytest.approx(expected)


def test_output_shape_and_validation():
    df = pd.DataFrame({"y": [1.0, 2.0, np.nan, 4.0], "g": ["a", "b", "a", "b"], "w": 1.0,
                       "N": [10, 10, 10, 10], "f": [0.1, 0.1, 0.1, 20]})
    result = estimate(df, Design("w"), "mean", "y", by="g")
    assert list(result.columns) == ["domain", "statistic", "variable", "level", "estimate", "se",
                                    "ci_low", "ci_high", "n"]
    assert result["domain"].tolist() == ["g=a", "g=b"] and result["n"].tolist() == [1, 2]
    assert result["level"].isna().all()
    with pytest.raises(ValueError, match="statistic"):
        estimate(df, Design("w"), "median", "y")
    with pytest.raises(ValueError, match="denominator"):
        estimate(df, Design("w"), "ratio", "y")
    with pytest.raises(ValueError, match="proportion"):
        estimate(df, Design("w"), "mean", "g")
    with pytest.raises(ValueError, match="fpc"):
        Design("w", psu=("a", "b"), fpc=("N",))
    with pytest.raises(ValueError, match="fpc"):
        estimate(df, Design("w", fpc=("f",)), "mean", "y")
    with pytest.raises(ValueError, match="lonely_psu"):
        estimate(df, Design("w"), "mean", "y", lonely_psu="average")
