"""The closed-form weighted scores equal reverse-mode autodiff of the log-probability, and the
score-function estimator equals the gradient of its surrogate."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest
from gradest import _scores


def autodiff_score(dist, params, x, weights):
    _, pullback = jax.vjp(lambda p: _scores.joint_log_prob(dist, p, x), params)
    return pullback(weights)[0]


CASES = [
    (gradest.Normal(), {"loc": jnp.float32(0.3), "scale": jnp.float32(1.7)}),
    (gradest.Normal(), {"loc": jnp.array([0.3, -1.0, 2.0]), "scale": jnp.float32(0.6)}),
    (gradest.Normal(), {"loc": jnp.zeros((2, 1)), "scale": jnp.array([0.5, 1.0, 2.0])}),
    (gradest.Bernoulli(), {"logits": jnp.array([-2.0, 0.0, 1.5])}),
    (gradest.Categorical(), {"logits": jnp.array([[0.1, -jnp.inf, 2.0], [1.0, 0.0, -1.0]])}),
]


@pytest.mark.parametrize(("dist", "params"), CASES)
def test_closed_form_equals_autodiff(dist, params):
    key_x, key_w = jax.random.split(jax.random.key(3))
    x = dist.sample(params, key_x, (500,))
    weights = jax.random.normal(key_w, (500,))
    assert type(dist) in _scores._ANALYTIC
    ours, exact = jax.jit(
        lambda p: (_scores.weighted_score(dist, p, x, weights), autodiff_score(dist, p, x, weights))
    )(params)
    for name in params:
        assert ours[name].shape == jnp.shape(params[name])
        np.testing.assert_allclose(ours[name], exact[name], rtol=2e-5, atol=2e-5)


def test_a_wrong_closed_form_is_caught():
    """The comparison above detects a score that is off by a missing term."""
    dist, params = CASES[0]
    x = dist.sample(params, jax.random.key(4), (500,))
    weights = jnp.ones(500)
    wrong = jnp.sum((x - params["loc"]) ** 2 / params["scale"] ** 3)  # z² / σ without the -1 / σ
    exact = autodiff_score(dist, params, x, weights)["scale"]
    assert not np.isclose(float(wrong), float(exact), rtol=1e-3)


@pytest.mark.parametrize("baseline", [None, gradest.rloo])
@pytest.mark.parametrize(("dist", "params"), [*CASES, (gradest.Gamma(), {"concentration": 2.0, "rate": 1.5})])
def test_score_function_is_the_gradient_of_its_surrogate(dist, params, baseline):
    def f(x, p):
        return jnp.sum(jnp.cos(x)) + 0.1 * sum(
            jnp.sum(jnp.where(jnp.isfinite(v), v, 0.0)) for v in jax.tree.leaves(p)
        )

    # Compiled, as one program each: run op by op, the two estimates took seconds to dispatch.
    def ours_and_exact(p):
        args = (f, dist, p, jax.random.key(5), 400)
        exact = jax.grad(gradest.score_function_surrogate, argnums=2)(*args, baseline=baseline)
        return gradest.score_function(*args, baseline=baseline), exact

    ours, exact = jax.jit(ours_and_exact)(params)
    for name in params:
        np.testing.assert_allclose(ours[name], exact[name], rtol=1e-4, atol=1e-5)
