r"""The unordered-set estimator: REINFORCE over k categories drawn without replacement.

Drawing k distinct categories with :func:`gradest.gumbel.gumbel_top_k` never spends an evaluation
of ``f`` twice on the same category. Weighting each drawn category by the leave-one-out ratio of
set probabilities keeps the estimate unbiased, and a baseline built from the other members of the
set reduces its variance :cite:p:`kool2020estimating`.
"""

from __future__ import annotations

import itertools
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np

from gradest import _validation as v
from gradest.distributions import Categorical, Params, log_prob_checked, log_probs_checked
from gradest.estimators import Cost
from gradest.gumbel import gumbel_top_k

#: The largest set size, since the set probabilities sum over all k! orders of the set.
MAX_SET_SIZE = 8


@cache
def _orders(m: int) -> np.ndarray:
    """Every order of m items, shape (m!, m) (one empty order when m = 0)."""
    orders = list(itertools.permutations(range(m)))
    return np.array(orders, dtype=np.int32).reshape(len(orders), m)


@cache
def _drop_indices(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions left when one position (shape (k, k-1)) or two (shape (k, k, k-2)) are removed.

    For the unused diagonal i == j of the second array any k-2 positions are filled in; callers
    mask it.
    """
    drop1 = np.array([[j for j in range(k) if j != i] for i in range(k)], dtype=np.int32)
    drop2 = np.array(
        [[[m for m in range(k) if m not in (i, j)][: k - 2] for j in range(k)] for i in range(k)],
        dtype=np.int32,
    ).reshape(k, k, k - 2)
    return drop1, drop2


def _pick(values: jax.Array, index: np.ndarray) -> jax.Array:
    """``values[index]`` for a vector ``values`` and a constant ``index``, one select per entry.

    Vmapped over sets, XLA's gathers of these small index arrays ran four times slower than the
    selects, which it fuses into their consumers.
    """
    picked = jnp.broadcast_to(values[0], index.shape)
    for i in range(1, values.shape[0]):
        picked = jnp.where(index == i, values[i], picked)
    return picked


def _log_set_prob(log_p: jax.Array, members: np.ndarray, removed: jax.Array) -> jax.Array:
    r"""log-probability of drawing exactly ``members`` (in any order) without replacement.

    .. math:: \log \sum_{\text{orders}} \prod_{m} \frac{p_{i_m}}{1 - r - \sum_{l<m} p_{i_l}}

    from the categories left once probability mass ``removed`` (r) has been taken out.
    ``log_p`` has shape (k,); ``members`` holds positions in it, shape ``(..., m)``;
    ``removed`` has shape ``(...)``. Returns shape ``(...)``.
    """
    orders = _orders(members.shape[-1])
    log_terms = drawn_before = jnp.zeros(members.shape[:-1] + orders.shape[:1], log_p.dtype)
    # One position of every order at a time: arrays of shape (..., m!), the orders last.
    for position in range(members.shape[-1]):
        lp = _pick(log_p, members[..., orders[:, position]])
        p = jnp.exp(lp)
        # The mass left is at least the member about to be drawn; the bound guards against rounding.
        left = jnp.maximum(1.0 - removed[..., None] - drawn_before, p)
        log_terms = log_terms + (lp - jnp.log(left))
        drawn_before = drawn_before + p
    return jax.nn.logsumexp(log_terms, axis=-1)


def unordered_set_weights(log_p: jax.Array, f_values: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""Per-member weights of the unordered-set estimator with its built-in baseline.

    For a set :math:`S` of k categories drawn without replacement, with probabilities
    :math:`p_s` and costs :math:`f_s`,

    .. math::
       R(S, s) = \frac{p^{D\setminus s}(S\setminus s)}{p^{D}(S)},\qquad
       B_s = p_s f_s + \sum_{s'\in S\setminus s} p_{s'}\,
             \frac{p^{D\setminus\{s,s'\}}(S\setminus\{s,s'\})}{p^{D\setminus s}(S\setminus s)}\,f_{s'},

    where :math:`p^{A}(T)` is the probability of drawing the set T from the categories A (each
    order counted). :math:`B_s` is an unbiased estimate of :math:`\mathbb E[f]` given that s is
    in the set, computed from the others :cite:p:`kool2020estimating`.

    Args:
      log_p: log-probabilities of the k drawn categories, shape (k,), k >= 2.
      f_values: their costs, shape (k,).

    Returns:
      ``(score_weights, value_weights)``, each shape (k,): :math:`p_s R(S,s)(f_s - B_s)`, which
      multiplies :math:`\nabla\log p_s`, and :math:`p_s R(S,s)`, which multiplies
      :math:`\partial_\phi f(s, \phi)`.
    """
    k = log_p.shape[0]
    drop1, drop2 = _drop_indices(k)
    p = jnp.exp(log_p)
    log_set = _log_set_prob(log_p, np.arange(k), jnp.zeros(()))
    log_without = _log_set_prob(log_p, drop1, p)
    log_without_two = _log_set_prob(log_p, drop2, p[:, None] + p[None, :])
    ratio = jnp.exp(log_without - log_set)
    off_diagonal = ~np.eye(k, dtype=bool)
    inner = jnp.where(off_diagonal, jnp.exp(log_without_two - log_without[:, None]), 1.0)
    baseline = jnp.sum(inner * (p * f_values)[None, :], axis=1)
    value_weights = p * ratio
    return value_weights * (f_values - baseline), value_weights


def unordered_set(f: Cost, dist: Categorical, params: Params, key: jax.Array, num_samples: int) -> Params:
    r"""Unordered-set estimate of :math:`\nabla_\phi\mathbb E[f(x)]`, x one categorical variable.

    Draws a set :math:`S` of k = ``num_samples`` distinct categories with
    :func:`gradest.gumbel.gumbel_top_k` and returns

    .. math::
       \hat g = \sum_{s\in S} p_\phi(s)\,R(S, s)\,\big(f(s) - B_s\big)\,\nabla_\phi\log p_\phi(s)
              + \sum_{s\in S} p_\phi(s)\,R(S, s)\,\partial_\phi f(s, \phi),

    with the leave-one-out ratio R and the baseline :math:`B_s` of :func:`unordered_set_weights`.
    It is unbiased :cite:p:`kool2020estimating`; when k equals the number of categories it is the
    exact gradient. Cost: k evaluations of ``f`` (compare with RLOO on k samples), plus sums over
    the k! orders of the set, so k is at most :data:`MAX_SET_SIZE`.

    Args:
      f: ``f(x, params) -> scalar`` for one integer category ``x`` (shape ()).
      dist: ``gradest.Categorical()``.
      params: ``{"logits": η}`` or ``{"probs": π}`` of **one** variable, shape (K,);
        zero-probability categories are allowed.
      key: a ``jax.random`` key.
      num_samples: the set size k, 2 <= k <= min(``MAX_SET_SIZE``, number of categories with
        non-zero probability).

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``f`` is not callable, ``dist`` is not a categorical distribution, ``key`` is
        not a key or ``num_samples`` is not an int.
      ValueError: if the parameters are not of one variable, or ``num_samples`` is out of range.
    """
    v.check_callable("f", f)
    if not isinstance(dist, Categorical):
        raise TypeError(f"dist must be gradest.Categorical(), got {type(dist).__name__}")
    v.check_key("key", key)
    k = v.check_positive_int("num_samples", num_samples, minimum=2)
    if k > MAX_SET_SIZE:
        raise ValueError(
            f"num_samples must be <= {MAX_SET_SIZE} (the set probability sums over k! orders), got {k}"
        )
    params = v.check_one_categorical(dist.check(params))
    log_probs = jax.lax.stop_gradient(log_probs_checked(dist, params))
    if v.is_concrete(log_probs):
        support = int(np.isfinite(np.asarray(log_probs)).sum())
        if k > support:
            raise ValueError(
                f"num_samples must be <= the number of categories with non-zero probability "
                f"({support}), got {k}"
            )
    x = gumbel_top_k(log_probs, key, k)
    values = v.cost_values(f, x, params, k)
    score_w, value_w = unordered_set_weights(log_probs[x], jax.lax.stop_gradient(values))

    def surrogate(p: Params) -> jax.Array:
        return jnp.sum(score_w * log_prob_checked(dist, p, x) + value_w * v.cost_values(f, x, p, k))

    return jax.grad(surrogate)(params)
