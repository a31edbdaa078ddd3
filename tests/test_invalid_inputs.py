"""One table of invalid inputs to every public function: each raises a TypeError or ValueError
whose message names the argument (issue 11: no silently wrong answer).

Every row is (id, call, expected exception type, a fragment of the message). The calls are small
(N <= 10) so the whole table runs in seconds.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest as gs

KEY = jax.random.key(11)
NORMAL = {"loc": 0.0, "scale": 1.0}
LOGITS3 = jnp.array([0.0, 1.0, -1.0])
BERN = {"logits": jnp.array([0.5, -0.5])}
CAT = {"logits": jnp.array([[0.0, 1.0, 2.0]])}


def square(x: Any, _: Any) -> jax.Array:
    return jnp.sum(x**2)


def vector_cost(x: Any, _: Any) -> jax.Array:
    return jnp.stack([jnp.sum(x), jnp.sum(x**2)])


def one_element_cost(x: Any, _: Any) -> jax.Array:
    return jnp.reshape(jnp.sum(x), (1,))


def numpy_estimator(key: jax.Array) -> np.ndarray:
    return np.asarray(jax.random.normal(key, (2,)))


class Row(NamedTuple):
    id: str
    call: Callable[[], Any]
    error: type[Exception]
    fragment: str


def sf(**kw: Any) -> Callable[[], Any]:
    args = {"f": square, "dist": gs.Normal(), "params": NORMAL, "key": KEY, "num_samples": 4} | kw
    return lambda: gs.score_function(**args)


def pw(**kw: Any) -> Callable[[], Any]:
    args = {"f": square, "dist": gs.Normal(), "params": NORMAL, "key": KEY, "num_samples": 4} | kw
    return lambda: gs.pathwise(**args)


def rb(**kw: Any) -> Callable[[], Any]:
    args = {
        "f": square,
        "dist": gs.Bernoulli(),
        "params": BERN,
        "key": KEY,
        "num_samples": 4,
        "temperature": 0.5,
    } | kw
    return lambda: gs.rebar(**args)


def rx(**kw: Any) -> Callable[[], Any]:
    args = {
        "f": square,
        "dist": gs.Bernoulli(),
        "params": BERN,
        "key": KEY,
        "num_samples": 4,
        "surrogate": lambda z, psi: jnp.sum(psi * z),
        "surrogate_params": 1.0,
    } | kw
    return lambda: gs.relax(**args)


def lp(dist: Any, params: Any, x: Any = 0.5) -> Callable[[], Any]:
    return lambda: dist.log_prob(params, x)


def rs(dist: Any, params: Any) -> Callable[[], Any]:
    return lambda: dist.rsample(params, KEY, (2,))


def stats(estimator: Any, **kw: Any) -> Callable[[], Any]:
    return lambda: gs.estimator_stats(estimator, KEY, kw.pop("num_repeats", 4), **kw)


ROWS = [
    # Distribution parameters: declared constraints, one checker.
    Row("normal-scale-negative", lp(gs.Normal(), {"loc": 0.0, "scale": -1.0}), ValueError, "params['scale']"),
    Row("normal-scale-zero", lp(gs.Normal(), {"loc": 0.0, "scale": 0.0}), ValueError, "params['scale']"),
    Row(
        "normal-scale-subnormal", lp(gs.Normal(), {"loc": 0.0, "scale": 1e-45}), ValueError, "params['scale']"
    ),
    Row("normal-loc-nan", lp(gs.Normal(), {"loc": jnp.nan, "scale": 1.0}), ValueError, "params['loc']"),
    Row("normal-loc-inf", lp(gs.Normal(), {"loc": jnp.inf, "scale": 1.0}), ValueError, "params['loc']"),
    Row("normal-missing-key", lp(gs.Normal(), {"loc": 0.0}), ValueError, "params must have keys"),
    Row("normal-params-tuple", lp(gs.Normal(), (0.0, 1.0)), TypeError, "params must be a dict"),
    Row("normal-scale-string", lp(gs.Normal(), {"loc": 0.0, "scale": "1"}), TypeError, "params['scale']"),
    Row(
        "normal-no-broadcast",
        lp(gs.Normal(), {"loc": jnp.zeros(2), "scale": jnp.ones(3)}),
        ValueError,
        "broadcast",
    ),
    Row("normal-sample-key-int", lambda: gs.Normal().sample(NORMAL, 0), TypeError, "key"),
    Row("normal-sample-shape-neg", lambda: gs.Normal().sample(NORMAL, KEY, (-1,)), TypeError, "sample_shape"),
    Row("normal-sample-shape-float", lambda: gs.Normal().sample(NORMAL, KEY, 2.5), TypeError, "sample_shape"),
    Row("gumbel-scale-negative", lp(gs.Gumbel(), {"loc": 0.0, "scale": -1.0}), ValueError, "params['scale']"),
    Row("bernoulli-probs-above-1", lp(gs.Bernoulli(), {"probs": 1.5}, 1.0), ValueError, "params['probs']"),
    Row("bernoulli-probs-nan", lp(gs.Bernoulli(), {"probs": jnp.nan}, 1.0), ValueError, "params['probs']"),
    Row("bernoulli-logits-nan", lp(gs.Bernoulli(), {"logits": jnp.nan}, 1.0), ValueError, "params['logits']"),
    Row(
        "bernoulli-two-keys",
        lp(gs.Bernoulli(), {"logits": 0.0, "probs": 0.5}, 1.0),
        ValueError,
        "params must have keys",
    ),
    Row("bernoulli-rsample", rs(gs.Bernoulli(), BERN), TypeError, "reparameterized"),
    Row(
        "categorical-scalar-logits", lp(gs.Categorical(), {"logits": 0.0}, 0), ValueError, "params['logits']"
    ),
    Row(
        "categorical-all-neg-inf",
        lp(gs.Categorical(), {"logits": jnp.array([-jnp.inf, -jnp.inf])}, 0),
        ValueError,
        "params['logits'] must have at least one finite logit",
    ),
    Row(
        "categorical-pos-inf",
        lp(gs.Categorical(), {"logits": jnp.array([jnp.inf, 0.0])}, 0),
        ValueError,
        "params['logits'] must not contain +inf",
    ),
    Row(
        "categorical-probs-sum",
        lp(gs.Categorical(), {"probs": jnp.array([0.5, 0.6])}, 0),
        ValueError,
        "params['probs'] must sum to 1",
    ),
    Row(
        "categorical-probs-negative",
        lp(gs.Categorical(), {"probs": jnp.array([-0.5, 1.5])}, 0),
        ValueError,
        "params['probs']",
    ),
    Row("categorical-probs-scalar", lp(gs.Categorical(), {"probs": 1.0}, 0), ValueError, "params['probs']"),
    Row(
        "gamma-concentration-negative",
        lp(gs.Gamma(), {"concentration": -1.0, "rate": 1.0}, 1.0),
        ValueError,
        "params['concentration']",
    ),
    Row(
        "gamma-rate-zero",
        lp(gs.Gamma(), {"concentration": 1.0, "rate": 0.0}, 1.0),
        ValueError,
        "params['rate']",
    ),
    Row(
        "beta-concentration-zero",
        lp(gs.Beta(), {"concentration1": 0.0, "concentration0": 1.0}),
        ValueError,
        "params['concentration1']",
    ),
    Row(
        "beta-rsample-below-range",
        rs(gs.Beta(), {"concentration1": 0.01, "concentration0": 1.0}),
        ValueError,
        "params['concentration1'] must be >= 0.05",
    ),
    Row(
        "dirichlet-one-category",
        lp(gs.Dirichlet(), {"concentration": jnp.array([1.0])}, jnp.array([1.0])),
        ValueError,
        "params['concentration'] must have a category axis of length >= 2",
    ),
    Row(
        "dirichlet-scalar",
        lp(gs.Dirichlet(), {"concentration": 1.0}, jnp.array([1.0])),
        ValueError,
        "params['concentration']",
    ),
    Row(
        "dirichlet-rsample-below-range",
        rs(gs.Dirichlet(), {"concentration": jnp.array([0.01, 1.0])}),
        ValueError,
        "params['concentration'] must be >= 0.05",
    ),
    Row(
        "dirichlet-negative",
        lp(gs.Dirichlet(), {"concentration": jnp.array([-1.0, 1.0])}, jnp.array([0.5, 0.5])),
        ValueError,
        "params['concentration']",
    ),
    Row(
        "relaxed-bernoulli-inf-logit",
        lp(gs.RelaxedBernoulli(0.5), {"logits": jnp.inf}),
        ValueError,
        "params['logits'] must be finite",
    ),
    Row("relaxed-bernoulli-temp-zero", lambda: gs.RelaxedBernoulli(0.0), ValueError, "temperature"),
    Row("relaxed-bernoulli-temp-subnormal", lambda: gs.RelaxedBernoulli(1e-45), ValueError, "temperature"),
    Row(
        "relaxed-categorical-temp-vector", lambda: gs.RelaxedCategorical([1.0, 2.0]), TypeError, "temperature"
    ),
    Row(
        "relaxed-categorical-temp-nan", lambda: gs.RelaxedCategorical(float("nan")), ValueError, "temperature"
    ),
    Row("relaxed-categorical-temp-string", lambda: gs.RelaxedCategorical("1"), TypeError, "temperature"),
    Row(
        "relaxed-categorical-scalar-logits",
        lp(gs.RelaxedCategorical(0.5), {"logits": 0.0}, jnp.array([1.0])),
        ValueError,
        "params['logits']",
    ),
    # Estimators: the shared prologue, the shape of f, baselines, num_samples and memory.
    Row("sf-f-not-callable", sf(f=3.0), TypeError, "f must be callable"),
    Row(
        "sf-dist-class",
        sf(dist=gs.Normal),
        TypeError,
        "dist must be a distribution instance such as Normal()",
    ),
    Row("sf-dist-string", sf(dist="normal"), TypeError, "dist must be a gradest distribution"),
    Row("sf-key-int", sf(key=1), TypeError, "key must be a jax.random key"),
    Row("sf-num-samples-zero", sf(num_samples=0), ValueError, "num_samples must be >= 1"),
    Row("sf-num-samples-float", sf(num_samples=2.0), TypeError, "num_samples must be an int"),
    Row("sf-num-samples-bool", sf(num_samples=True), TypeError, "num_samples must be an int"),
    Row("sf-f-shape-1", sf(f=one_element_cost), ValueError, "f must return a scalar"),
    Row("sf-f-vector", sf(f=vector_cost), ValueError, "f must return a scalar"),
    Row("sf-baseline-nan", sf(baseline=float("nan")), ValueError, "baseline must be finite"),
    Row("sf-baseline-inf", sf(baseline=jnp.inf), ValueError, "baseline must be finite"),
    Row("sf-baseline-shape", sf(baseline=jnp.zeros(3)), ValueError, "baseline must give a scalar"),
    Row("sf-baseline-fn-shape", sf(baseline=lambda fv: jnp.zeros((4, 2))), ValueError, "baseline must give"),
    Row("sf-huge-num-samples", sf(num_samples=10**9), ValueError, "num_samples=1000000000 needs about"),
    Row("sf-batch-size-not-divisor", sf(batch_size=3), ValueError, "batch_size"),
    Row("sf-batch-size-zero", sf(batch_size=0), ValueError, "batch_size must be >= 1"),
    Row("sf-probs-above-1", sf(dist=gs.Bernoulli(), params={"probs": 1.5}), ValueError, "params['probs']"),
    Row(
        "surrogate-f-vector",
        lambda: gs.score_function_surrogate(vector_cost, gs.Normal(), NORMAL, KEY, 4),
        ValueError,
        "f must return a scalar",
    ),
    Row("pw-bernoulli", pw(dist=gs.Bernoulli(), params=BERN), TypeError, "reparameterized"),
    Row("pw-f-shape-1", pw(f=one_element_cost), ValueError, "f must return a scalar"),
    Row("pw-scale-negative", pw(params={"loc": 0.0, "scale": -1.0}), ValueError, "params['scale']"),
    Row(
        "pw-beta-below-range",
        pw(dist=gs.Beta(), params={"concentration1": 0.01, "concentration0": 1.0}),
        ValueError,
        "params['concentration1'] must be >= 0.05",
    ),
    Row("pw-huge-num-samples", pw(num_samples=10**9), ValueError, "num_samples=1000000000"),
    Row("pw-dist-class", pw(dist=gs.Normal), TypeError, "dist must be a distribution instance"),
    # Antithetic pairs: a cost that is not scalar was averaged into the estimate.
    Row(
        "antithetic-pw-f-vector",
        lambda: gs.antithetic_pathwise(vector_cost, gs.Normal(), NORMAL, KEY, 4),
        ValueError,
        "f must return a scalar",
    ),
    Row(
        "antithetic-sf-f-shape-1",
        lambda: gs.antithetic_score_function(one_element_cost, gs.Normal(), NORMAL, KEY, 4),
        ValueError,
        "f must return a scalar",
    ),
    # Measure-valued gradients.
    Row(
        "mv-bernoulli",
        lambda: gs.measure_valued(square, gs.Bernoulli(), BERN, KEY, 4),
        TypeError,
        "dist must be a gradest Normal",
    ),
    Row(
        "mv-dist-class",
        lambda: gs.measure_valued(square, gs.Normal, NORMAL, KEY, 4),
        TypeError,
        "dist must be a distribution instance",
    ),
    Row(
        "mv-f-vector",
        lambda: gs.measure_valued(vector_cost, gs.Normal(), NORMAL, KEY, 4),
        ValueError,
        "f must return a scalar",
    ),
    Row(
        "mv-num-samples-zero",
        lambda: gs.measure_valued(square, gs.Normal(), NORMAL, KEY, 0),
        ValueError,
        "num_samples",
    ),
    # Gumbel tricks.
    Row("gumbel-max-scalar", lambda: gs.gumbel_max(0.0, KEY), ValueError, "logits must have at least 1"),
    Row(
        "gumbel-max-nan",
        lambda: gs.gumbel_max(jnp.array([jnp.nan, 0.0]), KEY),
        ValueError,
        "logits contains NaN",
    ),
    Row(
        "gumbel-max-all-neg-inf",
        lambda: gs.gumbel_max(jnp.array([-jnp.inf, -jnp.inf]), KEY),
        ValueError,
        "logits must have at least one finite logit",
    ),
    Row("gumbel-max-key", lambda: gs.gumbel_max(LOGITS3, "key"), TypeError, "key"),
    Row("top-k-zero", lambda: gs.gumbel_top_k(LOGITS3, KEY, 0), ValueError, "k must be >= 1"),
    Row("top-k-above-K", lambda: gs.gumbel_top_k(LOGITS3, KEY, 4), ValueError, "k must be <="),
    Row(
        "top-k-above-support",
        lambda: gs.gumbel_top_k(jnp.array([0.0, -jnp.inf, 1.0]), KEY, 3),
        ValueError,
        "k must be <= the number of categories with non-zero probability",
    ),
    Row("top-k-float", lambda: gs.gumbel_top_k(LOGITS3, KEY, 1.5), TypeError, "k must be an int"),
    Row(
        "softmax-temp-zero",
        lambda: gs.gumbel_softmax(LOGITS3, KEY, 0.0),
        ValueError,
        "temperature must be > 0",
    ),
    Row("softmax-temp-negative", lambda: gs.gumbel_softmax(LOGITS3, KEY, -1.0), ValueError, "temperature"),
    Row("softmax-temp-subnormal", lambda: gs.gumbel_softmax(LOGITS3, KEY, 1e-45), ValueError, "temperature"),
    Row(
        "softmax-temp-per-category",
        lambda: gs.gumbel_softmax(LOGITS3, KEY, jnp.array([0.5, 1.0, 2.0])),
        ValueError,
        "temperature must be a scalar or one value per variable",
    ),
    Row(
        "softmax-overflow",
        lambda: gs.gumbel_softmax(jnp.array([1e30, 0.0]), KEY, 1e-10),
        ValueError,
        "logits and temperature: (max |finite logit| + 16) / temperature must be <=",
    ),
    Row("softmax-temp-nan", lambda: gs.gumbel_softmax(LOGITS3, KEY, jnp.nan), ValueError, "temperature"),
    Row(
        "straight-through-temp-inf",
        lambda: gs.straight_through(LOGITS3, KEY, jnp.inf),
        ValueError,
        "temperature",
    ),
    Row("sample-gumbel-int-dtype", lambda: gs.sample_gumbel(KEY, (2,), jnp.int32), TypeError, "dtype"),
    Row("sample-gumbel-shape-string", lambda: gs.sample_gumbel(KEY, "ab"), TypeError, "shape"),
    # REBAR and RELAX.
    Row("rebar-normal", rb(dist=gs.Normal(), params=NORMAL), TypeError, "dist must be gradest.Bernoulli()"),
    Row("rebar-dist-class", rb(dist=gs.Bernoulli), TypeError, "dist must be a distribution instance"),
    Row(
        "rebar-temp-vector", rb(temperature=jnp.array([0.5, 1.0])), ValueError, "temperature must be a scalar"
    ),
    Row("rebar-temp-zero", rb(temperature=0.0), ValueError, "temperature"),
    Row("rebar-scale-nan", rb(scale=jnp.nan), ValueError, "scale must be finite"),
    Row("rebar-scale-vector", rb(scale=jnp.ones(2)), ValueError, "scale must be a scalar"),
    Row("rebar-f-vector", rb(f=vector_cost), ValueError, "f must return a scalar"),
    Row("relax-surrogate-not-callable", rx(surrogate=1.0), TypeError, "surrogate must be callable"),
    Row(
        "relax-surrogate-vector",
        rx(surrogate=lambda z, psi: psi * z),
        ValueError,
        "surrogate must return a scalar",
    ),
    Row(
        "relax-probs", rx(params={"probs": jnp.array([0.5])}), ValueError, "params must be given as {'logits'"
    ),
    Row("relax-inf-logit", rx(params={"logits": jnp.array([jnp.inf])}), ValueError, "params['logits']"),
    Row(
        "relaxation-noise-zero-samples",
        lambda: gs.relaxation_noise(gs.Bernoulli(), BERN, KEY, 0),
        ValueError,
        "num_samples",
    ),
    Row(
        "relaxed-input-temp-zero",
        lambda: gs.relaxed_input(gs.Bernoulli(), jnp.zeros(2), 0.0),
        ValueError,
        "temperature",
    ),
    Row(
        "relaxed-input-temp-vector",
        lambda: gs.relaxed_input(gs.Bernoulli(), jnp.zeros(2), jnp.array([0.5, 1.0])),
        ValueError,
        "temperature must be a scalar",
    ),
    Row(
        "variance-grad-int-params",
        lambda: gs.estimate_and_variance_grad(lambda cv: {"g": cv["scale"] * 2.0}, {"scale": 1}),
        TypeError,
        "cv_params['scale'] must be a floating-point array",
    ),
    Row(
        "variance-grad-not-callable",
        lambda: gs.estimate_and_variance_grad(None, {"scale": 1.0}),
        TypeError,
        "estimator must be callable",
    ),
    # Control variates and baselines.
    Row("constant-nan", lambda: gs.constant(jnp.nan), ValueError, "value must be finite"),
    Row("constant-vector", lambda: gs.constant([1.0, 2.0]), ValueError, "value must be a scalar"),
    Row("ConstantBaseline-inf", lambda: gs.ConstantBaseline(jnp.inf), ValueError, "value must be finite"),
    Row(
        "rloo-one-value", lambda: gs.rloo(jnp.array([1.0])), ValueError, "f_values must hold num_samples >= 2"
    ),
    Row("rloo-2d", lambda: gs.rloo(jnp.ones((2, 2))), ValueError, "f_values must be one cost per sample"),
    Row("batch-mean-2d", lambda: gs.batch_mean(jnp.ones((2, 2))), ValueError, "f_values"),
    Row(
        "group-normalized-eps-zero",
        lambda: gs.group_normalized_advantages(jnp.ones(3), eps=0.0),
        ValueError,
        "eps must be > 0",
    ),
    Row(
        "moving-average-decay-one",
        lambda: gs.moving_average_update(gs.moving_average_init(), jnp.ones(3), decay=1.0),
        ValueError,
        "decay must lie in [0, 1)",
    ),
    Row(
        "moving-average-state-tuple",
        lambda: gs.moving_average_update((0.0, 0.0), jnp.ones(3)),
        TypeError,
        "state must be a MovingAverageState",
    ),
    Row("moving-average-value-none", lambda: gs.moving_average_value(None), TypeError, "state"),
    Row(
        "optimal-baseline-one-sample-no-loo",
        lambda: gs.optimal_baseline_score_function(square, gs.Normal(), NORMAL, KEY, 1, leave_one_out=False),
        ValueError,
        "num_samples must be >= 2",
    ),
    Row(
        "optimal-baseline-one-sample",
        lambda: gs.optimal_baseline_score_function(square, gs.Normal(), NORMAL, KEY, 1),
        ValueError,
        "num_samples must be >= 2",
    ),
    Row(
        "optimal-coefficient-mismatch",
        lambda: gs.optimal_coefficient({"a": jnp.ones((4, 2))}, {"a": jnp.ones((4, 3))}),
        ValueError,
        "controls must have the leaf shapes",
    ),
    Row(
        "control-variate-coefficient",
        lambda: gs.with_control_variate(
            {"a": jnp.ones((4, 2))}, {"a": jnp.ones((4, 2))}, {"a": jnp.zeros(2)}, coefficient=[1.0, 2.0, 3.0]
        ),
        ValueError,
        "coefficient",
    ),
    Row(
        "score-terms-f-vector",
        lambda: gs.score_terms(vector_cost, gs.Normal(), NORMAL, KEY, 4),
        ValueError,
        "f must return a scalar",
    ),
    # Diagnostics.
    Row(
        "stats-one-repeat",
        stats(lambda k: jnp.zeros(2), num_repeats=1),
        ValueError,
        "num_repeats must be >= 2",
    ),
    Row("stats-numpy-estimator", stats(numpy_estimator), TypeError, "estimator must be a JAX function"),
    Row("stats-not-callable", stats(3), TypeError, "estimator must be callable"),
    Row(
        "repeat-batch-size-zero",
        lambda: gs.repeat_estimates(lambda k: jnp.zeros(2), KEY, 4, batch_size=0),
        ValueError,
        "batch_size must be >= 1",
    ),
    Row(
        "unbiasedness-tolerance-zero",
        lambda: gs.unbiasedness_check(lambda k: jnp.zeros(2), jnp.zeros(2), KEY, 4, tolerance=0.0),
        ValueError,
        "tolerance",
    ),
    Row(
        "unbiasedness-exact-structure",
        lambda: gs.unbiasedness_check(lambda k: {"a": jnp.zeros(2)}, jnp.zeros(2), KEY, 4),
        ValueError,
        "exact must have the structure",
    ),
    Row("summarize-one-repeat", lambda: gs.summarize(jnp.zeros((1, 2))), ValueError, "estimates need"),
    # Problems and the checked mode.
    Row("problem-scale-negative", lambda: gs.gaussian_quadratic(scale=-1.0), ValueError, "params['scale']"),
    Row("problem-k-nan", lambda: gs.gaussian_quadratic(k=jnp.nan), ValueError, "k must be finite"),
    Row(
        "problem-params-structure",
        lambda: gs.gaussian_quadratic().exact_grad({"loc": jnp.zeros(2), "scale": 1.0}),
        ValueError,
        "params must have",
    ),
    Row("checked-not-callable", lambda: gs.checked(3), TypeError, "fn must be callable"),
    Row(
        "z-scores-exact-shape",
        lambda: gs.z_scores(gs.estimator_stats(lambda k: jax.random.normal(k, (2,)), KEY, 4), jnp.zeros(1)),
        ValueError,
        "exact must have the leaf shapes of one estimate",
    ),
    Row(
        "score-moments-weights-nan",
        lambda: gs.score_moments(
            square, gs.Bernoulli(), {"logits": 0.0}, jnp.array([0.0, 1.0]), [jnp.nan, 0.5]
        ),
        ValueError,
        "weights must be finite",
    ),
]

# Every public function that takes a cost f, called with a valid one-variable-per-entry setting.
# A cost of shape (1,) or a vector was broadcast into a wrong-shaped estimate by ARM and DisARM,
# and accepted silently by eight others, before they all went through _validation.cost_values.
NORMAL2 = {"loc": jnp.array([0.1, 0.2]), "scale": jnp.array([1.0, 1.5])}
POINTS = jnp.array([[0.1, 0.2], [0.6, 0.7], [0.3, 0.9], [0.8, 0.4]])
COST_TAKERS: dict[str, Callable[[Any], Any]] = {
    "antithetic_pathwise": lambda f: gs.antithetic_pathwise(f, gs.Normal(), NORMAL2, KEY, 4),
    "antithetic_score_function": lambda f: gs.antithetic_score_function(f, gs.Normal(), NORMAL2, KEY, 4),
    "arm": lambda f: gs.arm(f, gs.Bernoulli(), BERN, KEY, 4),
    "bernoulli_straight_through": lambda f: gs.bernoulli_straight_through(f, BERN, KEY, 4, temperature=0.5),
    "disarm": lambda f: gs.disarm(f, gs.Bernoulli(), BERN, KEY, 4),
    "gumbel_rao": lambda f: gs.gumbel_rao(f, gs.Categorical(), {"logits": LOGITS3}, KEY, 4, temperature=0.5),
    "importance_score_function": lambda f: gs.importance_score_function(
        f, gs.Normal(), NORMAL2, KEY, 4, proposal=gs.Normal(), proposal_params=NORMAL2
    ),
    "measure_valued": lambda f: gs.measure_valued(f, gs.Normal(), NORMAL2, KEY, 4),
    "optimal_baseline_score_function": lambda f: gs.optimal_baseline_score_function(
        f, gs.Normal(), NORMAL2, KEY, 4
    ),
    "pathwise": lambda f: gs.pathwise(f, gs.Normal(), NORMAL2, KEY, 4),
    "rebar": lambda f: gs.rebar(f, gs.Bernoulli(), BERN, KEY, 4, temperature=0.5),
    "relax": lambda f: gs.relax(
        f, gs.Bernoulli(), BERN, KEY, 4, surrogate=lambda z, w: w * jnp.sum(z), surrogate_params=1.0
    ),
    "rqmc_pathwise": lambda f: gs.rqmc_pathwise(f, gs.Normal(), NORMAL2, KEY, 4, points=POINTS),
    "rqmc_score_function": lambda f: gs.rqmc_score_function(f, gs.Normal(), NORMAL2, KEY, 4, points=POINTS),
    "score_function": lambda f: gs.score_function(f, gs.Normal(), NORMAL2, KEY, 4),
    "score_function_surrogate": lambda f: gs.score_function_surrogate(f, gs.Normal(), NORMAL2, KEY, 4),
    "score_function_with_baselines": lambda f: gs.score_function_with_baselines(
        f, gs.Normal(), NORMAL2, KEY, 4, {"loc": jnp.zeros(2), "scale": jnp.zeros(2)}
    ),
    "score_moments": lambda f: gs.score_moments(
        f,
        gs.Bernoulli(),
        BERN,
        jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]),
        jnp.full(4, 0.25),
    ),
    "score_terms": lambda f: gs.score_terms(f, gs.Normal(), NORMAL2, KEY, 4),
    "straight_through_expectation": lambda f: gs.straight_through_expectation(
        f, gs.Categorical(), {"logits": LOGITS3}, KEY, 4, temperature=0.5
    ),
    "sum_and_sample": lambda f: gs.sum_and_sample(
        f, gs.Categorical(), {"logits": LOGITS3}, KEY, 4, num_summed=1
    ),
    "unordered_set": lambda f: gs.unordered_set(f, gs.Categorical(), {"logits": LOGITS3}, KEY, 2),
    "vimco": lambda f: gs.vimco(f, gs.Normal(), NORMAL2, KEY, 4),
}
# Traced, not run: the shape check raises at trace time, under jit as eagerly, and tracing skips
# the eager execution of everything before the cost (seconds for the 46 rows).
COST_ROWS = [
    Row(
        f"cost-{name}-{kind}",
        lambda call=call, bad=bad: jax.jit(lambda: call(bad)).trace(),
        ValueError,
        "f must return a scalar",
    )
    for name, call in COST_TAKERS.items()
    for kind, bad in (("vector", vector_cost), ("shape-1", one_element_cost))
]


def test_table_is_large_and_unique() -> None:
    assert len(ROWS) >= 80
    assert len({row.id for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS + COST_ROWS, ids=[row.id for row in ROWS + COST_ROWS])
def test_invalid_input_raises_naming_the_argument(row: Row) -> None:
    with pytest.raises(row.error, match=re.escape(row.fragment)):
        row.call()


def test_every_function_taking_a_cost_has_rows_in_the_cost_table() -> None:
    takes_cost = {
        name
        for name in gs.__all__
        if inspect.isfunction(getattr(gs, name))
        and next(iter(inspect.signature(getattr(gs, name)).parameters), None) == "f"
    }
    assert takes_cost == set(COST_TAKERS)
