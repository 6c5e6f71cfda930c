"""The awareness marts after a full refresh on the SAMPLE data, checked against an independent computation from
the landing files (scores by the instrument's rules, raking by hand-built cells, the R-validated estimator), and
`phakhi compare-waves` on the result."""
import json
import os

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def refreshed(copy_sample, tmp_path_factory):
    """A copy of the session's refreshed SAMPLE home (tests/conftest.py): compare-waves writes its report there."""
    paths, publication = copy_sample(tmp_path_factory.mktemp("awareness"))
    return paths, str(publication)


def _independent_overall_index(paths, wave: int):
    """A wave's national awareness index from its landing file: scores from the instrument's rules, design weights
    raked to the seed's margins (cells built here), calibrated Taylor SE."""
    from phakhi.survey.design import Design, estimate
    from phakhi.survey.raking import rake

    folder = paths.landing / "survey_waves"
    if (folder / f"wave_{wave}.csv").is_file():
        df = pd.read_csv(folder / f"wave_{wave}.csv")
    else:
        import pyreadstat

        df = pyreadstat.read_sav(str(folder / f"wave_{wave}.sav"))[0]
    dims = {"k": ["k1", "k2", "k3", "k4"], "c": ["c1", "c2", "c3", "c4"], "b": ["b1", "b2", "b3", "b4"]}
    scores = []
    for items in dims.values():
        x = df[items].astype(float).where(df[items].isin([1, 2, 3, 4, 5]))
        for rev in {"k4", "c4"} & set(items):
            x[rev] = 6 - x[rev]
        scores.append(((x - 1) / 4 * 100).mean(axis=1).where(x.notna().sum(axis=1) >= 2))
    df["index"] = (scores[0] + scores[1] + scores[2]) / 3
    provinces = pd.read_csv(os.path.join(REPO, "dbt_project", "seeds", "provinces.csv"), dtype=str)
    region = df["province"].map(dict(zip(provinces.province_code, provinces.region)))
    sex = df["sex"].map({1: "male", 2: "female"})
    age = pd.cut(df["age"], [0, 25, 40, 60, 200], right=False, labels=["15-24", "25-39", "40-59", "60+"]).astype(str)
    df["joint"] = region + "|" + sex + "|" + age
    df["area"] = df["urban_rural"].map({1: "urban", 2: "rural"})
    seed = pd.read_csv(os.path.join(REPO, "dbt_project", "seeds", "survey_population_margins.csv"))
    margins = {"joint": seed[seed.margin == "region*sex*age_group"].set_index("category")["population"],
               "area": seed[seed.margin == "urban_rural"].set_index("category")["population"]}
    df["w"] = rake(df, "weight", margins).weights
    row = estimate(df, Design("w", strata="stratum", psu=("psu",)), "mean", "index",
                   calibration=["joint", "area"]).iloc[0]
    return row, df


def test_baseline_mart_matches_an_independent_raked_estimate(refreshed):
    paths, publication = refreshed
    mart = pd.read_csv(os.path.join(publication, "data", "awareness_baseline.csv"), encoding="utf-8-sig")
    for wave in (2023, 2025):
        expected, df = _independent_overall_index(paths, wave)
        row = mart[(mart.wave == wave) & (mart.measure == "awareness_index") & (mart.domain == "overall")].iloc[0]
        assert row["estimate"] == pytest.approx(expected["estimate"], rel=1e-9)
        assert row["se"] == pytest.approx(expected["se"], rel=1e-6)
        assert row["n"] == expected["n"] == df["index"].notna().sum()
        assert row["weighting"] == "raked (calibrated SE)" and row["instrument"] == "ccai_core_v1"


def test_published_cells_follow_the_suppression_rule(refreshed):
    _, publication = refreshed
    mart = pd.read_csv(os.path.join(publication, "data", "awareness_baseline.csv"), encoding="utf-8-sig")
    assert set(mart.domain) == {"overall", "region", "province", "sex", "age_group", "urban_rural", "education"}
    assert (mart.suppressed == (mart.n < 30)).all()
    assert mart.loc[mart.suppressed, ["estimate", "se", "ci_low", "ci_high"]].isna().all().all()
    assert mart.loc[~mart.suppressed, ["estimate", "se", "ci_low", "ci_high"]].notna().all().all()
    assert mart.loc[mart.domain == "province", "unstable_se"].any()        # provinces rest on few PSUs


