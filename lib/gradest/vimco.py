r"""VIMCO: the multi-sample bound's gradient with a leave-one-out baseline per sample.

For a latent-variable model :math:`p_\theta(x, h)` and K samples :math:`h_k \sim q_\phi(h)`, the
importance-weighted bound

.. math:: \hat L = \log\frac1K\sum_{k=1}^K w_k,\qquad w_k = \frac{p_\theta(x, h_k)}{q_\phi(h_k)},

has :math:`\mathbb E[\hat L] \le \log p_\theta(x)`. Its score-function term gives every sample the
same learning signal :math:`\hat L`; VIMCO subtracts from sample j's signal the bound recomputed
with :math:`w_j` replaced by the geometric mean of the other weights, a baseline that does not
depend on :math:`h_j` :cite:p:`mnih2016variational`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from gradest import _scores, distributions
from gradest import _validation as v
from gradest.distributions import Params
from gradest.types import Cost, Distribution


def vimco_learning_signals(log_weights: jax.Array) -> jax.Array:
    r"""The per-sample learning signals :math:`\hat L - \hat L_{-j}` of VIMCO (no gradient).

    .. math::
       \hat L_{-j} = \log\frac1K\Big(\sum_{i\ne j} w_i + \hat w_{-j}\Big),\qquad
       \log\hat w_{-j} = \frac{1}{K-1}\sum_{i\ne j}\log w_i

    :cite:p:`mnih2016variational`.

    Args:
      log_weights: :math:`\log w_k`, shape (K,), K >= 2, finite.

    Returns:
      Shape (K,).
    """
    lw = jax.lax.stop_gradient(log_weights)
    k = lw.shape[0]
    others = (jnp.sum(lw) - lw) / (k - 1)
    replaced = jnp.where(jnp.eye(k, dtype=bool), others[:, None], lw[None, :])
    return jax.nn.logsumexp(lw) - jax.nn.logsumexp(replaced, axis=1)


def _check_log_weights(log_weights: Any, log_q: Any) -> tuple[jax.Array, jax.Array]:
    lw = v.as_float_array("log_weights", log_weights)
    lq = v.as_float_array("log_q", log_q)
    if lw.ndim != 1 or lw.shape[0] < 2:
        raise ValueError(f"log_weights must have shape (K,) with K >= 2 samples, got shape {lw.shape}")
    if lq.shape != lw.shape:
        raise ValueError(f"log_q must have the shape of log_weights {lw.shape}, got {lq.shape}")
    v.check_finite("log_weights", lw)
    v.check_finite("log_q", lq)
    return lw, lq


def vimco_surrogate(log_weights: jax.Array, log_q: jax.Array) -> jax.Array:
    r"""A scalar whose value is the K-sample bound and whose gradient is the VIMCO estimate.

    .. math::
       S = \log\frac1K\sum_k w_k
           + \sum_{j=1}^K \operatorname{sg}\big(\hat L - \hat L_{-j}\big)
             \big(\log q_\phi(h_j) - \operatorname{sg}(\log q_\phi(h_j))\big),

    so that :math:`\nabla S = \sum_j \tilde w_j \nabla\log w_j
    + \sum_j (\hat L - \hat L_{-j})\nabla\log q_\phi(h_j)` with normalised weights
    :math:`\tilde w_j`, the VIMCO estimator of :math:`\nabla\,\mathbb E[\hat L]`
    :cite:p:`mnih2016variational`. Use it inside any loss (a VAE's encoder and decoder at once):
    the samples must have been drawn with no gradient, and both arguments computed from them
    as differentiable functions of the parameters.

    Args:
      log_weights: :math:`\log p_\theta(x, h_k) - \log q_\phi(h_k)`, shape (K,), K >= 2.
      log_q: :math:`\log q_\phi(h_k)` of the same samples, shape (K,).

    Returns:
      A scalar.

    Raises:
      ValueError: if the shapes differ, K < 2, or a value is not finite.
      TypeError: if an argument is not numeric.
    """
    lw, lq = _check_log_weights(log_weights, log_q)
    signals = vimco_learning_signals(lw)
    bound = jax.nn.logsumexp(lw) - jnp.log(lw.shape[0])
    return bound + jnp.sum(signals * (lq - jax.lax.stop_gradient(lq)))


def vimco(f: Cost, dist: Distribution, params: Params, key: jax.Array, num_samples: int) -> Params:
    r"""VIMCO estimate of :math:`\nabla_\phi\,\mathbb E_{h_{1:K}\sim q_\phi}\big[\log\frac1K\sum_k w_k\big]`.

    With ``f(h, params)`` :math:`= \log p(x, h)` (which may depend on the parameters) and
    :math:`w_k = \exp(f(h_k) - \log q_\phi(h_k))`, this differentiates :func:`vimco_surrogate`
    at K = ``num_samples`` samples of ``dist`` :cite:p:`mnih2016variational`. Cost: K evaluations
    of ``f``.

    Args:
      f: ``f(h, params) -> scalar``, the log-joint :math:`\log p(x, h)` of one latent sample.
      dist: the variational family :math:`q_\phi` (any gradest distribution).
      params: its parameters, a pytree.
      key: a ``jax.random`` key.
      num_samples: K >= 2.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      ValueError: if ``num_samples < 2`` or a log-weight is not finite, or as
        :func:`gradest.estimators.score_function`.
      TypeError: as :func:`gradest.estimators.score_function`.
    """
    params = v.check_common(f, dist, params, key, num_samples)
    v.check_positive_int("num_samples", num_samples, minimum=2)
    h = distributions.sample_checked(dist, params, key, (num_samples,))

    def surrogate(p: Params) -> jax.Array:
        log_q = _scores.joint_log_prob(dist, p, h)
        log_joint = v.cost_values(f, h, p, num_samples)
        # Written to memory once: otherwise XLA fuses the draws and log-densities into each of the
        # bound's and its gradient's reductions and, for samples of shape (K, 1), computes them
        # again in each (4-5 times slower than with scalar parameters, the same numbers).
        log_q, log_joint = jax.lax.optimization_barrier((log_q, log_joint))
        return vimco_surrogate(log_joint - log_q, log_q)

    return jax.grad(surrogate)(params)
