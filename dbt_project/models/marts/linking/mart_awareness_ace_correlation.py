"""Correlation between the change in the awareness index and ACE intensity across areas (regions; stable
provinces), with Fisher-z 95% CIs and Spearman's rho: phakhi/linking/overlay.py. An ecological association
between areas, never an effect of ACE activities on people."""


def model(dbt, session):
    dbt.config(materialized="table")
    from phakhi.linking.overlay import correlations

    return correlations(dbt.ref("mart_awareness_ace_overlay").df())
