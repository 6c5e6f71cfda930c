"""Collaboration network metrics per current partner (degree, weighted degree, betweenness, clustering,
component, community, isolated), computed with networkx from mart_partner_links: phakhi/linking/network.py
holds the definitions."""


def model(dbt, session):
    dbt.config(materialized="table")
    from phakhi.linking.network import network_metrics

    partners = dbt.ref("dim_partner_versions").df()
    partners = partners[partners["is_current"].astype(bool)]
    links = dbt.ref("mart_partner_links").df()
    return network_metrics(partners["partner_id"].tolist(), links)
