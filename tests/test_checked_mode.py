"""Checks under jit and vmap: gradest.checked raises the eager messages; valid calls are unchanged.

Also: the estimators give the same estimate eagerly and under ``jit`` (the ``chex.all_variants``
idea, with two variants), ``batch_size`` keeps the estimator unbiased, and ``unbiasedness_check``
fails on any NaN.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest as gs

KEY = jax.random.key(1100)
LOGITS = jnp.array([0.5, -0.5, 1.0])


def square(x: Any, _: Any) -> jax.Array:
    return jnp.sum(x**2)


def normal_pathwise(scale: jax.Array) -> Any:
    return gs.pathwise(square, gs.Normal(), {"loc": 0.0, "scale": scale}, KEY, 8)


def eager_message(call: Any) -> str:
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize("transform", [jax.jit, jax.vmap], ids=["jit", "vmap"])
def test_checked_raises_the_eager_message_inside_jit_and_vmap(transform: Any) -> None:
    scale = jnp.array(-1.0) if transform is jax.jit else jnp.array([1.0, -1.0])
    unchecked = transform(normal_pathwise)(scale)  # no error: the values are traced
    assert jax.tree.leaves(unchecked)
    message = eager_message(lambda: normal_pathwise(-1.0))
    with pytest.raises(ValueError) as info:
        gs.checked(transform(normal_pathwise))(scale)
    assert str(info.value).split(", got")[0] == message.split(", got")[0]
    assert "params['scale']" in str(info.value)


def test_checked_gumbel_softmax_zero_temperature_under_jit() -> None:
    relaxed = jax.jit(lambda t: gs.gumbel_softmax(LOGITS, KEY, t))
    with pytest.raises(ValueError, match=r"temperature must be > 0"):
        gs.checked(relaxed)(0.0)
    with pytest.raises(ValueError, match=r"temperature must be > 0"):
        gs.gumbel_softmax(LOGITS, KEY, 0.0)


def test_checked_leaves_valid_results_unchanged() -> None:
    fn = jax.jit(normal_pathwise)
    expected = fn(jnp.array(1.5))
    got = gs.checked(fn)(jnp.array(1.5))
    jax.tree.map(np.testing.assert_array_equal, got, expected)


def test_gumbel_top_k_under_jit_never_returns_a_masked_category() -> None:
    logits = jnp.array([0.0, -jnp.inf, 1.0, -jnp.inf])
    top = jax.jit(lambda lg: gs.gumbel_top_k(lg, KEY, 3, (50,)))
    draws = np.asarray(top(logits))
    assert set(np.unique(draws[:, :2])) <= {0, 2}
    assert (draws[:, 2] == -1).all()
    with pytest.raises(ValueError, match="k must be <= the number of categories with non-zero probability"):
        gs.checked(top)(logits)


def test_checked_categorical_logits_inside_vmap() -> None:
    log_prob = jax.vmap(lambda lg: gs.Categorical().log_prob({"logits": lg}, 0))
    rows = jnp.array([[0.0, 1.0], [-jnp.inf, -jnp.inf]])
    with pytest.raises(ValueError, match=r"params\['logits'\] must have at least one finite logit"):
        gs.checked(log_prob)(rows)


BERNOULLI = {"logits": jnp.array([0.3, -0.2])}
ESTIMATORS = {
    "score_function": lambda p, k: gs.score_function(square, gs.Normal(), p, k, 8),
    "pathwise": lambda p, k: gs.pathwise(square, gs.Normal(), p, k, 8),
    "measure_valued": lambda p, k: gs.measure_valued(square, gs.Normal(), p, k, 8),
    "optimal_baseline": lambda p, k: gs.optimal_baseline_score_function(square, gs.Normal(), p, k, 8),
}
DISCRETE = {
    "rebar": lambda p, k: gs.rebar(square, gs.Bernoulli(), p, k, 8, temperature=0.5),
    "relax": lambda p, k: gs.relax(
        square, gs.Bernoulli(), p, k, 8, surrogate=lambda z, s: s * jnp.sum(z), surrogate_params=1.0
    ),
}


NORMAL = {"loc": jnp.array([0.5, -1.0]), "scale": jnp.array([1.0, 2.0])}
ONE_CATEGORICAL = {"logits": jnp.array([0.2, -1.0, 0.5, 0.1])}
SOBOL8 = jnp.array(np.random.default_rng(0).random((8, 2)), jnp.float32)


def index_cost(i: Any, _: Any) -> jax.Array:
    return jnp.sum(i**2).astype(jnp.float32)


# Every other estimator, with the parameters it is differentiated at.
MORE: dict[str, tuple[Any, Any]] = {
    "score_function rloo": (
        NORMAL,
        lambda p, k: gs.score_function(square, gs.Normal(), p, k, 8, baseline=gs.rloo),
    ),
    "score_function batched": (
        NORMAL,
        lambda p, k: gs.score_function(square, gs.Normal(), p, k, 8, batch_size=4),
    ),
    "pathwise batched": (NORMAL, lambda p, k: gs.pathwise(square, gs.Normal(), p, k, 8, batch_size=4)),
    "antithetic_pathwise": (NORMAL, lambda p, k: gs.antithetic_pathwise(square, gs.Normal(), p, k, 8)),
    "antithetic_score_function": (
        NORMAL,
        lambda p, k: gs.antithetic_score_function(square, gs.Normal(), p, k, 8),
    ),
    "rqmc_pathwise": (NORMAL, lambda p, k: gs.rqmc_pathwise(square, gs.Normal(), p, k, 8, points=SOBOL8)),
    "rqmc_score_function": (
        NORMAL,
        lambda p, k: gs.rqmc_score_function(square, gs.Normal(), p, k, 8, points=SOBOL8),
    ),
    "importance_score_function": (
        NORMAL,
        lambda p, k: gs.importance_score_function(
            square,
            gs.Normal(),
            p,
            k,
            8,
            proposal=gs.Normal(),
            proposal_params={"loc": jnp.zeros(2), "scale": jnp.full(2, 2.0)},
        ),
    ),
    "vimco": (NORMAL, lambda p, k: gs.vimco(square, gs.Normal(), p, k, 4)),
    "arm": (BERNOULLI, lambda p, k: gs.arm(square, gs.Bernoulli(), p, k, 8)),
    "disarm": (BERNOULLI, lambda p, k: gs.disarm(square, gs.Bernoulli(), p, k, 8)),
    "bernoulli_straight_through": (
        BERNOULLI,
        lambda p, k: gs.bernoulli_straight_through(square, p, k, 8, temperature=0.5),
    ),
    "score_function categorical": (
        ONE_CATEGORICAL,
        lambda p, k: gs.score_function(index_cost, gs.Categorical(), p, k, 8),
    ),
    "sum_and_sample": (
        ONE_CATEGORICAL,
        lambda p, k: gs.sum_and_sample(index_cost, gs.Categorical(), p, k, 4, num_summed=2),
    ),
    "unordered_set": (ONE_CATEGORICAL, lambda p, k: gs.unordered_set(index_cost, gs.Categorical(), p, k, 3)),
    "gumbel_rao": (
        ONE_CATEGORICAL,
        lambda p, k: gs.gumbel_rao(square, gs.Categorical(), p, k, 4, temperature=0.5),
    ),
    "straight_through_expectation": (
        ONE_CATEGORICAL,
        lambda p, k: gs.straight_through_expectation(square, gs.Categorical(), p, k, 4, temperature=0.5),
    ),
    "relax categorical": (
        ONE_CATEGORICAL,
        lambda p, k: gs.relax(
            square, gs.Categorical(), p, k, 8, surrogate=lambda z, s: s * jnp.sum(z), surrogate_params=1.0
        ),
    ),
}


@pytest.mark.parametrize("variant", ["eager", "jit"])
@pytest.mark.parametrize("name", list(MORE))
def test_every_other_estimator_agrees_eagerly_and_under_jit(name: str, variant: str) -> None:
    params, estimator = MORE[name]
    run = estimator if variant == "eager" else jax.jit(estimator)
    reference = jax.jit(estimator)(params, KEY)
    got = run(params, KEY)
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(got)), name
    jax.tree.map(partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6), got, reference)


def traced_programs() -> dict[str, tuple[Any, Any]]:
    scalar = {"loc": jnp.array(0.5), "scale": jnp.array(1.5)}
    return {
        **{name: (scalar, est) for name, est in ESTIMATORS.items()},
        **{name: (BERNOULLI, est) for name, est in DISCRETE.items()},
        **MORE,
    }


@pytest.mark.parametrize("name", list(traced_programs()))
def test_no_value_check_is_staged_outside_checked(name: str) -> None:
    """A staged check, even one checkify never reads, makes the program effectful and JAX then
    dispatches every call through Python (85 µs a call against 4 µs for a one-line function)."""
    params, estimator = traced_programs()[name]
    assert jax.make_jaxpr(estimator)(params, KEY).effects == set()


def test_a_function_traced_without_checks_still_raises_under_checked() -> None:
    fn = jax.jit(normal_pathwise)
    assert jax.tree.leaves(fn(jnp.array(-1.0)))  # traced and cached without its checks
    with pytest.raises(ValueError, match=r"params\['scale'\]"):
        gs.checked(fn)(jnp.array(-1.0))  # the checked mode is part of jit's cache key
    assert jax.tree.leaves(fn(jnp.array(-1.0)))
    assert jax.make_jaxpr(fn)(jnp.array(-1.0)).effects == set()


@pytest.mark.parametrize("variant", ["eager", "jit"])
@pytest.mark.parametrize("name", [*ESTIMATORS, *DISCRETE])
def test_estimators_agree_eagerly_and_under_jit(name: str, variant: str) -> None:
    estimator = ESTIMATORS.get(name) or DISCRETE[name]
    params = BERNOULLI if name in DISCRETE else {"loc": jnp.array(0.5), "scale": jnp.array(1.5)}
    run = estimator if variant == "eager" else jax.jit(estimator)
    reference = jax.jit(estimator)(params, KEY)
    jax.tree.map(partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6), run(params, KEY), reference)


def test_batch_size_keeps_the_estimator_unbiased() -> None:
    problem = gs.gaussian_quadratic(k=0.5, loc=1.0, scale=2.0)

    def estimator(key: jax.Array) -> Any:
        return gs.score_function(problem.f, problem.dist, problem.params, key, 40, batch_size=10)

    report = gs.unbiasedness_check(estimator, problem.exact_grad(), KEY, 300)
    assert report.passed, report.z
    one = estimator(KEY)
    assert jax.tree.structure(one) == jax.tree.structure(problem.params)


@pytest.mark.parametrize("order", ["nan-first", "nan-last"])
def test_unbiasedness_check_fails_on_nan_in_any_parameter(order: str) -> None:
    def estimator(key: jax.Array) -> dict[str, jax.Array]:
        good = jax.random.normal(key)
        return {"a": good, "b": jnp.nan * good} if order == "nan-last" else {"a": jnp.nan * good, "b": good}

    report = gs.unbiasedness_check(estimator, {"a": 0.0, "b": 0.0}, KEY, 50)
    assert not report.passed
    assert np.isnan(report.max_abs_z)


def test_gumbel_softmax_overflow_is_rejected_with_the_usable_range() -> None:
    logits = jnp.array([1e30, 0.0, -1e30])
    fragment = r"\(max \|finite logit\| \+ 16\) / temperature must be <= 3.4e\+38"
    with pytest.raises(ValueError, match=fragment):
        gs.gumbel_softmax(logits, KEY, 1e-10)
    with pytest.raises(ValueError, match=fragment):
        gs.checked(jax.jit(lambda lg: gs.straight_through(lg, KEY, 1e-10)))(logits)
    # Inside the range the value is softmax((logits + g) / τ), computed exactly as written.
    moderate = jnp.array([0.5, -0.5, 1.0])
    g = gs.sample_gumbel(KEY, (3,))
    np.testing.assert_array_equal(gs.gumbel_softmax(moderate, KEY, 0.7), jax.nn.softmax((moderate + g) / 0.7))
