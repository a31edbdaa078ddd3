"""XLA options that the estimators need to run at the speed of their random numbers on the CPU.

XLA's CPU backend in jaxlib 0.10 hands reductions to YNNPACK fusions. The estimators reduce large
sample arrays that are produced in the same fusion (random bits to normals to costs to weighted
sums); as YNNPACK fusions those run at a fraction of the rate of drawing the random numbers,
notably for parameters of shape (D,), while XLA's own loop emitter fuses them into one pass
(``make bench`` measures both: see ``book/performance.md``). The flag changes how a reduction is
computed, not what: results agree up to floating-point rounding.

XLA reads ``XLA_FLAGS`` once, when the first backend starts, so :func:`configure` runs when
``gradest`` is imported, before any computation: chapters and assignments get the fast path with no
flag of their own. It does nothing if a backend is already running, if the user has set the option
themselves, with ``GRADEST_XLA_DEFAULTS=0`` in the environment (XLA's own default, for comparison),
or for a jaxlib that has not been checked to know the flag (XLA aborts on unknown flags).
"""

from __future__ import annotations

import os

import jaxlib

YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type="
#: jaxlib versions whose XLA knows the flag (checked by running it).
_JAXLIB_PREFIXES = ("0.10.",)


def configure() -> bool:
    """Add :data:`YNN_FLAG` to ``XLA_FLAGS`` when that can still take effect; return whether it did."""
    from jax._src import xla_bridge

    flags = os.environ.get("XLA_FLAGS", "")
    if (
        os.environ.get("GRADEST_XLA_DEFAULTS", "1") == "0"
        or "xla_cpu_experimental_ynn_fusion_type" in flags
        or not jaxlib.__version__.startswith(_JAXLIB_PREFIXES)
        or xla_bridge.backends_are_initialized()
    ):
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {YNN_FLAG}".strip()
    return True


#: Whether importing gradest set the flag (it must happen before the first backend starts).
CONFIGURED = configure()
