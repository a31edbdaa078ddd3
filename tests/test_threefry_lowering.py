"""gradest's CPU lowering of JAX's Threefry hash: the same loop and exactly the same random bits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax._src.random.threefry2x32 import _threefry2x32_cpu_lowering_rule
from jax.extend.random import threefry2x32_p, threefry_2x32
from jax.interpreters import mlir

import gradest._threefry_lowering as threefry_lowering

# Known answers of Threefry-2x32 with 20 rounds (Salmon et al. 2011, the Random123 test vectors).
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@contextlib.contextmanager
def jax_lowering() -> Iterator[None]:
    """JAX's own CPU lowering for programs lowered inside the block."""
    mlir.register_lowering(threefry2x32_p, _threefry2x32_cpu_lowering_rule, platform="cpu")
    try:
        yield
    finally:
        assert threefry_lowering.configure()


def lowered_normal_draw() -> str:
    return jax.jit(lambda k: jax.random.normal(k, (8,))).lower(jax.random.key(0)).as_text()


def draws(key: jax.Array) -> list[jax.Array]:
    keys = jax.random.split(key, 3)
    return [
        jax.random.bits(keys[0], (3, 1001)),
        jax.random.normal(keys[1], (7,)),
        jax.random.gamma(keys[2], jnp.array([0.3, 2.5])),
        jax.random.key_data(jax.random.fold_in(key, 5)),
        jnp.sum(jax.random.normal(keys[1], (5000,))),
    ]


def test_importing_gradest_lowers_the_hash_as_a_loop_without_carried_rotations() -> None:
    assert threefry_lowering.CONFIGURED
    ours = lowered_normal_draw()
    with jax_lowering():
        theirs = lowered_normal_draw()
    assert "stablehlo.while" in ours and "stablehlo.while" in theirs
    assert "tensor<4xui32>" not in ours  # JAX's loop carries the rotation amounts
    assert "tensor<4xui32>" in theirs


@pytest.mark.parametrize(("key", "count", "expected"), KNOWN_ANSWERS)
def test_the_hash_gives_the_known_answers(key: tuple, count: tuple, expected: tuple) -> None:
    got = jax.jit(threefry_2x32)(jnp.array(key, jnp.uint32), jnp.array(count, jnp.uint32))
    assert [int(x) for x in got] == list(expected)


def test_the_random_numbers_and_their_sums_are_those_of_jaxs_loop() -> None:
    key = jax.random.key(20261129)
    ours = jax.jit(draws)(key)
    with jax_lowering():
        theirs = jax.jit(lambda k: draws(k))(key)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # Another key gives other bits: the comparison above can fail.
    assert not np.array_equal(np.asarray(ours[0]), np.asarray(jax.random.bits(key, (3, 1001))))
