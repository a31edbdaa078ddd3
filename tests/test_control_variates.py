"""Tests of gradest.control_variates: unbiasedness of each baseline, the measured biases, bad input."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import gradest
from gradest import control_variates as cv

TOL = 4.0
KEY = jax.random.key(7)
N = 4

PROBLEMS = [
    gradest.gaussian_quadratic(k=2.0, loc=0.5, scale=1.2),
    gradest.bernoulli_quadratic(t=0.45, logits=jnp.array([0.0, 1.5])),
    gradest.categorical_table(jnp.array([1.0, -2.0, 0.5, 3.0]), logits=jnp.array([0.0, -jnp.inf, 1.0, 0.5])),
]
IDS = ["normal", "bernoulli", "categorical-neginf"]


def check(estimator, exact, num_repeats=20_000, key=KEY):
    return gradest.unbiasedness_check(estimator, exact, key, num_repeats, tolerance=TOL, batch_size=5_000)


def sf(problem, num_samples=N, **kwargs):
    return lambda k: gradest.score_function(problem.f, problem.dist, problem.params, k, num_samples, **kwargs)


def scale_tree(tree, c):
    return jax.tree.map(lambda x: c * x, tree)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_rloo_is_unbiased_and_batch_mean_is_not(problem):
    exact = problem.exact_grad()
    assert check(sf(problem, baseline=cv.rloo), exact).passed
    biased = check(sf(problem, baseline=cv.batch_mean), exact)
    assert not biased.passed
    # The same-sample mean shrinks the estimate by exactly (N - 1)/N.
    z = gradest.z_scores(biased.stats, scale_tree(exact, (N - 1) / N))
    assert max(float(jnp.max(jnp.abs(leaf))) for leaf in jax.tree.leaves(z)) < TOL


def test_rloo_values_and_variance_reduction():
    np.testing.assert_allclose(
        cv.rloo(jnp.array([1.0, 2.0, 3.0, 6.0])), [11 / 3, 10 / 3, 3.0, 2.0], rtol=1e-6
    )
    problem = PROBLEMS[0]
    plain = gradest.estimator_stats(sf(problem), KEY, 5_000)
    loo = gradest.estimator_stats(sf(problem, baseline=cv.rloo), KEY, 5_000)
    assert float(loo.variance["loc"]) < 0.8 * float(plain.variance["loc"])


def test_group_normalized_is_biased_where_the_chapter_says():
    problem = gradest.bernoulli_quadratic(t=0.45, logits=0.0)
    exact = problem.exact_grad()
    report = check(sf(problem, baseline=cv.group_normalized), exact)
    assert not report.passed
    # Not the gradient of the standardised objective either: E[f]/sd(f) has gradient g/sd(f) here
    # because sd(f) is stationary at θ = 1/2.
    theta = 0.5
    sd_f = np.sqrt(theta * (1 - theta)) * abs((1 - 0.45) ** 2 - 0.45**2)
    z = gradest.z_scores(report.stats, scale_tree(exact, 1 / sd_f))
    assert abs(float(z["logits"])) > TOL


@settings(max_examples=15, deadline=None)
@given(arrays(np.float32, st.sampled_from([2, 5, 16]), elements=st.floats(-100, 100, width=32)))
def test_group_normalized_advantages_are_standardised(f_values):
    adv = np.asarray(cv.group_normalized_advantages(jnp.asarray(f_values)))
    assert np.isfinite(adv).all()
    if np.ptp(f_values) == 0:
        np.testing.assert_array_equal(adv, 0.0)
    if np.std(f_values, ddof=1) > 1e-2:
        assert abs(adv.mean()) < 1e-3
        assert abs(np.std(adv, ddof=1) - 1) < 1e-2
    b = np.asarray(cv.group_normalized(jnp.asarray(f_values)))
    np.testing.assert_allclose(f_values - b, adv, atol=1e-3)


def test_group_of_equal_costs_has_zero_advantage():
    np.testing.assert_array_equal(cv.group_normalized_advantages(jnp.full(5, 3.0)), np.zeros(5))


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_optimal_baseline_leave_one_out_is_unbiased(problem):
    exact = problem.exact_grad()
    est = partial(cv.optimal_baseline_score_function, problem.f, problem.dist, problem.params, num_samples=N)
    assert check(lambda k: est(key=k), exact).passed


def test_optimal_baseline_from_the_same_samples_is_biased():
    problem = PROBLEMS[0]
    est = partial(
        cv.optimal_baseline_score_function,
        problem.f,
        problem.dist,
        problem.params,
        num_samples=3,
        leave_one_out=False,
    )
    assert not check(lambda k: est(key=k), problem.exact_grad()).passed


def test_optimal_baseline_beats_plain_and_handles_parameter_dependent_cost():
    problem = PROBLEMS[0]
    est = partial(cv.optimal_baseline_score_function, problem.f, problem.dist, problem.params, num_samples=16)
    opt = gradest.estimator_stats(lambda k: est(key=k), KEY, 2_000)
    plain = gradest.estimator_stats(sf(problem, 16), KEY, 2_000)
    for leaf_opt, leaf_plain in zip(
        jax.tree.leaves(opt.variance), jax.tree.leaves(plain.variance), strict=True
    ):
        assert float(leaf_opt) < float(leaf_plain)
    f = lambda x, p: (x - p["loc"] * 0.5) ** 2
    exact = jax.grad(lambda p: (0.5 * p["loc"]) ** 2 + p["scale"] ** 2)(problem.params)
    est = partial(cv.optimal_baseline_score_function, f, problem.dist, problem.params, num_samples=N)
    assert check(lambda k: est(key=k), exact).passed


def test_moving_average_is_a_debiased_ema_and_scans():
    state = cv.moving_average_init()
    assert float(cv.moving_average_value(state)) == 0.0
    batches = jnp.array([[1.0, 3.0], [5.0, 5.0], [0.0, 2.0]])
    for batch in batches:
        state = cv.moving_average_update(state, batch, decay=0.5)
    means = np.array([2.0, 5.0, 1.0])
    weights = 0.5 * 0.5 ** np.arange(2, -1, -1)
    np.testing.assert_allclose(cv.moving_average_value(state), (weights @ means) / weights.sum(), rtol=1e-6)

    def step(s, batch):
        return cv.moving_average_update(s, batch, decay=0.5), cv.moving_average_value(s)

    final, _ = jax.jit(lambda b: jax.lax.scan(step, cv.moving_average_init(), b))(batches)
    np.testing.assert_allclose(cv.moving_average_value(final), cv.moving_average_value(state), rtol=1e-6)


def test_baselines_from_other_samples_are_unbiased():
    problem = PROBLEMS[0]

    def est(key):
        k_old, k_new = jax.random.split(key)
        old = gradest.score_terms(problem.f, problem.dist, problem.params, k_old, N).f_values
        state = cv.moving_average_update(cv.moving_average_init(), old, decay=0.9)
        b = cv.moving_average_value(state)
        return gradest.score_function(problem.f, problem.dist, problem.params, k_new, N, baseline=b)

    assert check(est, problem.exact_grad()).passed
    assert check(sf(problem, baseline=cv.constant(3.0)), problem.exact_grad()).passed


def test_control_variate_with_known_mean():
    mu = 0.4
    x = mu + jax.random.normal(KEY, (200_000,))
    g, h = jnp.exp(x), x
    rho = np.corrcoef(np.asarray(g), np.asarray(h))[0, 1]
    c = cv.optimal_coefficient(g, h)
    np.testing.assert_allclose(c, jnp.cov(g, h)[0, 1] / jnp.var(h, ddof=1), rtol=1e-3)

    def estimate(key, coefficient):
        xs = mu + jax.random.normal(key, (8,))
        return cv.with_control_variate(jnp.exp(xs), xs, jnp.asarray(mu), coefficient=coefficient)

    exact = jnp.exp(mu + 0.5)
    fixed = check(lambda k: estimate(k, c), exact, num_repeats=10_000)
    assert fixed.passed
    plain = gradest.estimator_stats(lambda k: jnp.mean(jnp.exp(mu + jax.random.normal(k, (8,)))), KEY, 10_000)
    ratio = float(fixed.stats.variance / plain.variance)
    assert abs(ratio - (1 - rho**2)) < 0.05
    np.testing.assert_allclose(cv.optimal_coefficient(g, g), 1.0, rtol=1e-5)
    assert float(cv.optimal_coefficient(g, jnp.ones_like(g))) == 0.0


def test_control_variate_on_gradient_pytrees():
    problem = PROBLEMS[0]

    def est(key):
        terms = gradest.score_terms(problem.f, problem.dist, problem.params, key, 64)
        per_sample = jax.tree.map(lambda s: terms.f_values * s, terms.scores)
        # The score has known mean zero: the optimal coefficient makes it the batch optimal baseline.
        return cv.with_control_variate(per_sample, terms.scores, jax.tree.map(jnp.zeros_like, problem.params))

    stats = gradest.estimator_stats(est, KEY, 2_000)
    plain = gradest.estimator_stats(sf(problem, 64), KEY, 2_000)
    assert float(stats.variance["loc"]) < 0.5 * float(plain.variance["loc"])


class TestBadInput:
    problem = PROBLEMS[0]

    def test_rloo_needs_two_samples(self):
        with pytest.raises(ValueError, match="num_samples"):
            gradest.score_function(
                self.problem.f, self.problem.dist, self.problem.params, KEY, 1, baseline=cv.rloo
            )

    def test_group_normalized_needs_two_samples(self):
        with pytest.raises(ValueError, match="num_samples"):
            cv.group_normalized(jnp.ones(1))

    def test_optimal_baseline_leave_one_out_needs_two_samples(self):
        with pytest.raises(ValueError, match="num_samples"):
            cv.optimal_baseline_score_function(self.problem.f, self.problem.dist, self.problem.params, KEY, 1)

    def test_optimal_baseline_rejects_non_callable_f(self):
        with pytest.raises(TypeError, match="f must be callable"):
            cv.optimal_baseline_score_function(None, self.problem.dist, self.problem.params, KEY, 4)

    def test_optimal_baseline_rejects_mismatched_params(self):
        with pytest.raises(ValueError, match="params"):
            cv.optimal_baseline_score_function(self.problem.f, self.problem.dist, {"loc": 1.0}, KEY, 4)

    def test_f_values_must_be_one_dimensional(self):
        with pytest.raises(ValueError, match="f_values"):
            cv.rloo(jnp.ones((2, 3)))

    def test_eps_must_be_positive(self):
        with pytest.raises(ValueError, match="eps"):
            cv.group_normalized_advantages(jnp.arange(3.0), eps=0.0)

    def test_constant_must_be_a_finite_scalar(self):
        with pytest.raises(ValueError, match="value"):
            cv.constant(jnp.ones(2))
        with pytest.raises(ValueError, match="value"):
            cv.constant(float("nan"))

    def test_moving_average_decay_and_state(self):
        with pytest.raises(ValueError, match="decay"):
            cv.moving_average_update(cv.moving_average_init(), jnp.ones(2), decay=1.0)
        with pytest.raises(TypeError, match="state"):
            cv.moving_average_update((0.0, 0.0), jnp.ones(2))
        with pytest.raises(TypeError, match="state"):
            cv.moving_average_value({"total": 0.0})

    def test_mismatched_control_pytrees(self):
        g = {"loc": jnp.ones((4,)), "scale": jnp.ones((4,))}
        with pytest.raises(ValueError, match="controls"):
            cv.with_control_variate(g, {"loc": jnp.ones((4,))}, {"loc": 0.0, "scale": 0.0})
        with pytest.raises(ValueError, match="controls"):
            cv.optimal_coefficient(g, {"loc": jnp.ones((4,)), "scale": jnp.ones((5,))})
        with pytest.raises(ValueError, match="control_mean"):
            cv.with_control_variate(g, g, {"loc": jnp.zeros(()), "sigma": jnp.zeros(())})
        with pytest.raises(ValueError, match="coefficient"):
            cv.with_control_variate(g, g, jax.tree.map(lambda x: x[0], g), coefficient=[1.0, 2.0, 3.0])

    def test_optimal_coefficient_needs_two_samples(self):
        with pytest.raises(ValueError, match="N >= 2"):
            cv.optimal_coefficient(jnp.ones((1,)), jnp.ones((1,)))
