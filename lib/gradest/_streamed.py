r"""Large Gaussian and Bernoulli estimates in one pass over blocks of samples, never holding all N.

For N samples of a ``Normal``, or of a ``Bernoulli`` with logits, with B = prod(batch_shape)
variables, the score-function estimates (and, for the ``Normal``, the pathwise ones; for the
``Bernoulli``, ARM and DisARM) are sums over the samples. Holding the N·B numbers, the compiled
program writes them to memory and reads them back once per term; beyond the caches (10⁷ float32
numbers are 40 MB) that traffic, not the random numbers, took most of the time
(``book/performance.md``). Above :data:`MIN_NUMBERS` numbers the estimators therefore loop over
blocks of samples (:data:`BLOCK` numbers each): each block's noise is drawn (the same numbers as
the draw of all N, bit for bit: :func:`gradest._random.normal_block` and
:func:`gradest._random.uniform_block`), the cost is evaluated on the block's samples, and the
block adds its terms to running sums; the score is in closed form (:func:`score_function`).

A baseline computed from all the costs needs them before any weight is known: RLOO and the batch
mean, affine in the costs, follow from a few more running sums; any other takes two passes, the
first keeping the N costs, the second drawing the blocks again.
Same samples, same estimator; the sums run block by block, so an estimate agrees with the one that
holds all samples up to float rounding (``tests/test_streamed.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from gradest import _random, _scores, control_variates
from gradest import _validation as v
from gradest.distributions import Bernoulli, Normal, Params
from gradest.types import Cost, Distribution

#: Draws of more numbers than this (N·B; 2 MiB of float32, one core's L2 cache on the build
#: machine) take the streamed path: from 6·10⁵ numbers on, streamed estimates ran faster than held
#: ones, 1.1–1.4 times (``book/performance.md``), for twice the compile time.
MIN_NUMBERS = 2**19
#: Numbers drawn per block (512 KiB of float32, within a core's L2 cache): larger blocks ran
#: faster up to this size (``book/performance.md``).
BLOCK = 32 * _random.CHUNK

#: ``costs(x, params, count)``: the cost of each of ``count`` samples on the last axis of ``x``.
Costs = Callable[[jax.Array, Params, int], jax.Array]


def last_axis_costs(f: Cost) -> Costs:
    """The :data:`Costs` of a cost ``f(x, params) -> scalar`` of one sample (checked to be scalar)."""
    return lambda x, params, count: v.cost_values(f, x, params, count, axis=-1)


def applies(dist: Distribution, params: Params, key: jax.Array, num_samples: int) -> bool:
    """Whether an estimate that evaluates ``num_samples`` samples (or pairs) of ``dist`` takes the
    streamed path.

    Exactly ``Normal``, or exactly ``Bernoulli`` with logits (a subclass may redefine its sampler or
    density; with probabilities the library's score is autodiff's), more than one variable (with
    one, the samples are contiguous already, and holding them was faster), more than
    :data:`MIN_NUMBERS` numbers, and a key whose numbers the unrolled hash can draw block by block
    (which excludes a mesh that splits the samples over devices, and any backend but the CPU).
    """
    if type(dist) is not Normal and not (type(dist) is Bernoulli and "logits" in params):
        return False
    width = math.prod(dist._batch_shape(params))
    size = num_samples * width
    return width > 1 and size > MIN_NUMBERS and _random.unrolled_applies(key, size)


def _normal(params: Params) -> bool:
    """Whether ``params`` are a ``Normal``'s (``loc``, ``scale``) rather than a ``Bernoulli``'s logits."""
    return "loc" in params


def _batch_and_dtype(params: Params) -> tuple[tuple[int, ...], Any]:
    leaves = (params["loc"], params["scale"]) if _normal(params) else (params["logits"],)
    return jnp.broadcast_shapes(*map(jnp.shape, leaves)), jnp.result_type(*leaves)


def _blocks(
    params: Params, key: jax.Array, num_samples: int
) -> tuple[Callable[[Any, int], jax.Array], int, int]:
    """``(block, size, full)``: ``block(first, count)`` gives the noise of samples
    ``first, …, first + count − 1`` with the sample axis last, shape ``batch_shape + (count,)``:
    standard normals for a ``Normal`` (``params`` with ``loc``), uniforms for a ``Bernoulli``
    (with ``logits``); the N samples are ``full`` blocks of ``size`` and a last block of
    ``N − full·size``."""
    batch, dtype = _batch_and_dtype(params)
    size = max(1, min(num_samples, BLOCK // math.prod(batch)))
    draw = _random.normal_block if _normal(params) else _random.uniform_block

    def block(first: Any, count: int) -> jax.Array:
        return draw(key, first, count, batch, dtype)

    return block, size, num_samples // size


def _scan_blocks(
    params: Params,
    key: jax.Array,
    num_samples: int,
    step: Callable[[Any, jax.Array, Any], tuple[Any, Any]],
    init: Any,
) -> tuple[Any, Any]:
    """``step(carry, noise, first) -> (carry, y)`` scanned over the blocks of noise (see
    :func:`_blocks`); returns the last carry and the ``y`` of all blocks, concatenated.

    Each trip uses one block and draws the next into the loop's carry: XLA then writes the noise
    to memory once per block, where a block drawn and used in the same trip had the hash fused
    into, and recomputed by, each of its consumers whenever XLA's fusion heuristics chose so (three
    to ten times slower). The last full block and the short one are used after the loop.
    """
    block, size, full = _blocks(params, key, num_samples)

    def trip(state: tuple[Any, jax.Array], i: jax.Array) -> tuple[tuple[Any, jax.Array], Any]:
        carry, z = state
        carry, y = step(carry, z, i * size)
        return (carry, block((i + 1) * size, size)), y

    (carry, z), ys = lax.scan(trip, (init, block(0, size)), jnp.arange(full - 1))
    carry, y = step(carry, z, (full - 1) * size)
    ys = jax.tree.map(lambda a, b: jnp.concatenate([a.reshape(-1, *b.shape[1:]), b]), ys, y)
    if num_samples > full * size:
        carry, y = step(carry, block(full * size, num_samples - full * size), full * size)
        ys = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), ys, y)
    return carry, ys


def _probs(params: Params) -> jax.Array:
    """θ = σ(η) of a Bernoulli's logits, with the sample axis last; the samples never carry the
    gradient (the score does)."""
    return jax.lax.stop_gradient(jax.nn.sigmoid(params["logits"]))[..., None]


def _samples(params: Params, noise: jax.Array) -> jax.Array:
    """The samples of a block: μ + σz from normals z; from uniforms u, the Bernoulli draw u < θ,
    as ``gradest.Bernoulli`` samples (floats 0.0 / 1.0)."""
    if _normal(params):
        return params["loc"][..., None] + params["scale"][..., None] * noise
    theta = _probs(params)
    return (noise < theta).astype(theta.dtype)


def _add(a: Any, b: Any) -> Any:
    return jax.tree.map(jnp.add, a, b)


def _affine_in_costs(baseline: Any, num_samples: int, dtype: Any) -> tuple[float, float] | None:
    """(α, β) with f_n − b_n = α f_n − β Σ_m f_m, for the library's baselines of that form."""
    if baseline is not control_variates.rloo and baseline is not control_variates.batch_mean:
        return None
    # The baseline's own checks (RLOO needs two samples), on shapes only.
    jax.eval_shape(baseline, jax.ShapeDtypeStruct((num_samples,), dtype))
    if baseline is control_variates.rloo:
        return num_samples / (num_samples - 1), 1 / (num_samples - 1)
    return 1.0, 1 / num_samples


