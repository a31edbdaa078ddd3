"""ARM, DisARM, the unordered-set estimator, Gumbel-Rao and VIMCO against exact targets.

Every unbiasedness check compares the mean of repeated estimates (fixed keys) with a gradient
computed by enumeration or quadrature, at 4 standard errors, and a deliberately wrong variant of
each estimator fails the same check.
"""

import importlib
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest
from gradest.arm import _antithetic_estimate

unordered_set_module = importlib.import_module("gradest.unordered_set")

REPEATS = 5_000
BERNOULLI = gradest.Bernoulli()
CATEGORICAL = gradest.Categorical()

# A cost of four coupled Bernoulli variables: its gradient needs all 2^4 states.
WEIGHTS = jnp.array([1.0, -2.0, 0.5, 1.5])
LOGITS = {"logits": jnp.array([0.3, -0.5, 1.0, 0.0])}
STATES = jnp.array(list(itertools.product([0.0, 1.0], repeat=4)))


def coupled_cost(b, _params):
    return jnp.sin(b @ WEIGHTS) + b[0] * b[1]


def coupled_exact_grad(params):
    def expectation(p):
        log_p = jnp.sum(BERNOULLI.log_prob(p, STATES), axis=1)
        return jnp.sum(jnp.exp(log_p) * jax.vmap(coupled_cost, in_axes=(0, None))(STATES, None))

    return jax.grad(expectation)(params)


TABLE = gradest.categorical_table(
    jnp.array([1.0, 2.0, 5.0, -1.0, 0.3, 3.0]), logits=jnp.array([0.5, 0.0, -0.5, -jnp.inf, 1.0, -1.0])
)


def check(estimator, exact, seed, repeats=REPEATS):
    return gradest.unbiasedness_check(estimator, exact, jax.random.key(seed), repeats)


# --- ARM and DisARM --------------------------------------------------------------------------


def arm_with_independent_pair(f, params, key, num_samples):
    """Wrong: the second sample uses a fresh uniform, so the pair is not antithetic."""
    logits = params["logits"]
    key_u, key_v = jax.random.split(key)
    u = jax.random.uniform(key_u, (num_samples, *logits.shape))
    u_other = jax.random.uniform(key_v, (num_samples, *logits.shape))
    theta = jax.nn.sigmoid(logits)
    b, b_other = (u < theta).astype(float), ((1 - u_other) < theta).astype(float)
    diff = jax.vmap(f, in_axes=(0, None))(b_other, params) - jax.vmap(f, in_axes=(0, None))(b, params)
    return {"logits": jnp.mean(diff.reshape(-1, *(1,) * logits.ndim) * (u - 0.5), axis=0)}


def disarm_without_weight(f, params, key, num_samples):
    """Wrong: DisARM with the factor σ(|η|) forgotten."""

    def weight(u, b, b_anti, f_b, f_anti, eta):
        return 0.5 * (f_b - f_anti) * (1.0 - 2.0 * b_anti) * (b != b_anti)

    return _antithetic_estimate(f, params, key, num_samples, weight)


@pytest.mark.parametrize("estimator", [gradest.arm, gradest.disarm])
def test_arm_and_disarm_unbiased_on_the_toy_and_on_coupled_variables(estimator):
    toy = gradest.bernoulli_quadratic(t=0.45, logits=0.3)
    report = check(
        lambda k: {
            "toy": estimator(toy.f, toy.dist, toy.params, k, 1),
            "coupled": estimator(coupled_cost, BERNOULLI, LOGITS, k, 2),
        },
        {"toy": toy.exact_grad(), "coupled": coupled_exact_grad(LOGITS)},
        seed=1,
    )
    assert report.passed, report.max_abs_z


@pytest.mark.parametrize("wrong", [arm_with_independent_pair, disarm_without_weight])
def test_wrong_arm_variants_fail_the_same_check(wrong):
    report = check(lambda k: wrong(coupled_cost, LOGITS, k, 2), coupled_exact_grad(LOGITS), seed=1)
    assert not report.passed and report.max_abs_z > 8


