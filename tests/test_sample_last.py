"""Large Gaussian draws with the sample axis last (gradest._sample_last) give the same estimates.

Above ``MIN_NUMBERS`` numbers the score-function and pathwise estimators draw the same normals
with the sample axis last (``tests/test_random.py`` checks them bit for bit), so each estimate
must agree with the one of the (N, B) layout up to the rounding of a million float32 terms summed
in another order; the unbiasedness tests of the (N, B) layout then carry over. An estimate from
another key must disagree: the tolerance can fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest
from gradest import _sample_last

KEY = jax.random.key(2027)
BASELINES = {"none": None, "constant": 3.0, "rloo": gradest.rloo}


def cost(x: jax.Array, params: Any) -> jax.Array:
    # Depends on the parameters too: the explicit term of the score function is exercised.
    return jnp.sum((x - 0.3) ** 2) + jnp.sum(params["loc"] * x) ** 2 / x.size


def params_for(batch: tuple[int, ...]) -> dict[str, jax.Array]:
    loc = jnp.linspace(-1.0, 1.0, int(np.prod(batch))).reshape(batch)
    return {"loc": loc, "scale": jnp.float32(1.3)}


def num_samples(batch: tuple[int, ...]) -> int:
    return _sample_last.MIN_NUMBERS // int(np.prod(batch)) + 3


def both_layouts(estimate: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    sample_last = jax.jit(estimate)(KEY)
    with monkeypatch.context() as m:
        m.setattr(_sample_last, "MIN_NUMBERS", 2**62)
        leading = jax.jit(estimate)(KEY)
    return sample_last, leading


def assert_agree(a: Any, b: Any) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_allclose(
            np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(y)))
        )


@pytest.mark.parametrize("batch", [(10,), (3, 40)], ids=str)
@pytest.mark.parametrize("baseline", BASELINES, ids=str)
def test_score_function_agrees_with_the_leading_layout(batch, baseline, monkeypatch) -> None:
    params, n = params_for(batch), num_samples(batch)
    assert _sample_last.applies(gradest.Normal(), params, n)

    def estimate(k: jax.Array) -> Any:
        return gradest.score_function(cost, gradest.Normal(), params, k, n, baseline=BASELINES[baseline])

    assert_agree(*both_layouts(estimate, monkeypatch))


@pytest.mark.parametrize("batch", [(10,), (3, 40)], ids=str)
def test_pathwise_agrees_with_the_leading_layout(batch, monkeypatch) -> None:
    params, n = params_for(batch), num_samples(batch)
    assert_agree(*both_layouts(lambda k: gradest.pathwise(cost, gradest.Normal(), params, k, n), monkeypatch))


def test_batches_and_broadcast_parameters(monkeypatch) -> None:
    # scale per variable, loc shared; batches of N/2 samples, each above the threshold.
    params = {"loc": jnp.float32(0.2), "scale": jnp.array([0.5, 1.0, 2.0, 4.0])}
    n = 2 * (_sample_last.MIN_NUMBERS // 4 + 8)

    def estimate(k: jax.Array) -> Any:
        sf = gradest.score_function(
            cost, gradest.Normal(), params, k, n, baseline=gradest.rloo, batch_size=n // 2
        )
        return sf, gradest.pathwise(cost, gradest.Normal(), params, k, n, batch_size=n // 2)

    sample_last, leading = both_layouts(estimate, monkeypatch)
    assert sample_last[0]["loc"].shape == () and sample_last[0]["scale"].shape == (4,)
    assert_agree(sample_last, leading)


def test_another_key_fails_the_comparison(monkeypatch) -> None:
    batch = (10,)
    params, n = params_for(batch), num_samples(batch)
    sample_last, _ = both_layouts(
        lambda k: gradest.score_function(cost, gradest.Normal(), params, k, n), monkeypatch
    )
    other = gradest.score_function(cost, gradest.Normal(), params, jax.random.key(1), n)
    with pytest.raises(AssertionError):
        assert_agree(sample_last, other)


@dataclass(frozen=True)
class ShiftedNormal(gradest.Normal):
    """A subclass may change the sampler: it keeps the leading layout."""


def test_which_draws_take_the_sample_last_layout() -> None:
    vector, scalar = params_for((10,)), {"loc": jnp.float32(0.0), "scale": jnp.float32(1.0)}
    n = num_samples((10,))
    assert _sample_last.applies(gradest.Normal(), vector, n)
    assert not _sample_last.applies(gradest.Normal(), vector, _sample_last.MIN_NUMBERS // 10)
    assert not _sample_last.applies(gradest.Normal(), scalar, 10 * n)
    assert not _sample_last.applies(ShiftedNormal(), vector, n)
    assert not _sample_last.applies(gradest.Gumbel(), {"loc": vector["loc"], "scale": jnp.float32(1.0)}, n)
