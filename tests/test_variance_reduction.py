"""Tests of gradest.variance_reduction: exact-target unbiasedness, wrong variants, variance, bad input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import qmc

import gradest
from gradest import variance_reduction as vr

TOL = 4.0
KEY = jax.random.key(20261128)
R = 10_000

GAUSS = gradest.gaussian_cos(k=1.3, loc=jnp.array([0.2, -0.7]), scale=jnp.array([0.8, 1.1]))
CAT = gradest.categorical_table(
    jnp.array([1.0, -2.0, 0.5, 3.0, 0.2, 1.1]), logits=jnp.array([2.0, 1.0, 0.5, 0.0, -1.0, -jnp.inf])
)
SOBOL8 = qmc.Sobol(2, scramble=True, seed=1).random_base2(3)


def max_z(report, name):
    return max(float(jnp.max(jnp.abs(z))) for z in jax.tree.leaves(report.z[name]))


def check_all(estimators, exact, num_repeats=R):
    """max |z| of each estimator against one exact gradient, in one compiled check."""
    every = lambda k: {n: e(k) for n, e in estimators.items()}
    report = gradest.unbiasedness_check(every, dict.fromkeys(estimators, exact), KEY, num_repeats)
    return [max_z(report, n) for n in estimators]


def check_pair(right, wrong, exact, num_repeats=R):
    """One compiled unbiasedness check of a correct estimator and its deliberately wrong variant."""
    return check_all({"right": right, "wrong": wrong}, exact, num_repeats)


def lognormal_problem():
    """f(x) = exp(x / 2) under N(mu, sigma^2): E[f] = exp(mu / 2 + sigma^2 / 8), neither odd nor even."""
    return gradest.Problem(
        name="exp(x/2)",
        dist=gradest.Normal(),
        f=lambda x, _: jnp.sum(jnp.exp(x / 2)),
        params={"loc": jnp.array([1.0, -0.4]), "scale": jnp.array([1.5, 0.8])},
        expectation=lambda q: jnp.sum(jnp.exp(q["loc"] / 2 + q["scale"] ** 2 / 8)),
    )


def stats_of(estimators, num_repeats):
    """Statistics of several estimators on common keys, compiled once."""
    return gradest.estimator_stats(lambda k: {n: e(k) for n, e in estimators.items()}, KEY, num_repeats)


def test_antithetic_pathwise_unbiased_and_reflecting_about_zero_is_not():
    p = lognormal_problem()

    def reflected_about_zero(key):
        # A plausible bug: the partner of x is -x instead of 2 mu - x, a sample of N(-mu, sigma^2).
        eps = jax.random.normal(key, (2, 2))

        def objective(q):
            x = q["loc"] + q["scale"] * eps
            return jnp.mean(jax.vmap(p.f, (0, None))(jnp.concatenate([x, -x]), q))

        return jax.grad(objective)(p.params)

    right = lambda k: vr.antithetic_pathwise(p.f, p.dist, p.params, k, 4)
    z_right, z_wrong = check_pair(right, reflected_about_zero, p.exact_grad())
    assert z_right < TOL < z_wrong


def test_antithetic_score_function_unbiased_and_sample_level_rloo_is_not():
    p = gradest.gaussian_exp(k=0.5, loc=jnp.array([0.8, -0.3]), scale=jnp.array([0.7, 1.2]))

    def sample_level_rloo(key):
        # RLOO over all N costs puts the partner of x_i, a function of x_i, into its baseline.
        eps = jax.random.normal(key, (2, 2))
        eps = jnp.concatenate([eps, -eps])

        def surrogate(q):
            x = jax.lax.stop_gradient(q["loc"] + q["scale"] * eps)
            fv = jax.vmap(p.f, (0, None))(x, q)
            adv = jax.lax.stop_gradient(fv - gradest.rloo(fv))
            log_p = jnp.sum(p.dist.log_prob(q, x), axis=1)
            return jnp.mean(adv * log_p)

        return jax.grad(surrogate)(p.params)

    right = lambda k: vr.antithetic_score_function(p.f, p.dist, p.params, k, 4, baseline=gradest.rloo)
    plain = lambda k: vr.antithetic_score_function(p.f, p.dist, p.params, k, 4)
    z_right, z_plain, z_wrong = check_all(
        {"right": right, "plain": plain, "wrong": sample_level_rloo}, p.exact_grad(), 20_000
    )
    assert max(z_right, z_plain) < TOL < z_wrong


@pytest.mark.parametrize("batch", [(), (6,)], ids=["concatenated", "sign-broadcast"])
def test_antithetic_variance_ratio_is_zero_for_odd_and_two_for_even_estimates(batch):
    # f = (x - k)^2: the pathwise mu-gradient 2(mu - k) + 2 sigma eps is odd around its mean
    # (antithetic: exact), the sigma-gradient 2(mu - k) eps + 2 sigma eps^2 is even at mu = k.
    # Short and long samples lay out their pairs in two ways (variance_reduction._antithetic_noise).
    p = gradest.gaussian_quadratic(k=0.0, loc=jnp.zeros(batch), scale=jnp.full(batch, 1.5))
    var = stats_of(
        {
            "anti": lambda k: vr.antithetic_pathwise(p.f, p.dist, p.params, k, 8),
            "plain": lambda k: gradest.pathwise(p.f, p.dist, p.params, k, 8),
        },
        4000,
    ).variance
    assert float(jnp.max(var["anti"]["loc"])) < 1e-10
    ratio = var["anti"]["scale"] / var["plain"]["scale"]
    assert jnp.all((1.8 < ratio) & (ratio < 2.2)), ratio


def test_random_digital_shift_is_uniform_and_keeps_the_strata():
    points = qmc.Sobol(1, scramble=False).random_base2(4)
    shift = jax.jit(jax.vmap(lambda k: vr.random_digital_shift(points, k)))
    shifted = np.asarray(shift(jax.random.split(KEY, 4000)))
    # Every point is uniform: mean 1/2, variance 1/12.
    assert abs(shifted.mean() - 0.5) < 0.005 and abs(shifted.var() - 1 / 12) < 0.002
    # 16 Sobol points stay one per interval [j/16, (j+1)/16) after every shift.
    strata = np.sort((shifted[:, :, 0] * 16).astype(int), axis=1)
    assert (strata == np.arange(16)).all()


def test_rqmc_unbiased_and_a_shift_without_wrap_is_not():
    p = GAUSS

    def shift_clipped(key):
        # A plausible bug: a Cranley-Patterson shift clipped at 1 instead of wrapped around.
        u = jnp.minimum(jnp.asarray(SOBOL8) + jax.random.uniform(key, (2,)), 1 - 2.0**-24)
        eps = jax.scipy.special.ndtri(u)
        objective = lambda q: jnp.mean(jax.vmap(p.f, (0, None))(q["loc"] + q["scale"] * eps, q))
        return jax.grad(objective)(p.params)

    right = lambda k: vr.rqmc_pathwise(p.f, p.dist, p.params, k, 8, points=SOBOL8)
    sf = lambda k: vr.rqmc_score_function(p.f, p.dist, p.params, k, 8, points=SOBOL8)
    z_right, z_sf, z_wrong = check_all({"right": right, "sf": sf, "wrong": shift_clipped}, p.exact_grad())
    assert max(z_right, z_sf) < TOL < z_wrong


def test_rqmc_beats_monte_carlo_on_a_smooth_cost():
    p, points = GAUSS, qmc.Sobol(2, scramble=True, seed=2).random_base2(6)
    rq = gradest.estimator_stats(
        lambda k: vr.rqmc_pathwise(p.f, p.dist, p.params, k, 64, points=points), KEY, 500
    )
    mc = gradest.estimator_stats(lambda k: gradest.pathwise(p.f, p.dist, p.params, k, 64), KEY, 500)
    for name in ("loc", "scale"):
        assert (np.asarray(rq.variance[name]) < 0.2 * np.asarray(mc.variance[name])).all()


def remainder_as_constant(key, num_samples=2):
    """Sum-and-sample with a plausible bug: the sampled part's weight 1 - pi_C treated as a constant."""
    costs = jnp.array([1.0, -2.0, 0.5, 3.0, 0.2, 1.1])
    top = jnp.array([0, 1])  # the two largest logits of CAT

    def surrogate(q):
        log_pi = jax.nn.log_softmax(q["logits"])
        rest = 1 - jnp.sum(jnp.exp(log_pi[top]))
        log_q = log_pi.at[top].set(-jnp.inf) - jnp.log(rest)
        x = jax.random.categorical(key, jax.lax.stop_gradient(log_q), shape=(num_samples,))
        sampled = jnp.mean(costs[x] * log_q[x])
        return jnp.sum(jnp.exp(log_pi[top]) * costs[top]) + jax.lax.stop_gradient(rest) * sampled

    return jax.grad(surrogate)(CAT.params)


