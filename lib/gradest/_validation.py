"""Argument checks shared by the public functions of ``gradest``: the one validation layer.

Every public function checks its arguments once, at its boundary, and raises ``TypeError`` (wrong
kind of argument) or ``ValueError`` (right kind, invalid value) with a message that names the
argument, the rule and the bad value. Where the checks run:

* **types and shapes** (a callable, a key, an int ``num_samples``, the shape a cost returns) are
  static: they raise eagerly *and* while tracing under ``jit``/``vmap``/``grad``;
* **values** (finite, > 0, on the simplex) raise eagerly on concrete arrays. On traced values they
  are skipped, unless the computation is wrapped in :func:`checked`: then they are staged as
  ``jax.experimental.checkify.debug_check`` and the same messages raise, as ``ValueError``,
  inside ``jit`` and ``vmap``. They are staged only there because a staged check, even one that
  checkify never reads, makes the compiled program effectful, and JAX then dispatches every call
  of it through Python: 85 µs a call instead of 4 µs for a one-line ``jit`` function, and 0.8 ms
  instead of 0.62 ms for a score-function estimate of 10⁵ samples (``book/performance.md``).

Distribution families declare their parameters' constraints once (``arg_constraints``, as in
numpyro) and :func:`check_params` checks a params dict against them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from gradest.types import Params

T = TypeVar("T")

# Above this estimate of the temporaries of one estimator call, ask for ``batch_size=``.
MEMORY_LIMIT_BYTES = 8 * 2**30
# The temporaries of one sample, in units of the sample's own size: the sample, the cost, the
# log-probability and their gradients, with room for the cost's own intermediates.
_TEMPORARIES_PER_SAMPLE = 8


def is_concrete(x: Any) -> bool:
    """Whether ``x`` holds values we can inspect (not a tracer under jit/vmap/grad)."""
    return not isinstance(x, jax.core.Tracer)


#: True while :func:`checked` traces a function. A ``jax.jit`` cache key: a function traced inside
#: ``checked`` (with its value checks staged) and outside it (without) are two cached programs.
_CHECKING = jax.make_user_context(default_value=False)


def require(ok: Any, message: str, **values: Any) -> None:
    """Stage a value check on traced arrays while tracing under :func:`checked`; a no-op elsewhere.

    ``message`` may name ``{value}`` fields filled from ``values`` (arrays) when the check fails.
    """
    if not _CHECKING.value:
        return
    checkify.debug_check(jnp.asarray(ok), message, **{k: jnp.asarray(x) for k, x in values.items()})


def check_callable(name: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")


def check_distribution(name: str, dist: Any) -> None:
    """A distribution *instance* with ``sample``, ``log_prob`` and ``check`` (see ``types.Distribution``)."""
    if isinstance(dist, type):
        raise TypeError(f"{name} must be a distribution instance such as {dist.__name__}(), got the class")
    if not (hasattr(dist, "sample") and hasattr(dist, "log_prob") and hasattr(dist, "check")):
        raise TypeError(f"{name} must be a gradest distribution, got {type(dist).__name__}")


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
    if values is None:
        require(~jnp.isnan(arr).any(), f"{name} contains NaN")
    elif np.isnan(values).any():
        raise ValueError(f"{name} contains NaN")


def check_finite(name: str, arr: jax.Array) -> None:
    values = _values(arr)
    if values is None:
        require(jnp.isfinite(arr).all(), f"{name} must be finite (no NaN or inf)")
    elif not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")


def smallest_normal(arr: Any) -> float:
    """The smallest positive normal number of ``arr``'s floating dtype (below it, precision is lost)."""
    dtype = jnp.result_type(arr)
    return float(jnp.finfo(dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.float32).tiny)


def check_positive(name: str, arr: jax.Array, minimum: float | None = None) -> None:
    """Finite and > 0; also >= the smallest normal float (or ``minimum`` when given).

    Subnormal values (below about 1.2e-38 in float32) pass ``> 0`` but lose their precision and
    make quotients overflow or NaN, so they are rejected with the usable range.
    """
    check_finite(name, arr)
    lower = smallest_normal(arr) if minimum is None else minimum
    rule = f">= {lower:.4g}" if minimum is not None else f"> 0 and >= {lower:.4g} (the smallest normal float)"
    values = _values(arr)
    if values is None:
        require((arr >= lower).all(), f"{name} must be {rule}, got min {{m}}", m=jnp.min(arr))
    elif not ((values > 0) & (values >= lower)).all():
        raise ValueError(f"{name} must be {rule}, got min {values.min():.4g}")


