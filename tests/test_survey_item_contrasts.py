"""Item contrasts for evaluators: within-wave contrasts of item scores with their design-based SEs, their change
between independent waves, the panel change on matched respondents, and `phakhi compare-waves --contrast`."""
import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from phakhi.cli import app
from phakhi.ingest.contracts import load_instrument
from phakhi.survey.contrasts import contrasts
from phakhi.survey.design import Design
from phakhi.survey.item_contrasts import item_contrast_table, item_scores

ITEMS = ["k1", "k2", "k3", "k4", "c1", "c2", "c3", "c4", "b1", "b2", "b3", "b4"]


def wave_frame(wave: int, n_psu: int = 24, per_psu: int = 10, seed: int = 1, ids=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed + wave)
    n = n_psu * per_psu
    psu = np.repeat(np.arange(n_psu), per_psu)
    level = rng.normal(0, 0.6, n_psu)[psu] + rng.normal(0, 0.8, n)
    frame = pd.DataFrame({"respondent_id": ids if ids is not None else [f"{wave}-{i}" for i in range(n)],
                          "stratum": psu % 4, "psu": psu, "weight": rng.uniform(500, 1500, n)})
    for j, item in enumerate(ITEMS):
        answer = np.clip(np.round(3 + level + (0.6 if item.startswith("k") else 0) + rng.normal(0, 0.7, n)), 1, 5)
        answer[rng.random(n) < 0.05] = 8                         # don't know
        frame[item] = answer.astype(int)
    return frame


@pytest.fixture(scope="module")
def instrument():
    return load_instrument()


def test_scores_reverse_and_missing_codes(instrument):
    frame = pd.DataFrame({"k1": [1, 5, 8], "k4": [1, 5, 9]})
    scored = item_scores(frame, instrument)
    assert scored["k1"].tolist()[:2] == [0.0, 100.0] and np.isnan(scored["k1"][2])
    assert scored["k4"].tolist()[:2] == [100.0, 0.0] and np.isnan(scored["k4"][2])     # k4 is reverse-coded


def test_within_wave_change_and_panel(instrument):
    b = wave_frame(2023)
    w = wave_frame(2025, ids=[f"2023-{i}" if i < 120 else f"2025-{i}" for i in range(240)])   # 120 panel members
    table = item_contrast_table({2023: b, 2025: w}, ["gap=k1-b1", "c2-b2"], instrument, 2023, 2025)
    kinds = table.groupby("kind").size().to_dict()
    assert kinds == {"within wave": 4, "change (independent waves)": 2, "panel change (same respondents)": 2}
    within = table[table.kind == "within wave"].set_index(["wave", "contrast"])
    # Same numbers as phakhi.survey.contrasts on the scored wave (complete cases over k1 and b1)
    direct = contrasts(item_scores(b, instrument), Design("weight", strata="stratum", psu=("psu",)), "mean",
                       ["gap=k1-b1"], lonely_psu="adjust").iloc[0]
    assert within.loc[("2023", "gap"), "estimate"] == pytest.approx(direct["estimate"], rel=1e-12)
    assert within.loc[("2023", "gap"), "se"] == pytest.approx(direct["se"], rel=1e-12)
    assert within.loc[("2023", "gap"), "n"] == (b[["k1", "b1"]] < 8).all(axis=1).sum()
    change = table[table.kind.str.startswith("change")].set_index("contrast").loc["gap"]
    assert change["estimate"] == pytest.approx(within.loc[("2025", "gap"), "estimate"] -
                                               within.loc[("2023", "gap"), "estimate"])
    assert change["se"] == pytest.approx(np.hypot(within.loc[("2023", "gap"), "se"], within.loc[("2025", "gap"), "se"]))
    panel = table[table.kind.str.startswith("panel")].set_index("contrast").loc["gap"]
    assert "120 respondents in both waves" in panel["note"] and panel["n"] <= 120
    # The panel change is the mean, over matched respondents, of the change of their own k1 - b1
    sb, sw = item_scores(b, instrument), item_scores(w, instrument)
    m = sb.merge(sw, on="respondent_id", suffixes=("", "_w"))
    ok = m[["k1", "b1", "k1_w", "b1_w"]].notna().all(axis=1)
    d = ((m.k1_w - m.b1_w) - (m.k1 - m.b1))[ok]
    assert panel["estimate"] == pytest.approx(np.average(d, weights=m.weight[ok]), rel=1e-12)


def test_small_cells_are_withheld_and_unknown_items_refused(instrument):
    small = {2023: wave_frame(2023, n_psu=4, per_psu=5), 2025: wave_frame(2025, n_psu=4, per_psu=5)}
    table = item_contrast_table(small, ["k1-b1"], instrument, 2023, 2025)
    assert table["suppressed"].all() and table["estimate"].isna().all()
    with pytest.raises(ValueError, match="x9 not an item"):
        item_contrast_table(small, ["k1-x9"], instrument, 2023, 2025)


def test_compare_waves_contrast_option(tmp_path):
    from phakhi.survey.awareness import baseline_table
    from phakhi.survey.simulate import synthetic_wave

    estimates = baseline_table(pd.concat([synthetic_wave(2023), synthetic_wave(2025, shift=5.0)], ignore_index=True),
                               min_n=30, instruments={2023: "ccai_core_v1", 2025: "ccai_core_v1"})
    raw = pd.concat([wave_frame(2023).assign(wave=2023), wave_frame(2025).assign(wave=2025)], ignore_index=True)
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    with duckdb.connect(str(home / "warehouse" / "phakhi.duckdb")) as con:
        for schema in ("marts", "raw"):
            con.execute(f"create schema {schema}")
        con.register("b", estimates)
        con.register("r", raw)
        con.execute("create table marts.mart_awareness_baseline as select * from b")
        con.execute("create table raw.survey_waves as select * from r")
    result = CliRunner().invoke(app, ["compare-waves", "--home", str(home), "--no-drift", "--domain", "overall",
                                      "--contrast", "gap=k1-b1"])
    assert result.exit_code == 0, result.output
    assert "Item contrasts" in result.stdout and "within wave" in result.stdout
    report = home / "reports" / "compare-2023-2025"
    rows = json.loads((report / "item_contrasts.json").read_text(encoding="utf-8"))
    assert [r["kind"] for r in rows] == ["within wave", "within wave", "change (independent waves)"]
    assert all(r["estimate"] > 0 for r in rows[:2])           # knowledge items are answered higher
    bad = CliRunner().invoke(app, ["compare-waves", "--home", str(home), "--no-drift", "--contrast", "k1-zz"])
    assert bad.exit_code == 2 and "zz not an item" in bad.stderr
