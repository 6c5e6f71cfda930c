"""Awareness index and its dimensions by survey wave and domain: design-based estimates with SEs and 95% CIs.

Estimation (flows.survey.design) keeps the full stratified cluster design for every domain; cells with fewer
than var('min_cell_n') respondents are withheld (estimate null, suppressed = true), never published.
"""
import pandas as pd

MEASURES = ["awareness_index", "knowledge", "concern", "behaviour"]
DOMAINS = [None, "region", "sex", "urban_rural", "age_group"]


def model(dbt, session):
    dbt.config(materialized="table")
    from flows.survey.design import Design, estimate, kish_effective_n

    min_n = int(dbt.config.get("min_cell_n") or 30)
    scores = dbt.ref("int_survey__respondent_scores").df()
    design = Design(weights="weight", strata="stratum", psu=("psu",))
    rows = []
    for wave, frame in scores.groupby("wave", sort=True):
        for measure in MEASURES:
            for by in DOMAINS:
                est = estimate(frame, design, "mean", measure, by=by)
                for rec in est.to_dict("records"):
                    value = None if by is None else rec["domain"].split("=", 1)[1]
                    in_domain = frame if by is None else frame[frame[by].astype(str) == value]
                    answered = in_domain[in_domain[measure].notna()]
                    rows.append({
                        "wave": int(wave), "measure": measure, "domain": by or "overall",
                        "domain_value": value or "all", "estimate": rec["estimate"], "se": rec["se"],
                        "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "n": int(rec["n"]),
                        "effective_n": float(kish_effective_n(answered["weight"])) if len(answered) else 0.0,
                    })
    out = pd.DataFrame(rows)
    out["suppressed"] = out["n"] < min_n
    for c in ("estimate", "se", "ci_low", "ci_high"):
        out[c] = out[c].where(~out["suppressed"])
    return out