def test_sum_and_sample_unbiased_and_a_constant_remainder_mass_is_not():
    p = CAT
    right = lambda k: vr.sum_and_sample(p.f, p.dist, p.params, k, 2, num_summed=2, baseline=gradest.rloo)
    # num_summed = 0 is the plain score function (with RLOO on the samples).
    plain = lambda k: vr.sum_and_sample(p.f, p.dist, p.params, k, 2, num_summed=0, baseline=gradest.rloo)
    z_right, z_plain, z_wrong = check_all(
        {"right": right, "plain": plain, "wrong": remainder_as_constant}, p.exact_grad()
    )
    assert max(z_right, z_plain) < TOL < z_wrong


def test_sum_and_sample_is_exact_when_one_category_remains_and_reduces_variance():
    p = CAT  # the top 4 of 5 possible categories summed: the remainder is one category
    g = jax.jit(lambda k: vr.sum_and_sample(p.f, p.dist, p.params, k, 1, num_summed=4))(KEY)
    np.testing.assert_allclose(g["logits"], p.exact_grad()["logits"], atol=1e-5)
    total = lambda s: float(jnp.sum(s.variance["logits"]))
    rloo = gradest.estimator_stats(
        lambda k: gradest.score_function(p.f, p.dist, p.params, k, 4, baseline=gradest.rloo), KEY, 4000
    )
    sas = gradest.estimator_stats(
        lambda k: vr.sum_and_sample(p.f, p.dist, p.params, k, 2, num_summed=2, baseline=gradest.rloo),
        KEY,
        4000,
    )
    assert total(sas) < 0.5 * total(rloo)  # at 4 evaluations of f each


