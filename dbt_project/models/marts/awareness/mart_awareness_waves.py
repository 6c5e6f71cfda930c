"""One row per survey wave: the instrument it fielded, its design and how its weights were made.

Instrument: from sources/instrument/waves.yml, with the fingerprint of the instrument's core now and at
registration (status core_changed_since_registration means the instrument file was edited in place). scored_with
is the instrument the warehouse scored the items with (raw.survey_instrument_items): it must be the wave's
instrument. Weighting: raking of the design weights to survey_population_margins (convergence, iterations, largest
remaining margin gap, respondents imputed into a margin cell for raking, trimming bounds), Kish effective sample
size and the design effect from unequal weighting (1 + CV^2) before and after raking. No survey wave loaded
yet: no rows (same columns and types).
"""
import pandas as pd

COLUMNS = ["wave", "is_baseline", "instrument", "instrument_version", "instrument_status", "core_fingerprint",
           "registered_fingerprint", "scored_with", "comparable_with_baseline", "comparability_note", "n_respondents",
           "n_with_index", "n_strata", "n_psu", "weighting_method", "margins", "rake_converged", "rake_iterations",
           "rake_max_abs_diff", "n_imputed_for_raking", "trim_low", "trim_high", "population_total",
           "sum_design_weights", "sum_final_weights", "adjustment_min", "adjustment_max", "kish_effective_n_design",
           "kish_effective_n", "deff_weighting_design", "deff_weighting", "weighting_notes"]

_INT = ("wave", "n_respondents", "n_with_index", "n_strata", "n_psu", "rake_iterations", "n_imputed_for_raking")
_FLOAT = ("sum_design_weights", "sum_final_weights", "adjustment_min", "adjustment_max", "kish_effective_n_design",
          "kish_effective_n", "deff_weighting_design", "deff_weighting")
EMPTY_TYPES = {**{c: "int64" for c in _INT}, **{c: "float64" for c in _FLOAT}}


def model(dbt, session):
    dbt.config(materialized="table")
    from phakhi.survey.comparability import check_waves
    from phakhi.survey.instrument import baseline_wave, wave_instrument
    from phakhi.survey.raking import kish_effective_n, weighting_deff

    weights = dbt.ref("int_survey__respondent_weights").df()
    responses = dbt.ref("stg_survey__responses").df()
    scores = dbt.ref("int_survey__respondent_scores").df()
    items = dbt.ref("stg_survey__instrument_items").df()
    scored_with = items["instrument"].dropna().unique()
    waves = sorted(int(w) for w in responses["wave"].unique())
    base = baseline_wave(waves) if waves else None
    rows = []
    for wave in waves:
        w = weights[weights["wave"] == wave]
        r = responses[responses["wave"] == wave]
        s = scores[scores["wave"] == wave]
        info = wave_instrument(wave)
        comp = check_waves(base, wave) if wave != base else None
        first = w.iloc[0]
        rows.append({
            "wave": wave, "is_baseline": wave == base, "instrument": info.instrument,
            "instrument_version": info.version, "instrument_status": info.status,
            "core_fingerprint": info.fingerprint, "registered_fingerprint": info.registered_fingerprint,
            "scored_with": ",".join(sorted(scored_with)),
            "comparable_with_baseline": True if comp is None else comp.comparable,
            "comparability_note": "" if comp is None else comp.message(),
            "n_respondents": len(r), "n_with_index": int(s["awareness_index"].notna().sum()),
            "n_strata": int(r["stratum"].nunique()), "n_psu": int(r[["stratum", "psu"]].drop_duplicates().shape[0]),
            "weighting_method": first["weighting_method"], "margins": first["margins"],
            "rake_converged": first["rake_converged"], "rake_iterations": int(first["rake_iterations"]),
            "rake_max_abs_diff": first["rake_max_abs_diff"], "n_imputed_for_raking": int(first["n_imputed_for_raking"]),
            "trim_low": first["trim_low"], "trim_high": first["trim_high"],
            "population_total": first["population_total"],
            "sum_design_weights": float(w["design_weight"].sum()), "sum_final_weights": float(w["final_weight"].sum()),
            "adjustment_min": float(w["weight_adjustment"].min()), "adjustment_max": float(w["weight_adjustment"].max()),
            "kish_effective_n_design": kish_effective_n(w["design_weight"]),
            "kish_effective_n": kish_effective_n(w["final_weight"]),
            "deff_weighting_design": weighting_deff(w["design_weight"]),
            "deff_weighting": weighting_deff(w["final_weight"]),
            "weighting_notes": str(first["weighting_notes"]) if pd.notna(first["weighting_notes"]) else "",
        })
    out = pd.DataFrame(rows, columns=COLUMNS)
    if out.empty:                        # typed, so that the empty table has the columns' real types
        out = out.astype({c: "string" for c in COLUMNS}).astype(EMPTY_TYPES)
    for col in ("rake_converged", "comparable_with_baseline", "is_baseline"):
        out[col] = out[col].astype("boolean")
    for col in ("trim_low", "trim_high", "rake_max_abs_diff", "population_total"):
        out[col] = out[col].astype("Float64")
    return out
