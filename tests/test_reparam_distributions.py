"""Tests of the implicitly reparameterized Gamma, Beta and Dirichlet distributions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.scipy.special import polygamma

import gradest
from gradest import Beta, Dirichlet, Gamma

TOL = 4.0
KEY = jax.random.key(20260406)
positive = st.floats(0.05, 20.0)


def check(estimator, exact, num_repeats=1_000, key=KEY):
    return gradest.unbiasedness_check(lambda k: estimator(key=k), exact, key, num_repeats, tolerance=TOL)


@settings(max_examples=30, deadline=None)
@given(alpha=positive, rate=positive, x=st.floats(0.01, 30.0))
def test_gamma_log_prob_matches_scipy(alpha, rate, x):
    ours = Gamma().log_prob({"concentration": alpha, "rate": rate}, jnp.asarray(x))
    theirs = scipy.stats.gamma(alpha, scale=1 / rate).logpdf(x)
    np.testing.assert_allclose(ours, theirs, rtol=2e-4, atol=2e-4)


@settings(max_examples=30, deadline=None)
@given(a=positive, b=positive, x=st.floats(0.01, 0.99))
def test_beta_log_prob_matches_scipy(a, b, x):
    ours = Beta().log_prob({"concentration1": a, "concentration0": b}, jnp.asarray(x))
    np.testing.assert_allclose(ours, scipy.stats.beta(a, b).logpdf(x), rtol=2e-4, atol=2e-4)


@settings(max_examples=30, deadline=None)
@given(alpha=st.lists(positive, min_size=2, max_size=5), seed=st.integers(0, 2**31 - 1))
def test_dirichlet_log_prob_matches_scipy(alpha, seed):
    x = np.random.default_rng(seed).dirichlet(np.ones(len(alpha)))
    x = np.clip(x, 1e-3, None)
    x = x / x.sum()
    ours = Dirichlet().log_prob({"concentration": jnp.asarray(alpha)}, jnp.asarray(x, dtype=jnp.float32))
    np.testing.assert_allclose(ours, scipy.stats.dirichlet(alpha).logpdf(x), rtol=1e-3, atol=1e-3)


def test_batched_shapes():
    alpha = jnp.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
    x = Dirichlet().sample({"concentration": alpha}, KEY, (7,))
    assert x.shape == (7, 2, 3)
    np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-5)
    assert Dirichlet().log_prob({"concentration": alpha}, x).shape == (7, 2)
    assert Dirichlet().batch_shape({"concentration": alpha}) == (2,)
    g = Gamma().rsample({"concentration": jnp.array([1.0, 2.0]), "rate": 3.0}, KEY, 5)
    assert g.shape == (5, 2) and bool((g > 0).all())
    small = {"concentration1": 0.01, "concentration0": jnp.array([0.01, 1.0])}
    b = Beta().sample(small, KEY, (4,))
    assert b.shape == (4, 2) and bool(jnp.isfinite(b).all())
    # Below the documented range the pathwise gradient would be biased: rsample refuses it.
    with pytest.raises(ValueError, match=r"params\['concentration1'\] must be >= 0.05"):
        Beta().rsample(small, KEY, (4,))
    assert Gamma.has_rsample and Beta.has_rsample and Dirichlet.has_rsample


def test_sample_means():
    cases = {
        "gamma": (Gamma(), {"concentration": 2.5, "rate": 2.0}, 1.25),
        "beta": (Beta(), {"concentration1": 2.0, "concentration0": 3.0}, 0.4),
        "dirichlet": (
            Dirichlet(),
            {"concentration": jnp.array([1.0, 2.0, 3.0])},
            jnp.array([1.0, 2.0, 3.0]) / 6,
        ),
    }
    exact = {name: jnp.asarray(mean) for name, (_, _, mean) in cases.items()}
    report = check(lambda key: {name: d.sample(p, key) for name, (d, p, _) in cases.items()}, exact)
    assert report.passed, report.z


def test_beta_and_dirichlet_gradients_unbiased():
    # Beta: E[x] = a/(a + b), so ∂a = b/(a + b)², ∂b = −a/(a + b)².
    a, b = 2.0, 3.0
    beta_params = {"concentration1": jnp.array(a), "concentration0": jnp.array(b)}
    beta_exact = {
        "concentration1": jnp.array(b / (a + b) ** 2),
        "concentration0": jnp.array(-a / (a + b) ** 2),
    }
    # Dirichlet: E[log x₀] = ψ(α₀) − ψ(Σα), so ∂α_j = ψ'(α₀)·1[j = 0] − ψ'(Σα).
    alpha = jnp.array([0.7, 2.0, 3.0])
    dir_exact = {"concentration": polygamma(1, alpha[0]) * jnp.eye(3)[0] - polygamma(1, alpha.sum())}
    beta = partial(gradest.pathwise, lambda x, _: x, Beta(), beta_params, num_samples=8)
    dirichlet = partial(
        gradest.pathwise, lambda x, _: jnp.log(x[0]), Dirichlet(), {"concentration": alpha}, num_samples=8
    )
    report = check(
        lambda key: {"beta": beta(key=key), "dirichlet": dirichlet(key=key)},
        {"beta": beta_exact, "dirichlet": dir_exact},
    )
    assert report.passed, report.z


@dataclass(frozen=True)
class NormalizedWithoutShape(Dirichlet):
    """A wrong sampler: only the normalisation carries gradient, the Gamma draws are held fixed."""

    def rsample(self, params, key, sample_shape=()):
        alpha = self.check(params)["concentration"]
        g = jax.lax.stop_gradient(jax.random.gamma(key, alpha, tuple(sample_shape) + alpha.shape))
        return g * alpha / jnp.sum(g * alpha, axis=-1, keepdims=True)


def test_wrong_dirichlet_gradient_fails_the_same_check():
    alpha = jnp.array([0.7, 2.0, 3.0])
    exact = {"concentration": polygamma(1, alpha[0]) * jnp.eye(3)[0] - polygamma(1, alpha.sum())}
    f = lambda x, _: jnp.log(x[0])
    est = partial(gradest.pathwise, f, NormalizedWithoutShape(), {"concentration": alpha}, num_samples=8)
    assert not check(est, exact).passed


@pytest.mark.parametrize(
    "dist, params, error, match",
    [
        (Gamma(), {"concentration": 0.0, "rate": 1.0}, ValueError, "concentration"),
        (Gamma(), {"concentration": 1.0, "rate": -1.0}, ValueError, "rate"),
        (Gamma(), {"concentration": jnp.ones(2), "rate": jnp.ones(3)}, ValueError, "broadcast"),
        (Gamma(), {"shape": 1.0, "rate": 1.0}, ValueError, "params"),
        (Gamma(), {"concentration": "a", "rate": 1.0}, TypeError, "concentration"),
        (Beta(), {"concentration1": -0.5, "concentration0": 1.0}, ValueError, "concentration1"),
        (Beta(), {"concentration1": 1.0, "concentration0": jnp.inf}, ValueError, "concentration0"),
        (Dirichlet(), {"concentration": jnp.array([1.0, 0.0])}, ValueError, "concentration"),
        (Dirichlet(), {"concentration": jnp.array(1.0)}, ValueError, "concentration"),
        (Dirichlet(), {"concentration": jnp.array([1.0])}, ValueError, "concentration"),
        (Dirichlet(), [1.0, 2.0], TypeError, "params"),
    ],
)
def test_bad_parameters(dist, params, error, match):
    with pytest.raises(error, match=match):
        dist.rsample(params, KEY)


def test_bad_key_and_sample_shape():
    params = {"concentration": 1.0, "rate": 1.0}
    with pytest.raises(TypeError, match="key"):
        Gamma().sample(params, 0)
    with pytest.raises(TypeError, match="sample_shape"):
        Gamma().sample(params, KEY, (-1,))
