"""Large estimates streamed over blocks of samples (gradest._streamed) agree with the rest.

Above ``MIN_NUMBERS`` numbers the score-function and pathwise estimators of a ``Normal``, their
antithetic versions, and the score-function, ARM and DisARM estimators of a ``Bernoulli`` with
logits loop over blocks of the same samples (``tests/test_random.py`` checks the
blocks bit for bit), so each estimate must agree with the one that holds all samples up to the
rounding of a million float32 terms summed in another order; the unbiasedness tests of the
estimators then carry over. An estimate from another key must disagree: the tolerance can fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest
from gradest import _streamed

# On another backend no estimate is streamed (tests/test_random.py checks that).
pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu", reason="estimates stream on the CPU only")
KEY = jax.random.key(2027)
BASELINES = {
    "none": None,
    "constant": 3.0,
    "per-sample constant": "per-sample",
    "rloo": gradest.rloo,
    "batch mean": gradest.control_variates.batch_mean,
}


def cost(x: jax.Array, params: Any) -> jax.Array:
    # Depends on the parameters too: the explicit term of the score function is exercised.
    return jnp.sum((x - 0.3) ** 2) + jnp.sum(params["loc"] * x) ** 2 / x.size


def params_for(batch: tuple[int, ...]) -> dict[str, jax.Array]:
    loc = jnp.linspace(-1.0, 1.0, int(np.prod(batch))).reshape(batch)
    return {"loc": loc, "scale": jnp.float32(1.3)}


def num_samples(batch: tuple[int, ...]) -> int:
    # Not a multiple of the block: the last block is shorter.
    return _streamed.MIN_NUMBERS // int(np.prod(batch)) + 3


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The streamed path from 2¹² numbers on, in blocks of 1000: the same code on draws a
    thousandth of the size (the full-size test keeps the library's own values)."""
    monkeypatch.setattr(_streamed, "MIN_NUMBERS", 2**12)
    monkeypatch.setattr(_streamed, "BLOCK", 1000)


def scans(estimate: Any) -> int:
    # The blocks are a scan of the program (batches are another); the unrolled hash loops over its
    # chunks with a while loop.
    return str(jax.make_jaxpr(lambda k: estimate(k))(KEY)).count("scan[")


