r"""``jax.random`` samplers drawn as one flat vector and reshaped: the same numbers, faster.

``jax.random`` derives the bits of each element from a counter that is the element's row-major
flat index (with ``jax_threefry_partitionable``, the default, and without it), so a draw of
``prod(shape)`` values reshaped to ``shape`` is exactly the draw of ``shape``. XLA's CPU backend
computes the counters of a multi-axis shape much more slowly: drawing ``(10**5, 10)`` normals
takes about three times as long as drawing ``10**6`` (measured with jax 0.10). Every sampler in
``gradest`` draws through these functions, except the Gamma family's (Gamma, Beta, Dirichlet), whose
rejection sampler splits the key per element and gains nothing; ``tests/test_random.py`` checks
each one against ``jax.random`` bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp


def _size(shape: tuple[int, ...]) -> tuple[int]:
    return (math.prod(shape),)


def normal(key: jax.Array, shape: tuple[int, ...], dtype: Any = float) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)``."""
    return jax.random.normal(key, _size(shape), dtype).reshape(shape)


def uniform(
    key: jax.Array, shape: tuple[int, ...], dtype: Any = float, minval: Any = 0.0, maxval: Any = 1.0
) -> jax.Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)`` for scalar bounds."""
    return jax.random.uniform(key, _size(shape), dtype, minval=minval, maxval=maxval).reshape(shape)


def exponential(key: jax.Array, shape: tuple[int, ...], dtype: Any = float) -> jax.Array:
    """``jax.random.exponential(key, shape, dtype)``."""
    return jax.random.exponential(key, _size(shape), dtype).reshape(shape)


def gumbel(key: jax.Array, shape: tuple[int, ...], dtype: Any = float) -> jax.Array:
    """``jax.random.gumbel(key, shape, dtype)``."""
    return jax.random.gumbel(key, _size(shape), dtype).reshape(shape)


def bernoulli(key: jax.Array, p: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``jax.random.bernoulli(key, p, shape)``: a uniform below ``p`` (its default mode)."""
    return uniform(key, shape, jnp.result_type(p)) < p


def categorical(key: jax.Array, logits: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``jax.random.categorical(key, logits, axis=-1, shape=shape)``: the Gumbel-max draw.

    ``shape`` ends with the batch shape of ``logits`` (all axes but the last, the categories).
    """
    g = gumbel(key, (*shape, logits.shape[-1]), logits.dtype)
    return jnp.argmax(g + logits, axis=-1)
