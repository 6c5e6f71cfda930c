"""Internal consistency of the awareness scales: Cronbach's alpha per wave and dimension (and all core items).

alpha = k/(k-1) * (1 - sum of item variances / variance of the total score), from the reverse-coded item scores
with "don't know"/"refused" codes missing; covariances pairwise (as R psych / pingouin); unweighted.
Respondents with fewer than two answered items of the dimension are left out. acceptable = alpha >= 0.7.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from phakhi.survey.design import single_threaded_blas

    single_threaded_blas()     # small products, two dbt threads on two cores: see its docstring
    from phakhi.survey.awareness import reliability_table

    # only the core items' rows and the columns reliability_table reads: the long item table is the largest frame
    # of the build at national scale (respondents x items), most of it strings
    items = (dbt.ref("int_survey__item_scores").filter("is_core")
             .project("wave, respondent_id, item_code, dimension, is_core, item_score").df())
    return reliability_table(items, dimensions=["knowledge", "concern", "behaviour"])
