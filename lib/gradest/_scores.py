r"""Weighted sums of scores, :math:`\sum_i w_i \nabla_\phi \log p_\phi(x_i)`, in one pass over the samples.

The score-function estimators need this sum and nothing else of the log-probability. Reverse-mode
autodiff of :math:`\sum_i w_i \log p_\phi(x_i)` computes it, but the compiled program then reduces
over the N samples once per parameter and term; for the families whose score has a closed form
the sum is written out instead:

.. math::
   \text{Normal: } \nabla_\mu \log p = \frac{z}{\sigma},\quad
   \nabla_\sigma \log p = \frac{z^2 - 1}{\sigma},\quad z = \frac{x - \mu}{\sigma};\qquad
   \text{Bernoulli (logits): } b - \sigma(\eta);\qquad
   \text{categorical (logits): } e_k - \operatorname{softmax}(\eta),

with :math:`e_k` the one-hot vector of the sampled category :cite:p:`williams1992simple`. Every
other family, and Bernoulli or categorical parameters given as probabilities, take the autodiff
path. Both paths give the same sum up to floating-point rounding (``tests/test_scores.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gradest.distributions import Bernoulli, Categorical, Normal, Params, log_prob_checked
from gradest.types import Distribution


def unbroadcast(grad: jax.Array, param: jax.Array) -> jax.Array:
    """Sum a gradient taken at the broadcast batch shape back to the parameter's own shape."""
    _, pullback = jax.vjp(lambda p: jnp.broadcast_to(p, grad.shape), param)
    return pullback(grad)[0]


def _per_sample(weights: jax.Array, ndim: int) -> jax.Array:
    """Weights of shape (N,) as (N, 1, ..., 1), to broadcast against samples of rank ``ndim``."""
    return weights.reshape(weights.shape + (1,) * (ndim - 1))


def _normal(params: Params, x: jax.Array, weights: jax.Array) -> Params:
    loc, scale = params["loc"], params["scale"]
    z = (x - loc) / scale
    w = _per_sample(weights, x.ndim)
    grad_loc = jnp.sum(w * z, axis=0) / scale
    grad_scale = jnp.sum(w * (z * z - 1), axis=0) / scale
    return {"loc": unbroadcast(grad_loc, loc), "scale": unbroadcast(grad_scale, scale)}


def _bernoulli(params: Params, x: jax.Array, weights: jax.Array) -> Params:
    logits = params["logits"]
    w = _per_sample(weights, x.ndim)
    # Per sample, then summed, as autodiff of the log-probability does: it keeps the rounding.
    return {"logits": jnp.sum(w * (x - jax.nn.sigmoid(logits)), axis=0)}


def _categorical(params: Params, x: jax.Array, weights: jax.Array) -> Params:
    logits = params["logits"]
    one_hot = jax.nn.one_hot(x, logits.shape[-1], dtype=logits.dtype)
    w = _per_sample(weights, one_hot.ndim)
    return {"logits": unbroadcast(jnp.sum(w * (one_hot - jax.nn.softmax(logits, axis=-1)), axis=0), logits)}


_ANALYTIC: dict[type, tuple[str, Callable[[Params, jax.Array, jax.Array], Params]]] = {
    Normal: ("loc", _normal),
    Bernoulli: ("logits", _bernoulli),
    Categorical: ("logits", _categorical),
}


def joint_log_prob(dist: Distribution, params: Params, x: jax.Array) -> jax.Array:
    """log p(x⁽ⁱ⁾) of each sample (checked ``params``), summed over the independent variables: (N,)."""
    log_p = log_prob_checked(dist, params, x)
    return jnp.sum(log_p.reshape(log_p.shape[0], -1), axis=1)


def weighted_score(dist: Distribution, params: Params, x: jax.Array, weights: jax.Array) -> Params:
    r""":math:`\sum_i w_i \nabla_\phi \log p_\phi(x_i)`, a pytree shaped like ``params``.

    Args:
      dist: a distribution; exactly ``Normal``, ``Bernoulli`` or ``Categorical`` (not a subclass,
        which may redefine ``log_prob``) with logits take the closed form.
      params: validated parameters of ``dist``.
      x: N samples, shape ``(N,) + batch_shape`` (categorical: integer indices); no gradient flows
        into them.
      weights: shape (N,); differentiable (REBAR and RELAX differentiate the estimate through
        them with respect to the control variate's parameters).

    Returns:
      The weighted sum of the scores, with the shapes and dtypes of ``params``.
    """
    x = jax.lax.stop_gradient(x)
    analytic = _ANALYTIC.get(type(dist))
    if analytic is not None and analytic[0] in params:
        return analytic[1](params, x, weights.astype(jnp.result_type(*params.values())))
    _, pullback = jax.vjp(lambda p: joint_log_prob(dist, p, x), params)
    return pullback(weights.astype(jnp.result_type(*params.values())))[0]