def test_disarm_has_lower_variance_than_arm_and_is_zero_when_the_pair_agrees():
    toy = gradest.bernoulli_quadratic(t=0.45, logits=0.3)
    stats = gradest.estimator_stats(
        lambda k: {
            name: est(toy.f, toy.dist, toy.params, k, 1)
            for name, est in (("arm", gradest.arm), ("disarm", gradest.disarm))
        },
        jax.random.key(2),
        REPEATS,
    )
    assert float(stats.variance["disarm"]["logits"]) < 0.6 * float(stats.variance["arm"]["logits"])
    # With η = 0 both samples agree whenever u and 1 - u fall on the same side of 1/2: never.
    # With a large |η| they agree most of the time, and DisARM is exactly zero then.
    far = gradest.disarm(toy.f, toy.dist, {"logits": jnp.full(64, 4.0)}, jax.random.key(3), 1)
    assert float(jnp.mean(far["logits"] == 0.0)) > 0.9


def test_arm_adds_the_pathwise_term_of_a_cost_that_depends_on_the_logits():
    def f(b, p):
        return jnp.sum((b - 0.45) ** 2 + 0.5 * p["logits"] ** 2)

    params = {"logits": jnp.array([0.3, -1.0])}

    def expectation(p):
        theta = jax.nn.sigmoid(p["logits"])
        return jnp.sum(theta * 0.55**2 + (1 - theta) * 0.45**2 + 0.5 * p["logits"] ** 2)

    report = check(lambda k: gradest.disarm(f, BERNOULLI, params, k, 1), jax.grad(expectation)(params), 4)
    assert report.passed, report.max_abs_z


# --- the unordered-set estimator -------------------------------------------------------------


def rloo_on_a_set_without_replacement(key, k):
    """Wrong: the with-replacement RLOO formula applied to k distinct categories."""
    x = gradest.gumbel_top_k(TABLE.params["logits"], key, k)

    def surrogate(p):
        f_values = jax.vmap(TABLE.f, in_axes=(0, None))(x, p)
        advantage = jax.lax.stop_gradient(f_values - gradest.rloo(f_values))
        return jnp.mean(advantage * TABLE.dist.log_prob(p, x))

    return jax.grad(surrogate)(TABLE.params)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_unordered_set_is_unbiased_and_beats_rloo_at_equal_evaluations(k):
    report = check(
        lambda key: gradest.unordered_set(TABLE.f, TABLE.dist, TABLE.params, key, k), TABLE.exact_grad(), 5
    )
    assert report.passed, report.max_abs_z
    assert float(report.stats.mean["logits"][3]) == 0.0  # the impossible category
    rloo = gradest.estimator_stats(
        lambda key: gradest.score_function(TABLE.f, TABLE.dist, TABLE.params, key, k, baseline=gradest.rloo),
        jax.random.key(5),
        REPEATS,
    )
    assert float(report.stats.variance["logits"].sum()) < float(rloo.variance["logits"].sum())


def test_rloo_formula_on_a_set_without_replacement_fails():
    report = check(lambda key: rloo_on_a_set_without_replacement(key, 3), TABLE.exact_grad(), 5)
    assert not report.passed and report.max_abs_z > 8


def test_unordered_set_of_every_possible_category_is_the_exact_gradient():
    estimate = jax.jit(lambda k: gradest.unordered_set(TABLE.f, TABLE.dist, TABLE.params, k, 5))(
        jax.random.key(0)
    )
    np.testing.assert_allclose(estimate["logits"], TABLE.exact_grad()["logits"], atol=1e-5)


