"""Throughput of the gradient estimators against the rate of drawing their random numbers alone.

    JAX_PLATFORMS=cpu python scripts/bench_estimators.py            # or: make bench
    JAX_PLATFORMS=cpu python scripts/bench_estimators.py --quick    # a smoke test, seconds

For every estimator, sample count N and dimension D (scalar parameters at D = 1, and parameters
of shape (D,)), the benchmark reports samples per second of

* the **estimator** (``gradest``, jitted, float32),
* its **RNG floor**: a jitted program that draws exactly the random numbers the estimator draws
  (the same ``jax.random`` numbers of the same shapes: normals, uniforms, and for a categorical
  variable the K Gumbels that ``jax.random.categorical`` and the Gumbel-max trick draw) and sums
  them, so nothing but the draws is timed. Each floor is two programs, both flat and with the
  unrolled Threefry hash of ``gradest._random``: the hash fused into the sum, and the numbers kept
  chunk by chunk as the library draws them (``· kept``); the normals have a third, drawn block by
  block as the streamed estimators draw them (``· blocks``). An estimator's floor is the fastest
  of them, and
* for the Gaussian estimators, a **float32 vectorised NumPy** implementation of the same math,
* for the measure-valued estimator, whose work grows like D² while its floor grows like D, and
  for REBAR, which makes three kinds of noise from its uniforms and evaluates the cost three times
  a sample, the **work after the draws** alone (``· after the draws``): the same program on its
  random numbers drawn beforehand. Its column ``÷ draws+rest`` divides the estimator's rate by
  that of a program taking exactly the floor's time plus this time; near 1, the draws and the
  work after them account for all of the estimator's time,

together with the ratio of each to the floor, the compile time (trace + compile, measured once,
separately from the runs) and the spread (min / median / max) over repeated runs. Estimators of
one categorical variable (sum-and-sample, the unordered set) run only with scalar parameters
(D = 1); estimators whose one estimate takes a fixed number of samples (the unordered set of
``SET_SIZE``, VIMCO's ``VIMCO_K``) average N / that many estimates, vmapped over split keys, so
that N still counts samples of the variable. ARM, DisARM and the antithetic estimators use N / 2
pairs: N samples, N evaluations of the cost. The runs are
interleaved round-robin, every implementation of one (N, D) cell once per round and in a new
(seeded) order each round, so that the load drift of a shared machine and the state one program
leaves for the next hit them alike; in each round a program runs ``--burst`` times
back to back and the median counts, its speed when called in a loop (run once after the other
programs, a program of many small XLA kernels waits on cold caches and sleeping threads far more
than a floor of one kernel does). A sample is one draw of the D-dimensional
variable; rates are samples of the variable per second. A run ends with the goals checked in
its own measurements (:func:`goals`): every cell of N = 10⁵–10⁶ short of a goal is named.

Results are written to ``_build/bench/estimators.json`` (one record per implementation and cell)
and ``_build/bench/estimators.txt`` (the table and the goals), and the figure of samples/s against D to
``book/images/bench_samples_per_second.png`` (``--figure`` to change, ``--no-figure`` to skip).
The script uses only the public API of ``gradest``, so ``PYTHONPATH=<other checkout>/lib`` runs it
against another version of the library (a before/after comparison on one machine).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import gradest

ROOT = Path(__file__).resolve().parent.parent
K, LOC, SCALE = 0.5, 1.0, 1.5  # Gaussian problem f(x) = sum_d (x_d - K)^2 under N(LOC, SCALE^2)
T_BERNOULLI = 0.45  # Bernoulli problem f(b) = sum_d (b_d - T)^2
CATEGORIES = 10  # categorical problem: D variables with CATEGORIES categories, f = sum of a table
TEMPERATURE = 0.5
NUM_SUMMED = 3  # categories summed exactly by sum-and-sample
SET_SIZE = 4  # the unordered set's k (its cost grows as k!)
NUM_CONDITIONAL = 10  # Gumbel-Rao's conditional draws per sample (the library's default)
VIMCO_K = 8  # samples per VIMCO estimate

Fn = Callable[[], Any]


@dataclass(frozen=True)
class Cell:
    """One point of the grid: N samples of a D-dimensional variable, scalar or vector parameters."""

    num_samples: int
    dim: int
    layout: str  # "scalar" (parameters of shape (), D = 1) or "vector" (shape (D,))

    @property
    def shape(self) -> tuple[int, ...]:
        return () if self.layout == "scalar" else (self.dim,)


@dataclass
class Record:
    """The measurements of one implementation in one cell."""

    name: str
    kind: str  # "gradest", "floor", "numpy" or "part" (an estimator's work after its draws)
    floor: str  # the name of the floor this implementation is compared with
    num_samples: int
    dim: int
    layout: str
    compile_s: float | None
    run_s: list[float] = field(default_factory=list)

    def rates(self) -> tuple[float, float, float]:
        """min / median / max samples per second over the repeats."""
        rates = sorted(self.num_samples / s for s in self.run_s)
        return rates[0], statistics.median(rates), rates[-1]


# ---- problems -----------------------------------------------------------------------------------


def gaussian_params(cell: Cell) -> dict[str, jax.Array]:
    return {"loc": jnp.full(cell.shape, LOC, jnp.float32), "scale": jnp.full(cell.shape, SCALE, jnp.float32)}


def gaussian_cost(x: jax.Array, params: Any) -> jax.Array:
    return jnp.sum((x - K) ** 2)


def bernoulli_cost(b: jax.Array, params: Any) -> jax.Array:
    return jnp.sum((b - T_BERNOULLI) ** 2)


def categorical_params(cell: Cell) -> dict[str, jax.Array]:
    logits = jnp.linspace(-1.0, 1.0, CATEGORIES, dtype=jnp.float32)
    return {"logits": jnp.broadcast_to(logits, (*cell.shape, CATEGORIES))}


TABLE = jnp.linspace(0.0, 1.0, CATEGORIES, dtype=jnp.float32) ** 2


def categorical_cost(x: jax.Array, params: Any) -> jax.Array:
    """A cost of a one-hot vector or a point of the simplex (one row of x per variable)."""
    return jnp.sum(x * TABLE)


def categorical_index_cost(index: jax.Array, params: Any) -> jax.Array:
    return jnp.sum(TABLE[index])


# ---- floors: the estimator's random numbers alone -----------------------------------------------


def flat(shape: tuple[int, ...]) -> tuple[int]:
    """Floors draw their numbers as one flat vector, as the library does: the same numbers as a
    draw of ``shape`` (threefry counts over the flat index), and the fastest way to draw them."""
    return (math.prod(shape),)


def unrolled(key: jax.Array, shape: tuple[int, ...], chunk: int | None) -> jax.Array:
    """``key``, re-wrapped to draw ``shape``'s numbers of ``jax.random`` with the unrolled hash of
    ``gradest._random``: fused into the consumer (``chunk=None``) or kept, chunk by chunk, as the
    library draws them. A library without it (an older checkout) gets ``jax.random``'s own hash."""
    fast_key = getattr(getattr(gradest, "_random", None), "fast_key", None)
    return key if fast_key is None else fast_key(key, math.prod(shape), chunk=chunk)