def check_in_unit_interval(name: str, arr: jax.Array) -> None:
    check_not_nan(name, arr)
    values = _values(arr)
    if values is None:
        require(((arr >= 0) & (arr <= 1)).all(), f"{name} must lie in [0, 1]")
    elif not ((values >= 0) & (values <= 1)).all():
        raise ValueError(f"{name} must lie in [0, 1], got values in [{values.min():.4g}, {values.max():.4g}]")


def check_logits(name: str, arr: jax.Array, *, min_ndim: int = 0) -> None:
    """Logits may be ``-inf`` (a zero-probability outcome) but never NaN or ``+inf``.

    With ``min_ndim >= 1`` the last axis holds the categories, and each row needs a finite logit.
    """
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    check_not_nan(name, arr)
    values = _values(arr)
    if values is None:
        require(~(arr == jnp.inf).any(), f"{name} must not contain +inf")
        if min_ndim >= 1:
            require(
                ~(arr == -jnp.inf).all(axis=-1).any(),
                f"{name} must have at least one finite logit per variable (last axis)",
            )
        return
    if (values == np.inf).any():
        raise ValueError(f"{name} must not contain +inf")
    if min_ndim >= 1 and (values == -np.inf).all(axis=-1).any():
        raise ValueError(f"{name} must have at least one finite logit per variable (last axis)")


def check_simplex(name: str, arr: jax.Array, *, atol: float = 1e-5) -> None:
    """Probabilities along the last axis: in [0, 1] and summing to 1 within ``atol``."""
    if arr.ndim < 1:
        raise ValueError(f"{name} must have a category axis, got shape {arr.shape}")
    check_in_unit_interval(name, arr)
    values = _values(arr)
    rule = f"{name} must sum to 1 over the last axis (the simplex)"
    if values is None:
        require((jnp.abs(arr.sum(-1) - 1) < atol).all(), rule)
    elif not (np.abs(values.sum(-1) - 1) < atol).all():
        raise ValueError(f"{rule}, got sums in [{values.sum(-1).min():.6g}, {values.sum(-1).max():.6g}]")


@dataclass(frozen=True)
class Constraint:
    """The constraint on one parameter of a distribution family, declared once per family.

    Attributes:
      kind: ``"real"`` (finite), ``"positive"`` (finite, > 0 and >= ``minimum`` or the smallest
        normal float), ``"unit_interval"`` ([0, 1]), ``"logits"`` (no NaN or ``+inf``; ``-inf`` is
        a zero-probability outcome; ``"finite_logits"`` forbids it), ``"extended_real"`` (no NaN;
        ±inf allowed, a point mass) or ``"simplex"``.
      event_ndim: trailing axes that form one variable (1 when the last axis holds categories).
      min_event_size: the least length of that last axis (2 for a Dirichlet).
      minimum: for ``"positive"``, an explicit lower bound (the documented usable range).
    """

    kind: str
    event_ndim: int = 0
    min_event_size: int = 1
    minimum: float | None = None

    def __call__(self, name: str, arr: jax.Array) -> None:
        if self.event_ndim and (arr.ndim < self.event_ndim or arr.shape[-1] < self.min_event_size):
            raise ValueError(
                f"{name} must have a category axis of length >= {self.min_event_size}, got shape {arr.shape}"
            )
        if self.kind == "real":
            check_finite(name, arr)
        elif self.kind == "positive":
            check_positive(name, arr, self.minimum)
        elif self.kind == "unit_interval":
            check_in_unit_interval(name, arr)
        elif self.kind == "logits":
            check_logits(name, arr, min_ndim=self.event_ndim)
        elif self.kind == "finite_logits":
            check_finite(name, arr)
        elif self.kind == "extended_real":
            check_not_nan(name, arr)
        elif self.kind == "simplex":
            check_simplex(name, arr)
        else:  # pragma: no cover - the families declare only the kinds above
            raise AssertionError(self.kind)


