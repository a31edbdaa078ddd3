"""Tests of gradest.measure_valued: unbiasedness for the Gaussian mean and scale, errors, shapes."""

from __future__ import annotations

import importlib
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradest
from gradest import Gamma, Normal

TOL = 4.0
KEY = jax.random.key(20260405)


def check(estimator, exact, num_repeats=2_000, key=KEY):
    return gradest.unbiasedness_check(lambda k: estimator(key=k), exact, key, num_repeats, tolerance=TOL)


def mvd(problem, num_samples=8, params=None):
    params = problem.params if params is None else params
    return partial(gradest.measure_valued, problem.f, problem.dist, params, num_samples=num_samples)


def test_mean_and_scale_unbiased():
    # Several problems in one compiled estimator; a step cost and a broadcast scale included.
    problems = {
        "quadratic": gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5),
        "cos": gradest.gaussian_cos(k=3.0, loc=1.0, scale=1.0),
        "exp": gradest.gaussian_exp(k=2.0, loc=0.4, scale=0.8),
        "threshold-batch": gradest.gaussian_threshold(k=0.3, loc=jnp.array([0.0, 1.0, 2.0]), scale=1.5),
    }
    exact = {name: p.exact_grad() for name, p in problems.items()}
    report = check(lambda key: {name: mvd(p)(key=key) for name, p in problems.items()}, exact)
    assert report.passed, report.z


def test_scale_read_as_variance_fails_the_same_check():
    # The seed's σ² mistake carried over: sampling the decomposition at scale σ² instead of σ.
    problem = gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5)
    wrong_params = {"loc": 1.0, "scale": 1.5**2}
    report = check(mvd(problem, params=wrong_params), problem.exact_grad())
    assert not report.passed


def test_half_normal_instead_of_rayleigh_fails_the_mean_check():
    # Splitting ∂μ p at x = μ with |ε| (half-normal) points instead of Rayleigh ones is biased:
    # the positive part has density ∝ z φ(z), not φ(z).
    problem = gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5)
    mu, sigma = 1.0, 1.5

    def wrong(key, num_samples=8):
        r = jnp.abs(jax.random.normal(key, (num_samples,)))
        f = jax.vmap(lambda x: problem.f(x, None))  # one value per sample
        diff = f(mu + sigma * r) - f(mu - sigma * r)
        return {"loc": jnp.mean(diff) / (sigma * math.sqrt(2 * math.pi))}

    exact = {"loc": problem.exact_grad()["loc"]}
    assert not gradest.unbiasedness_check(wrong, exact, KEY, 2_000, tolerance=TOL).passed
    right = lambda k: {"loc": mvd(problem)(key=k)["loc"]}
    assert gradest.unbiasedness_check(right, exact, KEY, 2_000, tolerance=TOL).passed


def test_maxwell_without_its_normal_part_fails_the_scale_check():
    # The library draws the double-sided Maxwell D as sign(Z) sqrt(Z² + 2E) (χ²₃ = χ²₁ + χ²₂);
    # dropping Z² leaves sqrt(2E), of χ²₂, whose p⁺ is not z² φ(z): the scale estimate is biased.
    problem = gradest.gaussian_quadratic(k=0.5, loc=1.0, scale=1.5)
    mu, sigma = 1.0, 1.5

    def wrong(key, num_samples=8):
        k_sign, k_chi2, k_uniform = jax.random.split(key, 3)
        sign = jnp.where(jax.random.normal(k_sign, (num_samples,)) < 0, -1.0, 1.0)
        d = sign * jnp.sqrt(2 * jax.random.exponential(k_chi2, (num_samples,)))
        u = jax.random.uniform(k_uniform, (num_samples,))
        f = jax.vmap(lambda x: problem.f(x, None))  # one value per sample
        diff = f(mu + sigma * d) - f(mu + sigma * d * u)
        return {"scale": jnp.mean(diff) / sigma}

    exact = {"scale": problem.exact_grad()["scale"]}
    assert not gradest.unbiasedness_check(wrong, exact, KEY, 2_000, tolerance=TOL).passed
    right = lambda k: {"scale": mvd(problem)(key=k)["scale"]}
    assert gradest.unbiasedness_check(right, exact, KEY, 2_000, tolerance=TOL).passed


