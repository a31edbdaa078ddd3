r"""The variance of a score-function estimate as a function of a constant baseline, computed exactly.

For one parameter component :math:`j` with score :math:`s_j = \partial_{\phi_j}\log p_\phi(x)` and a
cost that does not depend on :math:`\phi`, the single-sample estimate :math:`(f - b)\,s_j` has

.. math::
   \operatorname{Var}[(f-b)s_j] = \mathbb E[f^2 s_j^2] - 2b\,\mathbb E[f s_j^2] + b^2\,\mathbb E[s_j^2]
   - \big(\mathbb E[f s_j]\big)^2,

a parabola in :math:`b` with its minimum at the optimal constant
:math:`b_j^\star = \mathbb E[f s_j^2]/\mathbb E[s_j^2]` :cite:p:`greensmith2004variance`. The four
moments are sums over a quadrature rule or an enumeration of the support (``points``, ``weights``),
so the variance, :math:`b^\star` and the variance at :math:`b^\star` are exact up to the rule's error.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradest import _validation as v
from gradest import distributions
from gradest.control_variates import score_terms
from gradest.distributions import Params
from gradest.types import Cost, Distribution


class ScoreMoments(NamedTuple):
    """Moments of the single-sample score-function estimate, each shaped like the parameters.

    Attributes:
      f_s: :math:`\\mathbb E[f s_j]`, the exact gradient when f does not depend on the parameters.
      f_s2: :math:`\\mathbb E[f s_j^2]`.
      f2_s2: :math:`\\mathbb E[f^2 s_j^2]`.
      s2: :math:`\\mathbb E[s_j^2]` (the Fisher information's diagonal).
    """

    f_s: Any
    f_s2: Any
    f2_s2: Any
    s2: Any


def normal_quadrature(params: Params, order: int = 80) -> tuple[jax.Array, jax.Array]:
    r"""Gauss–Hermite points and weights for :math:`\mathbb E_{x\sim\mathcal N(\mu,\sigma^2)}[g(x)]`.

    Exact for polynomials of degree < 2·``order``; use it for smooth costs (a cost with a jump needs
    a closed form or a rule that splits at the jump).

    Args:
      params: ``{"loc": μ, "scale": σ}``, scalars.
      order: the number of points, >= 1.

    Returns:
      ``(points, weights)``, each of shape ``(order,)``; the weights sum to 1.

    Raises:
      ValueError: if ``order < 1`` or ``loc``/``scale`` are not scalars.
    """
    order = v.check_positive_int("order", order)
    loc, scale = (v.as_float_array(name, params[name]) for name in ("loc", "scale"))
    for name, value in (("loc", loc), ("scale", scale)):
        if jnp.ndim(value) != 0:
            raise ValueError(f"params[{name!r}] must be a scalar, got shape {jnp.shape(value)}")
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    points = loc + scale * jnp.asarray(nodes, dtype=jnp.float32)
    return points, jnp.asarray(weights / weights.sum(), dtype=jnp.float32)


def score_moments(f: Cost, dist: Distribution, params: Params, points: Any, weights: Any) -> ScoreMoments:
    r"""The four moments of :class:`ScoreMoments` as weighted sums over ``points``.

    .. math:: \mathbb E[g(x)] \approx \sum_i w_i\, g(x_i),\qquad
              g \in \{f s_j,\ f s_j^2,\ f^2 s_j^2,\ s_j^2\}.

    Args:
      f: ``f(x, params) -> scalar``; it must not depend on ``params`` (the moments describe the
        score term only).
      dist: a distribution with ``log_prob``.
      params: the distribution's parameters, a pytree.
      points: the support points (an enumeration) or quadrature nodes, leading axis M.
      weights: shape ``(M,)``: the probabilities of the points, or the quadrature weights.

    Returns:
      :class:`ScoreMoments`.

    Raises:
      TypeError: if ``f`` is not callable or ``dist`` is not a distribution instance.
      ValueError: if the parameters are invalid, ``weights`` is not one finite weight per point
        or ``f`` does not return a scalar.
    """
    v.check_callable("f", f)
    v.check_distribution("dist", dist)
    params = dist.check(params)
    points = jnp.asarray(points)
    weights = v.as_float_array("weights", weights)
    v.check_finite("weights", weights)
    if jnp.ndim(weights) != 1 or jnp.ndim(points) < 1 or weights.shape[0] != jnp.shape(points)[0]:
        raise ValueError(
            f"weights must have shape (M,) with M = len(points) = {jnp.shape(points)[:1]}, "
            f"got {jnp.shape(weights)}"
        )
    fv = v.cost_values(f, points, params, weights.shape[0])
    scores = jax.vmap(
        jax.grad(lambda p, x: jnp.sum(distributions.log_prob_checked(dist, p, x))), in_axes=(None, 0)
    )(params, points)

    def moment(values: jax.Array, s: jax.Array, power: int) -> jax.Array:
        shaped = lambda a: a.reshape((-1,) + (1,) * (s.ndim - 1))
        return jnp.sum(shaped(weights) * shaped(values) * s**power, axis=0)

    ones = jnp.ones_like(fv)
    return ScoreMoments(
        jax.tree.map(lambda s: moment(fv, s, 1), scores),
        jax.tree.map(lambda s: moment(fv, s, 2), scores),
        jax.tree.map(lambda s: moment(fv**2, s, 2), scores),
        jax.tree.map(lambda s: moment(ones, s, 2), scores),
    )


def optimal_constant_baseline(moments: ScoreMoments) -> Any:
    r""":math:`b_j^\star = \mathbb E[f s_j^2]/\mathbb E[s_j^2]` per component (0 where the score is
    identically zero)."""
    return jax.tree.map(
        lambda a, b: jnp.where(b > 0, a / jnp.where(b > 0, b, 1.0), 0.0), moments.f_s2, moments.s2
    )


def variance_at_baseline(moments: ScoreMoments, baseline: Any) -> Any:
    r"""Single-sample variance :math:`\operatorname{Var}[(f-b)s_j]` per component, for a constant b.

    Args:
      moments: from :func:`score_moments`.
      baseline: a scalar (the same b for every component, any shape broadcasting against the
        parameter leaves, e.g. a grid of b values with a trailing axis) or a pytree shaped like the
        parameters (one b per component, e.g. :func:`optimal_constant_baseline`).

    Returns:
      The variance, shaped like the parameters (broadcast against ``baseline``).
    """
    # PyTreeDef supports != at run time; its stub does not declare it.
    if jax.tree.structure(baseline) != jax.tree.structure(moments.s2):  # type: ignore[operator]
        baseline = jax.tree.map(lambda _: jnp.asarray(baseline), moments.s2)
    return jax.tree.map(
        lambda f2s2, fs2, s2, fs, b: f2s2 - 2 * b * fs2 + b**2 * s2 - fs**2,
        moments.f2_s2,
        moments.f_s2,
        moments.s2,
        moments.f_s,
        baseline,
    )


def score_function_with_baselines(
    f: Cost, dist: Distribution, params: Params, key: jax.Array, num_samples: int, baselines: Params
) -> Params:
    r"""Score-function estimate with one constant baseline per parameter component.

    .. math:: \hat g_j = \frac1N\sum_i \big(f(x_i) - b_j\big)\,s_j(x_i)
              + \frac1N\sum_i \partial_{\phi_j} f(x_i,\phi)

    Unbiased for every constant :math:`b_j`; with :math:`b_j = b_j^\star`
    (:func:`optimal_constant_baseline`) it is the best a constant baseline can do
    :cite:p:`greensmith2004variance`. Uses the samples of :func:`gradest.estimators.score_function` with the
    same key.

    Args:
      f, dist, params, key, num_samples: as :func:`gradest.estimators.score_function`.
      baselines: a pytree shaped like ``params``, the constants :math:`b_j`.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      ValueError: if ``baselines`` does not match ``params``, or as :func:`gradest.estimators.score_function`.
    """
    terms = score_terms(f, dist, params, key, num_samples)
    # The pathwise term has the structure and shapes of the checked params.
    v.check_same_structure("baselines", baselines, terms.pathwise, "params")
    fv = terms.f_values

    def component(s: jax.Array, b: Any, path: jax.Array) -> jax.Array:
        fb = fv.reshape((-1,) + (1,) * (s.ndim - 1))
        return jnp.mean((fb - jnp.asarray(b)) * s, axis=0) + path

    return jax.tree.map(component, terms.scores, baselines, terms.pathwise)
