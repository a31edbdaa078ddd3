r"""Variance reduction beyond baselines: antithetic pairs, randomized QMC, sum-and-sample, IS.

Every estimator here estimates :math:`\nabla_\phi\,\mathbb E_{x\sim p_\phi}[f(x, \phi)]` without
bias, takes its arguments in the order of :mod:`gradest.estimators`,
``(f, dist, params, key, num_samples, ...)``, and returns a pytree shaped like ``params``. What
changes is *where the samples come from*:

* :func:`antithetic_pathwise` and :func:`antithetic_score_function` draw Gaussian noise in pairs
  :math:`(\varepsilon, -\varepsilon)`; ``num_samples`` counts both members of every pair, so
  ``num_samples`` is always the number of evaluations of ``f``;
* :func:`rqmc_pathwise` and :func:`rqmc_score_function` push a low-discrepancy point set (for
  example Sobol points from ``scipy.stats.qmc``), randomized by a digital shift drawn from ``key``
  (:func:`random_digital_shift`), through the inverse CDF;
* :func:`sum_and_sample` sums a categorical's most probable outcomes exactly and samples the rest;
* :func:`importance_score_function` samples a proposal :math:`q` and reweights by :math:`p/q`;
  :func:`effective_sample_size` says how many plain samples its weights are worth.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from gradest import _random, _scores, _streamed, distributions
from gradest import _validation as v
from gradest.distributions import Categorical, Gumbel, Normal, Params
from gradest.types import Cost, Distribution

#: Bits of a point kept by :func:`random_digital_shift` (float32 resolves 2**-24 in [0.5, 1)).
SHIFT_BITS = 24


def _score_surrogate(
    dist: Distribution, params: Params, x: jax.Array, f_values: jax.Array, advantage: jax.Array
) -> jax.Array:
    r"""A scalar whose gradient is :math:`\frac1N\sum_i a_i\nabla\log p(x_i) + \partial_\phi f(x_i)`.

    ``f_values`` must be ``f(x, params)`` evaluated with ``params`` traced (for the pathwise term of
    a cost that depends on the parameters); ``advantage`` is treated as a constant.
    """
    # The score term is linear in the parameters with the slope of the closed-form score where the
    # family has one (gradest._scores): autodiff of the log-density sums the −1/σ of every sample
    # apart from the (x − μ)²/σ³, and in float32 that difference of two large sums kept only three
    # to four significant digits of a scale's gradient (tests/test_streamed.py).
    weights = jax.lax.stop_gradient(advantage) / advantage.shape[0]
    score = jax.lax.stop_gradient(_scores.weighted_score(dist, params, x, weights))
    linear = sum(jnp.sum(s * p) for s, p in zip(jax.tree.leaves(score), jax.tree.leaves(params), strict=True))
    return linear + jnp.mean(f_values)


def _check_even(num_samples: int) -> int:
    if num_samples % 2:
        raise ValueError(
            f"num_samples must be even (it counts both members of every antithetic pair), got {num_samples}"
        )
    return num_samples


def _check_normal(dist: Any) -> None:
    if not isinstance(dist, Normal):
        raise TypeError(
            "dist must be gradest.Normal (antithetic pairs reflect a symmetric noise), "
            f"got {type(dist).__name__}"
        )


def _antithetic_noise(dist: Normal, params: Params, key: jax.Array, num_samples: int) -> jax.Array:
    """Standard normal noise ``(ε_1..ε_P, −ε_1..−ε_P)``, shape ``(num_samples,) + batch_shape``."""
    shape = (num_samples // 2, *distributions.batch_shape_checked(dist, params))
    dtype = jnp.result_type(*params.values())
    eps = _random.normal(key, shape, dtype)
    if math.prod(shape[1:]) <= 4:
        return jnp.concatenate([eps, -eps])
    # Longer samples: a sign broadcast over a new leading axis (the reshape is free). XLA's CPU loop
    # emitter computes the concatenation of rows of some lengths element by element: at N = 10⁴
    # the estimates took 2.5-4.5 times as long with D = 6, 7, 9, 10 or 12, 1.1-1.4 times with
    # D = 16-32, and within 20 % either way with D = 8 or 64. Up to four numbers a sample,
    # concatenating was 0-30 % faster (jax 0.10.2, 30 November 2026).
    signs = jnp.array([1, -1], dtype).reshape(2, *(1,) * len(shape))
    return (signs * eps).reshape(num_samples, *shape[1:])


def antithetic_pathwise(f: Cost, dist: Normal, params: Params, key: jax.Array, num_samples: int) -> Params:
    r"""Pathwise gradient from antithetic pairs :math:`x^\pm = \mu \pm \sigma\varepsilon`.

    With :math:`P = N/2` pairs and :math:`g(\varepsilon) = \nabla_\phi f(\mu+\sigma\varepsilon, \phi)`,

    .. math::
       \hat g = \frac1P\sum_{j=1}^P \frac{g(\varepsilon_j) + g(-\varepsilon_j)}{2}
              = \frac1P\sum_j g_{\mathrm{even}}(\varepsilon_j),

    unbiased because :math:`-\varepsilon` has the law of :math:`\varepsilon`. Against N independent
    samples its variance is multiplied by
    :math:`2\operatorname{Var}g_{\mathrm{even}} / (\operatorname{Var}g_{\mathrm{even}} +
    \operatorname{Var}g_{\mathrm{odd}})`, between 0 (an odd :math:`g`) and 2 (an even one)
    :cite:p:`hammersley1956new,owen2013monte`.

    Args:
      f: ``f(x, params) -> scalar``, differentiable in ``x``.
      dist: ``gradest.Normal()``.
      params: ``{"loc": μ, "scale": σ}``, broadcasting to the batch shape.
      key: a ``jax.random`` key.
      num_samples: N, the number of evaluations of ``f``: even, >= 2 (N/2 pairs).

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``f`` is not callable, ``dist`` is not ``Normal`` or ``key`` is not a key.
      ValueError: if ``num_samples`` is odd or < 2, or the parameters are invalid.
    """
    checked = v.check_common(f, dist, params, key, num_samples)
    _check_normal(dist)
    _check_even(v.check_positive_int("num_samples", num_samples, minimum=2))
    if _streamed.applies(dist, checked, key, num_samples):
        return _streamed.pathwise(
            _streamed.last_axis_costs(f), checked, key, num_samples // 2, antithetic=True
        )
    eps = _antithetic_noise(dist, checked, key, num_samples)

    def objective(p: Params) -> jax.Array:
        return jnp.mean(v.cost_values(f, p["loc"] + p["scale"] * eps, p, num_samples))

    return jax.grad(objective)(checked)


def antithetic_score_function(
    f: Cost, dist: Normal, params: Params, key: jax.Array, num_samples: int, *, baseline: Any = None
) -> Params:
    r"""Score-function gradient from antithetic pairs :math:`x^\pm = \mu \pm \sigma\varepsilon`.

    .. math::
       \hat g = \frac1N\sum_{j=1}^{P}\sum_{\pm}\big(f(x_j^\pm) - b_j\big)\,\nabla_\phi\log p_\phi(x_j^\pm)
              + \frac1N\sum_{j,\pm}\partial_\phi f(x_j^\pm, \phi),\qquad N = 2P.

    For the Gaussian, :math:`\nabla_\mu\log p(x^\pm) = \pm\varepsilon/\sigma`, so the pair keeps
    only the odd part of f in the location gradient, :math:`(f(x^+) - f(x^-))\,\varepsilon/(2\sigma)`
    (a random finite difference), and only the even part in the scale gradient
    :cite:p:`hammersley1956new,mohamed2020monte`. The baseline of pair j must not depend on pair j;
    ``gradest.rloo`` applied to the pair means (the default way to pass it) averages the other
    pairs. A leave-one-*sample*-out baseline over all N costs would use the partner of
    :math:`x_j^\pm` and bias the estimate.

    Args:
      f: ``f(x, params) -> scalar``; need not be differentiable in ``x``.
      dist: ``gradest.Normal()``.
      params: ``{"loc": μ, "scale": σ}``.
      key: a ``jax.random`` key.
      num_samples: N, the number of evaluations of ``f``: even, >= 2.
      baseline: ``None``; a constant (scalar, or one value per pair); or a function
        ``b(pair_means) -> (N/2,)`` of the mean cost of each pair, such as ``gradest.rloo``
        (then N >= 4). Both members of pair j get :math:`b_j`; it never receives a gradient.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: as :func:`antithetic_pathwise`.
      ValueError: as :func:`antithetic_pathwise`, or if the baseline has the wrong shape.
    """
    checked = v.check_common(f, dist, params, key, num_samples)
    _check_normal(dist)
    _check_even(v.check_positive_int("num_samples", num_samples, minimum=2))
    if _streamed.applies(dist, checked, key, num_samples):
        return _streamed.score_function(
            _streamed.last_axis_costs(f), checked, key, num_samples // 2, baseline, antithetic=True
        )
    eps = jax.lax.stop_gradient(_antithetic_noise(dist, checked, key, num_samples))

    def surrogate(p: Params) -> jax.Array:
        x = jax.lax.stop_gradient(p["loc"] + p["scale"] * eps)
        f_values = v.cost_values(f, x, p, num_samples)
        pair_means = jax.lax.stop_gradient(jnp.mean(f_values.reshape(2, -1), axis=0))
        b = jnp.tile(v.baseline_values(baseline, pair_means), 2)
        return _score_surrogate(dist, p, x, f_values, f_values - b)

    return jax.grad(surrogate)(checked)


def random_digital_shift(points: jax.Array, key: jax.Array) -> jax.Array:
    r"""Randomize a point set in :math:`[0,1)^d` by one random digital shift (XOR) per dimension.

    Each coordinate keeps its first :data:`SHIFT_BITS` binary digits, XORed with the same random
    digits for every point, and gets independent uniform lower digits:

    .. math:: \tilde u_{ij} = 2^{-B}\big(\lfloor 2^B u_{ij}\rfloor \oplus s_j + U_{ij}\big),\qquad
              s_j \sim \mathcal U\{0,\dots,2^B-1\},\ U_{ij}\sim\mathcal U[0,1).

    Every shifted point is exactly uniform on :math:`[0,1)^d`, so averages over it are unbiased,
    and a digital net (the first :math:`2^m` Sobol points) stays a digital net
    :cite:p:`lecuyer2018randomized`. Results are clipped to :math:`[2^{-30}, 1-2^{-24}]` so that an
    inverse CDF stays finite; the clipped mass is below :math:`10^{-7}`.

    Args:
      points: shape ``(N, d)`` (or ``(N,) + batch_shape``), values in [0, 1).
      key: a ``jax.random`` key.

    Returns:
      The shifted points, the shape of ``points``, float32.

    Raises:
      TypeError: if ``key`` is not a key or ``points`` is not numeric.
      ValueError: if ``points`` has no sample axis or values outside [0, 1).
    """
    v.check_key("key", key)
    u = _check_points(points)
    scale = float(2**SHIFT_BITS)
    k_shift, k_jitter = jax.random.split(key)
    digits = jnp.floor(u * scale).astype(jnp.uint32)
    shift = jax.random.randint(k_shift, u.shape[1:], 0, 2**SHIFT_BITS, dtype=jnp.int32).astype(jnp.uint32)
    jitter = _random.uniform(k_jitter, u.shape)
    shifted = jnp.bitwise_xor(digits, shift).astype(jnp.float32) / scale + jitter / scale
    return jnp.clip(shifted, 2.0**-30, 1.0 - 2.0**-24)


def _check_points(points: Any) -> jax.Array:
    u = v.as_float_array("points", points).astype(jnp.float32)
    if u.ndim < 1:
        raise ValueError(f"points must have a leading sample axis, got shape {u.shape}")
    v.check_not_nan("points", u)
    values = np.asarray(points) if v.is_concrete(points) else None
    if values is not None and values.size and not ((values >= 0) & (values < 1)).all():
        raise ValueError(f"points must lie in [0, 1), got min {values.min():.4g} and max {values.max():.4g}")
    return u


def _standard_quantile(dist: Normal | Gumbel, u: jax.Array) -> jax.Array:
    """The inverse CDF of the family's standard noise (ε for ``Normal``, g for ``Gumbel``)."""
    if isinstance(dist, Normal):
        return ndtri(u)
    return -jnp.log(-jnp.log(u))


