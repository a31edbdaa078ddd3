r"""Benchmark objectives with exact expectations and exact gradients: the book's ground truth.

A :class:`Problem` bundles a cost ``f(x, params) -> scalar``, the distribution ``x`` is drawn
from, example parameters, and the exact expectation :math:`F(\phi) = \mathbb E_{x\sim p_\phi}[f(x)]`
as a differentiable function of the parameters, in closed form or by enumerating every outcome. The
exact gradient is ``jax.grad`` of that exact function: no sampling is involved anywhere.

When the parameters have a batch shape, ``f`` sums the cost over the independent variables and the
expectation is the matching sum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm

from gradest import _validation as v
from gradest.distributions import Bernoulli, Categorical, Normal, Params
from gradest.types import Distribution


@dataclass(frozen=True)
class Problem:
    """An objective E_{x ~ dist(params)}[f(x, params)] whose value and gradient are known exactly.

    Attributes:
      name: a short label for tables and figures.
      dist: the distribution family (``Normal()``, ``Bernoulli()``, ``Categorical()``).
      f: ``f(x, params) -> scalar`` for one sample ``x`` of shape ``dist.batch_shape(params)``.
      params: example parameters (a pytree the estimators differentiate).
      expectation: ``params -> scalar``, the exact expectation.
    """

    name: str
    dist: Distribution
    f: Callable[[jax.Array, Params], jax.Array] = field(repr=False)
    params: Params = field(repr=False)
    expectation: Callable[[Params], jax.Array] = field(repr=False)

    def exact_value(self, params: Params | None = None) -> jax.Array:
        """The exact expectation at ``params`` (default: ``self.params``)."""
        return self.expectation(self._params(params))

    def exact_grad(self, params: Params | None = None) -> Params:
        """The exact gradient of the expectation, a pytree shaped like ``params``."""
        return jax.grad(self.expectation)(self._params(params))

    def _params(self, params: Params | None) -> Params:
        if params is None:
            return self.params
        checked = self.dist.check(params)
        v.check_same_structure("params", checked, self.params, "the problem's params")
        return checked


def _finite_scalar(name: str, value: Any) -> jax.Array:
    arr = v.as_float_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    v.check_finite(name, arr)
    return arr


def _normal_params(loc: Any, scale: Any) -> Params:
    return Normal().check({"loc": loc, "scale": scale})


def gaussian_quadratic(k: float = 0.0, loc: Any = 1.0, scale: Any = 1.0) -> Problem:
    r"""f(x) = (x − k)² under N(μ, σ²).

    .. math:: \mathbb E[(x-k)^2] = (\mu-k)^2 + \sigma^2,\quad
              \partial_\mu = 2(\mu-k),\quad \partial_\sigma = 2\sigma.
    """
    k = _finite_scalar("k", k)  # type: ignore[assignment]

    def expectation(p: Params) -> jax.Array:
        return jnp.sum((p["loc"] - k) ** 2 + p["scale"] ** 2)

    return Problem(
        name=f"(x-{float(k):g})^2",
        dist=Normal(),
        f=lambda x, _: jnp.sum((x - k) ** 2),
        params=_normal_params(loc, scale),
        expectation=expectation,
    )


def gaussian_exp(k: float = 1.0, loc: Any = 1.0, scale: Any = 1.0) -> Problem:
    r"""f(x) = exp(−k x²) under N(μ, σ²), k ≥ 0.

    .. math:: \mathbb E[e^{-k x^2}] = \frac{1}{\sqrt{1 + 2k\sigma^2}}
              \exp\!\left(-\frac{k\mu^2}{1 + 2k\sigma^2}\right).
    """
    k = _finite_scalar("k", k)  # type: ignore[assignment]
    if float(k) < 0:
        raise ValueError(f"k must be >= 0 (the expectation diverges for large negative k), got {float(k)}")

    def expectation(p: Params) -> jax.Array:
        s = 1 + 2 * k * p["scale"] ** 2
        return jnp.sum(jnp.exp(-k * p["loc"] ** 2 / s) / jnp.sqrt(s))

    return Problem(
        name=f"exp(-{float(k):g} x^2)",
        dist=Normal(),
        f=lambda x, _: jnp.sum(jnp.exp(-k * x**2)),
        params=_normal_params(loc, scale),
        expectation=expectation,
    )


def gaussian_cos(k: float = 1.0, loc: Any = 1.0, scale: Any = 1.0) -> Problem:
    r"""f(x) = cos(k x) under N(μ, σ²).

    .. math:: \mathbb E[\cos kx] = \cos(k\mu)\, e^{-k^2\sigma^2/2}.
    """
    k = _finite_scalar("k", k)  # type: ignore[assignment]

    def expectation(p: Params) -> jax.Array:
        return jnp.sum(jnp.cos(k * p["loc"]) * jnp.exp(-0.5 * k**2 * p["scale"] ** 2))

    return Problem(
        name=f"cos({float(k):g} x)",
        dist=Normal(),
        f=lambda x, _: jnp.sum(jnp.cos(k * x)),
        params=_normal_params(loc, scale),
        expectation=expectation,
    )


def gaussian_threshold(k: float = 0.0, loc: Any = 1.0, scale: Any = 1.0) -> Problem:
    r"""f(x) = 1[x > k] under N(μ, σ²): a cost with zero derivative almost everywhere.

    .. math:: \mathbb E[\mathbf 1\{x>k\}] = \Phi\!\left(\frac{\mu-k}{\sigma}\right).
    """
    k = _finite_scalar("k", k)  # type: ignore[assignment]

    def expectation(p: Params) -> jax.Array:
        return jnp.sum(norm.cdf((p["loc"] - k) / p["scale"]))

    return Problem(
        name=f"1[x>{float(k):g}]",
        dist=Normal(),
        f=lambda x, _: jnp.sum((x > k).astype(x.dtype)),
        params=_normal_params(loc, scale),
        expectation=expectation,
    )


def bernoulli_quadratic(t: float = 0.45, logits: Any = 0.0) -> Problem:
    r"""f(b) = (b − t)² with b ~ Bernoulli(σ(η)): the toy problem of REBAR and RELAX.

    .. math:: \mathbb E[(b-t)^2] = \theta(1-t)^2 + (1-\theta)t^2,\qquad
              \frac{\partial}{\partial\eta} = \theta(1-\theta)(1-2t),\quad \theta = \sigma(\eta).
    """
    t = _finite_scalar("t", t)  # type: ignore[assignment]
    params = Bernoulli().check({"logits": logits})

    def expectation(p: Params) -> jax.Array:
        theta = jax.nn.sigmoid(p["logits"])
        return jnp.sum(theta * (1 - t) ** 2 + (1 - theta) * t**2)

    return Problem(
        name=f"(b-{float(t):g})^2",
        dist=Bernoulli(),
        f=lambda b, _: jnp.sum((b - t) ** 2),
        params=params,
        expectation=expectation,
    )


def categorical_table(table: Any, logits: Any = None) -> Problem:
    r"""f(x) = table[x] with x ~ Categorical(softmax(η)); exact gradient by enumeration.

    ``table`` has shape ``batch_shape + (K,)``: one row of costs per independent variable, and
    ``f`` sums the costs of the drawn categories.

    .. math:: \mathbb E[f] = \sum_k \pi_k c_k,\qquad
              \frac{\partial}{\partial\eta_j} = \pi_j (c_j - \mathbb E[f]).

    Args:
      table: finite costs, shape ``batch_shape + (K,)``, K >= 2.
      logits: shape of ``table``; defaults to zeros (uniform). ``-inf`` entries are allowed.
    """
    costs = v.as_float_array("table", table)
    if costs.ndim < 1 or costs.shape[-1] < 2:
        raise ValueError(f"table must have a category axis of length >= 2, got shape {costs.shape}")
    v.check_finite("table", costs)
    logits = jnp.zeros_like(costs) if logits is None else logits
    params = Categorical().check({"logits": logits})
    if params["logits"].shape != costs.shape:
        raise ValueError(f"logits must have the shape of table {costs.shape}, got {params['logits'].shape}")

    def f(x: jax.Array, _: Params) -> jax.Array:
        return jnp.sum(jnp.take_along_axis(costs, x[..., None].astype(jnp.int32), axis=-1))

    def expectation(p: Params) -> jax.Array:
        return jnp.sum(jax.nn.softmax(p["logits"], axis=-1) * costs)

    return Problem(name="categorical table", dist=Categorical(), f=f, params=params, expectation=expectation)
