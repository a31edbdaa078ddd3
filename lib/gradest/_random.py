r"""The numbers of ``jax.random``, bit for bit, drawn about twice as fast on the CPU.

Every sampler in ``gradest`` draws through these functions, except the Gamma family's (Gamma,
Beta, Dirichlet), whose rejection sampler splits the key per element. They change how the random
bits are computed, never which: ``tests/test_random.py`` checks each one against ``jax.random``.

Two things make ``jax.random`` slow on XLA's CPU backend (jax 0.10, measured in
``book/performance.md``):

* **Multi-axis shapes.** The bits of each element come from a counter that is the element's
  row-major flat index (with ``jax_threefry_partitionable``, the default), so a draw of
  ``prod(shape)`` values reshaped to ``shape`` is exactly the draw of ``shape``; XLA computes the
  counters of a multi-axis shape up to three times more slowly.
* **The rolled hash.** On the CPU, JAX lowers the Threefry-2x32 hash to a loop of five passes
  over all the counters, each written to memory. Unrolled, the twenty rounds stay in registers and
  run two to three times faster; but XLA then fuses the whole hash into every consumer of the
  numbers and recomputes it there (a categorical draw ran two and a half times *slower*). So the
  unrolled hash runs in a loop over chunks of :data:`CHUNK` counters, which writes each chunk's
  bits to memory once, as the rolled loop does, and then ``jax.random`` turns them into normals,
  uniforms, Gumbels.

The unrolled hash is a PRNG implementation of ``jax.extend.random`` with Threefry's key, seed,
split and fold-in: a key is re-wrapped, not re-derived. A draw of one chunk or less (where the
rolled hash costs little, and unrolling it changed the rounding of a chapter's fused sums), a key
of another implementation, a draw of 2³¹ numbers or more (the loop indexes with int32),
``jax_threefry_partitionable`` off, or samples split over a mesh (where the rolled hash
partitions with the samples; see :mod:`gradest._sharding`) get ``jax.random`` itself.

XLA turns the bits into numbers inside each consumer, laid out as the consumer's shape, which is
slow for rows of a few numbers; ``numbers_in_chunks=True`` (normal, uniform, exponential,
Gumbel; a categorical draw of several variables a sample uses it) turns them into numbers in the
loop over chunks instead, and writes the numbers.

Large Gaussian and Bernoulli estimates run in one pass over blocks of samples
(:mod:`gradest._streamed`): :func:`normal_block` and :func:`uniform_block` draw one block of the
same numbers, with the sample axis last.

All of this is for the CPU. On any other default backend every draw is ``jax.random``'s own: JAX
already unrolls the hash on accelerators, and a GPU draws all the numbers at once, where the
loops over chunks and blocks ran the estimators at 0.003–0.52 times the rate of their draws
(an H200, ``book/performance.md``, "On a GPU").
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.extend.random as jax_extend_random
import jax.numpy as jnp
import numpy as np
from jax import lax

from gradest import _sharding

#: Counters hashed per trip of the loop: their bits (16 KiB a word) stay in the first cache levels.
CHUNK = 4096
_THREEFRY = jax_extend_random.threefry_prng_impl
#: Threefry-2x32's rotation amounts: the even steps' four rounds, then the odd steps'.
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
PARITY = np.uint32(0x1BD11BDA)


def rotate_left(x: jax.Array, bits: jax.Array | np.uint32) -> jax.Array:
    """uint32 ``x`` rotated left by ``bits`` (a constant, or a traced amount in 1..31)."""
    return lax.shift_left(x, bits) | lax.shift_right_logical(x, np.uint32(32) - bits)


def threefry2x32(k1: jax.Array, k2: jax.Array, x1: jax.Array, x2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32 with 20 rounds (Salmon et al., 2011), unrolled: ``jax.random``'s hash.

    ``k1, k2``: the key's two uint32 words; ``x1, x2``: uint32 counters of one shape. Returns the
    two uint32 words of the hash of each counter pair, of that shape.
    """
    ks = (k1, k2, k1 ^ k2 ^ PARITY)
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for rotation in ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = rotate_left(x2, np.uint32(rotation)) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def _hash_counters(key: jax.Array, bit_width: int, counters: jax.Array) -> jax.Array:
    """The bits of each uint32 counter (below 2³²), as ``jax.random`` combines the hash's two words."""
    b1, b2 = threefry2x32(key[0], key[1], jnp.zeros(counters.shape, np.uint32), counters)
    if bit_width == 64:
        return (b1.astype(np.uint64) << np.uint64(32)) | b2.astype(np.uint64)
    return (b1 ^ b2).astype(np.dtype(f"uint{bit_width}"))


def _bits(key: jax.Array, bit_width: int, start: Any, size: int) -> jax.Array:
    """The bits of counters ``start, …, start + size − 1``."""
    return _hash_counters(key, bit_width, lax.iota(np.uint32, size) + start)