def _statistics(params: Params, noise: jax.Array) -> list[jax.Array]:
    r"""The per-sample statistics whose weighted sums make the score, as rows (B, count):
    :math:`z` and :math:`z^2 - 1` for a ``Normal``, :math:`x - \theta` for a ``Bernoulli``. Each has
    mean zero, as a score has: a sum of :math:`w_n z_n^2` less :math:`\sum_n w_n`, with costs far
    from zero, cancels, and in float32 keeps fewer significant digits of the scale's gradient."""
    rows = noise.reshape(-1, noise.shape[-1])
    if _normal(params):
        return [rows, rows * rows - 1]
    return [_samples(params, noise).reshape(rows.shape) - _probs(params).reshape(-1, 1)]


def score_function(
    costs: Costs, params: Params, key: jax.Array, num_samples: int, baseline: Any, antithetic: bool = False
) -> Params:
    r"""The score-function estimate of :func:`gradest.score_function` for a ``Normal`` (``params``
    with ``loc`` and ``scale``) or a ``Bernoulli`` with ``logits`` η, streamed.

    The score is in closed form, a weighted sum of per-sample statistics: with
    :math:`x_n = \mu + \sigma z_n`,

    .. math::
       \sum_n w_n \nabla_\mu \log p(x_n) = \frac{1}{\sigma}\sum_n w_n z_n,\qquad
       \sum_n w_n \nabla_\sigma \log p(x_n) = \frac{1}{\sigma}\sum_n w_n (z_n^2 - 1),

    and for a Bernoulli draw :math:`x_n` with :math:`\theta = \sigma(\eta)`,
    :math:`\sum_n w_n \nabla_\eta \log p(x_n) = \sum_n w_n (x_n - \theta)`.

    With weights :math:`w_n = f_n - b_n` the blocks add up :math:`\sum_n w_n t_n` for each
    statistic :math:`t_n` (:func:`_statistics`). A constant baseline (a number, or
    :func:`gradest.constant`) is subtracted in the block; RLOO and the batch mean,
    :math:`w_n = \alpha f_n - \beta S` with :math:`S = \sum_m f_m`, follow from the sums of
    :math:`f_n t_n`, :math:`f_n` and :math:`t_n` in one pass; any other function of
    the costs takes a first pass that keeps them.

    ``antithetic`` (``Normal`` only): the estimate of :func:`gradest.antithetic_score_function`
    from ``num_samples`` pairs :math:`\mu \pm \sigma z_n` (2·num_samples costs). With the pair
    means :math:`m_n = (f_n^+ + f_n^-)/2` in the place of :math:`f_n` (the baseline is a function
    of them), the scale's sums are as above; the location's score :math:`\pm z_n/\sigma` keeps the
    half difference, :math:`\sum_n \tfrac12(f_n^+ - f_n^-)\, z_n`, where the baseline cancels.
    """
    batch, dtype = _batch_and_dtype(params)
    affine = _affine_in_costs(baseline, num_samples, dtype)
    f_values = None
    if affine is not None:
        constants = jnp.zeros((num_samples,), dtype)
    elif callable(baseline) and not isinstance(baseline, control_variates.ConstantBaseline):

        def block_costs(carry: None, z: jax.Array, first: Any) -> tuple[None, jax.Array]:
            plus, minus = _pair_costs(costs, params, params, z, antithetic)
            return None, (plus + minus) / 2

        f_values = jax.lax.stop_gradient(_scan_blocks(params, key, num_samples, block_costs, None)[1])
        constants = v.baseline_values(baseline, f_values)
    else:
        constants = v.baseline_values(baseline, jnp.zeros((num_samples,), dtype))

    def add_block(carry: Any, z: jax.Array, first: Any) -> tuple[Any, None]:
        count = z.shape[-1]

        def block_mean(p: Params) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
            plus, minus = _pair_costs(costs, params, p, z, antithetic)
            return (jnp.sum(plus) + jnp.sum(minus)) / (2 * num_samples), (plus, minus)

        explicit, (plus, minus) = jax.grad(block_mean, has_aux=True)(params)
        values = (plus + minus) / 2  # the costs themselves when not antithetic: (f + f) / 2 = f
        if f_values is not None:
            values = lax.dynamic_slice(f_values, (first,), (count,))
        g = jax.lax.stop_gradient(values - lax.dynamic_slice(constants, (first,), (count,))).astype(dtype)
        u = jax.lax.stop_gradient((plus - minus) / 2).astype(dtype) if antithetic else g
        statistics = _statistics(params, z)
        # Sums, not matrix-vector products: XLA fuses them with the arithmetic that feeds them (a
        # product ran the antithetic estimate at N = 10⁵, D = 10 at half the speed).
        weights = [u if half else g for half in halves]
        weighted = [jnp.sum(rows * w, axis=1) for rows, w in zip(statistics, weights, strict=True)]
        plain = [jnp.sum(rows, axis=1) for rows in statistics] if affine is not None else []
        return _add(carry, ((weighted, jnp.sum(g) if affine is not None else [], plain), explicit)), None

    # Whether each statistic's weight is the antithetic half difference (the location's z).
    halves = [antithetic, False] if _normal(params) else [False]
    zeros = [jnp.zeros(math.prod(batch), dtype) for _ in halves]
    init: Any = (
        (zeros, jnp.zeros((), dtype) if affine is not None else [], zeros if affine is not None else []),
        jax.tree.map(jnp.zeros_like, params),
    )
    ((weighted, total, plain), explicit), _ = _scan_blocks(params, key, num_samples, add_block, init)
    if affine is not None:
        alpha, beta = affine
        weighted = [
            w if half else alpha * w - beta * total * t
            for w, t, half in zip(weighted, plain, halves, strict=True)
        ]
    if _normal(params):
        loc, scale = params["loc"], params["scale"]
        score = {
            "loc": _scores.unbroadcast(weighted[0].reshape(batch) / (num_samples * scale), loc),
            "scale": _scores.unbroadcast(weighted[1].reshape(batch) / (num_samples * scale), scale),
        }
    else:
        score = {"logits": weighted[0].reshape(batch) / num_samples}
    return _add(score, explicit)


