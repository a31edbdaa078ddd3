"""gradest._random draws exactly the numbers of jax.random, flat and reshaped (bit for bit).

The library's samplers draw through ``gradest._random`` for speed; these tests pin that the
numbers are those of ``jax.random`` for every sampler and for the shapes the library uses
(scalar, vector and matrix batches, a leading sample axis, categories last).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradest import _random

KEY = jax.random.key(2026)
SHAPES = [(), (5,), (7, 1), (6, 3), (4, 3, 2), (1000, 10)]


def same(a: jax.Array, b: jax.Array) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_continuous_samplers_match_jax_random(shape: tuple[int, ...]) -> None:
    same(_random.normal(KEY, shape, jnp.float32), jax.random.normal(KEY, shape, jnp.float32))
    same(_random.exponential(KEY, shape, jnp.float32), jax.random.exponential(KEY, shape, jnp.float32))
    same(_random.gumbel(KEY, shape, jnp.float32), jax.random.gumbel(KEY, shape, jnp.float32))
    tiny = float(jnp.finfo(jnp.float32).tiny)
    same(
        _random.uniform(KEY, shape, jnp.float32, minval=tiny, maxval=1.0),
        jax.random.uniform(KEY, shape, jnp.float32, minval=tiny, maxval=1.0),
    )


@pytest.mark.parametrize("shape", [(9,), (9, 3), (50, 4, 2)], ids=str)
def test_discrete_samplers_match_jax_random(shape: tuple[int, ...]) -> None:
    theta = jax.random.uniform(jax.random.key(1), shape[1:])
    same(_random.bernoulli(KEY, theta, shape), jax.random.bernoulli(KEY, theta, shape))
    logits = jax.random.normal(jax.random.key(2), (*shape[1:], 5)).at[..., 1].set(-jnp.inf)
    same(_random.categorical(KEY, logits, shape), jax.random.categorical(KEY, logits, axis=-1, shape=shape))


def test_a_different_layout_would_fail() -> None:
    # Drawing the transposed shape and transposing back gives other numbers: the check can fail.
    flat_t = jax.random.normal(KEY, (3, 6)).T
    assert not np.array_equal(np.asarray(flat_t), np.asarray(_random.normal(KEY, (6, 3))))
