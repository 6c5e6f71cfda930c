"""The awareness index as the dbt SQL models compute it: "don't know"/"refused" never enter an index, reverse
coding, the minimum share of answered items, and the documented low/medium/high cut points.

The models' SQL is rendered with a tiny stand-in for dbt's Jinja (ref/source/var) and run in an in-memory DuckDB,
so the test exercises the real model files in well under a second.
"""
import re
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import pytest

from phakhi.ingest.landing import instrument_items
from phakhi.survey.instrument import index_levels, load_instrument

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "dbt_project" / "models"


def model_sql(name: str) -> str:
    """A model's SQL by name, wherever its area folder puts it."""
    return next(MODELS.rglob(f"{name}.sql")).read_text(encoding="utf-8")
CHAIN = ["stg_survey__responses", "stg_survey__answers", "stg_survey__instrument_items",
         "int_survey__item_scores", "int_survey__respondent_scores"]
CORE = ["k1", "k2", "k3", "k4", "c1", "c2", "c3", "c4", "b1", "b2", "b3", "b4"]


def render(sql: str) -> str:
    env = jinja2.Environment()
    return env.from_string(sql).render(ref=lambda name: name, source=lambda _s, table: f"raw.{table}",
                                       var=lambda name, default=None: default)


def respondent(rid: str, answers: dict, **design) -> dict:
    row = {"_row": 1, "wave": 2023, "respondent_id": rid, "stratum": "s", "psu": "p", "weight": 1.0,
           "province_code": "TH-10", "urban_rural": "urban", "sex": "female", "age": 30,
           "education": "vocational", "_file": "f", "_sheet": "s", "_file_hash": "h"}
    row.update({code: answers.get(code) for code in CORE})
    row.update(design)
    return row


def scores(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = duckdb.connect()
    con.execute("create schema raw")
    waves = pd.DataFrame(rows)
    for code in CORE:
        waves[code] = waves[code].astype("Int64")
    con.register("w", waves)
    con.execute("create table raw.survey_waves as select * from w")
    con.register("i", instrument_items())
    con.execute("create table raw.survey_instrument_items as select * from i")
    con.register("p", pd.read_csv(REPO / "dbt_project" / "seeds" / "provinces.csv", dtype=str))
    con.execute("create table provinces as select * from p")
    for model in CHAIN:
        con.execute(f"create view {model} as {render(model_sql(model))}")
    items = con.execute("select * from int_survey__item_scores order by respondent_id, item_code").df()
    out = con.execute("select * from int_survey__respondent_scores order by respondent_id").df().set_index("respondent_id")
    return items, out


def all_items(value: int, reversed_value: int | None = None) -> dict:
    """Every core item answered `value`; the reverse-coded k4/c4 answered `reversed_value`."""
    out = {code: value for code in CORE}
    out["k4"] = out["c4"] = value if reversed_value is None else reversed_value
    return out


def test_dont_know_and_refused_never_enter_a_score():
    # k1 "don't know" (8), k2 "refused" (9): knowledge rests on k3 (1 -> 0) and k4 (reverse 5 -> 0) only.
    # Had 8 or 9 been treated as a scale point their item scores would be 175 and 200.
    a = {**all_items(3), "k1": 8, "k2": 9, "k3": 1, "k4": 5}
    items, out = scores([respondent("a", a)])
    k = items[items.respondent_id == "a"].set_index("item_code")
    assert k.loc["k1", "is_missing_code"] and k.loc["k2", "is_missing_code"]
    assert pd.isna(k.loc["k1", "item_score"]) and pd.isna(k.loc["k2", "item_score"])
    assert items["item_score"].dropna().between(0, 100).all()
    assert out.loc["a", "knowledge"] == 0.0
    assert out.loc["a", "concern"] == 50.0 and out.loc["a", "behaviour"] == 50.0
    assert out.loc["a", "awareness_index"] == pytest.approx(100 / 3)
    assert out.loc["a", "awareness_level"] == "low"


def test_a_dimension_needs_half_its_items_and_the_index_all_three_dimensions():
    # Three of four knowledge answers are missing codes: no knowledge score, hence no index and no level.
    b = {**all_items(4, 2), "k1": 8, "k2": 8, "k3": 9}
    items, out = scores([respondent("b", b)])
    assert pd.isna(out.loc["b", "knowledge"])
    assert out.loc["b", "concern"] == 75.0
    assert pd.isna(out.loc["b", "awareness_index"]) and pd.isna(out.loc["b", "awareness_level"])


def test_every_missing_code_gives_no_index_at_all():
    c = {code: 8 if i % 2 else 9 for i, code in enumerate(CORE)}
    _, out = scores([respondent("c", c)])
    assert out.loc["c", ["knowledge", "concern", "behaviour", "awareness_index"]].isna().all()


def test_reverse_coded_items_are_reflected():
    # Agreeing strongly (5) with everything, including "climate change is only a natural cycle" (k4, reverse)
    high = all_items(5, 1)
    mixed = all_items(5, 5)
    _, out = scores([respondent("high", high), respondent("mixed", mixed)])
    assert out.loc["high", "awareness_index"] == 100.0 and out.loc["high", "awareness_level"] == "high"
    assert out.loc["mixed", "knowledge"] == 75.0          # (100 + 100 + 100 + 0) / 4


def test_level_cut_points_are_the_documented_ones():
    inst = load_instrument("ccai_core_v1")
    levels = index_levels(inst)
    assert [(name, lo, hi) for name, lo, hi in levels] == [("low", 0, 50), ("medium", 50, 75), ("high", 75, None)]
    sql = model_sql("int_survey__respondent_scores")
    assert re.search(r"var\('awareness_level_medium_from',\s*50\)", sql)
    assert re.search(r"var\('awareness_level_high_from',\s*75\)", sql)
    # Boundaries: exactly 50 is medium, exactly 75 is high (even when 75 is reached through thirds).
    at_50 = all_items(3)                                   # every item 50 (neutral; reverse items 3 -> 50)
    at_75 = all_items(4, 2)                                # every item 75
    thirds = {**all_items(4, 2), "k1": 8, "k2": 5, "k3": 3, "k4": 2}   # knowledge (100 + 50 + 75) / 3 = 75
    below = {**all_items(3), "b1": 2}                      # behaviour 43.75 -> index 47.9
    _, out = scores([respondent("50", at_50), respondent("75", at_75), respondent("t", thirds),
                     respondent("lo", below)])
    assert out.loc["50", "awareness_level"] == "medium" and out.loc["75", "awareness_level"] == "high"
    assert out.loc["t", "knowledge"] == pytest.approx(75) and out.loc["t", "awareness_level"] == "high"
    assert out.loc["lo", "awareness_level"] == "low"


def test_optional_items_are_defined_but_never_scored():
    inst = load_instrument("ccai_core_v1")
    optional = [i for i in inst["items"] if not i.get("core")]
    assert optional and all(i["dimension"] not in inst["index"]["dimensions"] for i in optional)
    assert all(i.get("th") and i.get("en") for i in inst["items"])
    sql = model_sql("int_survey__respondent_scores")
    assert "where is_core" in sql
