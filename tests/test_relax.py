"""REBAR and RELAX: unbiased at any control-variate setting, lower variance when tuned, clear errors."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest

REPEATS = 20_000
TOY = gradest.bernoulli_quadratic(t=0.45, logits=0.3)
TABLE = jnp.array([[1.0, 2.0, 5.0, -1.0], [0.5, 3.0, -2.0, 1.0]])
CATEGORICAL = gradest.categorical_table(
    TABLE, logits=jnp.array([[0.5, 0.0, -0.5, -jnp.inf], [1.0, 0.2, -1.0, 0.3]])
)


def one_hot_cost(y, _params):
    """The categorical table's cost on one-hot vectors and on the simplex (its linear extension)."""
    return jnp.sum(y * TABLE)


def tanh_surrogate(z, psi):
    # -inf coordinates (a zero-probability category) contribute nothing.
    return jnp.sum(psi["w"] * jnp.tanh(jnp.where(jnp.isfinite(z), z, 0.0)) + psi["c"])


def bernoulli_estimators():
    f, dist, params = TOY.f, TOY.dist, TOY.params
    return {
        "rebar default": lambda k: gradest.rebar(f, dist, params, k, 1, temperature=0.5),
        "rebar poor": lambda k: gradest.rebar(f, dist, params, k, 2, temperature=3.0, scale=-0.7),
        "relax": lambda k: gradest.relax(
            f, dist, params, k, 1, surrogate=tanh_surrogate, surrogate_params={"w": 0.7, "c": 0.2}
        ),
    }


def categorical_estimators():
    dist, params = CATEGORICAL.dist, CATEGORICAL.params
    psi = {"w": jnp.full((2, 4), 0.5), "c": 1.0}
    return {
        "rebar": lambda k: gradest.rebar(one_hot_cost, dist, params, k, 1, temperature=0.3, scale=0.5),
        "relax": lambda k: gradest.relax(
            one_hot_cost, dist, params, k, 1, surrogate=tanh_surrogate, surrogate_params=psi
        ),
    }


def test_unbiased_on_the_bernoulli_toy_at_good_and_poor_control_variates():
    estimators = bernoulli_estimators()
    report = gradest.unbiasedness_check(
        lambda k: {name: est(k) for name, est in estimators.items()},
        {name: TOY.exact_grad() for name in estimators},
        jax.random.key(1),
        REPEATS,
    )
    assert report.passed, {name: float(z["logits"]) for name, z in report.z.items()}


def test_unbiased_on_a_categorical_table_with_a_zero_probability_category():
    estimators = categorical_estimators()
    report = gradest.unbiasedness_check(
        lambda k: {name: est(k) for name, est in estimators.items()},
        {name: CATEGORICAL.exact_grad() for name in estimators},
        jax.random.key(2),
        REPEATS,
    )
    assert report.passed, report.max_abs_z
    # The -inf category is never drawn: its gradient is exactly 0 in every estimate, never NaN.
    for name in estimators:
        assert float(report.stats.mean[name]["logits"][0, 3]) == 0.0, name
        assert float(report.stats.variance[name]["logits"][0, 3]) == 0.0, name


def rebar_with_a_frozen_conditional_sample(key):
    """A deliberately wrong REBAR: z̃ treated as a constant, dropping its reparameterized gradient."""
    dist, tau = TOY.dist, 0.5

    def loss(p):
        z, b, z_tilde = gradest.relaxation_noise(dist, p, key, 1)
        z_tilde = jax.lax.stop_gradient(z_tilde)
        c_z = TOY.f(gradest.relaxed_input(dist, z[0], tau), p)
        c_z_tilde = TOY.f(gradest.relaxed_input(dist, z_tilde[0], tau), p)
        log_p = jnp.sum(dist.log_prob(p, b[0]))
        return jax.lax.stop_gradient(TOY.f(b[0], p) - c_z_tilde) * log_p + c_z - c_z_tilde

    return jax.grad(loss)(TOY.params)


def test_a_frozen_conditional_sample_fails_the_same_check():
    report = gradest.unbiasedness_check(
        rebar_with_a_frozen_conditional_sample, TOY.exact_grad(), jax.random.key(1), REPEATS
    )
    assert not report.passed


