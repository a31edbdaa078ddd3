r"""Control variates and baselines that reduce the variance of score-function estimates.

A control variate is a quantity :math:`h` with known expectation :math:`\mu_h`, correlated with the
estimator :math:`\hat g`: :math:`\hat g - c\,(h - \mu_h)` has the same expectation for every fixed
:math:`c`, and its variance is smallest, :math:`(1-\rho^2)\operatorname{Var}\hat g`, at
:math:`c^\star = \operatorname{Cov}(\hat g, h)/\operatorname{Var} h` :cite:p:`owen2013monte`.
A *baseline* is the control variate :math:`h = b\,\nabla_\phi\log p_\phi(x)`, whose expectation
is zero as long as :math:`b` does not depend on :math:`x`.

Two kinds of functions live here:

* baselines ``b(f_values) -> (N,)`` that plug into
  ``gradest.score_function(f, dist, params, key, num_samples, baseline=b)``: :func:`constant`,
  :func:`batch_mean` (biased, for teaching), :func:`rloo`, :func:`group_normalized`, and the
  moving average (:func:`moving_average_init`, :func:`moving_average_update`,
  :func:`moving_average_value`, a functional state carried by the training loop);
* estimators and combinators that need more than the costs: :func:`score_terms` (per-sample
  costs and scores), :func:`optimal_baseline_score_function` (the per-parameter optimal baseline)
  and :func:`with_control_variate` / :func:`optimal_coefficient` (any control variate with known
  expectation).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradest import _validation as v
from gradest import distributions
from gradest.types import Cost, Distribution, Params


def _check_f_values(f_values: Any, minimum: int = 1) -> jax.Array:
    arr = v.as_float_array("f_values", f_values)
    if arr.ndim != 1:
        raise ValueError(f"f_values must be one cost per sample, shape (N,), got {arr.shape}")
    if arr.shape[0] < minimum:
        raise ValueError(f"f_values must hold num_samples >= {minimum} costs, got {arr.shape[0]}")
    return arr


class ConstantBaseline:
    """``b(f_values) -> (N,)``: the same finite number ``value`` for every sample (:func:`constant`).

    An estimator can tell it from a baseline computed from the costs: a score function that streams
    its samples subtracts it in one pass, where a function of all N costs needs them first.

    Raises:
      TypeError: if ``value`` is not numeric. ValueError: if it is not a finite scalar.
    """

    def __init__(self, value: Any) -> None:
        b = v.as_float_array("value", value)
        if b.ndim != 0:
            raise ValueError(f"value must be a scalar, got shape {b.shape}")
        v.check_baseline_constant("value", b)
        self.value = b

    def __call__(self, f_values: jax.Array) -> jax.Array:
        return jnp.broadcast_to(self.value, jnp.shape(f_values)).astype(jnp.result_type(f_values))


def constant(value: Any) -> ConstantBaseline:
    r"""A baseline that is the same number for every sample: it never biases the estimator.

    .. math:: b_i = b,\qquad \mathbb E[b\,\nabla_\phi\log p_\phi(x)] = b\,\nabla_\phi\!\int p_\phi = 0.

    Passing the number itself as ``baseline=`` is equivalent; this function exists so that every
    baseline of the book is a callable with the same signature :cite:p:`williams1992simple`.

    Args:
      value: a finite scalar.

    Returns:
      ``b(f_values) -> (N,)``, the constant broadcast to the costs' shape (a
      :class:`ConstantBaseline`).

    Raises:
      TypeError: if ``value`` is not numeric. ValueError: if it is not a finite scalar.
    """
    return ConstantBaseline(value)


def batch_mean(f_values: jax.Array) -> jax.Array:
    r"""The mean of the batch *including* the sample itself: a **biased** baseline, for comparison.

    Because :math:`b_i` contains :math:`f(x_i)`, the term :math:`-\frac1N f(x_i)\nabla\log p(x_i)`
    does not vanish in expectation, and for i.i.d. samples the estimator is shrunk exactly:

    .. math:: b_i = \frac1N\sum_{j} f_j,\qquad
              \mathbb E\Big[\frac1N\sum_i (f_i - b_i)\,\nabla_\phi\log p_\phi(x_i)\Big]
              = \frac{N-1}{N}\,\nabla_\phi\mathbb E[f].

    Use :func:`rloo` instead :cite:p:`kool2019buy`.

    Args:
      f_values: shape (N,), N >= 1.

    Returns:
      The batch mean repeated, shape (N,).

    Raises:
      ValueError: if ``f_values`` is not one-dimensional.
    """
    f_values = _check_f_values(f_values)
    return jnp.broadcast_to(jnp.mean(f_values), f_values.shape)


def rloo(f_values: jax.Array) -> jax.Array:
    r"""Leave-one-out baseline (RLOO): the mean cost of the *other* samples of the batch.

    .. math:: b_i = \frac{1}{N-1}\sum_{j\ne i} f(x_j)

    :math:`b_i` is independent of :math:`x_i`, so the estimator stays unbiased, and
    :math:`\frac1N\sum_i (f_i - b_i) = \frac{1}{N-1}\sum_i (f_i - \bar f)`
    :cite:p:`kool2019buy`.

    Args:
      f_values: shape (N,), the costs of the batch; N = ``num_samples`` >= 2.

    Returns:
      Shape (N,).

    Raises:
      ValueError: if ``f_values`` is not one-dimensional or has fewer than 2 entries
        (``num_samples < 2``).
    """
    f_values = _check_f_values(f_values, minimum=2)
    n = f_values.shape[0]
    # The barrier keeps the sum over the costs: XLA would otherwise merge it with the sum inside a
    # cost of several coordinates into one reduction over all N·D terms, which its CPU backend
    # computes from a copy of them (the score function with RLOO took 13-16 % longer at
    # N = 10⁴-2·10⁴, D = 10).
    return (jnp.sum(jax.lax.optimization_barrier(f_values)) - f_values) / (n - 1)


def group_normalized_advantages(f_values: jax.Array, *, eps: float = 1e-4) -> jax.Array:
    r"""GRPO's group-normalised advantages: each cost standardised by its group's mean and std.

    .. math:: A_i = \frac{f_i - \bar f}{s + \varepsilon},\qquad
              \bar f = \frac1N\sum_j f_j,\quad s^2 = \frac{1}{N-1}\sum_j (f_j - \bar f)^2

    :cite:p:`shao2024deepseekmath`. :math:`\frac1N\sum_i A_i\nabla\log p(x_i)` is **not** an unbiased
    estimate of :math:`\nabla\mathbb E[f]`, nor of :math:`\nabla\mathbb E[f]/\operatorname{sd}(f)`:
    the mean contains :math:`f_i` (the bias of :func:`batch_mean`), and the random scale
    :math:`1/s` is computed from the same samples, so it weights batches unequally. The chapter on
    control variates measures this bias; the scale invariance is what GRPO wants from it.

    Args:
      f_values: shape (N,), N = ``num_samples`` >= 2.
      eps: > 0, bounds the advantages of a group whose costs barely differ (a group of exactly
        equal costs gets zero advantages).

    Returns:
      The advantages, shape (N,).

    Raises:
      ValueError: if ``f_values`` has fewer than 2 entries (``num_samples < 2``) or ``eps <= 0``.
    """
    f_values = _check_f_values(f_values, minimum=2)
    v.check_positive("eps", v.as_float_array("eps", eps))
    centred = f_values - jnp.mean(f_values)
    # A group of equal costs (all rewards 0, say) must give exactly zero, not rounding error / eps.
    all_equal = jnp.max(f_values) == jnp.min(f_values)
    return jnp.where(all_equal, 0.0, centred / (jnp.std(f_values, ddof=1) + eps))


def group_normalized(f_values: jax.Array, *, eps: float = 1e-4) -> jax.Array:
    r"""Group normalisation written as a baseline, so that :math:`f_i - b_i = A_i`.

    .. math:: b_i = f_i - A_i

    with :math:`A_i` from :func:`group_normalized_advantages` :cite:p:`shao2024deepseekmath`.
    ``score_function(f, dist, params, key, N, baseline=group_normalized)`` is then the GRPO
    policy-gradient direction (biased; see :func:`group_normalized_advantages`). Only the
    score term is normalised: the pathwise term of a cost that depends on the parameters is not.

    Args:
      f_values: shape (N,), N >= 2.
      eps: > 0, as in :func:`group_normalized_advantages`.

    Returns:
      Shape (N,).

    Raises:
      ValueError: as :func:`group_normalized_advantages`.
    """
    f_values = _check_f_values(f_values, minimum=2)
    return f_values - group_normalized_advantages(f_values, eps=eps)


class MovingAverageState(NamedTuple):
    """State of an exponential moving average of past batch means (a pytree: carry it in ``scan``).

    Attributes:
      total: the decayed sum :math:`\\sum_t (1-\\beta)\\beta^{T-t}\\bar f_t`, a scalar.
      weight: the decayed weight :math:`1-\\beta^T` of the same sum, a scalar (0 before any update).
    """

    total: Any
    weight: Any


def moving_average_init() -> MovingAverageState:
    """The empty moving average: :func:`moving_average_value` of it is 0.

    Returns:
      :class:`MovingAverageState` with zero total and weight.
    """
    return MovingAverageState(jnp.zeros(()), jnp.zeros(()))


def moving_average_update(
    state: MovingAverageState, f_values: jax.Array, *, decay: float = 0.9
) -> MovingAverageState:
    r"""Fold one batch's mean cost into the moving average (functional: returns a new state).

    .. math:: T_t = \beta T_{t-1} + (1-\beta)\bar f_t,\qquad W_t = \beta W_{t-1} + (1-\beta)

    Call it *after* the gradient step that used :func:`moving_average_value`, so that the
    baseline of step t depends only on earlier batches and leaves step t unbiased
    :cite:p:`williams1992simple,greensmith2004variance`.

    Args:
      state: a :class:`MovingAverageState`.
      f_values: shape (N,), the costs of the batch just used.
      decay: β in [0, 1).

    Returns:
      The new :class:`MovingAverageState`.

    Raises:
      TypeError: if ``state`` is not a :class:`MovingAverageState`.
      ValueError: if ``decay`` is outside [0, 1) or ``f_values`` is not one-dimensional.
    """
    if not isinstance(state, MovingAverageState):
        raise TypeError(f"state must be a MovingAverageState, got {type(state).__name__}")
    beta = v.as_float_array("decay", decay)
    if v.is_concrete(beta) and not (0.0 <= float(beta) < 1.0):
        raise ValueError(f"decay must lie in [0, 1), got {float(beta)}")
    f_values = _check_f_values(f_values)
    return MovingAverageState(
        beta * state.total + (1 - beta) * jnp.mean(f_values),
        beta * state.weight + (1 - beta),
    )


def moving_average_value(state: MovingAverageState) -> jax.Array:
    r"""The bias-corrected moving average :math:`T_t / W_t` (0 before the first update).

    Dividing by :math:`W_t = 1-\beta^t` removes the pull towards the initial zero, as in Adam.
    Pass the result as a constant ``baseline=`` :cite:p:`williams1992simple`.

    Args:
      state: a :class:`MovingAverageState`.

    Returns:
      A scalar.

    Raises:
      TypeError: if ``state`` is not a :class:`MovingAverageState`.
    """
    if not isinstance(state, MovingAverageState):
        raise TypeError(f"state must be a MovingAverageState, got {type(state).__name__}")
    return jnp.where(state.weight > 0, state.total / jnp.where(state.weight > 0, state.weight, 1.0), 0.0)


class ScoreTerms(NamedTuple):
    """Per-sample ingredients of a score-function estimate (see :func:`score_terms`).

    Attributes:
      x: the samples, shape ``(N,) + batch_shape``.
      f_values: the costs :math:`f(x_i, \\phi)`, shape (N,).
      scores: :math:`\\nabla_\\phi\\log p_\\phi(x_i)`, a pytree shaped like the parameters with a
        leading axis N on every leaf.
      pathwise: :math:`\\frac1N\\sum_i\\partial_\\phi f(x_i, \\phi)` at fixed samples, shaped like the
        parameters (zero when f does not depend on them).
    """

    x: Any
    f_values: Any
    scores: Any
    pathwise: Any


def score_terms(f: Cost, dist: Distribution, params: Params, key: jax.Array, num_samples: int) -> ScoreTerms:
    r"""Samples, costs, per-sample scores and the pathwise term, for baselines that need scores.

    .. math:: x_i\sim p_\phi,\quad f_i = f(x_i,\phi),\quad s_i = \nabla_\phi\log p_\phi(x_i),\quad
              \frac1N\sum_i \partial_\phi f(x_i,\phi)

    The plain score-function estimate is
    ``jax.tree.map(lambda s, p: mean(f_values * s) + p, scores, pathwise)``
    :cite:p:`williams1992simple`. Uses the same samples as :func:`gradest.estimators.score_function` with the
    same key.

    Args:
      f: ``f(x, params) -> scalar``, need not be differentiable in x.
      dist: a distribution with ``sample`` and ``log_prob``.
      params: the distribution's parameters, a pytree.
      key: a ``jax.random`` key.
      num_samples: N >= 1.

    Returns:
      :class:`ScoreTerms`.

    Raises:
      TypeError, ValueError: as :func:`gradest.estimators.score_function`.
    """
    params = v.check_common(f, dist, params, key, num_samples)
    x = distributions.sample_checked(dist, params, key, (num_samples,))
    f_values = jax.lax.stop_gradient(v.cost_values(f, x, params, num_samples))

    def log_p(p: Params, xi: jax.Array) -> jax.Array:
        return jnp.sum(distributions.log_prob_checked(dist, p, xi))

    scores = jax.vmap(jax.grad(log_p), in_axes=(None, 0))(params, x)
    pathwise = jax.grad(lambda p: jnp.mean(v.cost_values(f, x, p, num_samples)))(params)
    return ScoreTerms(x, f_values, scores, pathwise)


def optimal_baseline_score_function(
    f: Cost,
    dist: Distribution,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    leave_one_out: bool = True,
) -> Params:
    r"""Score-function estimate with the variance-optimal baseline of each parameter, from the batch.

    For parameter component j with score :math:`s_j`, the baseline minimising the variance of
    :math:`(f-b_j)s_j` is

    .. math:: b_j^\star = \frac{\mathbb E[f\,s_j^2]}{\mathbb E[s_j^2]},\qquad
              \hat g_j = \frac1N\sum_i (f_i - b_{ij})\,s_{ij} + \frac1N\sum_i\partial_{\phi_j} f(x_i,\phi),

    estimated with :math:`b_{ij} = \sum_{m\ne i} f_m s_{mj}^2 / \sum_{m\ne i} s_{mj}^2` (leave one
    out: unbiased) or, with ``leave_one_out=False``, with the sums over the whole batch, which puts
    :math:`f_i` into its own baseline and biases the estimate by :math:`O(1/N)`
    :cite:p:`greensmith2004variance,mohamed2020monte`. A component whose scores are all zero
    (a ``-inf`` logit) gets baseline 0 and estimate 0.

    Args:
      f: ``f(x, params) -> scalar``.
      dist: a distribution with ``sample`` and ``log_prob``.
      params: the distribution's parameters, a pytree.
      key: a ``jax.random`` key.
      num_samples: N >= 2 (with N = 1 the leave-one-out baseline has no other sample, and the
        full-batch baseline equals the cost, so the estimate would be exactly 0).
      leave_one_out: whether sample i is excluded from its own baseline.

    Returns:
      A pytree shaped like ``params``.

    Raises:
      ValueError: if ``num_samples`` is too small, or as :func:`gradest.estimators.score_function`.
      TypeError: as :func:`gradest.estimators.score_function`.
    """
    v.check_positive_int("num_samples", num_samples, minimum=2)
    terms = score_terms(f, dist, params, key, num_samples)
    fv = terms.f_values

    def component(s: jax.Array, path: jax.Array) -> jax.Array:
        fb = fv.reshape((-1,) + (1,) * (s.ndim - 1))
        s2 = s**2
        num, den = jnp.sum(fb * s2, axis=0), jnp.sum(s2, axis=0)
        if leave_one_out:
            num, den = num - fb * s2, den - s2
        b = jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 0.0)
        return jnp.mean((fb - b) * s, axis=0) + path

    return jax.tree.map(component, terms.scores, terms.pathwise)


def optimal_coefficient(estimates: Any, controls: Any) -> Any:
    r"""Per-element optimal control-variate coefficient estimated from a batch.

    .. math:: c^\star = \frac{\operatorname{Cov}(g, h)}{\operatorname{Var}(h)}

    over the leading (sample) axis; elements where :math:`h` does not vary get 0
    :cite:p:`owen2013monte`.

    Args:
      estimates: pytree of per-sample estimates :math:`g_i`, every leaf shape ``(N, ...)``, N >= 2.
      controls: per-sample control variates :math:`h_i`, the structure and shapes of ``estimates``.

    Returns:
      A pytree shaped like one estimate (the leaves without their leading axis).

    Raises:
      ValueError: if ``controls`` does not match ``estimates`` or N < 2.
    """
    v.check_same_structure("controls", controls, estimates, "estimates")
    for leaf in jax.tree.leaves(estimates):
        if jnp.ndim(leaf) < 1 or jnp.shape(leaf)[0] < 2:
            raise ValueError(f"estimates need a leading sample axis N >= 2, got shape {jnp.shape(leaf)}")

    def coef(g: jax.Array, h: jax.Array) -> jax.Array:
        hc = h - jnp.mean(h, axis=0)
        cov = jnp.mean((g - jnp.mean(g, axis=0)) * hc, axis=0)
        var = jnp.mean(hc**2, axis=0)
        return jnp.where(var > 0, cov / jnp.where(var > 0, var, 1.0), 0.0)

    return jax.tree.map(coef, estimates, controls)


def with_control_variate(estimates: Any, controls: Any, control_mean: Any, *, coefficient: Any = None) -> Any:
    r"""Combine per-sample estimates with a control variate of known expectation.

    .. math:: \hat g_{\mathrm{cv}} = \frac1N\sum_i g_i - c\Big(\frac1N\sum_i h_i - \mu_h\Big)

    With a fixed ``coefficient`` the result is unbiased for :math:`\mathbb E[g]`, and its variance is
    :math:`\operatorname{Var}\bar g\,(1-\rho^2)` at :math:`c = c^\star`. With ``coefficient=None``,
    :math:`c^\star` is estimated from the same batch (:func:`optimal_coefficient`), which adds a
    bias of order :math:`1/N`; pass a coefficient estimated on other samples to avoid it
    :cite:p:`owen2013monte`.

    Args:
      estimates: pytree of per-sample estimates :math:`g_i`, every leaf shape ``(N, ...)``.
      controls: per-sample control variates :math:`h_i`, the structure and shapes of ``estimates``.
      control_mean: :math:`\mu_h = \mathbb E[h]`, shaped like one estimate.
      coefficient: ``None`` (estimate :math:`c^\star`, N >= 2), or c shaped like one estimate
        (scalars broadcast).

    Returns:
      A pytree shaped like one estimate.

    Raises:
      ValueError: if ``controls``, ``control_mean`` or ``coefficient`` do not match ``estimates``.
    """
    v.check_same_structure("controls", controls, estimates, "estimates")
    one = jax.tree.map(lambda g: g[0], estimates)
    v.check_same_structure("control_mean", control_mean, one, "one estimate")
    if coefficient is None:
        c = optimal_coefficient(estimates, controls)
    elif jax.tree.structure(coefficient) == jax.tree.structure(one):  # type: ignore[operator]
        c = coefficient
    elif not isinstance(coefficient, dict | list | tuple) and np.ndim(coefficient) == 0:
        c = jax.tree.map(lambda _: v.as_float_array("coefficient", coefficient), one)
    else:
        raise ValueError("coefficient must be a scalar or have the structure of one estimate")
    return jax.tree.map(
        lambda g, h, mu, ci: jnp.mean(g, axis=0) - ci * (jnp.mean(h, axis=0) - mu),
        estimates,
        controls,
        control_mean,
        c,
    )
