"""Peer matches: for each current partner, up to five on-track partners of the same type it can learn from,
ranked by a transparent score (similar size, same region/province, shared ACE elements, shared reduction
method or sector), each with its reasons in Thai and English. The rule: phakhi/linking/peers.py."""


def model(dbt, session):
    dbt.config(materialized="table")
    import pandas as pd

    from phakhi.linking.peers import COLUMNS, match_peers

    # only the columns the rule reads (match_peers' docstring): the marts' other ~70 columns - lessons learned
    # among them - made into Python objects and dicts row by row were ~30 % of the model's CPU (issue 17)
    progress = dbt.ref("mart_partner_progress").project(
        "period, partner_id, name_th, name_en, partner_type, province_code, region, baseline_tco2e, track_status").df()
    cases = dbt.ref("mart_best_practices").project("partner_id, ace_element_tags, programme_tags, sector_tags").df()
    types = dbt.ref("partner_types").df()
    provinces = dbt.ref("provinces").df()
    if progress.empty:
        return pd.DataFrame(columns=["period", *COLUMNS])

    def tags(row, cols):
        out = []
        for c in cols:
            v = row.get(c)
            if isinstance(v, str) and v.strip():
                out.append(v)
        return ", ".join(out) or None

    case_tags = {r["partner_id"]: r for r in cases.to_dict("records")}
    p = progress.copy()
    p["ace_elements"] = [tags(case_tags.get(pid, {}), ["ace_element_tags"]) for pid in p["partner_id"]]
    p["methods"] = [tags(case_tags.get(pid, {}), ["programme_tags", "sector_tags"]) for pid in p["partner_id"]]
    p["has_case"] = p["partner_id"].isin(set(cases["partner_id"]))
    p = p.merge(types.rename(columns={"code": "partner_type", "name_th": "partner_type_th", "name_en": "partner_type_en"})
                [["partner_type", "partner_type_th", "partner_type_en"]], on="partner_type", how="left")
    p = p.merge(provinces.rename(columns={"name_th": "province_th", "name_en": "province_en"})
                [["province_code", "province_th", "province_en", "region_th", "region_en"]], on="province_code", how="left")
    matches = match_peers(p)
    matches.insert(0, "period", str(progress["period"].iloc[0]))
    return matches
