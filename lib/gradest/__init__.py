"""gradest: gradient estimators for expectations whose distribution depends on the parameters.

The library of the book *Gradients Through Randomness*. Everything public is re-exported here.
"""

from gradest import diagnostics, distributions, estimators, plotting, problems
from gradest.diagnostics import (
    EstimatorStats,
    UnbiasednessReport,
    estimator_stats,
    repeat_estimates,
    summarize,
    unbiasedness_check,
    z_scores,
)
from gradest.distributions import Bernoulli, Categorical, Normal
from gradest.estimators import pathwise, score_function, score_function_surrogate
from gradest.problems import (
    Problem,
    bernoulli_quadratic,
    categorical_table,
    gaussian_cos,
    gaussian_exp,
    gaussian_quadratic,
    gaussian_threshold,
)

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Categorical",
    "EstimatorStats",
    "Normal",
    "Problem",
    "UnbiasednessReport",
    "bernoulli_quadratic",
    "categorical_table",
    "diagnostics",
    "distributions",
    "estimator_stats",
    "estimators",
    "gaussian_cos",
    "gaussian_exp",
    "gaussian_quadratic",
    "gaussian_threshold",
    "pathwise",
    "plotting",
    "problems",
    "repeat_estimates",
    "score_function",
    "score_function_surrogate",
    "summarize",
    "unbiasedness_check",
    "z_scores",
]
