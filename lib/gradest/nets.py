r"""Small multilayer perceptrons as pure functions over pytrees: the networks the chapters train.

A network is a list of layers ``{"w": (n_in, n_out), "b": (n_out,)}``; :func:`mlp_init` draws
them with the variance-preserving scale :math:`w \sim \mathcal N(0, 1/n_{\text{in}})`
:cite:p:`lecun2012efficient` and :func:`mlp_apply` evaluates
:math:`h_{\ell+1} = a(h_\ell W_\ell + b_\ell)` with a linear last layer. The parameters are an
ordinary pytree, so ``jax.grad``, ``optax`` and ``vmap`` over seeds apply directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from gradest import _validation as v

Layer = dict[str, jax.Array]


def mlp_init(key: jax.Array, sizes: Sequence[int]) -> list[Layer]:
    r"""Parameters of an MLP with layer widths ``sizes`` (input first, output last).

    .. math:: W_\ell \sim \mathcal N\big(0, 1/n_\ell\big)^{n_\ell\times n_{\ell+1}},\qquad b_\ell = 0.

    Args:
      key: a ``jax.random`` key (split once per layer).
      sizes: at least two positive ints, ``(n_in, hidden..., n_out)``.

    Returns:
      A list of ``len(sizes) - 1`` layers ``{"w": (n_in, n_out), "b": (n_out,)}``.

    Raises:
      TypeError: if ``key`` is not a key. ValueError: if ``sizes`` has fewer than two entries or
        an entry that is not a positive int.
    """
    v.check_key("key", key)
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must have at least two entries (input and output), got {sizes!r}")
    for size in sizes:
        v.check_positive_int("sizes", size)
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {"w": jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in), "b": jnp.zeros(n_out)}
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp_apply(
    layers: Sequence[Layer], x: Any, activation: Callable[[jax.Array], jax.Array] = jnp.tanh
) -> jax.Array:
    r"""Evaluate the MLP: ``activation`` after every layer but the last, which is linear.

    Args:
      layers: from :func:`mlp_init` (or any list of ``{"w", "b"}`` with matching shapes).
      x: input of shape ``(..., n_in)``; leading axes are batch axes.
      activation: the hidden non-linearity, default ``tanh``.

    Returns:
      Shape ``(..., n_out)``.

    Raises:
      ValueError: if ``layers`` is empty.
    """
    if len(layers) == 0:
        raise ValueError("layers must contain at least one layer, got an empty list")
    h = jnp.asarray(x)
    for layer in layers[:-1]:
        h = activation(h @ layer["w"] + layer["b"])
    return h @ layers[-1]["w"] + layers[-1]["b"]