@pytest.mark.parametrize("k", [2, 4, 6])
def test_set_probabilities_sum_to_one_over_every_set_with_and_without_a_category(k):
    # Every set of k of k + 2 categories; then every set of k - 1 of the categories left once
    # category 0 (its probability mass removed) is out of the draw.
    log_p = jax.nn.log_softmax(jnp.linspace(-1.0, 1.5, k + 2))
    every_set = np.array(list(itertools.combinations(range(k + 2), k)))
    without_0 = np.array(list(itertools.combinations(range(1, k + 2), k - 1)))

    @jax.jit
    def totals(log_p):
        with_all = unordered_set_module._log_set_prob(log_p, every_set, jnp.zeros(len(every_set)))
        rest = unordered_set_module._log_set_prob(
            log_p, without_0, jnp.full(len(without_0), jnp.exp(log_p[0]))
        )
        return jnp.sum(jnp.exp(with_all)), jnp.sum(jnp.exp(rest))

    np.testing.assert_allclose(totals(log_p), [1.0, 1.0], rtol=1e-5)


def test_unordered_set_weights_sum_over_sets_reproduces_the_exact_gradient():
    # Enumerate every set of 2 of 4 categories with its probability: the weights give the gradient.
    log_p = jax.nn.log_softmax(jnp.array([0.2, -0.7, 1.1, 0.0]))
    costs = jnp.array([1.0, -2.0, 0.5, 3.0])
    p = jnp.exp(log_p)
    weights = jax.jit(gradest.unordered_set_weights)
    total = jnp.zeros(4)
    for i, j in itertools.permutations(range(4), 2):  # ordered draws; sets counted by their orders
        prob = p[i] * p[j] / (1 - p[i])
        score_w, _ = weights(log_p[jnp.array([i, j])], costs[jnp.array([i, j])])
        scores = jnp.eye(4)[jnp.array([i, j])] - p  # ∇_η log p_s
        total = total + prob * (score_w @ scores)
    np.testing.assert_allclose(total, p * (costs - p @ costs), atol=1e-6)


# --- Gumbel-Rao ------------------------------------------------------------------------------

COSTS_2 = jnp.array([1.0, -1.5])
LOGITS_2 = {"logits": jnp.array([0.4, -0.2])}


def squared_cost_2(y, _params):
    return (y @ COSTS_2) ** 2


def straight_through_mean_by_quadrature(tau):
    """E[ĝ_ST] for K = 2: an integral over the logistic difference of the two perturbed logits."""
    c1, c2 = (float(c) for c in COSTS_2)
    a = float(LOGITS_2["logits"][0] - LOGITS_2["logits"][1])

    def integral(lo, hi, cost):
        x = np.linspace(lo, hi, 400_001)
        logistic = 1 / (1 + np.exp(-(x - a)))
        relaxed = 1 / (1 + np.exp(-x / tau))
        return np.trapezoid(cost * relaxed * (1 - relaxed) / tau * logistic * (1 - logistic), x)

    first = 2 * (c1 - c2) * (integral(0.0, 60.0, c1) + integral(-60.0, 0.0, c2))
    return {"logits": jnp.array([first, -first])}


def straight_through_estimate(f, params, key, tau):
    return jax.grad(lambda p: f(gradest.straight_through(p["logits"], key, tau), p))(params)


def gumbel_rao_with_unconditional_noise(key, tau):
    """Wrong: the Jacobian averaged over noise drawn independently of the sample."""
    k1, k2 = jax.random.split(key)

    def objective(p):
        hard = gradest.straight_through(p["logits"], k1, tau)
        soft = jnp.mean(gradest.gumbel_softmax(p["logits"], k2, tau, (10,)), axis=0)
        return squared_cost_2(jax.lax.stop_gradient(hard) + soft - jax.lax.stop_gradient(soft), p)

    return jax.grad(objective)(LOGITS_2)


