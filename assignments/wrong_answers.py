"""Plausible wrong answers to the assignments, each of which must lose points on its question.

`check_grading.py` replaces the master solution's function by each of these and grades the question
with the autograder's own test files: the question must lose points, and every test listed in
``must_fail`` must fail. A mistake that only hidden tests catch lists only hidden tests.
"""

from typing import NamedTuple


class WrongAnswer(NamedTuple):
    assignment: str
    question: str
    mistake: str
    must_fail: tuple[str, ...]
    source: str


def _edit(source: str, old: str, new: str) -> str:
    """``source`` with ``old`` replaced by ``new``; an edit that changes nothing is an error."""
    if source.count(old) != 1:
        raise ValueError(f"{old!r} occurs {source.count(old)} times in the solution, not once")
    return source.replace(old, new)


# The solutions of assignment 6 (as in the master), which its wrong answers edit.
_A6_REBAR = """
def rebar_estimates(eta, u, w, t, tau, nu):
    def control(z):
        return nu * cost(jax.nn.sigmoid(z / tau), t)

    def one(u_i, w_i):
        b = (logistic_noise(eta, u_i) > 0).astype(jnp.float32)
        score = b - jax.nn.sigmoid(eta)

        def c_tilde(e):
            return control(conditional_noise(e, b, w_i))

        pathwise = jax.grad(lambda e: control(logistic_noise(e, u_i)))(eta)
        return (cost(b, t) - c_tilde(eta)) * score + pathwise - jax.grad(c_tilde)(eta)

    return jax.vmap(one)(jnp.asarray(u), jnp.asarray(w))
"""
_A6_TUNE = """
def tune_scale(eta, u, w, t, tau, nu0, lr):
    def mean_square(nu, u_s, w_s):
        return jnp.mean(rebar_estimates(eta, u_s, w_s, t, tau, nu) ** 2)

    step = jax.jit(jax.grad(mean_square))
    nu = jnp.asarray(nu0, jnp.float32)
    for u_s, w_s in zip(u, w, strict=True):
        nu = nu - lr * step(nu, u_s, w_s)
    return float(nu)
"""


