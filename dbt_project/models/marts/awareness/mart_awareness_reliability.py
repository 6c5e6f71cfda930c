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

    items = dbt.ref("int_survey__item_scores").df()
    return reliability_table(items, dimensions=["knowledge", "concern", "behaviour"])
