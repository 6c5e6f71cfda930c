"""`phakhi survey estimate` for the new capabilities reproduces R's published numbers (inline copies below) from
the reference CSVs, and refuses bad combinations with one line."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from phakhi.cli import app

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api"
CLUS1 = ["--weights", "pw", "--psu", "dnum", "--fpc", "fpc"]
runner = CliRunner()


@pytest.fixture(scope="module")
def ref():
    if not REF.is_dir():
        pytest.skip(f"R survey reference data not found at {REF}")
    return REF


def run(*args):
    return runner.invoke(app, ["survey", "estimate", *[str(a) for a in args]])


def rows(*args) -> list[dict]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_greg_calibration_from_the_command_line(ref, tmp_path):
    [row] = rows(ref / "apiclus1.csv", *CLUS1, "--mean", "api00", "--calibrate", "~api99",
                 "--population", "N=6194,api99=3914069")
    assert row["estimate"] == pytest.approx(666.72, rel=1e-4) and row["se"] == pytest.approx(3.2959, rel=1e-4)
    # The same totals from a file of totals (term,total)
    pd.DataFrame({"term": ["N", "api99"], "total": [6194, 3914069]}).to_csv(tmp_path / "pop.csv", index=False)
    [same] = rows(ref / "apiclus1.csv", *CLUS1, "--mean", "api00", "--calibrate", "~api99",
                  "--population", tmp_path / "pop.csv")
    assert same["se"] == pytest.approx(row["se"], rel=1e-12)
    # Raking on a formula (R's rake(dclus1, list(~stype, ~sch.wide))): 641.23 (23.704)
    [raked] = rows(ref / "apiclus1.csv", *CLUS1, "--mean", "api00", "--calibrate", "~stype+sch.wide", "--calfun",
                   "raking", "--population", "stypeE=4421,stypeH=755,stypeM=1018,sch.wideYes=5122")
    assert raked["estimate"] == pytest.approx(641.23, rel=1e-4) and raked["se"] == pytest.approx(23.704, rel=1e-4)


def test_ratio_estimator_by_calibration_from_the_command_line(ref):
    # survey's tests/caleg.Rout.save: svytotal(~api.stu, calibrate(dstrat, ~enroll-1, total.enroll, variance=1))
    [row] = rows(ref / "apistrat.csv", "--weights", "pw", "--strata", "stype", "--fpc", "fpc", "--total", "api.stu",
                 "--calibrate", "~enroll-1", "--population", "enroll=3811472", "--cal-variance", "1")
    assert row["estimate"] == pytest.approx(3190038, rel=1e-6) and row["se"] == pytest.approx(29566, rel=1e-4)


def test_replicates_from_the_design_and_from_the_file(ref, tmp_path):
    [jk] = rows(ref / "apiclus1.csv", *CLUS1, "--mean", "api00", "--replicates", "jk1")
    assert jk["estimate"] == pytest.approx(644.17, rel=1e-4) and jk["se"] == pytest.approx(26.329, rel=1e-4)
    # The same replicates delivered as columns of a file (R: svrepdesign(type="JK1", scale=(1-f)(n-1)/n))
    df = pd.read_csv(ref / "apiclus1.csv")
    psu = pd.factorize(df.dnum)[0]
    for r in range(15):
        df[f"repw{r + 1}"] = np.where(psu == r, 0.0, df.pw * 15 / 14)
    df.to_csv(tmp_path / "withrep.csv", index=False)
    [file_jk] = rows(tmp_path / "withrep.csv", "--weights", "pw", "--repweights", "repw*", "--rep-type", "JK1",
                     "--scale", str((757 - 15) / 757 * 14 / 15), "--mean", "api00")
    assert file_jk["se"] == pytest.approx(26.329, rel=1e-4)
    [mse] = rows(tmp_path / "withrep.csv", "--weights", "pw", "--repweights", "repw*", "--rep-type", "jk1",
                 "--scale", str((757 - 15) / 757 * 14 / 15), "--mean", "api00", "--mse")
    assert mse["se"] > file_jk["se"]
    # The same replicates as factors of the full-sample weights (R's combined.weights=FALSE)
    factors = df.assign(**{f"repw{r + 1}": df[f"repw{r + 1}"] / df.pw for r in range(15)})
    factors.to_csv(tmp_path / "factors.csv", index=False)
    [as_factors] = rows(tmp_path / "factors.csv", "--weights", "pw", "--repweights", "repw*", "--rep-type", "JK1",
                        "--rep-factors", "--scale", str((757 - 15) / 757 * 14 / 15), "--mean", "api00")
    assert as_factors["se"] == pytest.approx(file_jk["se"], rel=1e-12)


def test_contrast_ttest_category_totals_and_complete_cases(ref):
    [diff] = rows(ref / "apiclus1.csv", *CLUS1, "--contrast", "diff=api00-api99")
    assert (diff["contrast"], diff["df"]) == ("diff", 13)
    assert diff["estimate"] == pytest.approx(37.191, rel=1e-4) and diff["se"] == pytest.approx(3.0852, rel=1e-4)
    [tt] = rows(ref / "apiclus1.csv", *CLUS1, "--ttest", "api00", "--group", "sch.wide")
    assert tt["levels"] == ["No", "Yes"] and tt["df"] == 13 and tt["ci_low"] < tt["difference"] < tt["ci_high"]
    text = run(ref / "apiclus1.csv", *CLUS1, "--ttest", "api00", "--group", "sch.wide").stdout
    assert "Design-based t-test" in text and "df = 13" in text and "95% confidence interval" in text
    totals = rows(ref / "apiclus1.csv", *CLUS1, "--total", "stype")
    assert [(r["level"], round(r["estimate"], 2), round(r["se"], 2)) for r in totals] == \
        [("E", 4873.97, 1333.32), ("H", 473.86, 158.70), ("M", 846.17, 167.55)]
    [cc] = rows(ref / "apiclus2.csv", "--weights", "pw", "--psu", "dnum,snum", "--fpc", "fpc1,fpc2", "--mean",
                "api00", "--na", "complete:enroll")
    assert cc["n"] == 120


@pytest.mark.parametrize("args, message", [
    (["--mean", "api00", "--calibrate", "~api99"], "--calibrate needs --population"),
    (["--mean", "api00", "--calibrate", "~api99", "--population", "N=6194"], "missing api99"),
    (["--mean", "api00", "--calibrate", "~api99", "--population", "N=6194,api99=3914069", "--bounds", "0.9,1.1"],
     "did not converge"),
    (["--mean", "api00", "--population", "N=1"], "--population goes with --calibrate"),
    (["--mean", "api00", "--population", "N=1", "--calfun", "raking"], "--population, --calfun go with --calibrate"),
    (["--mean", "api00", "--rep-type", "BRR", "--rho", "0.5"], "--rep-type, --rho go with --repweights"),
    (["--mean", "api00", "--replicates", "brr"], "--replicates must be jk1, jkn or bootstrap"),
    (["--mean", "api00", "--repweights", "rw*", "--rep-type", "BRR"], "leave out --strata/--psu"),
    (["--mean", "api00", "--mse"], "--mse goes with --replicates or --repweights"),
    (["--contrast", "diff=api00-api98"], "--contrast[2] 'api98' is not a column"),
    (["--ttest", "api00"], "--ttest COL and --group COL go together"),
    (["--ttest", "api00", "--group", "stype"], "two groups"),
    (["--mean", "api00", "--na", "complete:nosuch"], "--na complete[1] 'nosuch' is not a column"),
    (["--mean", "api00", "--na", "some"], "--na must be"),
    # the number lists and LOW,HIGH bounds of calibration, raking and replicates share one reader
    (["--mean", "api00", "--calibrate", "~api99", "--population", "N=6194,api99=3914069", "--bounds", "1.1,2"],
     "--bounds '1.1,2': the bounds must satisfy LOW <= 1 <= HIGH"),
    (["--mean", "api00", "--calibrate", "~api99", "--population", "N=6194,api99=3914069", "--bounds", "0.5"],
     "--bounds '0.5': expected LOW,HIGH"),
    (["--mean", "api00", "--calibrate", "~enroll-1", "--population", "enroll=3811472", "--cal-variance", "one"],
     "--cal-variance 'one': expected numbers separated by commas"),
    (["--mean", "api00", "--rake", "stype=nosuch.csv", "--trim", "-0.5,2"],
     "--trim '-0.5,2': the bounds must satisfy 0 <= LOW <= 1 <= HIGH"),
])
def test_bad_combinations_are_one_clear_line(ref, args, message):
    result = run(ref / "apiclus1.csv", *CLUS1, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output
