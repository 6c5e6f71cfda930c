"""Is there an emission factor for this activity unit in this month? (the GHG contract's row check)

dbt converts activity data to tCO2e with the factor in force for the reporting month (seed emission_factors,
joined on the unit's activity + factor unit as declared in the GHG contract's `activity_unit.units`). A row
whose unit has no factor for its month would reach dbt with a NULL tCO2e and fail the month's tests, so the
contract check `emission_factor_in_force` quarantines it at ingestion instead, with a reason.

The lookup mirrors int_ghg__reductions_converted: same effective dating (valid_from <= first day of the month
<= valid_to, blanks open), scope-3 upstream components excluded.
"""
from __future__ import annotations

import csv
from datetime import date
from functools import lru_cache

from phakhi.settings import CONTRACTS_DIR, SEEDS_DIR
from phakhi.yaml_files import read_yaml

GHG_CONTRACT = "ghg_reductions"


@lru_cache(maxsize=1)
def unit_activities() -> dict[str, tuple[str, str]]:
    """unit code -> (emission-factor activity, factor unit), from the GHG contract."""
    spec = read_yaml(CONTRACTS_DIR / f"{GHG_CONTRACT}.yml")
    col = next(c for c in spec["columns"] if c["name"] == "activity_unit")
    return {code: (m["activity"], str(m["ef_unit"]).lower()) for code, m in (col.get("units") or {}).items()}


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@lru_cache(maxsize=1)
def factor_windows() -> dict[tuple[str, str], list[tuple[date | None, date | None, str]]]:
    """(activity, unit) -> [(valid_from, valid_to, factor_id)] from the seed (scope-3 components left out)."""
    out: dict[tuple[str, str], list] = {}
    with (SEEDS_DIR / "emission_factors.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["scope"] == "scope_3":
                continue
            out.setdefault((row["activity"], row["unit"].lower()), []).append(
                (_day(row["valid_from"]), _day(row["valid_to"]), row["factor_id"]))
    return out


def factor_for(unit_code: str, period: str) -> str | None:
    """The factor_id in force for a unit code in a month (YYYY-MM), or None."""
    activity = unit_activities().get(unit_code)
    if activity is None:
        return None
    start = date(int(period[:4]), int(period[5:7]), 1)
    for valid_from, valid_to, factor_id in factor_windows().get(activity, []):
        if (valid_from is None or start >= valid_from) and (valid_to is None or start <= valid_to):
            return factor_id
    return None


def factor_in_force(record: dict) -> bool | None:
    """Contract check: True when the row needs no conversion (a direct tCO2e figure, or no activity unit) or
    its unit has a factor for its month; False otherwise; None when the month itself did not parse."""
    if record.get("reduction_tco2e") is not None or record.get("activity_unit") is None:
        return True
    period = record.get("period")
    if not isinstance(period, str) or len(period) < 7:
        return None
    return factor_for(record["activity_unit"], period) is not None


# contract checks that are Python functions, by the name a contract's `function:` gives
CHECKS = {"factor_in_force": factor_in_force}
