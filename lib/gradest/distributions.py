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
from typing import Any, ClassVar, TypeGuard

import jax
import jax.numpy as jnp
import numpy as np

from gradest import _random
from gradest import _validation as v
from gradest import gumbel as _gumbel
from gradest.types import Distribution, Params

# Beta and Dirichlet pathwise gradients are unbiased in float32 from this concentration up; below
# it the implicit gradient of the log-Gamma sample underflows (a measured range, see the tests).
MIN_RSAMPLE_CONCENTRATION = 0.05


class _Family:
    """Shared plumbing: the parameter check, the sampling prologue and the support mask, once.

    A family declares ``arg_constraints`` (one ``gradest._validation.Constraint`` per
    parameter) and ``param_sets`` (the accepted key sets), and implements ``_rsample_n`` or
    ``_sample_n`` and ``_log_prob`` on checked parameters with the full output shape.
    """

    has_rsample = False
    arg_constraints: ClassVar[dict[str, v.Constraint]] = {}
    param_sets: ClassVar[tuple[tuple[str, ...], ...]] = ()

    def check(self, params: Params) -> Params:
        """Validated floating parameters (raises ``TypeError``/``ValueError`` naming the argument)."""
        return v.check_params(params, self.arg_constraints, self.param_sets)

    def batch_shape(self, params: Params) -> tuple[int, ...]:
        return self._batch_shape(self.check(params))

    def _batch_shape(self, p: Params) -> tuple[int, ...]:
        shapes = (jnp.shape(a)[: jnp.ndim(a) - self.arg_constraints[k].event_ndim] for k, a in p.items())
        return jnp.broadcast_shapes(*shapes)

    def _prologue(self, params: Params, key: jax.Array, sample_shape: Any) -> tuple[Params, tuple[int, ...]]:
        p = self.check(params)
        v.check_key("key", key)
        return p, v.check_shape("sample_shape", sample_shape) + self._batch_shape(p)

    def check_rsample(self, params: Params) -> Params:
        """``check``, and the conditions of the reparameterized sampler (used by ``pathwise``)."""
        p = self.check(params)
        self._check_rsample(p)
        return p

    def _check_rsample(self, p: Params) -> None:
        """Extra conditions of the reparameterized sampler (none by default)."""

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        """A reparameterized sample of shape ``sample_shape + batch_shape``, differentiable in params."""
        if not self.has_rsample:
            raise TypeError(
                f"{type(self).__name__} has no reparameterized sampler; use a score-function estimator"
            )
        p, shape = self._prologue(params, key, sample_shape)
        self._check_rsample(p)
        return self._rsample_n(p, key, shape)

    def sample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        """A sample of shape ``sample_shape + batch_shape`` through which no gradient flows."""
        p, shape = self._prologue(params, key, sample_shape)
        return self._sample_n(p, key, shape)

    def log_prob(self, params: Params, x: Any) -> jax.Array:
        """Log-probability (density) of each variable; ``-inf`` outside the support."""
        return self._log_prob(self.check(params), x)

    def _rsample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        raise NotImplementedError  # pragma: no cover - families with has_rsample implement it

    def _sample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        return jax.lax.stop_gradient(self._rsample_n(p, key, shape))

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
        raise NotImplementedError  # pragma: no cover - every family implements it


def _outside(support: jax.Array, log_p: jax.Array) -> jax.Array:
    """``log_p`` where ``support`` holds, ``-inf`` elsewhere (out-of-support values never wrap)."""
    return jnp.where(support, log_p, -jnp.inf)


