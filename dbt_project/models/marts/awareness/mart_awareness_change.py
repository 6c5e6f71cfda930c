"""Change in awareness: each later wave against the baseline wave, per measure and domain.

difference = wave - baseline; the waves are independent samples, so SE(difference) = sqrt(SE_baseline^2 +
SE_wave^2); 95% CI = difference +/- 1.96 SE; two-sided normal p-value; Benjamini-Hochberg adjusted p-values within
each family (one wave pair x one domain variable, all measures); significant = p_adjusted < 0.05. Waves are
compared only when their instruments' core items and scales match (phakhi/survey/comparability.py); otherwise the
rows say comparable = false and name the differences, with every number null. A cell withheld in either wave is
withheld here too. Baseline: sources/instrument/waves.yml baseline_wave (else the earliest wave). No survey wave
loaded yet: an empty table with the same columns.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from phakhi.survey.awareness import CHANGE_COLUMNS, change_table, empty_table
    from phakhi.survey.comparability import check_waves
    from phakhi.survey.instrument import baseline_wave

    estimates = dbt.ref("mart_awareness_baseline").df()
    waves = sorted(int(w) for w in estimates["wave"].unique())
    if not waves:
        return empty_table(CHANGE_COLUMNS)
    base = baseline_wave(waves)
    comparability = {w: check_waves(base, w) for w in waves if w > base}
    return change_table(estimates, base, comparability=comparability)
