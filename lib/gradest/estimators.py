r"""Gradient estimators for :math:`\nabla_\phi\, \mathbb E_{x\sim p_\phi}[f(x, \phi)]`.

Every estimator takes its arguments in the same order, ``(f, dist, params, key, num_samples)``,
and returns a pytree shaped like ``params``. ``f(x, params) -> scalar`` is evaluated on one sample
``x`` at a time (the estimators ``vmap`` it over the samples).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradest import _scores, _sharding
from gradest import _validation as v
from gradest.distributions import Params

Cost = Callable[[jax.Array, Params], jax.Array]
Baseline = Callable[[jax.Array], jax.Array]


def _check_common(f: Any, dist: Any, params: Any, key: Any, num_samples: Any) -> Params:
    v.check_callable("f", f)
    if not (hasattr(dist, "sample") and hasattr(dist, "log_prob") and hasattr(dist, "check")):
        raise TypeError(f"dist must be a gradest distribution, got {type(dist).__name__}")
    v.check_key("key", key)
    v.check_positive_int("num_samples", num_samples)
    return dist.check(params)


def _baseline_values(baseline: Any, f_values: jax.Array) -> jax.Array:
    if baseline is None:
        return jnp.zeros_like(f_values)
    if callable(baseline):
        b = baseline(f_values)
    else:
        b = v.as_float_array("baseline", baseline)
    if jnp.ndim(b) not in (0, 1) or (jnp.ndim(b) == 1 and b.shape != f_values.shape):
        raise ValueError(
            f"baseline must give a scalar or one value per sample {f_values.shape}, got {jnp.shape(b)}"
        )
    return jnp.broadcast_to(b, f_values.shape)


def score_function_surrogate(
    f: Cost,
    dist: Any,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    baseline: Any = None,
) -> jax.Array:
    r"""A scalar whose value is the Monte Carlo estimate of E[f] and whose gradient is REINFORCE.

    .. math::
       L(\phi) = \frac1N\sum_{i=1}^N \Big[\operatorname{sg}\!\big(f(x_i,\phi) - b_i\big)
       \big(\log p_\phi(x_i) - \operatorname{sg}(\log p_\phi(x_i))\big) + f(x_i, \phi)\Big],
       \quad x_i \sim p_\phi,

    where sg is ``jax.lax.stop_gradient``. The log-probability term is zero in value, so ``L`` is the
    plain Monte Carlo average, while :math:`\nabla_\phi L` is the score-function estimate plus the
    pathwise term :math:`\frac1N\sum_i \partial_\phi f(x_i, \phi)` of a cost that depends on φ.
    This is how REINFORCE is written in an autodiff framework: differentiate the surrogate with
    ``jax.grad`` inside any larger loss, ``jit`` or ``vmap`` it.

    Args:
      f: ``f(x, params) -> scalar``; need not be differentiable (or even traceable by ``grad``) in x.
      dist: a distribution with ``sample`` and ``log_prob`` (see :mod:`gradest.distributions`).
      params: the distribution's parameters, a pytree.
      key: a ``jax.random`` key.
      num_samples: number of samples N, >= 1.
      baseline: ``None``; a constant (scalar or one value per sample) that must not depend on the
        samples; or a function ``b(f_values) -> (N,)`` of the batch of costs, such as
        :func:`gradest.control_variates.rloo`. The baseline never receives a gradient.

    Returns:
      The surrogate loss, a scalar.

    Raises:
      TypeError: if ``f`` is not callable, ``dist`` is not a distribution or ``key`` is not a key.
      ValueError: if ``num_samples < 1``, the parameters are invalid, or the baseline has the wrong
        shape.
    """
    _check_common(f, dist, params, key, num_samples)
    x = dist.sample(params, key, (num_samples,))
    f_values = jax.vmap(f, in_axes=(0, None))(x, params)
    advantage = jax.lax.stop_gradient(f_values - _baseline_values(baseline, f_values))
    log_p = _scores.joint_log_prob(dist, params, x)
    return jnp.mean(advantage * (log_p - jax.lax.stop_gradient(log_p)) + f_values)


def score_function(
    f: Cost,
    dist: Any,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    baseline: Any = None,
) -> Params:
    r"""Score-function (REINFORCE, likelihood-ratio) estimate of :math:`\nabla_\phi\mathbb E[f]`.

    .. math::
       \nabla_\phi \mathbb E_{p_\phi}[f(x,\phi)]
       = \mathbb E\big[(f(x,\phi) - b)\,\nabla_\phi \log p_\phi(x)\big]
       + \mathbb E\big[\nabla_\phi f(x, \phi)\big]

    estimated with N samples. It needs samples and a differentiable log-probability, nothing of
    ``f`` but its values, so it applies to discrete variables and to black-box costs
    :cite:p:`williams1992simple,glynn1990likelihood`. The baseline b leaves it unbiased when b does
    not depend on the sample it multiplies.

    Args: as :func:`score_function_surrogate`.

    Returns:
      A pytree shaped like ``params``: the gradient estimate.

    Raises:
      As :func:`score_function_surrogate`.
    """
    checked = _check_common(f, dist, params, key, num_samples)
    # The gradient of score_function_surrogate, written out: the samples are drawn once and kept
    # (the barrier stops XLA from regenerating them in every reduction) and the score term is one
    # weighted sum, in closed form for the common families.
    x = jax.lax.optimization_barrier(_sharding.shard_samples(dist.sample(checked, key, (num_samples,))))

    def mean_cost(p: Params) -> tuple[jax.Array, jax.Array]:
        f_values = jax.vmap(f, in_axes=(0, None))(x, p)
        return jnp.mean(f_values), f_values

    # Differentiate the checked (floating) parameters: jax.grad refuses integer leaves.
    explicit, f_values = jax.grad(mean_cost, has_aux=True)(checked)
    advantage = jax.lax.stop_gradient(f_values - _baseline_values(baseline, f_values))
    score = _scores.weighted_score(dist, checked, x, advantage / num_samples)
    return jax.tree.map(jnp.add, score, explicit)


def pathwise(f: Cost, dist: Any, params: Params, key: jax.Array, num_samples: int) -> Params:
    r"""Pathwise (reparameterization) estimate of :math:`\nabla_\phi\mathbb E[f]`.

    With a sampler :math:`x = g(\phi, \varepsilon)`, :math:`\varepsilon\sim p(\varepsilon)`
    independent of φ,

    .. math::
       \nabla_\phi \mathbb E_{p_\phi}[f(x,\phi)]
       = \mathbb E_{\varepsilon}\big[\nabla_\phi f(g(\phi,\varepsilon), \phi)\big],

    estimated with N samples :cite:p:`kingma2014autoencoding,rezende2014stochastic`. It requires
    ``f`` to be differentiable in x: a cost with jumps (a threshold) silently gives a wrong
    gradient, because autodiff sees only the zero derivative between the jumps.

    Args:
      f: ``f(x, params) -> scalar``, differentiable in ``x``.
      dist: a distribution with ``has_rsample`` true (``Normal`` and the other reparameterizable
        families).
      params: the distribution's parameters, a pytree.
      key: a ``jax.random`` key.
      num_samples: number of samples N, >= 1.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``dist`` has no reparameterized sampler, or as :func:`score_function`.
      ValueError: as :func:`score_function`.
    """
    checked = _check_common(f, dist, params, key, num_samples)
    if not getattr(dist, "has_rsample", False):
        raise TypeError(
            f"dist {type(dist).__name__} has no reparameterized sampler (has_rsample is False); "
            "use score_function"
        )

    def objective(p: Params) -> jax.Array:
        x = _sharding.shard_samples(dist.rsample(p, key, (num_samples,)))
        return jnp.mean(jax.vmap(f, in_axes=(0, None))(x, p))

    # Differentiate the checked (floating) parameters: integer leaves such as ``{"scale": 1}``
    # would make ``jax.grad`` refuse the input.
    return jax.grad(objective)(checked)
