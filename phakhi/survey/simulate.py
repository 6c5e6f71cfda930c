"""Synthetic populations with a known truth, and repeated complex samples drawn from them (vectorised).

Used by the tests to check that the estimator's 95% confidence intervals cover the truth 95% of the time and that
the drift test flags about alpha of identical item distributions; useful to an evaluator for planning a wave
(how wide will a province's CI be with 12 PSUs?).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Population:
    persons: pd.DataFrame          # stratum, psu (global id), y, high, group, domain, item
    psu_start: np.ndarray          # first person row of each PSU
    psu_size: np.ndarray
    psu_stratum: np.ndarray
    psus_per_stratum: int

    def truth(self, variable: str, domain: str | None = None) -> float | pd.Series:
        p = self.persons
        return p[variable].mean() if domain is None else p.groupby(domain)[variable].mean()


def population(seed: int = 1, strata: int = 4, psus_per_stratum: int = 300, mean_psu_size: int = 80,
               psu_sd: float = 6.0, person_sd: float = 15.0, item_icc: float = 0.15) -> Population:
    """Persons in `strata` strata of `psus_per_stratum` PSUs each. y is a 0-100-like score with stratum and PSU
    effects; high = 1[y >= 60]; group (for raking) depends on the PSU; domain is a 3-category person
    characteristic; item is a 5-point answer with intra-PSU correlation item_icc (same distribution everywhere
    on average, so two samples' item distributions differ only by sampling error)."""
    rng = np.random.default_rng(seed)
    n_psu = strata * psus_per_stratum
    size = rng.poisson(mean_psu_size - 20, n_psu) + 20
    psu_stratum = np.repeat(np.arange(strata), psus_per_stratum)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    psu = np.repeat(np.arange(n_psu), size)
    h = psu_stratum[psu]
    u = rng.normal(0, psu_sd, n_psu)[psu]
    y = 45 + 4 * h + u + rng.normal(0, person_sd, len(psu))
    p_old = rng.uniform(0.2, 0.8, n_psu)[psu]
    group = np.where(rng.random(len(psu)) < p_old, "old", "young")
    y = y + np.where(group == "old", 4.0, 0.0)
    domain = np.array(["a", "b", "c"])[np.minimum((rng.random(len(psu)) * (3 + 0.2 * h)).astype(int), 2)]
    latent = np.sqrt(item_icc) * rng.normal(size=n_psu)[psu] + np.sqrt(1 - item_icc) * rng.normal(size=len(psu))
    item = np.digitize(latent, [-1.2, -0.4, 0.4, 1.2]) + 1
    persons = pd.DataFrame({"stratum": h, "psu": psu, "y": y, "high": (y >= 60).astype(float), "group": group,
                            "domain": domain, "item": item})
    return Population(persons, start, size, psu_stratum, psus_per_stratum)


def samples(pop: Population, replicates: int, psus: int = 12, per_psu: int = 8, seed: int = 2) -> pd.DataFrame:
    """`replicates` independent stratified two-stage samples, stacked: in every stratum `psus` PSUs by simple
    random sampling without replacement, then `per_psu` persons with replacement within each PSU. weight =
    (PSUs in stratum / psus) x (PSU size / per_psu). Columns rep, strat (unique per rep), cluster (unique per rep),
    weight and the persons' variables."""
    rng = np.random.default_rng(seed)
    strata = pop.psu_stratum.max() + 1
    m = pop.psus_per_stratum
    keys = rng.random((replicates, strata, m))
    chosen = np.argpartition(keys, psus - 1, axis=2)[:, :, :psus]             # (R, H, psus) local PSU index
    chosen = chosen + (np.arange(strata) * m)[None, :, None]                  # global PSU id
    psu = np.repeat(chosen.reshape(-1), per_psu)                              # one entry per sampled person
    offset = np.floor(rng.random(len(psu)) * pop.psu_size[psu]).astype(int)
    rows = pop.psu_start[psu] + offset
    out = pop.persons.iloc[rows].reset_index(drop=True)
    rep = np.repeat(np.arange(replicates), strata * psus * per_psu)
    out.insert(0, "rep", rep)
    out["strat"] = rep * strata + out["stratum"].to_numpy()
    out["cluster"] = rep.astype(np.int64) * len(pop.psu_size) + psu
    out["weight"] = (m / psus) * (pop.psu_size[psu] / per_psu)
    return out


def synthetic_wave(wave: int, seed: int = 7, shift: float = 0.0, strata: int = 6, psus: int = 14,
                   per_psu: int = 12) -> pd.DataFrame:
    """A respondent-level frame shaped like the awareness marts' input (design fields, demographics, scores,
    awareness_level, raked-weight columns), for tests of the estimation tables."""
    rng = np.random.default_rng(seed + wave)
    n = strata * psus * per_psu
    stratum = np.repeat([f"s{h}" for h in range(strata)], psus * per_psu)
    psu = np.repeat([f"p{k}" for k in range(strata * psus)], per_psu)
    psu_effect = np.repeat(rng.normal(0, 6, strata * psus), per_psu)
    region = np.repeat(np.array(["north", "northeast", "central", "east", "west", "south"])[np.arange(strata) % 6],
                       psus * per_psu)
    theta = 55 + shift + psu_effect + rng.normal(0, 14, n)
    frame = pd.DataFrame({
        "wave": wave, "respondent_id": [f"{wave}-{i}" for i in range(n)], "stratum": stratum, "psu": psu,
        "region": region, "province_code": np.where(rng.random(n) < 0.5, "TH-10", "TH-50"),
        "urban_rural": np.where(rng.random(n) < 0.4, "urban", "rural"),
        "sex": np.where(rng.random(n) < 0.49, "male", "female"),
        "age_group": rng.choice(["15-24", "25-39", "40-59", "60+"], n),
        "education": rng.choice(["primary_or_less", "upper_secondary", "bachelor_plus"], n, p=[0.5, 0.48, 0.02]),
    })
    for dim, offset in (("knowledge", 3.0), ("concern", 6.0), ("behaviour", -8.0)):
        frame[dim] = np.clip(theta + offset + rng.normal(0, 8, n), 0, 100)
    frame.loc[rng.random(n) < 0.02, "knowledge"] = np.nan
    frame["awareness_index"] = frame[["knowledge", "concern", "behaviour"]].mean(axis=1, skipna=False)
    level = pd.cut(frame["awareness_index"], [-np.inf, 50, 75, np.inf], right=False, labels=["low", "medium", "high"])
    frame["awareness_level"] = level.astype(object).where(level.notna(), None)
    frame["design_weight"] = rng.uniform(80, 120, n)
    frame["final_weight"] = frame["design_weight"]
    frame["weighting_method"] = "design"
    return frame
