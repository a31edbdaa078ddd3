"""Normal, Bernoulli and Categorical: densities against scipy, samplers against exact frequencies."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import gradest
from gradest import Bernoulli, Categorical, Normal

finite = st.floats(-5, 5, allow_nan=False, width=32)
positive = st.floats(0.125, 5, allow_nan=False, width=32)


@settings(max_examples=30, deadline=None)
@given(loc=finite, scale=positive, x=finite)
def test_normal_log_prob_matches_scipy(loc, scale, x):
    got = Normal().log_prob({"loc": loc, "scale": scale}, jnp.float32(x))
    np.testing.assert_allclose(got, scipy.stats.norm(loc, scale).logpdf(x), rtol=1e-4, atol=1e-4)


@settings(max_examples=30, deadline=None)
@given(logit=finite)
def test_bernoulli_log_prob_matches_scipy_for_logits_and_probs(logit):
    theta = float(jax.nn.sigmoid(logit))
    for b in (0.0, 1.0):
        expected = scipy.stats.bernoulli(theta).logpmf(b)
        np.testing.assert_allclose(Bernoulli().log_prob({"logits": logit}, b), expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(Bernoulli().log_prob({"probs": theta}, b), expected, rtol=1e-4, atol=1e-5)


def test_categorical_log_prob_matches_log_softmax_and_probs():
    logits = jnp.array([0.3, -1.2, 2.0, 0.0])
    probs = jax.nn.softmax(logits)
    for k in range(4):
        np.testing.assert_allclose(Categorical().log_prob({"logits": logits}, k), np.log(probs[k]), rtol=1e-5)
        np.testing.assert_allclose(Categorical().log_prob({"probs": probs}, k), np.log(probs[k]), rtol=1e-5)


def test_normal_rsample_moments_and_sample_blocks_gradient():
    params = {"loc": 1.5, "scale": 0.5}
    x = Normal().rsample(params, jax.random.key(0), (200_000,))
    assert abs(float(x.mean()) - 1.5) < 4 * 0.5 / np.sqrt(200_000)
    assert abs(float(x.std()) - 0.5) < 0.005
    grad_r = jax.grad(lambda p: Normal().rsample(p, jax.random.key(1)).sum())(params)
    grad_s = jax.grad(lambda p: Normal().sample(p, jax.random.key(1)).sum())(params)
    assert float(grad_r["loc"]) == 1.0 and float(grad_s["loc"]) == 0.0


def test_normal_broadcasts_batch_shapes():
    params = {"loc": jnp.zeros(3), "scale": 2.0}
    assert Normal().batch_shape(params) == (3,)
    assert Normal().rsample(params, jax.random.key(0), (5,)).shape == (5, 3)


def _chi_square_pvalue(samples, probs):
    counts = np.bincount(np.asarray(samples).ravel(), minlength=len(probs))
    support = probs > 0
    assert counts[~support].sum() == 0
    probs = np.asarray(probs, dtype=np.float64)
    expected = probs[support] / probs[support].sum() * counts.sum()
    return scipy.stats.chisquare(counts[support], expected).pvalue


def test_categorical_frequencies_with_a_zero_probability_category():
    logits = jnp.array([0.0, 1.0, -jnp.inf, -0.5])
    samples = Categorical().sample({"logits": logits}, jax.random.key(3), (50_000,))
    assert _chi_square_pvalue(samples, np.asarray(jax.nn.softmax(logits))) > 1e-3


def test_chi_square_check_rejects_a_wrong_sampler():
    """The frequency check above has power: sampling from softmax(log(logits)) fails it."""
    logits = jnp.array([0.5, 1.0, 2.0])
    wrong = jax.random.categorical(jax.random.key(3), jnp.log(logits), shape=(50_000,))
    assert _chi_square_pvalue(wrong, np.asarray(jax.nn.softmax(logits))) < 1e-6


def test_bernoulli_frequencies():
    samples = Bernoulli().sample({"logits": 0.7}, jax.random.key(4), (50_000,))
    theta = float(jax.nn.sigmoid(0.7))
    assert set(np.unique(np.asarray(samples))) <= {0.0, 1.0}
    assert abs(float(samples.mean()) - theta) < 4 * np.sqrt(theta * (1 - theta) / 50_000)


def test_minus_inf_logits_give_finite_values_and_gradients():
    logits = jnp.array([0.0, 1.0, -jnp.inf])
    value = Categorical().log_prob({"logits": logits}, 1)
    grad = jax.grad(lambda lg: Categorical().log_prob({"logits": lg}, 1))(logits)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert float(grad[2]) == 0.0
    grad_probs = jax.grad(lambda p: Categorical().log_prob({"probs": p}, 0))(jnp.array([0.5, 0.5, 0.0]))
    assert np.all(np.isfinite(grad_probs))
    grad_bern = jax.grad(lambda t: Bernoulli().log_prob({"probs": t}, 0.0))(0.0)
    assert np.isfinite(grad_bern)


def test_checks_skip_values_under_jit_but_work_on_concrete_input():
    sample = jax.jit(lambda lg: Categorical().sample({"logits": lg}, jax.random.key(0)))
    assert int(sample(jnp.array([0.0, 0.0]))) in (0, 1)


BAD_PARAMS = [
    (Normal(), {"loc": 0.0, "scale": 0.0}, ValueError, "scale"),
    (Normal(), {"loc": 0.0, "scale": -1.0}, ValueError, "scale"),
    (Normal(), {"loc": float("nan"), "scale": 1.0}, ValueError, "loc"),
    (Normal(), {"loc": jnp.zeros(3), "scale": jnp.ones(2)}, ValueError, "broadcast"),
    (Normal(), {"mean": 0.0, "scale": 1.0}, ValueError, "params"),
    (Normal(), [0.0, 1.0], TypeError, "params"),
    (Normal(), {"loc": "zero", "scale": 1.0}, TypeError, "loc"),
    (Bernoulli(), {"probs": 1.5}, ValueError, "probs"),
    (Bernoulli(), {"probs": -0.1}, ValueError, "probs"),
    (Bernoulli(), {"logits": float("nan")}, ValueError, "logits"),
    (Bernoulli(), {"logits": 0.0, "probs": 0.5}, ValueError, "params"),
    (Categorical(), {"probs": jnp.array([0.5, 0.6])}, ValueError, "simplex"),
    (Categorical(), {"logits": jnp.array([0.0, jnp.nan])}, ValueError, "NaN"),
    (Categorical(), {"logits": jnp.array([0.0, jnp.inf])}, ValueError, r"\+inf"),
    (Categorical(), {"logits": jnp.array([-jnp.inf, -jnp.inf])}, ValueError, "finite logit"),
    (Categorical(), {"logits": 1.0}, ValueError, "logits"),
]


@pytest.mark.parametrize(("dist", "params", "error", "match"), BAD_PARAMS)
def test_bad_parameters_are_rejected_with_the_argument_named(dist, params, error, match):
    with pytest.raises(error, match=match):
        dist.check(params)


def test_bad_key_and_sample_shape_are_rejected():
    with pytest.raises(TypeError, match="key"):
        Normal().sample({"loc": 0.0, "scale": 1.0}, 42)
    with pytest.raises(TypeError, match="sample_shape"):
        Normal().sample({"loc": 0.0, "scale": 1.0}, jax.random.key(0), (2.5,))


def test_families_without_a_reparameterized_sampler_say_so():
    with pytest.raises(TypeError, match="reparameterized"):
        Bernoulli().rsample({"logits": 0.0}, jax.random.key(0))


def test_public_names_are_exported():
    for name in ("Normal", "Bernoulli", "Categorical", "estimator_stats", "unbiasedness_check"):
        assert hasattr(gradest, name)
