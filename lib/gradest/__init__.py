"""gradest: gradient estimators for expectations whose distribution depends on the parameters.

The library of the book *Gradients Through Randomness*. Everything public is re-exported here.
"""

import gradest._threefry_lowering  # before any program that draws is lowered; it starts no backend
import gradest._xla_flags  # noqa: F401  (before any computation: it sets XLA_FLAGS before a JAX backend starts)
from gradest import (
    baseline_variance,
    control_variates,
    diagnostics,
    distributions,
    estimators,
    gumbel,
    plotting,
    problems,
    tables,
    variance_reduction,
)
from gradest import types as types
from gradest._validation import checked
from gradest.arm import arm, disarm
from gradest.baseline_variance import (
    ScoreMoments,
    normal_quadrature,
    optimal_constant_baseline,
    score_function_with_baselines,
    score_moments,
    variance_at_baseline,
)
from gradest.control_variates import (
    ConstantBaseline,
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
from gradest.gumbel_rao import conditional_gumbel, gumbel_rao, straight_through_expectation
from gradest.measure_valued import measure_valued
from gradest.nets import mlp_apply, mlp_init
from gradest.problems import (
    Problem,
    bernoulli_quadratic,
    categorical_table,
    gaussian_cos,
    gaussian_exp,
    gaussian_quadratic,
    gaussian_threshold,
)
from gradest.quadrature import logistic_expectation
from gradest.relax import (
    RelaxNoise,
    estimate_and_variance_grad,
    rebar,
    relax,
    relaxation_noise,
    relaxed_input,
)
from gradest.straight_through_estimators import bernoulli_straight_through
from gradest.tables import markdown_table
from gradest.types import Distribution, PyTree
from gradest.unordered_set import unordered_set, unordered_set_weights
from gradest.variance_reduction import (
    antithetic_pathwise,
    antithetic_score_function,
    effective_sample_size,
    importance_score_function,
    random_digital_shift,
    rqmc_pathwise,
    rqmc_score_function,
    sum_and_sample,
)
from gradest.vimco import vimco, vimco_learning_signals, vimco_surrogate

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "ConstantBaseline",
    "Dirichlet",
    "Distribution",
    "EstimatorStats",
    "Gamma",
    "Gumbel",
    "MovingAverageState",
    "Normal",
    "Problem",
    "PyTree",
    "RelaxNoise",
    "RelaxedBernoulli",
    "RelaxedCategorical",
    "ScoreMoments",
    "ScoreTerms",
    "UnbiasednessReport",
    "antithetic_pathwise",
    "antithetic_score_function",
    "arm",
    "baseline_variance",
    "batch_mean",
    "bernoulli_quadratic",
    "bernoulli_straight_through",
    "categorical_table",
    "checked",
    "conditional_gumbel",
    "constant",
    "control_variates",
    "diagnostics",
    "disarm",
    "distributions",
    "effective_sample_size",
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
    "gumbel_rao",
    "gumbel_softmax",
    "gumbel_top_k",
    "importance_score_function",
    "logistic_expectation",
    "markdown_table",
    "measure_valued",
    "mlp_apply",
    "mlp_init",
    "moving_average_init",
    "moving_average_update",
    "moving_average_value",
    "normal_quadrature",
    "optimal_baseline_score_function",
    "optimal_coefficient",
    "optimal_constant_baseline",
    "pathwise",
    "plotting",
    "problems",
    "random_digital_shift",
    "rebar",
    "relax",
    "relaxation_noise",
    "relaxed_input",
    "repeat_estimates",
    "rloo",
    "rqmc_pathwise",
    "rqmc_score_function",
    "sample_gumbel",
    "score_function",
    "score_function_surrogate",
    "score_function_with_baselines",
    "score_moments",
    "score_terms",
    "straight_through",
    "straight_through_expectation",
    "sum_and_sample",
    "summarize",
    "tables",
    "types",
    "unbiasedness_check",
    "unordered_set",
    "unordered_set_weights",
    "variance_at_baseline",
    "variance_reduction",
    "vimco",
    "vimco_learning_signals",
    "vimco_surrogate",
    "with_control_variate",
    "z_scores",
]
