"""gradest: gradient estimators for expectations whose distribution depends on the parameters.

The library of the book *Gradients Through Randomness*. Everything public is re-exported here.
"""

import gradest._xla_flags  # noqa: F401  (first: it sets XLA_FLAGS before a JAX backend starts)
from gradest import control_variates, diagnostics, distributions, estimators, gumbel, plotting, problems
from gradest.control_variates import (
    MovingAverageState,
    ScoreTerms,
    batch_mean,
    constant,
    group_normalized,
    group_normalized_advantages,
    moving_average_init,
    moving_average_update,
    moving_average_value,
    optimal_baseline_score_function,
    optimal_coefficient,
    rloo,
    score_terms,
    with_control_variate,
)
from gradest.diagnostics import (
    EstimatorStats,
    UnbiasednessReport,
    estimator_stats,
    repeat_estimates,
    summarize,
    unbiasedness_check,
    z_scores,
)
from gradest.distributions import (
    Bernoulli,
    Beta,
    Categorical,
    Dirichlet,
    Gamma,
    Gumbel,
    Normal,
    RelaxedBernoulli,
    RelaxedCategorical,
)
from gradest.estimators import pathwise, score_function, score_function_surrogate
from gradest.gumbel import gumbel_max, gumbel_softmax, gumbel_top_k, sample_gumbel, straight_through
from gradest.measure_valued import measure_valued
from gradest.problems import (
    Problem,
    bernoulli_quadratic,
    categorical_table,
    gaussian_cos,
    gaussian_exp,
    gaussian_quadratic,
    gaussian_threshold,
)
from gradest.relax import (
    RelaxNoise,
    estimate_and_variance_grad,
    rebar,
    relax,
    relaxation_noise,
    relaxed_input,
)

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "Dirichlet",
    "EstimatorStats",
    "Gamma",
    "Gumbel",
    "MovingAverageState",
    "Normal",
    "Problem",
    "RelaxNoise",
    "RelaxedBernoulli",
    "RelaxedCategorical",
    "ScoreTerms",
    "UnbiasednessReport",
    "batch_mean",
    "bernoulli_quadratic",
    "categorical_table",
    "constant",
    "control_variates",
    "diagnostics",
    "distributions",
    "estimate_and_variance_grad",
    "estimator_stats",
    "estimators",
    "gaussian_cos",
    "gaussian_exp",
    "gaussian_quadratic",
    "gaussian_threshold",
    "group_normalized",
    "group_normalized_advantages",
    "gumbel",
    "gumbel_max",
    "gumbel_softmax",
    "gumbel_top_k",
    "measure_valued",
    "moving_average_init",
    "moving_average_update",
    "moving_average_value",
    "optimal_baseline_score_function",
    "optimal_coefficient",
    "pathwise",
    "plotting",
    "problems",
    "rebar",
    "relax",
    "relaxation_noise",
    "relaxed_input",
    "repeat_estimates",
    "rloo",
    "sample_gumbel",
    "score_function",
    "score_function_surrogate",
    "score_terms",
    "straight_through",
    "summarize",
    "unbiasedness_check",
    "with_control_variate",
    "z_scores",
]