def _rqmc_noise(
    dist: Normal | Gumbel, params: Params, key: jax.Array, num_samples: int, points: Any
) -> jax.Array:
    if not isinstance(dist, Normal | Gumbel):
        raise TypeError(
            "dist must be gradest.Normal or gradest.Gumbel (an inverse CDF is needed), "
            f"got {type(dist).__name__}"
        )
    batch_shape = distributions.batch_shape_checked(dist, params)
    u = _check_points(points)
    size = int(np.prod(batch_shape))
    if u.shape[0] != num_samples or u.size != num_samples * size:
        raise ValueError(
            f"points must have shape ({num_samples}, {size}) (num_samples, number of variables), "
            f"got {u.shape}"
        )
    u = random_digital_shift(u.reshape(num_samples, size), key)
    return _standard_quantile(dist, u).reshape((num_samples, *batch_shape))


def rqmc_pathwise(
    f: Cost, dist: Normal | Gumbel, params: Params, key: jax.Array, num_samples: int, *, points: Any
) -> Params:
    r"""Pathwise gradient on a randomized quasi-Monte Carlo point set (RQMC).

    .. math::
       \hat g = \frac1N\sum_{i=1}^N \nabla_\phi f\big(\mu + \sigma F^{-1}(\tilde u_i), \phi\big),
       \qquad \tilde u = \text{random digital shift of the points},

    with :math:`F^{-1}` the standard normal (or Gumbel) quantile. Each :math:`\tilde u_i` is uniform,
    so :math:`\hat g` is unbiased; the points fill the cube evenly, so for a smooth integrand the
    error falls faster than Monte Carlo's :math:`N^{-1/2}`, nearly :math:`N^{-1}` in low dimension
    :cite:p:`owen2013monte,lecuyer2018randomized,buchholz2018quasi`. Generate ``points`` with
    ``scipy.stats.qmc.Sobol(d).random_base2(m)`` (N a power of two).

    Args:
      f: ``f(x, params) -> scalar``, differentiable in ``x``.
      dist: ``gradest.Normal()`` or ``gradest.Gumbel()``.
      params: ``{"loc": μ, "scale": σ}``; their batch shape holds d variables.
      key: a ``jax.random`` key: it draws the digital shift, so every key gives a new point set.
      num_samples: N, the number of evaluations of ``f``, >= 1.
      points: the base point set, shape ``(N, d)``, values in [0, 1).

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``dist`` has no inverse CDF here, or as :func:`gradest.estimators.pathwise`.
      ValueError: if ``points`` does not have shape ``(N, d)`` or leaves [0, 1).
    """
    checked = v.check_common(f, dist, params, key, num_samples)
    eps = _rqmc_noise(dist, checked, key, num_samples, points)

    def objective(p: Params) -> jax.Array:
        return jnp.mean(v.cost_values(f, p["loc"] + p["scale"] * eps, p, num_samples))

    return jax.grad(objective)(checked)


