"""The estimator's 95% confidence intervals cover the truth about 95% of the time.

A synthetic population with a known truth (4 strata x 300 PSUs, ~96,000 persons, PSU effects, a domain
variable and a raking variable) and 1,000 independent stratified two-stage samples from it (12 PSUs per stratum,
8 persons per PSU; drawn in one vectorised step). Each replicate is estimated exactly as the marts do:
phakhi.survey.design.estimate with strata and PSUs (and, for the raked estimator, the raked weights with
calibration-aware SEs). Coverage must lie between 93% and 97%.
"""
import numpy as np
import pytest

from phakhi.survey.design import Design, estimate
from phakhi.survey.raking import rake
from phakhi.survey.simulate import population, samples

REPLICATES = 1000
DESIGN = Design("weight", strata="stratum", psu=("psu",))


@pytest.fixture(scope="module")
def pop():
    return population(seed=1)


@pytest.fixture(scope="module")
def draws(pop):
    return [frame for _, frame in samples(pop, REPLICATES, psus=12, per_psu=8, seed=2).groupby("rep", sort=False)]


def test_samples_are_stratified_two_stage_and_weights_estimate_the_population_size(pop, draws):
    assert len(draws) == REPLICATES
    first = draws[0]
    assert first.groupby("stratum")["psu"].nunique().tolist() == [12, 12, 12, 12]
    assert (first.groupby("psu").size() == 8).all()
    # Horvitz-Thompson: the mean over replicates of the estimated population size is the population size.
    sizes = np.array([d["weight"].sum() for d in draws])
    assert sizes.mean() == pytest.approx(len(pop.persons), rel=0.01)


def test_ci_coverage_of_a_mean(pop, draws):
    truth = pop.truth("y")
    rows = [estimate(d, DESIGN, "mean", "y").iloc[0] for d in draws]
    covered = np.mean([r.ci_low <= truth <= r.ci_high for r in rows])
    assert 0.93 <= covered <= 0.97, covered
    assert abs(np.mean([r.estimate for r in rows]) - truth) < 0.1          # (nearly) unbiased


def test_ci_coverage_of_domain_proportions(pop, draws):
    truth = pop.truth("high", "domain")
    covered = []
    for d in draws:
        for r in estimate(d, DESIGN, "mean", "high", by="domain").itertuples():
            covered.append(r.ci_low <= truth[r.domain.split("=", 1)[1]] <= r.ci_high)
    assert len(covered) == 3 * REPLICATES
    assert 0.93 <= np.mean(covered) <= 0.97, np.mean(covered)


def test_ci_coverage_of_a_raked_mean_with_calibrated_se(pop, draws):
    truth = pop.truth("y")
    margins = {"group": pop.persons["group"].value_counts(), "stratum": pop.persons["stratum"].value_counts()}
    covered, plain_se, calibrated_se = [], [], []
    for d in draws[:600]:
        raked = d.assign(wr=rake(d, "weight", margins).weights)
        design = Design("wr", strata="stratum", psu=("psu",))
        r = estimate(raked, design, "mean", "y", calibration=["group", "stratum"]).iloc[0]
        covered.append(r.ci_low <= truth <= r.ci_high)
        calibrated_se.append(r.se)
        plain_se.append(estimate(d, DESIGN, "mean", "y").iloc[0].se)
    assert 0.93 <= np.mean(covered) <= 0.97, np.mean(covered)
    # Raking on a variable related to y buys precision, and the calibrated SE shows it.
    assert np.mean(calibrated_se) < np.mean(plain_se)