real = Constraint("real")
extended_real = Constraint("extended_real")
positive = Constraint("positive")
unit_interval = Constraint("unit_interval")
logits = Constraint("logits")
finite_logits = Constraint("finite_logits")
category_logits = Constraint("logits", event_ndim=1)
simplex = Constraint("simplex", event_ndim=1)


def check_one_categorical(checked: Params) -> Params:
    """Checked categorical parameters must be of exactly one variable (logits or probs of shape (K,))."""
    shape = jnp.shape(next(iter(checked.values())))
    if len(shape) != 1:
        raise ValueError(f"params must describe one categorical variable, shape (K,), got shape {shape}")
    return checked


def check_params(
    params: Any,
    arg_constraints: dict[str, Constraint],
    param_sets: tuple[tuple[str, ...], ...],
) -> Params:
    """Check a params dict against a family's declared constraints; returns floating arrays.

    ``params`` must have exactly the keys of one of ``param_sets``; each value is converted to a
    floating array and checked against ``arg_constraints[key]``; their batch shapes (the shapes
    without the event axes) must broadcast.
    """
    kind = check_params_keys("params", params, param_sets)
    names = kind.split("/")
    arrays: Params = {}
    for key in names:
        label = f"params['{key}']"
        arrays[key] = as_float_array(label, params[key])
        arg_constraints[key](label, arrays[key])
    batch = [a.shape[: a.ndim - arg_constraints[k].event_ndim] for k, a in arrays.items()]
    try:
        jnp.broadcast_shapes(*batch)
    except ValueError:
        shapes = " and ".join(f"params['{k}'] {a.shape}" for k, a in arrays.items())
        raise ValueError(f"the parameters must broadcast to one batch shape, got {shapes}") from None
    return arrays


def check_same_structure(name: str, tree: Any, reference: Any, reference_name: str) -> None:
    """``tree`` must have the pytree structure and leaf shapes of ``reference``."""
    tree_def, ref_def = jax.tree.structure(tree), jax.tree.structure(reference)
    if tree_def != ref_def:  # type: ignore[operator]
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