FloorBuilder = Callable[[Cell, "int | None"], Callable[[jax.Array], jax.Array]]


def floor_normal(cell: Cell, chunk: int | None) -> Callable[[jax.Array], jax.Array]:
    shape = (cell.num_samples, *cell.shape)
    return lambda key: jnp.sum(jax.random.normal(unrolled(key, shape, chunk), flat(shape)))


def floor_measure_valued(cell: Cell, chunk: int | None) -> Callable[[jax.Array], jax.Array]:
    shape = (cell.num_samples, *cell.shape)

    def draws(key: jax.Array) -> jax.Array:
        keys = jax.random.split(key, 5)  # ε, Rayleigh, normal, χ², uniform
        samplers = (jax.random.normal, jax.random.exponential, jax.random.normal)
        samplers += (jax.random.exponential, jax.random.uniform)
        return sum(
            jnp.sum(sampler(unrolled(k, shape, chunk), flat(shape)))
            for k, sampler in zip(keys, samplers, strict=True)
        )

    return draws


def floor_half(sampler: Callable[..., jax.Array]) -> FloorBuilder:
    """One draw per antithetic pair, N / 2 of them: ε for (ε, −ε), u for ARM's (u, 1 − u)."""

    def build(cell: Cell, chunk: int | None) -> Callable[[jax.Array], jax.Array]:
        shape = (cell.num_samples // 2, *cell.shape)
        return lambda key: jnp.sum(sampler(unrolled(key, shape, chunk), flat(shape)))

    return build


def floor_rqmc_shift(cell: Cell, chunk: int | None) -> Callable[[jax.Array], jax.Array]:
    """The draws of ``gradest.random_digital_shift``: one integer shift per variable, N·D uniforms."""
    size = math.prod(cell.shape)
    shape = (cell.num_samples, size)

    def draws(key: jax.Array) -> jax.Array:
        k_shift, k_jitter = jax.random.split(key)
        bits = gradest.variance_reduction.SHIFT_BITS
        shift = jax.random.randint(k_shift, (size,), 0, 2**bits, dtype=jnp.int32)
        return jnp.sum(shift) + jnp.sum(jax.random.uniform(unrolled(k_jitter, shape, chunk), flat(shape)))

    return draws


def floor_gumbel_rao(cell: Cell, chunk: int | None) -> Callable[[jax.Array], jax.Array]:
    """The sample's Gumbel noise, then NUM_CONDITIONAL Gumbels per sample for its conditional draws."""
    shape = (cell.num_samples, *cell.shape, CATEGORIES)
    conditional = (NUM_CONDITIONAL, *shape)

    def draws(key: jax.Array) -> jax.Array:
        k_sample, k_noise = jax.random.split(key)
        noise = jax.random.gumbel(unrolled(k_noise, conditional, chunk), flat(conditional))
        return jnp.sum(jax.random.gumbel(unrolled(k_sample, shape, chunk), flat(shape))) + jnp.sum(noise)

    return draws


def floor_groups(
    group: int, shape: Callable[[Cell], tuple[int, ...]], sampler: Callable[..., jax.Array]
) -> FloorBuilder:
    """N / group split keys, each drawing ``sampler``'s numbers of ``shape(cell)``, vmapped as
    :func:`_groups`."""

    def build(cell: Cell, chunk: int | None) -> Callable[[jax.Array], jax.Array]:
        def draws(key: jax.Array) -> jax.Array:
            keys = jax.random.split(key, cell.num_samples // group)
            one = shape(cell)
            return jnp.sum(jax.vmap(lambda k: sampler(unrolled(k, one, chunk), flat(one)))(keys))

        return draws

    return build


def floor_draws(sampler: Callable[..., jax.Array], factor: int, categories: int = 1) -> FloorBuilder:
    """``factor`` independent arrays of ``sampler``'s numbers of shape (N, *shape[, categories])."""

    def build(cell: Cell, chunk: int | None) -> Callable[[jax.Array], jax.Array]:
        shape = (cell.num_samples, *cell.shape) + ((categories,) if categories > 1 else ())
        return lambda key: sum(
            jnp.sum(sampler(unrolled(k, shape, chunk), flat(shape))) for k in jax.random.split(key, factor)
        )

    return build


FLOORS: dict[str, FloorBuilder] = {
    "floor: N·D normals": floor_normal,
    "floor: measure-valued draws": floor_measure_valued,
    "floor: N·D uniforms": floor_draws(jax.random.uniform, 1),
    "floor: 2·N·D uniforms": floor_draws(jax.random.uniform, 2),
    # Categorical draws (jax.random.categorical, the Gumbel-max trick) draw K Gumbels a variable.
    "floor: N·D·K Gumbels": floor_draws(jax.random.gumbel, 1, CATEGORIES),
    "floor: N·D/2 normals": floor_half(jax.random.normal),
    "floor: N·D/2 uniforms": floor_half(jax.random.uniform),
    "floor: RQMC shift (N·D uniforms)": floor_rqmc_shift,
    "floor: (1 + M)·N·D·K Gumbels": floor_gumbel_rao,
    "floor: N/k sets × K Gumbels": floor_groups(SET_SIZE, lambda cell: (CATEGORIES,), jax.random.gumbel),
    "floor: N/K groups × K·D uniforms": floor_groups(
        VIMCO_K, lambda cell: (VIMCO_K, *cell.shape), jax.random.uniform
    ),
}
#: Each floor is measured twice: the hash fused into the floor's sum, and the numbers kept in memory
#: chunk by chunk as the library draws them (faster for some programs and sizes). An estimator's
#: floor is the fastest of them in the same run.
KEPT = " · kept"
#: The normals and uniforms drawn a third way: block by block, as the library's streamed Gaussian
#: and Bernoulli estimators draw them (``gradest._streamed``), and summed.
BLOCKS = " · blocks"


def floor_blocks(
    params_of: Callable[[Cell], dict[str, jax.Array]], pairs: bool = False
) -> Callable[..., Any]:
    """The streamed estimators' draws for the distribution of ``params_of(cell)``, summed: N samples'
    worth, or N / 2 for antithetic pairs."""

    def build(cell: Cell) -> Callable[[jax.Array], jax.Array]:
        params = params_of(cell)
        count = cell.num_samples // 2 if pairs else cell.num_samples

        def add(total: jax.Array, noise: jax.Array, first: Any) -> tuple[jax.Array, None]:
            return total + jnp.sum(noise), None

        return lambda key: gradest._streamed._scan_blocks(params, key, count, add, jnp.float32(0))[0]

    return build


def bernoulli_logits(cell: Cell) -> dict[str, jax.Array]:
    return {"logits": jnp.zeros(cell.shape, jnp.float32)}


def block_floors() -> dict[str, Callable[[Cell], Callable[..., Any]]]:
    """The floors with a blocks variant in this library: the uniforms since Bernoulli estimates
    stream (``gradest._random.uniform_block``)."""
    floors = {
        "floor: N·D normals": floor_blocks(gaussian_params),
        "floor: N·D/2 normals": floor_blocks(gaussian_params, pairs=True),
    }
    if hasattr(gradest._random, "uniform_block"):
        floors["floor: N·D uniforms"] = floor_blocks(bernoulli_logits)
        floors["floor: N·D/2 uniforms"] = floor_blocks(bernoulli_logits, pairs=True)
    return floors


def floor_variants(name: str) -> list[tuple[str, Callable[[Cell], Callable[[jax.Array], jax.Array]]]]:
    """(record name, program builder) of the floor's variants; one, jax.random's own hash, for an
    older library."""
    build = FLOORS[name]
    fused = (name, lambda cell: build(cell, None))
    if not hasattr(getattr(gradest, "_random", None), "fast_key"):
        return [fused]
    variants = [fused, (name + KEPT, lambda cell: build(cell, gradest._random.CHUNK))]
    if hasattr(gradest, "_streamed") and name in block_floors():
        variants.append((name + BLOCKS, block_floors()[name]))
    return variants


def floor_rate(median: dict[Any, float], floor: str, *cell: Any) -> float:
    """The floor's rate: the fastest of its variants' medians."""
    return max(median.get((name, *cell), 0.0) for name in (floor, floor + KEPT, floor + BLOCKS))


#: An estimator's work after its draws, timed on numbers drawn beforehand (``Estimator.after_draws``).
AFTER_DRAWS = " · after the draws"


def draws_and_rest_rate(median: dict[Any, float], name: str, floor: str, *cell: Any) -> float | None:
    """The rate of an estimator that took exactly its floor's time plus the time of its work after
    the draws, 1 / (1/floor + 1/after); None without an ``after the draws`` measurement."""
    after = median.get((name + AFTER_DRAWS, *cell))
    return 1 / (1 / floor_rate(median, floor, *cell) + 1 / after) if after else None


# ---- gradest estimators -------------------------------------------------------------------------


def _gaussian(estimator: Callable[..., Any], **kwargs: Any) -> Callable[[Cell], Callable[..., Any]]:
    def build(cell: Cell) -> Callable[[jax.Array], Any]:
        params = gaussian_params(cell)
        return lambda key: estimator(gaussian_cost, gradest.Normal(), params, key, cell.num_samples, **kwargs)

    return build


def expected_gaussian_cost(cell: Cell) -> float:
    """E f(x) for the Gaussian problem: the number a moving average of the costs settles at."""
    return math.prod(cell.shape) * ((LOC - K) ** 2 + SCALE**2)


def _constant_baseline_score_function(cell: Cell) -> Callable[[jax.Array], Any]:
    """The score function with a fixed baseline, as a training loop passes its moving average."""
    return _gaussian(gradest.score_function, baseline=gradest.constant(expected_gaussian_cost(cell)))(cell)


def _api(name: str) -> Callable[..., Any]:
    """``gradest.<name>``, looked up when called: the script still loads with an older library."""
    return lambda *args, **kwargs: getattr(gradest, name)(*args, **kwargs)


def _measure_valued_after_draws(cell: Cell) -> tuple[Callable[[jax.Array], Any], Callable[[Any], Any]]:
    """The measure-valued estimator on its noise drawn beforehand: its 4·D evaluations of the cost
    per sample and their averages, nothing else."""
    module = sys.modules["gradest.measure_valued"]
    params = gaussian_params(cell)
    shape = (cell.num_samples, *cell.shape)
    return (
        lambda key: module.draw_noise(key, shape, jnp.float32),
        lambda noise: module.estimate_from_noise(gaussian_cost, params, noise),
    )


def _rebar_after_draws(cell: Cell) -> tuple[Callable[[jax.Array], Any], Callable[[Any], Any]]:
    """REBAR on its two arrays of uniforms drawn beforehand: the noise z, b and z̃ made from them,
    the cost at b and the relaxed cost at z and z̃ with their gradients, and the score."""
    module = sys.modules["gradest.relax"]  # gradest.relax is the function
    params = {"logits": jnp.full(cell.shape, 0.3, jnp.float32)}
    shape = (cell.num_samples, *cell.shape)
    tau, nu = jnp.float32(TEMPERATURE), jnp.float32(1.0)
    return (
        lambda key: module.draw_uniforms(key, shape, jnp.float32),
        lambda uniforms: module.rebar_from_uniforms(
            bernoulli_cost, gradest.Bernoulli(), params, uniforms, temperature=tau, scale=nu
        ),
    )


def _rqmc_pathwise(cell: Cell) -> Callable[[jax.Array], Any]:
    """RQMC on the first N unscrambled Sobol points, generated here, outside the timed program."""
    from scipy.stats import qmc

    size = math.prod(cell.shape)
    sobol = qmc.Sobol(size, scramble=False).random_base2(math.ceil(math.log2(cell.num_samples)))
    points = jnp.asarray(sobol[: cell.num_samples], jnp.float32)
    params = gaussian_params(cell)
    return lambda key: gradest.rqmc_pathwise(
        gaussian_cost, gradest.Normal(), params, key, cell.num_samples, points=points
    )


def _bernoulli(
    estimator: Callable[..., Any], pairs: bool = False, **kwargs: Any
) -> Callable[[Cell], Callable[..., Any]]:
    """N samples: ``num_samples`` = N, or N / 2 antithetic pairs when ``pairs``."""

    def build(cell: Cell) -> Callable[[jax.Array], Any]:
        params = {"logits": jnp.full(cell.shape, 0.3, jnp.float32)}
        n = cell.num_samples // 2 if pairs else cell.num_samples
        return lambda key: estimator(bernoulli_cost, gradest.Bernoulli(), params, key, n, **kwargs)

    return build


def _groups(
    group: int, one: Callable[[Cell], Callable[[jax.Array], Any]]
) -> Callable[[Cell], Callable[..., Any]]:
    """The mean of N / group estimates ``one(cell)(key)``, each from ``group`` samples, vmapped."""

    def build(cell: Cell) -> Callable[[jax.Array], Any]:
        estimate = one(cell)

        def run(key: jax.Array) -> Any:
            grads = jax.vmap(estimate)(jax.random.split(key, cell.num_samples // group))
            return jax.tree.map(lambda g: jnp.mean(g, axis=0), grads)

        return run

    return build


def _vimco(cell: Cell) -> Callable[[jax.Array], Any]:
    """One VIMCO estimate from VIMCO_K samples; minus the Bernoulli cost is the log-joint."""
    params = {"logits": jnp.full(cell.shape, 0.3, jnp.float32)}

    def log_joint(b: jax.Array, p: Any) -> jax.Array:
        return -bernoulli_cost(b, p)

    return lambda key: gradest.vimco(log_joint, gradest.Bernoulli(), params, key, VIMCO_K)


def _one_categorical(
    estimator: Callable[..., Any], num_samples: Callable[[Cell], int], **kwargs: Any
) -> Callable[[Cell], Callable[..., Any]]:
    """An estimator of one categorical variable (scalar cells: parameters of shape (K,))."""

    def build(cell: Cell) -> Callable[[jax.Array], Any]:
        params = categorical_params(cell)
        return lambda key: estimator(
            categorical_index_cost, gradest.Categorical(), params, key, num_samples(cell), **kwargs
        )

    return build


def _gumbel_rao(cell: Cell) -> Callable[[jax.Array], Any]:
    params = categorical_params(cell)
    return lambda key: gradest.gumbel_rao(
        categorical_cost, gradest.Categorical(), params, key, cell.num_samples, temperature=TEMPERATURE
    )


def _categorical_score_function(cell: Cell) -> Callable[[jax.Array], Any]:
    params = categorical_params(cell)
    return lambda key: gradest.score_function(
        categorical_index_cost, gradest.Categorical(), params, key, cell.num_samples
    )


def _gumbel(kind: str) -> Callable[[Cell], Callable[[jax.Array], Any]]:
    """Gumbel-max (sampling the cost, no gradient), Gumbel-softmax or straight-through gradients."""

    def build(cell: Cell) -> Callable[[jax.Array], Any]:
        logits = categorical_params(cell)["logits"]
        n = cell.num_samples
        if kind == "max":
            return lambda key: jnp.mean(TABLE[gradest.gumbel_max(logits, key, (n,))])
        sampler = gradest.gumbel_softmax if kind == "softmax" else gradest.straight_through

        def loss(lg: jax.Array, key: jax.Array) -> jax.Array:
            return jnp.mean(
                jax.vmap(categorical_cost, in_axes=(0, None))(sampler(lg, key, TEMPERATURE, (n,)), lg)
            )

        return lambda key: jax.grad(loss)(logits, key)

    return build


@dataclass(frozen=True)
class Estimator:
    name: str
    floor: str
    build: Callable[[Cell], Callable[[jax.Array], Any]]
    numpy: Callable[[Cell], Fn] | None = None
    max_work: int | None = None  # skip cells with N·D above this (cost grows faster than N·D)
    scalar_only: bool = False  # estimators of one variable: parameters of shape () only
    requires: str | None = None  # the gradest function it needs (skipped by an older library)
    # The estimator's work after its draws: (inputs from a key, drawn outside the timed program;
    # the program of everything else on those inputs), timed as "<name> · after the draws".
    after_draws: Callable[[Cell], tuple[Callable[[jax.Array], Any], Callable[[Any], Any]]] | None = None
    after_draws_needs: tuple[str, str] | None = None  # (module, function) the split needs


# ---- float32 vectorised NumPy, the same math as the Gaussian estimators -------------------------

F32 = np.float32


def _np_draw(rng: np.random.Generator, cell: Cell) -> np.ndarray:
    return rng.standard_normal((cell.num_samples, *cell.shape), dtype=F32)


def numpy_score_function(cell: Cell, baseline: str | None = None) -> Fn:
    """``baseline``: None, "rloo" (leave-one-out) or "constant" (:func:`expected_gaussian_cost`)."""
    rng = np.random.default_rng(0)

    def run() -> tuple[np.ndarray, np.ndarray]:
        eps = _np_draw(rng, cell)
        x = F32(LOC) + F32(SCALE) * eps
        f = np.sum((x - F32(K)) ** 2, axis=tuple(range(1, x.ndim)))
        if baseline == "rloo":
            f = (f - (f.sum() - f) / F32(cell.num_samples - 1)).astype(F32)
        elif baseline == "constant":
            f = f - F32(expected_gaussian_cost(cell))
        f = f.reshape((-1,) + (1,) * (x.ndim - 1))
        return np.mean(f * eps, axis=0) / F32(SCALE), np.mean(f * (eps * eps - F32(1)), axis=0) / F32(SCALE)

    return run


def numpy_pathwise(cell: Cell) -> Fn:
    rng = np.random.default_rng(0)

    def run() -> tuple[np.ndarray, np.ndarray]:
        eps = _np_draw(rng, cell)
        dfdx = F32(2) * (F32(LOC) + F32(SCALE) * eps - F32(K))
        return np.mean(dfdx, axis=0), np.mean(dfdx * eps, axis=0)

    return run


def numpy_measure_valued(cell: Cell) -> Fn:
    """Four evaluations of the D-dimensional cost per coordinate, as gradest.measure_valued."""
    rng = np.random.default_rng(0)
    n, shape = cell.num_samples, (cell.num_samples, *cell.shape)
    d = max(cell.dim, 1)

    def replaced(base: np.ndarray, values: np.ndarray) -> np.ndarray:
        """f at base with coordinate i replaced by values[:, i], for every i: shape (N, D)."""
        x = np.broadcast_to(base.reshape(n, 1, d), (n, d, d)).copy()
        x[:, np.arange(d), np.arange(d)] = values.reshape(n, d)
        return np.sum((x - F32(K)) ** 2, axis=2)

    def run() -> tuple[np.ndarray, np.ndarray]:
        base = F32(LOC) + F32(SCALE) * rng.standard_normal(shape, dtype=F32)
        r = np.sqrt(F32(2) * rng.standard_exponential(shape, dtype=F32))
        z = rng.standard_normal(shape, dtype=F32)  # the library's recipe for a double-sided Maxwell
        maxwell = np.where(z < 0, F32(-1), F32(1)) * np.sqrt(
            z**2 + F32(2) * rng.standard_exponential(shape, dtype=F32)
        )
        u = rng.random(shape, dtype=F32)
        g_loc = (replaced(base, LOC + SCALE * r) - replaced(base, LOC - SCALE * r)) / F32(
            SCALE * np.sqrt(2 * np.pi)
        )
        g_scale = (replaced(base, LOC + SCALE * maxwell) - replaced(base, LOC + SCALE * maxwell * u)) / F32(
            SCALE
        )
        return g_loc.mean(axis=0), g_scale.mean(axis=0)

    return run


ESTIMATORS: list[Estimator] = [
    Estimator(
        "score_function", "floor: N·D normals", _gaussian(gradest.score_function), numpy_score_function
    ),
    Estimator(
        "score_function + rloo",
        "floor: N·D normals",
        _gaussian(gradest.score_function, baseline=gradest.rloo),
        lambda cell: numpy_score_function(cell, baseline="rloo"),
    ),
    Estimator(
        "score_function + constant baseline",
        "floor: N·D normals",
        _constant_baseline_score_function,
        lambda cell: numpy_score_function(cell, baseline="constant"),
    ),
    Estimator("pathwise", "floor: N·D normals", _gaussian(gradest.pathwise), numpy_pathwise),
    Estimator(
        "measure_valued",
        "floor: measure-valued draws",
        _gaussian(gradest.measure_valued),
        numpy_measure_valued,
        max_work=10**6,
        after_draws=_measure_valued_after_draws,
        after_draws_needs=("gradest.measure_valued", "estimate_from_noise"),
    ),
    Estimator("score_function, Bernoulli", "floor: N·D uniforms", _bernoulli(gradest.score_function)),
    Estimator(
        "score_function, categorical", "floor: N·D·K Gumbels", _categorical_score_function, max_work=10**6
    ),
    Estimator("gumbel_max (sampling only)", "floor: N·D·K Gumbels", _gumbel("max"), max_work=10**6),
    Estimator("gumbel_softmax", "floor: N·D·K Gumbels", _gumbel("softmax"), max_work=10**6),
    Estimator("straight_through", "floor: N·D·K Gumbels", _gumbel("straight"), max_work=10**6),
    Estimator(
        "rebar",
        "floor: 2·N·D uniforms",
        _bernoulli(gradest.rebar, temperature=TEMPERATURE),
        after_draws=_rebar_after_draws,
        after_draws_needs=("gradest.relax", "rebar_from_uniforms"),
    ),
    Estimator(
        "relax, constant c",
        "floor: 2·N·D uniforms",
        _bernoulli(gradest.relax, surrogate=lambda z, a: a, surrogate_params=jnp.float32(0.25)),
    ),
    Estimator(
        "antithetic_score_function",
        "floor: N·D/2 normals",
        _gaussian(_api("antithetic_score_function")),
        requires="antithetic_score_function",
    ),
    Estimator(
        "antithetic_pathwise",
        "floor: N·D/2 normals",
        _gaussian(_api("antithetic_pathwise")),
        requires="antithetic_pathwise",
    ),
    Estimator(
        "rqmc_pathwise (points passed in)",
        "floor: RQMC shift (N·D uniforms)",
        _rqmc_pathwise,
        max_work=10**6,
        requires="rqmc_pathwise",
    ),
    Estimator("arm", "floor: N·D/2 uniforms", _bernoulli(_api("arm"), pairs=True), requires="arm"),
    Estimator("disarm", "floor: N·D/2 uniforms", _bernoulli(_api("disarm"), pairs=True), requires="disarm"),
    Estimator(
        f"sum_and_sample, k = {NUM_SUMMED}",
        "floor: N·D·K Gumbels",
        _one_categorical(_api("sum_and_sample"), lambda cell: cell.num_samples, num_summed=NUM_SUMMED),
        scalar_only=True,
        requires="sum_and_sample",
    ),
    Estimator(
        f"unordered_set, k = {SET_SIZE}",
        "floor: N/k sets × K Gumbels",
        _groups(SET_SIZE, _one_categorical(_api("unordered_set"), lambda cell: SET_SIZE)),
        scalar_only=True,
        requires="unordered_set",
    ),
    Estimator(
        f"gumbel_rao, M = {NUM_CONDITIONAL}",
        "floor: (1 + M)·N·D·K Gumbels",
        _gumbel_rao,
        max_work=10**5,
        requires="gumbel_rao",
    ),
    Estimator(
        f"vimco, K = {VIMCO_K}",
        "floor: N/K groups × K·D uniforms",
        _groups(VIMCO_K, _vimco),
        requires="vimco",
    ),
]

GAUSSIAN = (
    "score_function",
    "score_function + rloo",
    "score_function + constant baseline",
    "pathwise",
    "measure_valued",
    "antithetic_score_function",
    "antithetic_pathwise",
    "rqmc_pathwise (points passed in)",
)
GAUSSIAN_FLOORS = (
    "floor: N·D normals",
    "floor: measure-valued draws",
    "floor: N·D/2 normals",
    "floor: RQMC shift (N·D uniforms)",
)

# ---- timing -------------------------------------------------------------------------------------


def compiled(build: Callable[..., Any], *args: Any) -> tuple[Fn, float]:
    """The jitted program, compiled ahead of time for ``args``, and the seconds tracing and
    compiling took."""
    start = time.perf_counter()
    program = jax.jit(build).lower(*args).compile()
    seconds = time.perf_counter() - start
    jax.block_until_ready(program(*args))  # one untimed run: page in the buffers
    return (lambda: jax.block_until_ready(program(*args))), seconds


def has_after_draws(est: Estimator) -> bool:
    """Whether the library measured can time ``est`` after its draws (an older one may not)."""
    if est.after_draws is None or est.after_draws_needs is None:
        return False
    module, function = est.after_draws_needs
    return hasattr(sys.modules.get(module), function)


def numpy_warm(run: Fn) -> Fn:
    run()
    return run


def applicable(estimators: list[Estimator], cell: Cell) -> list[Estimator]:
    """The estimators measured in ``cell``: within their ``max_work``, and of its layout."""
    work = cell.num_samples * cell.dim
    return [
        e
        for e in estimators
        if (e.max_work is None or work <= e.max_work) and (cell.layout == "scalar" or not e.scalar_only)
    ]


def round_order(programs: list[Any], round_index: int) -> list[Any]:
    """The programs in the order of one round: shuffled anew each round (seeded by its index).

    A program run right after a different one pays for the caches and threads that program left:
    in a fixed order, four copies of one compiled score function measured 0.49, 0.56, 0.58 and
    0.59 times their floor, the first (right after the floors) the slowest; shuffled, 0.57–0.58.
    """
    return random.Random(round_index).sample(programs, len(programs))


def measure_cell(
    cell: Cell, estimators: list[Estimator], repeats: int, with_numpy: bool, burst: int = 1
) -> list[Record]:
    key = jax.random.key(0)
    chosen = applicable(estimators, cell)
    programs: list[tuple[Record, Fn]] = []
    for floor in dict.fromkeys(e.floor for e in chosen):
        for name, build in floor_variants(floor):
            run, seconds = compiled(build(cell), key)
            programs.append(
                (Record(name, "floor", floor, cell.num_samples, cell.dim, cell.layout, seconds), run)
            )
    for est in chosen:
        run, seconds = compiled(est.build(cell), key)
        programs.append(
            (Record(est.name, "gradest", est.floor, cell.num_samples, cell.dim, cell.layout, seconds), run)
        )
        if has_after_draws(est):
            inputs, program = est.after_draws(cell)
            run, seconds = compiled(program, jax.block_until_ready(jax.jit(inputs)(key)))
            record = Record(
                est.name + AFTER_DRAWS, "part", est.floor, cell.num_samples, cell.dim, cell.layout, seconds
            )
            programs.append((record, run))
        if with_numpy and est.numpy is not None:
            record = Record(
                f"{est.name} (NumPy f32)", "numpy", est.floor, cell.num_samples, cell.dim, cell.layout, None
            )
            programs.append((record, numpy_warm(est.numpy(cell))))
    for round_index in range(repeats):  # round-robin: every implementation once per round
        for record, run in round_order(programs, round_index):
            seconds = []
            for _ in range(burst):  # back to back: a program called in a loop
                start = time.perf_counter()
                run()
                seconds.append(time.perf_counter() - start)
            record.run_s.append(statistics.median(seconds))
    return [record for record, _ in programs]


def check_agreement(estimators: list[Estimator], num_samples: int = 200_000) -> None:
    """gradest and the NumPy versions estimate the same Gaussian gradient (2(μ - k), 2σ) per coordinate."""
    cell = Cell(num_samples, 2, "vector")
    exact = np.array([2 * (LOC - K), 2 * SCALE])
    tolerance = 0.1 * math.sqrt(200_000 / num_samples)  # about 5 standard errors of the score function
    for est in (e for e in estimators if e.name in GAUSSIAN):
        grads = jax.jit(est.build(cell))(jax.random.key(1))
        ours = np.array([np.asarray(grads["loc"]), np.asarray(grads["scale"])])
        theirs = np.array(est.numpy(cell)()) if est.numpy else ours
        for name, value in (("gradest " + est.name, ours), ("NumPy " + est.name, theirs)):
            if not np.allclose(value, exact[:, None], atol=tolerance):
                raise AssertionError(
                    f"{name} gave {value.tolist()}, far from the exact gradient {exact.tolist()}"
                )


# ---- reporting ----------------------------------------------------------------------------------


def _fmt_rate(rate: float) -> str:
    return f"{rate / 1e6:.3g}M"


def table(records: list[Record]) -> str:
    """The text table: per cell, every implementation's rates, ratio to its floor and to NumPy."""
    lines = []
    header = (
        f"{'implementation':<40}{'N':>8}{'D':>5} {'params':<7}{'samples/s min / median / max':>32}"
        f"{'÷ floor':>9}{'÷ NumPy':>9}{'÷ draws+rest':>14}{'compile s':>11}"
    )
    cells = dict.fromkeys((r.num_samples, r.dim, r.layout) for r in records)
    for cell in cells:
        group = [r for r in records if (r.num_samples, r.dim, r.layout) == cell]
        median = {(r.name,): r.rates()[1] for r in group}
        lines += ["", header, "-" * len(header)]
        for r in group:
            lo, mid, hi = r.rates()
            spread = f"{_fmt_rate(lo)} / {_fmt_rate(mid)} / {_fmt_rate(hi)}"
            ratio = f"{mid / floor_rate(median, r.floor):.2f}" if r.kind != "floor" else ""
            numpy_name = (f"{r.name} (NumPy f32)",)
            vs_numpy = f"{mid / median[numpy_name]:.2f}" if numpy_name in median else ""
            parts = draws_and_rest_rate(median, r.name, r.floor) if r.kind == "gradest" else None
            vs_parts = f"{mid / parts:.2f}" if parts else ""
            compile_s = f"{r.compile_s:.2f}" if r.compile_s is not None else ""
            lines.append(
                f"{r.name:<40}{r.num_samples:>8.0e}{r.dim:>5} {r.layout:<7}{spread:>32}"
                f"{ratio:>9}{vs_numpy:>9}{vs_parts:>14}{compile_s:>11}"
            )
    return "\n".join(lines)


def markdown(records: list[Record]) -> str:
    """A Markdown table of the estimators (median rate, ratio to the floor and to NumPy, compile time)."""
    median = {(r.name, r.num_samples, r.dim, r.layout): r.rates()[1] for r in records}
    lines = [
        "| estimator | N | D | parameters | samples/s (median) | ÷ RNG floor | ÷ NumPy f32 "
        "| ÷ draws + rest | compile (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        if r.kind not in ("gradest", "part"):
            continue
        cell = (r.num_samples, r.dim, r.layout)
        rate = median[(r.name, *cell)]
        numpy_rate = median.get((f"{r.name} (NumPy f32)", *cell))
        vs_numpy = f"{rate / numpy_rate:.2f}" if numpy_rate else ""
        parts = draws_and_rest_rate(median, r.name, r.floor, *cell) if r.kind == "gradest" else None
        vs_parts = f"{rate / parts:.2f}" if parts else ""
        lines.append(
            f"| {r.name} | {r.num_samples:.0e} | {r.dim} | {r.layout} | {rate / 1e6:.3g} M "
            f"| {rate / floor_rate(median, r.floor, *cell):.2f} | {vs_numpy} | {vs_parts} "
            f"| {r.compile_s:.2f} |"
        )
    return "\n".join(lines)


#: The goals of the benchmark, checked at the end of a run: (estimators, least ratio to the floor).
#: They are set for N = 10⁵–10⁶; smaller and larger N are reported, not judged.
GOALS = (
    (
        (
            "score_function",
            "score_function + rloo",
            "score_function + constant baseline",
            "pathwise",
            "measure_valued",
        ),
        0.5,
    ),
    (
        ("gumbel_max (sampling only)", "gumbel_softmax", "straight_through", "rebar", "relax, constant c"),
        0.25,
    ),
)
GOAL_SIZES = (10**5, 10**6)


def goals(records: list[Record]) -> str:
    """Each goal's cells measured in ``records``, met or not, with the cells short of it (their
    ratio and, where the work after the draws was timed, that work's own ratio to the floor) and
    the cells of the run that an estimator skipped (its cap on N·D). Also each estimator's ratio
    to float32 NumPy where measured."""
    median = {(r.name, r.num_samples, r.dim, r.layout): r.rates()[1] for r in records}
    lines = ["", "goals (N = 10⁵–10⁶):"]
    for names, least in GOALS:
        judged = [
            r
            for r in records
            if r.kind == "gradest" and r.name in names and GOAL_SIZES[0] <= r.num_samples <= GOAL_SIZES[1]
        ]
        if not judged:
            continue
        short = []
        for r in judged:
            cell = (r.num_samples, r.dim, r.layout)
            ratio = median[(r.name, *cell)] / floor_rate(median, r.floor, *cell)
            if ratio < least:
                after = median.get((r.name + AFTER_DRAWS, *cell))
                why = (
                    f"; its work after the draws alone runs at "
                    f"{after / floor_rate(median, r.floor, *cell):.2f}× the floor"
                    if after
                    else ""
                )
                short.append(
                    f"    {r.name}, N = {r.num_samples:.0e}, D = {r.dim} {r.layout}: {ratio:.2f}×{why}"
                )
        lines.append(f"  ≥ {least:.2f}× the floor: met in {len(judged) - len(short)} of {len(judged)} cells")
        lines += short
        cells = dict.fromkeys((r.num_samples, r.dim, r.layout) for r in judged)
        for name in dict.fromkeys(r.name for r in judged):
            skipped = [cell for cell in cells if (name, *cell) not in median]
            lines += [f"    {name}, N = {n:.0e}, D = {d} {layout}: not measured" for n, d, layout in skipped]
    numpy = [
        (r, median[(r.name, r.num_samples, r.dim, r.layout)] / median[key])
        for r in records
        if r.kind == "gradest"
        and (key := (f"{r.name} (NumPy f32)", r.num_samples, r.dim, r.layout)) in median
        and GOAL_SIZES[0] <= r.num_samples <= GOAL_SIZES[1]
    ]
    if numpy:
        slower = [
            f"    {r.name}, N = {r.num_samples:.0e}, D = {r.dim} {r.layout}: {x:.2f}×"
            for r, x in numpy
            if x < 1
        ]
        lines.append(f"  ≥ 1× float32 NumPy: met in {len(numpy) - len(slower)} of {len(numpy)} cells")
        lines += slower
    if len(lines) == 2:
        lines.append("  no estimator of the goals measured at these N in this run")
    return "\n".join(lines)


def _power_of_ten(n: int) -> str:
    """``10⁶`` for 1 000 000; a number that is not a power of ten as ``3e+03``."""
    exponent = round(math.log10(n))
    if 10**exponent != n:
        return f"{n:.0e}"
    return "10" + str(exponent).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _floor_ratios(runs: list[list[Record]]) -> dict[tuple[str, int, int, str], float]:
    """Each estimator's median rate ÷ that of its floor measured in the same run, by (name, N, D,
    layout)."""
    ratios = {}
    for records in runs:
        median = {(r.name, r.num_samples, r.dim, r.layout): r.rates()[1] for r in records}
        for r in records:
            if r.kind == "gradest":
                cell = (r.num_samples, r.dim, r.layout)
                ratios[(r.name, *cell)] = median[(r.name, *cell)] / floor_rate(median, r.floor, *cell)
    return ratios


def comparison(before: list[list[Record]], after: list[list[Record]]) -> str:
    """A Markdown table of each estimator's ratio to its floor, ``before → after`` (each a list of
    runs), one column a cell (the ratio alone where only ``after`` measured the cell)."""
    old, new = _floor_ratios(before), _floor_ratios(after)
    cells = sorted({key[1:] for key in new}, key=lambda c: (c[2] == "vector", c[1], c[0]))
    lines = [
        "| estimator | "
        + " | ".join(f"N = {_power_of_ten(n)}, D = {d}, {kind}" for n, d, kind in cells)
        + " |",
        "| --- |" + " --- |" * len(cells),
    ]
    for name in dict.fromkeys(key[0] for key in new):
        entries = [
            ""
            if (name, *cell) not in new
            else f"{old[(name, *cell)]:.2f} → **{new[(name, *cell)]:.2f}**"
            if (name, *cell) in old
            else f"**{new[(name, *cell)]:.2f}**"
            for cell in cells
        ]
        lines.append(f"| {name} | " + " | ".join(entries) + " |")
    return "\n".join(lines)


def _largest_n(records: list[Record], name: str) -> list[tuple[int, float]]:
    """(D, median samples/s) at the largest N measured for each D, vector parameters; for a floor,
    the faster of its variants."""
    best: dict[int, int] = {}
    for r in records:
        if r.name == name and r.layout == "vector":
            best[r.dim] = max(best.get(r.dim, 0), r.num_samples)
    median = {(r.name, r.num_samples, r.dim): r.rates()[1] for r in records if r.layout == "vector"}
    rate = (
        (lambda n, d: floor_rate(median, name, n, d))
        if name.startswith("floor")
        else (lambda n, d: median[(name, n, d)])
    )
    return sorted((d, rate(n, d)) for d, n in best.items())


def figure(records: list[Record], path: Path) -> None:
    """Median samples/s against D at the largest N measured: Gaussian and discrete estimators."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gradest.plotting.use_style()
    names = list(
        dict.fromkeys(r.name for r in records if r.kind != "part" and not r.name.endswith((KEPT, BLOCKS)))
    )
    gaussian_floors = set(GAUSSIAN_FLOORS)
    panels = {
        "Gaussian N(μ, σ²), cost Σ(x − k)²": [
            n for n in names if n in GAUSSIAN or n in gaussian_floors or n == "score_function (NumPy f32)"
        ],
        "Bernoulli and categorical (K = 10)": [
            n for n in names if n not in GAUSSIAN and "NumPy" not in n and n not in gaussian_floors
        ],
    }
    panels = {title: members for title, members in panels.items() if members}
    dashes = ["--", "-.", (0, (1, 1)), (0, (6, 2, 1, 2))]
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5, 4.6), sharey=True, squeeze=False)
    for ax, (title, members) in zip(axes[0], panels.items(), strict=True):
        floors = estimators = 0
        colours = len(plt.rcParams["axes.prop_cycle"].by_key()["color"])
        for name in members:
            points = _largest_n(records, name)
            if not points:
                continue
            if name.startswith("floor"):
                style = dict(color="black", linestyle=dashes[floors % len(dashes)], marker="s")
                floors += 1
            elif "NumPy" in name:
                style = dict(color="0.45", linestyle=":", marker="^")
            else:
                # Once the colours repeat, a second line style and marker tell the lines apart.
                second = estimators // colours % 2
                style = dict(linestyle=("-", "--")[second], marker=("o", "D")[second])
                estimators += 1
            ax.plot(*zip(*points, strict=True), markersize=3.5, label=name, linewidth=1.4, **style)
        ax.set(xscale="log", yscale="log", xlabel="dimension D of the variable", title=title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8, ncol=1)
    axes[0][0].set_ylabel("samples of the variable per second")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def machine() -> dict[str, Any]:
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "gradest": gradest.__file__,
        "backend": jax.devices()[0].platform,
        "device_kind": jax.devices()[0].device_kind,
        "devices": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "load_average_before": os.getloadavg(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "floor_hash": "unrolled" if hasattr(getattr(gradest, "_random", None), "fast_key") else "jax.random",
    }


def stored_records(paths: list[Path]) -> list[Record]:
    """The records of the ``estimators.json`` files of earlier runs, merged."""
    stored = [r for path in paths for r in json.loads(path.read_text())["records"]]
    return [Record(**{k: v for k, v in r.items() if k != "samples_per_s"}) for r in stored]


def main(argv: list[str] | None = None) -> list[Record]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny N, D in {1, 2}, 2 repeats: a smoke test")
    parser.add_argument("--repeats", type=int, default=5, help="round-robin rounds")
    parser.add_argument(
        "--burst", type=int, default=3, help="back-to-back calls per program and round (their median counts)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="values of N")
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 10, 100], help="values of D")
    parser.add_argument("--max-work", type=float, default=1e7, help="skip cells with N·D above this")
    parser.add_argument("--only", nargs="*", default=None, help="estimator names to run (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "bench", help="output folder")
    parser.add_argument(
        "--figure", type=Path, default=ROOT / "book" / "images" / "bench_samples_per_second.png"
    )
    parser.add_argument("--no-figure", action="store_true")
    parser.add_argument("--no-numpy", action="store_true")
    parser.add_argument(
        "--from-json", type=Path, nargs="+", help="redraw the table and figure of earlier runs (merged)"
    )
    parser.add_argument(
        "--before",
        type=Path,
        nargs="+",
        help="with --from-json: also print each ratio to the floor as 'before → after' (runs merged)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.dims, args.repeats, args.max_work = [2_000], [1, 2], 2, 1e4
    if args.from_json:
        records = stored_records(args.from_json)
        print(table(records))
        print(markdown(records))
        print(goals(records))
        if args.before:
            print(
                comparison(
                    [stored_records([path]) for path in args.before],
                    [stored_records([path]) for path in args.from_json],
                )
            )
        if not args.no_figure:
            figure(records, args.figure)
        return records
    estimators = [e for e in ESTIMATORS if args.only is None or e.name in args.only]
    missing = [e.name for e in estimators if e.requires and not hasattr(gradest, e.requires)]
    if missing:
        print(f"skipped, not in this gradest: {', '.join(missing)}")
    estimators = [e for e in estimators if e.name not in missing]
    info = machine() | {"repeats": args.repeats, "burst": args.burst}
    print(
        f"jax {info['jax']} on {info['backend']} "
        + (f"({info['device_kind']}) " if info["backend"] != "cpu" else "")
        + f"({info['cpu_count']} CPUs), {info['date_utc']} UTC, "
        f"load average {tuple(round(x, 2) for x in info['load_average_before'])}, "
        f"XLA_FLAGS={info['xla_flags']!r}; floors hashed with {info['floor_hash']}; "
        f"{args.repeats} round-robin repeats of {args.burst} back-to-back calls"
    )
    check_agreement(estimators, 20_000 if args.quick else 200_000)
    cells = [Cell(n, 1, "scalar") for n in args.sizes] + [
        Cell(n, d, "vector") for d in args.dims for n in args.sizes if n * d <= args.max_work
    ]
    records: list[Record] = []
    for cell in cells:
        records += measure_cell(cell, estimators, args.repeats, not args.no_numpy, args.burst)
        print(
            table(
                [
                    r
                    for r in records
                    if (r.num_samples, r.dim, r.layout) == (cell.num_samples, cell.dim, cell.layout)
                ]
            ),
            flush=True,
        )
    info["load_average_after"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [
        {**asdict(r), "samples_per_s": dict(zip(("min", "median", "max"), r.rates(), strict=True))}
        for r in records
    ]
    (args.out / "estimators.json").write_text(json.dumps({"machine": info, "records": rows}, indent=1))
    text = table(records)
    (args.out / "estimators.txt").write_text(text + "\n" + goals(records) + "\n")
    (args.out / "estimators.md").write_text(markdown(records) + "\n")
    if not args.no_figure:
        figure(records, args.figure)
    print(goals(records))
    print(
        f"\nload average after: {tuple(round(x, 2) for x in info['load_average_after'])}; "
        f"wrote {args.out / 'estimators.json'} and estimators.txt"
    )
    return records


if __name__ == "__main__":
    main()