class _LocationScale(_Family):
    """x = loc + scale · ε with ε from a fixed standard distribution: reparameterized by design."""

    has_rsample = True
    arg_constraints: ClassVar[dict[str, v.Constraint]] = {"loc": v.real, "scale": v.positive}
    param_sets = (("loc", "scale"),)

    def _standard_sample(self, key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
        raise NotImplementedError  # pragma: no cover - every family overrides

    def _standard_log_prob(self, z: jax.Array) -> jax.Array:
        raise NotImplementedError  # pragma: no cover - every family overrides

    def _rsample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        eps = self._standard_sample(key, shape, jnp.result_type(p["loc"], p["scale"]))
        return p["loc"] + p["scale"] * eps

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
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
        return _random.normal(key, shape, dtype)

    def _standard_log_prob(self, z: jax.Array) -> jax.Array:
        return -0.5 * z**2 - 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Bernoulli(_Family):
    r"""Bernoulli distribution on {0, 1}, parameters ``{"logits": η}`` or ``{"probs": θ}``.

    With logits, :math:`\theta = \sigma(\eta)` and
    :math:`\log p(b) = b\,\eta - \log(1 + e^{\eta})`; with probabilities,
    :math:`\log p(b) = b\log\theta + (1-b)\log(1-\theta)`, θ ∈ [0, 1]. Gradients are taken with
    respect to whichever parameter is given. Samples are floats 0.0 / 1.0.

    Logits may be ±inf (a point mass: log-probability 0 for the certain outcome, ``-inf`` for the
    other); probabilities may be exactly 0 or 1, but then the score :math:`\nabla\log p` of the
    outcome that never occurs is infinite and a score-function estimate cannot see the gradient
    at the boundary: keep θ in (0, 1) for gradients. ``log_prob`` of a value other than 0 or 1 is
    ``-inf``.
    """

    arg_constraints: ClassVar[dict[str, v.Constraint]] = {"logits": v.extended_real, "probs": v.unit_interval}
    param_sets = (("logits",), ("probs",))

    def probs(self, params: Params) -> jax.Array:
        return self._probs(self.check(params))

    def _probs(self, p: Params) -> jax.Array:
        return jax.nn.sigmoid(p["logits"]) if "logits" in p else p["probs"]

    def _sample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        theta = jax.lax.stop_gradient(self._probs(p))
        return _random.bernoulli(key, theta, shape).astype(theta.dtype)

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        support = (x == 0) | (x == 1)
        if "logits" in p:
            eta = p["logits"]
            log_p = x * eta - jax.nn.softplus(eta)
            # An infinite logit gives inf - inf above; the certain outcome has log-probability 0.
            point_mass = jnp.where((x == 1) == (eta > 0), 0.0, -jnp.inf)
            return _outside(support, jnp.where(jnp.isinf(eta), point_mass, log_p))
        theta = p["probs"]
        # Select before the log so that θ ∈ {0, 1} gives finite gradients for outcomes that occur.
        return _outside(support, jnp.log(jnp.where(x == 1, theta, 1 - theta)))


@dataclass(frozen=True)
class Categorical(_Family):
    r"""Categorical distribution over {0, …, K−1}, parameters ``{"logits": η}`` or ``{"probs": π}``.

    The last axis of the parameter holds the K categories; leading axes are a batch of independent
    variables. :math:`\log p(k) = \eta_k - \log\sum_j e^{\eta_j}`. A logit of ``-inf`` is a
    zero-probability category: it is never sampled and its log-probability and gradients stay
    finite for every category that can be sampled. Probabilities must lie on the simplex (sum to 1
    within 1e-5). Samples are integer category indices of shape ``sample_shape + batch_shape``.
    ``log_prob`` of anything but an integer in {0, …, K−1} (−1, K, 2.5) is ``-inf``: an index
    never wraps around to another category.
    """

    arg_constraints: ClassVar[dict[str, v.Constraint]] = {"logits": v.category_logits, "probs": v.simplex}
    param_sets = (("logits",), ("probs",))

    def num_categories(self, params: Params) -> int:
        return jnp.shape(next(iter(self.check(params).values())))[-1]

    def log_probs(self, params: Params) -> jax.Array:
        """Log-probability of every category, shape ``batch_shape + (K,)``."""
        return self._log_probs(self.check(params))

    def _log_probs(self, p: Params) -> jax.Array:
        if "logits" in p:
            return jax.nn.log_softmax(p["logits"], axis=-1)
        return jnp.log(p["probs"])

    def probs(self, params: Params) -> jax.Array:
        p = self.check(params)
        return jax.nn.softmax(p["logits"], axis=-1) if "logits" in p else p["probs"]

    def _sample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        logits = jax.lax.stop_gradient(self._log_probs(p))
        return _random.categorical(key, logits, shape)

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        num = next(iter(p.values())).shape[-1]
        support = (x >= 0) & (x < num) & (x == jnp.round(x))
        return _outside(support, self._gather(p, jnp.where(support, x, 0)))

    def _gather(self, p: Params, x: jax.Array) -> jax.Array:
        index = x[..., None].astype(jnp.int32)
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


def _on_simplex(x: jax.Array, atol: float = 1e-3) -> jax.Array:
    """Whether each last-axis row of ``x`` is a point of the simplex (non-negative, sums to 1)."""
    return (x >= 0).all(axis=-1) & (jnp.abs(jnp.sum(x, axis=-1) - 1) <= atol)


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
    tiny = float(np.finfo(np.float32).tiny)
    if tau < tiny:
        raise ValueError(
            f"temperature must be >= {tiny:.4g} (the smallest normal float32; smaller values "
            f"underflow), got {tau:.4g}"
        )
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
       \begin{aligned}
       \log p(x) = {}& \log (K-1)! + (K-1)\log\tau + \sum_{k=1}^K \big(\eta_k - (\tau+1)\log x_k\big)
       \\ & - K \log\sum_{k=1}^K e^{\eta_k - \tau\log x_k}.
       \end{aligned}

    A ``-inf`` logit makes its coordinate exactly 0; the density is then that of the Concrete
    distribution of the remaining categories (K counts only finite logits), with finite values and
    gradients. In float32 at small τ, coordinates underflow to 0 and the density is no longer
    representable: use moderate τ (≳ 0.1) when evaluating ``log_prob``.
    """

    temperature: float

    has_rsample = True

    arg_constraints: ClassVar[dict[str, v.Constraint]] = {"logits": v.category_logits}
    param_sets = (("logits",),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", _static_temperature(self.temperature))

    def _rsample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        sample_shape = shape[: len(shape) - (p["logits"].ndim - 1)]
        return _gumbel.gumbel_softmax(p["logits"], key, self.temperature, sample_shape)

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
        logits = p["logits"]
        tau = self.temperature
        x = jnp.asarray(x)
        support = jnp.broadcast_to(jnp.isfinite(logits), jnp.broadcast_shapes(x.shape, logits.shape))
        # Mask before the log: a zero coordinate of an excluded category would give 0 * inf = NaN.
        log_x = jnp.log(jnp.where(support, x, 1.0))
        eta = jnp.where(support, logits, 0.0)
        num = jnp.sum(support, axis=-1).astype(log_x.dtype)
        terms = jnp.where(support, eta - tau * log_x, -jnp.inf)
        log_p = (
            jax.lax.lgamma(num)
            + (num - 1) * math.log(tau)
            + jnp.sum(jnp.where(support, eta - (tau + 1) * log_x, 0.0), axis=-1)
            - num * jax.nn.logsumexp(terms, axis=-1)
        )
        return _outside(_on_simplex(x), log_p)


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

    ``log_prob`` is ``-inf`` outside the open interval (0, 1). At small τ a float32 sample often
    rounds to exactly 0.0 or 1.0 (for :math:`|\eta + \ell| > 17\tau`, say), where the density is
    not representable: work in logit space instead, with ``rsample_logit`` (the logit
    :math:`y = (\eta + \ell)/\tau`, with ``sigmoid(y)`` equal to ``rsample`` for the same key)
    and ``log_prob_logit``, :math:`\log p(y) = \log\tau + \eta - \tau y
    - 2\log(1 + e^{\eta - \tau y})`, finite for every finite y.
    """

    temperature: float

    has_rsample = True
    arg_constraints: ClassVar[dict[str, v.Constraint]] = {"logits": v.finite_logits}
    param_sets = (("logits",),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", _static_temperature(self.temperature))

    def _logit_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        logits = p["logits"]
        u = _random.uniform(key, shape, logits.dtype, minval=jnp.finfo(logits.dtype).tiny, maxval=1.0)
        noise = jnp.log(u) - jnp.log1p(-u)
        return (logits + noise) / self.temperature

    def _rsample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        return jax.nn.sigmoid(self._logit_n(p, key, shape))

    def rsample_logit(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
        r"""The logit :math:`y = (\eta + \ell)/\tau` of a sample (``sigmoid(y)`` is ``rsample``)."""
        p, shape = self._prologue(params, key, sample_shape)
        return self._logit_n(p, key, shape)

    def log_prob_logit(self, params: Params, y: Any) -> jax.Array:
        """Log-density of the logit ``y`` of a sample: finite for every finite y, at every τ."""
        eta = self.check(params)["logits"]
        tau = self.temperature
        u = eta - tau * jnp.asarray(y)
        return math.log(tau) + u - 2 * jax.nn.softplus(u)

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
        eta = p["logits"]
        tau = self.temperature
        x = jnp.asarray(x)
        log_x, log_1mx = jnp.log(x), jnp.log1p(-x)
        log_p = (
            math.log(tau)
            + eta
            - (tau + 1) * (log_x + log_1mx)
            - 2 * jnp.logaddexp(eta - tau * log_x, -tau * log_1mx)
        )
        return _outside((x > 0) & (x < 1), log_p)


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
    arg_constraints: ClassVar[dict[str, v.Constraint]] = {"concentration": v.positive, "rate": v.positive}
    param_sets = (("concentration", "rate"),)

    def _rsample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        dtype = jnp.result_type(p["concentration"], p["rate"])
        alpha = jnp.broadcast_to(p["concentration"], shape)
        return jax.random.gamma(key, alpha, shape, dtype=dtype) / p["rate"]

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
        alpha, rate = p["concentration"], p["rate"]
        x = jnp.asarray(x)
        log_p = alpha * jnp.log(rate) + (alpha - 1) * jnp.log(x) - rate * x - jax.scipy.special.gammaln(alpha)
        return _outside(x > 0, log_p)


@dataclass(frozen=True)
class Beta(_Family):
    r"""Beta distribution on (0, 1), parameters ``{"concentration1": a, "concentration0": b}``, > 0.

    ``concentration1`` (the exponent of x) and ``concentration0`` (of 1 − x) broadcast to one
    batch shape.

    .. math::
       \begin{aligned}
       \log p(x) &= (a-1)\log x + (b-1)\log(1-x) - \log\mathrm B(a, b), \\
       x &= \frac{G_a}{G_a + G_b},\ G_a\sim\mathrm{Gamma}(a,1),\ G_b\sim\mathrm{Gamma}(b,1),
       \end{aligned}

    reparameterized through the implicit gradients of the two Gamma samples
    :cite:p:`figurnov2018implicit`. The ratio is formed from log-Gamma samples,
    :math:`x = \operatorname{sigmoid}(\log G_a - \log G_b)`, so that small concentrations (whose Gamma samples
    underflow to 0) do not give 0/0. ``rsample`` (the pathwise gradient) needs concentrations
    >= ``MIN_RSAMPLE_CONCENTRATION`` (0.05): below it the float32 implicit gradient is
    biased, so it raises; ``sample`` and ``log_prob`` (the score function) accept any
    concentration > 0. ``log_prob`` is ``-inf`` outside the open interval (0, 1).
    """

    has_rsample = True
    arg_constraints: ClassVar[dict[str, v.Constraint]] = {
        "concentration1": v.positive,
        "concentration0": v.positive,
    }
    param_sets = (("concentration1", "concentration0"),)

    def _check_rsample(self, p: Params) -> None:
        for name, arr in p.items():
            v.check_positive(f"params['{name}']", arr, MIN_RSAMPLE_CONCENTRATION)

    def _rsample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        dtype = jnp.result_type(p["concentration1"], p["concentration0"])
        key_a, key_b = jax.random.split(key)
        log_a = jax.random.loggamma(key_a, jnp.broadcast_to(p["concentration1"], shape), shape, dtype=dtype)
        log_b = jax.random.loggamma(key_b, jnp.broadcast_to(p["concentration0"], shape), shape, dtype=dtype)
        return jax.nn.sigmoid(log_a - log_b)

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
        a, b = p["concentration1"], p["concentration0"]
        x = jnp.asarray(x)
        log_p = (a - 1) * jnp.log(x) + (b - 1) * jnp.log1p(-x) - jax.scipy.special.betaln(a, b)
        return _outside((x > 0) & (x < 1), log_p)


@dataclass(frozen=True)
class Dirichlet(_Family):
    r"""Dirichlet distribution on the simplex, parameters ``{"concentration": α}``, α > 0.

    The last axis of ``concentration`` holds the K >= 2 categories; leading axes are a batch of
    independent variables. Samples have shape ``sample_shape + batch_shape + (K,)`` and
    ``log_prob`` returns ``sample_shape + batch_shape``.

    .. math::
       \begin{aligned}
       \log p(x) &= \sum_k (\alpha_k - 1)\log x_k + \log\Gamma\Big(\sum_k\alpha_k\Big)
       - \sum_k \log\Gamma(\alpha_k), \\
       x_k &= \frac{G_k}{\sum_j G_j},\ G_k \sim \mathrm{Gamma}(\alpha_k, 1),
       \end{aligned}

    reparameterized through the implicit gradients of the Gamma samples
    :cite:p:`figurnov2018implicit`, normalised in log space (a softmax of log-Gamma samples).
    ``rsample`` needs concentrations >= ``MIN_RSAMPLE_CONCENTRATION`` (0.05), as
    :class:`Beta`; ``log_prob`` is ``-inf`` off the simplex (a negative coordinate, or coordinates
    that do not sum to 1 within 1e-3).
    """

    has_rsample = True
    arg_constraints: ClassVar[dict[str, v.Constraint]] = {
        "concentration": v.Constraint("positive", event_ndim=1, min_event_size=2)
    }
    param_sets = (("concentration",),)

    def _check_rsample(self, p: Params) -> None:
        v.check_positive("params['concentration']", p["concentration"], MIN_RSAMPLE_CONCENTRATION)

    def _rsample_n(self, p: Params, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        alpha = p["concentration"]
        shape = shape + alpha.shape[-1:]
        log_g = jax.random.loggamma(key, jnp.broadcast_to(alpha, shape), shape, dtype=alpha.dtype)
        return jax.nn.softmax(log_g, axis=-1)

    def _log_prob(self, p: Params, x: Any) -> jax.Array:
        alpha = p["concentration"]
        x = jnp.asarray(x)
        gammaln = jax.scipy.special.gammaln
        log_p = (
            jnp.sum((alpha - 1) * jnp.log(x), axis=-1)
            + gammaln(jnp.sum(alpha, axis=-1))
            - jnp.sum(gammaln(alpha), axis=-1)
        )
        return _outside(_on_simplex(x) & (x > 0).all(axis=-1), log_p)


# Library code checks a call's parameters once (``gradest._validation.check_common``) and then draws
# and evaluates through the functions below, which skip the second check that the public methods
# would make. They take that path only where the public method is ``_Family``'s own: a subclass
# that redefines ``rsample`` (say), or a family outside gradest that only satisfies the
# ``Distribution`` protocol, gets its public method.


def _inherits(dist: Any, method: str, owner: type = _Family) -> TypeGuard[_Family]:
    """Whether ``dist`` is an ``owner`` whose public ``method`` is ``owner``'s, not redefined."""
    return isinstance(dist, owner) and getattr(type(dist), method) is getattr(owner, method)


def batch_shape_checked(dist: Distribution, params: Params) -> tuple[int, ...]:
    """``dist.batch_shape(params)`` for parameters that ``dist.check`` has returned, not checked again."""
    if _inherits(dist, "batch_shape"):
        return dist._batch_shape(params)
    return tuple(dist.batch_shape(params))


def sample_checked(
    dist: Distribution, params: Params, key: jax.Array, sample_shape: tuple[int, ...]
) -> jax.Array:
    """``dist.sample(params, key, sample_shape)`` for checked parameters, a checked key and shape."""
    if _inherits(dist, "sample"):
        shape = tuple(sample_shape) + dist._batch_shape(params)
        return dist._sample_n(params, key, shape)
    return dist.sample(params, key, sample_shape)


def rsample_checked(
    dist: Distribution, params: Params, key: jax.Array, sample_shape: tuple[int, ...]
) -> jax.Array:
    """``dist.rsample(params, key, sample_shape)`` for parameters that ``check_rsample`` has returned."""
    if _inherits(dist, "rsample") and dist.has_rsample:
        shape = tuple(sample_shape) + dist._batch_shape(params)
        return dist._rsample_n(params, key, shape)
    return dist.rsample(params, key, sample_shape)


def log_prob_checked(dist: Distribution, params: Params, x: Any) -> jax.Array:
    """``dist.log_prob(params, x)`` for checked parameters."""
    if _inherits(dist, "log_prob"):
        return dist._log_prob(params, x)
    return dist.log_prob(params, x)


def log_probs_checked(dist: Categorical, params: Params) -> jax.Array:
    """``dist.log_probs(params)`` (every category's log-probability) for checked parameters."""
    if _inherits(dist, "log_probs", Categorical):
        return dist._log_probs(params)
    return dist.log_probs(params)
