"""A home with partner files but no survey wave yet (a first day on real data): the survey models build empty
tables with their usual columns and types, the gate accepts empty awareness marts only when no wave is loaded,
the drift report is skipped with a message, and the awareness pages say that no wave has been loaded."""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import duckdb
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "dbt_project" / "models"
SEEDS = REPO / "dbt_project" / "seeds"


def load_model(rel: str):
    spec = importlib.util.spec_from_file_location(Path(rel).stem, MODELS / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Relation:
    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def df(self) -> pd.DataFrame:
        return self.frame.copy()


class _Config(dict):
    def __call__(self, **kwargs):
        self.update(kwargs)


class FakeDbt:
    """What a dbt Python model sees: dbt.config(...), dbt.config.get(...) and dbt.ref(name).df()."""

    def __init__(self, refs: dict[str, pd.DataFrame]):
        self.refs = refs
        self.config = _Config()

    def ref(self, name: str) -> _Relation:
        return _Relation(self.refs[name])


def empty_responses() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in {
        "wave": "int32", "respondent_id": "string", "stratum": "string", "psu": "string", "weight": "float64",
        "province_code": "string", "urban_rural": "string", "sex": "string", "age": "int32",
        "age_group": "string", "education": "string", "source_file": "string"}.items()})


def test_respondent_weights_without_a_wave_is_an_empty_typed_table():
    model = load_model("intermediate/awareness/int_survey__respondent_weights.py")
    dbt = FakeDbt({"survey_population_margins": pd.read_csv(SEEDS / "survey_population_margins.csv"),
                   "stg_survey__responses": empty_responses(),
                   "provinces": pd.read_csv(SEEDS / "provinces.csv")})
    out = model.model(dbt, None)
    assert out.empty
    assert {"wave", "respondent_id", "final_weight", "weighting_method", "rake_converged", "weighting_notes"} <= set(out)
    assert any(c.startswith("cal_") for c in out.columns)          # the calibration cells the estimates use
    assert str(out["final_weight"].dtype) == "float64" and str(out["rake_converged"].dtype) == "boolean"
    with duckdb.connect() as con:                                    # DuckDB sees real types, not NULL columns
        types = {r[0]: r[1] for r in con.execute("describe select * from out").fetchall()}
    assert types["wave"] == "INTEGER" and types["final_weight"] == "DOUBLE" and types["rake_converged"] == "BOOLEAN"


def test_awareness_marts_without_a_wave_are_empty_with_their_columns():
    from phakhi.survey.awareness import BASELINE_COLUMNS, CHANGE_COLUMNS, empty_table, reliability_table

    rel = reliability_table(pd.DataFrame(columns=["wave", "respondent_id", "item_code", "dimension", "is_core",
                                                  "item_score"]), dimensions=["knowledge", "concern", "behaviour"])
    assert rel.empty and str(rel["cronbach_alpha"].dtype) == "float64" and str(rel["acceptable"].dtype) == "boolean"

    change = load_model("marts/awareness/mart_awareness_change.py")
    out = change.model(FakeDbt({"mart_awareness_baseline": empty_table(BASELINE_COLUMNS)}), None)
    assert out.empty and list(out.columns) == CHANGE_COLUMNS

    waves = load_model("marts/awareness/mart_awareness_waves.py")
    weights = load_model("intermediate/awareness/int_survey__respondent_weights.py").empty_weights([])
    out = waves.model(FakeDbt({"int_survey__respondent_weights": weights, "stg_survey__responses": empty_responses(),
                               "int_survey__respondent_scores": pd.DataFrame({"wave": [], "awareness_index": []}),
                               "stg_survey__instrument_items": pd.DataFrame({"instrument": ["ccai_core_v1"]})}), None)
    assert out.empty and list(out.columns) == waves.COLUMNS
    assert str(out["wave"].dtype) == "int64" and str(out["rake_converged"].dtype) == "boolean"


def _gate_on(tmp_path: Path, waves: int):
    from phakhi.quality.gate import load_suites, run_gate

    db = tmp_path / f"w{waves}.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema staging; create schema marts")
        con.execute("create table staging.stg_survey__responses as select * from range(?) t(wave)", [waves])
        con.execute("create table marts.mart_awareness_reliability (wave bigint, dimension varchar, "
                    "cronbach_alpha double)")
    suite = next(s for s in load_suites() if s["name"] == "mart_awareness_reliability")
    return run_gate(db, [suite])


def test_an_empty_awareness_mart_passes_only_when_no_wave_is_loaded(tmp_path):
    assert _gate_on(tmp_path, 0).passed                      # first day: nothing loaded, nothing estimated
    blocked = _gate_on(tmp_path, 1)                          # a wave loaded but no estimate: blocks
    assert not blocked.passed
    check = next(c for c in blocked.blocking if c.expectation == "expect_table_row_count_to_be_between")
    assert check.kwargs["min_value"] == 1 and check.observed == 0


def test_drift_is_skipped_with_a_message_when_no_wave_is_loaded(tmp_path, caplog):
    from phakhi.drift import survey_drift_from_warehouse

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw; create table raw.survey_waves (wave integer, respondent_id varchar)")
    with caplog.at_level(logging.WARNING, logger="phakhi.drift"):
        assert survey_drift_from_warehouse(db, tmp_path / "drift") is None
    assert "no survey wave has been loaded yet" in caplog.text


def test_awareness_pages_say_no_wave_has_been_loaded():
    from phakhi.publish.pages import Codebook, Warehouse, awareness_headline, awareness_page, no_survey_wave
    from phakhi.publish.site import Unavailable
    from phakhi.survey.awareness import BASELINE_COLUMNS, CHANGE_COLUMNS, empty_table

    wh = Warehouse({"mart_awareness_baseline": empty_table(BASELINE_COLUMNS),
                    "mart_awareness_change": empty_table(CHANGE_COLUMNS),
                    "mart_awareness_waves": pd.DataFrame({"wave": pd.Series(dtype="int64")})}, {})
    assert no_survey_wave(wh)
    for fn, args in ((awareness_page, (None,)), (awareness_headline, ())):
        with pytest.raises(LookupError) as err:
            fn(wh, Codebook(wh), *args)
        note = Unavailable.because(err.value)
        assert note.kind == "no_survey_wave" and "No survey wave has been loaded yet" in note.en
        assert "ยังไม่มีการนำเข้าข้อมูลการสำรวจ" in note.th
