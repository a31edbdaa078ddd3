"""gradest._random draws exactly the numbers of jax.random, flat and reshaped (bit for bit).

The library's samplers draw through ``gradest._random`` for speed; these tests pin that the
numbers are those of ``jax.random`` for every sampler and for the shapes the library uses
(scalar, vector and matrix batches, a leading sample axis, categories last), below and above one
chunk of the unrolled hash, for every bit width, under ``vmap`` and for every kind of key.
"""

from __future__ import annotations

import math
import re
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest
from gradest import _random, _streamed

KEY = jax.random.key(2026)
CHUNK = _random.CHUNK
#: The loops over chunks and blocks run on the CPU only; elsewhere every draw is jax.random's.
ON_CPU = jax.default_backend() == "cpu"
# Below one chunk (jax.random's own hash), one chunk, and several with a partial last chunk.
SHAPES = [(), (5,), (7, 1), (6, 3), (4, 3, 2), (1000, 10), (CHUNK,), (CHUNK + 1,), (3, CHUNK - 1), (1000, 13)]


def same(a: jax.Array, b: jax.Array) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_continuous_samplers_match_jax_random(shape: tuple[int, ...]) -> None:
    same(_random.normal(KEY, shape, jnp.float32), jax.random.normal(KEY, shape, jnp.float32))
    same(_random.exponential(KEY, shape, jnp.float32), jax.random.exponential(KEY, shape, jnp.float32))
    same(_random.gumbel(KEY, shape, jnp.float32), jax.random.gumbel(KEY, shape, jnp.float32))
    tiny = float(jnp.finfo(jnp.float32).tiny)
    same(
        _random.uniform(KEY, shape, jnp.float32, minval=tiny, maxval=1.0),
        jax.random.uniform(KEY, shape, jnp.float32, minval=tiny, maxval=1.0),
    )


@pytest.mark.parametrize("shape", [(6, 3), (1000, 10), (CHUNK + 1,), (3, CHUNK - 1)], ids=str)
def test_numbers_drawn_in_chunks_match_jax_random(shape: tuple[int, ...]) -> None:
    # The loop over chunks that writes numbers, not bits (for the measure-valued estimator's noise).
    for sampler, reference in [
        (_random.normal, jax.random.normal),
        (_random.exponential, jax.random.exponential),
        (_random.gumbel, jax.random.gumbel),
        (
            partial(_random.uniform, minval=-2.0, maxval=3.0),
            partial(jax.random.uniform, minval=-2.0, maxval=3.0),
        ),
    ]:
        drawn = jax.jit(lambda k, sampler=sampler: sampler(k, shape, jnp.float32, numbers_in_chunks=True))
        same(drawn(KEY), reference(KEY, shape, jnp.float32))
    # Above one chunk the numbers come out of the loop (a while at the top of the program).
    eqns = jax.make_jaxpr(lambda k: _random.normal(k, shape, numbers_in_chunks=True))(KEY).jaxpr.eqns
    assert ("while" in {e.primitive.name for e in eqns}) is (ON_CPU and math.prod(shape) > CHUNK)


# (1000, 3) draws 15 000 Gumbels: above one chunk, drawn as numbers in chunks (categorical,
# Gumbel-max).
@pytest.mark.parametrize("shape", [(9,), (9, 3), (50, 4, 2), (1000, 3)], ids=str)
def test_discrete_samplers_match_jax_random(shape: tuple[int, ...]) -> None:
    theta = jax.random.uniform(jax.random.key(1), shape[1:])
    same(_random.bernoulli(KEY, theta, shape), jax.random.bernoulli(KEY, theta, shape))
    logits = jax.random.normal(jax.random.key(2), (*shape[1:], 5)).at[..., 1].set(-jnp.inf)
    reference = jax.random.categorical(KEY, logits, axis=-1, shape=shape)
    same(_random.categorical(KEY, logits, shape), reference)
    same(gradest.gumbel_max(logits, KEY, shape[:1]), reference)  # its Gumbels: in chunks above one