def rqmc_score_function(
    f: Cost,
    dist: Normal | Gumbel,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    points: Any,
    baseline: Any = None,
) -> Params:
    r"""Score-function gradient on a randomized quasi-Monte Carlo point set (RQMC).

    .. math::
       \hat g = \frac1N\sum_{i=1}^N \big(f(x_i) - b_i\big)\nabla_\phi\log p_\phi(x_i)
              + \partial_\phi f(x_i,\phi),\qquad x_i = \mu + \sigma F^{-1}(\tilde u_i),

    unbiased for the same reason as :func:`rqmc_pathwise` :cite:p:`lecuyer2018randomized`. The
    integrand :math:`f\,\nabla\log p` has the smoothness of ``f``: a cost with jumps gains much less
    from the even spread of the points than a smooth one.

    Args:
      f: ``f(x, params) -> scalar``; need not be differentiable in ``x``.
      dist, params, key, num_samples, points: as :func:`rqmc_pathwise`.
      baseline: ``None`` or a constant (scalar, or one value per point). The points share one
        random shift, so a baseline computed from the *other* points (``gradest.rloo``) depends on
        :math:`x_i` and can bias the estimate; estimate the constant on other samples.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      As :func:`rqmc_pathwise`.
    """
    checked = v.check_common(f, dist, params, key, num_samples)
    eps = jax.lax.stop_gradient(_rqmc_noise(dist, checked, key, num_samples, points))

    def surrogate(p: Params) -> jax.Array:
        x = jax.lax.stop_gradient(p["loc"] + p["scale"] * eps)
        f_values = v.cost_values(f, x, p, num_samples)
        b = v.baseline_values(baseline, jax.lax.stop_gradient(f_values))
        return _score_surrogate(dist, p, x, f_values, f_values - b)

    return jax.grad(surrogate)(checked)