def bernoulli_pairs(
    costs: Costs,
    params: Params,
    key: jax.Array,
    num_samples: int,
    weight: Callable[..., jax.Array],
) -> Params:
    r"""The ARM or DisARM estimate (:mod:`gradest.arm`) of a ``Bernoulli`` with logits, streamed.

    Each block of uniforms u gives the pairs :math:`b = \mathbf 1\{u < \theta\}` and
    :math:`\tilde b = \mathbf 1\{1 - u < \theta\}`; the block adds up ``weight(u, b, b̃, f(b),
    f(b̃), η)`` over its pairs (the costs broadcast along the sample axis, last) and the gradient
    of its share of the mean of all 2N costs, the pathwise term of a cost that depends on η.
    """
    batch, dtype = _batch_and_dtype(params)
    eta = jax.lax.stop_gradient(params["logits"])[..., None]

    def add_block(carry: Any, u: jax.Array, first: Any) -> tuple[Any, None]:
        count = u.shape[-1]
        b, b_anti = _samples(params, u), _samples(params, 1.0 - u)

        def block_mean(p: Params) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
            f_b, f_anti = costs(b, p, count), costs(b_anti, p, count)
            return (jnp.sum(f_b) + jnp.sum(f_anti)) / (2 * num_samples), (f_b, f_anti)

        pathwise, (f_b, f_anti) = jax.grad(block_mean, has_aux=True)(params)
        f_b, f_anti = jax.lax.stop_gradient(f_b), jax.lax.stop_gradient(f_anti)
        return _add(carry, (jnp.sum(weight(u, b, b_anti, f_b, f_anti, eta), axis=-1), pathwise)), None

    init = (jnp.zeros(batch, dtype), jax.tree.map(jnp.zeros_like, params))
    (total, pathwise), _ = _scan_blocks(params, key, num_samples, add_block, init)
    return {"logits": total / num_samples + pathwise["logits"]}