def test_a_different_layout_would_fail() -> None:
    # Drawing the transposed shape and transposing back gives other numbers: the check can fail.
    flat_t = jax.random.normal(KEY, (3, 6)).T
    assert not np.array_equal(np.asarray(flat_t), np.asarray(_random.normal(KEY, (6, 3))))


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32], ids=str)
def test_every_bit_width_matches(dtype: Any) -> None:
    shape = (2 * CHUNK + 3,)
    same(_random.normal(KEY, shape, dtype), jax.random.normal(KEY, shape, dtype))
    same(_random.uniform(KEY, shape, dtype), jax.random.uniform(KEY, shape, dtype))


def test_64_bit_draws_match() -> None:
    shape = (CHUNK + 7,)
    with jax.enable_x64(True):
        key = jax.random.key(5)
        same(_random.normal(key, shape, jnp.float64), jax.random.normal(key, shape, jnp.float64))
        same(_random.gumbel(key, shape, jnp.float64), jax.random.gumbel(key, shape, jnp.float64))


@pytest.mark.parametrize(
    "key",
    [jax.random.PRNGKey(7), jax.random.key(7, impl="rbg"), jax.random.key(7, impl="unsafe_rbg")],
    ids=["raw threefry key", "rbg", "unsafe_rbg"],
)
def test_every_kind_of_key_gets_its_own_numbers(key: jax.Array) -> None:
    shape = (CHUNK + 11,)
    same(_random.normal(key, shape), jax.random.normal(key, shape))


def test_keys_batched_by_vmap_and_jit() -> None:
    keys = jax.random.split(KEY, 3)
    shape = (2, CHUNK)
    same(
        jax.jit(jax.vmap(lambda k: _random.normal(k, shape)))(keys),
        jax.vmap(lambda k: jax.random.normal(k, shape))(keys),
    )


def functions(fn: Any) -> set[str]:
    """The names of the functions in ``fn``'s lowered program (StableHLO)."""
    return set(re.findall(r"func\.func (?:private|public) @(\w+)", jax.jit(fn).lower(KEY).as_text()))


def test_draws_above_one_chunk_use_the_unrolled_hash() -> None:
    # The fast path is on: jax.random's rolled hash (its own function, threefry2x32) is gone from
    # draws above one chunk; one chunk or less keeps it, and so does jax.random.
    assert ("threefry2x32" not in functions(lambda k: _random.normal(k, (CHUNK + 1,)))) is ON_CPU
    assert "threefry2x32" in functions(lambda k: _random.normal(k, (CHUNK,)))
    assert "threefry2x32" in functions(lambda k: jax.random.normal(k, (CHUNK + 1,)))


def test_the_unrolled_hash_is_threefry() -> None:
    # The published Threefry-2x32 (20 rounds) known-answer vectors (Salmon et al. 2011, Random123).
    def hash_pair(key: tuple[int, int], count: tuple[int, int]) -> tuple[int, int]:
        u = [jnp.uint32(v) for v in (*key, *count)]
        return tuple(int(w) for w in _random.threefry2x32(*u))

    assert hash_pair((0, 0), (0, 0)) == (0x6B200159, 0x99BA4EFE)
    assert hash_pair((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF)) == (0x1CB996FC, 0xBB002BE7)
    assert hash_pair((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3)) == (0xC4923A9C, 0x483DF7A0)


def test_the_original_counter_layout_gets_jax_random() -> None:
    # Without jax_threefry_partitionable the counters are laid out otherwise: jax.random's own hash.
    shape = (3, CHUNK)
    with jax.threefry_partitionable(False):
        assert _random.fast_key(KEY, math.prod(shape)) is KEY
        same(_random.normal(KEY, shape), jax.random.normal(KEY, shape))


