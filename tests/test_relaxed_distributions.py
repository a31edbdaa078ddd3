"""Tests of the Gumbel, RelaxedCategorical (Concrete) and RelaxedBernoulli (Binary Concrete) families.

Densities are checked against scipy, by numerical integration (one dimension) and by importance
sampling from the uniform distribution on the 2-simplex; samples are checked against the CDFs the
densities imply. Each check is shown to reject a deliberately wrong variant.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special, stats

import gradest
from gradest import Gumbel, RelaxedBernoulli, RelaxedCategorical

N = 100_000
KEY = jax.random.key(0)


def binary_concrete_cdf(x, logit, tau):
    """P(X <= x) = σ(τ logit(x) − η): X <= x exactly when η + L <= τ logit(x)."""
    return special.expit(tau * special.logit(x) - logit)


# --- Gumbel ---------------------------------------------------------------------------------------


def test_gumbel_log_prob_matches_scipy():
    params = {"loc": jnp.array([0.0, 1.5]), "scale": jnp.array([1.0, 0.5])}
    x = jnp.linspace(-3, 6, 31)[:, None]
    expected = stats.gumbel_r.logpdf(np.asarray(x), loc=[0.0, 1.5], scale=[1.0, 0.5])
    np.testing.assert_allclose(Gumbel().log_prob(params, x), expected, rtol=1e-5, atol=1e-5)


def test_gumbel_samples_and_pathwise_gradient():
    params = {"loc": 1.5, "scale": 0.5}
    x = np.asarray(Gumbel().sample(params, KEY, (N,)))
    assert stats.kstest(x, stats.gumbel_r(loc=1.5, scale=0.5).cdf).pvalue > 1e-3
    assert stats.kstest(x, stats.gumbel_l(loc=1.5, scale=0.5).cdf).pvalue < 1e-8  # mirrored: wrong
    # E[x] = μ + γβ, so the pathwise gradient is (1, γ) for every sample: exactly, up to rounding.
    grad = gradest.pathwise(lambda s, _: s, Gumbel(), params, KEY, 1000)
    np.testing.assert_allclose(float(grad["loc"]), 1.0, rtol=1e-6)
    np.testing.assert_allclose(float(grad["scale"]), np.euler_gamma, atol=0.05)


# --- RelaxedBernoulli -----------------------------------------------------------------------------


def wrong_binary_concrete_log_prob(x, logit, tau):
    """The density with exponent −τ instead of −τ−1: it does not integrate to 1."""
    return (
        np.log(tau)
        + logit
        - tau * (np.log(x) + np.log1p(-x))
        - 2 * np.logaddexp(logit - tau * np.log(x), -tau * np.log1p(-x))
    )


@pytest.mark.parametrize(("logit", "tau"), [(0.0, 1.0), (1.3, 0.5), (-0.7, 2.0), (0.4, 0.3)])
def test_relaxed_bernoulli_density_is_the_derivative_of_its_cdf(logit, tau):
    x = np.linspace(0.01, 0.99, 99)
    h = 1e-6
    slope = (binary_concrete_cdf(x + h, logit, tau) - binary_concrete_cdf(x - h, logit, tau)) / (2 * h)
    density = np.exp(np.asarray(RelaxedBernoulli(tau).log_prob({"logits": logit}, jnp.asarray(x)), float))
    np.testing.assert_allclose(density, slope, rtol=1e-4)
    wrong = np.exp(wrong_binary_concrete_log_prob(x, logit, tau))
    assert np.max(np.abs(wrong / slope - 1)) > 0.1


@pytest.mark.parametrize(("logit", "tau"), [(0.0, 1.0), (-0.7, 2.0)])
def test_relaxed_bernoulli_density_integrates_to_one(logit, tau):
    # For τ >= 1 the density is bounded, so plain quadrature applies (for τ < 1 it has integrable
    # singularities at 0 and 1, covered by the CDF test above).
    density = jax.jit(lambda x: jnp.exp(RelaxedBernoulli(tau).log_prob({"logits": logit}, x)))
    # float32 densities: ask quad for no more than float32 can give.
    total, _ = integrate.quad(lambda x: float(density(x)), 0, 1, epsabs=1e-5, epsrel=1e-5, limit=200)
    assert abs(total - 1) < 1e-3
    wrong, _ = integrate.quad(lambda x: np.exp(wrong_binary_concrete_log_prob(x, logit, tau)), 0, 1)
    assert abs(wrong - 1) > 1e-2


@pytest.mark.parametrize("tau", [0.1, 1.0, 5.0])
def test_relaxed_bernoulli_above_half_with_probability_sigmoid_logit(tau):
    logit = 0.8
    x = RelaxedBernoulli(tau).sample({"logits": logit}, KEY, (N,))
    theta = float(jax.nn.sigmoid(logit))
    z = (float(jnp.mean(x > 0.5)) - theta) / np.sqrt(theta * (1 - theta) / N)
    assert abs(z) < 4
    # Wrong variant: Gumbel noise in place of logistic noise shifts P(X > 1/2).
    g = gradest.sample_gumbel(KEY, (N,))
    wrong = jax.nn.sigmoid((logit + g) / tau)
    z_wrong = (float(jnp.mean(wrong > 0.5)) - theta) / np.sqrt(theta * (1 - theta) / N)
    assert abs(z_wrong) > 10


def test_relaxed_bernoulli_samples_follow_the_cdf():
    logit, tau = -0.4, 0.6
    x = np.asarray(RelaxedBernoulli(tau).sample({"logits": logit}, KEY, (N,)), dtype=float)
    x = x[(x > 0) & (x < 1)]  # float32 rounding may put a few samples on the ends
    assert stats.kstest(x, lambda t: binary_concrete_cdf(t, logit, tau)).pvalue > 1e-3
    assert stats.kstest(x, lambda t: binary_concrete_cdf(t, logit, 2 * tau)).pvalue < 1e-8


# --- RelaxedCategorical ---------------------------------------------------------------------------


def test_two_category_concrete_is_the_binary_concrete():
    tau, logit = 0.7, 0.9
    u = jnp.linspace(0.01, 0.99, 50)
    x = jnp.stack([u, 1 - u], axis=-1)
    concrete = RelaxedCategorical(tau).log_prob({"logits": jnp.array([logit, 0.0])}, x)
    binary = RelaxedBernoulli(tau).log_prob({"logits": logit}, u)
    np.testing.assert_allclose(concrete, binary, rtol=1e-4, atol=1e-5)
    samples = RelaxedCategorical(tau).sample({"logits": jnp.array([logit, 0.0])}, KEY, (N,))
    first = np.asarray(samples[:, 0], dtype=float)
    first = first[(first > 0) & (first < 1)]
    assert stats.kstest(first, lambda t: binary_concrete_cdf(t, logit, tau)).pvalue > 1e-3


@pytest.mark.parametrize("tau", [1.0, 2.0])
def test_concrete_density_integrates_to_one_on_the_simplex(tau):
    # E_{x ~ Dirichlet(1,1,1)}[p(x) / 2] = ∫ p = 1: the uniform density on the 2-simplex is 2.
    e = jax.random.exponential(KEY, (400_000, 3))
    x = e / e.sum(-1, keepdims=True)
    params = {"logits": jnp.array([0.5, -0.3, 1.0])}
    w = jnp.exp(RelaxedCategorical(tau).log_prob(params, x)) / 2
    mean, se = float(w.mean()), float(w.std()) / np.sqrt(len(w))
    assert abs(mean - 1) < max(4 * se, 1e-3)
    # Wrong variant: the normaliser K! instead of (K-1)! is off by a factor K = 3.
    assert abs(3 * mean - 1) > 100 * se


def test_concrete_with_minus_inf_logit_is_the_concrete_of_the_rest():
    tau = 0.8
    full = {"logits": jnp.array([0.5, -jnp.inf, 1.0])}
    x = RelaxedCategorical(tau).sample(full, KEY, (100,))
    assert bool((x[:, 1] == 0).all())
    reduced = RelaxedCategorical(tau).log_prob({"logits": jnp.array([0.5, 1.0])}, x[:, [0, 2]])
    np.testing.assert_allclose(RelaxedCategorical(tau).log_prob(full, x), reduced, rtol=1e-5)
    grad = jax.grad(lambda logits: RelaxedCategorical(tau).log_prob({"logits": logits}, x).sum())(
        full["logits"]
    )
    assert bool(jnp.isfinite(grad).all()) and float(grad[1]) == 0.0
    pathwise = gradest.pathwise(lambda s, _: s @ jnp.arange(3.0), RelaxedCategorical(tau), full, KEY, 100)
    assert bool(jnp.isfinite(pathwise["logits"]).all())


def test_relaxed_families_are_static_and_hashable():
    assert RelaxedCategorical(0.5) == RelaxedCategorical(temperature=0.5)
    assert hash(RelaxedCategorical(0.5)) == hash(RelaxedCategorical(0.5))
    assert RelaxedBernoulli(1).temperature == 1.0
    draw = jax.jit(lambda d, p, k: d.sample(p, k, (3,)), static_argnums=0)
    assert draw(RelaxedCategorical(0.5), {"logits": jnp.zeros(4)}, KEY).shape == (3, 4)
    assert RelaxedCategorical(0.5).batch_shape({"logits": jnp.zeros((2, 4))}) == (2,)


@pytest.mark.parametrize("family", [RelaxedCategorical, RelaxedBernoulli])
@pytest.mark.parametrize(
    ("temperature", "error"),
    [
        (0.0, ValueError),
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1", TypeError),
        (True, TypeError),
        (None, TypeError),
        (np.ones(2), TypeError),
    ],
)
def test_bad_temperature_is_rejected(family, temperature, error):
    with pytest.raises(error, match="temperature"):
        family(temperature)


def test_traced_temperature_is_rejected():
    with pytest.raises(TypeError, match="temperature"):
        jax.jit(lambda t: RelaxedCategorical(t).sample({"logits": jnp.zeros(2)}, KEY))(1.0)


@pytest.mark.parametrize(
    ("dist", "params", "error", "match"),
    [
        (RelaxedCategorical(1.0), {"probs": jnp.ones(2) / 2}, ValueError, "params"),
        (RelaxedCategorical(1.0), {"logits": jnp.array([0.0, jnp.nan])}, ValueError, "logits"),
        (RelaxedCategorical(1.0), {"logits": jnp.array([-jnp.inf, -jnp.inf])}, ValueError, "logits"),
        (RelaxedCategorical(1.0), {"logits": 0.0}, ValueError, "logits"),
        (RelaxedBernoulli(1.0), {"logits": jnp.inf}, ValueError, "logits"),
        (RelaxedBernoulli(1.0), {"logits": jnp.nan}, ValueError, "logits"),
        (RelaxedBernoulli(1.0), {"probs": 0.5}, ValueError, "params"),
        (Gumbel(), {"loc": 0.0, "scale": 0.0}, ValueError, "scale"),
        (Gumbel(), {"loc": jnp.nan, "scale": 1.0}, ValueError, "loc"),
        (Gumbel(), {"loc": 0.0}, ValueError, "params"),
        (Gumbel(), {"loc": jnp.zeros(2), "scale": jnp.ones(3)}, ValueError, "broadcast"),
    ],
)
def test_bad_params_are_rejected(dist, params, error, match):
    with pytest.raises(error, match=match):
        dist.sample(params, KEY)
