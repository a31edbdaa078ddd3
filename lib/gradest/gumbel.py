r"""Gumbel tricks: exact categorical samples from perturbed logits, and their relaxations.

Adding independent standard Gumbel noise :math:`g_k` to logits :math:`\eta_k` and taking the
argmax draws a category with probability :math:`\operatorname{softmax}(\eta)_k`
:cite:p:`gumbel1954statistical`; the indices of the k largest perturbed logits are k draws without
replacement :cite:p:`kool2019stochastic`. Replacing the argmax by a softmax at temperature τ gives
the Concrete (Gumbel-softmax) relaxation :cite:p:`maddison2017concrete,jang2017categorical`, and
the straight-through estimator uses the exact one-hot sample forward and the relaxed gradient
backward :cite:p:`bengio2013estimating,jang2017categorical`.

Every function takes logits (unnormalised log-probabilities, *not* probabilities and never the log
of logits) along the last axis. A logit of ``-inf`` is a zero-probability category: it is never
drawn, its relaxed coordinate is exactly 0, and no value or gradient is NaN.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradest import _random, _sharding
from gradest import _validation as v


def _check_logits(logits: Any) -> jax.Array:
    arr = v.as_float_array("logits", logits)
    v.check_logits("logits", arr, min_ndim=1)
    return arr


def _check_temperature(temperature: Any, logits: jax.Array) -> jax.Array:
    """τ > 0 (normal float), one per variable: it broadcasts against ``batch_shape + (1,)``."""
    tau = v.check_temperature("temperature", temperature, scalar=False)
    per_variable = (*logits.shape[:-1], 1)
    try:
        ok = jnp.broadcast_shapes(tau.shape, per_variable) == per_variable
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"temperature must be a scalar or one value per variable, broadcasting against "
            f"batch_shape + (1,) = {per_variable}, got shape {tau.shape}"
        )
    return tau


def _check_no_overflow(logits: jax.Array, tau: jax.Array) -> None:
    """``(logits + g) / τ`` must stay finite (|g| < 16 in float32): else the softmax is NaN."""
    limit = float(jnp.finfo(logits.dtype).max)
    rule = f"(max |finite logit| + 16) / temperature must be <= {limit:.3g} (else softmax overflows)"
    if v.is_concrete(logits) and v.is_concrete(tau):
        values = np.asarray(logits)
        largest = (float(np.abs(values[np.isfinite(values)]).max()) + 16.0) / float(np.min(np.asarray(tau)))
        if not largest <= limit:
            raise ValueError(f"logits and temperature: {rule}, got {largest:.3g}")
    else:
        size = jnp.max(jnp.where(jnp.isfinite(logits), jnp.abs(logits), 0.0))
        v.require((size + 16.0) / jnp.min(tau) <= limit, f"logits and temperature: {rule}")


def sample_gumbel(key: jax.Array, shape: Any = (), dtype: Any = jnp.float32) -> jax.Array:
    r"""Standard Gumbel samples by inverting the CDF :math:`F(x) = \exp(-e^{-x})`.

    .. math:: g = -\log(-\log u),\qquad u \sim \mathcal U(0, 1).

    The uniform is drawn from :math:`[u_{\min}, 1)` with :math:`u_{\min}` the smallest normal
    float, so neither logarithm ever sees 0: every sample is finite (between about −4.5 and 16 in
    float32) :cite:p:`gumbel1954statistical`.

    Args:
      key: a ``jax.random`` key.
      shape: the output shape (a tuple of ints, or one int).
      dtype: a floating dtype.

    Returns:
      An array of shape ``shape`` of independent standard Gumbel samples.

    Raises:
      TypeError: if ``key`` is not a key, ``shape`` is not a tuple of ints or ``dtype`` is not
        floating.
    """
    v.check_key("key", key)
    shape = v.check_shape("shape", shape)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    u = _random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
    return -jnp.log(-jnp.log(u))


def _perturbed(
    logits: jax.Array, key: jax.Array, sample_shape: tuple[int, ...], *, numbers_in_chunks: bool = False
) -> jax.Array:
    """``logits + g`` broadcast to ``sample_shape + logits.shape``; −inf logits stay −inf.

    ``numbers_in_chunks``: with several variables a sample, the same Gumbels (``jax.random``'s
    "low" mode is :func:`sample_gumbel`'s recipe) are drawn as numbers in chunks, as a categorical
    draw's are (:func:`gradest._random.categorical`). Gumbel-max at N = 10⁵, D = 10, K = 10 ran
    2.2 times as fast; Gumbel-softmax and straight-through, which read the noise several times,
    ran 0.7–0.85 times as fast, so only the argmax asks for it.
    """
    shape = sample_shape + logits.shape
    if numbers_in_chunks and math.prod(shape[1:-1]) > 1:
        g = _random.gumbel(key, shape, logits.dtype, mode="low", numbers_in_chunks=True)
    else:
        g = sample_gumbel(key, shape, logits.dtype)
    # With sample axes, the leading one is split over the devices of a "samples" mesh axis.
    return logits + (_sharding.shard_samples(g) if sample_shape else g)


def gumbel_max(logits: Any, key: jax.Array, sample_shape: Any = ()) -> jax.Array:
    r"""Categorical samples by the Gumbel-max trick.

    .. math:: k = \operatorname*{arg\,max}_j\, (\eta_j + g_j),\quad g_j \sim \mathrm{Gumbel}(0,1)
              \ \Rightarrow\ P(k = j) = \frac{e^{\eta_j}}{\sum_i e^{\eta_i}}

    :cite:p:`gumbel1954statistical,maddison2017concrete`. The map from noise to sample is
    piecewise constant in the logits, so no gradient flows through it.

    Args:
      logits: shape ``batch_shape + (K,)``; ``-inf`` marks a category that is never drawn.
      key: a ``jax.random`` key.
      sample_shape: leading shape of independent draws (tuple of ints, or one int).

    Returns:
      Integer category indices of shape ``sample_shape + batch_shape``.

    Raises:
      ValueError: if ``logits`` has no category axis, contains NaN or ``+inf``, or a row is all
        ``-inf``.
      TypeError: if ``key`` is not a key or ``sample_shape`` is not a tuple of ints.
    """
    logits = _check_logits(logits)
    v.check_key("key", key)
    sample_shape = v.check_shape("sample_shape", sample_shape)
    perturbed = _perturbed(jax.lax.stop_gradient(logits), key, sample_shape, numbers_in_chunks=True)
    return jnp.argmax(perturbed, axis=-1)


def gumbel_top_k(logits: Any, key: jax.Array, k: int, sample_shape: Any = ()) -> jax.Array:
    r"""k categories drawn without replacement: the indices of the k largest perturbed logits.

    .. math::
       (i_1,\dots,i_k) = \operatorname{top\text{-}k}_j\,(\eta_j + g_j),\qquad
       P(i_1,\dots,i_k) = \prod_{m=1}^{k} \frac{p_{i_m}}{1 - \sum_{l<m} p_{i_l}},

    the probability of drawing :math:`i_1, i_2, \dots` one after another, each time renormalising
    over the categories not yet drawn :cite:p:`kool2019stochastic`. The first index is a
    Gumbel-max sample.

    Args:
      logits: shape ``batch_shape + (K,)``; ``-inf`` marks a category that is never drawn.
      key: a ``jax.random`` key.
      k: number of draws, 1 <= k <= the number of finite logits in every row.
      sample_shape: leading shape of independent draws (tuple of ints, or one int).

    Returns:
      Integer indices of shape ``sample_shape + batch_shape + (k,)``, in the order drawn (largest
      perturbed logit first).

    Raises:
      ValueError: if ``k`` exceeds the number of categories with non-zero probability, or as
        :func:`gumbel_max`. Under ``jit`` the logits are not known: a draw past the categories
        with non-zero probability is returned as index ``-1`` (never a ``-inf`` category), and
        :func:`gradest.checked` raises the ValueError.
      TypeError: if ``k`` is not an int, or as :func:`gumbel_max`.
    """
    logits = _check_logits(logits)
    v.check_key("key", key)
    k = v.check_positive_int("k", k)
    sample_shape = v.check_shape("sample_shape", sample_shape)
    if k > logits.shape[-1]:
        raise ValueError(f"k must be <= the number of categories {logits.shape[-1]}, got {k}")
    rule = "k must be <= the number of categories with non-zero probability"
    if v.is_concrete(logits):
        support = int(np.isfinite(np.asarray(logits)).sum(axis=-1).min())
        if k > support:
            raise ValueError(f"{rule} ({support}), got {k}")
    else:
        v.require(jnp.isfinite(logits).sum(axis=-1).min() >= k, f"{rule}, got {k}")
    values, indices = jax.lax.top_k(_perturbed(jax.lax.stop_gradient(logits), key, sample_shape), k)
    # A -inf perturbed logit is a category that cannot be drawn: mark it rather than return it.
    return jnp.where(values == -jnp.inf, -1, indices)


def gumbel_softmax(logits: Any, key: jax.Array, temperature: Any, sample_shape: Any = ()) -> jax.Array:
    r"""A relaxed one-hot (Concrete, Gumbel-softmax) sample, differentiable in the logits.

    .. math:: y_j = \frac{\exp\big((\eta_j + g_j)/\tau\big)}{\sum_i \exp\big((\eta_i + g_i)/\tau\big)},
              \qquad g_j \sim \mathrm{Gumbel}(0, 1),

    a point of the probability simplex :cite:p:`maddison2017concrete,jang2017categorical`. As
    :math:`\tau\to 0` it tends to the one-hot vector of the Gumbel-max sample drawn with the same
    noise; as :math:`\tau\to\infty` it tends to the uniform vector :math:`1/K`. The same ``key``
    gives the same noise at every temperature (common random numbers).

    Args:
      logits: shape ``batch_shape + (K,)``; ``-inf`` gives a coordinate that is exactly 0 with a
        zero (not NaN) gradient.
      key: a ``jax.random`` key.
      temperature: τ > 0 and >= the smallest normal float, a scalar or one value per variable
        (an array broadcasting against ``batch_shape + (1,)``, never one per category); may be
        traced (an annealing schedule inside ``jit``/``scan``). The quotient must stay finite:
        ``(max abs(finite logit) + 16) / τ <= 3.4e38`` in float32, else a ``ValueError`` gives the
        range (checked eagerly, and under ``jit`` in :func:`gradest.checked`).
      sample_shape: leading shape of independent draws (tuple of ints, or one int).

    Returns:
      An array of shape ``sample_shape + batch_shape + (K,)`` on the simplex (non-negative, each
      last-axis row sums to 1).

    Raises:
      ValueError: if ``temperature`` is not > 0 (or NaN/inf, subnormal, or of a shape that is not
        one value per variable), if logits / temperature overflows, or as :func:`gumbel_max`.
      TypeError: as :func:`gumbel_max`.
    """
    logits = _check_logits(logits)
    v.check_key("key", key)
    tau = _check_temperature(temperature, logits)
    _check_no_overflow(logits, tau)
    sample_shape = v.check_shape("sample_shape", sample_shape)
    return jax.nn.softmax(_perturbed(logits, key, sample_shape) / tau, axis=-1)


def straight_through(logits: Any, key: jax.Array, temperature: Any, sample_shape: Any = ()) -> jax.Array:
    r"""Straight-through Gumbel: the exact one-hot sample forward, the Gumbel-softmax gradient backward.

    .. math:: y = \operatorname{onehot}\big(\operatorname*{arg\,max}_j\,(\eta_j + g_j)\big)
              + \tilde y - \operatorname{sg}(\tilde y),\qquad
              \frac{\partial y}{\partial \eta} := \frac{\partial \tilde y}{\partial \eta},

    where :math:`\tilde y` is :func:`gumbel_softmax` with the same noise and sg stops the gradient
    :cite:p:`jang2017categorical,bengio2013estimating`. The value is exactly one-hot (an exact
    categorical sample); the gradient is that of the relaxation, so it is biased for every τ.

    Args:
      logits: shape ``batch_shape + (K,)``; ``-inf`` marks a category that is never drawn.
      key: a ``jax.random`` key.
      temperature: τ > 0 of the backward relaxation (may be traced).
      sample_shape: leading shape of independent draws (tuple of ints, or one int).

    Returns:
      One-hot vectors of shape ``sample_shape + batch_shape + (K,)`` in the dtype of ``logits``.

    Raises:
      As :func:`gumbel_softmax`.
    """
    logits = _check_logits(logits)
    v.check_key("key", key)
    tau = _check_temperature(temperature, logits)
    _check_no_overflow(logits, tau)
    sample_shape = v.check_shape("sample_shape", sample_shape)
    perturbed = _perturbed(logits, key, sample_shape)
    soft = jax.nn.softmax(perturbed / tau, axis=-1)
    hard = jax.nn.one_hot(jnp.argmax(perturbed, axis=-1), logits.shape[-1], dtype=soft.dtype)
    # soft - sg(soft) is exactly 0.0 in floating point, so the value is exactly one-hot.
    return jax.lax.stop_gradient(hard) + (soft - jax.lax.stop_gradient(soft))
