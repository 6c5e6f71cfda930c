"""Raking a wave's design weights to population margins, with the diagnostics an evaluator signs off on.

Margins come as a long table (the dbt seed survey_population_margins): `margin` names the respondent columns
it cross-classifies joined by '*' (e.g. "region*sex*age_group"), `category` the cell as those columns' values
joined by '|', `population` the total. Raking itself is phakhi.survey.raking.rake (checked against R).

What happens when the sample does not fit the margins, in this order (each step is recorded in `notes`):
1. A respondent whose cell is not in a margin (e.g. sex = "other", which population tables do not carry) is
   assigned, for raking only, to the margin cell that agrees with most of their other values and has the
   largest population (a deterministic imputation of the raking variable; estimates still use what the
   respondent answered). The count is reported as `n_imputed`.
2. A joint margin with a populated cell that no respondent falls into cannot be met; it is replaced by its
   one-way margins (e.g. region, sex and age group separately).
3. If raking still cannot run, the design weights are kept (method "design") and the reason recorded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .raking import kish_effective_n, rake, weighting_deff

SEP_VARS, SEP_VALUES = "*", "|"


@dataclass(frozen=True)
class Margin:
    name: str                    # e.g. "region*sex*age_group"
    variables: tuple[str, ...]
    targets: pd.Series           # cell key -> population

    @property
    def column(self) -> str:
        """The calibration column holding each respondent's cell of this margin."""
        return "cal_" + "_".join(self.variables)


def margins_from_table(table: pd.DataFrame) -> list[Margin]:
    """Margins from the long seed table (highest `version` only, when the column exists)."""
    if table.empty:
        raise ValueError("the population margins table is empty")
    if "version" in table.columns:
        table = table[table["version"] == table["version"].max()]
    out = []
    for name, g in table.groupby("margin", sort=False):
        if g["category"].duplicated().any():
            raise ValueError(f"margin {name!r} lists a category twice: {sorted(g.category[g.category.duplicated()])}")
        out.append(Margin(str(name), tuple(str(name).split(SEP_VARS)),
                          pd.Series(g["population"].astype(float).to_numpy(), index=g["category"].astype(str))))
    return out


def cell_keys(frame: pd.DataFrame, variables: tuple[str, ...]) -> pd.Series:
    missing = [v for v in variables if v not in frame.columns]
    if missing:
        raise ValueError(f"margin variable(s) {missing} not in the data (columns: {', '.join(map(str, frame.columns))})")
    parts = [frame[v].astype("string").fillna("<missing>") for v in variables]
    key = parts[0]
    for p in parts[1:]:
        key = key + SEP_VALUES + p
    return key.astype(str)


def _impute_cells(keys: pd.Series, margin: Margin) -> tuple[pd.Series, int]:
    """Assign keys absent from the margin to the best-matching populated cell (see module doc)."""
    known = margin.targets[margin.targets > 0]
    unmatched = sorted(set(keys) - set(known.index))
    if not unmatched:
        return keys, 0
    split = [c.split(SEP_VALUES) for c in known.index]
    mapping = {}
    for key in unmatched:
        values = key.split(SEP_VALUES)
        agree = np.array([sum(a == b for a, b in zip(values, cell)) for cell in split])
        best = known[agree == agree.max()]
        mapping[key] = best.idxmax()      # largest population among the best-agreeing cells; first on ties
    return keys.map(lambda k: mapping.get(k, k)), int(keys.isin(unmatched).sum())


def _one_way(margin: Margin) -> list[Margin]:
    parts = pd.DataFrame([c.split(SEP_VALUES) for c in margin.targets.index], columns=list(margin.variables))
    parts["population"] = margin.targets.to_numpy()
    return [Margin(v, (v,), parts.groupby(v, sort=True)["population"].sum()) for v in margin.variables]