def test_importance_sampling_unbiased_and_forgetting_the_weights_is_not():
    p = GAUSS
    q_params = {"loc": jnp.array([0.0, 0.0]), "scale": jnp.array([1.5, 1.5])}

    def unweighted(key):
        x = p.dist.sample(q_params, key, (4,))
        surrogate = lambda q: jnp.mean(
            jax.lax.stop_gradient(jax.vmap(p.f, (0, None))(x, q)) * jnp.sum(p.dist.log_prob(q, x), axis=1)
        )
        return jax.grad(surrogate)(p.params)

    def right(key):
        return vr.importance_score_function(
            p.f,
            p.dist,
            p.params,
            key,
            4,
            proposal=gradest.Normal(),
            proposal_params=q_params,
            baseline=gradest.rloo,
        )

    z_right, z_wrong = check_pair(right, unweighted, p.exact_grad())
    assert z_right < TOL < z_wrong


def test_importance_sampling_with_q_equal_p_is_the_score_function():
    p = GAUSS
    both = jax.jit(
        lambda k: (
            vr.importance_score_function(
                p.f, p.dist, p.params, k, 16, proposal=p.dist, proposal_params=p.params
            ),
            gradest.score_function(p.f, p.dist, p.params, k, 16),
        )
    )
    g, ref = both(KEY)
    for name in ("loc", "scale"):
        np.testing.assert_allclose(g[name], ref[name], rtol=1e-5, atol=1e-6)


def test_importance_sampling_on_a_categorical_proposal():
    p = CAT
    q_params = {"logits": jnp.zeros(6)}
    est = lambda k: vr.importance_score_function(
        p.f, p.dist, p.params, k, 4, proposal=gradest.Categorical(), proposal_params=q_params
    )
    assert gradest.unbiasedness_check(est, p.exact_grad(), KEY, R).passed


def test_effective_sample_size():
    assert float(vr.effective_sample_size(jnp.zeros(8))) == pytest.approx(8.0)
    assert float(vr.effective_sample_size(jnp.array([0.0, -jnp.inf, -jnp.inf]))) == pytest.approx(1.0)
    assert float(vr.effective_sample_size(jnp.array([1000.0, 1000.0]))) == pytest.approx(2.0)


