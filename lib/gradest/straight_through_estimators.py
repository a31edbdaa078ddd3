r"""The straight-through estimator for Bernoulli variables: exact sample forward, relaxed gradient back.

A Bernoulli sample is a threshold of logistic noise, :math:`b = H(z)`, :math:`z = \eta + \ell`,
:math:`\ell = \log u - \log(1-u)`, :math:`u\sim\mathcal U(0,1)`. The straight-through estimator
evaluates the cost at the exact sample :math:`b` but differentiates as if :math:`b` were the
binary Concrete relaxation :math:`\sigma(z/\tau)` of the same noise
:cite:p:`bengio2013estimating,jang2017categorical`. It is cheap (one evaluation of ``f`` and its
derivative) and biased for every τ: on :func:`gradest.problems.bernoulli_quadratic` at η = 0, t = 0.45,
τ = 0.5 its mean is 0.02146 against the exact 0.025 (the tests compute this by quadrature).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradest import _random
from gradest import _validation as v
from gradest.distributions import Bernoulli, Params

Cost = Callable[[jax.Array, Params], jax.Array]


def bernoulli_straight_through(
    f: Cost, params: Params, key: jax.Array, num_samples: int, *, temperature: Any
) -> Params:
    r"""Straight-through estimate of :math:`\nabla_\eta\,\mathbb E[f(b, \eta)]` for Bernoulli :math:`b`.

    With :math:`s = \sigma(z/\tau)` and :math:`b = H(z) = \mathbf 1\{s > \tfrac12\}`,

    .. math::
       \hat g = \frac1N\sum_{n=1}^N \nabla_\eta\, f\big(b_n + s_n - \operatorname{sg}(s_n), \eta\big)
       = \frac1N\sum_{n=1}^N \Big[f'(b_n)\,\frac{s_n(1-s_n)}{\tau} + \partial_\eta f(b_n, \eta)\Big],

    where sg stops the gradient, so that the value fed to ``f`` is exactly :math:`b_n` and the
    derivative is that of the relaxation :cite:p:`bengio2013estimating,jang2017categorical`. Its
    expectation differs from the true gradient for every τ > 0 (the relaxation's derivative is
    not the finite difference :math:`f(1) - f(0)` that the true gradient needs).

    Args:
      f: ``f(b, params) -> scalar``, differentiable in ``b`` on [0, 1]; ``b`` has the shape of
        ``params["logits"]``.
      params: ``{"logits": η}`` (any shape) or ``{"probs": θ}``, as :class:`gradest.distributions.Bernoulli`.
      key: a ``jax.random`` key.
      num_samples: number of samples N, >= 1.
      temperature: τ > 0 of the backward relaxation (may be traced).

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``f`` is not callable or ``key`` is not a key.
      ValueError: if ``num_samples < 1``, ``temperature <= 0`` or the parameters are invalid.
    """
    v.check_callable("f", f)
    v.check_key("key", key)
    num_samples = v.check_positive_int("num_samples", num_samples)
    tau = v.as_float_array("temperature", temperature)
    v.check_positive("temperature", tau)
    dist = Bernoulli()
    checked = dist.check(params)

    def objective(p: Params) -> jax.Array:
        eta = jax.scipy.special.logit(p["probs"]) if "probs" in p else p["logits"]
        shape = (num_samples, *jnp.shape(eta))
        u = _random.uniform(key, shape, eta.dtype, minval=jnp.finfo(eta.dtype).tiny, maxval=1.0)
        z = eta + jnp.log(u) - jnp.log1p(-u)
        soft = jax.nn.sigmoid(z / tau)
        hard = (z > 0).astype(soft.dtype)  # an exact Bernoulli(σ(η)) sample
        # soft - sg(soft) is exactly 0.0 in floating point, so f sees the exact sample.
        straight = jax.lax.stop_gradient(hard) + (soft - jax.lax.stop_gradient(soft))
        return jnp.mean(v.cost_values(f, straight, p, num_samples))

    return jax.grad(objective)(checked)