def _sum_and_sample_surrogate(
    f: Cost, dist: Categorical, p: Params, key: jax.Array, num_samples: int, num_summed: int, baseline: Any
) -> jax.Array:
    log_pi = distributions.log_probs_checked(dist, p)
    num_categories = log_pi.shape[-1]
    top = jax.lax.top_k(jax.lax.stop_gradient(log_pi), num_summed)[1]
    in_top = jnp.zeros(num_categories, bool).at[top].set(True)
    pi = jnp.exp(log_pi)
    summed = jnp.sum(pi[top] * v.cost_values(f, top, p, num_summed))
    # The remainder's mass as a sum (not 1 - mass of the top): no cancellation, finite gradients.
    rest = jnp.sum(jnp.where(in_top, 0.0, pi))
    safe_rest = jnp.where(rest > 0, rest, 1.0)
    log_q = jnp.where(in_top, -jnp.inf, log_pi - jnp.log(safe_rest))
    x = _random.categorical(key, jax.lax.stop_gradient(log_q), (num_samples,))
    f_values = v.cost_values(f, x, p, num_samples)
    b = v.baseline_values(baseline, jax.lax.stop_gradient(f_values))
    lq = log_q[x]
    lq = jnp.where(jnp.isfinite(lq), lq, 0.0)
    advantage = jax.lax.stop_gradient(f_values - b)
    sampled = jnp.mean(f_values + advantage * (lq - jax.lax.stop_gradient(lq)))
    return summed + rest * sampled


