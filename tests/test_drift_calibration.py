"""The drift report's test is calibrated for two survey samples: across item pairs drawn from ONE population, it
flags about alpha of them.

The test calls the very function registered as the evidently StatTest (phakhi.drift._stattest_impl, with the
waves' designs made available by phakhi.drift.survey_design, exactly as drift_report does): the Rao-Scott first-order corrected chi-square, referred to F with the design's
degrees of freedom. The pairs are two
independent stratified cluster samples (10 PSUs x 10 persons per stratum, weights varying with PSU size) of a
5-point item with intra-PSU correlation 0.15, i.e. a design effect around 2: a test that ignores the design flags
far more than 5% of identical distributions.
"""
import numpy as np
import pandas as pd
import pytest

from phakhi.drift import WaveDesign, _stattest_impl, design_adjusted_homogeneity, survey_design
from phakhi.survey.simulate import population, samples

PAIRS = 500
ALPHA = 0.05


@pytest.fixture(scope="module")
def pairs():
    pop = population(seed=11, item_icc=0.15)
    draws = [f for _, f in samples(pop, 2 * PAIRS, psus=10, per_psu=10, seed=12).groupby("rep", sort=True)]
    return [(draws[2 * i], draws[2 * i + 1]) for i in range(PAIRS)]


def _item(frame):
    return frame["item"].astype(str).rename("k1")


def test_false_positive_rate_of_the_design_adjusted_test_is_near_alpha(pairs):
    flagged, pearson = [], []
    for a, b in pairs:
        with survey_design(WaveDesign.from_frame(a), WaveDesign.from_frame(b)):
            p, drifted = _stattest_impl(_item(a), _item(b), None, ALPHA)
        assert drifted == (p < ALPHA)
        flagged.append(drifted)
        p_naive, _ = _stattest_impl(_item(a), _item(b), None, ALPHA)     # no design context: Pearson
        pearson.append(p_naive < ALPHA)
    rate, naive = np.mean(flagged), np.mean(pearson)
    assert 0.02 <= rate <= 0.08, rate
    assert naive > 0.10, naive          # why the correction matters: the design effect is ~2 here


def test_without_a_design_the_test_is_pearsons_chi_square():
    from scipy.stats import chi2_contingency, f

    rng = np.random.default_rng(3)
    a = pd.Series(rng.integers(1, 6, 300).astype(str))
    b = pd.Series(rng.integers(1, 6, 250).astype(str))
    table = pd.crosstab(np.r_[np.zeros(300), np.ones(250)], np.r_[a, b])
    stat, p_chi2, dof, _ = chi2_contingency(table, correction=False)
    result = design_adjusted_homogeneity(a, b)
    assert result["mean_deff"] == pytest.approx(1.0)
    assert (result["statistic"], result["df"]) == (pytest.approx(stat, rel=1e-12), dof)
    # Referred to F(K-1, (K-1)(n-2)) rather than chi-square(K-1): the same test for samples of this size.
    assert result["p_value"] == pytest.approx(f.sf(stat / dof, dof, dof * 548), rel=1e-12)
    assert result["p_value"] == pytest.approx(p_chi2, rel=0.02)


def test_equal_weights_and_no_clustering_change_nothing():
    rng = np.random.default_rng(4)
    a = pd.Series(rng.integers(1, 6, 400).astype(str), index=np.arange(400))
    b = pd.Series(rng.integers(1, 6, 400).astype(str), index=np.arange(1000, 1400))
    srs = lambda s: WaveDesign(pd.DataFrame({"weight": 7.0}, index=s.index), strata=None, psu=None)  # noqa: E731
    adjusted = design_adjusted_homogeneity(a, b, srs(a), srs(b))
    plain = design_adjusted_homogeneity(a, b)
    # With-replacement SRS variance p(1-p)/n has deff exactly (n-1)/n x n/(n-1) = 1 in R's convention.
    assert adjusted["mean_deff"] == pytest.approx(1.0, abs=0.01)
    assert adjusted["p_value"] == pytest.approx(plain["p_value"], rel=0.02)


def test_missing_codes_are_not_a_category(tmp_path):
    # drift_report masks "don't know"/"refused" before testing; the direct function sees them as NaN.
    a = pd.Series(["1", "2", None, "3"] * 50)
    b = pd.Series(["1", "2", "3", None] * 50)
    assert design_adjusted_homogeneity(a, b)["categories"] == ["1", "2", "3"]
