r"""Exact expectations over logistic noise by quadrature: the ground truth for Bernoulli estimators.

A Bernoulli sample with logit η is a threshold of logistic noise, :math:`b = H(z)` with
:math:`z = \eta + \log u - \log(1 - u)` and :math:`u \sim \mathcal U(0, 1)`, and every single-sample
estimator built on that noise (straight-through, Gumbel-softmax, the score function) is a function
:math:`g(z)`. Its mean and variance are one-dimensional integrals over u, which Gauss–Legendre
quadrature computes to many digits once the interval is split at :math:`u = 1 - \sigma(\eta)`, where
:math:`H(z)` jumps :cite:p:`maddison2017concrete,bengio2013estimating`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradest import _validation as v


def logistic_expectation(
    g: Callable[[np.ndarray], Any], logit: float = 0.0, *, num_nodes: int = 200
) -> float:
    r""":math:`\mathbb E[g(z)]` for :math:`z = \eta + \ell`, ℓ standard logistic, by Gauss–Legendre.

    .. math::
       \mathbb E[g(z)] = \int_0^{1-\theta} g\big(\eta + \operatorname{logit} u\big)\,du
                       + \int_{1-\theta}^{1} g\big(\eta + \operatorname{logit} u\big)\,du,
       \qquad \theta = \sigma(\eta),

    each piece with ``num_nodes`` Gauss–Legendre nodes (which never touch the end points, where
    :math:`\operatorname{logit} u` is infinite). Splitting at :math:`u = 1 - \theta`, i.e. at
    z = 0, makes a g that jumps with the Bernoulli sample :math:`b = \mathbf 1\{z > 0\}` smooth on
    each piece.

    Args:
      g: a vectorised function of the noise, ``g(z) -> array`` of the shape of ``z`` (a NumPy
        float64 array), for instance one estimate of a gradient as a function of z.
      logit: η, finite.
      num_nodes: Gauss–Legendre nodes per piece, >= 1.

    Returns:
      The expectation, a Python float.

    Raises:
      TypeError: if ``g`` is not callable or ``num_nodes`` is not an int. ValueError: if
        ``logit`` is not a finite scalar or ``num_nodes < 1``.
    """
    v.check_callable("g", g)
    v.as_float_array("logit", logit)  # the type check; the value is used in float64 below
    arr = np.asarray(logit, dtype=np.float64)
    if arr.ndim != 0:
        raise ValueError(f"logit must be a scalar, got shape {arr.shape}")
    eta = float(arr)
    if not np.isfinite(eta):
        raise ValueError(f"logit must be finite, got {eta}")
    nodes = v.check_positive_int("num_nodes", num_nodes)
    x, w = np.polynomial.legendre.leggauss(nodes)
    split = 1.0 / (1.0 + np.exp(eta))  # 1 - θ
    total = 0.0
    for lo, hi in ((0.0, split), (split, 1.0)):
        u = lo + (hi - lo) * (x + 1.0) / 2.0
        values = np.asarray(g(eta + np.log(u) - np.log1p(-u)), dtype=np.float64)
        total += (hi - lo) / 2.0 * float(np.sum(w * values))
    return total