@pytest.mark.parametrize("tau", [0.5, 2.0])
def test_gumbel_rao_has_the_straight_through_expectation_by_quadrature(tau):
    target = straight_through_mean_by_quadrature(tau)
    report = check(
        lambda k: {
            "gumbel-rao": gradest.gumbel_rao(
                squared_cost_2, CATEGORICAL, LOGITS_2, k, 1, temperature=tau, num_conditional=10
            ),
            "straight-through": straight_through_estimate(squared_cost_2, LOGITS_2, k, tau),
        },
        {"gumbel-rao": target, "straight-through": target},
        seed=6,
    )
    assert report.passed, report.max_abs_z
    variance = {name: float(s["logits"].sum()) for name, s in report.stats.variance.items()}
    assert variance["gumbel-rao"] < variance["straight-through"]
    # The straight-through expectation is not the gradient: both estimators are biased.
    exact = jax.grad(lambda p: jnp.sum(jax.nn.softmax(p["logits"]) * COSTS_2**2))(LOGITS_2)
    assert abs(float(target["logits"][0] - exact["logits"][0])) > 0.05


def test_gumbel_rao_with_unconditional_noise_fails():
    report = check(
        lambda k: gumbel_rao_with_unconditional_noise(k, 0.5), straight_through_mean_by_quadrature(0.5), 6
    )
    assert not report.passed and report.max_abs_z > 8


def test_straight_through_expectation_matches_quadrature_and_the_estimators_on_four_categories():
    # At τ = 2 the conditional Jacobian varies little: 50 000 draws per category pin the mean to
    # about 2e-4 (τ = 0.5 is checked against the same quadrature through gumbel_rao above).
    by_enumeration = jax.jit(
        lambda k: gradest.straight_through_expectation(
            squared_cost_2, CATEGORICAL, LOGITS_2, k, 50_000, temperature=2.0
        )
    )(jax.random.key(7))
    exact = straight_through_mean_by_quadrature(2.0)
    np.testing.assert_allclose(by_enumeration["logits"], exact["logits"], rtol=0.01, atol=1e-3)
    costs = jnp.array([1.0, -1.0, 2.0, 0.5])
    params = {"logits": jnp.array([0.2, -0.3, 0.5, -jnp.inf])}

    def f(y, _p):
        return (y @ costs) ** 2

    expected = jax.jit(
        lambda k: gradest.straight_through_expectation(f, CATEGORICAL, params, k, 50_000, temperature=0.5)
    )(jax.random.key(8))
    report = check(
        lambda k: gradest.gumbel_rao(f, CATEGORICAL, params, k, 2, temperature=0.5, num_conditional=4),
        expected,
        seed=9,
    )
    assert report.passed, report.max_abs_z
    assert float(report.stats.mean["logits"][3]) == 0.0


def test_conditional_gumbel_has_the_requested_argmax_and_the_gumbel_max_distribution():
    logits = jnp.array([0.5, -1.0, 1.2, -jnp.inf])
    z = gradest.conditional_gumbel(logits, jax.random.key(10), jnp.array([0, 1, 2]), (20_000,))
    assert z.shape == (20_000, 3, 4)
    np.testing.assert_array_equal(jnp.argmax(z, -1), jnp.broadcast_to(jnp.array([0, 1, 2]), (20_000, 3)))
    assert bool(jnp.all(z[..., 3] == -jnp.inf))
    # The maximum is Gumbel(logsumexp η) whichever category wins: mean logsumexp + Euler's γ.
    expected = float(jax.nn.logsumexp(logits)) + np.euler_gamma
    top = jnp.max(z, axis=-1)
    se = float(jnp.std(top)) / np.sqrt(20_000)
    assert np.all(np.abs(np.asarray(jnp.mean(top, axis=0)) - expected) < 4 * se)


# --- VIMCO -----------------------------------------------------------------------------------

LATENTS = jnp.array(list(itertools.product([0.0, 1.0], repeat=3)))
LOG_JOINT = jnp.array([-1.0, -3.0, -2.0, -0.5, -4.0, -1.5, -2.5, -0.2])
Q_PARAMS = {"logits": jnp.array([0.2, -0.4, 0.7])}


