"""R-style one-sided model formulas ("~api99", "~stype + api99", "~stype*sch.wide") to model matrices.

Only what calibration needs, coded exactly as R's model.matrix with treatment contrasts so that column names
and population totals read the same as in R: an intercept "(Intercept)" unless "- 1"/"+ 0"; a numeric column
as itself; a categorical column (text, or wrapped in factor()) as one 0/1 column per category except the first
(sorted) one, named column+category ("stypeH"); "a:b" the products of a's and b's columns ("stypeH:sch.wideYes");
"a*b" = a + b + a:b. A category variable is coded in full (all categories) where R does so: without an
intercept for the first factor, and in an interaction whose other part is not in the model ("~a:x" without x).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

INTERCEPT = "(Intercept)"
_FACTOR = re.compile(r"^factor\((.+)\)$")


@dataclass(frozen=True)
class Term:
    variables: tuple[str, ...]     # as written, e.g. ("factor(region)", "sex")


def parse(formula: str) -> tuple[list[Term], bool]:
    """The terms of a one-sided formula and whether it has an intercept."""
    text = formula.strip()
    if not text.startswith("~"):
        raise ValueError(f"formula {formula!r} must start with '~', e.g. '~api99' or '~stype + api99'")
    body = text[1:].replace(" ", "")
    if not body:
        raise ValueError(f"formula {formula!r} has no terms")
    intercept = True
    terms: list[Term] = []
    for sign, part in re.findall(r"([+-]?)([^+-]+)", body):
        if part in ("0", "1"):
            intercept = not (part == "0" or sign == "-")
            continue
        if sign == "-":
            raise ValueError(f"formula {formula!r}: only '- 1' can be removed")
        if "*" in part:
            names = part.split("*")
            # a*b*c: every non-empty subset, lower orders first (R's expansion).
            for order in range(1, len(names) + 1):
                for combo in _combinations(names, order):
                    terms.append(Term(tuple(combo)))
        else:
            terms.append(Term(tuple(part.split(":"))))
    seen, unique = set(), []
    for t in terms:
        key = frozenset(t.variables)
        if key not in seen:
            seen.add(key)
            unique.append(t)
    return unique, intercept


def _combinations(items, k):
    from itertools import combinations

    return combinations(items, k)


def column_of(variable: str) -> tuple[str, bool]:
    """(data column, forced categorical) of a formula variable."""
    m = _FACTOR.match(variable)
    return (m.group(1), True) if m else (variable, False)


def variables(formula: str) -> list[str]:
    """The data columns a formula uses."""
    terms, _ = parse(formula)
    out = []
    for t in terms:
        for v in t.variables:
            col = column_of(v)[0]
            if col not in out:
                out.append(col)
    return out


def model_matrix(df: pd.DataFrame, formula: str) -> pd.DataFrame:
    """R's model.matrix(formula, df) with treatment contrasts (see the module doc). Missing values are refused.

    As R: terms in order of their degree; a categorical variable in a term is coded by contrasts (first category
    dropped) when the term without it is in the model (the intercept for a main effect), else by all categories.
    """
    terms, intercept = parse(formula)
    terms = sorted(terms, key=lambda t: len(t.variables))          # stable: R orders terms by degree
    blocks: dict[str, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
    present = {frozenset()} if intercept else set()
    columns: dict[str, np.ndarray] = {}
    if intercept:
        columns[INTERCEPT] = np.ones(len(df))
    for term in terms:
        block = None
        for v in term.variables:
            col, forced = column_of(v)
            if col not in df.columns:
                raise ValueError(f"formula variable {col!r} is not a column of the data")
            if df[col].isna().any():
                raise ValueError(f"formula variable {col!r} has {int(df[col].isna().sum())} missing value(s)")
            if v not in blocks:
                blocks[v] = _block(df[col], v, forced)
            coded, full = blocks[v]
            if full is not None and frozenset(term.variables) - {v} not in present:
                coded = full
            block = coded if block is None else _product(block, coded)
        present.add(frozenset(term.variables))
        for name in block.columns:
            columns[name] = block[name].to_numpy(dtype=float)
    return pd.DataFrame(columns, index=df.index)


def _block(series: pd.Series, name: str, forced: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(treatment-coded columns, all-level columns or None for a numeric variable)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) and not forced:
        return pd.DataFrame({name: series.to_numpy(dtype=float)}, index=series.index), None
    values = series.astype(str) if pd.api.types.is_bool_dtype(series) else series
    if pd.api.types.is_numeric_dtype(values):
        values = values.astype(float)
        levels = sorted(pd.unique(values))
        labels = [_label(x) for x in levels]
    else:
        levels = sorted(pd.unique(values.astype(str)))
        values = values.astype(str)
        labels = levels
    full = pd.DataFrame({f"{name}{lab}": (values == lev).to_numpy(dtype=float)
                         for lev, lab in zip(levels, labels)}, index=series.index)
    return full.iloc[:, 1:], full


def _label(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _product(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    # R varies the first factor fastest.
    return pd.DataFrame({f"{ca}:{cb}": a[ca].to_numpy() * b[cb].to_numpy() for cb in b.columns for ca in a.columns},
                        index=a.index)
