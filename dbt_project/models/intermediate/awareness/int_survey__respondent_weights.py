"""Final (raked) survey weights, one row per respondent and wave, with the calibration cells used.

Each wave's design weights are raked separately to the population margins in the seed survey_population_margins
(phakhi/survey/weighting.py: iterative proportional fitting, R survey::rake's algorithm). Optional trimming of the
adjustment factor: var('survey_weight_trim'), e.g. "0.3,3" (default none). Per-wave diagnostics (convergence,
iterations, largest margin gap, Kish effective n, weighting design effect) are repeated on every row of the wave
and summarised in mart_awareness_waves.

A home with no survey wave yet (a first day on real data) gives an empty table with the same columns and types,
so that the awareness marts build empty and the pages say that no wave has been loaded.
"""
import pandas as pd

# column -> pandas dtype of the output (the calibration cells cal_* are added per margin, as strings)
TYPES = {"wave": "int32", "respondent_id": "string", "design_weight": "float64", "final_weight": "float64",
         "weight_adjustment": "float64", "weighting_method": "string", "margins": "string",
         "rake_converged": "boolean", "rake_iterations": "Int64", "rake_max_abs_diff": "Float64",
         "n_imputed_for_raking": "Int64", "trim_low": "Float64", "trim_high": "Float64",
         "population_total": "Float64", "weighting_notes": "string"}


def empty_weights(margins) -> pd.DataFrame:
    columns = {**{c: TYPES[c] for c in ("wave", "respondent_id", "design_weight", "final_weight", "weight_adjustment")},
               **{m.column: "string" for m in margins},
               **{c: t for c, t in TYPES.items() if c not in ("wave", "respondent_id", "design_weight",
                                                               "final_weight", "weight_adjustment")}}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def model(dbt, session):
    dbt.config(materialized="table")
    from phakhi.survey.weighting import margins_from_table, parse_trim, rake_to_margins

    trim = parse_trim(dbt.config.get("survey_weight_trim"))
    margins = margins_from_table(dbt.ref("survey_population_margins").df())
    responses = dbt.ref("stg_survey__responses").df()
    provinces = dbt.ref("provinces").df()[["province_code", "region"]]
    responses = responses.merge(provinces, on="province_code", how="left")
    frames = []
    for wave, frame in responses.groupby("wave", sort=True):
        frame = frame.reset_index(drop=True)
        result = rake_to_margins(frame, "weight", margins, trim=trim)
        diag = result.diagnostics(frame["weight"])
        out = frame[["wave", "respondent_id"]].copy()
        out["design_weight"] = frame["weight"].astype(float)
        out["final_weight"] = result.weights.to_numpy()
        out["weight_adjustment"] = out["final_weight"] / out["design_weight"]
        for col in result.cells.columns:
            out[col] = result.cells[col].to_numpy()
        for key in ("weighting_method", "margins", "rake_converged", "rake_iterations", "rake_max_abs_diff",
                    "n_imputed_for_raking", "trim_low", "trim_high", "population_total", "notes"):
            out[key] = diag[key]
        frames.append(out)
    if not frames:                       # no survey wave loaded yet
        return empty_weights(margins)
    out = pd.concat(frames, ignore_index=True)
    out["weighting_notes"] = out.pop("notes").astype("string")
    for col in ("trim_low", "trim_high", "population_total", "rake_max_abs_diff"):
        out[col] = out[col].astype("Float64")
    out["rake_converged"] = out["rake_converged"].astype("boolean")
    return out