def test_cost_depending_on_params_gets_both_terms():
    # E[(x − μ)²] = σ²: ∂μ = 0, ∂σ = 2σ.
    f = lambda x, p: (x - p["loc"]) ** 2
    exact = {"loc": jnp.array(0.0), "scale": jnp.array(3.0)}
    params = {"loc": jnp.array(0.3), "scale": jnp.array(1.5)}
    assert check(partial(gradest.measure_valued, f, Normal(), params, num_samples=4), exact).passed


def test_lower_variance_than_pathwise_for_a_fast_oscillation():
    # cos(kx): the pathwise μ-gradient −k sin(kx) has variance ≈ k²/2, the measure-valued one is
    # bounded by (2/√(2π))² per sample.
    problem = gradest.gaussian_cos(k=10.0, loc=1.0, scale=1.0)
    mv = gradest.estimator_stats(lambda k: mvd(problem, 1)(key=k), KEY, 2_000)
    pw = gradest.estimator_stats(
        lambda k: gradest.pathwise(problem.f, problem.dist, problem.params, k, 1), KEY, 2_000
    )
    assert float(mv.variance["loc"]) < 2 / math.pi < 10 < float(pw.variance["loc"])


@jax.jit
def _constant_cost_gradient(params, value):
    return gradest.measure_valued(lambda x, _: value, Normal(), params, KEY, 3)


@pytest.mark.parametrize("loc_shape, scale_shape", [((3,), ()), ((2, 1), (2, 3))])
@settings(max_examples=5, deadline=None)
@given(value=st.floats(-5, 5))
def test_constant_cost_has_exactly_zero_gradient_shaped_like_params(loc_shape, scale_shape, value):
    params = {"loc": jnp.zeros(loc_shape), "scale": jnp.ones(scale_shape)}
    g = _constant_cost_gradient(params, jnp.asarray(value))
    assert g["loc"].shape == loc_shape and g["scale"].shape == scale_shape
    assert not np.asarray(g["loc"]).any() and not np.asarray(g["scale"]).any()


def test_jit_over_keys():
    problem = gradest.gaussian_quadratic(k=0.5)
    est = jax.jit(jax.vmap(lambda k: mvd(problem, 4)(key=k)))
    assert est(jax.random.split(KEY, 3))["scale"].shape == (3,)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"dist": Gamma(), "params": {"concentration": 1.0, "rate": 1.0}}, TypeError, "dist"),
        ({"params": {"loc": 0.0, "scale": 0.0}}, ValueError, "scale"),
        ({"params": {"loc": jnp.nan, "scale": 1.0}}, ValueError, "loc"),
        ({"params": {"mean": 0.0, "scale": 1.0}}, ValueError, "params"),
        ({"num_samples": 0}, ValueError, "num_samples"),
        ({"num_samples": 2.5}, TypeError, "num_samples"),
        ({"f": None}, TypeError, "f"),
        ({"key": 3}, TypeError, "key"),
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
        gradest.measure_valued(args["f"], args["dist"], args["params"], args["key"], args["num_samples"])


MEASURE_VALUED = importlib.import_module("gradest.measure_valued")


def _primitives(fn, *args):
    # A new function each time: make_jaxpr caches the trace of one function object, and the tests
    # change the module's constants between traces.
    return {eqn.primitive.name for eqn in jax.make_jaxpr(lambda *a: fn(*a))(*args).jaxpr.eqns}