WRONG_ANSWERS = [
    # Assignment 1: score function and baseline, black-box f.
    WrongAnswer(
        "a1_score_function",
        "q1",
        "sigma-score without its -1/sigma term",
        ("test_q1_shapes_and_mode", "test_q1_matches_autodiff"),
        """
def gaussian_score(x, params):
    z = (jnp.asarray(x) - params["loc"]) / params["scale"]
    return {"loc": z / params["scale"], "scale": z**2 / params["scale"]}
""",
    ),
    WrongAnswer(
        "a1_score_function",
        "q1",
        "mu-score (x - mu)/sigma instead of (x - mu)/sigma^2",
        ("test_q1_shapes_and_mode", "test_q1_matches_autodiff"),
        """
def gaussian_score(x, params):
    z = (jnp.asarray(x) - params["loc"]) / params["scale"]
    return {"loc": z, "scale": (z**2 - 1) / params["scale"]}
""",
    ),
    WrongAnswer(
        "a1_score_function",
        "q2",
        "pathwise gradient through the black box (jax.grad of f)",
        ("test_q2_runs_on_a_black_box", "test_q2_exact_on_given_noise", "test_q2_unbiased_within_5_se"),
        """
def score_function_estimate(f, params, eps):
    objective = lambda p: jnp.mean(jnp.asarray(f(p["loc"] + p["scale"] * jnp.asarray(eps))))
    return jax.grad(objective)(params)
""",
    ),
    WrongAnswer(
        "a1_score_function",
        "q2",
        "missing score term: the sigma-score without -1/sigma",
        ("test_q2_small_exact_example", "test_q2_exact_on_given_noise", "test_q2_unbiased_within_5_se"),
        """
def score_function_estimate(f, params, eps):
    eps = jnp.asarray(eps)
    fx = jnp.asarray(f(np.asarray(params["loc"] + params["scale"] * eps)))
    return {"loc": jnp.mean(fx * eps / params["scale"]), "scale": jnp.mean(fx * eps**2 / params["scale"])}
""",
    ),
    WrongAnswer(
        "a1_score_function",
        "q3",
        "biased baseline: the batch mean, including f(x_i)",
        ("test_q3_small_example", "test_q3_excludes_own_sample"),
        """
def loo_baseline(fx):
    return jnp.full(jnp.shape(fx), jnp.mean(jnp.asarray(fx)))
""",
    ),
    WrongAnswer(
        "a1_score_function",
        "q4",
        "biased baseline: the batch mean, including f(x_i)",
        ("test_q4_small_exact_example", "test_q4_exact_on_given_noise", "test_q4_unbiased_within_5_se"),
        """
def score_function_rloo(f, params, eps):
    eps = jnp.asarray(eps)
    fx = jnp.asarray(f(np.asarray(params["loc"] + params["scale"] * eps)))
    adv = fx - jnp.mean(fx)
    sigma = params["scale"]
    return {"loc": jnp.mean(adv * eps / sigma), "scale": jnp.mean(adv * (eps**2 - 1) / sigma)}
""",
    ),
    WrongAnswer(
        "a1_score_function",
        "q4",
        "no baseline at all",
        ("test_q4_ignores_a_constant", "test_q4_exact_on_given_noise"),
        """
def score_function_rloo(f, params, eps):
    eps = jnp.asarray(eps)
    fx = jnp.asarray(f(np.asarray(params["loc"] + params["scale"] * eps)))
    sigma = params["scale"]
    return {"loc": jnp.mean(fx * eps / sigma), "scale": jnp.mean(fx * (eps**2 - 1) / sigma)}
""",
    ),
    # Assignment 2: reparameterization against score function.
    WrongAnswer(
        "a2_reparameterization",
        "q1",
        "x = mu + sigma^2 eps",
        ("test_q1_values", "test_q1_differentiable"),
        """
def reparam_sample(params, eps):
    return params["loc"] + params["scale"] ** 2 * jnp.asarray(eps)
""",
    ),
    WrongAnswer(
        "a2_reparameterization",
        "q1",
        "a sample with no path to the parameters (stop_gradient)",
        ("test_q1_gradient_flows_to_the_parameters", "test_q1_differentiable"),
        """
def reparam_sample(params, eps):
    return jax.lax.stop_gradient(params["loc"] + params["scale"] * jnp.asarray(eps))
""",
    ),
    WrongAnswer(
        "a2_reparameterization",
        "q2",
        "x = mu + sigma^2 eps inside the estimator",
        ("test_q2_linear_cost", "test_q2_exact_on_given_noise", "test_q2_unbiased_within_5_se"),
        """
def pathwise_estimate(f, params, eps):
    eps = jnp.asarray(eps)
    params = {k: jnp.asarray(v, dtype=eps.dtype) for k, v in params.items()}
    return jax.grad(lambda p: jnp.mean(f(p["loc"] + p["scale"] ** 2 * eps)))(params)
""",
    ),
    WrongAnswer(
        "a2_reparameterization",
        "q2",
        "chain rule without the factor eps for sigma",
        ("test_q2_linear_cost", "test_q2_exact_on_given_noise", "test_q2_unbiased_within_5_se"),
        """
def pathwise_estimate(f, params, eps):
    x = params["loc"] + params["scale"] * jnp.asarray(eps)
    df = jax.grad(lambda x: jnp.sum(f(x)))(x)
    return {"loc": jnp.mean(df), "scale": jnp.mean(df)}
""",
    ),
    WrongAnswer(
        "a2_reparameterization",
        "q3",
        "pathwise gradient through the black box (jax.grad of f)",
        ("test_q3_black_box", "test_q3_exact_on_given_noise"),
        """
def score_estimate(f, params, eps):
    objective = lambda p: jnp.mean(jnp.asarray(f(p["loc"] + p["scale"] * jnp.asarray(eps))))
    return jax.grad(objective)(params)
""",
    ),
    WrongAnswer(
        "a2_reparameterization",
        "q3",
        "missing score term: the sigma-score without -1/sigma",
        ("test_q3_black_box", "test_q3_exact_on_given_noise"),
        """
def score_estimate(f, params, eps):
    eps = jnp.asarray(eps)
    fx = jnp.asarray(f(np.asarray(params["loc"] + params["scale"] * eps)))
    return {"loc": jnp.mean(fx * eps / params["scale"]), "scale": jnp.mean(fx * eps**2 / params["scale"])}
""",
    ),
    WrongAnswer(
        "a2_reparameterization",
        "q4",
        "biased variance (divides by R)",
        ("test_q4_fake_estimator", "test_q4_passes_everything_through"),
        """
def estimator_variance(estimator, f, params, eps_batches):
    estimates = [estimator(f, params, eps) for eps in eps_batches]
    return {k: np.var([float(g[k]) for g in estimates]) for k in ("loc", "scale")}
""",
    ),
    WrongAnswer(
        "a2_reparameterization",
        "q5",
        "winners swapped",
        ("test_q5_winners",),
        """
winner_quadratic = "score"
winner_cos = "pathwise"
""",
    ),
    # Assignment 3: Gumbel-max, Gumbel-softmax, straight-through.
    WrongAnswer(
        "a3_gumbel",
        "q1",
        "-log(u): an exponential, not a Gumbel",
        ("test_q1_inverse_cdf", "test_q1_moments_within_5_se"),
        """
def gumbel_from_uniform(u):
    return -jnp.log(jnp.asarray(u))
""",
    ),
    WrongAnswer(
        "a3_gumbel",
        "q1",
        "log(-log u): the sign flipped",
        ("test_q1_inverse_cdf", "test_q1_moments_within_5_se"),
        """
def gumbel_from_uniform(u):
    return jnp.log(-jnp.log(jnp.asarray(u)))
""",
    ),
    WrongAnswer(
        "a3_gumbel",
        "q2",
        "the log of the logits",
        ("test_q2_small_example", "test_q2_frequencies_within_5_se"),
        """
def gumbel_max_sample(logits, g):
    return jnp.argmax(jnp.log(jnp.asarray(logits)) + jnp.asarray(g), axis=-1)
""",
    ),
    WrongAnswer(
        "a3_gumbel",
        "q2",
        "noise added to the probabilities instead of the logits",
        ("test_q2_noise_goes_on_the_logits", "test_q2_frequencies_within_5_se"),
        """
def gumbel_max_sample(logits, g):
    return jnp.argmax(jax.nn.softmax(jnp.asarray(logits)) + jnp.asarray(g), axis=-1)
""",
    ),
    WrongAnswer(
        "a3_gumbel",
        "q3",
        "the temperature divides only the noise",
        ("test_q3_small_exact_example", "test_q3_exact_on_given_noise"),
        """
def gumbel_softmax_sample(logits, g, tau):
    return jax.nn.softmax(jnp.asarray(logits) + jnp.asarray(g) / tau, axis=-1)
""",
    ),
    WrongAnswer(
        "a3_gumbel",
        "q3",
        "the log of the logits",
        ("test_q3_small_exact_example", "test_q3_exact_on_given_noise"),
        """
def gumbel_softmax_sample(logits, g, tau):
    return jax.nn.softmax((jnp.log(jnp.asarray(logits)) + jnp.asarray(g)) / tau, axis=-1)
""",
    ),
    WrongAnswer(
        "a3_gumbel",
        "q4",
        "the hard one-hot sample alone (no gradient)",
        ("test_q4_gradient_is_the_relaxations", "test_q4_backward_is_the_relaxation"),
        """
def straight_through_sample(logits, g, tau):
    z = jnp.asarray(logits) + jnp.asarray(g)
    return jax.nn.one_hot(jnp.argmax(z, axis=-1), z.shape[-1])
""",
    ),
    WrongAnswer(
        "a3_gumbel",
        "q4",
        "the relaxed sample forward (not one-hot)",
        ("test_q4_forward_is_one_hot", "test_q4_backward_is_the_relaxation"),
        """
def straight_through_sample(logits, g, tau):
    return jax.nn.softmax((jnp.asarray(logits) + jnp.asarray(g)) / tau, axis=-1)
""",
    ),
    # Assignment 4: REINFORCE with leave-one-out baselines on a bandit.
    WrongAnswer(
        "a4_reinforce_bandit",
        "q1",
        "the log of the logits",
        ("test_q1_uniform_policy", "test_q1_values_and_gradient"),
        """
def log_policy(theta, actions):
    return jnp.log(jnp.asarray(theta)[jnp.asarray(actions)])
""",
    ),
    WrongAnswer(
        "a4_reinforce_bandit",
        "q1",
        "unnormalised: the logit itself",
        ("test_q1_uniform_policy", "test_q1_values_and_gradient"),
        """
def log_policy(theta, actions):
    return jnp.asarray(theta)[jnp.asarray(actions)]
""",
    ),
    WrongAnswer(
        "a4_reinforce_bandit",
        "q2",
        "biased baseline: the batch mean, including r_i",
        ("test_q2_small_example", "test_q2_random_rewards"),
        """
def rloo_advantages(rewards):
    r = jnp.asarray(rewards)
    return r - jnp.mean(r)
""",
    ),
    WrongAnswer(
        "a4_reinforce_bandit",
        "q3",
        "biased baseline: the batch mean, including r_i",
        ("test_q3_small_exact_example", "test_q3_exact_on_given_actions", "test_q3_unbiased_within_5_se"),
        """
def reinforce_rloo_grad(theta, actions, rewards):
    r = jnp.asarray(rewards)
    adv = r - jnp.mean(r)
    surrogate = lambda t: jnp.mean(adv * jax.nn.log_softmax(t)[jnp.asarray(actions)])
    return jax.grad(surrogate)(jnp.asarray(theta, dtype=jnp.float32))
""",
    ),
    WrongAnswer(
        "a4_reinforce_bandit",
        "q3",
        "the descent direction (gradient of the negative reward)",
        ("test_q3_small_exact_example", "test_q3_exact_on_given_actions", "test_q3_unbiased_within_5_se"),
        """
def reinforce_rloo_grad(theta, actions, rewards):
    r = jnp.asarray(rewards)
    adv = r - (jnp.sum(r) - r) / (r.shape[0] - 1)
    surrogate = lambda t: -jnp.mean(adv * jax.nn.log_softmax(t)[jnp.asarray(actions)])
    return jax.grad(surrogate)(jnp.asarray(theta, dtype=jnp.float32))
""",
    ),
    WrongAnswer(
        "a4_reinforce_bandit",
        "q4",
        "gradient descent on the reward",
        ("test_q4_update_rule", "test_q4_learns_the_best_arm"),
        """
def train_policy(grad_fn, key, num_steps, num_samples, learning_rate):
    theta = jnp.zeros(5, dtype=jnp.float32)
    for _ in range(num_steps):
        key, sub = jax.random.split(key)
        actions = jax.random.categorical(sub, theta, shape=(num_samples,))
        theta = theta - learning_rate * grad_fn(theta, actions, jnp.asarray(reward(actions)))
    return theta
""",
    ),
    # Assignment 5: control variates with a known mean.
    WrongAnswer(
        "a5_control_variates",
        "q1",
        "the control variate added instead of subtracted",
        ("test_q1_small_exact_example", "test_q1_exact_on_given_samples"),
        """
def cv_estimate(fx, hx, h_mean, c):
    return float(np.mean(np.asarray(fx) + c * (np.asarray(hx) - h_mean)))
""",
    ),
    WrongAnswer(
        "a5_control_variates",
        "q1",
        "the known mean left out: f - c h",
        ("test_q1_small_exact_example", "test_q1_exact_on_given_samples"),
        """
def cv_estimate(fx, hx, h_mean, c):
    return float(np.mean(np.asarray(fx) - c * np.asarray(hx)))
""",
    ),
    WrongAnswer(
        "a5_control_variates",
        "q2",
        "the ratio inverted: Var(h) / Cov(f, h)",
        ("test_q2_small_exact_example", "test_q2_exact_on_given_samples"),
        """
def optimal_coefficient(fx, hx):
    fx, hx = np.asarray(fx, dtype=np.float64), np.asarray(hx, dtype=np.float64)
    return float(np.var(hx) / np.mean((fx - fx.mean()) * (hx - hx.mean())))
""",
    ),
    WrongAnswer(
        "a5_control_variates",
        "q2",
        "divided by Var(f) instead of Var(h)",
        ("test_q2_small_exact_example", "test_q2_exact_on_given_samples"),
        """
def optimal_coefficient(fx, hx):
    fx, hx = np.asarray(fx, dtype=np.float64), np.asarray(hx, dtype=np.float64)
    return float(np.mean((fx - fx.mean()) * (hx - hx.mean())) / np.var(fx))
""",
    ),
    WrongAnswer(
        "a5_control_variates",
        "q3",
        "the sample mean of h in place of its known mean (the correction vanishes)",
        ("test_q3_linear_cost_is_exact", "test_q3_unbiased_and_lower_variance"),
        """
def cv_mean_estimate(f, eps):
    x = np.asarray(eps, dtype=np.float64)
    fx = np.asarray(f(x), dtype=np.float64)
    return cv_estimate(fx, x, float(x.mean()), optimal_coefficient(fx, x))
""",
    ),
    WrongAnswer(
        "a5_control_variates",
        "q3",
        "the coefficient fixed at 1 instead of c*",
        ("test_q3_linear_cost_is_exact",),
        """
def cv_mean_estimate(f, eps):
    x = np.asarray(eps, dtype=np.float64)
    return cv_estimate(np.asarray(f(x), dtype=np.float64), x, 0.0, 1.0)
""",
    ),
    # Assignment 6: REBAR on one Bernoulli variable. Each wrong answer is the solution with one edit.
    WrongAnswer(
        "a6_rebar_relax",
        "q1",
        "the conditional sample drawn independently of b: eta + logit(w)",
        ("test_q1_small_exact_example", "test_q1_exact_and_same_law_as_z"),
        """
def conditional_noise(eta, b, w):
    return eta + jnp.log(w) - jnp.log1p(-w)
""",
    ),
    WrongAnswer(
        "a6_rebar_relax",
        "q1",
        "the conditional intervals swapped: u given b = 1 on (0, 1 - theta)",
        ("test_q1_small_exact_example", "test_q1_exact_and_same_law_as_z"),
        """
def conditional_noise(eta, b, w):
    theta = jax.nn.sigmoid(eta)
    v = (1 - b) * (1 - theta + theta * w) + b * (1 - theta) * w
    return eta + jnp.log(v) - jnp.log1p(-v)
""",
    ),
    WrongAnswer(
        "a6_rebar_relax",
        "q2",
        "missing correction term: -d/d eta c(z~) left out (z~ treated as a constant)",
        ("test_q2_unbiased_exactly", "test_q2_exact_on_given_noise"),
        _edit(_A6_REBAR, " + pathwise - jax.grad(c_tilde)(eta)", " + pathwise"),
    ),
    WrongAnswer(
        "a6_rebar_relax",
        "q2",
        "sign error: f(b) + c(z~) in the score term",
        ("test_q2_small_exact_examples", "test_q2_unbiased_exactly", "test_q2_exact_on_given_noise"),
        _edit(_A6_REBAR, "(cost(b, t) - c_tilde(eta))", "(cost(b, t) + c_tilde(eta))"),
    ),
    WrongAnswer(
        "a6_rebar_relax",
        "q2",
        "wrong temperature in the relaxed input: sigmoid(z tau) instead of sigmoid(z / tau)",
        ("test_q2_small_exact_examples", "test_q2_exact_on_given_noise"),
        _edit(_A6_REBAR, "jax.nn.sigmoid(z / tau)", "jax.nn.sigmoid(z * tau)"),
    ),
    WrongAnswer(
        "a6_rebar_relax",
        "q3",
        "gradient ascent on the variance",
        ("test_q3_one_step", "test_q3_variance_drops"),
        _edit(_A6_TUNE, "nu = nu - lr", "nu = nu + lr"),
    ),
    WrongAnswer(
        "a6_rebar_relax",
        "q3",
        "the mean estimate descended, not its square (its expected derivative in nu is 0)",
        ("test_q3_one_step",),
        _edit(
            _A6_TUNE,
            "jnp.mean(rebar_estimates(eta, u_s, w_s, t, tau, nu) ** 2)",
            "jnp.mean(rebar_estimates(eta, u_s, w_s, t, tau, nu))",
        ),
    ),
]
