"""gradest.nets: shapes, the initial scale, the forward pass against a hand-written one, bad inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest


def test_shapes_and_zero_biases() -> None:
    layers = gradest.mlp_init(jax.random.key(0), (5, 7, 3))
    assert [layer["w"].shape for layer in layers] == [(5, 7), (7, 3)]
    assert all(float(jnp.abs(layer["b"]).max()) == 0.0 for layer in layers)
    assert gradest.mlp_apply(layers, jnp.ones((4, 2, 5))).shape == (4, 2, 3)


def test_initial_scale_preserves_the_variance() -> None:
    # w ~ N(0, 1/n_in): the sample variance of n_in * w**2 over 256 x 512 weights is close to 1.
    (layer,) = gradest.mlp_init(jax.random.key(1), (256, 512))
    scaled = 256 * np.asarray(layer["w"]) ** 2
    se = scaled.std() / np.sqrt(scaled.size)
    assert abs(scaled.mean() - 1.0) < 4 * se


def test_forward_pass_matches_the_formula() -> None:
    layers = gradest.mlp_init(jax.random.key(2), (3, 4, 4, 2))
    x = jax.random.normal(jax.random.key(3), (6, 3))
    h = jnp.tanh(x @ layers[0]["w"] + layers[0]["b"])
    h = jnp.tanh(h @ layers[1]["w"] + layers[1]["b"])
    expected = h @ layers[2]["w"] + layers[2]["b"]
    np.testing.assert_allclose(gradest.mlp_apply(layers, x), expected, rtol=1e-6)
    relu = gradest.mlp_apply(layers, x, activation=jax.nn.relu)
    assert not np.allclose(relu, expected)  # the activation argument is used


def test_gradients_and_vmap_over_seeds() -> None:
    init = jax.vmap(lambda k: gradest.mlp_init(k, (2, 3, 1)))(jax.random.split(jax.random.key(4), 5))
    assert init[0]["w"].shape == (5, 2, 3)
    layers = gradest.mlp_init(jax.random.key(5), (2, 3, 1))
    grads = jax.grad(lambda p: jnp.sum(gradest.mlp_apply(p, jnp.ones(2)) ** 2))(layers)
    assert jax.tree.structure(grads) == jax.tree.structure(layers)


@pytest.mark.parametrize(("sizes", "match"), [((3,), "at least two"), ((3, 0), "sizes"), ((3, 2.5), "sizes")])
def test_bad_sizes_raise(sizes: tuple, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        gradest.mlp_init(jax.random.key(0), sizes)


def test_bad_key_and_empty_layers_raise() -> None:
    with pytest.raises(TypeError, match="key"):
        gradest.mlp_init(0, (2, 3))
    with pytest.raises(ValueError, match="layers"):
        gradest.mlp_apply([], jnp.ones(2))
