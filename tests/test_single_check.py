"""Each public call checks its parameters exactly once (issue: one validation layer).

``gradest._validation.check_params`` is the one function that checks a params dict against a
family's constraints; wrapping it with a counter shows how often one call checks its parameters.
The public family methods check every time they are called, so an estimator that drew or
evaluated through them would count two or more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import qmc

import gradest as gs
from gradest import _validation

KEY = jax.random.key(7)
NORMAL = {"loc": jnp.array([0.5, -1.0]), "scale": jnp.array([1.0, 2.0])}
BERNOULLI = {"logits": jnp.array([0.3, -0.7])}
TOY = gs.bernoulli_quadratic()
SOBOL8 = qmc.Sobol(2, scramble=True, seed=1).random_base2(3)
CATEGORICAL = {"logits": jnp.array([0.2, -1.0, 0.5, 0.1])}


def quad(x: Any, _: Any) -> jax.Array:
    return jnp.sum((x - 0.3) ** 2)


def index_cost(i: Any, _: Any) -> jax.Array:
    return jnp.sum(i**2).astype(jnp.float32)


def relaxed_surrogate(z: Any, s: Any) -> jax.Array:
    return s * jnp.sum(z)


CALLS: dict[str, tuple[int, Callable[[], Any]]] = {
    "score_function": (1, lambda: gs.score_function(quad, gs.Normal(), NORMAL, KEY, 8)),
    "score_function rloo": (
        1,
        lambda: gs.score_function(quad, gs.Normal(), NORMAL, KEY, 8, baseline=gs.rloo),
    ),
    "score_function batched": (1, lambda: gs.score_function(quad, gs.Normal(), NORMAL, KEY, 8, batch_size=4)),
    "score_function categorical": (
        1,
        lambda: gs.score_function(index_cost, gs.Categorical(), CATEGORICAL, KEY, 8),
    ),
    "score_function_surrogate": (1, lambda: gs.score_function_surrogate(quad, gs.Normal(), NORMAL, KEY, 8)),
    "pathwise": (1, lambda: gs.pathwise(quad, gs.Normal(), NORMAL, KEY, 8)),
    "pathwise batched": (1, lambda: gs.pathwise(quad, gs.Normal(), NORMAL, KEY, 8, batch_size=2)),
    "pathwise beta": (
        1,
        lambda: gs.pathwise(quad, gs.Beta(), {"concentration1": 2.0, "concentration0": 3.0}, KEY, 8),
    ),
    "measure_valued": (1, lambda: gs.measure_valued(quad, gs.Normal(), NORMAL, KEY, 8)),
    "score_terms": (1, lambda: gs.score_terms(quad, gs.Normal(), NORMAL, KEY, 8)),
    "optimal_baseline_score_function": (
        1,
        lambda: gs.optimal_baseline_score_function(quad, gs.Normal(), NORMAL, KEY, 8),
    ),
    "score_function_with_baselines": (
        1,
        lambda: gs.score_function_with_baselines(
            quad, gs.Normal(), NORMAL, KEY, 8, {"loc": jnp.zeros(2), "scale": jnp.zeros(2)}
        ),
    ),
    "antithetic_pathwise": (1, lambda: gs.antithetic_pathwise(quad, gs.Normal(), NORMAL, KEY, 8)),
    "antithetic_score_function": (1, lambda: gs.antithetic_score_function(quad, gs.Normal(), NORMAL, KEY, 8)),
    "rqmc_pathwise": (
        1,
        lambda: gs.rqmc_pathwise(quad, gs.Normal(), NORMAL, KEY, 8, points=SOBOL8),
    ),
    "rqmc_score_function": (
        1,
        lambda: gs.rqmc_score_function(quad, gs.Normal(), NORMAL, KEY, 8, points=SOBOL8),
    ),
    "importance_score_function (params and proposal)": (
        2,
        lambda: gs.importance_score_function(
            quad, gs.Normal(), NORMAL, KEY, 8, proposal=gs.Normal(), proposal_params=NORMAL
        ),
    ),
    "sum_and_sample": (
        1,
        lambda: gs.sum_and_sample(index_cost, gs.Categorical(), CATEGORICAL, KEY, 4, num_summed=2),
    ),
    "unordered_set": (1, lambda: gs.unordered_set(index_cost, gs.Categorical(), CATEGORICAL, KEY, 2)),
    "gumbel_rao": (
        1,
        lambda: gs.gumbel_rao(quad, gs.Categorical(), CATEGORICAL, KEY, 4, temperature=0.5),
    ),
    "straight_through_expectation": (
        1,
        lambda: gs.straight_through_expectation(quad, gs.Categorical(), CATEGORICAL, KEY, 4, temperature=0.5),
    ),
    "bernoulli_straight_through": (
        1,
        lambda: gs.bernoulli_straight_through(quad, BERNOULLI, KEY, 8, temperature=0.5),
    ),
    "vimco": (1, lambda: gs.vimco(quad, gs.Normal(), NORMAL, KEY, 4)),
    "arm": (1, lambda: gs.arm(quad, gs.Bernoulli(), BERNOULLI, KEY, 8)),
    "disarm": (1, lambda: gs.disarm(quad, gs.Bernoulli(), BERNOULLI, KEY, 8)),
    "rebar": (1, lambda: gs.rebar(quad, gs.Bernoulli(), BERNOULLI, KEY, 8, temperature=0.5)),
    "relax": (
        1,
        lambda: gs.relax(
            quad, gs.Bernoulli(), BERNOULLI, KEY, 8, surrogate=relaxed_surrogate, surrogate_params=1.0
        ),
    ),
    "relax categorical": (
        1,
        lambda: gs.relax(
            quad, gs.Categorical(), CATEGORICAL, KEY, 8, surrogate=relaxed_surrogate, surrogate_params=1.0
        ),
    ),
    "score_moments": (
        1,
        lambda: gs.score_moments(
            quad, gs.Bernoulli(), BERNOULLI, jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.ones(2) / 2
        ),
    ),
    "Problem.exact_grad": (1, lambda: TOY.exact_grad({"logits": jnp.array(0.3)})),
    "relaxation_noise": (1, lambda: gs.relaxation_noise(gs.Bernoulli(), BERNOULLI, KEY, 8)),
    "Normal.sample": (1, lambda: gs.Normal().sample(NORMAL, KEY, (8,))),
    "Normal.rsample": (1, lambda: gs.Normal().rsample(NORMAL, KEY, (8,))),
    "Normal.log_prob": (1, lambda: gs.Normal().log_prob(NORMAL, jnp.zeros(2))),
    "Categorical.log_probs": (1, lambda: gs.Categorical().log_probs(CATEGORICAL)),
}


@pytest.fixture
def count_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = _validation.check_params

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(_validation, "check_params", counting)
    return calls


@pytest.mark.parametrize("name", list(CALLS))
def test_one_public_call_checks_each_params_once(name: str, count_checks: list[int]) -> None:
    expected, call = CALLS[name]
    # The checks run when the call is traced, so compiling it counts the same calls, and one
    # compiled program is cheaper than dispatching the estimate op by op (seconds per call).
    result = jax.jit(call)()
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(result)), name
    assert count_checks[0] == expected, f"{name} checked its parameters {count_checks[0]} times"


def test_the_counter_sees_a_second_check(count_checks: list[int]) -> None:
    # An estimator that draws through the public methods checks twice: the counter must see it.
    checked = gs.Normal().check(NORMAL)
    gs.Normal().sample(checked, KEY, (4,))
    assert count_checks[0] == 2
