r"""Gumbel-Rao: the straight-through Gumbel-softmax gradient, Rao-Blackwellised over the noise.

The straight-through estimator evaluates ``f`` at the exact one-hot sample :math:`D` and
differentiates the relaxation :math:`\operatorname{softmax}((\eta + G)/\tau)` at the noise
:math:`G` that produced it. Only :math:`D` matters for the forward pass, so the Jacobian can be
replaced by its conditional expectation given :math:`D`, estimated with fresh Gumbel noise drawn
conditionally on the argmax. The expectation of the estimator, and therefore its bias, is
unchanged; its variance can only fall :cite:p:`paulus2021raoblackwellizing`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from gradest import _validation as v
from gradest.distributions import Categorical, Params, log_probs_checked
from gradest.estimators import Cost
from gradest.gumbel import gumbel_max, sample_gumbel


def _check_categorical(f: Any, dist: Any, key: Any, num_samples: Any, temperature: Any) -> jax.Array:
    v.check_callable("f", f)
    if not isinstance(dist, Categorical):
        raise TypeError(f"dist must be gradest.Categorical(), got {type(dist).__name__}")
    v.check_key("key", key)
    v.check_positive_int("num_samples", num_samples)
    tau = v.as_float_array("temperature", temperature)
    v.check_positive("temperature", tau)
    return tau


def conditional_gumbel(logits: Any, key: jax.Array, index: Any, sample_shape: Any = ()) -> jax.Array:
    r"""Perturbed logits :math:`z = \eta + G` drawn conditionally on :math:`\arg\max_j z_j = i`.

    With :math:`E_j \sim \text{Exp}(1)` and :math:`\log Z = \log\sum_j e^{\eta_j}`, the maximum is
    a Gumbel with location :math:`\log Z` (independent of which category wins) and the others are
    Gumbels with locations :math:`\eta_j`, truncated below it:

    .. math::
       z_i = \log Z - \log E_i,\qquad z_j = -\log\big(E_j e^{-\eta_j} + e^{-z_i}\big)\ (j \ne i)

    :cite:p:`maddison2014astar,paulus2021raoblackwellizing`; this is the conditional noise of
    :func:`gradest.relax.relaxation_noise` for a given sample. No gradient flows through it.

    Args:
      logits: shape ``(K,)`` or ``batch_shape + (K,)``; ``-inf`` marks a category that is never
        drawn (its coordinate of ``z`` is ``-inf``).
      key: a ``jax.random`` key.
      index: integer categories with non-zero probability, shape broadcasting against
        ``logits.shape[:-1]``.
      sample_shape: leading shape of independent draws (tuple of ints, or one int).

    Returns:
      ``z`` of shape ``sample_shape + broadcast(index.shape, batch_shape) + (K,)``, with
      ``argmax(z, -1) == index``.

    Raises:
      ValueError: if ``logits`` has no category axis or contains NaN or ``+inf``.
      TypeError: if ``key`` is not a key, ``index`` is not integer or ``sample_shape`` is not a
        tuple of ints.
    """
    logits = v.as_float_array("logits", logits)
    v.check_logits("logits", logits, min_ndim=1)
    v.check_key("key", key)
    sample_shape = v.check_shape("sample_shape", sample_shape)
    index = jnp.asarray(index)
    if not jnp.issubdtype(index.dtype, jnp.integer):
        raise TypeError(f"index must hold integer categories, got dtype {index.dtype}")
    logits = jax.lax.stop_gradient(logits)
    batch = jnp.broadcast_shapes(index.shape, logits.shape[:-1])
    shape = sample_shape + batch + logits.shape[-1:]
    winner = jax.nn.one_hot(index, logits.shape[-1], dtype=bool)
    # log E for E ~ Exp(1) is minus a standard Gumbel: finite, unlike log of an exponential draw of 0.
    log_e = -sample_gumbel(key, shape, logits.dtype)
    log_e_winner = jnp.sum(jnp.where(winner, log_e, 0.0), axis=-1, keepdims=True)
    top = jax.nn.logsumexp(logits, axis=-1, keepdims=True) - log_e_winner
    finite = jnp.isfinite(logits)
    others = -jnp.logaddexp(log_e - jnp.where(finite, logits, 0.0), -top)
    return jnp.where(winner, top, jnp.where(finite, others, -jnp.inf))


def _relaxed_one_hot(log_p: jax.Array, noise: jax.Array, index: jax.Array, tau: jax.Array) -> jax.Array:
    """One-hot forward, gradient of the mean of ``softmax((log p + G)/τ)`` over G backward."""
    soft = jnp.mean(jax.nn.softmax((log_p + noise) / tau, axis=-1), axis=0)
    hard = jax.nn.one_hot(index, log_p.shape[-1], dtype=soft.dtype)
    return hard + soft - jax.lax.stop_gradient(soft)


def _fixed_noise(z: jax.Array, log_p: jax.Array) -> jax.Array:
    """G = z − log p as a constant; 0 where the category is impossible (z = log p = −inf)."""
    return jax.lax.stop_gradient(jnp.where(jnp.isfinite(log_p), z - log_p, 0.0))


def gumbel_rao(
    f: Cost,
    dist: Categorical,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    temperature: Any,
    num_conditional: int = 10,
) -> Params:
    r"""Gumbel-Rao estimate: straight-through Gumbel-softmax with the Jacobian averaged given D.

    For each of N exact samples :math:`D = \operatorname{onehot}(\arg\max(\log\pi + G))`,

    .. math::
       \begin{aligned}
       \hat g &= \Big(\frac{\partial f}{\partial y}\Big|_{y=D}\Big)^{\!\top}
       \frac1M\sum_{m=1}^{M} \frac{\partial}{\partial\phi}\operatorname{softmax}
       \Big(\frac{\log\pi_\phi + G_m}{\tau}\Big), \\
       G_m &\sim G \mid \arg\max(\log\pi + G) = D,
       \end{aligned}

    (plus :math:`\partial_\phi f(D,\phi)`), with the conditional noise of
    :func:`conditional_gumbel` held fixed. Its expectation is that of the straight-through
    estimator :func:`gradest.gumbel.straight_through`, so it has the same bias for τ > 0, and
    its variance is lower :cite:p:`paulus2021raoblackwellizing`. Cost: N evaluations of ``f``
    and of its derivative, plus N·M softmaxes (no extra evaluations of ``f``).

    Args:
      f: ``f(y, params) -> scalar`` on one-hot samples of shape ``batch_shape + (K,)``,
        differentiable in ``y`` (it is differentiated at the one-hot point).
      dist: ``gradest.Categorical()``.
      params: ``{"logits": η}`` or ``{"probs": π}``, shape ``batch_shape + (K,)``.
      key: a ``jax.random`` key.
      num_samples: number of exact samples N >= 1.
      temperature: τ > 0 of the relaxation (may be traced).
      num_conditional: number M >= 1 of conditional noise draws per sample.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``f`` is not callable, ``dist`` is not a categorical distribution, ``key`` is
        not a key, or ``num_samples``/``num_conditional`` is not an int.
      ValueError: if ``num_samples < 1``, ``num_conditional < 1``, ``temperature`` is not > 0 or
        the parameters are invalid.
    """
    tau = _check_categorical(f, dist, key, num_samples, temperature)
    m = v.check_positive_int("num_conditional", num_conditional)
    params = dist.check(params)
    log_p = jax.lax.stop_gradient(log_probs_checked(dist, params))
    key_sample, key_noise = jax.random.split(key)
    index = gumbel_max(log_p, key_sample, (num_samples,))
    noise = _fixed_noise(conditional_gumbel(log_p, key_noise, index, (m,)), log_p)

    def objective(p: Params) -> jax.Array:
        lp = log_probs_checked(dist, p)
        y = jax.vmap(_relaxed_one_hot, in_axes=(None, 1, 0, None))(lp, noise, index, tau)
        return jnp.mean(v.cost_values(f, y, p, num_samples))

    return jax.grad(objective)(params)


def straight_through_expectation(
    f: Cost,
    dist: Categorical,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    temperature: Any,
) -> Params:
    r"""The expectation of the straight-through (and Gumbel-Rao) estimate, category by category.

    .. math::
       \begin{aligned}
       \mathbb E[\hat g] = {}& \sum_{k=1}^{K} \pi_k\,
       \Big(\frac{\partial f}{\partial y}\Big|_{y=e_k}\Big)^{\!\top}
       \mathbb E\Big[\frac{\partial}{\partial\phi}\operatorname{softmax}
       \Big(\frac{\log\pi_\phi + G}{\tau}\Big)\,\Big|\,\arg\max(\log\pi + G) = k\Big] \\
       & + \sum_k \pi_k\,\partial_\phi f(e_k, \phi)
       \end{aligned}

    The sum over categories is exact; each conditional expectation of the Jacobian is averaged
    over ``num_samples`` draws of :func:`conditional_gumbel`, so the result is an unbiased
    estimate of :math:`\mathbb E[\hat g]` whose error shrinks like
    :math:`1/\sqrt{\text{num\_samples}}` and which, with the exact gradient, measures the
    estimator's bias :cite:p:`paulus2021raoblackwellizing`. For one variable only.

    Args:
      f: as :func:`gumbel_rao`, on one-hot vectors of shape (K,).
      dist: ``gradest.Categorical()``.
      params: parameters of one variable, shape (K,).
      key: a ``jax.random`` key.
      num_samples: conditional noise draws per category, >= 1.
      temperature: τ > 0.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      ValueError: if the parameters are not of one variable, or as :func:`gumbel_rao`.
      TypeError: as :func:`gumbel_rao`.
    """
    tau = _check_categorical(f, dist, key, num_samples, temperature)
    params = v.check_one_categorical(dist.check(params))
    log_p = jax.lax.stop_gradient(log_probs_checked(dist, params))
    categories = jnp.arange(log_p.shape[-1])
    noise = _fixed_noise(conditional_gumbel(log_p, key, categories, (num_samples,)), log_p)
    weights = jnp.exp(log_p)

    def objective(p: Params) -> jax.Array:
        lp = log_probs_checked(dist, p)
        y = jax.vmap(_relaxed_one_hot, in_axes=(None, 1, 0, None))(lp, noise, categories, tau)
        # Impossible categories have weight 0; skip their (possibly undefined) cost.
        values = v.cost_values(f, y, p, categories.shape[0])
        return jnp.sum(jnp.where(weights > 0, weights * values, 0.0))

    return jax.grad(objective)(params)