def test_long_samples_are_evaluated_in_blocks_and_give_the_vmapped_estimate(monkeypatch):
    # D = 40 > REDUCTION_WINDOW: blocks of 3 samples (two blocks and a remainder of 2 for N = 8).
    width = 40
    problem = gradest.gaussian_quadratic(k=0.5, loc=jnp.linspace(-1.0, 1.0, width), scale=1.5)
    estimate = mvd(problem)
    monkeypatch.setattr(MEASURE_VALUED, "BLOCK_NUMBERS", 3 * 4 * width * width)
    assert "scan" in _primitives(estimate, KEY)
    blocked = estimate(key=KEY)
    report = check(estimate, problem.exact_grad(), num_repeats=1_000)
    assert report.passed, report.z
    with monkeypatch.context() as vmapped:
        vmapped.setattr(MEASURE_VALUED, "REDUCTION_WINDOW", width)
        assert "scan" not in _primitives(estimate, KEY)
        jax.tree.map(partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-5), blocked, estimate(key=KEY))


@pytest.mark.parametrize("shape, blocked", [((32,), False), ((33,), True), ((6, 6), False)])
def test_blocks_only_when_a_sample_axis_is_longer_than_the_reduction_window(shape, blocked):
    problem = gradest.gaussian_quadratic(loc=jnp.zeros(shape))
    assert ("scan" in _primitives(mvd(problem, 1_000), KEY)) is blocked


def test_the_estimate_is_its_draws_followed_by_the_work_after_them():
    # make bench times estimate_from_noise alone, on numbers drawn beforehand: it must be the rest
    # of the estimator, in the same program when composed, and the same numbers when run apart.
    problem = gradest.gaussian_quadratic(k=0.5, loc=jnp.linspace(-1.0, 1.0, 3), scale=1.5)
    shape, params = (500, 3), problem.params

    def composed(key):
        noise = MEASURE_VALUED.draw_noise(key, shape, jnp.float32)
        return MEASURE_VALUED.estimate_from_noise(problem.f, params, noise)

    whole = jax.jit(mvd(problem, 500))(key=KEY)
    jax.tree.map(np.testing.assert_array_equal, jax.jit(composed)(KEY), whole)
    noise = jax.jit(MEASURE_VALUED.draw_noise, static_argnums=(1, 2))(KEY, shape, jnp.float32)
    assert {k: a.shape for k, a in noise.items()} == dict.fromkeys(
        ("eps", "rayleigh", "maxwell", "uniform"), shape
    )
    apart = jax.jit(partial(MEASURE_VALUED.estimate_from_noise, problem.f, params))(noise)
    jax.tree.map(partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-6), apart, whole)
    other = jax.jit(mvd(problem, 500))(key=jax.random.key(1))
    assert not np.allclose(np.asarray(other["loc"]), np.asarray(whole["loc"]), rtol=1e-3)


def test_memory_check_refuses_what_it_could_not_hold_and_names_the_way_out():
    # Traced only. 2²⁶ samples of 10 coordinates need about 20 GiB of temporaries: refused, with
    # the count and the advice; 2²⁴ (5 GiB) are allowed, and so is the advice itself, 16 estimates
    # of 2²² samples computed one at a time.
    problem = gradest.gaussian_quadratic(loc=jnp.zeros(10))
    with pytest.raises(ValueError, match=r"num_samples=67108864 .* GiB .*repeat_estimates"):
        jax.eval_shape(mvd(problem, 2**26), KEY)
    jax.eval_shape(mvd(problem, 2**24), KEY)
    estimates = jax.eval_shape(
        lambda k: gradest.repeat_estimates(mvd(problem, 2**22), k, 16, batch_size=1), KEY
    )
    assert estimates["loc"].shape == (16, 10)
    # Memory measured by XLA stays below what the check counts (6 numbers a number, not 8).
    held = jax.jit(mvd(problem, 10**4)).lower(KEY).compile().memory_analysis().temp_size_in_bytes
    assert held < 10**4 * 10 * 4 * 8
