"""Tests of gradest.score_function and score_function_surrogate: unbiasedness, variance, composition."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradest
from gradest import Bernoulli, Categorical, Normal

TOL = 4.0
KEY = jax.random.key(20260101)


def sf(problem, num_samples, **kwargs):
    return partial(
        gradest.score_function, problem.f, problem.dist, problem.params, num_samples=num_samples, **kwargs
    )


def check(estimator, exact, num_repeats=20_000, key=KEY):
    return gradest.unbiasedness_check(
        lambda k: estimator(key=k), exact, key, num_repeats, tolerance=TOL, batch_size=5_000
    )


@pytest.mark.parametrize(
    "problem",
    [
        gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5),
        gradest.gaussian_cos(k=1.3, loc=jnp.array([0.2, -0.7]), scale=jnp.array([0.8, 1.1])),
        gradest.bernoulli_quadratic(t=0.45, logits=jnp.array([-1.0, 0.3])),
        gradest.categorical_table(
            jnp.array([1.0, -2.0, 0.5, 3.0]), logits=jnp.array([0.0, -jnp.inf, 1.0, 0.5])
        ),
    ],
    ids=["normal", "normal-batch", "bernoulli", "categorical-neginf"],
)
def test_unbiased_against_exact_gradient(problem):
    report = check(sf(problem, 4), problem.exact_grad())
    assert report.passed, report.max_abs_z
    for leaf in jax.tree.leaves(report.stats.mean):
        assert np.isfinite(np.asarray(leaf)).all()


def test_bernoulli_probability_parameter_is_unbiased():
    dist, params = Bernoulli(), {"probs": jnp.array(0.3)}
    f = lambda b, _: (b - 0.45) ** 2
    exact = {"probs": jnp.array(0.55**2 - 0.45**2)}
    assert check(partial(gradest.score_function, f, dist, params, num_samples=2), exact).passed


def test_neginf_logit_gets_exactly_zero_gradient():
    problem = gradest.categorical_table(jnp.array([1.0, 5.0, 2.0]), logits=jnp.array([0.0, -jnp.inf, 0.0]))
    g = gradest.score_function(problem.f, problem.dist, problem.params, KEY, 1000)["logits"]
    assert np.isfinite(np.asarray(g)).all() and float(g[1]) == 0.0


def test_dropping_the_score_term_fails_the_check():
    problem = gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5)
    # jax.grad through a stop-gradient sample: only the pathwise term survives, which is zero here.
    naive = lambda key: jax.grad(
        lambda p: jnp.mean(jax.vmap(problem.f, (0, None))(problem.dist.sample(p, key, (4,)), p))
    )(problem.params)
    report = gradest.unbiasedness_check(naive, problem.exact_grad(), KEY, 2_000, tolerance=TOL)
    assert not report.passed


def test_batch_mean_baseline_fails_the_check():
    problem = gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5)
    report = check(sf(problem, 4, baseline=gradest.batch_mean), problem.exact_grad())
    assert not report.passed


def test_cost_depending_on_parameters_needs_both_terms():
    dist, params = Normal(), {"loc": jnp.array(0.7), "scale": jnp.array(1.3)}
    f = lambda x, p: jnp.sin(x) * p["scale"] + p["loc"] * x**2
    # E[sin x] = sin(μ) e^{-σ²/2}, E[x²] = μ² + σ².
    exact_value = lambda p: (
        jnp.sin(p["loc"]) * jnp.exp(-(p["scale"] ** 2) / 2) * p["scale"]
        + p["loc"] * (p["loc"] ** 2 + p["scale"] ** 2)
    )
    exact = jax.grad(exact_value)(params)
    assert check(partial(gradest.score_function, f, dist, params, num_samples=4), exact).passed

    def score_term_only(key):
        terms = gradest.score_terms(f, dist, params, key, 4)
        return jax.tree.map(lambda s: jnp.mean(terms.f_values * s), terms.scores)

    assert not gradest.unbiasedness_check(score_term_only, exact, KEY, 20_000, tolerance=TOL).passed


def test_threshold_cost_score_function_works_where_pathwise_cannot():
    problem = gradest.gaussian_threshold(k=1.0, loc=0.5, scale=1.0)
    exact = problem.exact_grad()
    assert check(sf(problem, 8), exact).passed
    pathwise = partial(gradest.pathwise, problem.f, problem.dist, problem.params, num_samples=8)
    report = gradest.unbiasedness_check(lambda k: pathwise(key=k), exact, KEY, 1_000, tolerance=TOL)
    assert not report.passed
    assert float(report.stats.mean["loc"]) == 0.0


def _numpy_black_box(x):
    """A cost only NumPy can evaluate (no JAX tracing inside)."""
    x = np.asarray(x)
    return np.where(np.floor(2 * x) % 2 == 0, 1.0, -1.0).astype(x.dtype)


def black_box_cost(x, _):
    out = jax.ShapeDtypeStruct(jnp.shape(x), x.dtype)
    return jnp.sum(jax.pure_callback(_numpy_black_box, out, x, vmap_method="expand_dims"))


# jax.pure_callback runs on a CPU device: JAX_PLATFORMS=cuda alone (the tests on a GPU) has none.
_PLATFORMS = jax.config.jax_platforms


@pytest.mark.skipif(
    bool(_PLATFORMS) and "cpu" not in _PLATFORMS.split(","), reason="jax.pure_callback needs the CPU platform"
)
def test_pure_callback_black_box_cost_is_unbiased_and_jits():
    dist, params = Normal(), {"loc": jnp.array(0.3), "scale": jnp.array(0.6)}
    # Exact expectation by quadrature on a fine grid (the cost is a square wave of period 1).
    grid = jnp.linspace(-8.0, 8.0, 400_001)
    density = lambda p: jnp.exp(Normal().log_prob(p, grid))
    wave = jnp.where(jnp.floor(2 * grid) % 2 == 0, 1.0, -1.0)
    exact = jax.grad(lambda p: jnp.trapezoid(wave * density(p), grid))(params)
    estimator = jax.jit(partial(gradest.score_function, black_box_cost, dist, params, num_samples=64))
    report = gradest.unbiasedness_check(estimator, exact, KEY, 2_000, tolerance=TOL)
    assert report.passed, report.max_abs_z


def test_composes_with_jit_vmap_and_grad():
    problem = gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5)
    f, dist, params = problem.f, problem.dist, problem.params
    eager = gradest.score_function(f, dist, params, KEY, 16)
    jitted = jax.jit(gradest.score_function, static_argnums=(0, 1, 4))(f, dist, params, KEY, 16)
    batched = jax.vmap(lambda k: gradest.score_function(f, dist, params, k, 16))(jnp.stack([KEY, KEY]))
    for a, b, c in zip(
        jax.tree.leaves(eager), jax.tree.leaves(jitted), jax.tree.leaves(batched), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5)
        np.testing.assert_allclose(c, jnp.stack([a, a]), rtol=1e-5)
    surrogate = jax.grad(lambda p: gradest.score_function_surrogate(f, dist, p, KEY, 16))(params)
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(surrogate), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_integer_parameters_are_accepted():
    g = gradest.score_function(lambda x, _: x**2, Normal(), {"loc": 1, "scale": 2}, KEY, 8)
    assert all(jnp.issubdtype(leaf.dtype, jnp.floating) for leaf in jax.tree.leaves(g))


def test_surrogate_value_is_the_monte_carlo_average():
    problem = gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5)
    x = problem.dist.sample(problem.params, KEY, (256,))
    value = gradest.score_function_surrogate(problem.f, problem.dist, problem.params, KEY, 256)
    np.testing.assert_allclose(value, jnp.mean(jax.vmap(problem.f, (0, None))(x, None)), rtol=1e-6)


def single_sample_mu_variance(d, sigma):
    return d**4 / sigma**2 + 14 * d**2 + 15 * sigma**2


@pytest.mark.parametrize(("d", "sigma"), [(0.0, 1.0), (1.0, 1.0), (2.0, 0.5), (-1.5, 2.0)])
def test_closed_form_single_sample_variance(d, sigma):
    k = 0.3
    problem = gradest.gaussian_quadratic(k=k, loc=k + d, scale=sigma)
    terms = gradest.score_terms(problem.f, problem.dist, problem.params, KEY, 400_000)
    g = np.asarray(terms.f_values * terms.scores["loc"], dtype=np.float64)
    centred = g - g.mean()
    var = centred.var()
    se_var = np.sqrt((np.mean(centred**4) - var**2) / g.size)
    assert abs(var - single_sample_mu_variance(d, sigma)) < TOL * se_var
    # The second moment (forgetting to subtract the squared mean 4d²) is rejected when d ≠ 0.
    if d != 0:
        wrong = d**4 / sigma**2 + 18 * d**2 + 15 * sigma**2
        assert abs(var - wrong) > TOL * se_var


_BERNOULLI = gradest.bernoulli_quadratic(t=0.45, logits=0.4)


def _constant_cost(x, _):
    return jnp.sum(x) * 0


@partial(jax.jit, static_argnums=2)
def _baseline_shift(b, c, n):
    p = _BERNOULLI
    plain = gradest.score_function(p.f, p.dist, p.params, KEY, n)["logits"]
    based = gradest.score_function(p.f, p.dist, p.params, KEY, n, baseline=b)["logits"]
    scores = gradest.score_terms(p.f, p.dist, p.params, KEY, n).scores["logits"]
    const = gradest.score_function(
        lambda x, q: _constant_cost(x, q) + c, p.dist, p.params, KEY, n, baseline=c
    )
    return based, plain - b * jnp.mean(scores), const["logits"]


@settings(max_examples=25, deadline=None)
@given(b=st.floats(-10, 10), c=st.floats(-10, 10), n=st.sampled_from([1, 3, 8]))
def test_constant_baseline_shifts_by_minus_b_times_mean_score(b, c, n):
    based, expected, const = _baseline_shift(b, c, n)
    np.testing.assert_allclose(based, expected, rtol=1e-4, atol=1e-4)
    # A constant cost equal to the baseline has exactly zero gradient.
    assert float(const) == 0.0


class TestBadInput:
    problem = gradest.gaussian_quadratic()

    def test_f_not_callable(self):
        with pytest.raises(TypeError, match="f must be callable"):
            gradest.score_function(3.0, Normal(), self.problem.params, KEY, 4)

    @pytest.mark.parametrize("n", [0, -3])
    def test_num_samples_below_one(self, n):
        with pytest.raises(ValueError, match="num_samples"):
            gradest.score_function(self.problem.f, Normal(), self.problem.params, KEY, n)

    def test_num_samples_not_int(self):
        with pytest.raises(TypeError, match="num_samples"):
            gradest.score_function(self.problem.f, Normal(), self.problem.params, KEY, 4.0)

    def test_dist_without_log_prob(self):
        with pytest.raises(TypeError, match="dist"):
            gradest.score_function(self.problem.f, object(), self.problem.params, KEY, 4)

    def test_key_not_a_key(self):
        with pytest.raises(TypeError, match="key"):
            gradest.score_function(self.problem.f, Normal(), self.problem.params, 0, 4)

    def test_params_with_wrong_keys(self):
        with pytest.raises(ValueError, match="params"):
            gradest.score_function(self.problem.f, Normal(), {"loc": 0.0, "sigma": 1.0}, KEY, 4)

    def test_params_of_another_family(self):
        with pytest.raises(ValueError, match="params"):
            gradest.score_function(self.problem.f, Categorical(), {"loc": 0.0, "scale": 1.0}, KEY, 4)

    def test_params_leaves_that_do_not_broadcast(self):
        params = {"loc": jnp.zeros(3), "scale": jnp.ones(2)}
        with pytest.raises(ValueError, match="params"):
            gradest.score_function(self.problem.f, Normal(), params, KEY, 4)

    def test_baseline_of_wrong_shape(self):
        with pytest.raises(ValueError, match="baseline"):
            gradest.score_function(
                self.problem.f, Normal(), self.problem.params, KEY, 4, baseline=jnp.ones(3)
            )
