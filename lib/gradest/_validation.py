"""Argument checks shared by the public functions of :mod:`gradest`.

Checks run at the public boundary, before any tracing. Value checks (finite, positive, on the
simplex) only look at concrete arrays: inside ``jit`` or ``vmap`` the values are tracers and the
caller has already been checked at the outermost call, so only shapes are checked there.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """Whether ``x`` holds values we can inspect (not a tracer under jit/vmap/grad)."""
    return not isinstance(x, jax.core.Tracer)


def check_callable(name: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_shape(name: str, shape: Any) -> tuple[int, ...]:
    """A shape: a tuple of non-negative ints, or one int."""
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise TypeError(f"{name} must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def check_key(name: str, key: Any) -> None:
    """A ``jax.random`` key: typed (``jax.random.key``) or raw uint32 of shape (2,)."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return
    shape = getattr(key, "shape", None)
    dtype = getattr(key, "dtype", None)
    if shape is not None and shape[-1:] == (2,) and dtype == jnp.uint32:
        return
    raise TypeError(f"{name} must be a jax.random key, got {type(key).__name__}")


def as_float_array(name: str, value: Any) -> jax.Array:
    """Convert to a floating array, refusing strings, None and non-numeric input."""
    if value is None or isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}")
    if not is_concrete(value):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a number or an array of numbers: {exc}") from None
    if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(float)
    return jnp.asarray(arr)


def _values(arr: Any) -> np.ndarray | None:
    """The values of a concrete array as NumPy (so checks never stage ops under a trace)."""
    return np.asarray(arr) if is_concrete(arr) else None


def check_not_nan(name: str, arr: jax.Array) -> None:
    values = _values(arr)
    if values is not None and np.isnan(values).any():
        raise ValueError(f"{name} contains NaN")


def check_finite(name: str, arr: jax.Array) -> None:
    values = _values(arr)
    if values is not None and not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")


def check_positive(name: str, arr: jax.Array) -> None:
    check_finite(name, arr)
    values = _values(arr)
    if values is not None and not (values > 0).all():
        raise ValueError(f"{name} must be > 0, got min {values.min():.4g}")


def check_in_unit_interval(name: str, arr: jax.Array) -> None:
    check_not_nan(name, arr)
    values = _values(arr)
    if values is not None and not ((values >= 0) & (values <= 1)).all():
        raise ValueError(f"{name} must lie in [0, 1]")


def check_logits(name: str, arr: jax.Array, *, min_ndim: int = 0) -> None:
    """Logits may be ``-inf`` (a zero-probability outcome) but never NaN or ``+inf``."""
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    check_not_nan(name, arr)
    values = _values(arr)
    if values is not None and (values == np.inf).any():
        raise ValueError(f"{name} must not contain +inf")


def check_same_structure(name: str, tree: Any, reference: Any, reference_name: str) -> None:
    """``tree`` must have the pytree structure and leaf shapes of ``reference``."""
    tree_def, ref_def = jax.tree.structure(tree), jax.tree.structure(reference)
    if tree_def != ref_def:
        raise ValueError(f"{name} must have the structure of {reference_name}: {tree_def} != {ref_def}")
    for leaf, ref in zip(jax.tree.leaves(tree), jax.tree.leaves(reference), strict=True):
        if jnp.shape(leaf) != jnp.shape(ref):
            raise ValueError(
                f"{name} must have the leaf shapes of {reference_name}: {jnp.shape(leaf)} != {jnp.shape(ref)}"
            )


def check_params_keys(name: str, params: Any, allowed: tuple[tuple[str, ...], ...]) -> str:
    """``params`` must be a dict with exactly one of the allowed key sets; returns the set's name."""
    if not isinstance(params, dict):
        raise TypeError(f"{name} must be a dict, got {type(params).__name__}")
    keys = tuple(sorted(params))
    for option in allowed:
        if keys == tuple(sorted(option)):
            return "/".join(option)
    expected = " or ".join("{" + ", ".join(repr(k) for k in option) + "}" for option in allowed)
    raise ValueError(f"{name} must have keys {expected}, got {list(params)}")