@dataclass
class WeightingResult:
    weights: pd.Series                 # final weights, aligned with the frame
    cells: pd.DataFrame                # one calibration column per margin actually used (cal_*)
    method: str                        # "raked" | "design"
    converged: bool | None
    iterations: int
    max_abs_diff: float | None         # largest |weighted count - population| over margin cells
    n_imputed: int
    margins_used: list[str]
    trim: tuple[float, float] | None
    notes: list[str] = field(default_factory=list)
    population_total: float | None = None

    def diagnostics(self, design_weights: pd.Series) -> dict:
        w, d = self.weights.to_numpy(float), design_weights.to_numpy(float)
        ratio = np.divide(w, d, out=np.ones_like(w), where=d > 0)
        return {"weighting_method": self.method, "margins": "; ".join(self.margins_used),
                "rake_converged": self.converged, "rake_iterations": self.iterations,
                "rake_max_abs_diff": self.max_abs_diff, "n_imputed_for_raking": self.n_imputed,
                "trim_low": None if self.trim is None else self.trim[0],
                "trim_high": None if self.trim is None else self.trim[1],
                "sum_design_weights": float(d.sum()), "sum_final_weights": float(w.sum()),
                "population_total": self.population_total,
                "adjustment_min": float(ratio.min()), "adjustment_max": float(ratio.max()),
                "kish_effective_n_design": kish_effective_n(d), "kish_effective_n": kish_effective_n(w),
                "deff_weighting_design": weighting_deff(d), "deff_weighting": weighting_deff(w),
                "notes": " ".join(self.notes)}


def rake_to_margins(frame: pd.DataFrame, weights: str, margins: list[Margin], *,
                    trim: tuple[float, float] | None = None, max_iter: int = 200,
                    tol: float = 1e-8) -> WeightingResult:
    """Rake `frame[weights]` to `margins` (see the module doc for what happens when the sample does not fit)."""
    notes: list[str] = []
    n_imputed = 0
    columns: dict[str, pd.Series] = {}
    used: list[Margin] = []
    for m in margins:
        keys, k = _impute_cells(cell_keys(frame, m.variables), m)
        n_imputed += k
        if k:
            notes.append(f"{k} respondent(s) outside the cells of margin {m.name} assigned to the closest cell "
                         "for raking only.")
        empty = [c for c, t in m.targets.items() if t > 0 and c not in set(keys)]
        if empty and len(m.variables) > 1:
            notes.append(f"margin {m.name}: no respondent in {len(empty)} populated cell(s) (e.g. {empty[0]}); "
                         "raked to its one-way margins instead.")
            for one in _one_way(m):
                one_keys, k1 = _impute_cells(cell_keys(frame, one.variables), one)
                columns[one.column] = one_keys
                used.append(one)
            continue
        columns[m.column] = keys
        used.append(m)
    cells = pd.DataFrame(columns, index=frame.index)
    work = pd.concat([frame[[weights]], cells], axis=1)
    population = float(used[0].targets.sum()) if used else None
    try:
        res = rake(work, weights, {m.column: m.targets for m in used}, max_iter=max_iter, tol=tol, trim=trim)
    except ValueError as exc:
        notes.append(f"raking impossible ({exc}); design weights kept.")
        return WeightingResult(frame[weights].astype(float), cells.iloc[:, :0], "design", None, 0, None, n_imputed,
                               [], trim, notes, population)
    if not res.converged:
        notes.append(f"raking did not converge in {res.iterations} sweeps (largest margin gap {res.max_abs_diff:.3g}); "
                     "weights are the last sweep's.")
    return WeightingResult(res.weights.astype(float), cells, "raked", res.converged, res.iterations, res.max_abs_diff,
                           n_imputed, [m.name for m in used], trim, notes, population)


def parse_trim(value) -> tuple[float, float] | None:
    """'0.3,3' / [0.3, 3] / None -> bounds on the raking adjustment factor."""
    if value in (None, "", "none", "None"):
        return None
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    low, high = (float(v) for v in value)
    if not 0 <= low <= 1 <= high:
        raise ValueError(f"trim bounds must satisfy 0 <= low <= 1 <= high, not {low}, {high}")
    return low, high