def test_change_mart_is_the_difference_of_independent_estimates(refreshed):
    paths, publication = refreshed
    base = pd.read_csv(os.path.join(publication, "data", "awareness_baseline.csv"), encoding="utf-8-sig")
    change = pd.read_csv(os.path.join(publication, "data", "awareness_change.csv"), encoding="utf-8-sig")
    assert set(zip(change.baseline_wave, change.wave)) == {(2023, 2025)} and change.comparable.all()
    row = change[(change.measure == "awareness_index") & (change.domain == "overall")].iloc[0]
    b = base[(base.measure == "awareness_index") & (base.domain == "overall")].set_index("wave")
    assert row["difference"] == pytest.approx(b.loc[2025, "estimate"] - b.loc[2023, "estimate"], rel=1e-9)
    assert row["se_difference"] == pytest.approx(np.hypot(b.loc[2023, "se"], b.loc[2025, "se"]), rel=1e-9)
    assert row["adjustment"] == "Benjamini-Hochberg"


def test_waves_mart_records_instrument_and_weighting(refreshed):
    paths, publication = refreshed
    waves = pd.read_csv(os.path.join(publication, "data", "awareness_waves.csv"), encoding="utf-8-sig")
    assert waves["wave"].tolist() == [2023, 2025] and (waves.instrument == "ccai_core_v1").all()
    assert (waves.instrument_status == "registered").all() and waves.comparable_with_baseline.all()
    assert waves.rake_converged.all() and (waves.weighting_method == "raked").all()
    assert waves.sum_final_weights.to_numpy() == pytest.approx(51_800_000, rel=1e-8)
    assert (waves.kish_effective_n < waves.n_respondents).all() and (waves.deff_weighting > 1).all()
    reliability = pd.read_csv(os.path.join(publication, "data", "awareness_reliability.csv"), encoding="utf-8-sig")
    assert len(reliability) == 8 and reliability.cronbach_alpha.between(0.7, 1).all()


def test_published_rows_carry_thai_and_english_labels(refreshed):
    _, publication = refreshed
    mart = pd.read_csv(os.path.join(publication, "data", "awareness_baseline.csv"), encoding="utf-8-sig")
    labels = mart.drop_duplicates(["measure", "domain", "domain_value"])
    assert labels[["measure_th", "measure_en", "domain_th", "domain_en", "domain_value_th",
                   "domain_value_en"]].notna().all().all()
    assert "ร้อยละผู้มีความตระหนักรู้ระดับสูง" in set(mart.measure_th)
    assert "Bachelor's degree or higher" in set(mart.domain_value_en)
    province = labels[(labels.domain == "province") & (labels.domain_value == "TH-50")].iloc[0]
    assert (province.domain_value_th, province.domain_value_en) == ("เชียงใหม่", "Chiang Mai")


def test_compare_waves_on_the_refreshed_home(refreshed):
    from phakhi.cli import app

    paths, _ = refreshed
    result = CliRunner().invoke(app, ["compare-waves", "--baseline", "2023", "--wave", "2025",
                                      "--home", str(paths.home)])
    assert result.exit_code == 0, result.output
    assert "awareness_index  overall" in result.stdout
    report = paths.home / "reports" / "compare-2023-2025"
    drift = json.loads((report / "drift" / "drift_report.json").read_text(encoding="utf-8"))
    assert drift["design_adjusted"] and drift["baseline_wave"] == 2023 and drift["current_wave"] == 2025
    assert (report / "drift" / "drift_report.html").is_file()
    with duckdb.connect(str(paths.published_db), read_only=True) as con:
        n = con.execute("select count(*) from marts.mart_awareness_change").fetchone()[0]
    assert len(pd.read_csv(report / "change.csv", encoding="utf-8-sig")) == n
