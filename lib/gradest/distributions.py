r"""Distributions as stateless descriptors whose parameters travel separately, as pytrees.

A distribution object holds no numbers: ``Normal()`` describes the family, and the parameters
(``{"loc": ..., "scale": ...}``) are an argument of every method. That is what lets an estimator
differentiate with respect to the parameters with ``jax.grad`` while the family stays a static
(hashable) argument of ``jit``.

Every distribution has

* ``check(params)`` → validated params (raises ``TypeError``/``ValueError`` naming the argument),
* ``sample(params, key, sample_shape=())`` → a sample of shape ``sample_shape + batch_shape``
  through which no gradient flows,
* ``log_prob(params, x)`` → the log-probability (or density) of each variable, shape
  ``sample_shape + batch_shape``; the joint log-probability of a sample is its sum over the batch
  axes because the variables are independent,
* ``has_rsample`` and, where it is ``True``, ``rsample(params, key, sample_shape=())``: a
  reparameterized sample :math:`x = g(\phi, \varepsilon)` that is differentiable in the parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradest import _validation as v

Params = dict[str, Any]


def _sample_shape(sample_shape: Any) -> tuple[int, ...]:
    if isinstance(sample_shape, int):
        sample_shape = (sample_shape,)
    if not isinstance(sample_shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in sample_shape):
        raise TypeError(f"sample_shape must be a tuple of non-negative ints, got {sample_shape!r}")
    return sample_shape


class _Family:
    """Shared plumbing: every public method validates its parameters first."""

    has_rsample = False

    def check(self, params: Params) -> Params:  # pragma: no cover - every family overrides
        raise NotImplementedError

    def batch_shape(self, params: Params) -> tuple[int, ...]:
        return jnp.shape(next(iter(self.check(params).values())))

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        raise TypeError(
            f"{type(self).__name__} has no reparameterized sampler; use a score-function estimator"
        )


@dataclass(frozen=True)
class Normal(_Family):
    r"""Normal distribution :math:`\mathcal N(\mu, \sigma^2)`, parameters ``{"loc": μ, "scale": σ}``.

    ``loc`` and ``scale`` broadcast to one batch shape; ``scale`` > 0.

    .. math::
       \log p(x) = -\tfrac12\left(\tfrac{x-\mu}{\sigma}\right)^2 - \log\sigma - \tfrac12\log 2\pi,
       \qquad x = \mu + \sigma\varepsilon,\ \varepsilon \sim \mathcal N(0, 1).
    """

    has_rsample = True

    def check(self, params: Params) -> Params:
        v.check_params_keys("params", params, (("loc", "scale"),))
        loc = v.as_float_array("params['loc']", params["loc"])
        scale = v.as_float_array("params['scale']", params["scale"])
        v.check_finite("params['loc']", loc)
        v.check_positive("params['scale']", scale)
        try:
            jnp.broadcast_shapes(loc.shape, scale.shape)
        except ValueError:
            raise ValueError(
                f"params['loc'] and params['scale'] must broadcast, got {loc.shape} and {scale.shape}"
            ) from None
        return {"loc": loc, "scale": scale}

    def batch_shape(self, params: Params) -> tuple[int, ...]:
        p = self.check(params)
        return jnp.broadcast_shapes(p["loc"].shape, p["scale"].shape)

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        p = self.check(params)
        v.check_key("key", key)
        shape = _sample_shape(sample_shape) + self.batch_shape(p)
        eps = jax.random.normal(key, shape, dtype=jnp.result_type(p["loc"], p["scale"]))
        return p["loc"] + p["scale"] * eps

    def sample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        return jax.lax.stop_gradient(self.rsample(params, key, sample_shape))

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        p = self.check(params)
        z = (x - p["loc"]) / p["scale"]
        return -0.5 * z**2 - jnp.log(p["scale"]) - 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Bernoulli(_Family):
    r"""Bernoulli distribution on {0, 1}, parameters ``{"logits": η}`` or ``{"probs": θ}``.

    With logits, :math:`\theta = \sigma(\eta)` and
    :math:`\log p(b) = b\,\eta - \log(1 + e^{\eta})`; with probabilities,
    :math:`\log p(b) = b\log\theta + (1-b)\log(1-\theta)`, θ ∈ [0, 1]. Gradients are taken with
    respect to whichever parameter is given. Samples are floats 0.0 / 1.0.
    """

    def check(self, params: Params) -> Params:
        kind = v.check_params_keys("params", params, (("logits",), ("probs",)))
        arr = v.as_float_array(f"params['{kind}']", params[kind])
        if kind == "logits":
            v.check_not_nan("params['logits']", arr)
        else:
            v.check_in_unit_interval("params['probs']", arr)
        return {kind: arr}

    def probs(self, params: Params) -> jax.Array:
        p = self.check(params)
        return jax.nn.sigmoid(p["logits"]) if "logits" in p else p["probs"]

    def sample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        v.check_key("key", key)
        theta = jax.lax.stop_gradient(self.probs(params))
        shape = _sample_shape(sample_shape) + theta.shape
        return jax.random.bernoulli(key, theta, shape).astype(theta.dtype)

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        p = self.check(params)
        if "logits" in p:
            return x * p["logits"] - jax.nn.softplus(p["logits"])
        theta = p["probs"]
        # Select before the log so that θ ∈ {0, 1} gives finite gradients for outcomes that occur.
        return jnp.log(jnp.where(x == 1, theta, 1 - theta))


@dataclass(frozen=True)
class Categorical(_Family):
    r"""Categorical distribution over {0, …, K−1}, parameters ``{"logits": η}`` or ``{"probs": π}``.

    The last axis of the parameter holds the K categories; leading axes are a batch of independent
    variables. :math:`\log p(k) = \eta_k - \log\sum_j e^{\eta_j}`. A logit of ``-inf`` is a
    zero-probability category: it is never sampled and its log-probability and gradients stay
    finite for every category that can be sampled. Probabilities must lie on the simplex (sum to 1
    within 1e-5). Samples are integer category indices of shape ``sample_shape + batch_shape``.
    """

    def check(self, params: Params) -> Params:
        kind = v.check_params_keys("params", params, (("logits",), ("probs",)))
        arr = v.as_float_array(f"params['{kind}']", params[kind])
        if kind == "logits":
            v.check_logits("params['logits']", arr, min_ndim=1)
            if v.is_concrete(arr) and (np.asarray(arr) == -np.inf).all(axis=-1).any():
                raise ValueError("params['logits'] must have at least one finite logit per variable")
        else:
            if arr.ndim < 1:
                raise ValueError(f"params['probs'] must have a category axis, got shape {arr.shape}")
            v.check_in_unit_interval("params['probs']", arr)
            if v.is_concrete(arr) and not (np.abs(np.asarray(arr).sum(-1) - 1) < 1e-5).all():
                raise ValueError("params['probs'] must sum to 1 over the last axis (the simplex)")
        return {kind: arr}

    def batch_shape(self, params: Params) -> tuple[int, ...]:
        return jnp.shape(next(iter(self.check(params).values())))[:-1]

    def num_categories(self, params: Params) -> int:
        return jnp.shape(next(iter(self.check(params).values())))[-1]

    def log_probs(self, params: Params) -> jax.Array:
        """Log-probability of every category, shape ``batch_shape + (K,)``."""
        p = self.check(params)
        if "logits" in p:
            return jax.nn.log_softmax(p["logits"], axis=-1)
        return jnp.log(p["probs"])

    def probs(self, params: Params) -> jax.Array:
        p = self.check(params)
        return jax.nn.softmax(p["logits"], axis=-1) if "logits" in p else p["probs"]

    def sample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        v.check_key("key", key)
        logits = jax.lax.stop_gradient(self.log_probs(params))
        shape = _sample_shape(sample_shape) + logits.shape[:-1]
        return jax.random.categorical(key, logits, axis=-1, shape=shape)

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        p = self.check(params)
        index = jnp.asarray(x)[..., None].astype(jnp.int32)
        # Gather before taking the log: log(0) on a category that was not drawn would send
        # 0 * inf = NaN into the gradient.
        if "probs" in p:
            probs = jnp.broadcast_to(p["probs"], index.shape[:-1] + p["probs"].shape[-1:])
            return jnp.log(jnp.take_along_axis(probs, index, axis=-1)[..., 0])
        table = jax.nn.log_softmax(p["logits"], axis=-1)
        table = jnp.broadcast_to(table, index.shape[:-1] + table.shape[-1:])
        return jnp.take_along_axis(table, index, axis=-1)[..., 0]