def log_joint(h, _params):
    return LOG_JOINT[jnp.sum(h * jnp.array([4, 2, 1])).astype(jnp.int32)]


def exact_bound_grad(num_samples):
    combos = jnp.array(list(itertools.product(range(8), repeat=num_samples)))

    def bound(p):
        log_q = jnp.sum(BERNOULLI.log_prob(p, LATENTS), axis=1)
        log_w = (LOG_JOINT - log_q)[combos]
        return jnp.sum(jnp.exp(jnp.sum(log_q[combos], axis=1)) * jax.nn.logsumexp(log_w, axis=1)) - jnp.log(
            num_samples
        )

    return jax.grad(bound)(Q_PARAMS)


def vimco_without_score_term(key, num_samples):
    """Wrong: only the pathwise part of the bound, as if the discrete samples were constants."""
    h = BERNOULLI.sample(Q_PARAMS, key, (num_samples,))

    def bound(p):
        log_q = jnp.sum(BERNOULLI.log_prob(p, h), axis=1)
        return jax.nn.logsumexp(jax.vmap(log_joint, in_axes=(0, None))(h, p) - log_q)

    return jax.grad(bound)(Q_PARAMS)


@pytest.mark.parametrize("num_samples", [2, 3])
def test_vimco_is_unbiased_for_the_multi_sample_bound(num_samples):
    report = check(
        lambda k: gradest.vimco(log_joint, BERNOULLI, Q_PARAMS, k, num_samples),
        exact_bound_grad(num_samples),
        seed=11,
    )
    assert report.passed, report.max_abs_z


def test_vimco_without_its_score_term_fails():
    report = check(lambda k: vimco_without_score_term(k, 3), exact_bound_grad(3), seed=11)
    assert not report.passed and report.max_abs_z > 8


def test_vimco_with_parameters_of_shape_one_is_the_scalar_estimate():
    """Parameters of shape (1,) (for which the library writes the bound's inputs to memory once,
    for speed) draw the same samples as scalar ones and give the same estimate, jitted and vmapped."""

    def cost(h, _params):
        return -jnp.sum((h - 0.45) ** 2)

    def estimates(logits):
        def one(key):
            return gradest.vimco(cost, BERNOULLI, {"logits": logits}, key, 8)["logits"]

        return jax.jit(jax.vmap(one))(jax.random.split(KEY, 64))

    scalar, vector = estimates(jnp.float32(0.3)), estimates(jnp.full((1,), 0.3, jnp.float32))
    assert vector.shape == (64, 1) and float(jnp.std(scalar)) > 0.01
    np.testing.assert_allclose(vector[:, 0], scalar, rtol=1e-6, atol=1e-7)


def test_vimco_surrogate_value_is_the_bound_and_signals_match_the_definition():
    log_w = jnp.array([-1.0, 0.5, -2.0])
    value = gradest.vimco_surrogate(log_w, jnp.zeros(3))
    np.testing.assert_allclose(value, jax.nn.logsumexp(log_w) - jnp.log(3.0), rtol=1e-6)
    w = np.exp(np.asarray(log_w))
    geo = np.exp((np.sum(np.log(w)) - np.log(w)) / 2)
    by_hand = np.log(w.mean()) - np.log((w.sum() - w + geo) / 3)
    np.testing.assert_allclose(gradest.vimco_learning_signals(log_w), by_hand, rtol=1e-5)


# --- invalid input ---------------------------------------------------------------------------

KEY = jax.random.key(0)
TOY = gradest.bernoulli_quadratic()


def one_hot_cost(y, _params):
    return jnp.sum(y)


