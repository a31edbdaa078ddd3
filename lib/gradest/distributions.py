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
from gradest import gumbel as _gumbel

Params = dict[str, Any]


class _Family:
    """Shared plumbing: every public method validates its parameters first."""

    has_rsample = False

    def check(self, params: Params) -> Params:  # pragma: no cover - every family overrides
        raise NotImplementedError

    def batch_shape(self, params: Params) -> tuple[int, ...]:
        return jnp.broadcast_shapes(*(jnp.shape(a) for a in self.check(params).values()))

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        raise TypeError(
            f"{type(self).__name__} has no reparameterized sampler; use a score-function estimator"
        )

    def sample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        """A sample through which no gradient flows (families without ``rsample`` override this)."""
        return jax.lax.stop_gradient(self.rsample(params, key, sample_shape))


def _checked_pair(params: Params, names: tuple[str, str], *, first_positive: bool = True) -> Params:
    """Two parameters that broadcast to one batch shape; the second (and optionally the first) > 0."""
    v.check_params_keys("params", params, (names,))
    arrays = {name: v.as_float_array(f"params['{name}']", params[name]) for name in names}
    first, second = (arrays[name] for name in names)
    if first_positive:
        v.check_positive(f"params['{names[0]}']", first)
    else:
        v.check_finite(f"params['{names[0]}']", first)
    v.check_positive(f"params['{names[1]}']", second)
    try:
        jnp.broadcast_shapes(first.shape, second.shape)
    except ValueError:
        raise ValueError(
            f"params['{names[0]}'] and params['{names[1]}'] must broadcast, got {first.shape} and "
            f"{second.shape}"
        ) from None
    return arrays


