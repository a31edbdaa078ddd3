"""gradest.logistic_expectation: exact expectations over logistic noise, checked on known integrals."""

from __future__ import annotations

import numpy as np
import pytest

import gradest


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize("logit", [-2.0, 0.0, 0.7, 3.0])
def test_probability_of_the_bernoulli_sample(logit: float) -> None:
    # P(z > 0) = σ(η): the jump sits exactly at the split, so the rule is exact.
    value = gradest.logistic_expectation(lambda z: (z > 0).astype(float), logit)
    assert value == pytest.approx(_sigmoid(logit), rel=1e-12)


def test_a_smooth_known_integral() -> None:
    # E[σ'(ℓ)] = ∫ σ'(ℓ)² dℓ = ∫ s(1 - s) ds = 1/6 at η = 0.
    value = gradest.logistic_expectation(lambda z: _sigmoid(z) * (1 - _sigmoid(z)), 0.0)
    assert value == pytest.approx(1 / 6, rel=1e-9)


def test_mean_and_second_moment_of_the_logistic() -> None:
    # E[z] = η and Var z = π²/3: integrands with logarithmic end-point singularities.
    mean = gradest.logistic_expectation(lambda z: z, 0.4, num_nodes=400)
    second = gradest.logistic_expectation(lambda z: z**2, 0.4, num_nodes=400)
    assert mean == pytest.approx(0.4, abs=1e-3)
    assert second - mean**2 == pytest.approx(np.pi**2 / 3, rel=1e-3)


def test_the_split_matters_for_a_jump() -> None:
    # Without the split at z = 0 (one Gauss-Legendre rule over (0, 1)) the same number of nodes
    # integrates the jump of H(z) with an error far above the split rule's.
    logit, nodes = 0.3, 20
    x, w = np.polynomial.legendre.leggauss(2 * nodes)
    u = (x + 1) / 2
    unsplit = float(np.sum(w / 2 * ((logit + np.log(u) - np.log1p(-u)) > 0)))
    split = gradest.logistic_expectation(lambda z: (z > 0).astype(float), logit, num_nodes=nodes)
    exact = _sigmoid(logit)
    assert abs(split - exact) < 1e-12 < 1e-4 < abs(unsplit - exact)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"g": 3.0}, TypeError, "g must be callable"),
        ({"logit": np.inf}, ValueError, "logit must be finite"),
        ({"logit": np.zeros(2)}, ValueError, "logit must be a scalar"),
        ({"num_nodes": 0}, ValueError, "num_nodes"),
        ({"num_nodes": 2.5}, TypeError, "num_nodes"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, error: type, match: str) -> None:
    args = {"g": lambda z: z, "logit": 0.0, "num_nodes": 10}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        gradest.logistic_expectation(args["g"], args["logit"], num_nodes=args["num_nodes"])