def both_paths(estimate: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    # A new function for each path: jax.jit of the same function again would reuse its first trace,
    # and compare the streamed estimate with itself.
    streamed = jax.jit(lambda k: estimate(k))(KEY)
    streamed_scans = scans(estimate)
    with monkeypatch.context() as m:
        m.setattr(_streamed, "MIN_NUMBERS", 2**62)
        held = jax.jit(lambda k: estimate(k))(KEY)
        assert scans(estimate) < streamed_scans
    return streamed, held


def assert_agree(a: Any, b: Any, rtol: float = 1e-5) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_allclose(
            np.asarray(x), np.asarray(y), rtol=rtol, atol=rtol * float(jnp.max(jnp.abs(y)))
        )


@pytest.mark.parametrize("batch", [(3, 40)], ids=str)
@pytest.mark.parametrize("baseline", BASELINES, ids=str)
def test_score_function_agrees_with_holding_all_samples(batch, baseline, monkeypatch, small_blocks) -> None:
    params, n = params_for(batch), num_samples(batch)
    assert _streamed.applies(gradest.Normal(), params, KEY, n)
    b = BASELINES[baseline]
    if b == "per-sample":
        b = jnp.linspace(0.0, 5.0, n)

    def estimate(k: jax.Array) -> Any:
        return gradest.score_function(cost, gradest.Normal(), params, k, n, baseline=b)

    assert_agree(*both_paths(estimate, monkeypatch))


def test_a_constant_baseline_streams_in_one_pass(small_blocks) -> None:
    """gradest.constant(b) is the number b: no first pass to keep the costs, the same estimate."""
    params, n = params_for((3, 40)), num_samples((3, 40))

    def estimate(b: Any) -> Any:
        return lambda k: gradest.score_function(cost, gradest.Normal(), params, k, n, baseline=b)

    assert scans(estimate(gradest.constant(3.0))) == scans(estimate(3.0)) == scans(estimate(None))
    # A function of the costs needs all of them first: a pass more, which the count sees.
    assert scans(estimate(lambda costs: jnp.full_like(costs, 3.0))) == scans(estimate(None)) + 1
    np.testing.assert_array_equal(
        *(np.asarray(jax.jit(estimate(b))(KEY)["loc"]) for b in (gradest.constant(3.0), 3.0))
    )


def bernoulli_cost(b: jax.Array, params: Any) -> jax.Array:
    # tanh: finite for an infinite logit, with a zero derivative there.
    return jnp.sum((b - 0.3) ** 2) + jnp.sum(jnp.tanh(params["logits"]) * b) ** 2 / b.size


@pytest.mark.parametrize("baseline", [*BASELINES, "function of the costs"], ids=str)
def test_bernoulli_score_function_agrees_with_holding_all_samples(
    baseline, monkeypatch, small_blocks
) -> None:
    # Logits from a near-certain outcome to a near-certain other, and an infinite one (a point mass).
    batch = (3, 40)
    logits = jnp.linspace(-6.0, 6.0, int(np.prod(batch))).reshape(batch).at[0, 0].set(-jnp.inf)
    params, n = {"logits": logits}, num_samples(batch)
    assert _streamed.applies(gradest.Bernoulli(), params, KEY, n)
    b = BASELINES.get(baseline)
    if b == "per-sample":
        b = jnp.linspace(0.0, 5.0, n)
    elif baseline == "function of the costs":
        b = lambda costs: jnp.full_like(costs, jnp.median(costs))  # two passes

    def estimate(k: jax.Array) -> Any:
        return gradest.score_function(bernoulli_cost, gradest.Bernoulli(), params, k, n, baseline=b)

    streamed, held = both_paths(estimate, monkeypatch)
    assert np.all(np.isfinite(streamed["logits"]))
    assert_agree(streamed, held)


@pytest.mark.parametrize("estimator", [gradest.arm, gradest.disarm], ids=lambda e: e.__name__)
def test_arm_and_disarm_agree_with_holding_all_pairs(estimator, monkeypatch, small_blocks) -> None:
    batch = (3, 40)
    params, n = {"logits": jnp.linspace(-6.0, 6.0, 120).reshape(batch)}, num_samples(batch)
    estimate = lambda k: estimator(bernoulli_cost, gradest.Bernoulli(), params, k, n)
    assert_agree(*both_paths(estimate, monkeypatch))


@pytest.mark.parametrize("batch", [(10,), (3, 40)], ids=str)
def test_pathwise_agrees_with_holding_all_samples(batch, monkeypatch, small_blocks) -> None:
    params, n = params_for(batch), num_samples(batch)
    assert_agree(*both_paths(lambda k: gradest.pathwise(cost, gradest.Normal(), params, k, n), monkeypatch))


@pytest.mark.parametrize("baseline", [*BASELINES, "function of the pair means"], ids=str)
def test_antithetic_score_function_agrees_with_holding_all_pairs(baseline, monkeypatch, small_blocks) -> None:
    # N/2 pairs μ ± σz, streamed by the pair; the baseline is a function of the pair means.
    params, n = params_for((3, 40)), 2 * num_samples((3, 40))
    assert _streamed.applies(gradest.Normal(), params, KEY, n)
    b = BASELINES.get(baseline)
    if b == "per-sample":
        b = jnp.linspace(0.0, 5.0, n // 2)
    elif baseline == "function of the pair means":
        b = lambda means: jnp.full_like(means, jnp.median(means))  # two passes

    def estimate(k: jax.Array) -> Any:
        return gradest.antithetic_score_function(cost, gradest.Normal(), params, k, n, baseline=b)

    assert_agree(*both_paths(estimate, monkeypatch))


def test_antithetic_pathwise_agrees_with_holding_all_pairs(monkeypatch, small_blocks) -> None:
    params, n = params_for((10,)), 2 * num_samples((10,))
    estimate = lambda k: gradest.antithetic_pathwise(cost, gradest.Normal(), params, k, n)
    assert_agree(*both_paths(estimate, monkeypatch))


def test_batches_broadcast_parameters_and_vmap_over_keys(monkeypatch, small_blocks) -> None:
    # scale per variable, loc shared; batches of N/2 samples, each above the threshold; two keys.
    params = {"loc": jnp.float32(0.2), "scale": jnp.array([0.5, 1.0, 2.0, 4.0])}
    n = 2 * (_streamed.MIN_NUMBERS // 4 + 8)
    keys = jax.random.split(KEY, 2)

    def estimate(key: jax.Array) -> Any:
        def one(k: jax.Array) -> Any:
            sf = gradest.score_function(
                cost, gradest.Normal(), params, k, n, baseline=gradest.rloo, batch_size=n // 2
            )
            return sf, gradest.pathwise(cost, gradest.Normal(), params, k, n, batch_size=n // 2)

        return jax.vmap(one)(keys)

    streamed, held = both_paths(estimate, monkeypatch)
    assert streamed[0]["loc"].shape == (2,) and streamed[0]["scale"].shape == (2, 4)
    assert_agree(streamed, held)


def test_full_size_and_another_key_fails_the_comparison(monkeypatch) -> None:
    # The library's own threshold and blocks (a million numbers: eight blocks and a short one).
    batch = (10,)
    params, n = params_for(batch), num_samples(batch)

    def estimate(k: jax.Array) -> Any:
        return gradest.score_function(cost, gradest.Normal(), params, k, n, baseline=gradest.rloo)

    streamed, held = both_paths(estimate, monkeypatch)
    assert_agree(streamed, held)
    other = jax.jit(estimate)(jax.random.key(1))
    with pytest.raises(AssertionError):
        assert_agree(streamed, other)


def test_streaming_bounds_memory() -> None:
    # The streamed program never holds the N·B numbers: its temporaries are a few blocks (the
    # baseline's pass keeps the N costs).
    params, n = params_for((10,)), 2**21
    bernoulli = {"logits": jnp.zeros(10)}
    for estimate in (
        lambda k: gradest.score_function(cost, gradest.Normal(), params, k, n),
        lambda k: gradest.pathwise(cost, gradest.Normal(), params, k, n),
        lambda k: gradest.score_function(bernoulli_cost, gradest.Bernoulli(), bernoulli, k, n),
    ):
        temporaries = jax.jit(estimate).lower(KEY).compile().memory_analysis().temp_size_in_bytes
        assert temporaries < n * 10 * 4 / 20, temporaries


@dataclass(frozen=True)
class ShiftedNormal(gradest.Normal):
    """A subclass may change the sampler: it keeps the path that holds the samples."""


def test_which_estimates_are_streamed() -> None:
    vector, scalar = params_for((10,)), {"loc": jnp.float32(0.0), "scale": jnp.float32(1.0)}
    n = num_samples((10,))
    assert _streamed.applies(gradest.Normal(), vector, KEY, n)
    assert not _streamed.applies(gradest.Normal(), vector, KEY, _streamed.MIN_NUMBERS // 10)
    assert not _streamed.applies(gradest.Normal(), scalar, KEY, 10 * n)
    assert not _streamed.applies(ShiftedNormal(), vector, KEY, n)
    assert not _streamed.applies(gradest.Gumbel(), {"loc": vector["loc"], "scale": jnp.float32(1.0)}, KEY, n)
    assert not _streamed.applies(gradest.Normal(), vector, jax.random.key(0, impl="rbg"), n)
    # A Bernoulli with logits: the score in closed form; with probabilities, autodiff's.
    assert _streamed.applies(gradest.Bernoulli(), {"logits": vector["loc"]}, KEY, n)
    assert not _streamed.applies(gradest.Bernoulli(), {"probs": jnp.full(10, 0.5)}, KEY, n)
    assert not _streamed.applies(gradest.Categorical(), {"logits": jnp.zeros((10, 2))}, KEY, n)


def test_rloo_of_one_sample_is_refused_as_when_held() -> None:
    # One sample of more than MIN_NUMBERS variables: streamed, and RLOO's own check still runs.
    params = {"loc": jnp.zeros(_streamed.MIN_NUMBERS + 1), "scale": jnp.float32(1.0)}
    assert _streamed.applies(gradest.Normal(), params, KEY, 1)
    with pytest.raises(ValueError, match="2"):
        gradest.score_function(cost, gradest.Normal(), params, KEY, 1, baseline=gradest.rloo)


def test_memory_check_counts_what_a_streamed_estimate_holds() -> None:
    # 1.7·10⁹ numbers: held, far beyond the memory limit (the call is refused and names batch_size);
    # streamed, a few blocks and the N costs, so it is allowed without batch_size. Traced only.
    params, n = params_for((100,)), 2**24
    for estimator in (gradest.score_function, gradest.pathwise):
        jax.eval_shape(lambda k, e=estimator: e(cost, gradest.Normal(), params, k, n), KEY)
        with pytest.raises(ValueError, match="batch_size="):
            estimator(cost, ShiftedNormal(), params, KEY, n)
