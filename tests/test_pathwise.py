"""Tests of gradest.pathwise: unbiasedness (Normal μ and σ, Gamma α), variance, failure modes, errors."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.scipy.special import polygamma

import gradest
from gradest import Bernoulli, Gamma, Normal

TOL = 4.0
KEY = jax.random.key(20260404)


def check(estimator, exact, num_repeats=4_000, key=KEY):
    return gradest.unbiasedness_check(lambda k: estimator(key=k), exact, key, num_repeats, tolerance=TOL)


def pw(problem, num_samples=8, dist=None):
    return partial(gradest.pathwise, problem.f, dist or problem.dist, problem.params, num_samples=num_samples)


@dataclass(frozen=True)
class SquaredScaleNormal(Normal):
    """The seed's mistake: x = μ + σ²ε, which samples N(μ, σ⁴) instead of N(μ, σ²)."""

    def rsample(self, params, key, sample_shape=()):
        p = self.check(params)
        eps = jax.random.normal(key, tuple(sample_shape) + self.batch_shape(p))
        return p["loc"] + p["scale"] ** 2 * eps


@pytest.mark.parametrize(
    "problem",
    [
        gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5),
        gradest.gaussian_exp(k=0.7, loc=0.4, scale=0.8),
        gradest.gaussian_cos(k=1.3, loc=jnp.array([0.2, -0.7]), scale=jnp.array([0.8, 1.1])),
    ],
    ids=["quadratic", "exp", "cos-batch"],
)
def test_normal_loc_and_scale_unbiased(problem):
    report = check(pw(problem), problem.exact_grad())
    assert report.passed, report.max_abs_z


def test_squared_scale_reparameterization_fails_the_same_check():
    problem = gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5)
    report = check(pw(problem, dist=SquaredScaleNormal()), problem.exact_grad())
    assert not report.passed
    assert report.max_abs_z > 20


def test_gamma_concentration_and_rate_unbiased():
    # E[x] = α/β and E[log x] = ψ(α) − log β: gradients 1/β, −α/β² and ψ'(α), −1/β.
    alpha, rate = jnp.array([0.5, 3.0]), jnp.array([1.0, 2.0])
    params = {"concentration": alpha, "rate": rate}
    mean_exact = {"concentration": 1 / rate, "rate": -alpha / rate**2}
    log_exact = {"concentration": polygamma(1, alpha), "rate": -1 / rate}
    for f, exact in [(lambda x, _: jnp.sum(x), mean_exact), (lambda x, _: jnp.sum(jnp.log(x)), log_exact)]:
        report = check(partial(gradest.pathwise, f, Gamma(), params, num_samples=4), exact, num_repeats=1_000)
        assert report.passed, report.max_abs_z


@dataclass(frozen=True)
class ScaleLikeGamma(Gamma):
    """A wrong implicit gradient: dx/dα = x/α, as if α only scaled the sample."""

    def rsample(self, params, key, sample_shape=()):
        p = self.check(params)
        x = jax.lax.stop_gradient(super().rsample(params, key, sample_shape))
        alpha = p["concentration"]
        return alpha * (x / jax.lax.stop_gradient(alpha))


def test_wrong_gamma_gradient_fails_the_same_check():
    params = {"concentration": jnp.array(0.5), "rate": jnp.array(1.0)}
    exact = {"concentration": polygamma(1, jnp.array(0.5)), "rate": jnp.array(-1.0)}
    f = lambda x, _: jnp.log(x)
    report = check(
        partial(gradest.pathwise, f, ScaleLikeGamma(), params, num_samples=4), exact, num_repeats=1_000
    )
    assert not report.passed


def test_single_sample_loc_variance_is_four_sigma_squared():
    # For (x − k)², the μ-gradient 2(μ + σε − k) is Gaussian with variance 4σ²; the sample variance
    # of R draws has relative standard error sqrt(2/(R − 1)).
    sigma, repeats = 1.5, 8_000
    problem = gradest.gaussian_quadratic(k=2.0, loc=1.0, scale=sigma)
    stats = gradest.estimator_stats(lambda k: pw(problem, 1)(key=k), KEY, repeats)
    rel_se = np.sqrt(2 / (repeats - 1))
    assert abs(float(stats.variance["loc"]) / (4 * sigma**2) - 1) < TOL * rel_se


@settings(max_examples=25, deadline=None)
@given(
    loc=st.floats(-3, 3),
    scale=st.floats(0.1, 3),
    k=st.floats(-3, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_matches_from_scratch_location_scale_formula(loc, scale, k, seed):
    key = jax.random.key(seed)
    eps = jax.random.normal(key, (5,))
    x = loc + scale * eps
    g = gradest.pathwise(lambda x, _: (x - k) ** 2, Normal(), {"loc": loc, "scale": scale}, key, 5)
    np.testing.assert_allclose(g["loc"], np.mean(2 * (x - k)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(g["scale"], np.mean(2 * (x - k) * eps), rtol=1e-4, atol=1e-4)


def test_cost_depending_on_params_gets_both_terms():
    # E[(x − μ)²] = σ²: ∂μ = 0, ∂σ = 2σ.
    f = lambda x, p: (x - p["loc"]) ** 2
    exact = {"loc": jnp.array(0.0), "scale": jnp.array(3.0)}
    params = {"loc": jnp.array(0.3), "scale": jnp.array(1.5)}
    assert check(partial(gradest.pathwise, f, Normal(), params, num_samples=4), exact).passed


def test_integer_params_are_accepted():
    g = gradest.pathwise(lambda x, _: x, Normal(), {"loc": 1, "scale": 2}, KEY, 3)
    assert float(g["loc"]) == pytest.approx(1.0)


def test_jit_and_vmap_over_keys():
    problem = gradest.gaussian_quadratic(k=0.5)
    est = jax.jit(jax.vmap(lambda k: pw(problem, 4)(key=k)))
    out = est(jax.random.split(KEY, 3))
    assert out["loc"].shape == (3,)


def test_discontinuous_cost_gives_silently_wrong_zero_gradient():
    """Documented failure mode: f = 1[x > k] has zero derivative almost everywhere."""
    problem = gradest.gaussian_threshold(k=0.0, loc=1.0, scale=1.0)
    g = gradest.pathwise(problem.f, problem.dist, problem.params, KEY, 1_000)
    assert float(g["loc"]) == 0.0 and float(g["scale"]) == 0.0
    assert float(problem.exact_grad()["loc"]) > 0.2


def test_distribution_without_reparameterized_sampler_is_refused():
    with pytest.raises(TypeError, match="dist"):
        gradest.pathwise(lambda b, _: b, Bernoulli(), {"logits": jnp.array(0.0)}, KEY, 4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"params": {"loc": 0.0, "scale": 0.0}}, ValueError, "scale"),
        ({"params": {"loc": 0.0, "scale": -1.0}}, ValueError, "scale"),
        ({"params": {"concentration": 0.0, "rate": 1.0}, "dist": Gamma()}, ValueError, "concentration"),
        ({"params": {"concentration": 1.0, "rate": -2.0}, "dist": Gamma()}, ValueError, "rate"),
        ({"num_samples": 0}, ValueError, "num_samples"),
        ({"f": "not a function"}, TypeError, "f"),
        ({"key": 0}, TypeError, "key"),
        ({"dist": object()}, TypeError, "dist"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {
        "f": lambda x, _: x,
        "dist": Normal(),
        "params": {"loc": 0.0, "scale": 1.0},
        "key": KEY,
        "num_samples": 4,
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        gradest.pathwise(args["f"], args["dist"], args["params"], args["key"], args["num_samples"])
