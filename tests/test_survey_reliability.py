"""Cronbach's alpha against pingouin's documented values (which agree with R's psych)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phakhi.survey.reliability import cronbach_alpha

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "survey-api"


@pytest.fixture(scope="module")
def ref():
    if not REF.is_dir():
        pytest.skip(f"reference data not found at {REF}")
    return REF


def test_wide_with_missing_values(ref):
    data = pd.read_csv(ref / "cronbach_wide_missing.csv", encoding="utf-8-sig")   # file has a BOM
    assert data.shape == (12, 11)
    assert cronbach_alpha(data) == pytest.approx(0.732660835214447, rel=1e-9)              # pairwise
    # Also from pingouin's docstring: listwise deletion, and median imputation.
    assert cronbach_alpha(data, nan_policy="listwise") == pytest.approx(0.8016949152542373, rel=1e-9)
    assert cronbach_alpha(data.fillna(data.median())) == pytest.approx(0.7380191693290734, rel=1e-9)


def test_long_format_pivoted(ref):
    long = pd.read_csv(ref / "cronbach_alpha.csv")
    wide = long.pivot(index="Subj", columns="Items", values="Scores")
    # pingouin documents (0.5917188485995826, CI [0.195, 0.84]); "0.5918" would be a mis-rounding.
    assert cronbach_alpha(wide) == pytest.approx(0.5917188485995826, rel=1e-9)


def test_formula_on_synthetic_items():
    rng = np.random.default_rng(3)
    base = rng.normal(size=50)
    parallel = pd.DataFrame({f"q{i}": base for i in range(4)})
    assert cronbach_alpha(parallel) == pytest.approx(1.0)
    items = pd.DataFrame(rng.normal(size=(30, 3)), columns=list("abc")).add(base[:30, None])
    cov = np.cov(items.to_numpy(), rowvar=False)
    assert cronbach_alpha(items) == pytest.approx(1.5 * (1 - np.trace(cov) / cov.sum()))


def test_validation():
    with pytest.raises(ValueError, match="two items"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(ValueError, match="nan_policy"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2], "b": [2, 1]}), nan_policy="drop")
