"""Bernoulli straight-through: its exact expectation by quadrature, its bias, and the power to see it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.polynomial.legendre import leggauss

import gradest

T, ETA, TAU = 0.45, 0.0, 0.5
# The number of repetitions the method-table chapter gives each (estimator, problem) pair.
METHOD_TABLE_REPEATS = 50_000
# Enough repetitions for the check to see the straight-through bias here (see test_power below).
POWERED_REPEATS = 400_000


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logistic_expectation(g, eta: float, nodes: int = 200) -> float:
    """E[g(η + ℓ)] over logistic ℓ, by Gauss–Legendre in u, split where b = H(z) jumps (u = 1 − θ)."""
    theta = _sigmoid(eta)
    x, w = leggauss(nodes)
    total = 0.0
    for a, b in ((0.0, 1.0 - theta), (1.0 - theta, 1.0)):
        u = 0.5 * (b - a) * x + 0.5 * (a + b)
        total += float(np.sum(0.5 * (b - a) * w * g(eta + np.log(u) - np.log1p(-u))))
    return total


def _st_estimate_of_noise(z: np.ndarray, t: float, tau: float) -> np.ndarray:
    """One straight-through estimate for f(b) = (b − t)², written out: f'(H(z)) · ∂σ(z/τ)/∂η."""
    s = _sigmoid(z / tau)
    return 2.0 * ((z > 0).astype(float) - t) * s * (1.0 - s) / tau


def _moments(t: float = T, eta: float = ETA, tau: float = TAU) -> tuple[float, float]:
    mean = _logistic_expectation(lambda z: _st_estimate_of_noise(z, t, tau), eta)
    second = _logistic_expectation(lambda z: _st_estimate_of_noise(z, t, tau) ** 2, eta)
    return mean, second - mean**2


def _estimator(problem: gradest.Problem):
    return lambda k: gradest.bernoulli_straight_through(problem.f, problem.params, k, 1, temperature=TAU)


def test_quadrature_is_exact_for_a_known_expectation() -> None:
    # E[σ'(ℓ)] = ∫ σ'(ℓ)² dℓ = 1/6 at τ = 1, η = 0; and P(b = 1) = σ(η).
    assert _logistic_expectation(lambda z: _sigmoid(z) * (1 - _sigmoid(z)), 0.0) == pytest.approx(
        1 / 6, rel=1e-9
    )
    assert _logistic_expectation(lambda z: (z > 0).astype(float), 0.7) == pytest.approx(
        _sigmoid(0.7), rel=1e-12
    )


def test_matches_the_written_out_estimator() -> None:
    problem = gradest.bernoulli_quadratic(t=T, logits=ETA)
    estimates = jax.vmap(_estimator(problem))(jax.random.split(jax.random.key(0), 1000))["logits"]
    u = jax.vmap(
        lambda k: jax.random.uniform(k, (1,), jnp.float32, minval=jnp.finfo(jnp.float32).tiny, maxval=1.0)[0]
    )(jax.random.split(jax.random.key(0), 1000))
    z = ETA + np.log(np.asarray(u, np.float64)) - np.log1p(-np.asarray(u, np.float64))
    np.testing.assert_allclose(np.asarray(estimates), _st_estimate_of_noise(z, T, TAU), rtol=2e-4, atol=1e-6)


def test_monte_carlo_mean_agrees_with_quadrature() -> None:
    problem = gradest.bernoulli_quadratic(t=T, logits=ETA)
    mean, _ = _moments()
    report = gradest.unbiasedness_check(
        _estimator(problem), {"logits": jnp.float32(mean)}, jax.random.key(1), 200_000
    )
    assert report.passed, report.max_abs_z


def test_exact_expectation_is_biased() -> None:
    mean, variance = _moments()
    exact = float(gradest.bernoulli_quadratic(t=T, logits=ETA).exact_grad()["logits"])
    assert exact == pytest.approx(0.025, rel=1e-6)
    assert mean == pytest.approx(0.0214602, abs=1e-6)
    assert mean - exact < -0.1 * exact  # a bias of 14% of the gradient, by exact computation
    assert variance == pytest.approx(0.077934, abs=1e-5)


def test_power_at_the_method_table_repetitions() -> None:
    """At the method table's R the check cannot see this bias; at POWERED_REPEATS it must."""
    mean, variance = _moments()
    bias = abs(mean - float(gradest.bernoulli_quadratic(t=T, logits=ETA).exact_grad()["logits"]))
    detectable = lambda r: 4.0 * np.sqrt(variance / r)  # tolerance × SE of the check
    assert detectable(METHOD_TABLE_REPEATS) > bias  # underpowered: 0.00499 > 0.00354
    assert detectable(POWERED_REPEATS) < 0.5 * bias  # the expected z-score is about 8


def test_the_books_check_detects_the_bias_when_powered() -> None:
    problem = gradest.bernoulli_quadratic(t=T, logits=ETA)
    report = gradest.unbiasedness_check(
        _estimator(problem), problem.exact_grad(), jax.random.key(2), POWERED_REPEATS
    )
    assert not report.passed, (report.max_abs_z, report.max_detectable_bias)
    assert report.max_detectable_bias < 0.5 * 0.00354


def test_an_unbiased_estimator_passes_the_same_powered_check() -> None:
    problem = gradest.bernoulli_quadratic(t=T, logits=ETA)
    report = gradest.unbiasedness_check(
        lambda k: gradest.score_function(
            problem.f, problem.dist, problem.params, k, 2, baseline=gradest.rloo
        ),
        problem.exact_grad(),
        jax.random.key(2),
        POWERED_REPEATS,
    )
    assert report.passed, report.max_abs_z


def test_extra_dependence_of_f_on_the_parameters_and_batches() -> None:
    # f(b, p) = b + η: the straight-through part is ∂σ(z/τ)/∂η, the direct part is 1.
    logits = jnp.array([0.3, -1.0])
    estimate = gradest.bernoulli_straight_through(
        lambda b, p: jnp.sum(b + p["logits"]), {"logits": logits}, jax.random.key(3), 4, temperature=1.0
    )["logits"]
    assert estimate.shape == (2,)
    assert np.all(np.asarray(estimate) > 1.0)


def test_probs_parameterization_gives_the_chain_rule() -> None:
    problem = gradest.bernoulli_quadratic(t=T, logits=0.4)
    theta = jax.nn.sigmoid(0.4)
    key = jax.random.key(4)
    by_logits = gradest.bernoulli_straight_through(
        problem.f, {"logits": jnp.float32(0.4)}, key, 3, temperature=TAU
    )
    by_probs = gradest.bernoulli_straight_through(problem.f, {"probs": theta}, key, 3, temperature=TAU)
    np.testing.assert_allclose(by_probs["probs"] * theta * (1 - theta), by_logits["logits"], rtol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_samples": 0}, ValueError, "num_samples"),
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"f": 3.0}, TypeError, "f must be callable"),
        ({"key": 0}, TypeError, "key"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, error: type, match: str) -> None:
    args = {
        "f": lambda b, _: jnp.sum(b),
        "params": {"logits": jnp.zeros(())},
        "key": jax.random.key(0),
        "num_samples": 1,
        "temperature": 0.5,
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        gradest.bernoulli_straight_through(
            args["f"], args["params"], args["key"], args["num_samples"], temperature=args["temperature"]
        )