def check_floating_tree(name: str, tree: Any) -> None:
    """Every leaf of ``tree`` must be a floating-point array (``jax.grad`` differentiates them)."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.floating):
            where = jax.tree_util.keystr(path)
            raise TypeError(
                f"{name}{where} must be a floating-point array (it is differentiated), got dtype {dtype}; "
                "write 1.0 rather than 1"
            )


def check_temperature(name: str, value: Any, *, scalar: bool) -> jax.Array:
    """A temperature τ > 0 (finite, >= the smallest normal float); with ``scalar``, of shape ()."""
    tau = as_float_array(name, value)
    if scalar and tau.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tau.shape}")
    check_positive(name, tau)
    return tau


def check_cost_values(name: str, values: jax.Array, num_samples: int) -> None:
    """The batched values of a scalar function (a cost, surrogate) must have shape ``(N,)``.

    Runs on the result of ``vmap`` over the samples, so it is a static shape check that costs
    nothing and raises under ``jit`` too: a cost returning shape (1,) or a vector would otherwise
    be broadcast or averaged into a wrong estimate.
    """
    shape = jnp.shape(values)
    if shape != (num_samples,):
        raise ValueError(f"{name} must return a scalar for one sample, got shape {shape[1:]}")


def cost_values(f: Any, x: jax.Array, params: Params, num_samples: int, axis: int = 0) -> jax.Array:
    """``f(x_n, params)`` of each of the ``num_samples`` samples along ``axis`` of ``x``, checked to
    be one scalar per sample (:func:`check_cost_values`)."""
    values = jax.vmap(f, in_axes=(axis, None))(x, params)
    check_cost_values("f", values, num_samples)
    return values


def check_common(
    f: Any, dist: Any, params: Any, key: Any, num_samples: Any, *, rsample: bool = False
) -> Params:
    """The prologue of every estimator ``(f, dist, params, key, num_samples)``; returns checked params.

    With ``rsample``, the parameters are checked for the reparameterized sampler (a family may
    accept a narrower range there, e.g. Beta concentrations >= 0.05) through ``check_rsample``.
    """
    check_callable("f", f)
    check_distribution("dist", dist)
    check_key("key", key)
    check_positive_int("num_samples", num_samples)
    if rsample and hasattr(dist, "check_rsample"):
        return dist.check_rsample(params)
    return dist.check(params)


def check_baseline_constant(name: str, value: Any) -> jax.Array:
    """A constant baseline: a finite scalar or one value per sample; the same rule everywhere."""
    b = as_float_array(name, value)
    check_finite(name, b)
    return b


def baseline_values(baseline: Any, f_values: jax.Array) -> jax.Array:
    """The baseline of each sample: ``None`` (0), a finite constant, or ``b(f_values) -> (N,)``."""
    if baseline is None:
        return jnp.zeros_like(f_values)
    b = baseline(f_values) if callable(baseline) else check_baseline_constant("baseline", baseline)
    if jnp.ndim(b) not in (0, 1) or (jnp.ndim(b) == 1 and jnp.shape(b) != f_values.shape):
        raise ValueError(
            f"baseline must give a scalar or one value per sample {f_values.shape}, got {jnp.shape(b)}"
        )
    return jnp.broadcast_to(b, f_values.shape)


def check_batch_size(num_samples: int, batch_size: Any) -> int | None:
    """``batch_size``: ``None`` or an int >= 1 that divides ``num_samples``."""
    if batch_size is None:
        return None
    size = check_positive_int("batch_size", batch_size)
    if num_samples % size:
        raise ValueError(f"num_samples ({num_samples}) must be a multiple of batch_size, got {size}")
    return size


#: What a refused call can do instead, for an estimator with ``batch_size``.
USE_BATCH_SIZE = "pass batch_size= to evaluate the samples in batches of bounded memory"


def check_memory(
    num_samples: int, sample_size: int, itemsize: int, batch_size: int | None, remedy: str = USE_BATCH_SIZE
) -> None:
    """Refuse a call whose temporaries would exceed :data:`MEMORY_LIMIT_BYTES`; say ``remedy``."""
    per_call = batch_size if batch_size is not None else num_samples
    estimate = per_call * max(sample_size, 1) * itemsize * _TEMPORARIES_PER_SAMPLE
    if estimate > MEMORY_LIMIT_BYTES:
        raise ValueError(
            f"num_samples={num_samples} needs about {estimate / 2**30:.3g} GiB of temporaries "
            f"(limit {MEMORY_LIMIT_BYTES / 2**30:.3g} GiB): {remedy}"
        )


def check_num_samples_memory(
    num_samples: int,
    params: Params,
    batch_size: int | None,
    *,
    streamed: bool = False,
    remedy: str = USE_BATCH_SIZE,
) -> None:
    """:func:`check_memory` with one sample as large as the broadcast parameters, or, for an
    estimate ``streamed`` over blocks of samples (:mod:`gradest._streamed`), which holds at most
    a cost and a baseline per sample, as large as one number."""
    leaves = jax.tree.leaves(params)
    try:
        size = math.prod(jnp.broadcast_shapes(*(jnp.shape(a) for a in leaves))) if leaves else 1
    except ValueError:
        size = max(int(np.size(a)) for a in leaves)
    if streamed:
        size = 1
    itemsize = max((jnp.result_type(a).itemsize for a in leaves), default=4)
    check_memory(num_samples, size, itemsize, batch_size, remedy)


def checked(fn: Callable[..., T]) -> Callable[..., T]:
    """Run ``fn`` with every value check of ``gradest`` active, also on traced values.

    Outside this wrapper, value checks inside ``jit``/``vmap`` are skipped (the values are not
    known while tracing). ``checked(fn)`` functionalises them with
    ``jax.experimental.checkify.checkify``, runs ``fn`` and raises the first failed check as a
    ``ValueError`` with the message the eager check would give. Put ``jit`` and ``vmap`` *inside*:
    ``gradest.checked(jax.jit(fn))(...)``. Valid inputs give exactly the same result as ``fn``.

    Args:
      fn: any function that calls ``gradest`` (jitted, vmapped or not).

    Returns:
      A function with the signature of ``fn``.

    Raises:
      TypeError: if ``fn`` is not callable. The returned function raises ``ValueError`` when a
        check fails.
    """
    check_callable("fn", fn)
    functionalized = checkify.checkify(fn, errors=checkify.user_checks)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with _CHECKING(True):
            error, out = functionalized(*args, **kwargs)
        message = error.get()
        if message is not None:
            raise ValueError(message.split(" (`check` failed)")[0])
        return out

    return wrapper