def _random_bits(key: jax.Array, bit_width: int, shape: tuple[int, ...], *, chunk: int | None) -> jax.Array:
    size = math.prod(shape)
    if chunk is None:
        return _bits(key, bit_width, np.uint32(0), size).reshape(shape)
    trips = -(-size // chunk)

    def one_chunk(i: jax.Array, out: jax.Array) -> jax.Array:
        return lax.dynamic_update_slice(
            out, _bits(key, bit_width, (i * chunk).astype(np.uint32), chunk), (i * chunk,)
        )

    out = jnp.zeros((trips * chunk,), np.dtype(f"uint{bit_width}"))
    return lax.fori_loop(0, trips, one_chunk, out)[:size].reshape(shape)


@functools.cache
def unrolled_threefry(chunk: int | None = CHUNK) -> Any:
    """Threefry with the unrolled hash: in a loop over ``chunk`` counters, or fused (``None``).

    The fused form is the fastest way to draw numbers that one reduction consumes (the benchmark's
    RNG floor); the library draws in chunks.
    """
    return jax_extend_random.define_prng_impl(
        key_shape=_THREEFRY.key_shape,
        seed=_THREEFRY.seed,
        split=_THREEFRY.split,
        random_bits=functools.partial(_random_bits, chunk=chunk),
        fold_in=_THREEFRY.fold_in,
        name=f"threefry2x32_unrolled_{chunk}",
        tag=f"fu{chunk}",
    )


def fast_key(key: jax.Array, size: int, chunk: int | None = CHUNK) -> jax.Array:
    """``key`` re-wrapped to draw ``size`` numbers with :func:`unrolled_threefry`, where that gives
    ``jax.random``'s numbers faster; otherwise ``key`` itself (draws of one chunk or less among them:
    there the rolled hash costs little, and keeps the programs, and their rounding, as they were)."""
    if (chunk is not None and size <= chunk) or not unrolled_applies(key, size):
        return key
    return jax.random.wrap_key_data(jax.random.key_data(key), impl=unrolled_threefry(chunk))


def unrolled_applies(key: jax.Array, size: int) -> bool:
    """Whether the unrolled hash can draw ``size`` numbers of ``key`` as ``jax.random`` would, and
    is worth it: on the CPU only (the default backend, which ``jax.jit`` compiles for)."""
    return (
        jax.default_backend() == "cpu"
        and size < 2**31
        and str(jax.random.key_impl(key)) == _THREEFRY.name
        and bool(jax.config.jax_threefry_partitionable)  # type: ignore[attr-defined]
        and _sharding.sample_mesh() is None
    )


def _block_bits(key: jax.Array, bit_width: int, shape: tuple[int, ...]) -> jax.Array:
    """The bits of a (B, C) block whose element (b, j) is counter ``key[2] + j·B + b``."""
    width = np.uint32(shape[0])
    columns = lax.broadcasted_iota(np.uint32, shape, 1)
    return _hash_counters(
        key, bit_width, key[2] + columns * width + lax.broadcasted_iota(np.uint32, shape, 0)
    )


def _bits_only(*_: Any) -> Any:
    raise TypeError("a block key of gradest._random only draws bits: split or fold in the key it came from")


#: Keys of three words (Threefry's two and the block's first counter) that draw a block of the
#: numbers of an (N, B) draw transposed, (B, C), for :func:`normal_block`.
_TRANSPOSED_BLOCKS = jax_extend_random.define_prng_impl(
    key_shape=(3,),
    seed=_bits_only,
    split=_bits_only,
    random_bits=_block_bits,
    fold_in=_bits_only,
    name="threefry2x32_unrolled_transposed_blocks",
    tag="fut",
)


def _numbers_in_chunks(
    draw: Callable[[jax.Array, tuple[int, int]], jax.Array], key: jax.Array, size: int
) -> jax.Array:
    """The first ``size`` numbers of ``draw`` (a ``jax.random`` sampler with ``key``'s counters),
    flat, computed in a loop over chunks of :data:`CHUNK`: each trip hashes its chunk's counters
    and turns the bits into numbers, so the numbers, not the bits, go to memory."""
    trips = -(-size // CHUNK)
    data = jax.random.key_data(key)

    def chunk(i: jax.Array) -> jax.Array:
        first = jnp.asarray(i * CHUNK, np.uint32)[None]
        chunk_key = jax.random.wrap_key_data(jnp.concatenate([data, first]), impl=_TRANSPOSED_BLOCKS)
        return draw(chunk_key, (1, CHUNK)).reshape(CHUNK)  # counters first + j: a (1, CHUNK) block

    def one_chunk(carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        i, out = carry
        return i + 1, lax.dynamic_update_slice(out, chunk(i), (i * CHUNK,))

    # A while loop, not fori_loop's scan: the measure-valued estimator's blocks of samples are the
    # scan of its program (tests/test_measure_valued.py tells them apart by that).
    out = jnp.zeros((trips * CHUNK,), jax.eval_shape(chunk, 0).dtype)
    return lax.while_loop(lambda carry: carry[0] < trips, one_chunk, (jnp.int32(0), out))[1][:size]


def _flat(
    draw: Callable[[jax.Array, tuple[int, ...]], jax.Array],
    key: jax.Array,
    shape: tuple[int, ...],
    numbers_in_chunks: bool = False,
) -> jax.Array:
    size = math.prod(shape)
    fast = fast_key(key, size)
    if numbers_in_chunks and fast is not key:
        return _numbers_in_chunks(draw, key, size).reshape(shape)
    return draw(fast, (size,)).reshape(shape)


def normal(
    key: jax.Array, shape: tuple[int, ...], dtype: Any = float, *, numbers_in_chunks: bool = False
) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)``.

    ``numbers_in_chunks``: the loop over chunks writes the normals, not their bits, to memory. XLA
    otherwise turns the bits into numbers in each consumer, laid out as the consumer's shape, and
    with rows of a few numbers that conversion runs several times slower than on a flat chunk
    (normals of shape (10⁵, 10): 12 against 3.3 ms); for a consumer that reads samples of several
    coordinates many times, as the measure-valued estimator does. Same numbers either way.
    """
    return _flat(lambda k, s: jax.random.normal(k, s, dtype), key, shape, numbers_in_chunks)


def _block(
    draw: Callable[[jax.Array, tuple[int, int]], jax.Array],
    key: jax.Array,
    first: Any,
    count: int,
    batch_shape: tuple[int, ...],
) -> jax.Array:
    width = math.prod(batch_shape)
    block_key = jax.random.wrap_key_data(
        jnp.concatenate([jax.random.key_data(key), jnp.asarray(first * width, np.uint32)[None]]),
        impl=_TRANSPOSED_BLOCKS,
    )
    return draw(block_key, (width, count)).reshape(*batch_shape, count)


def normal_block(
    key: jax.Array, first: Any, count: int, batch_shape: tuple[int, ...], dtype: Any = float
) -> jax.Array:
    """Samples ``first, …, first + count − 1`` of ``jax.random.normal(key, (N, *batch_shape), dtype)``,
    bit for bit, with the sample axis last: shape ``(*batch_shape, count)``.

    The block's B = prod(batch_shape) by ``count`` counters (number b of sample n is counter
    n·B + b) are hashed in that layout by the unrolled hash, with a key of three words (Threefry's
    two and the block's first counter) that only draws; ``jax.random`` turns the bits into normals.
    ``first`` may be traced. Only for keys where :func:`unrolled_applies` holds for the whole draw.
    """
    return _block(lambda k, s: jax.random.normal(k, s, dtype), key, first, count, batch_shape)


def uniform_block(
    key: jax.Array, first: Any, count: int, batch_shape: tuple[int, ...], dtype: Any = float
) -> jax.Array:
    """Samples ``first, …, first + count − 1`` of ``jax.random.uniform(key, (N, *batch_shape), dtype)``
    with the sample axis last, as :func:`normal_block` draws normals (the uniforms of a Bernoulli
    draw, :func:`bernoulli`)."""
    return _block(lambda k, s: jax.random.uniform(k, s, dtype), key, first, count, batch_shape)


def uniform(
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: Any = float,
    minval: Any = 0.0,
    maxval: Any = 1.0,
    *,
    numbers_in_chunks: bool = False,
) -> jax.Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)`` for scalar bounds
    (``numbers_in_chunks``: see :func:`normal`)."""
    return _flat(
        lambda k, s: jax.random.uniform(k, s, dtype, minval=minval, maxval=maxval),
        key,
        shape,
        numbers_in_chunks,
    )


def exponential(
    key: jax.Array, shape: tuple[int, ...], dtype: Any = float, *, numbers_in_chunks: bool = False
) -> jax.Array:
    """``jax.random.exponential(key, shape, dtype)`` (``numbers_in_chunks``: see :func:`normal`)."""
    return _flat(lambda k, s: jax.random.exponential(k, s, dtype), key, shape, numbers_in_chunks)


def gumbel(
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: Any = float,
    *,
    mode: str | None = None,
    numbers_in_chunks: bool = False,
) -> jax.Array:
    """``jax.random.gumbel(key, shape, dtype, mode)`` (``numbers_in_chunks``: see :func:`normal`)."""
    return _flat(lambda k, s: jax.random.gumbel(k, s, dtype, mode), key, shape, numbers_in_chunks)


def bernoulli(key: jax.Array, p: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``jax.random.bernoulli(key, p, shape)``: a uniform below ``p`` (its default mode)."""
    return uniform(key, shape, jnp.result_type(p)) < p


def categorical(key: jax.Array, logits: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``jax.random.categorical(key, logits, axis=-1, shape=shape)``: the Gumbel-max draw.

    ``shape`` ends with the batch shape of ``logits`` (all axes but the last, the categories).
    With several variables a sample, the Gumbels are drawn as numbers in chunks (:func:`normal`):
    the categorical score function at N = 10⁵, D = 10, K = 10 ran 1.9 times as fast; with one
    variable the argmax converts the bits faster itself.
    """
    numbers_in_chunks = math.prod(shape[1:]) > 1
    g = gumbel(key, (*shape, logits.shape[-1]), logits.dtype, numbers_in_chunks=numbers_in_chunks)
    return jnp.argmax(g + logits, axis=-1)
