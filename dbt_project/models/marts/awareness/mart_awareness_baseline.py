"""Awareness baseline: every survey wave x measure x domain, as design-based estimates a survey statistician signs.

Measures: awareness index and its three dimensions (weighted means, 0-100) and the shares (%) of respondents at
each awareness level (low/medium/high). Domains: national, region, province, sex, age group, urban/rural,
education. Each estimate keeps the wave's full stratified cluster design (strata, PSUs), uses the raked weights of
int_survey__respondent_weights with calibration-aware Taylor-linearised SEs, and comes with a 95% CI (logit CI for
shares), unweighted n, Kish effective n and the design effect. Cells with n < var('min_cell_n') are withheld
(estimate/se/ci null, suppressed = true). Logic: phakhi/survey/awareness.py; guide: docs/evaluator.md.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from phakhi.survey.design import single_threaded_blas

    single_threaded_blas()     # small products, two dbt threads on two cores: see its docstring
    from phakhi.survey.awareness import MEAN_MEASURES, baseline_table
    from phakhi.survey.instrument import wave_instrument

    min_n = int(dbt.config.get("min_cell_n") or 30)
    weights = dbt.ref("int_survey__respondent_weights").df()
    responses = dbt.ref("stg_survey__responses").df()
    scores = dbt.ref("int_survey__respondent_scores").project(            # only the columns merged below
        ", ".join(["wave", "respondent_id", *MEAN_MEASURES, "awareness_level"])).df()
    provinces = dbt.ref("provinces").df()

    frame = (responses.drop(columns=["weight"])
             .merge(provinces[["province_code", "region"]], on="province_code", how="left")
             .merge(weights, on=["wave", "respondent_id"], how="inner", validate="one_to_one")
             .merge(scores[["wave", "respondent_id", *MEAN_MEASURES, "awareness_level"]],
                    on=["wave", "respondent_id"], how="left", validate="one_to_one"))
    frame["awareness_level"] = frame["awareness_level"].astype(object).where(frame["awareness_level"].notna(), None)
    instruments = {int(w): wave_instrument(int(w)).instrument for w in frame["wave"].unique()}
    province_names = {r.province_code: (r.name_th, r.name_en) for r in provinces.itertuples()}
    region_names = {r.region: (r.region_th, r.region_en) for r in provinces.itertuples()}
    return baseline_table(frame, min_n=min_n, instruments=instruments, province_names=province_names,
                          region_names=region_names)
