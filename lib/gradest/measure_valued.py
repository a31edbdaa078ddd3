r"""Measure-valued gradients of Gaussian expectations: derivatives of the measure, not of the sample.

The derivative of a density with respect to a parameter integrates to zero, so it splits into a
constant times the difference of two probability densities (a *weak derivative*
:cite:p:`pflug1989sampling`):

.. math::
   \partial_\theta p_\theta(x) = c_\theta\,\big(p^+_\theta(x) - p^-_\theta(x)\big),
   \qquad
   \partial_\theta \mathbb E_{p_\theta}[f] = c_\theta\,\big(\mathbb E_{p^+_\theta}[f]
   - \mathbb E_{p^-_\theta}[f]\big).

For :math:`\mathcal N(\mu, \sigma^2)`, with :math:`z = (x-\mu)/\sigma` and φ the standard normal
density, :math:`\partial_\mu p = p\,z/\sigma` and :math:`\partial_\sigma p = p\,(z^2-1)/\sigma`:

* **mean**: split :math:`z` at 0. Since :math:`\mathbb E[z\,\mathbf 1\{z>0\}] = 1/\sqrt{2\pi}`,
  :math:`c_\mu = 1/(\sigma\sqrt{2\pi})` and :math:`p^\pm` is :math:`\mu \pm \sigma R` with R of
  density :math:`\sqrt{2\pi}\,r\,\varphi(r) = r e^{-r^2/2}` on r > 0: the Rayleigh distribution, a
  Weibull with shape 2 and scale √2 (in the rate form of :cite:t:`mohamed2020monte`, W(2, 0.5));
* **scale**: split :math:`z^2 - 1` into :math:`z^2` and 1. Both integrate against φ to 1, so
  :math:`c_\sigma = 1/\sigma`, :math:`p^+` is :math:`\mu + \sigma D` with D double-sided Maxwell
  (density :math:`z^2\varphi(z)`) and :math:`p^-` is the Gaussian itself.

Both differences are estimated with common random numbers: the mean's two points share R, and the
scale's negative point is :math:`\mu + \sigma D U` with U ~ Uniform(0, 1), which is again
:math:`\mathcal N(\mu, \sigma^2)` because the product of a double-sided Maxwell and an independent
uniform variable is a standard normal.

The draws are as cheap as the distributions allow: :math:`R = \sqrt{2E}` with E standard
exponential, and :math:`D = \operatorname{sign}(Z)\sqrt{Z^2 + 2E'}` from one normal Z and one
exponential E' (:math:`Z^2 + 2E'` is :math:`\chi^2_3`, the square of a Maxwell variable, and the sign
of Z is independent of :math:`Z^2`), instead of the norm of three normals and a random sign.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gradest import _random, _scores, _sharding, distributions
from gradest import _validation as v
from gradest.distributions import Normal
from gradest.types import Cost, Params

# The length of the windows XLA's CPU compiler splits a longer reduction into (its tree reduction
# rewrite, jax 0.10): a cost that sums over more coordinates than this is evaluated in blocks of
# samples (_per_sample_gradients). At N = 10⁴ and D = 100 the blocks took 0.11 s against 0.65 s
# vmapped; at D ≤ 32, where XLA fuses the reduction into the evaluations, vmapped was faster (32
# against 50 ms at N = 3·10⁴, D = 32).
REDUCTION_WINDOW = 32
# Replaced-sample numbers (4·D² a sample) per block: 2²¹–2²³ ran alike at D = 50 and 100.
BLOCK_NUMBERS = 2**22
# What a call refused for its memory can do instead (it has no batch_size).
AVERAGE_SMALLER_ESTIMATES = (
    "average estimates of fewer samples each: gradest.repeat_estimates(..., batch_size=) "
    "computes them a few at a time"
)


def _one_sample(f: Cost, params: Params, noise: dict[str, jax.Array]) -> Params:
    """The measure-valued gradient of one sample; every noise array has the batch shape."""
    loc, scale = params["loc"], params["scale"]
    shape = noise["eps"].shape
    base = (loc + scale * noise["eps"]).ravel()
    index = jnp.arange(base.size)

    def f_replacing(values: jax.Array) -> jax.Array:
        """f with coordinate i of the base sample replaced by ``values[i]``, for every i."""
        # A select, not a scatter (``.at[i].set``): XLA fuses it into the cost and never writes the
        # D copies of the sample to memory (3.6 times faster at N = 10⁵, D = 10).
        return jax.vmap(lambda i, value: f(jnp.where(index == i, value, base).reshape(shape), params))(
            index, jnp.broadcast_to(values, shape).ravel()
        ).reshape(shape)

    mean_pos = f_replacing(loc + scale * noise["rayleigh"])
    mean_neg = f_replacing(loc - scale * noise["rayleigh"])
    maxwell = noise["maxwell"]
    scale_pos = f_replacing(loc + scale * maxwell)
    scale_neg = f_replacing(loc + scale * maxwell * noise["uniform"])
    grad_loc = (mean_pos - mean_neg) / (scale * math.sqrt(2 * math.pi))
    grad_scale = (scale_pos - scale_neg) / scale

    # The cost may depend on the parameters directly; that term is an ordinary derivative at a
    # sample that carries no gradient.
    explicit = jax.grad(lambda p: f(jax.lax.stop_gradient(base.reshape(shape)), p))(params)
    return {
        "loc": _scores.unbroadcast(grad_loc, loc) + explicit["loc"],
        "scale": _scores.unbroadcast(grad_scale, scale) + explicit["scale"],
    }


def measure_valued(f: Cost, dist: Normal, params: Params, key: jax.Array, num_samples: int) -> Params:
    r"""Measure-valued (weak-derivative) estimate of the gradient of a Gaussian expectation.

    The gradient is :math:`\nabla_{\mu,\sigma}\mathbb E_{x\sim\mathcal N(\mu,\sigma^2)}[f(x)]`.

    For each independent coordinate i of the batch and each of N samples,

    .. math::
       \hat g_{\mu_i} = \frac{f(x^{(i)}_{\mu_i + \sigma_i R}) - f(x^{(i)}_{\mu_i - \sigma_i R})}
                             {\sigma_i\sqrt{2\pi}},
       \qquad
       \hat g_{\sigma_i} = \frac{f(x^{(i)}_{\mu_i + \sigma_i D}) - f(x^{(i)}_{\mu_i + \sigma_i D U})}
                                {\sigma_i},

    where :math:`x^{(i)}_y` is a sample :math:`x \sim \mathcal N(\mu, \sigma^2)` with coordinate i
    replaced by y, R is Rayleigh (Weibull of shape 2, scale √2), D double-sided Maxwell and U
    uniform on (0, 1), shared by both terms of a difference (common random numbers). The estimate is
    unbiased and needs only values of ``f`` :cite:p:`pflug1989sampling,mohamed2020monte`; it costs
    4 evaluations of ``f`` per coordinate and sample (pathwise and score function cost 1 per
    sample). When ``f`` also depends on the parameters, the average of
    :math:`\nabla_\phi f(x, \phi)` at the unperturbed samples is added. Samples with an axis
    longer than 32 are evaluated in blocks of samples, about 2²² replaced-sample numbers at a time
    (the temporaries of N = 10⁴, D = 100 take 42 MiB, not the 1.5 GiB of all samples at once).

    Args:
      f: ``f(x, params) -> scalar`` for one sample ``x`` of the batch shape; need not be
        differentiable (or continuous) in ``x``.
      dist: a :class:`gradest.distributions.Normal` instance.
      params: ``{"loc": μ, "scale": σ}``, broadcasting to the batch shape; σ > 0.
      key: a ``jax.random`` key.
      num_samples: number of samples N, >= 1.

    Returns:
      ``{"loc": ..., "scale": ...}`` with the shapes of ``params``: the gradient estimate.

    Raises:
      TypeError: if ``f`` is not callable, ``dist`` is not a ``Normal`` or ``key`` is not a key.
      ValueError: if ``num_samples < 1``, the parameters are invalid (e.g. ``scale <= 0``),
        ``f`` does not return a scalar, or the samples would need more than
        ``gradest._validation.MEMORY_LIMIT_BYTES`` of temporaries (the message names
        ``num_samples`` and the estimate, and suggests averaging estimates of fewer samples).
    """
    v.check_callable("f", f)
    v.check_distribution("dist", dist)
    if not isinstance(dist, Normal):
        raise TypeError(
            f"dist must be a gradest Normal (measure-valued gradients are implemented for the "
            f"Gaussian mean and scale), got {type(dist).__name__}"
        )
    v.check_key("key", key)
    num_samples = v.check_positive_int("num_samples", num_samples)
    p = dist.check(params)
    # Its temporaries are about six numbers per number of the samples (XLA's memory analysis at
    # N = 10⁴–10⁵, D = 1–32), plus blocks of replaced samples above that (_per_sample_gradients).
    v.check_num_samples_memory(num_samples, p, None, remedy=AVERAGE_SMALLER_ESTIMATES)
    shape = (num_samples, *distributions.batch_shape_checked(dist, p))
    dtype = jnp.result_type(p["loc"], p["scale"])
    out = jax.eval_shape(f, jax.ShapeDtypeStruct(shape[1:], dtype), p)
    if jnp.shape(out) != ():
        raise ValueError(f"f must return a scalar for one sample, got shape {jnp.shape(out)}")
    return estimate_from_noise(f, p, draw_noise(key, shape, dtype))


def draw_noise(key: jax.Array, shape: tuple[int, ...], dtype: jnp.dtype) -> dict[str, jax.Array]:
    """The random numbers of an estimate of ``shape = (N, *batch)``: every array has that shape.

    ``eps`` (the base sample's normals), ``rayleigh`` (R), ``maxwell`` (D) and ``uniform`` (U).
    """
    # Samples of several coordinates are read 4·D times each: their numbers go to memory once, as
    # numbers (at N = 10⁵, D = 10 the estimator took 0.6 of the time it took with the bits kept).
    kept = {"numbers_in_chunks": math.prod(shape[1:]) > 1}
    k_eps, k_rayleigh, k_normal, k_chi2, k_uniform = jax.random.split(key, 5)
    z = _random.normal(k_normal, shape, dtype, **kept)
    chi2_3 = z**2 + 2 * _random.exponential(k_chi2, shape, dtype, **kept)
    return {
        "eps": _random.normal(k_eps, shape, dtype, **kept),
        "rayleigh": jnp.sqrt(2 * _random.exponential(k_rayleigh, shape, dtype, **kept)),
        "maxwell": jnp.where(z < 0, -1, 1).astype(dtype) * jnp.sqrt(chi2_3),
        "uniform": _random.uniform(k_uniform, shape, dtype, **kept),
    }


def estimate_from_noise(f: Cost, params: Params, noise: dict[str, jax.Array]) -> Params:
    """The estimate from the random numbers of :func:`draw_noise`: all of its work but the draws.

    ``params`` are checked already. ``make bench`` times this alone, on numbers drawn beforehand,
    to show how much of the estimator's time its 4·D evaluations of ``f`` per sample take.
    """
    grads = _per_sample_gradients(lambda n: _one_sample(f, params, n), noise, noise["eps"].shape[1:])
    return jax.tree.map(lambda g: jnp.mean(g, axis=0), grads)


def _per_sample_gradients(
    one_sample: Callable[[dict[str, jax.Array]], Params],
    noise: dict[str, jax.Array],
    sample_shape: tuple[int, ...],
) -> Params:
    """``one_sample`` over the leading (sample) axis of ``noise``: vmapped, or in blocks of samples.

    With a sample axis longer than :data:`REDUCTION_WINDOW`, a cost that sums over it is a
    reduction XLA's CPU compiler splits into windows of that length, and the windowed reduction
    is not fused with the evaluations it reduces: vmapped, the 4·N·D² numbers of the replaced
    samples would be written to memory and read back. Blocks of samples, one after another
    (``lax.map``), keep about :data:`BLOCK_NUMBERS` of them in memory at a time. Under a mesh
    that splits the samples over devices, the samples stay one vmapped axis, which the partitioner
    splits.
    """
    if max(sample_shape, default=1) <= REDUCTION_WINDOW or _sharding.sample_mesh() is not None:
        return jax.vmap(one_sample)(_sharding.shard_samples(noise))
    width = math.prod(sample_shape)
    return jax.lax.map(one_sample, noise, batch_size=max(1, BLOCK_NUMBERS // (4 * width * width)))