def sum_and_sample(
    f: Cost,
    dist: Categorical,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    num_summed: int,
    baseline: Any = None,
) -> Params:
    r"""Rao-Blackwellised score function: sum the k most probable categories, sample the rest.

    With C the ``num_summed`` most probable categories, :math:`\pi_C = \sum_{c\in C}\pi_c` and
    :math:`q_x = \pi_x/(1-\pi_C)` the categorical restricted to the others,

    .. math::
       \begin{aligned}
       \hat g = {}& \sum_{c\in C} f_c\,\nabla\pi_c + \nabla(1-\pi_C)\,\frac1N\sum_i f(x_i) \\
       & + (1-\pi_C)\,\frac1N\sum_i \big(f(x_i) - b_i\big)\,\nabla\log q_{x_i},
       \qquad x_i\sim q,
       \end{aligned}

    (plus :math:`\sum_C\pi_c\partial_\phi f_c + (1-\pi_C)\frac1N\sum_i\partial_\phi f(x_i)` when f
    depends on the parameters). The summed part is exact, and the sampled part is weighted by the
    small remaining mass: the variance is at most that of the plain estimator times
    :math:`(1-\pi_C)^2`-ish and vanishes as :math:`\pi_C\to1` :cite:p:`liu2019rao`. C is chosen by
    the current probabilities, which are locally constant in φ, so the choice needs no gradient.
    Because :math:`\mathbb E_q[\nabla\log q] = 0`, a baseline independent of :math:`x_i` (such as
    ``gradest.rloo``) keeps it unbiased. Cost: ``num_summed + num_samples`` evaluations of f.

    Args:
      f: ``f(x, params) -> scalar`` for one category index x (an int32 scalar).
      dist: ``gradest.Categorical()``.
      params: ``{"logits": η}`` or ``{"probs": π}`` of ONE variable, shape (K,).
      key: a ``jax.random`` key.
      num_samples: N >= 1 samples from the remainder q.
      num_summed: k, the number of categories summed exactly, 0 <= k < K (k = 0 is the plain
        score function).
      baseline: as in :func:`gradest.estimators.score_function`, applied to the N sampled costs.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``dist`` is not ``Categorical``, ``num_summed`` is not an int, or as
        :func:`gradest.estimators.score_function`.
      ValueError: if the parameters are not one variable's, ``num_summed`` is outside [0, K), or
        as :func:`gradest.estimators.score_function`.
    """
    checked = v.check_common(f, dist, params, key, num_samples)
    if not isinstance(dist, Categorical):
        raise TypeError(f"dist must be gradest.Categorical, got {type(dist).__name__}")
    shape = jnp.shape(next(iter(v.check_one_categorical(checked).values())))
    k = v.check_positive_int("num_summed", num_summed, minimum=0)
    if k >= shape[0]:
        raise ValueError(f"num_summed must be < the number of categories {shape[0]}, got {k}")
    grad = jax.grad(_sum_and_sample_surrogate, argnums=2)
    return grad(f, dist, checked, key, num_samples, k, baseline)


