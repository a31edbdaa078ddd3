r"""ARM and DisARM: unbiased gradients for Bernoulli variables from antithetic pairs of samples.

Both draw one uniform vector :math:`u \sim \mathcal U(0,1)^D` per pair and evaluate the cost at the
two antithetic Bernoulli samples

.. math:: b = \mathbf 1\{u < \sigma(\eta)\},\qquad \tilde b = \mathbf 1\{1 - u < \sigma(\eta)\},

each marginally :math:`\text{Bernoulli}(\sigma(\eta))`. ARM weights their difference by
:math:`u - \tfrac12` :cite:p:`yin2019arm`; DisARM integrates :math:`u` out given the pair and keeps
only coordinates where the two samples disagree :cite:p:`dong2020disarm`. A pair costs **two**
evaluations of ``f``: compare with a two-sample leave-one-out baseline
(:func:`gradest.control_variates.rloo`), not with one-sample REINFORCE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradest import _random, _streamed
from gradest import _validation as v
from gradest.distributions import Bernoulli, Params
from gradest.estimators import Cost

PairWeight = Callable[[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


def _check_bernoulli(f: Any, dist: Any, params: Any, key: Any, num_samples: Any) -> Params:
    v.check_callable("f", f)
    if not isinstance(dist, Bernoulli):
        raise TypeError(f"dist must be gradest.Bernoulli(), got {type(dist).__name__}")
    v.check_key("key", key)
    v.check_positive_int("num_samples", num_samples)
    checked = dist.check(params)
    if "logits" not in checked:
        raise ValueError(f"params must be given as {{'logits': ...}}, got keys {list(params)}")
    # An infinite logit is a point mass: its exact gradient is 0 and σ(|η|) has no finite weight.
    v.check_finite("params['logits']", checked["logits"])
    return checked


def _antithetic_estimate(
    f: Cost, params: Params, key: jax.Array, num_samples: int, weight: PairWeight
) -> Params:
    """Average over pairs of ``weight(u, b, b_anti, f(b), f(b_anti), η)``, plus the pathwise term;
    streamed over blocks of the same uniforms above ``gradest._streamed.MIN_NUMBERS`` of them."""
    if _streamed.applies(Bernoulli(), params, key, num_samples):
        return _streamed.bernoulli_pairs(_streamed.last_axis_costs(f), params, key, num_samples, weight)
    logits = params["logits"]
    u = _random.uniform(key, (num_samples, *logits.shape), logits.dtype)
    theta = jax.nn.sigmoid(jax.lax.stop_gradient(logits))
    b = (u < theta).astype(logits.dtype)
    b_anti = ((1.0 - u) < theta).astype(logits.dtype)

    def evaluations(p: Params) -> jax.Array:
        return jnp.concatenate(
            [v.cost_values(f, b, p, num_samples), v.cost_values(f, b_anti, p, num_samples)]
        )

    # Both samples are marginally exact, so the mean of ∂f/∂φ over all 2N evaluations is unbiased
    # for the term of a cost that depends on the parameters directly.
    values, pullback = jax.vjp(evaluations, params)
    (pathwise,) = pullback(jnp.full_like(values, 1.0 / values.shape[0]))
    values = jax.lax.stop_gradient(values)
    expand = (slice(None),) + (None,) * logits.ndim
    f_b, f_anti = values[:num_samples][expand], values[num_samples:][expand]
    eta = jax.lax.stop_gradient(logits)
    score = jnp.mean(weight(u, b, b_anti, f_b, f_anti, eta), axis=0)
    return {"logits": score + pathwise["logits"]}


def _arm_weight(
    u: jax.Array, b: jax.Array, b_anti: jax.Array, f_b: jax.Array, f_anti: jax.Array, eta: jax.Array
) -> jax.Array:
    return (f_anti - f_b) * (u - 0.5)


def _disarm_weight(
    u: jax.Array, b: jax.Array, b_anti: jax.Array, f_b: jax.Array, f_anti: jax.Array, eta: jax.Array
) -> jax.Array:
    disagree = (b != b_anti).astype(eta.dtype)
    return 0.5 * (f_b - f_anti) * (1.0 - 2.0 * b_anti) * disagree * jax.nn.sigmoid(jnp.abs(eta))


def arm(f: Cost, dist: Bernoulli, params: Params, key: jax.Array, num_samples: int) -> Params:
    r"""ARM (augment-REINFORCE-merge) estimate of :math:`\nabla_\eta\mathbb E[f(b)]`, b Bernoulli.

    For :math:`D` independent Bernoulli variables with logits η, per pair of antithetic samples

    .. math::
       \hat g_d = \big(f(\tilde b) - f(b)\big)\,\big(u_d - \tfrac12\big),\qquad
       b = \mathbf 1\{u < \sigma(\eta)\},\ \tilde b = \mathbf 1\{u > \sigma(-\eta)\},

    averaged over ``num_samples`` pairs (plus the mean of :math:`\partial_\eta f(x, \eta)` over the
    2N samples when the cost depends on the parameters). Unbiased for every f
    :cite:p:`yin2019arm`. Cost: **2 · num_samples** evaluations of ``f``.

    Args:
      f: ``f(x, params) -> scalar`` on one sample ``x`` of 0.0/1.0 of shape ``batch_shape``.
      dist: ``gradest.Bernoulli()``.
      params: ``{"logits": η}``, finite, shape ``batch_shape``.
      key: a ``jax.random`` key.
      num_samples: number of antithetic pairs N >= 1.

    Returns:
      ``{"logits": ĝ}`` shaped like ``params``.

    Raises:
      TypeError: if ``f`` is not callable, ``dist`` is not a Bernoulli distribution, ``key`` is
        not a key or ``num_samples`` is not an int.
      ValueError: if ``num_samples < 1``, the parameters are probabilities rather than logits, or
        a logit is NaN or infinite.
    """
    params = _check_bernoulli(f, dist, params, key, num_samples)
    return _antithetic_estimate(f, params, key, num_samples, _arm_weight)


def disarm(f: Cost, dist: Bernoulli, params: Params, key: jax.Array, num_samples: int) -> Params:
    r"""DisARM estimate of :math:`\nabla_\eta\mathbb E[f(b)]`: ARM with the uniform integrated out.

    Conditioning ARM on the pair :math:`(b, \tilde b)` and integrating over :math:`u` gives

    .. math::
       \hat g_d = \tfrac12\big(f(b) - f(\tilde b)\big)\,(-1)^{\tilde b_d}\,
                  \mathbf 1\{b_d \ne \tilde b_d\}\,\sigma(|\eta_d|),

    averaged over ``num_samples`` pairs (plus the pathwise term, as :func:`arm`). It is unbiased,
    zero when the two samples agree, and never has a larger variance than ARM (Rao-Blackwell)
    :cite:p:`dong2020disarm`. Cost: **2 · num_samples** evaluations of ``f``.

    Args: as :func:`arm`.

    Returns:
      ``{"logits": ĝ}`` shaped like ``params``.

    Raises:
      As :func:`arm`.
    """
    params = _check_bernoulli(f, dist, params, key, num_samples)
    return _antithetic_estimate(f, params, key, num_samples, _disarm_weight)
