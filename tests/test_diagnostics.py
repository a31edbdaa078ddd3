"""estimator_stats and unbiasedness_check: known answers, power against a biased estimator, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradest


def normal_estimator(key, mean=1.0, sd=2.0):
    """An 'estimator' whose estimates are N(mean, sd²): its statistics are known exactly."""
    return {"a": mean + sd * jax.random.normal(key), "b": jnp.full(2, 3.0) + jax.random.normal(key, (2,))}


def test_estimator_stats_recovers_mean_variance_and_snr():
    stats = gradest.estimator_stats(normal_estimator, jax.random.key(0), 20_000)
    assert stats.num_repeats == 20_000
    assert abs(float(stats.mean["a"]) - 1.0) < 4 * 2.0 / np.sqrt(20_000)
    assert abs(float(stats.variance["a"]) / 4.0 - 1) < 0.05
    np.testing.assert_allclose(stats.stderr["a"], np.sqrt(stats.variance["a"] / 20_000), rtol=1e-6)
    np.testing.assert_allclose(stats.snr["a"], abs(stats.mean["a"]) / np.sqrt(stats.variance["a"]), rtol=1e-6)
    assert stats.mean["b"].shape == (2,)


def test_batched_evaluation_gives_the_same_estimates_as_vmap():
    by_vmap = gradest.repeat_estimates(normal_estimator, jax.random.key(1), 100)
    by_map = gradest.repeat_estimates(normal_estimator, jax.random.key(1), 100, batch_size=16)
    np.testing.assert_allclose(by_vmap["a"], by_map["a"], rtol=1e-6)


def test_unbiasedness_check_passes_an_unbiased_estimator():
    exact = {"a": 1.0, "b": jnp.full(2, 3.0)}
    report = gradest.unbiasedness_check(normal_estimator, exact, jax.random.key(2), 5000)
    assert report.passed and report.max_abs_z < 4.0
    assert report.z["b"].shape == (2,)


def test_unbiasedness_check_fails_a_biased_estimator():
    """A bias of 0.15 standard deviations of one estimate is caught at R = 5000 (expected z ≈ 10)."""
    exact = {"a": 1.0, "b": jnp.full(2, 3.0)}
    report = gradest.unbiasedness_check(
        lambda k: normal_estimator(k, mean=1.3), exact, jax.random.key(2), 5000
    )
    assert not report.passed and report.max_abs_z > 4.0
    assert report.verdict().startswith("biased")


def test_a_deterministic_estimator_has_its_exact_mean_and_zero_variance():
    """400 000 copies of 0.1 in float32: a plain float32 sum drifts by ~1e-6 relative, the shifted
    summary does not, so an exact estimator is reported exact and a wrong constant is not."""
    exact = jnp.float32(0.1)
    stats = gradest.estimator_stats(lambda k: exact, jax.random.key(4), 400_000)
    assert float(stats.mean) == float(exact) and float(stats.variance) == 0.0
    report = gradest.unbiasedness_check(lambda k: exact, exact, jax.random.key(4), 400_000)
    assert report.passed and report.verdict().startswith("no bias: every estimate equals")
    wrong = gradest.unbiasedness_check(lambda k: exact * (1 + 1e-6), exact, jax.random.key(4), 400_000)
    assert not wrong.passed and np.isinf(wrong.max_abs_z)


def test_a_passing_check_reports_the_smallest_bias_it_could_detect():
    """SE of the mean of R estimates of sd 2 is 2/sqrt(R): the check sees biases > 4 * 2/sqrt(R)."""
    exact = {"a": 1.0, "b": jnp.full(2, 3.0)}
    report = gradest.unbiasedness_check(normal_estimator, exact, jax.random.key(1), 2500)
    assert report.passed
    np.testing.assert_allclose(report.max_detectable_bias, 4.0 * 2.0 / 50.0, rtol=0.1)
    np.testing.assert_allclose(report.detectable_bias["b"], jnp.full(2, 4.0 / 50.0), rtol=0.1)
    assert "larger than 0.16" in report.verdict()
    # The same bias that the check cannot see at R = 2500 it sees at R = 250 000 (power grows as sqrt(R)).
    small_bias = lambda k: normal_estimator(k, mean=1.03)
    assert gradest.unbiasedness_check(small_bias, exact, jax.random.key(3), 2500).passed
    assert not gradest.unbiasedness_check(small_bias, exact, jax.random.key(3), 250_000).passed


def test_zero_variance_estimates_score_zero_or_infinity():
    stats = gradest.estimator_stats(lambda k: jnp.float32(2.0), jax.random.key(0), 10)
    assert float(gradest.z_scores(stats, 2.0)) == 0.0
    assert float(gradest.z_scores(stats, 1.0)) == np.inf


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gradest.estimator_stats("not a function", jax.random.key(0), 10), TypeError, "estimator"),
        (lambda: gradest.estimator_stats(normal_estimator, jax.random.key(0), 1), ValueError, "num_repeats"),
        (lambda: gradest.estimator_stats(normal_estimator, jax.random.key(0), 2.5), TypeError, "num_repeats"),
        (lambda: gradest.estimator_stats(normal_estimator, 0, 10), TypeError, "key"),
        (
            lambda: gradest.repeat_estimates(normal_estimator, jax.random.key(0), 10, batch_size=0),
            ValueError,
            "batch_size",
        ),
        (
            lambda: gradest.unbiasedness_check(normal_estimator, {"a": 1.0}, jax.random.key(0), 10),
            ValueError,
            "exact",
        ),
        (
            lambda: gradest.unbiasedness_check(
                normal_estimator, {"a": 1.0, "b": jnp.zeros(3)}, jax.random.key(0), 10
            ),
            ValueError,
            "exact",
        ),
        (
            lambda: gradest.unbiasedness_check(
                normal_estimator, {"a": 1.0, "b": jnp.zeros(2)}, jax.random.key(0), 10, tolerance=0.0
            ),
            ValueError,
            "tolerance",
        ),
        (lambda: gradest.summarize(jnp.zeros((1, 3))), ValueError, "repeats"),
    ],
)
def test_bad_diagnostics_arguments_are_rejected(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_a_check_of_a_new_estimator_compiles_three_programs():
    """The repeated estimates (split keys included), their moments, and the z-scores with the
    detectable bias, once a first check has compiled what every check shares: eager ``jnp``
    statistics compiled one program per operation and leaf shape (42 in all here)."""
    compiled = []

    def count(event, duration_secs, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiled.append(duration_secs)

    shapes = {"a": jnp.full((3, 7), 1.0), "b": jnp.full(11, 3.0)}  # leaf shapes no other test uses

    def estimator(key):
        return jax.tree.map(lambda x: x + jax.random.normal(key, x.shape), shapes)

    gradest.unbiasedness_check(normal_estimator, {"a": 1.0, "b": jnp.full(2, 3.0)}, jax.random.key(4), 5)
    jax.monitoring.register_event_duration_secs_listener(count)
    try:
        report = gradest.unbiasedness_check(estimator, shapes, jax.random.key(4), 37)
    finally:
        jax.monitoring.unregister_event_duration_listener(count)
    assert report.passed
    assert len(compiled) == 3, len(compiled)