def importance_score_function(
    f: Cost,
    dist: Distribution,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    proposal: Distribution,
    proposal_params: Params,
    baseline: Any = None,
) -> Params:
    r"""Score-function gradient of :math:`\mathbb E_{p_\phi}[f]` from samples of a proposal q.

    .. math::
       \nabla_\phi\mathbb E_{p_\phi}[f]
       = \mathbb E_{x\sim q}\Big[w(x)\,\big((f(x) - b)\,\nabla_\phi\log p_\phi(x)
         + \partial_\phi f(x,\phi)\big)\Big],\qquad w = \frac{p_\phi(x)}{q(x)},

    estimated with N samples of q (the weights carry no gradient). Unbiased when q > 0 wherever
    :math:`p_\phi f \ne 0`; a baseline independent of :math:`x_i` stays free because
    :math:`\mathbb E_q[w\nabla\log p] = 0`. A good q (more mass where f matters) cuts the
    variance; a poor one (lighter tails than p, or far from it) makes the weights' variance
    explode, :math:`\operatorname{Var}_q w = \chi^2(p\|q)`, which
    :func:`effective_sample_size` exposes :cite:p:`owen2013monte,kong1992note`.

    Args:
      f: ``f(x, params) -> scalar``.
      dist: the distribution of the expectation (``sample`` and ``log_prob``).
      params: its parameters, a pytree.
      key: a ``jax.random`` key; the samples are ``proposal.sample(proposal_params, key, (N,))``.
      num_samples: N >= 1.
      proposal: a gradest distribution with ``sample`` and ``log_prob``, on the support of ``dist``.
      proposal_params: its parameters (fixed: no gradient), the batch shape of ``params``.
      baseline: as in :func:`gradest.estimators.score_function` (applied to the N costs).

    Returns:
      A pytree shaped like ``params``.

    Raises:
      TypeError: if ``proposal`` is not a distribution, or as :func:`gradest.estimators.score_function`.
      ValueError: if ``proposal_params`` are invalid or of another batch shape, or as
        :func:`gradest.estimators.score_function`.
    """
    checked = v.check_common(f, dist, params, key, num_samples)
    if not (hasattr(proposal, "sample") and hasattr(proposal, "log_prob") and hasattr(proposal, "check")):
        raise TypeError(f"proposal must be a gradest distribution, got {type(proposal).__name__}")
    q_params = jax.lax.stop_gradient(proposal.check(proposal_params))
    batch_shape = distributions.batch_shape_checked(dist, checked)
    proposal_batch_shape = distributions.batch_shape_checked(proposal, q_params)
    if proposal_batch_shape != batch_shape:
        raise ValueError(
            f"proposal_params must have the batch shape of params {batch_shape}, got {proposal_batch_shape}"
        )
    x = distributions.sample_checked(proposal, q_params, key, (num_samples,))

    def surrogate(p: Params) -> jax.Array:
        f_values = v.cost_values(f, x, p, num_samples)
        log_ratio = distributions.log_prob_checked(dist, p, x) - distributions.log_prob_checked(
            proposal, q_params, x
        )
        log_w = jnp.sum(log_ratio.reshape(num_samples, -1), 1)
        w = jax.lax.stop_gradient(jnp.exp(log_w))
        b = v.baseline_values(baseline, jax.lax.stop_gradient(f_values))
        return _score_surrogate(dist, p, x, w * f_values, w * (f_values - b))

    return jax.grad(surrogate)(checked)


def effective_sample_size(log_weights: Any) -> jax.Array:
    r"""Kish's effective sample size of importance weights given by their logarithms.

    .. math:: \mathrm{ESS} = \frac{\big(\sum_i w_i\big)^2}{\sum_i w_i^2}\in[1, N]

    N when the weights are equal, 1 when one weight dominates; :math:`N/\mathrm{ESS}` estimates
    :math:`1 + \operatorname{Var}_q w` :cite:p:`kong1992note,owen2013monte`. Computed from
    :math:`\log w - \max\log w`, so it never overflows.

    Args:
      log_weights: shape (N,), N >= 1, no NaN or +inf (``-inf`` is a zero weight).

    Returns:
      A scalar.

    Raises:
      TypeError: if ``log_weights`` is not numeric. ValueError: if it is not one-dimensional,
        is empty, contains NaN or +inf, or every weight is zero.
    """
    lw = v.as_float_array("log_weights", log_weights)
    if lw.ndim != 1 or lw.shape[0] < 1:
        raise ValueError(f"log_weights must have shape (N,) with N >= 1, got {lw.shape}")
    v.check_logits("log_weights", lw)
    values = np.asarray(lw) if v.is_concrete(lw) else None
    if values is not None and (values == -np.inf).all():
        raise ValueError("log_weights must contain at least one finite weight, got all -inf")
    w = jnp.exp(lw - jnp.max(lw))
    return jnp.sum(w) ** 2 / jnp.sum(w**2)
