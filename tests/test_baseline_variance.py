"""Tests of gradest.baseline_variance against closed forms, enumeration and Monte Carlo."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest
from gradest import baseline_variance as bv

KEY = jax.random.key(11)


def gaussian_moments(k: float, loc: float, scale: float) -> bv.ScoreMoments:
    problem = gradest.gaussian_quadratic(k=k, loc=loc, scale=scale)
    points, weights = bv.normal_quadrature(problem.params)
    return bv.score_moments(problem.f, problem.dist, problem.params, points, weights)


@pytest.mark.parametrize(("k", "loc", "scale"), [(0.0, 1.0, 1.0), (2.0, 0.5, 1.5), (8.0, 0.0, 1.0)])
def test_gaussian_closed_forms(k, loc, scale):
    # d = mu - k: Var[f s_mu] = d^4/s^2 + 14 d^2 + 15 s^2, b*_mu = d^2 + 3 s^2, b*_sigma = d^2 + 5 s^2,
    # Var at b*_mu = 8 d^2 + 6 s^2 (derived in the score-function and control-variate chapters).
    d = loc - k
    m = gaussian_moments(k, loc, scale)
    b = bv.optimal_constant_baseline(m)
    np.testing.assert_allclose(m.f_s["loc"], 2 * d, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(b["loc"], d**2 + 3 * scale**2, rtol=1e-4)
    np.testing.assert_allclose(b["scale"], d**2 + 5 * scale**2, rtol=1e-4)
    var0 = bv.variance_at_baseline(m, 0.0)["loc"]
    np.testing.assert_allclose(var0, d**4 / scale**2 + 14 * d**2 + 15 * scale**2, rtol=1e-3)
    np.testing.assert_allclose(bv.variance_at_baseline(m, b)["loc"], 8 * d**2 + 6 * scale**2, rtol=2e-3)


def test_categorical_enumeration_matches_monte_carlo():
    problem = gradest.categorical_table(
        jnp.array([2.0, 0.5, 1.0, 3.0]), logits=jnp.array([0.3, -1.0, 0.0, 0.5])
    )
    points = jnp.arange(4)
    weights = jnp.exp(problem.dist.log_prob(problem.params, points))
    m = bv.score_moments(problem.f, problem.dist, problem.params, points, weights)
    b = bv.optimal_constant_baseline(m)
    exact_var = np.asarray(bv.variance_at_baseline(m, b)["logits"])
    stats = gradest.estimator_stats(
        lambda k: bv.score_function_with_baselines(problem.f, problem.dist, problem.params, k, 1, b),
        KEY,
        100_000,
    )
    np.testing.assert_allclose(np.asarray(stats.variance["logits"]), exact_var, rtol=0.03)
    np.testing.assert_allclose(
        np.asarray(stats.mean["logits"]),
        np.asarray(problem.exact_grad()["logits"]),
        atol=4 * float(jnp.max(stats.stderr["logits"])),
    )
    # b* is the minimum of the parabola: any other constant has a larger variance.
    for shift in (-0.05, 0.05):
        other = jax.tree.map(lambda x, shift=shift: x + shift, b)
        assert np.all(np.asarray(bv.variance_at_baseline(m, other)["logits"]) > exact_var)


def test_estimator_with_baselines_is_unbiased_and_a_wrong_one_is_caught():
    problem = gradest.gaussian_quadratic(k=3.0, loc=0.0, scale=1.0)
    baselines = {"loc": jnp.array(12.0), "scale": jnp.array(14.0)}
    exact = problem.exact_grad()
    est = lambda k: bv.score_function_with_baselines(problem.f, problem.dist, problem.params, k, 8, baselines)
    assert gradest.unbiasedness_check(est, exact, KEY, 20_000).passed

    # A baseline that depends on the sample it multiplies is caught by the same check.
    def wrong(key):
        terms = gradest.score_terms(problem.f, problem.dist, problem.params, key, 8)
        return jax.tree.map(lambda s: jnp.mean((terms.f_values - terms.f_values.mean()) * s), terms.scores)

    assert not gradest.unbiasedness_check(wrong, exact, KEY, 20_000).passed


def test_bad_inputs_raise():
    problem = gradest.gaussian_quadratic()
    with pytest.raises(ValueError, match="weights"):
        bv.score_moments(problem.f, problem.dist, problem.params, jnp.zeros(3), jnp.ones(4))
    with pytest.raises(ValueError, match="order"):
        bv.normal_quadrature(problem.params, 0)
    with pytest.raises(ValueError, match="baselines"):
        bv.score_function_with_baselines(
            problem.f, problem.dist, problem.params, KEY, 4, {"loc": jnp.array(0.0)}
        )
