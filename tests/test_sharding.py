"""Every estimator runs with its sample axis split over two devices and gives the one-device estimate.

The check runs in a subprocess, because the number of (forced host) CPU devices is fixed when the
JAX backend starts: ``XLA_FLAGS=--xla_force_host_platform_device_count=2``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import AxisType

    import gradest

    assert jax.device_count() == 2, jax.devices()
    N = 64
    key = jax.random.key(0)
    normal = (gradest.Normal(), {"loc": jnp.array([0.5, -1.0]), "scale": jnp.array([1.0, 2.0])})
    bern = (gradest.Bernoulli(), {"logits": jnp.array([0.3, -0.7])})
    cat = (gradest.Categorical(), {"logits": jnp.array([[0.2, -1.0, 0.5], [0.0, 1.0, -0.5]])})

    def quad(x, p):
        return jnp.sum((x - 0.3) ** 2)

    def relaxed_grad(sampler):
        def loss(logits, k):
            return jnp.mean(jax.vmap(quad, in_axes=(0, None))(sampler(logits, k, 0.5, (N,)), None))

        return lambda k: jax.grad(loss)(cat[1]["logits"], k)

    ESTIMATORS = {
        "score_function": lambda k: gradest.score_function(quad, *normal, k, N),
        "score_function rloo": lambda k: gradest.score_function(quad, *normal, k, N, baseline=gradest.rloo),
        "score_function categorical": lambda k: gradest.score_function(
            lambda i, p: jnp.sum(i**2).astype(jnp.float32), *cat, k, N
        ),
        "pathwise": lambda k: gradest.pathwise(quad, *normal, k, N),
        "measure_valued": lambda k: gradest.measure_valued(quad, *normal, k, N),
        "rebar": lambda k: gradest.rebar(quad, *bern, k, N, temperature=0.5),
        "relax categorical": lambda k: gradest.relax(
            quad, *cat, k, N, surrogate=lambda z, w: w * jnp.sum(jax.nn.softmax(z)), surrogate_params=0.2
        ),
        "gumbel_softmax": relaxed_grad(gradest.gumbel_softmax),
        "straight_through": relaxed_grad(gradest.straight_through),
        "gumbel_max": lambda k: jnp.mean(gradest.gumbel_max(cat[1]["logits"], k, (N,)).astype(jnp.float32)),
    }
    # Above one chunk the library hashes with its own loop, one device at a time; under the mesh it
    # keeps jax.random's hash, which XLA partitions with the samples.
    big = 2 * gradest._random.CHUNK + 2
    ESTIMATORS["pathwise, N above one chunk"] = lambda k: gradest.pathwise(quad, *normal, k, big)
    assert gradest._random.fast_key(key, big) is not key
    # Above gradest._streamed.MIN_NUMBERS numbers one device streams over blocks of samples;
    # under the mesh the estimators hold the samples, whose leading axis is the one split.
    large = gradest._streamed.MIN_NUMBERS // 2 + 2
    ESTIMATORS["score_function, streamed size"] = lambda k: gradest.score_function(quad, *normal, k, large)
    ESTIMATORS["pathwise, streamed size"] = lambda k: gradest.pathwise(quad, *normal, k, large)
    assert gradest._streamed.applies(normal[0], normal[1], key, large)
    # Above REDUCTION_WINDOW coordinates one device evaluates the measure-valued costs in blocks
    # of samples; under the mesh the samples stay one vmapped axis, the one split.
    wide = (gradest.Normal(), {"loc": jnp.zeros(40), "scale": jnp.ones(40)})
    ESTIMATORS["measure_valued, blocked size"] = lambda k: gradest.measure_valued(quad, *wide, k, 1312)
    # Without the mesh nothing is split, so the check below can fail.
    assert "all-reduce" not in jax.jit(ESTIMATORS["score_function"]).lower(key).compile().as_text()
    mesh = jax.make_mesh((2,), ("samples",), axis_types=(AxisType.Auto,))
    with jax.set_mesh(mesh):
        assert gradest._random.fast_key(key, big) is key
        assert not gradest._streamed.applies(normal[0], normal[1], key, large)
    for name, estimator in ESTIMATORS.items():
        one_device = jax.jit(estimator)(key)
        with jax.set_mesh(mesh):
            program = jax.jit(estimator).lower(key).compile()
            sharded = program(key)
        # The samples were split: the means are partial sums combined across the devices.
        assert "all-reduce" in program.as_text(), name
        # Float32 terms summed in another order (block by block) round apart by up to about 1e-5
        # of the sum.
        rtol = 1e-4 if "streamed" in name or "blocked" in name else 1e-5
        for a, b in zip(jax.tree.leaves(one_device), jax.tree.leaves(sharded), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-6, err_msg=name)
    print("sharded estimates agree")
    """
)


def test_estimators_shard_the_sample_axis_over_two_devices():
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    lib = str(Path(__file__).resolve().parent.parent / "lib")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [lib, env.get("PYTHONPATH")]))
    command = [sys.executable, "-c", SCRIPT]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sharded estimates agree" in result.stdout
