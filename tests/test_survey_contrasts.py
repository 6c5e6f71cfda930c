"""Contrasts (svycontrast), the design-based t-test (svyttest), totals of a category and complete cases.

R's published results copied inline (reference README and the vignette "A survey analysis example"):
- a <- svymean(~api00+enroll+api99, dclus1); svycontrast(a, list(diff=c(1,0,-1))): 37.191, SE 3.0852;
- svytotal(~stype, dclus1): E 4873.97 (1333.32), H 473.86 (158.70), M 846.17 (167.55).
svyttest has no printed api example in the reference; it is checked against its definition in R's source
(svyglm(y ~ group, family=gaussian()): coefficient 2, SE from the sandwich, df = degf(design) - 1, t-based CI).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as t_dist

from phakhi.survey import replicates as rep
from phakhi.survey.contrasts import contrast, contrasts, joint, parse_contrast, ttest
from phakhi.survey.design import Design, degf, estimate, linearized_variance

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api"
DCLUS1 = Design("pw", psu=("dnum",), fpc=("fpc",))
DCLUS2 = Design("pw", psu=("dnum", "snum"), fpc=("fpc1", "fpc2"))


@pytest.fixture(scope="module")
def data():
    if not REF.is_dir():
        pytest.skip(f"R survey reference data not found at {REF}")
    return {name: pd.read_csv(REF / f"{name}.csv") for name in ("apiclus1", "apiclus2", "apistrat")}


def test_difference_of_two_items_matches_r(data):
    est = joint(data["apiclus1"], DCLUS1, "mean", ["api00", "enroll", "api99"])[0]
    row = contrast(est, {"api00": 1, "enroll": 0, "api99": -1}, "diff")
    assert row["estimate"] == pytest.approx(37.191, rel=1e-4)
    assert row["se"] == pytest.approx(3.0852, rel=1e-4)
    assert row["df"] == 13                                     # 15 PSUs - 1 stratum - 1
    # The covariance between the items is what makes the SE small: independent items would give ~33.
    v = est.vcov()
    assert np.sqrt(v.loc["api00", "api00"] + v.loc["api99", "api99"]) > 10 * row["se"]
    assert np.sqrt(np.diag(v)) == pytest.approx(
        [estimate(data["apiclus1"], DCLUS1, "mean", c).se[0] for c in ["api00", "enroll", "api99"]], rel=1e-10)
    assert v.to_numpy() == pytest.approx(v.to_numpy().T)


def test_contrast_table_by_domain_and_with_replicates(data):
    df = data["apiclus1"]
    table = contrasts(df, DCLUS1, "mean", ["diff=api00-api99", "avg=0.5*api00+0.5*api99"], by="stype")
    assert list(table["domain"]) == ["stype=E", "stype=E", "stype=H", "stype=H", "stype=M", "stype=M"]
    means = estimate(df, DCLUS1, "mean", "api00", by="stype").estimate.to_numpy() - \
        estimate(df, DCLUS1, "mean", "api99", by="stype").estimate.to_numpy()
    assert table[table.contrast == "diff"].estimate.to_numpy() == pytest.approx(means, rel=1e-12)
    # The average of an item with itself is the item: same estimate and SE.
    same = contrasts(df, DCLUS1, "mean", ["avg=0.5*api00+0.5*api00"]).iloc[0]
    assert (same["estimate"], same["se"]) == pytest.approx(tuple(estimate(df, DCLUS1, "mean", "api00")
                                                                 .iloc[0][["estimate", "se"]]), rel=1e-12)
    jk = contrasts(df, rep.jk1(df, DCLUS1), "mean", ["diff=api00-api99"]).iloc[0]
    assert jk["estimate"] == pytest.approx(37.191, rel=1e-4)
    assert jk["se"] == pytest.approx(3.0852, rel=0.2)          # jackknife vs linearisation, 15 clusters
    assert jk["df"] == 13


def test_parse_contrast():
    assert parse_contrast("diff=api00-api99") == ("diff", {"api00": 1.0, "api99": -1.0})
    assert parse_contrast("api00 - 2*api99 + 0.5 * enroll") == ("api00 - 2*api99 + 0.5 * enroll",
                                                                 {"api00": 1.0, "api99": -2.0, "enroll": 0.5})
    assert parse_contrast("avg = 0.25*k1 + .75*k2")[1] == {"k1": 0.25, "k2": 0.75}
    with pytest.raises(ValueError, match="cannot read contrast"):
        parse_contrast("api00 api99")


def test_ttest_is_svyttest(data):
    df = data["apiclus1"]
    res = ttest(df, DCLUS1, "api00", "sch.wide")
    by = estimate(df, DCLUS1, "mean", "api00", by="sch.wide").set_index("domain")["estimate"]
    assert res.levels == ("No", "Yes")
    assert res.difference == pytest.approx(by["sch.wide=Yes"] - by["sch.wide=No"], rel=1e-12)
    # R's definition: svyglm(api00 ~ sch.wide): the sandwich influence of the group coefficient.
    x = np.column_stack([np.ones(len(df)), (df["sch.wide"] == "Yes").to_numpy(float)])
    w, y = df.pw.to_numpy(float), df.api00.to_numpy(float)
    a_inv = np.linalg.inv((x * w[:, None]).T @ x)
    beta = a_inv @ (x * w[:, None]).T @ y
    influence = (x * (w * (y - x @ beta))[:, None]) @ a_inv
    assert res.difference == pytest.approx(beta[1], rel=1e-12)
    assert res.se == pytest.approx(np.sqrt(linearized_variance(influence[:, 1], df, DCLUS1)), rel=1e-10)
    assert res.df == degf(df, DCLUS1) - 1 == 13
    q = t_dist.ppf(0.975, 13)
    assert (res.ci_low, res.ci_high) == pytest.approx((res.difference - q * res.se, res.difference + q * res.se))
    assert res.p_value == pytest.approx(2 * t_dist.sf(abs(res.difference / res.se), 13))
    assert "t = " in res.text() and "df = 13" in res.text()
    # Two-stage design: df from the first-stage PSUs (40 districts).
    assert ttest(data["apiclus2"], DCLUS2, "enroll", "comp.imp").df == 39 - 1
    # Replicate design: df = rank of the replicate weights - 2.
    assert ttest(df, rep.jk1(df, DCLUS1), "api00", "sch.wide").df == 13
    with pytest.raises(ValueError, match="two groups"):
        ttest(df, DCLUS1, "api00", "stype")


def test_totals_of_a_category_match_r(data):
    df = data["apiclus1"]
    result = estimate(df, DCLUS1, "total", "stype").set_index("level")
    for stype, est, se in [("E", 4873.97, 1333.32), ("H", 473.86, 158.70), ("M", 846.17, 167.55)]:
        assert result.loc[stype, "estimate"] == pytest.approx(est, rel=1e-5)
        assert result.loc[stype, "se"] == pytest.approx(se, rel=1e-4)
    # Numeric codes as categories (R's factor()): same numbers.
    coded = df.assign(code=df.stype.map({"E": 1, "H": 2, "M": 3}))
    as_codes = estimate(coded, DCLUS1, "total", "code", categorical=True)
    assert as_codes.estimate.to_numpy() == pytest.approx(result.estimate.to_numpy(), rel=1e-12)
    assert as_codes.level.tolist() == [1, 2, 3]


def test_complete_cases_over_several_columns_keep_the_design(data):
    df = data["apiclus2"]                     # 6 schools without enroll
    result = estimate(df, DCLUS2, "mean", "api00", complete=["enroll"]).iloc[0]
    as_domain = estimate(df.assign(cc=df.enroll.notna()), DCLUS2, "mean", "api00", by="cc")
    as_domain = as_domain.set_index("domain").loc["cc=True"]
    assert (result["estimate"], result["se"], result["n"]) == (
        pytest.approx(as_domain["estimate"], rel=1e-12), pytest.approx(as_domain["se"], rel=1e-12), 120)
    # Dropping the rows instead loses their units from the design: not the same SE.
    dropped = estimate(df[df.enroll.notna()], DCLUS2, "mean", "api00").iloc[0]
    assert dropped["estimate"] == pytest.approx(result["estimate"], rel=1e-12)
    assert dropped["se"] != pytest.approx(result["se"], rel=1e-6)
    with pytest.raises(ValueError, match="not in the data"):
        estimate(df, DCLUS2, "mean", "api00", complete=["nope"])
