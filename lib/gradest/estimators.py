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

from gradest import _scores, _sharding, _streamed, distributions
from gradest import _validation as v
from gradest.types import Baseline, Cost, Distribution, Params, PyTree

__all__ = ["Baseline", "Cost", "pathwise", "score_function", "score_function_surrogate"]


def _batched(
    estimate: Callable[[jax.Array, int], PyTree], key: jax.Array, num_samples: int, batch_size: int | None
) -> PyTree:
    """``estimate(key, N)``, or the mean of N / batch_size estimates of batch_size samples each.

    With batches, one batch at a time is in memory (``jax.lax.map``); the batches use keys split
    from ``key``, so the samples differ from the unbatched call's. The estimate is unbiased either
    way and has the unbatched distribution when each sample's term depends on that sample alone; a
    baseline computed from the samples (RLOO, the batch mean) sees one batch.
    """
    if batch_size is None:
        return estimate(key, num_samples)
    keys = jax.random.split(key, num_samples // batch_size)
    estimates = jax.lax.map(lambda k: estimate(k, batch_size), keys)
    return jax.tree.map(lambda g: jnp.mean(g, axis=0), estimates)


def score_function_surrogate(
    f: Cost,
    dist: Distribution,
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
      baseline: ``None``; a finite constant (scalar or one value per sample) that must not depend
        on the samples; or a function ``b(f_values) -> (N,)`` of the batch of costs, such as
        :func:`gradest.control_variates.rloo`. The baseline never receives a gradient.

    Returns:
      The surrogate loss, a scalar.

    Raises:
      TypeError: if ``f`` is not callable, ``dist`` is not a distribution instance or ``key`` is
        not a key.
      ValueError: if ``num_samples < 1``, the parameters are invalid, ``f`` does not return a
        scalar, or the baseline is not finite or has the wrong shape.
    """
    checked = v.check_common(f, dist, params, key, num_samples)
    return _surrogate(f, dist, checked, key, num_samples, baseline)


def _surrogate(
    f: Cost, dist: Distribution, params: Params, key: jax.Array, num_samples: int, baseline: Any
) -> jax.Array:
    x = distributions.sample_checked(dist, params, key, (num_samples,))
    f_values = v.cost_values(f, x, params, num_samples)
    advantage = jax.lax.stop_gradient(f_values - v.baseline_values(baseline, f_values))
    log_p = _scores.joint_log_prob(dist, params, x)
    return jnp.mean(advantage * (log_p - jax.lax.stop_gradient(log_p)) + f_values)


def score_function(
    f: Cost,
    dist: Distribution,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    baseline: Any = None,
    batch_size: int | None = None,
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

    Args:
      f, dist, params, key, num_samples, baseline: as :func:`score_function_surrogate`.
      batch_size: ``None`` (all N samples at once) or a divisor of N, which evaluates
        N / batch_size batches of this many samples one after another and averages them,
        bounding memory. A baseline computed from the batch (such as
        :func:`gradest.control_variates.rloo`) sees one batch.

    Returns:
      A pytree shaped like ``params``: the gradient estimate.

    Raises:
      TypeError: as :func:`score_function_surrogate`.
      ValueError: as :func:`score_function_surrogate`; also if ``batch_size`` does not divide
        ``num_samples``, or if the samples would need more than
        ``gradest._validation.MEMORY_LIMIT_BYTES`` of temporaries (the message names
        ``num_samples`` and the estimate, and suggests ``batch_size=``); a Gaussian or
        Bernoulli (logits) estimate streamed over blocks of samples (``gradest._streamed``)
        counts only its costs.
    """
    checked = v.check_common(f, dist, params, key, num_samples)
    size = v.check_batch_size(num_samples, batch_size)
    streamed = _streamed.applies(dist, checked, key, size or num_samples)
    v.check_num_samples_memory(num_samples, checked, size, streamed=streamed)
    return _batched(
        lambda k, n: _score_function_estimate(f, dist, checked, k, n, baseline), key, num_samples, size
    )


def _score_function_estimate(
    f: Cost, dist: Distribution, params: Params, key: jax.Array, num_samples: int, baseline: Any
) -> Params:
    """The gradient of :func:`_surrogate`, written out so that the samples are drawn once."""
    if _streamed.applies(dist, params, key, num_samples):
        return _streamed.score_function(_streamed.last_axis_costs(f), params, key, num_samples, baseline)
    # The barrier stops XLA from regenerating the samples in every reduction; the score term is
    # one weighted sum, in closed form for the common families.
    x = jax.lax.optimization_barrier(
        _sharding.shard_samples(distributions.sample_checked(dist, params, key, (num_samples,)))
    )

    def mean_cost(p: Params) -> tuple[jax.Array, jax.Array]:
        f_values = v.cost_values(f, x, p, num_samples)
        return jnp.mean(f_values), f_values

    # Differentiate the checked (floating) parameters: jax.grad refuses integer leaves.
    explicit, f_values = jax.grad(mean_cost, has_aux=True)(params)
    advantage = jax.lax.stop_gradient(f_values - v.baseline_values(baseline, f_values))
    score = _scores.weighted_score(dist, params, x, advantage / num_samples)
    return jax.tree.map(jnp.add, score, explicit)


def pathwise(
    f: Cost,
    dist: Distribution,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    batch_size: int | None = None,
) -> Params:
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
      batch_size: as :func:`score_function`.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``dist`` has no reparameterized sampler, or as :func:`score_function`.
      ValueError: as :func:`score_function`.
    """
    checked = v.check_common(f, dist, params, key, num_samples, rsample=True)
    if not getattr(dist, "has_rsample", False):
        raise TypeError(
            f"dist {type(dist).__name__} has no reparameterized sampler (has_rsample is False); "
            "use score_function"
        )
    size = v.check_batch_size(num_samples, batch_size)
    streamed = _streamed.applies(dist, checked, key, size or num_samples)
    v.check_num_samples_memory(num_samples, checked, size, streamed=streamed)

    def objective(p: Params, k: jax.Array, n: int) -> jax.Array:
        x = _sharding.shard_samples(distributions.rsample_checked(dist, p, k, (n,)))
        return jnp.mean(v.cost_values(f, x, p, n))

    def estimate(k: jax.Array, n: int) -> Params:
        if _streamed.applies(dist, checked, k, n):
            return _streamed.pathwise(_streamed.last_axis_costs(f), checked, k, n)
        # Differentiate the checked (floating) parameters: integer leaves such as ``{"scale": 1}``
        # would make ``jax.grad`` refuse the input.
        return jax.grad(objective)(checked, k, n)

    return _batched(estimate, key, num_samples, size)
