"""Design-based survey estimation (Taylor linearisation or replicate weights), raking and GREG calibration,
contrasts and t-tests, scale reliability, and the awareness survey's instrument, comparability rules, weighting,
estimates and evaluator CLI. Replicate-design estimates: phakhi.survey.replicates.estimate.

Checked against R's `survey` package and pingouin/psych; see tests/test_survey_*.py and tests/test_awareness_*.py.
The names below are imported lazily, so that `phakhi --help` does not pay for numpy/pandas/scipy.
"""
from importlib import import_module

_EXPORTS = {
    "Design": "design", "estimate": "design", "linearized_variance": "design", "calibration_residuals": "design",
    "deff": "design", "rake": "raking", "RakeResult": "raking", "kish_effective_n": "raking",
    "weighting_deff": "raking", "cronbach_alpha": "reliability",
    "influence_values": "design", "degf": "design", "calibrate": "calibration", "Calibration": "calibration",
    "model_matrix": "formula", "ReplicateDesign": "replicates", "jk1": "replicates", "jkn": "replicates",
    "bootstrap": "replicates", "from_columns": "replicates", "calibrate_replicates": "replicates",
    "joint": "contrasts", "contrast": "contrasts", "ttest": "contrasts",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
