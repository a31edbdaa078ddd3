"""Throughput of the gradient estimators: samples per second, gradest (jitted) against NumPy and Python.

    JAX_PLATFORMS=cpu python scripts/bench_estimators.py      # or: make bench

The benchmark is a list of sections; a section is a title and a list of small functions, each
timing one implementation and printing one table row. To add an estimator, write its row
functions (use :func:`row`) and append a section to ``SECTIONS``. Within a section every row is
compared with the section's first row: the last column says how many times faster the first row
is than this one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import jax
import numpy as np

import gradest

REPEATS = 5
WIDTH = (34, 10, 12, 14, 16)


def best_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """The fastest of ``repeats`` timed calls (after one untimed warm-up call that compiles)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def row(name: str, num_samples: int, seconds: float, reference: float | None) -> float:
    """Print one table row and return its throughput in samples per second."""
    rate = num_samples / seconds
    ratio = "1" if reference is None else f"{reference / rate:.3g}"
    cells = (name, f"{num_samples:.0e}", f"{seconds * 1e3:.3g}", f"{rate:.3g}", ratio)
    print("".join(c.ljust(w) for c, w in zip(cells, WIDTH, strict=True)).rstrip())
    return rate


# ---- Score function on the Gaussian problem f(x) = (x - k)^2, x ~ N(mu, sigma^2) -------------------
K, MU, SIGMA = 0.5, 1.0, 1.5
PROBLEM = gradest.gaussian_quadratic(k=K, loc=MU, scale=SIGMA)


def _numpy_score_function(rng: np.random.Generator, n: int) -> tuple[float, float]:
    x = rng.normal(MU, SIGMA, n)
    f = (x - K) ** 2
    z = (x - MU) / SIGMA
    return float(np.mean(f * z / SIGMA)), float(np.mean(f * (z**2 - 1) / SIGMA))


def _loop_score_function(rng: np.random.Generator, n: int) -> tuple[float, float]:
    g_mu = g_sigma = 0.0
    for _ in range(n):
        x = rng.normal(MU, SIGMA)
        f = (x - K) ** 2
        z = (x - MU) / SIGMA
        g_mu += f * z / SIGMA
        g_sigma += f * (z * z - 1) / SIGMA
    return g_mu / n, g_sigma / n


def sf_gradest(reference: float | None) -> float:
    n = 1_000_000
    estimate = jax.jit(lambda key: gradest.score_function(PROBLEM.f, PROBLEM.dist, PROBLEM.params, key, n))
    key = jax.random.key(0)
    seconds = best_seconds(lambda: jax.block_until_ready(estimate(key)))
    return row("gradest.score_function (jit)", n, seconds, reference)


def sf_numpy(reference: float | None) -> float:
    n = 1_000_000
    rng = np.random.default_rng(0)
    return row("NumPy, vectorised", n, best_seconds(lambda: _numpy_score_function(rng, n)), reference)


def sf_loop(reference: float | None) -> float:
    n = 20_000
    rng = np.random.default_rng(0)
    seconds = best_seconds(lambda: _loop_score_function(rng, n), repeats=2)
    return row("Python loop", n, seconds, reference)


def check_agreement() -> None:
    """The three implementations estimate the same gradient (2(mu - k), 2 sigma)."""
    n = 1_000_000
    exact = (2 * (MU - K), 2 * SIGMA)
    g = gradest.score_function(PROBLEM.f, PROBLEM.dist, PROBLEM.params, jax.random.key(1), n)
    rng = np.random.default_rng(1)
    for name, est in (
        ("gradest", (float(g["loc"]), float(g["scale"]))),
        ("numpy", _numpy_score_function(rng, n)),
        ("loop", _loop_score_function(rng, 20_000)),
    ):
        tol = 0.5 if name == "loop" else 0.05
        if not all(math.isclose(a, b, abs_tol=tol) for a, b in zip(est, exact, strict=True)):
            raise AssertionError(f"{name} estimate {est} is far from the exact gradient {exact}")


def gumbel_samplers(reference: float | None) -> float:
    """Rows for jitted gumbel_max and gumbel_softmax (tau = 0.5): 10-category samples per second."""
    n, logits, key = 1_000_000, jax.numpy.linspace(-1.0, 1.0, 10), jax.random.key(0)
    hard = jax.jit(lambda k: gradest.gumbel_max(logits, k, (n,)))
    soft = jax.jit(lambda k: gradest.gumbel_softmax(logits, k, 0.5, (n,)))
    rate = row("gradest.gumbel_max (jit)", n, best_seconds(lambda: hard(key).block_until_ready()), reference)
    seconds = best_seconds(lambda: soft(key).block_until_ready())
    row("gradest.gumbel_softmax (jit)", n, seconds, rate)
    return rate


def reparam_estimators(reference: float | None) -> float:
    """Rows for jitted pathwise and measure_valued on the Gaussian problem: samples per second."""
    n, key = 1_000_000, jax.random.key(0)
    args = (PROBLEM.f, PROBLEM.dist, PROBLEM.params)
    pathwise = jax.jit(lambda k: gradest.pathwise(*args, k, n))
    measure_valued = jax.jit(lambda k: gradest.measure_valued(*args, k, n))
    seconds = best_seconds(lambda: jax.block_until_ready(pathwise(key)))
    rate = row("gradest.pathwise (jit)", n, seconds, reference)
    seconds = best_seconds(lambda: jax.block_until_ready(measure_valued(key)))
    row("gradest.measure_valued (jit)", n, seconds, rate)
    return rate


def rebar_relax_estimators(reference: float | None) -> float:
    """Rows for jitted score_function, rebar and relax on the Bernoulli toy: samples per second."""
    n, key, toy = 1_000_000, jax.random.key(0), gradest.bernoulli_quadratic(t=0.45)
    args = (toy.f, toy.dist, toy.params)
    timed = {
        "gradest.score_function (jit)": jax.jit(lambda k: gradest.score_function(*args, k, n)),
        "gradest.rebar (jit)": jax.jit(lambda k: gradest.rebar(*args, k, n, temperature=0.5)),
        "gradest.relax, constant c (jit)": jax.jit(
            lambda k: gradest.relax(*args, k, n, surrogate=lambda z, a: a, surrogate_params=0.25)
        ),
    }
    first = None
    for name, fn in timed.items():
        rate = row(name, n, best_seconds(lambda fn=fn: jax.block_until_ready(fn(key))), first or reference)
        first = first or rate
    return first


SECTIONS: list[tuple[str, list[Callable[[float | None], float]]]] = [
    ("score function, f(x) = (x - k)^2 under N(mu, sigma^2)", [sf_gradest, sf_numpy, sf_loop]),
    ("Gumbel samplers, 10 categories", [gumbel_samplers]),
    ("pathwise and measure-valued, f(x) = (x - k)^2 under N(mu, sigma^2)", [reparam_estimators]),
    ("REBAR and RELAX, Bernoulli toy (b - 0.45)^2", [rebar_relax_estimators]),
]


def main() -> None:
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; best of {REPEATS} runs")
    check_agreement()
    header = ("implementation", "samples", "time (ms)", "samples / s", "1st row is x faster")
    for title, benchmarks in SECTIONS:
        print(f"\n## {title}")
        print("".join(c.ljust(w) for c, w in zip(header, WIDTH, strict=True)).rstrip())
        reference = None
        for bench in benchmarks:
            rate = bench(reference)
            reference = rate if reference is None else reference


if __name__ == "__main__":
    main()
