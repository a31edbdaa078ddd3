"""Tests of gradest.gumbel: Gumbel noise, Gumbel-max, Gumbel-top-k, Gumbel-softmax, straight-through.

Statistical tests use fixed keys. Frequencies are compared with exact probabilities by a chi-square
test that passes at p > 1e-3 and, for the deliberately wrong variant, fails at p < 1e-8.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import gradest
from gradest import gumbel

N = 100_000
LOGITS = jnp.array([0.5, -jnp.inf, 1.0, -1.0, 2.0])
PASS_P, FAIL_P = 1e-3, 1e-8


def chi_square_p(samples, probs):
    """p-value of the observed category counts against ``probs`` (zero-probability cells excluded)."""
    counts = np.bincount(np.asarray(samples).ravel(), minlength=len(probs))
    probs = np.asarray(probs, dtype=float)
    support = probs > 0
    assert counts[~support].sum() == 0
    expected = probs[support] / probs[support].sum() * counts.sum()
    return stats.chisquare(counts[support], expected).pvalue


def test_sample_gumbel_matches_the_standard_gumbel():
    g = np.asarray(gumbel.sample_gumbel(jax.random.key(0), (N,)))
    assert np.isfinite(g).all()
    assert stats.kstest(g, stats.gumbel_r.cdf).pvalue > PASS_P
    # Wrong variant: -log(u) is exponential, not Gumbel.
    u = np.asarray(jax.random.uniform(jax.random.key(0), (N,)))
    assert stats.kstest(-np.log(u), stats.gumbel_r.cdf).pvalue < FAIL_P


def test_sample_gumbel_is_finite_at_the_ends_of_the_unit_interval():
    g = gumbel.sample_gumbel(jax.random.key(1), (2_000_000,))
    assert bool(jnp.isfinite(g).all())
    assert float(g.min()) > -5.0 and float(g.max()) < 17.0


def test_gumbel_max_frequencies_match_softmax_including_minus_inf():
    samples = gumbel.gumbel_max(LOGITS, jax.random.key(2), (N,))
    assert samples.shape == (N,)
    assert chi_square_p(samples, jax.nn.softmax(LOGITS)) > PASS_P


def test_gumbel_max_of_log_logits_fails_the_same_check():
    # The seed's mistake: softmax/argmax of log(logits) samples in proportion to the logits themselves.
    logits = jnp.array([1.0, 2.0, 3.0, 0.5])
    wrong = gumbel.gumbel_max(jnp.log(logits), jax.random.key(2), (N,))
    assert chi_square_p(wrong, jax.nn.softmax(logits)) < FAIL_P
    right = gumbel.gumbel_max(logits, jax.random.key(2), (N,))
    assert chi_square_p(right, jax.nn.softmax(logits)) > PASS_P


def test_gumbel_max_batch_shapes():
    logits = jnp.zeros((3, 4))
    assert gumbel.gumbel_max(logits, jax.random.key(0)).shape == (3,)
    assert gumbel.gumbel_max(logits, jax.random.key(0), 5).shape == (5, 3)
    assert gumbel.gumbel_max(logits, jax.random.key(0), (2, 5)).shape == (2, 5, 3)


def ordered_pair_probs(probs):
    """Exact P(first = i, second = j) of two sequential draws without replacement, as a K*K table."""
    p = np.asarray(probs, dtype=float)
    table = np.zeros((len(p), len(p)))
    for i, j in itertools.permutations(range(len(p)), 2):
        if p[i] > 0:
            table[i, j] = p[i] * p[j] / (1 - p[i])
    return table


def test_gumbel_top_k_matches_sequential_sampling_without_replacement():
    logits = jnp.array([1.0, 0.0, -jnp.inf, 0.5])
    idx = np.asarray(gumbel.gumbel_top_k(logits, jax.random.key(3), 2, (N,)))
    assert idx.shape == (N, 2)
    assert (idx[:, 0] != idx[:, 1]).all()
    exact = ordered_pair_probs(jax.nn.softmax(logits)).ravel()
    assert chi_square_p(idx[:, 0] * 4 + idx[:, 1], exact) > PASS_P
    # Wrong variant: two independent Gumbel-max draws (with replacement).
    keys = jax.random.split(jax.random.key(3))
    a, b = (np.asarray(gumbel.gumbel_max(logits, k, (N,))) for k in keys)
    with pytest.raises(AssertionError):  # it draws pairs (i, i) that have probability zero
        chi_square_p(a * 4 + b, exact)
    keep = a != b
    assert chi_square_p((a * 4 + b)[keep], exact) < FAIL_P


def test_gumbel_top_k_full_permutation_of_the_support():
    logits = jnp.array([[0.0, -jnp.inf, 1.0], [2.0, 0.0, -1.0]])
    idx = gumbel.gumbel_top_k(logits, jax.random.key(4), 2, (1000,))
    assert idx.shape == (1000, 2, 2)
    assert bool((idx[:, 0] != 1).all())
    assert bool((idx[:, 1, 0] != idx[:, 1, 1]).all())


@settings(max_examples=25, deadline=None)
@given(
    logits=st.lists(st.floats(-5, 5), min_size=2, max_size=6),
    temperature=st.floats(0.05, 20.0),
    seed=st.integers(0, 2**16),
)
def test_gumbel_softmax_lies_on_the_simplex(logits, temperature, seed):
    y = gumbel.gumbel_softmax(jnp.array(logits), jax.random.key(seed), temperature, (8,))
    assert y.shape == (8, len(logits))
    assert bool((y >= 0).all())
    np.testing.assert_allclose(np.asarray(y.sum(-1)), 1.0, atol=1e-5)


def test_gumbel_softmax_limits():
    key = jax.random.key(5)
    cold = gumbel.gumbel_softmax(LOGITS, key, 1e-4, (1000,))
    onehot = jax.nn.one_hot(gumbel.gumbel_max(LOGITS, key, (1000,)), 5)
    assert float(jnp.mean(jnp.abs(cold - onehot))) < 1e-3
    hot = gumbel.gumbel_softmax(LOGITS, key, 1e4, (1000,))
    uniform = jnp.where(jnp.isfinite(LOGITS), 0.25, 0.0)
    assert float(jnp.max(jnp.abs(hot - uniform))) < 1e-3
    assert bool((cold[:, 1] == 0).all() and (hot[:, 1] == 0).all())


@pytest.mark.parametrize("fn", [gumbel.gumbel_softmax, gumbel.straight_through])
def test_gradients_are_finite_with_minus_inf_logits(fn):
    costs = jnp.arange(5.0)

    def objective(logits):
        return jnp.mean(fn(logits, jax.random.key(6), 0.5, (100,)) @ costs)

    grad = jax.grad(objective)(LOGITS)
    assert bool(jnp.isfinite(grad).all())
    assert float(grad[1]) == 0.0
    assert float(jnp.abs(grad).sum()) > 0


def test_straight_through_forward_is_the_gumbel_max_one_hot():
    key = jax.random.key(7)
    y = gumbel.straight_through(LOGITS, key, 0.7, (1000,))
    expected = jax.nn.one_hot(gumbel.gumbel_max(LOGITS, key, (1000,)), 5)
    assert bool((y == expected).all())


def test_straight_through_backward_is_the_relaxed_gradient():
    key, tau = jax.random.key(8), 0.7
    logits = jnp.array([0.3, -0.2, 1.1, -jnp.inf])
    cotangent = jax.random.normal(jax.random.key(9), (50, 4))
    _, vjp_st = jax.vjp(lambda lg: gumbel.straight_through(lg, key, tau, (50,)), logits)
    _, vjp_soft = jax.vjp(lambda lg: gumbel.gumbel_softmax(lg, key, tau, (50,)), logits)
    np.testing.assert_allclose(vjp_st(cotangent)[0], vjp_soft(cotangent)[0], rtol=1e-6, atol=1e-7)


def test_public_names_are_reexported():
    assert gradest.gumbel_softmax is gumbel.gumbel_softmax
    assert gradest.straight_through is gumbel.straight_through


KEY = jax.random.key(0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gumbel.gumbel_max(jnp.array([0.0, jnp.nan]), KEY), ValueError, "logits"),
        (lambda: gumbel.gumbel_max(jnp.array([0.0, jnp.inf]), KEY), ValueError, "logits"),
        (lambda: gumbel.gumbel_max(jnp.array([-jnp.inf, -jnp.inf]), KEY), ValueError, "logits"),
        (lambda: gumbel.gumbel_max(jnp.array(1.0), KEY), ValueError, "logits"),
        (lambda: gumbel.gumbel_max("abc", KEY), TypeError, "logits"),
        (lambda: gumbel.gumbel_max(jnp.zeros(3), 0), TypeError, "key"),
        (lambda: gumbel.gumbel_max(jnp.zeros(3), KEY, (2.5,)), TypeError, "sample_shape"),
        (lambda: gumbel.gumbel_top_k(jnp.array([0.0, -jnp.inf, 1.0]), KEY, 3), ValueError, "k"),
        (lambda: gumbel.gumbel_top_k(jnp.zeros(3), KEY, 4), ValueError, "k"),
        (lambda: gumbel.gumbel_top_k(jnp.zeros(3), KEY, 0), ValueError, "k"),
        (lambda: gumbel.gumbel_top_k(jnp.zeros(3), KEY, 1.0), TypeError, "k"),
        (lambda: gumbel.gumbel_softmax(jnp.zeros(3), KEY, 0.0), ValueError, "temperature"),
        (lambda: gumbel.gumbel_softmax(jnp.zeros(3), KEY, -1.0), ValueError, "temperature"),
        (lambda: gumbel.gumbel_softmax(jnp.zeros(3), KEY, jnp.nan), ValueError, "temperature"),
        (lambda: gumbel.gumbel_softmax(jnp.array([jnp.nan, 0.0]), KEY, 1.0), ValueError, "logits"),
        (lambda: gumbel.straight_through(jnp.zeros(3), KEY, 0.0), ValueError, "temperature"),
        (lambda: gumbel.straight_through(jnp.array([jnp.nan, 0.0]), KEY, 1.0), ValueError, "logits"),
        (lambda: gumbel.sample_gumbel(KEY, (3,), jnp.int32), TypeError, "dtype"),
        (lambda: gumbel.sample_gumbel(KEY, "3"), TypeError, "shape"),
    ],
)
def test_bad_inputs_are_rejected(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_traced_temperature_is_accepted():
    anneal = jax.jit(lambda tau: gumbel.gumbel_softmax(jnp.zeros(3), KEY, tau))
    np.testing.assert_allclose(float(anneal(1.0).sum()), 1.0, atol=1e-6)
