"""Design-based survey estimation (Taylor linearisation), raking and scale reliability.

Checked against R's `survey` package and pingouin/psych; see tests/test_survey_*.py.
"""
from .design import Design, calibration_residuals, deff, estimate, linearized_variance
from .raking import RakeResult, kish_effective_n, rake, weighting_deff
from .reliability import cronbach_alpha

__all__ = ["Design", "estimate", "linearized_variance", "calibration_residuals", "deff",
           "rake", "RakeResult", "kish_effective_n", "weighting_deff", "cronbach_alpha"]
