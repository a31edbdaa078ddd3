"""Exact expectations and gradients of the benchmark problems, checked against numerical integration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import gradest

GAUSSIAN_CASES = [
    (gradest.gaussian_quadratic, -1.5, lambda x, k: (x - k) ** 2),
    (gradest.gaussian_exp, 0.7, lambda x, k: np.exp(-k * x**2)),
    (gradest.gaussian_cos, 3.0, lambda x, k: np.cos(k * x)),
    (gradest.gaussian_threshold, 0.4, lambda x, k: float(x > k)),
]


def _integrate(cost, k, loc, scale):
    density = scipy.stats.norm(loc, scale).pdf
    points = [k] if cost(k - 1e-9, k) != cost(k + 1e-9, k) else None
    value, _ = scipy.integrate.quad(
        lambda x: cost(x, k) * density(x), loc - 12 * scale, loc + 12 * scale, points=points, limit=200
    )
    return value


@pytest.mark.parametrize(("make", "k", "cost"), GAUSSIAN_CASES)
def test_gaussian_expectations_and_gradients_match_quadrature(make, k, cost):
    loc, scale, h = 0.8, 1.3, 1e-4
    problem = make(k, loc=loc, scale=scale)
    np.testing.assert_allclose(problem.exact_value(), _integrate(cost, k, loc, scale), rtol=1e-4, atol=1e-6)
    grad = problem.exact_grad()
    d_loc = (_integrate(cost, k, loc + h, scale) - _integrate(cost, k, loc - h, scale)) / (2 * h)
    d_scale = (_integrate(cost, k, loc, scale + h) - _integrate(cost, k, loc, scale - h)) / (2 * h)
    np.testing.assert_allclose(grad["loc"], d_loc, rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(grad["scale"], d_scale, rtol=2e-3, atol=1e-4)


def test_gaussian_quadratic_closed_form():
    grad = gradest.gaussian_quadratic(2.0, loc=1.0, scale=1.5).exact_grad()
    assert float(grad["loc"]) == pytest.approx(-2.0) and float(grad["scale"]) == pytest.approx(3.0)


def test_problem_costs_agree_with_their_expectation_by_monte_carlo():
    for problem in (gradest.gaussian_cos(2.0), gradest.bernoulli_quadratic(0.3, 0.5)):
        x = problem.dist.sample(problem.params, jax.random.key(0), (100_000,))
        fx = jax.vmap(problem.f, in_axes=(0, None))(x, problem.params)
        se = float(fx.std() / np.sqrt(fx.size))
        assert abs(float(fx.mean()) - float(problem.exact_value())) < 4 * se


@pytest.mark.parametrize("t", [0.45, 0.499, 0.1])
@pytest.mark.parametrize("logit", [-1.0, 0.0, 2.0])
def test_bernoulli_gradient_is_theta_one_minus_theta_times_one_minus_two_t(t, logit):
    theta = float(jax.nn.sigmoid(logit))
    grad = gradest.bernoulli_quadratic(t, logits=logit).exact_grad()
    np.testing.assert_allclose(grad["logits"], theta * (1 - theta) * (1 - 2 * t), rtol=1e-5, atol=1e-7)


def test_categorical_table_gradient_by_enumeration_with_minus_inf():
    costs = jnp.array([1.0, -2.0, 4.0, 10.0])
    logits = jnp.array([0.2, 0.0, 1.0, -jnp.inf])
    problem = gradest.categorical_table(costs, logits)
    probs = np.asarray(jax.nn.softmax(logits))
    mean = float(probs @ np.asarray(costs))
    np.testing.assert_allclose(problem.exact_value(), mean, rtol=1e-6)
    np.testing.assert_allclose(problem.exact_grad()["logits"], probs * (np.asarray(costs) - mean), atol=1e-6)


def test_batched_problems_sum_independent_costs():
    problem = gradest.categorical_table(jnp.array([[1.0, 2.0], [3.0, 5.0]]))
    x = jnp.array([1, 0])
    assert float(problem.f(x, problem.params)) == 5.0
    assert float(problem.exact_value()) == pytest.approx(1.5 + 4.0)
    vector = gradest.gaussian_quadratic(0.0, loc=jnp.array([1.0, 2.0]), scale=1.0)
    assert float(vector.exact_value()) == pytest.approx(1 + 4 + 2 * 1)


def test_exact_value_at_other_params():
    problem = gradest.gaussian_quadratic(1.0)
    assert float(problem.exact_value({"loc": 3.0, "scale": 2.0})) == pytest.approx(4 + 4)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gradest.gaussian_quadratic(float("nan")), ValueError, "k"),
        (lambda: gradest.gaussian_cos(jnp.ones(2)), ValueError, "k"),
        (lambda: gradest.gaussian_exp(-1.0), ValueError, "k"),
        (lambda: gradest.gaussian_quadratic(0.0, scale=0.0), ValueError, "scale"),
        (lambda: gradest.bernoulli_quadratic(None), TypeError, "t"),
        (lambda: gradest.categorical_table(jnp.array([1.0])), ValueError, "table"),
        (lambda: gradest.categorical_table(jnp.array([1.0, jnp.inf])), ValueError, "table"),
        (lambda: gradest.categorical_table(jnp.ones(3), jnp.zeros(4)), ValueError, "logits"),
        (
            lambda: gradest.gaussian_quadratic(0.0).exact_grad({"loc": jnp.zeros(2), "scale": 1.0}),
            ValueError,
            "params",
        ),
        (lambda: gradest.gaussian_quadratic(0.0).exact_grad({"logits": 0.0}), ValueError, "params"),
    ],
)
def test_bad_problem_arguments_are_rejected(call, error, match):
    with pytest.raises(error, match=match):
        call()