# (N, *batch), first sample, samples in the block: blocks of one sample, of a single number per
# sample, one past a chunk, and of a matrix batch, at the start, middle and end of the draw.
BLOCKS = [
    ((7, 3), 0, 7),
    ((7, 3), 6, 1),
    ((3 * CHUNK, 2), 1000, CHUNK + 1),
    ((CHUNK + 1, 1), 3, 17),
    ((60, 3, 40), 20, 40),
]


@pytest.mark.parametrize(
    ("shape", "first", "count", "dtype"),
    [(*block, jnp.float32) for block in BLOCKS] + [(*BLOCKS[2], jnp.float16), (*BLOCKS[4], jnp.bfloat16)],
    ids=str,
)
@pytest.mark.parametrize(
    ("block_of", "draw"),
    [(_random.normal_block, jax.random.normal), (_random.uniform_block, jax.random.uniform)],
    ids=["normal", "uniform"],
)
def test_blocks_of_samples_match_jax_random(
    shape: tuple[int, ...], first: int, count: int, dtype: Any, block_of: Any, draw: Any
) -> None:
    expected = jnp.moveaxis(draw(KEY, shape, dtype), 0, -1)[..., first : first + count]
    # ``first`` traced, as in the estimators' loops over blocks.
    block = jax.jit(lambda k, i: block_of(k, i, count, shape[1:], dtype))(KEY, first)
    same(block, expected)


def test_blocks_of_64_bit_samples_match() -> None:
    with jax.enable_x64(True):
        key = jax.random.key(5)
        expected = jnp.moveaxis(jax.random.normal(key, (CHUNK + 3, 5), jnp.float64), 0, -1)[..., 10:20]
        same(_random.normal_block(key, 10, 10, (5,), jnp.float64), expected)


def test_block_keys_only_draw() -> None:
    block_key = jax.random.wrap_key_data(jnp.zeros(3, jnp.uint32), impl=_random._TRANSPOSED_BLOCKS)
    with pytest.raises(TypeError, match="only draws bits"):
        jax.random.split(block_key)


def test_which_keys_the_unrolled_hash_can_draw() -> None:
    assert _random.unrolled_applies(KEY, 10**6) is ON_CPU
    assert _random.unrolled_applies(jax.random.PRNGKey(1), 10**6) is ON_CPU
    assert not _random.unrolled_applies(KEY, 2**31)
    assert not _random.unrolled_applies(jax.random.key(1, impl="rbg"), 10**6)
    with jax.threefry_partitionable(False):
        assert not _random.unrolled_applies(KEY, 10**6)


def test_other_backends_get_jax_random(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a GPU, JAX already unrolls the hash, and the loops over chunks and blocks ran the
    # estimators at 0.003-0.52 times the rate of their draws (book/performance.md, "On a GPU"):
    # every draw there is jax.random's.
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert not _random.unrolled_applies(KEY, 10**6)
    assert _random.fast_key(KEY, 10**6) is KEY
    assert "threefry2x32" in functions(lambda k: _random.normal(k, (CHUNK + 1,), numbers_in_chunks=True))
    normal = gradest.Normal()
    params = {"loc": jnp.zeros(10), "scale": jnp.float32(1.0)}
    assert not _streamed.applies(normal, params, KEY, _streamed.MIN_NUMBERS)


def test_other_backends_count_the_held_samples_in_the_memory_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # 4·10⁸ numbers: streamed on the CPU, held (about 12 GiB of temporaries) and refused elsewhere.
    params = {"loc": jnp.zeros(100), "scale": jnp.float32(1.0)}

    def estimate(key: jax.Array) -> Any:
        return gradest.score_function(lambda x, _: jnp.sum(x**2), gradest.Normal(), params, key, 4_000_000)

    if ON_CPU:
        assert jax.eval_shape(estimate, KEY)["loc"].shape == (100,)
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    with pytest.raises(ValueError, match=r"num_samples=4000000 needs about 11\.9 GiB.*batch_size="):
        jax.eval_shape(lambda key: estimate(key), KEY)  # a new function: traced again