BAD_CALLS = [
    (lambda: gradest.arm("f", BERNOULLI, TOY.params, KEY, 1), TypeError, "f must be callable"),
    (lambda: gradest.arm(TOY.f, CATEGORICAL, TOY.params, KEY, 1), TypeError, "dist must be"),
    (lambda: gradest.disarm(TOY.f, BERNOULLI, TOY.params, 0, 1), TypeError, "key must be"),
    (lambda: gradest.disarm(TOY.f, BERNOULLI, TOY.params, KEY, 0), ValueError, "num_samples must be >= 1"),
    (lambda: gradest.disarm(TOY.f, BERNOULLI, TOY.params, KEY, 1.0), TypeError, "num_samples must be an int"),
    (lambda: gradest.arm(TOY.f, BERNOULLI, {"probs": 0.3}, KEY, 1), ValueError, "logits"),
    (
        lambda: gradest.disarm(TOY.f, BERNOULLI, {"logits": jnp.inf}, KEY, 1),
        ValueError,
        r"params\['logits'\]",
    ),
    (lambda: gradest.unordered_set(TABLE.f, BERNOULLI, TABLE.params, KEY, 2), TypeError, "dist must be"),
    (
        lambda: gradest.unordered_set(TABLE.f, CATEGORICAL, TABLE.params, KEY, 1),
        ValueError,
        "num_samples must be >= 2",
    ),
    (
        lambda: gradest.unordered_set(TABLE.f, CATEGORICAL, TABLE.params, KEY, 6),
        ValueError,
        r"non-zero probability \(5\), got 6",
    ),
    (
        lambda: gradest.unordered_set(TABLE.f, CATEGORICAL, {"logits": jnp.zeros(12)}, KEY, 9),
        ValueError,
        "<= 8",
    ),
    (
        lambda: gradest.unordered_set(TABLE.f, CATEGORICAL, {"logits": jnp.zeros((2, 3))}, KEY, 2),
        ValueError,
        "one categorical",
    ),
    (
        lambda: gradest.gumbel_rao(one_hot_cost, CATEGORICAL, LOGITS_2, KEY, 1, temperature=0.0),
        ValueError,
        "temperature must be > 0",
    ),
    (
        lambda: gradest.gumbel_rao(
            one_hot_cost, CATEGORICAL, LOGITS_2, KEY, 1, temperature=1.0, num_conditional=0
        ),
        ValueError,
        "num_conditional",
    ),
    (
        lambda: gradest.gumbel_rao(one_hot_cost, BERNOULLI, LOGITS_2, KEY, 1, temperature=1.0),
        TypeError,
        "dist must be",
    ),
    (
        lambda: gradest.gumbel_rao(None, CATEGORICAL, LOGITS_2, KEY, 1, temperature=1.0),
        TypeError,
        "f must be callable",
    ),
    (
        lambda: gradest.straight_through_expectation(
            one_hot_cost, CATEGORICAL, {"logits": jnp.zeros((2, 3))}, KEY, 10, temperature=1.0
        ),
        ValueError,
        "one categorical",
    ),
    (
        lambda: gradest.conditional_gumbel(jnp.zeros(3), KEY, jnp.array([0.0])),
        TypeError,
        "index must hold integer",
    ),
    (
        lambda: gradest.conditional_gumbel(jnp.array([0.0, jnp.nan]), KEY, 0),
        ValueError,
        "logits contains NaN",
    ),
    (lambda: gradest.vimco_surrogate(jnp.zeros(3), jnp.zeros(2)), ValueError, "log_q must have the shape"),
    (lambda: gradest.vimco_surrogate(jnp.zeros(1), jnp.zeros(1)), ValueError, "K >= 2"),
    (
        lambda: gradest.vimco_surrogate(jnp.array([0.0, jnp.inf]), jnp.zeros(2)),
        ValueError,
        "log_weights must be finite",
    ),
    (lambda: gradest.vimco_surrogate("a", jnp.zeros(2)), TypeError, "log_weights must be"),
    (lambda: gradest.vimco(log_joint, BERNOULLI, Q_PARAMS, KEY, 1), ValueError, "num_samples must be >= 2"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_CALLS, ids=range(len(BAD_CALLS)))
def test_invalid_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
