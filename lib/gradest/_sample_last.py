r"""Large Gaussian draws with the sample axis last, for the score-function and pathwise estimates.

With N samples of B = prod(batch_shape) > 1 normal variables, the estimators' arrays have shape
(N, B), and every sum over the samples (one per parameter and term of the gradient) runs down the
columns of an array with a short minor axis. While the arrays fit in the caches that costs little;
beyond them XLA's CPU backend writes and re-reads each term, and the estimates ran at a third of
the rate of drawing their numbers (``book/performance.md``). Above :data:`MIN_NUMBERS` numbers the
estimators therefore draw the same numbers with the sample axis last
(:func:`gradest._random.normal_sample_last`), evaluate the cost on the last axis, and take each sum
along contiguous rows; the score in closed form is

.. math::
   \sum_n w_n \nabla_\mu \log p(x_n) = \frac{1}{\sigma}\sum_n w_n z_n,\qquad
   \sum_n w_n \nabla_\sigma \log p(x_n) = \frac{1}{\sigma}\Big(\sum_n w_n z_n^2 - \sum_n w_n\Big),

with the drawn standard normals z. Same samples, same estimator; the sums run in another order, so
the estimate agrees with the (N, B) layout up to float rounding (``tests/test_sample_last.py``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from gradest import _random, _scores, _sharding
from gradest.distributions import Normal, Params
from gradest.types import Distribution

#: Draws of more numbers than this (N·B, 4 MiB of float32) take the sample-last layout.
MIN_NUMBERS = 2**20


def applies(dist: Distribution, params: Params, num_samples: int) -> bool:
    """Whether a draw of ``num_samples`` from ``dist`` takes the sample-last layout.

    Exactly ``Normal`` (a subclass may redefine its sampler or density), several variables, more
    than :data:`MIN_NUMBERS` numbers, and no mesh that splits the samples (there the leading sample
    axis is the one split over devices).
    """
    if type(dist) is not Normal:
        return False
    width = math.prod(dist._batch_shape(params))
    return width > 1 and num_samples * width > MIN_NUMBERS and _sharding.sample_mesh() is None


def standard_normals(params: Params, key: jax.Array, num_samples: int) -> jax.Array:
    """The standard normals of ``Normal().rsample(params, key, (N,))``, shape ``batch_shape + (N,)``."""
    loc, scale = params["loc"], params["scale"]
    shape = (num_samples, *jnp.broadcast_shapes(jnp.shape(loc), jnp.shape(scale)))
    return _random.normal_sample_last(key, shape, jnp.result_type(loc, scale))


def samples(params: Params, z: jax.Array) -> jax.Array:
    """x = μ + σ z for standard normals z of shape ``batch_shape + (N,)``; same shape."""
    return params["loc"][..., None] + params["scale"][..., None] * z


def weighted_score(params: Params, z: jax.Array, weights: jax.Array) -> Params:
    r""":math:`\sum_n w_n \nabla_\phi \log p_\phi(x_n)` for the samples of standard normals z.

    ``z``: shape ``batch_shape + (N,)``; ``weights``: shape (N,). Returns the pytree of
    ``params``, each sum taken along the last axis and summed back to the parameter's own shape.
    """
    loc, scale = params["loc"], params["scale"]
    w = weights.astype(jnp.result_type(loc, scale))
    rows = z.reshape(-1, z.shape[-1])
    grad_loc = (rows @ w).reshape(z.shape[:-1]) / scale
    squares = jnp.einsum("bn,bn->b", rows * w, rows).reshape(z.shape[:-1])
    grad_scale = (squares - jnp.sum(w)) / scale
    return {"loc": _scores.unbroadcast(grad_loc, loc), "scale": _scores.unbroadcast(grad_scale, scale)}
