"""Every distribution family passes the same table-driven checks (in the style of numpyro's tests).

For each family: the sample shape, ``log_prob`` against ``scipy.stats``, ``-inf`` outside the
support (an index never wraps), and for reparameterizable families an unbiased ``rsample``
gradient of the mean, checked against the exact gradient in standard errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats

import gradest as gs

KEY = jax.random.key(1111)
SIGMOID_03 = float(scipy.special.expit(0.3))


def _relaxed_bernoulli_logpdf(tau: float, eta: float) -> Callable[[np.ndarray], np.ndarray]:
    """x = sigmoid(y) with y logistic(η/τ, 1/τ): the density of y minus log|dx/dy|."""

    def logpdf(x: np.ndarray) -> np.ndarray:
        y = scipy.special.logit(x)
        return scipy.stats.logistic(eta / tau, 1 / tau).logpdf(y) - np.log(x * (1 - x))

    return logpdf


class Family(NamedTuple):
    id: str
    dist: Any
    params: dict[str, Any]
    event_shape: tuple[int, ...]
    inside: Any  # values in the support
    scipy_logpdf: Callable[[np.ndarray], np.ndarray]
    outside: Any  # values outside the support (None: the support is every real)
    mean: Callable[[dict[str, Any]], jax.Array] | None  # exact mean (for the rsample gradient)


FAMILIES = [
    Family(
        "normal",
        gs.Normal(),
        {"loc": 0.5, "scale": 2.0},
        (),
        np.array([-1.0, 0.3, 2.0]),
        scipy.stats.norm(0.5, 2.0).logpdf,
        None,
        lambda p: p["loc"],
    ),
    Family(
        "gumbel",
        gs.Gumbel(),
        {"loc": 0.5, "scale": 2.0},
        (),
        np.array([-1.0, 0.3, 2.0]),
        scipy.stats.gumbel_r(0.5, 2.0).logpdf,
        None,
        lambda p: p["loc"] + np.euler_gamma * p["scale"],
    ),
    Family(
        "bernoulli-logits",
        gs.Bernoulli(),
        {"logits": 0.3},
        (),
        np.array([0.0, 1.0]),
        scipy.stats.bernoulli(SIGMOID_03).logpmf,
        np.array([2.0, -1.0, 0.5]),
        None,
    ),
    Family(
        "bernoulli-probs",
        gs.Bernoulli(),
        {"probs": 0.3},
        (),
        np.array([0.0, 1.0]),
        scipy.stats.bernoulli(0.3).logpmf,
        np.array([2.0, -1.0, 0.5]),
        None,
    ),
    Family(
        "categorical",
        gs.Categorical(),
        {"logits": jnp.array([0.0, 1.0, 2.0])},
        (),
        np.array([0, 1, 2]),
        lambda k: scipy.special.log_softmax([0.0, 1.0, 2.0])[k],
        np.array([-1, 3, 5]),
        None,
    ),
    Family(
        "categorical-probs",
        gs.Categorical(),
        {"probs": jnp.array([0.2, 0.3, 0.5])},
        (),
        np.array([0, 1, 2]),
        lambda k: np.log([0.2, 0.3, 0.5])[k],
        np.array([-1, 3]),
        None,
    ),
    Family(
        "gamma",
        gs.Gamma(),
        {"concentration": 2.0, "rate": 3.0},
        (),
        np.array([0.1, 1.0, 4.0]),
        scipy.stats.gamma(2.0, scale=1 / 3.0).logpdf,
        np.array([-1.0, 0.0]),
        lambda p: p["concentration"] / p["rate"],
    ),
    Family(
        "beta",
        gs.Beta(),
        {"concentration1": 2.0, "concentration0": 3.0},
        (),
        np.array([0.1, 0.5, 0.9]),
        scipy.stats.beta(2.0, 3.0).logpdf,
        np.array([-0.5, 0.0, 1.0, 1.5]),
        lambda p: p["concentration1"] / (p["concentration1"] + p["concentration0"]),
    ),
    Family(
        "dirichlet",
        gs.Dirichlet(),
        {"concentration": jnp.array([1.0, 2.0, 3.0])},
        (3,),
        np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),
        lambda x: np.array([scipy.stats.dirichlet([1.0, 2.0, 3.0]).logpdf(row) for row in x]),
        np.array([[0.5, 0.6, -0.1], [0.2, 0.2, 0.2]]),
        lambda p: p["concentration"] / jnp.sum(p["concentration"]),
    ),
    Family(
        "relaxed-bernoulli",
        gs.RelaxedBernoulli(0.5),
        {"logits": 0.3},
        (),
        np.array([0.1, 0.5, 0.9]),
        _relaxed_bernoulli_logpdf(0.5, 0.3),
        np.array([0.0, 1.0, 1.5]),
        None,
    ),
    Family(
        # With K = 2 and logits (η, 0) the Concrete density of the first coordinate is the
        # relaxed Bernoulli's.
        "relaxed-categorical",
        gs.RelaxedCategorical(0.5),
        {"logits": jnp.array([0.3, 0.0])},
        (2,),
        np.array([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1]]),
        lambda x: _relaxed_bernoulli_logpdf(0.5, 0.3)(x[:, 0]),
        np.array([[0.6, 0.6], [-0.2, 1.2]]),
        None,
    ),
]
IDS = [fam.id for fam in FAMILIES]


@pytest.mark.parametrize("fam", FAMILIES, ids=IDS)
def test_sample_shape(fam: Family) -> None:
    batch = fam.dist.batch_shape(fam.params)
    x = fam.dist.sample(fam.params, KEY, (5, 2))
    assert x.shape == (5, 2, *batch, *fam.event_shape)
    assert fam.dist.log_prob(fam.params, x).shape == (5, 2, *batch)
    assert bool(jnp.isfinite(fam.dist.log_prob(fam.params, x)).all())


@pytest.mark.parametrize("fam", FAMILIES, ids=IDS)
def test_log_prob_matches_scipy(fam: Family) -> None:
    ours = fam.dist.log_prob(fam.params, jnp.asarray(fam.inside))
    np.testing.assert_allclose(ours, fam.scipy_logpdf(fam.inside), rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("fam", [f for f in FAMILIES if f.outside is not None], ids=lambda f: f.id)
def test_log_prob_outside_support_is_minus_inf(fam: Family) -> None:
    values = fam.dist.log_prob(fam.params, jnp.asarray(fam.outside))
    assert bool((values == -jnp.inf).all()), values


def _max_abs_z(stats: gs.EstimatorStats, exact: Any) -> float:
    return max(float(jnp.max(jnp.abs(z))) for z in jax.tree.leaves(gs.z_scores(stats, exact)))


@pytest.mark.parametrize("fam", [f for f in FAMILIES if f.mean is not None], ids=lambda f: f.id)
def test_rsample_gradient_of_the_mean_is_unbiased(fam: Family) -> None:
    params = jax.tree.map(jnp.asarray, fam.params)
    exact = jax.grad(lambda p: jnp.sum(fam.mean(p)))(params)

    def estimate(key: jax.Array) -> Any:
        return jax.grad(lambda p: jnp.sum(jnp.mean(fam.dist.rsample(p, key, (10,)), axis=0)))(params)

    stats = gs.estimator_stats(estimate, KEY, 100)
    assert _max_abs_z(stats, exact) < 4
    # The same check sees a 20% error in the exact gradient (it is not vacuous).
    assert _max_abs_z(stats, jax.tree.map(lambda g: 1.2 * g + 0.05, exact)) > 4


@pytest.mark.parametrize("fam", [f for f in FAMILIES if f.dist.has_rsample], ids=lambda f: f.id)
def test_rsample_has_finite_gradients(fam: Family) -> None:
    params = jax.tree.map(jnp.asarray, fam.params)
    grads = jax.grad(lambda p: jnp.sum(fam.dist.rsample(p, KEY, (4,)) ** 2))(params)
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))


def test_categorical_index_minus_one_never_wraps() -> None:
    params = {"logits": jnp.array([0.0, 5.0])}
    assert float(gs.Categorical().log_prob(params, -1)) == -np.inf
    assert float(gs.Categorical().log_prob(params, 1)) > -0.01


def test_bernoulli_infinite_logits_are_point_masses() -> None:
    params = {"logits": jnp.array([jnp.inf, -jnp.inf])}
    ones = gs.Bernoulli().log_prob(params, jnp.array([1.0, 1.0]))
    zeros = gs.Bernoulli().log_prob(params, jnp.array([0.0, 0.0]))
    np.testing.assert_array_equal(ones, [0.0, -np.inf])
    np.testing.assert_array_equal(zeros, [-np.inf, 0.0])


def test_relaxed_bernoulli_log_prob_in_logit_space_at_low_temperature() -> None:
    dist, params = gs.RelaxedBernoulli(0.02), {"logits": jnp.array(0.3)}
    x = dist.rsample(params, KEY, (200,))
    y = dist.rsample_logit(params, KEY, (200,))
    np.testing.assert_array_equal(jax.nn.sigmoid(y), x)
    # Most samples round to exactly 0 or 1 in float32: no density there, but never NaN.
    assert float(jnp.mean((x == 0) | (x == 1))) > 0.3
    assert not bool(jnp.isnan(dist.log_prob(params, x)).any())
    log_p = dist.log_prob_logit(params, y)
    assert bool(jnp.isfinite(log_p).all())
    # The logit density is the logistic density of scipy.
    expected = scipy.stats.logistic(0.3 / 0.02, 1 / 0.02).logpdf(np.asarray(y))
    np.testing.assert_allclose(log_p, expected, rtol=1e-4, atol=1e-4)


def test_beta_pathwise_gradient_unbiased_at_the_range_boundary() -> None:
    """At the smallest accepted concentration (0.05) the Beta pathwise gradient is unbiased."""
    a, b = gs.distributions.MIN_RSAMPLE_CONCENTRATION, 1.0
    params = {"concentration1": jnp.array(a), "concentration0": jnp.array(b)}
    exact = {"concentration1": jnp.array(b / (a + b) ** 2), "concentration0": jnp.array(-a / (a + b) ** 2)}
    stats = gs.estimator_stats(lambda k: gs.pathwise(lambda x, _: x, gs.Beta(), params, k, 100), KEY, 200)
    assert _max_abs_z(stats, exact) < 4, gs.z_scores(stats, exact)
    assert _max_abs_z(stats, jax.tree.map(lambda g: 1.1 * g, exact)) > 4