class _LocationScale(_Family):
    """x = loc + scale · ε with ε from a fixed standard distribution: reparameterized by design."""

    has_rsample = True

    def _standard_sample(self, key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
        raise NotImplementedError  # pragma: no cover - every family overrides

    def _standard_log_prob(self, z: jax.Array) -> jax.Array:
        raise NotImplementedError  # pragma: no cover - every family overrides

    def check(self, params: Params) -> Params:
        return _checked_pair(params, ("loc", "scale"), first_positive=False)

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        p = self.check(params)
        v.check_key("key", key)
        shape = v.check_shape("sample_shape", sample_shape) + self.batch_shape(p)
        eps = self._standard_sample(key, shape, jnp.result_type(p["loc"], p["scale"]))
        return p["loc"] + p["scale"] * eps

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        p = self.check(params)
        return self._standard_log_prob((x - p["loc"]) / p["scale"]) - jnp.log(p["scale"])


@dataclass(frozen=True)
class Normal(_LocationScale):
    r"""Normal distribution :math:`\mathcal N(\mu, \sigma^2)`, parameters ``{"loc": μ, "scale": σ}``.

    ``loc`` and ``scale`` broadcast to one batch shape; ``scale`` > 0.

    .. math::
       \log p(x) = -\tfrac12\left(\tfrac{x-\mu}{\sigma}\right)^2 - \log\sigma - \tfrac12\log 2\pi,
       \qquad x = \mu + \sigma\varepsilon,\ \varepsilon \sim \mathcal N(0, 1).
    """

    def _standard_sample(self, key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
        return jax.random.normal(key, shape, dtype=dtype)

    def _standard_log_prob(self, z: jax.Array) -> jax.Array:
        return -0.5 * z**2 - 0.5 * math.log(2 * math.pi)


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
        shape = v.check_shape("sample_shape", sample_shape) + theta.shape
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
        shape = v.check_shape("sample_shape", sample_shape) + logits.shape[:-1]
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


@dataclass(frozen=True)
class Gumbel(_LocationScale):
    r"""Gumbel distribution, parameters ``{"loc": μ, "scale": β}`` :cite:p:`gumbel1954statistical`.

    ``loc`` and ``scale`` broadcast to one batch shape; ``scale`` > 0. With :math:`z = (x-\mu)/\beta`,

    .. math::
       \log p(x) = -\big(z + e^{-z}\big) - \log\beta,\qquad
       x = \mu + \beta\,g,\ g = -\log(-\log u),\ u \sim \mathcal U(0, 1).
    """

    def _standard_sample(self, key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
        return _gumbel.sample_gumbel(key, shape, dtype)

    def _standard_log_prob(self, z: jax.Array) -> jax.Array:
        return -(z + jnp.exp(-z))


def _static_temperature(temperature: Any) -> float:
    """The temperature of a relaxed family: a concrete number > 0, static under ``jit``."""
    if isinstance(temperature, jax.core.Tracer):
        raise TypeError(
            "temperature must be a concrete number (it is a static field of the distribution); "
            "for a traced temperature use gradest.gumbel_softmax"
        )
    if isinstance(temperature, bool | str | bytes) or temperature is None or np.ndim(temperature) != 0:
        raise TypeError(f"temperature must be a real number, got {temperature!r}")
    try:
        tau = float(temperature)
    except (TypeError, ValueError):
        raise TypeError(f"temperature must be a real number, got {temperature!r}") from None
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {tau}")
    return tau


@dataclass(frozen=True)
class RelaxedCategorical(_Family):
    r"""Concrete (Gumbel-softmax) distribution on the simplex, parameters ``{"logits": η}``.

    ``RelaxedCategorical(temperature=τ)``: the temperature is a field, so the family stays
    hashable and static under ``jit``, like every other family; a schedule that changes τ inside a
    traced loop uses :func:`gradest.gumbel.gumbel_softmax` directly. The last axis of ``logits`` holds
    the K categories. A sample is :math:`x = \operatorname{softmax}((\eta + g)/\tau)` with
    independent standard Gumbel :math:`g` :cite:p:`maddison2017concrete,jang2017categorical`; its
    density with respect to Lebesgue measure on the first K − 1 coordinates is

    .. math::
       \log p(x) = \log (K-1)! + (K-1)\log\tau + \sum_{k=1}^K \big(\eta_k - (\tau+1)\log x_k\big)
       - K \log\sum_{k=1}^K e^{\eta_k - \tau\log x_k}.

    A ``-inf`` logit makes its coordinate exactly 0; the density is then that of the Concrete
    distribution of the remaining categories (K counts only finite logits), with finite values and
    gradients. In float32 at small τ, coordinates underflow to 0 and the density is no longer
    representable: use moderate τ (≳ 0.1) when evaluating ``log_prob``.
    """

    temperature: float

    has_rsample = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", _static_temperature(self.temperature))

    def check(self, params: Params) -> Params:
        v.check_params_keys("params", params, (("logits",),))
        return Categorical().check(params)

    def batch_shape(self, params: Params) -> tuple[int, ...]:
        return jnp.shape(self.check(params)["logits"])[:-1]

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        p = self.check(params)
        return _gumbel.gumbel_softmax(p["logits"], key, self.temperature, sample_shape)

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        logits = self.check(params)["logits"]
        tau = self.temperature
        x = jnp.asarray(x)
        support = jnp.broadcast_to(jnp.isfinite(logits), jnp.broadcast_shapes(x.shape, logits.shape))
        # Mask before the log: a zero coordinate of an excluded category would give 0 * inf = NaN.
        log_x = jnp.log(jnp.where(support, x, 1.0))
        eta = jnp.where(support, logits, 0.0)
        num = jnp.sum(support, axis=-1).astype(log_x.dtype)
        terms = jnp.where(support, eta - tau * log_x, -jnp.inf)
        return (
            jax.lax.lgamma(num)
            + (num - 1) * math.log(tau)
            + jnp.sum(jnp.where(support, eta - (tau + 1) * log_x, 0.0), axis=-1)
            - num * jax.nn.logsumexp(terms, axis=-1)
        )


@dataclass(frozen=True)
class RelaxedBernoulli(_Family):
    r"""Binary Concrete (relaxed Bernoulli) distribution on (0, 1), parameters ``{"logits": η}``.

    ``RelaxedBernoulli(temperature=τ)`` (τ is a static field, as in :class:`RelaxedCategorical`).
    A sample is :math:`x = \sigma\big((\eta + \ell)/\tau\big)` with logistic noise
    :math:`\ell = \log u - \log(1-u)`, :math:`u\sim\mathcal U(0,1)`, so that
    :math:`P(x > \tfrac12) = \sigma(\eta)` at every τ :cite:p:`maddison2017concrete`. Its density is

    .. math::
       \log p(x) = \log\tau + \eta - (\tau+1)\big(\log x + \log(1-x)\big)
       - 2\log\big(e^{\eta - \tau\log x} + e^{-\tau\log(1-x)}\big).

    Logits must be finite: an infinite logit is a point mass at 0 or 1, which has no density.
    """

    temperature: float

    has_rsample = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", _static_temperature(self.temperature))

    def check(self, params: Params) -> Params:
        v.check_params_keys("params", params, (("logits",),))
        logits = v.as_float_array("params['logits']", params["logits"])
        v.check_finite("params['logits']", logits)
        return {"logits": logits}

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        logits = self.check(params)["logits"]
        v.check_key("key", key)
        shape = v.check_shape("sample_shape", sample_shape) + logits.shape
        u = jax.random.uniform(key, shape, logits.dtype, minval=jnp.finfo(logits.dtype).tiny, maxval=1.0)
        noise = jnp.log(u) - jnp.log1p(-u)
        return jax.nn.sigmoid((logits + noise) / self.temperature)

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        eta = self.check(params)["logits"]
        tau = self.temperature
        log_x, log_1mx = jnp.log(x), jnp.log1p(-x)
        return (
            math.log(tau)
            + eta
            - (tau + 1) * (log_x + log_1mx)
            - 2 * jnp.logaddexp(eta - tau * log_x, -tau * log_1mx)
        )


@dataclass(frozen=True)
class Gamma(_Family):
    r"""Gamma distribution, parameters ``{"concentration": α, "rate": β}``, both > 0.

    ``concentration`` and ``rate`` broadcast to one batch shape.

    .. math::
       \log p(x) = \alpha\log\beta + (\alpha-1)\log x - \beta x - \log\Gamma(\alpha),\qquad
       x = G/\beta,\ G \sim \mathrm{Gamma}(\alpha, 1).

    The rate enters as an ordinary location-scale map. The shape α has no such map; ``rsample``
    differentiates :math:`G` with respect to α by implicit reparameterization
    :cite:p:`figurnov2018implicit`: with :math:`F(G;\alpha)` the CDF held fixed,
    :math:`\partial G/\partial\alpha = -\partial_\alpha F(G;\alpha) / p(G;\alpha)`, which is what
    ``jax.random.gamma`` returns as its derivative.
    """

    has_rsample = True

    def check(self, params: Params) -> Params:
        return _checked_pair(params, ("concentration", "rate"))

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        p = self.check(params)
        v.check_key("key", key)
        shape = v.check_shape("sample_shape", sample_shape) + self.batch_shape(p)
        dtype = jnp.result_type(p["concentration"], p["rate"])
        alpha = jnp.broadcast_to(p["concentration"], shape)
        return jax.random.gamma(key, alpha, shape, dtype=dtype) / p["rate"]

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        p = self.check(params)
        alpha, rate = p["concentration"], p["rate"]
        return alpha * jnp.log(rate) + (alpha - 1) * jnp.log(x) - rate * x - jax.scipy.special.gammaln(alpha)


@dataclass(frozen=True)
class Beta(_Family):
    r"""Beta distribution on (0, 1), parameters ``{"concentration1": a, "concentration0": b}``, > 0.

    ``concentration1`` (the exponent of x) and ``concentration0`` (of 1 − x) broadcast to one
    batch shape.

    .. math::
       \log p(x) = (a-1)\log x + (b-1)\log(1-x) - \log\mathrm B(a, b),\qquad
       x = \frac{G_a}{G_a + G_b},\ G_a\sim\mathrm{Gamma}(a,1),\ G_b\sim\mathrm{Gamma}(b,1),

    reparameterized through the implicit gradients of the two Gamma samples
    :cite:p:`figurnov2018implicit`. The ratio is formed from log-Gamma samples,
    :math:`x = \operatorname{sigmoid}(\log G_a - \log G_b)`, so that small concentrations (whose Gamma samples
    underflow to 0) do not give 0/0.
    """

    has_rsample = True

    def check(self, params: Params) -> Params:
        return _checked_pair(params, ("concentration1", "concentration0"))

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        p = self.check(params)
        v.check_key("key", key)
        shape = v.check_shape("sample_shape", sample_shape) + self.batch_shape(p)
        dtype = jnp.result_type(p["concentration1"], p["concentration0"])
        key_a, key_b = jax.random.split(key)
        log_a = jax.random.loggamma(key_a, jnp.broadcast_to(p["concentration1"], shape), shape, dtype=dtype)
        log_b = jax.random.loggamma(key_b, jnp.broadcast_to(p["concentration0"], shape), shape, dtype=dtype)
        return jax.nn.sigmoid(log_a - log_b)

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        p = self.check(params)
        a, b = p["concentration1"], p["concentration0"]
        return (a - 1) * jnp.log(x) + (b - 1) * jnp.log1p(-x) - jax.scipy.special.betaln(a, b)


@dataclass(frozen=True)
class Dirichlet(_Family):
    r"""Dirichlet distribution on the simplex, parameters ``{"concentration": α}``, α > 0.

    The last axis of ``concentration`` holds the K >= 2 categories; leading axes are a batch of
    independent variables. Samples have shape ``sample_shape + batch_shape + (K,)`` and
    ``log_prob`` returns ``sample_shape + batch_shape``.

    .. math::
       \log p(x) = \sum_k (\alpha_k - 1)\log x_k + \log\Gamma\Big(\sum_k\alpha_k\Big)
       - \sum_k \log\Gamma(\alpha_k),\qquad
       x_k = \frac{G_k}{\sum_j G_j},\ G_k \sim \mathrm{Gamma}(\alpha_k, 1),

    reparameterized through the implicit gradients of the Gamma samples
    :cite:p:`figurnov2018implicit`, normalised in log space (a softmax of log-Gamma samples).
    """

    has_rsample = True

    def check(self, params: Params) -> Params:
        v.check_params_keys("params", params, (("concentration",),))
        alpha = v.as_float_array("params['concentration']", params["concentration"])
        if alpha.ndim < 1 or alpha.shape[-1] < 2:
            raise ValueError(
                f"params['concentration'] must have a category axis of length >= 2, got shape {alpha.shape}"
            )
        v.check_positive("params['concentration']", alpha)
        return {"concentration": alpha}

    def batch_shape(self, params: Params) -> tuple[int, ...]:
        return jnp.shape(self.check(params)["concentration"])[:-1]

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        alpha = self.check(params)["concentration"]
        v.check_key("key", key)
        shape = v.check_shape("sample_shape", sample_shape) + alpha.shape
        log_g = jax.random.loggamma(key, jnp.broadcast_to(alpha, shape), shape, dtype=alpha.dtype)
        return jax.nn.softmax(log_g, axis=-1)

    def log_prob(self, params: Params, x: jax.Array) -> jax.Array:
        alpha = self.check(params)["concentration"]
        gammaln = jax.scipy.special.gammaln
        return (
            jnp.sum((alpha - 1) * jnp.log(x), axis=-1)
            + gammaln(jnp.sum(alpha, axis=-1))
            - jnp.sum(gammaln(alpha), axis=-1)
        )
