"""The evaluator's CLI: `phakhi survey estimate` reproduces R's survey package on its published examples from
CSV, Excel and SPSS files, and says clearly what is wrong with a bad command; `phakhi compare-waves` prints the
change table from the published warehouse (or the latest publication), writes its report, refuses incomparable
waves and says so when no refresh has run."""
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from phakhi.cli import app

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api"
runner = CliRunner()


@pytest.fixture(scope="module")
def ref():
    if not REF.is_dir():
        pytest.skip(f"R survey reference data not found at {REF}")
    return REF


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def estimate_json(*args) -> list[dict]:
    result = run("survey", "estimate", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


STRAT = ["--weights", "pw", "--strata", "stype", "--fpc", "fpc"]


# ------------------------------------------------------------------------------------------- survey estimate
def test_cli_reproduces_r_stratified_mean_and_total(ref):
    [row] = estimate_json(ref / "apistrat.csv", *STRAT, "--mean", "api00")
    assert set(row) == {"domain", "statistic", "variable", "level", "estimate", "se", "ci_low", "ci_high", "n"}
    assert (row["domain"], row["statistic"], row["variable"], row["level"], row["n"]) == ("overall", "mean", "api00",
                                                                                         None, 200)
    assert row["estimate"] == pytest.approx(662.29, rel=1e-4) and row["se"] == pytest.approx(9.4089, rel=1e-4)
    assert row["ci_low"] == pytest.approx(662.2874 - 1.959964 * 9.408941, rel=1e-6)
    [total] = estimate_json(ref / "apistrat.csv", *STRAT, "--total", "enroll")
    assert total["estimate"] == pytest.approx(3687178, rel=1e-4) and total["se"] == pytest.approx(114642, rel=1e-4)


def test_cli_table_output_shows_the_numbers(ref):
    result = run("survey", "estimate", ref / "apistrat.csv", *STRAT, "--mean", "api00")
    assert result.exit_code == 0
    header, line = result.stdout.strip().splitlines()
    assert header.split() == ["domain", "statistic", "variable", "level", "estimate", "se", "ci_low", "ci_high", "n"]
    assert "662.287" in line and "9.40894" in line and line.split()[-1] == "200"


def test_cli_reproduces_r_cluster_designs_proportions_ratios_and_domains(ref):
    rows = estimate_json(ref / "apiclus1.csv", "--weights", "pw", "--psu", "dnum", "--fpc", "fpc", "--proportion", "stype")
    assert [r["level"] for r in rows] == ["E", "H", "M"]
    assert [r["estimate"] for r in rows] == pytest.approx([0.786885, 0.076503, 0.136612], rel=1e-4)
    assert [r["se"] for r in rows] == pytest.approx([0.0463, 0.0268, 0.0296], rel=2.2e-3)
    two_stage = estimate_json(ref / "apiclus2.csv", "--weights", "pw", "--psu", "dnum,snum", "--fpc", "fpc1,fpc2",
                              "--mean", "api00")[0]
    assert (two_stage["estimate"], two_stage["se"]) == (pytest.approx(670.81, rel=1e-4), pytest.approx(30.099, rel=1e-4))
    by_type = {r["domain"]: r for r in estimate_json(ref / "apiclus1.csv", "--weights", "pw", "--psu", "dnum", "--fpc",
                                                     "fpc", "--ratio", "api.stu/enroll", "--by", "stype")}
    assert by_type["stype=H"]["estimate"] == pytest.approx(0.8300683, rel=1e-6)
    assert by_type["stype=H"]["variable"] == "api.stu/enroll" and by_type["stype=H"]["statistic"] == "ratio"
    means = {r["domain"]: r for r in estimate_json(ref / "apiclus1.csv", "--weights", "pw", "--psu", "dnum",
                                                   "--fpc", "fpc", "--mean", "ell", "--by", "stype")}
    assert (means["stype=M"]["estimate"], means["stype=M"]["se"]) == (pytest.approx(22.68, rel=1e-6),
                                                                      pytest.approx(2.952862, rel=1e-6))


def test_cli_rakes_to_margins_files_with_calibrated_se(ref, tmp_path):
    pd.DataFrame({"stype": ["E", "H", "M"], "Freq": [4421, 755, 1018]}).to_csv(tmp_path / "stype.csv", index=False)
    pd.DataFrame({"category": ["No", "Yes"], "population": [1072, 5122]}).to_excel(tmp_path / "sw.xlsx", index=False)
    result = run("survey", "estimate", ref / "apiclus1.csv", "--weights", "pw", "--psu", "dnum", "--fpc", "fpc",
                 "--mean", "api00", "--rake", f"stype={tmp_path / 'stype.csv'}",
                 "--rake", f"sch.wide={tmp_path / 'sw.xlsx'}", "--format", "json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    # R: rake(dclus1, list(~stype, ~sch.wide), ...) then svymean(~api00, .) = 641.23, SE 23.704
    assert row["estimate"] == pytest.approx(641.23, rel=1e-4) and row["se"] == pytest.approx(23.704, rel=1e-4)
    assert "converged" in result.stderr and "Kish effective n" in result.stderr


def test_cli_reads_excel_and_spss_files_alike(ref, tmp_path):
    import pyreadstat

    data = pd.read_csv(ref / "apistrat.csv")[["stype", "pw", "fpc", "api00", "enroll"]]
    data.to_excel(tmp_path / "apistrat.xlsx", index=False, sheet_name="data")
    spss = data.assign(stype=data.stype.map({"E": 1, "H": 2, "M": 3}))
    pyreadstat.write_sav(spss, str(tmp_path / "apistrat.sav"))
    for path in (tmp_path / "apistrat.xlsx", tmp_path / "apistrat.sav"):
        [row] = estimate_json(path, *STRAT, "--mean", "api00")
        assert row["estimate"] == pytest.approx(662.29, rel=1e-4) and row["se"] == pytest.approx(9.4089, rel=1e-4)
    levels = [r["level"] for r in estimate_json(tmp_path / "apistrat.sav", *STRAT, "--proportion", "stype")]
    assert levels == ["1", "2", "3"]                         # SPSS doubles read back as whole-number categories


def test_cli_treats_dont_know_codes_as_missing(tmp_path):
    df = pd.DataFrame({"w": 1.0, "k1": [1, 5, 8, 9, 3, 3]})
    df.to_csv(tmp_path / "wave.csv", index=False)
    [row] = estimate_json(tmp_path / "wave.csv", "--weights", "w", "--mean", "k1", "--na-codes", "8,9")
    assert row["estimate"] == pytest.approx(3.0) and row["n"] == 4


@pytest.mark.parametrize("args, message", [
    (["--weights", "pw", "--strata", "stype", "--mean", "api01"], "--mean 'api01' is not a column of apistrat.csv "
                                                                   "(did you mean 'api00'?). Available columns: cds,"),
    (["--weights", "weight", "--mean", "api00"], "--weights 'weight' is not a column"),
    (["--weights", "pw", "--psu", "dnum,nosuch", "--mean", "api00"], "--psu[2] 'nosuch' is not a column"),
    (["--weights", "pw", "--mean", "api00", "--total", "enroll"], "give exactly one of --mean"),
    (["--weights", "pw", "--mean", "stype"], "--mean needs a numeric column; 'stype' holds text"),
    (["--weights", "pw", "--ratio", "api00"], "expected NUM/DEN"),
    (["--weights", "pw", "--mean", "api00", "--rake", "stype"], "expected COL=MARGINS.csv"),
    (["--weights", "pw", "--strata", "dnum", "--mean", "api00"], "has only one PSU"),
])
def test_cli_errors_are_one_clear_line_not_a_traceback(ref, args, message):
    result = run("survey", "estimate", ref / "apistrat.csv", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_cli_missing_or_unreadable_file(tmp_path):
    result = run("survey", "estimate", tmp_path / "none.csv", "--weights", "w", "--mean", "y")
    assert result.exit_code == 2 and "no such file" in result.stderr
    (tmp_path / "x.pdf").write_text("x")
    result = run("survey", "estimate", tmp_path / "x.pdf", "--weights", "w", "--mean", "y")
    assert result.exit_code == 2 and "unsupported file type .pdf" in result.stderr


# ------------------------------------------------------------------------------------------- compare-waves
@pytest.fixture(scope="module")
def estimates():
    from phakhi.survey.awareness import baseline_table
    from phakhi.survey.simulate import synthetic_wave

    frame = pd.concat([synthetic_wave(2023), synthetic_wave(2025, shift=5.0)], ignore_index=True)
    return baseline_table(frame, min_n=30, instruments={2023: "ccai_core_v1", 2025: "ccai_core_v1"})


def published_home(tmp_path, estimates, instruments=None) -> Path:
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    waves = pd.DataFrame({"wave": [2023, 2025], "instrument": instruments or ["ccai_core_v1", "ccai_core_v1"]})
    with duckdb.connect(str(home / "warehouse" / "phakhi.duckdb")) as con:
        con.execute("create schema marts")
        con.register("b", estimates)
        con.register("w", waves)
        con.execute("create table marts.mart_awareness_baseline as select * from b")
        con.execute("create table marts.mart_awareness_waves as select * from w")
    return home


def test_compare_waves_without_a_refresh_says_so(tmp_path):
    result = run("compare-waves", "--baseline", 2023, "--wave", 2025, "--home", tmp_path / "empty")
    assert result.exit_code == 2
    assert "no refresh has run" in result.stderr and "phakhi refresh" in result.stderr
    assert "Traceback" not in result.output


def test_compare_waves_prints_the_change_table_and_writes_the_report(tmp_path, estimates):
    home = published_home(tmp_path, estimates)
    result = run("compare-waves", "--baseline", 2023, "--wave", 2025, "--home", home, "--no-drift")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "wave 2025 vs baseline 2023" in out and "sqrt(SE_2023^2 + SE_2025^2)" in out and "Benjamini-Hochberg" in out
    line = next(x for x in out.splitlines() if x.startswith("awareness_index  overall"))
    assert line.rstrip().split()[-2] == "*"                     # the shifted wave differs significantly
    assert "withheld" in out                                    # small cells are not compared
    report = home / "reports" / "compare-2023-2025"
    table = pd.read_csv(report / "change.csv", encoding="utf-8-sig")
    assert {"difference", "se_difference", "p_adjusted", "comparable"} <= set(table.columns)
    assert (report / "README.md").read_text(encoding="utf-8").startswith("# Wave 2025 vs baseline 2023")
    records = json.loads((report / "change.json").read_text(encoding="utf-8"))
    assert len(records) == len(table)
    only = run("compare-waves", "--home", home, "--no-drift", "--domain", "overall", "--measure", "awareness_index",
               "--format", "json")
    assert only.exit_code == 0 and len(json.loads(only.stdout)) == 1


def test_compare_waves_reads_the_latest_publication_when_the_warehouse_is_gone(tmp_path, estimates):
    home = tmp_path / "home"
    data = home / "publications" / "p1" / "data"
    data.mkdir(parents=True)
    estimates.to_parquet(data / "awareness_baseline.parquet")
    (home / "publications" / "latest").symlink_to(home / "publications" / "p1")
    result = run("compare-waves", "--home", home, "--format", "csv", "--domain", "overall")
    assert result.exit_code == 0, result.output
    assert "drift report skipped" in result.stderr
    assert pd.read_csv(__import__("io").StringIO(result.stdout)).shape[0] == 7


def test_compare_waves_refuses_a_wave_with_a_changed_core_item(tmp_path, estimates, monkeypatch):
    from phakhi.survey import instrument

    folder = tmp_path / "instrument"
    folder.mkdir()
    v1 = instrument.load_instrument("ccai_core_v1")
    v2 = yaml.safe_load(yaml.safe_dump(v1, allow_unicode=True))
    v2["instrument"] = "ccai_core_v2"
    v2["items"][2]["reverse"] = True                            # k3 now reverse-coded
    for name, inst in (("ccai_core_v1", v1), ("ccai_core_v2", v2)):
        (folder / f"{name}.yml").write_text(yaml.safe_dump(inst, allow_unicode=True), encoding="utf-8")
    (folder / "waves.yml").write_text(yaml.safe_dump({"baseline_wave": 2023, "default_instrument": "ccai_core_v1",
                                                      "waves": {2023: {"instrument": "ccai_core_v1"},
                                                                2025: {"instrument": "ccai_core_v2"}}}))
    monkeypatch.setattr(instrument, "INSTRUMENT_DIR", folder)
    home = published_home(tmp_path, estimates, ["ccai_core_v1", "ccai_core_v2"])
    result = run("compare-waves", "--baseline", 2023, "--wave", 2025, "--home", home, "--no-drift")
    assert result.exit_code == 3
    assert "refused" in result.stderr and "core item k3: reverse coding False -> True" in result.stderr
    assert result.stdout == "" and not (home / "reports").exists()


def test_compare_waves_names_the_waves_it_has(tmp_path, estimates):
    home = published_home(tmp_path, estimates)
    result = run("compare-waves", "--baseline", 2019, "--wave", 2025, "--home", home, "--no-drift")
    assert result.exit_code == 2 and "[2019] not in the published warehouse" in result.stderr
    assert "waves available: [2023, 2025]" in result.stderr
