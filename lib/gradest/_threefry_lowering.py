"""JAX's Threefry hash on the CPU with rotation amounts taken from the loop's counter: the same loop
and the same random bits, compiled in about half the time.

Every ``jax.random`` draw with a Threefry key that :mod:`gradest._random`'s chunked loop does not
draw (draws of one chunk or less, key splits, samples split over a mesh) hashes its counters with
JAX's own Threefry-2x32. On the CPU, jax 0.10 lowers the hash as a loop of five steps of four
rounds. The loop carries the two sets of four rotation amounts as arrays and swaps them every step.
XLA's CPU compiler takes 0.4–0.6 s to compile that loop's body, in every program that draws,
however few numbers it draws.

:func:`configure` registers the same loop for the CPU with one change: each round's rotation
amount is selected from the two constants by the parity of the loop's counter. The hash, the
loop and what XLA fuses around it are unchanged, so the random bits are identical
(``tests/test_threefry_lowering.py``) and so is the rounding of every sum over them (the chapters
pass nbval unchanged). What changes is the time to compile: measured in ``book/performance.md``.

Unrolling the hash instead, as JAX does on accelerators, also compiles faster. But XLA then fuses
the hash into the sums that consume the numbers, and their rounding changes: the discrete VAE
chapter's VIMCO training then failed one of its checks.

It runs when ``gradest`` is imported, and it is skipped in two cases:

- with ``GRADEST_XLA_DEFAULTS=0`` in the environment (JAX's and XLA's defaults, for comparison);
- for a jax version whose CPU lowering has not been checked to be this loop.

Programs that are already compiled keep JAX's lowering; only programs lowered afterwards change.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax import lax

from gradest import _random

#: jax versions whose CPU lowering of Threefry-2x32 is the loop that :func:`_hash` reproduces.
_JAX_PREFIXES = ("0.10.",)
_STEPS = 5


def _hash(k1: jax.Array, k2: jax.Array, x1: jax.Array, x2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32, 20 rounds, as a loop of 5 steps of 4 rounds: JAX's CPU loop, step for step."""
    keys = (k1, k2, k1 ^ k2 ^ _random.PARITY)

    def step(i: jax.Array, state: tuple) -> tuple:
        (y1, y2), (first, second, third) = state
        even = i % 2 == 0
        for even_rotation, odd_rotation in zip(*_random.ROTATIONS, strict=True):
            rotation = lax.select(even, np.uint32(even_rotation), np.uint32(odd_rotation))
            y1 = y1 + y2
            y2 = _random.rotate_left(y2, rotation) ^ y1
        return (y1 + first, y2 + second + (i + 1).astype(np.uint32)), (second, third, first)

    start = ((x1 + keys[0], x2 + keys[1]), (keys[1], keys[2], keys[0]))
    (y1, y2), _ = lax.fori_loop(0, _STEPS, step, start)
    return y1, y2


def configure() -> bool:
    """Register :func:`_hash` as the CPU lowering of Threefry-2x32 where that is known to be
    JAX's own loop; return whether it did."""
    if os.environ.get("GRADEST_XLA_DEFAULTS", "1") == "0" or not jax.__version__.startswith(_JAX_PREFIXES):
        return False
    from jax.extend.random import threefry2x32_p
    from jax.interpreters import mlir

    mlir.register_lowering(threefry2x32_p, mlir.lower_fun(_hash, multiple_results=True), platform="cpu")
    return True


#: Whether importing gradest registered the faster-compiling loop for the CPU.
CONFIGURED = configure()