def _pair_costs(
    costs: Costs, params: Params, p: Params, z: jax.Array, antithetic: bool
) -> tuple[jax.Array, jax.Array]:
    """The costs at μ + σz and, antithetic, at μ − σz (else the same costs twice); the samples are
    built from ``params`` and the costs differentiate ``p``."""
    plus = costs(_samples(params, z), p, z.shape[-1])
    return plus, costs(_samples(params, -z), p, z.shape[-1]) if antithetic else plus


def pathwise(
    costs: Costs, params: Params, key: jax.Array, num_samples: int, antithetic: bool = False
) -> Params:
    """The pathwise estimate of :func:`gradest.pathwise` for a ``Normal``, streamed; ``antithetic``:
    of :func:`gradest.antithetic_pathwise`, from ``num_samples`` pairs μ ± σz."""

    def add_block(carry: Params, z: jax.Array, first: Any) -> tuple[Params, None]:
        def block_mean(p: Params) -> jax.Array:
            plus, minus = _pair_costs(costs, p, p, z, antithetic)
            return (jnp.sum(plus) + jnp.sum(minus)) / (2 * num_samples)

        return _add(carry, jax.grad(block_mean)(params)), None

    return _scan_blocks(params, key, num_samples, add_block, jax.tree.map(jnp.zeros_like, params))[0]