def test_rebar_equals_relax_with_the_relaxed_cost_as_surrogate():
    key, tau, nu = jax.random.key(3), 0.4, 0.8
    by_rebar = jax.jit(gradest.rebar, static_argnums=(0, 1, 4))(
        one_hot_cost, CATEGORICAL.dist, CATEGORICAL.params, key, 5, temperature=tau, scale=nu
    )
    by_relax = jax.jit(gradest.relax, static_argnums=(0, 1, 4), static_argnames="surrogate")(
        one_hot_cost,
        CATEGORICAL.dist,
        CATEGORICAL.params,
        key,
        5,
        surrogate=lambda z, s: s * one_hot_cost(gradest.relaxed_input(CATEGORICAL.dist, z, tau), None),
        surrogate_params=nu,
    )
    np.testing.assert_allclose(by_rebar["logits"], by_relax["logits"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("problem", ["bernoulli", "categorical"])
def test_rebar_is_its_draws_followed_by_the_work_after_them(problem):
    # make bench times rebar_from_uniforms alone, on numbers drawn beforehand: it must be the rest
    # of the estimator, giving the same estimate from the same numbers.
    module = sys.modules["gradest.relax"]  # gradest.relax is the function
    if problem == "bernoulli":
        f, dist, params = TOY.f, TOY.dist, {"logits": jnp.array([0.3, -1.2])}
    else:
        f, dist, params = one_hot_cost, CATEGORICAL.dist, CATEGORICAL.params
    key, n, tau, nu = jax.random.key(4), 300, jnp.float32(0.4), jnp.float32(0.8)
    whole = jax.jit(lambda k: gradest.rebar(f, dist, params, k, n, temperature=tau, scale=nu))(key)
    shape = (n, *params["logits"].shape)
    u, w = jax.jit(module.draw_uniforms, static_argnums=(1, 2))(key, shape, jnp.float32)
    assert u.shape == w.shape == shape and 0 < float(jnp.min(u)) and float(jnp.max(u)) <= 1
    assert not np.allclose(u, w)
    apart = jax.jit(lambda uw: module.rebar_from_uniforms(f, dist, params, uw, temperature=tau, scale=nu))
    np.testing.assert_allclose(apart((u, w))["logits"], whole["logits"], rtol=1e-6, atol=1e-6)
    swapped = apart((w, u))["logits"]
    assert not np.allclose(swapped, whole["logits"], rtol=1e-3)


def test_conditional_sample_has_the_sign_of_the_discrete_sample():
    sample = jax.jit(gradest.relaxation_noise, static_argnums=(0, 3))
    noise = sample(gradest.Bernoulli(), {"logits": jnp.array([-3.0, 0.0, 4.0])}, jax.random.key(4), 1000)
    assert bool(jnp.all((noise.z > 0) == (noise.b == 1)))
    assert bool(jnp.all((noise.z_tilde > 0) == (noise.b == 1)))
    noise = sample(CATEGORICAL.dist, CATEGORICAL.params, jax.random.key(4), 1000)
    index = jnp.argmax(noise.b, axis=-1)
    assert bool(jnp.all(jnp.argmax(noise.z, -1) == index)) and bool(
        jnp.all(jnp.argmax(noise.z_tilde, -1) == index)
    )


def test_tuned_rebar_and_relax_have_lower_variance_than_reinforce_on_the_t045_toy():
    toy = gradest.bernoulli_quadratic(t=0.45, logits=0.0)
    f, dist, params = toy.f, toy.dist, toy.params
    key = jax.random.key(5)
    # A constant surrogate is a baseline: the right constant, E[f] = 0.25, removes almost all variance.
    stats = gradest.estimator_stats(
        lambda k: {
            "sf": gradest.score_function(f, dist, params, k, 1),
            "rebar": gradest.rebar(f, dist, params, k, 1, temperature=100.0, scale=50.0),
            "relax": gradest.relax(
                f, dist, params, k, 1, surrogate=tanh_surrogate, surrogate_params={"w": 0.0, "c": 0.25}
            ),
        },
        key,
        REPEATS,
    )
    var = {name: float(v["logits"]) for name, v in stats.variance.items()}
    assert var["rebar"] < 0.5 * var["sf"], var
    assert var["relax"] < 0.01 * var["sf"], var


def test_variance_gradient_is_the_derivative_of_the_variance():
    """ĝ is linear in the scale ν: Var(a + ν h) has derivative 2 Cov(a, h) + 2 ν Var(h)."""
    toy = gradest.bernoulli_quadratic(t=0.45, logits=0.0)
    f, dist, params = toy.f, toy.dist, toy.params
    nu = 10.0

    def at(k, scale):
        return gradest.rebar(f, dist, params, k, 1, temperature=100.0, scale=scale)["logits"]

    def both(k):
        estimate, grad = gradest.estimate_and_variance_grad(lambda s: at(k, s), nu)
        return estimate, grad, at(k, 0.0), at(k, 1.0) - at(k, 0.0)

    estimate, grad, a, h = jax.jit(jax.vmap(both))(jax.random.split(jax.random.key(6), REPEATS))
    np.testing.assert_allclose(estimate, a + nu * h, rtol=1e-4, atol=1e-6)
    derivative = 2 * jnp.cov(a, h)[0, 1] + 2 * nu * jnp.var(h, ddof=1)
    stderr = jnp.std(grad) / np.sqrt(REPEATS)
    assert float(jnp.mean(grad)) < -4 * float(stderr)
    assert abs(float(jnp.mean(grad) - derivative)) < 4 * float(stderr)


def test_composes_with_jit_and_vmap():
    f, dist, params = TOY.f, TOY.dist, TOY.params
    keys = jax.random.split(jax.random.key(7), 4)
    jitted = jax.jit(lambda k, tau: gradest.rebar(f, dist, params, k, 3, temperature=tau)["logits"])
    batch = jax.jit(jax.vmap(lambda k: gradest.rebar(f, dist, params, k, 3, temperature=0.5)["logits"]))(keys)
    np.testing.assert_allclose(jitted(keys[1], 0.5), batch[1], rtol=1e-5)
    assert batch.shape == (4,) and bool(jnp.all(jnp.isfinite(batch)))


def call_rebar(**overrides):
    args = {"f": TOY.f, "dist": TOY.dist, "params": TOY.params, "key": jax.random.key(0), "num_samples": 1}
    kwargs = {"temperature": 0.5}
    for name, value in overrides.items():
        (args if name in args else kwargs)[name] = value
    return gradest.rebar(*args.values(), **kwargs)


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"temperature": float("nan")}, ValueError, "temperature"),
        ({"scale": float("inf")}, ValueError, "scale"),
        ({"params": {"logits": jnp.array([0.0, jnp.nan])}}, ValueError, "logits"),
        ({"params": {"logits": jnp.array(jnp.inf)}}, ValueError, "logits"),
        ({"params": {"probs": 0.3}}, ValueError, "params"),
        ({"f": "not a function"}, TypeError, "f"),
        ({"dist": gradest.Normal()}, TypeError, "dist"),
        ({"key": 0}, TypeError, "key"),
        ({"num_samples": 0}, ValueError, "num_samples"),
    ],
)
def test_rebar_bad_input(overrides, error, match):
    with pytest.raises(error, match=match):
        call_rebar(**overrides)


def test_relax_bad_input():
    f, dist, params, key = TOY.f, TOY.dist, TOY.params, jax.random.key(0)
    with pytest.raises(TypeError, match="surrogate"):
        gradest.relax(f, dist, params, key, 1, surrogate=None, surrogate_params=None)
    with pytest.raises(TypeError, match="f"):
        gradest.relax(
            3.0, dist, params, key, 1, surrogate=tanh_surrogate, surrogate_params={"w": 1.0, "c": 0.0}
        )
    with pytest.raises(ValueError, match="logits"):
        gradest.relax(
            one_hot_cost,
            CATEGORICAL.dist,
            {"logits": jnp.array([0.0, jnp.nan])},
            key,
            1,
            surrogate=tanh_surrogate,
            surrogate_params={"w": 1.0, "c": 0.0},
        )
    with pytest.raises(ValueError, match="temperature"):
        gradest.relaxed_input(dist, jnp.zeros(3), 0.0)
    with pytest.raises(TypeError, match="dist"):
        gradest.relaxation_noise(gradest.Normal(), {"loc": 0.0, "scale": 1.0}, key, 1)
    with pytest.raises(TypeError, match="estimator"):
        gradest.estimate_and_variance_grad("not a function", 1.0)