F, NORMAL, PARAMS = GAUSS.f, GAUSS.dist, GAUSS.params
BAD_INPUT = [
    (
        lambda: vr.antithetic_pathwise(F, NORMAL, PARAMS, KEY, 3),
        ValueError,
        "num_samples must be even.*got 3",
    ),
    (lambda: vr.antithetic_pathwise(F, NORMAL, PARAMS, KEY, 0), ValueError, "num_samples must be >= "),
    (
        lambda: vr.antithetic_pathwise(F, gradest.Gumbel(), PARAMS, KEY, 2),
        TypeError,
        "dist must be gradest.Normal",
    ),
    (lambda: vr.antithetic_score_function(None, NORMAL, PARAMS, KEY, 2), TypeError, "f must be callable"),
    (
        lambda: vr.antithetic_score_function(F, NORMAL, PARAMS, KEY, 2.0),
        TypeError,
        "num_samples must be an int",
    ),
    (
        lambda: vr.antithetic_score_function(F, NORMAL, PARAMS, "key", 2),
        TypeError,
        "key must be a jax.random key",
    ),
    (
        lambda: vr.rqmc_pathwise(F, NORMAL, PARAMS, KEY, 4, points=SOBOL8),
        ValueError,
        r"points must have shape \(4, 2\)",
    ),
    (
        lambda: vr.rqmc_pathwise(F, NORMAL, PARAMS, KEY, 8, points=SOBOL8 + 1),
        ValueError,
        r"points must lie in \[0, 1\)",
    ),
    (
        lambda: vr.rqmc_pathwise(F, gradest.Bernoulli(), {"logits": 0.0}, KEY, 8, points=SOBOL8),
        TypeError,
        "dist must be",
    ),
    (lambda: vr.rqmc_score_function(F, NORMAL, PARAMS, KEY, 8, points="abc"), TypeError, "points must be"),
    (
        lambda: vr.random_digital_shift(jnp.array(0.5), KEY),
        ValueError,
        "points must have a leading sample axis",
    ),
    (
        lambda: vr.sum_and_sample(CAT.f, CAT.dist, CAT.params, KEY, 2, num_summed=6),
        ValueError,
        "num_summed must be < .* 6, got 6",
    ),
    (
        lambda: vr.sum_and_sample(CAT.f, CAT.dist, CAT.params, KEY, 2, num_summed=-1),
        ValueError,
        "num_summed must be >= 0",
    ),
    (
        lambda: vr.sum_and_sample(CAT.f, CAT.dist, CAT.params, KEY, 2, num_summed=1.5),
        TypeError,
        "num_summed must be an int",
    ),
    (
        lambda: vr.sum_and_sample(F, NORMAL, PARAMS, KEY, 2, num_summed=1),
        TypeError,
        "dist must be gradest.Categorical",
    ),
    (
        lambda: vr.sum_and_sample(CAT.f, CAT.dist, {"logits": jnp.zeros((2, 3))}, KEY, 2, num_summed=1),
        ValueError,
        r"params must describe one categorical variable.*\(2, 3\)",
    ),
    (
        lambda: vr.importance_score_function(F, NORMAL, PARAMS, KEY, 4, proposal="q", proposal_params=PARAMS),
        TypeError,
        "proposal must be a gradest distribution",
    ),
    (
        lambda: vr.importance_score_function(
            F, NORMAL, PARAMS, KEY, 4, proposal=NORMAL, proposal_params={"loc": 0.0, "scale": -1.0}
        ),
        ValueError,
        r"params\['scale'\] must be > 0",
    ),
    (
        lambda: vr.importance_score_function(
            F, NORMAL, PARAMS, KEY, 4, proposal=NORMAL, proposal_params={"loc": 0.0, "scale": 1.0}
        ),
        ValueError,
        r"proposal_params must have the batch shape of params \(2,\), got \(\)",
    ),
    (lambda: vr.effective_sample_size(jnp.ones((2, 2))), ValueError, r"log_weights must have shape \(N,\)"),
    (lambda: vr.effective_sample_size(jnp.array([0.0, jnp.nan])), ValueError, "log_weights contains NaN"),
    (
        lambda: vr.effective_sample_size(jnp.array([-jnp.inf, -jnp.inf])),
        ValueError,
        "at least one finite weight",
    ),
]


@pytest.mark.parametrize(
    "call, error, match", BAD_INPUT, ids=[m.split(" ")[0] + str(i) for i, (_, _, m) in enumerate(BAD_INPUT)]
)
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
