r"""REBAR and RELAX: unbiased gradients of discrete expectations with relaxed control variates.

A Bernoulli or categorical sample is a threshold of continuous noise: :math:`b = H(z)` with
:math:`z = \eta + \ell` (logistic noise :math:`\ell`) for a Bernoulli, :math:`b = \arg\max_k z_k`
with :math:`z_k = \log\pi_k + g_k` (Gumbel noise) for a categorical. A control variate
:math:`c(z)` of the continuous variable, for instance the cost of the Concrete relaxation
:math:`c(z) = \nu\,f(\sigma(z/\tau))`, is correlated with :math:`f(b)`; its expectation is removed
exactly with a second, *conditional* sample :math:`\tilde z \sim p(z \mid b)`:

.. math::
   \hat g = \big[f(b) - c(\tilde z)\big]\,\nabla_\phi \log p_\phi(b)
            + \nabla_\phi c(z) - \nabla_\phi c(\tilde z),

unbiased for every function :math:`c` :cite:p:`tucker2017rebar,grathwohl2018backpropagation`.
REBAR takes :math:`c(z) = \nu\,f(\sigma_\tau(z))`; RELAX takes any differentiable surrogate
:math:`c_\psi(z)`. Because the estimator is unbiased for every setting of the control variate's
parameters ψ, :math:`\partial_\psi \operatorname{Var}\hat g = \partial_\psi \mathbb E[\hat g^2]`,
and a single sample of :math:`\partial_\psi \hat g^2` is an unbiased estimate of the gradient of
the variance: :func:`estimate_and_variance_grad` returns it so a training loop can tune ψ.

The cost ``f`` is evaluated on the discrete sample *and* on the relaxation, so it must be defined
on both: on {0, 1} and the interval [0, 1] for a Bernoulli variable, and on one-hot vectors and
the probability simplex for a categorical variable (``f`` receives one-hot vectors, not indices).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradest import _random, _scores, _sharding
from gradest import _validation as v
from gradest.distributions import Bernoulli, Categorical
from gradest.types import Cost, Params

Surrogate = Callable[[jax.Array, Any], jax.Array]


class RelaxNoise(NamedTuple):
    """The three samples of one REBAR/RELAX estimate (see :func:`relaxation_noise`).

    Attributes:
      z: the continuous variable whose threshold is the sample, differentiable in the
        parameters; shape ``(N,) + batch_shape`` (Bernoulli) or ``(N,) + batch_shape + (K,)``
        (categorical: the perturbed log-probabilities).
      b: the discrete sample, no gradient: 0.0/1.0 of shape ``(N,) + batch_shape`` (Bernoulli) or
        one-hot vectors of shape ``(N,) + batch_shape + (K,)`` (categorical).
      z_tilde: an independent sample of :math:`z` given ``b``, the shape of ``z``, differentiable in
        the parameters through the conditional reparameterization.
    """

    z: jax.Array
    b: jax.Array
    z_tilde: jax.Array


def _check_dist(dist: Any) -> None:
    v.check_distribution("dist", dist)
    if not isinstance(dist, Bernoulli | Categorical):
        raise TypeError(
            f"dist must be gradest.Bernoulli() or gradest.Categorical(), got {type(dist).__name__}"
        )


def _check_params(dist: Any, params: Any) -> Params:
    checked = dist.check(params)
    if "logits" not in checked:
        raise ValueError("params must be given as {'logits': ...}: the relaxation is defined on the logits")
    if isinstance(dist, Bernoulli):
        # An infinite Bernoulli logit is a point mass: its log-probability and relaxation have no
        # finite derivative (and its exact gradient is 0).
        v.check_finite("params['logits']", checked["logits"])
    return checked


def _check_relax_arguments(f: Any, dist: Any, params: Any, key: Any, num_samples: Any) -> Params:
    """The prologue of :func:`rebar` and :func:`relax`: ``_validation``'s checks, and logits only."""
    v.check_callable("f", f)
    _check_dist(dist)
    v.check_key("key", key)
    v.check_positive_int("num_samples", num_samples)
    return _check_params(dist, params)


def _check_temperature(temperature: Any) -> jax.Array:
    return v.check_temperature("temperature", temperature, scalar=True)


def _uniform(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """U(0, 1) without 0, so that every logarithm below is finite."""
    return _random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)


def draw_uniforms(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> tuple[jax.Array, jax.Array]:
    """The random numbers of one REBAR/RELAX estimate: two arrays of U(0, 1) numbers (0 excluded).

    Args:
      key: a ``jax.random`` key.
      shape: ``(N,)`` + the logits' shape.
      dtype: the logits' floating dtype.

    Returns:
      ``(u, w)``, each of ``shape``: ``u`` makes the noise ``z`` and the sample ``b``, ``w`` the
      conditional re-sample ``z̃`` (:func:`relaxation_noise`). ``make bench`` times the rest of
      :func:`rebar` on numbers drawn beforehand with this (:func:`rebar_from_uniforms`).
    """
    key_u, key_w = jax.random.split(key)
    return _uniform(key_u, shape, dtype), _uniform(key_w, shape, dtype)


def _bernoulli_noise(logits: jax.Array, u: jax.Array, w: jax.Array) -> RelaxNoise:
    z = logits + jnp.log(u) - jnp.log1p(-u)
    b = jax.lax.stop_gradient((z > 0).astype(logits.dtype))
    log_w, log_1mw = jnp.log(w), jnp.log1p(-w)
    log_theta, log_1mtheta = jax.nn.log_sigmoid(logits), jax.nn.log_sigmoid(-logits)
    # u | b is uniform on (1 - θ, 1) for b = 1 and on (0, 1 - θ) for b = 0; z̃ = η + logit(u),
    # written with log-sigmoids so that θ near 0 or 1 loses no precision.
    z_one = jax.nn.softplus(logits) + jnp.logaddexp(log_1mtheta, log_theta + log_w) - log_1mw
    z_zero = -jax.nn.softplus(-logits) + log_w - jnp.logaddexp(log_theta, log_1mtheta + log_1mw)
    return RelaxNoise(z, b, jnp.where(b == 1, z_one, z_zero))


def _categorical_noise(logits: jax.Array, u: jax.Array, w: jax.Array) -> RelaxNoise:
    log_p = jax.nn.log_softmax(logits, axis=-1)
    z = log_p - jnp.log(-jnp.log(u))
    index = jnp.argmax(z, axis=-1)
    b = jax.lax.stop_gradient(jax.nn.one_hot(index, log_p.shape[-1], dtype=log_p.dtype))
    exp_noise = -jnp.log(w)
    # The maximum of Gumbels with locations log π is Gumbel(logsumexp log π = 0), independent of
    # the argmax; the other coordinates are Gumbel(log π_k) truncated below that maximum.
    top = -jnp.log(jnp.sum(b * exp_noise, axis=-1, keepdims=True))
    finite = jnp.isfinite(log_p)
    safe_log_p = jnp.where(finite, log_p, 0.0)
    others = -jnp.logaddexp(jnp.log(exp_noise) - safe_log_p, -top)
    z_tilde = jnp.where(b == 1, top, jnp.where(finite, others, -jnp.inf))
    return RelaxNoise(z, b, z_tilde)


def relaxation_noise(
    dist: Bernoulli | Categorical, params: Params, key: jax.Array, num_samples: int
) -> RelaxNoise:
    r"""The continuous noise ``z``, the discrete sample ``b = H(z)`` and a conditional re-sample ``z̃``.

    Bernoulli with logit η (θ = σ(η)): :math:`z = \eta + \log u - \log(1-u)`, :math:`b = \mathbf 1\{z>0\}`,
    and with an independent :math:`w \sim \mathcal U(0,1)`

    .. math::
       \tilde z = \eta + \operatorname{logit}\big(b\,(1-\theta + \theta w) + (1-b)(1-\theta) w\big),

    the logistic variable conditioned on its sign. Categorical with log-probabilities
    :math:`\log\pi_k`: :math:`z_k = \log\pi_k + g_k`, :math:`b = \arg\max_k z_k`, and with
    :math:`e_k = -\log w_k`

    .. math::
       \tilde z_b = -\log e_b, \qquad
       \tilde z_k = -\log\big(e_k\,e^{-\log\pi_k} + e^{-\tilde z_b}\big)\quad (k \neq b),

    the maximum (a Gumbel whose location :math:`\log\sum_k\pi_k = 0` does not depend on b) and
    Gumbels truncated below it :cite:p:`tucker2017rebar,maddison2017concrete`. Both ``z`` and ``z̃``
    are reparameterized: differentiable in the parameters. A ``-inf`` logit gives coordinates
    ``-inf`` of ``z`` and ``z̃`` with zero (not NaN) gradients.

    Args:
      dist: ``gradest.Bernoulli()`` or ``gradest.Categorical()``.
      params: ``{"logits": η}``, shape ``batch_shape`` (Bernoulli, finite) or
        ``batch_shape + (K,)`` (categorical, ``-inf`` allowed).
      key: a ``jax.random`` key.
      num_samples: N >= 1.

    Returns:
      :class:`RelaxNoise` with ``z``, ``b`` and ``z_tilde`` for N independent samples.

    Raises:
      TypeError: if ``dist`` is not a Bernoulli or categorical distribution, or ``key`` is not a
        key.
      ValueError: if ``num_samples < 1`` or the logits are invalid (NaN, ``+inf``, an infinite
        Bernoulli logit, or probabilities instead of logits).
    """
    _check_dist(dist)
    v.check_key("key", key)
    v.check_positive_int("num_samples", num_samples)
    logits = _check_params(dist, params)["logits"]
    return _noise(dist, logits, _draw_for(logits, key, num_samples))


def _noise(
    dist: Bernoulli | Categorical, logits: jax.Array, uniforms: tuple[jax.Array, jax.Array]
) -> RelaxNoise:
    """:func:`relaxation_noise` for checked logits, from the numbers of :func:`draw_uniforms`."""
    if isinstance(dist, Bernoulli):
        return _bernoulli_noise(logits, *uniforms)
    return _categorical_noise(logits, *uniforms)


def relaxed_input(dist: Bernoulli | Categorical, z: jax.Array, temperature: Any) -> jax.Array:
    r"""The Concrete relaxation of a threshold: where the cost is evaluated for the control variate.

    .. math:: \sigma_\tau(z) = \frac{1}{1 + e^{-z/\tau}}\ \text{(Bernoulli)},\qquad
              \sigma_\tau(z)_k = \frac{e^{z_k/\tau}}{\sum_j e^{z_j/\tau}}\ \text{(categorical)},

    which tends to :math:`H(z)` (respectively the one-hot vector of :math:`\arg\max_k z_k`) as
    :math:`\tau \to 0` :cite:p:`maddison2017concrete,jang2017categorical`.

    Args:
      dist: ``gradest.Bernoulli()`` or ``gradest.Categorical()``.
      z: the noise ``z`` or ``z_tilde`` of :func:`relaxation_noise` (any leading shape).
      temperature: a scalar τ > 0, as in :func:`rebar` and
        :func:`gradest.gumbel.gumbel_softmax`; may be traced (a temperature being tuned).

    Returns:
      A point of [0, 1] (Bernoulli, shape of ``z``) or of the simplex (categorical, shape of
      ``z``, last axis the categories).

    Raises:
      TypeError: if ``dist`` is not a Bernoulli or categorical distribution.
      ValueError: if ``temperature`` is not a scalar > 0.
    """
    _check_dist(dist)
    tau = _check_temperature(temperature)
    if isinstance(dist, Bernoulli):
        return jax.nn.sigmoid(z / tau)
    return jax.nn.softmax(z / tau, axis=-1)


def _estimate(
    f: Cost,
    dist: Bernoulli | Categorical,
    params: Params,
    uniforms: tuple[jax.Array, jax.Array],
    control: Callable[[jax.Array, Params], jax.Array],
    control_name: str,
) -> Params:
    """The REBAR/RELAX estimate for a control variate ``control(z, params) -> scalar``.

    No ``stop_gradient`` is applied to the control variate's values, so the estimate stays
    differentiable in the control variate's own parameters (:func:`estimate_and_variance_grad`).
    """
    batch_control = jax.vmap(control, in_axes=(0, None))
    num_samples = uniforms[0].shape[0]

    def reparameterized_terms(p: Params) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        z, b, z_tilde = _sharding.shard_samples(_noise(dist, p["logits"], uniforms))
        c_z_tilde = batch_control(z_tilde, p)
        f_b = v.cost_values(f, b, p, num_samples)
        v.check_cost_values(control_name, c_z_tilde, num_samples)
        # f_b's gradient is that of a cost depending on the parameters directly, at the fixed b.
        return jnp.mean(batch_control(z, p) - c_z_tilde + f_b), (b, f_b - c_z_tilde)

    pathwise, (b, advantage) = jax.grad(reparameterized_terms, has_aux=True)(params)
    x = jnp.argmax(b, axis=-1) if isinstance(dist, Categorical) else b
    score = _scores.weighted_score(dist, params, x, advantage / num_samples)
    return jax.tree.map(jnp.add, score, pathwise)


def relax(
    f: Cost,
    dist: Bernoulli | Categorical,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    surrogate: Surrogate,
    surrogate_params: Any,
) -> Params:
    r"""RELAX estimate of :math:`\nabla_\phi\mathbb E[f(b)]` for Bernoulli or categorical variables.

    With the noise of :func:`relaxation_noise` and a differentiable surrogate :math:`c_\psi`,

    .. math::
       \begin{aligned}
       \hat g = {}& \frac1N\sum_{i=1}^N \Big(\big[f(b_i) - c_\psi(\tilde z_i)\big]
       \nabla_\phi\log p_\phi(b_i) + \nabla_\phi c_\psi(z_i) - \nabla_\phi c_\psi(\tilde z_i)\Big) \\
       & + \frac1N\sum_{i=1}^N \partial_\phi f(b_i, \phi),
       \end{aligned}

    unbiased for every surrogate: the three terms with :math:`c_\psi` are two estimates of
    :math:`\nabla_\phi\mathbb E[c_\psi(z)]` (score-function through b and the conditional sample,
    and pathwise) that cancel in expectation :cite:p:`grathwohl2018backpropagation`. The surrogate
    only needs to be differentiable in ``z``; ``f`` needs only values. Tune ψ to minimise the
    variance with :func:`estimate_and_variance_grad`.

    Args:
      f: ``f(x, params) -> scalar`` on one discrete sample ``x``: 0.0/1.0 of shape ``batch_shape``
        (Bernoulli) or one-hot of shape ``batch_shape + (K,)`` (categorical).
      dist: ``gradest.Bernoulli()`` or ``gradest.Categorical()``.
      params: ``{"logits": η}`` (see :func:`relaxation_noise`).
      key: a ``jax.random`` key.
      num_samples: N >= 1.
      surrogate: ``c(z, surrogate_params) -> scalar`` for one ``z`` of shape ``batch_shape``
        (Bernoulli) or ``batch_shape + (K,)`` (categorical), differentiable in ``z``. It may
        close over constants; gradients with respect to ``params`` flow through ``z`` only.
      surrogate_params: any pytree ψ passed to ``surrogate`` (may be traced).

    Returns:
      A pytree shaped like ``params``: the gradient estimate.

    Raises:
      TypeError: if ``f`` or ``surrogate`` is not callable, ``dist`` is not a Bernoulli or
        categorical distribution, or ``key`` is not a key.
      ValueError: if ``num_samples < 1`` or the logits are invalid (see :func:`relaxation_noise`).
    """
    params = _check_relax_arguments(f, dist, params, key, num_samples)
    v.check_callable("surrogate", surrogate)
    control = lambda z, _: surrogate(z, surrogate_params)
    return _estimate(f, dist, params, _draw_for(params["logits"], key, num_samples), control, "surrogate")


def rebar(
    f: Cost,
    dist: Bernoulli | Categorical,
    params: Params,
    key: jax.Array,
    num_samples: int,
    *,
    temperature: Any,
    scale: Any = 1.0,
) -> Params:
    r"""REBAR estimate of :math:`\nabla_\phi\mathbb E[f(b)]`: RELAX with the relaxed cost as surrogate.

    .. math::
       \begin{aligned}
       c(z) &= \nu\, f\big(\sigma_\tau(z)\big), \\
       \hat g &= \big[f(b) - \nu f(\sigma_\tau(\tilde z))\big]\nabla_\phi\log p_\phi(b)
       + \nu\nabla_\phi f(\sigma_\tau(z)) - \nu\nabla_\phi f(\sigma_\tau(\tilde z)),
       \end{aligned}

    averaged over N samples (plus :math:`\partial_\phi f(b, \phi)` when the cost depends on the
    parameters), with :math:`\sigma_\tau` from :func:`relaxed_input`. It is unbiased for every
    temperature τ > 0 and scale ν :cite:p:`tucker2017rebar`; both are tuned by minimising the
    variance (:func:`estimate_and_variance_grad`). The scale ν is the η of the paper (η is a
    logit in this book). ``f`` must be defined and differentiable on the relaxation: on [0, 1]
    for a Bernoulli variable, on the simplex for a categorical one.

    Args:
      f: ``f(x, params) -> scalar``, called on discrete samples (0.0/1.0, or one-hot vectors) and
        on their relaxations (points of [0, 1], or of the simplex); differentiable on the latter.
      dist: ``gradest.Bernoulli()`` or ``gradest.Categorical()``.
      params: ``{"logits": η}`` (see :func:`relaxation_noise`).
      key: a ``jax.random`` key.
      num_samples: N >= 1.
      temperature: τ > 0 of the relaxation (>= the smallest normal float), a scalar (may be
        traced).
      scale: ν, the multiplier of the control variate, a finite scalar (may be traced); 0 gives
        the plain score-function estimator.

    Returns:
      A pytree shaped like ``params``: the gradient estimate.

    Raises:
      TypeError: as :func:`relax`.
      ValueError: if ``temperature <= 0``, ``scale`` is not finite, or as :func:`relax`.
    """
    params = _check_relax_arguments(f, dist, params, key, num_samples)
    tau = _check_temperature(temperature)
    nu = v.as_float_array("scale", scale)
    if nu.ndim != 0:
        raise ValueError(f"scale must be a scalar, got shape {nu.shape}")
    v.check_finite("scale", nu)
    uniforms = _draw_for(params["logits"], key, num_samples)
    return rebar_from_uniforms(f, dist, params, uniforms, temperature=tau, scale=nu)


def rebar_from_uniforms(
    f: Cost,
    dist: Bernoulli | Categorical,
    params: Params,
    uniforms: tuple[jax.Array, jax.Array],
    *,
    temperature: jax.Array,
    scale: jax.Array,
) -> Params:
    """The :func:`rebar` estimate from the numbers of :func:`draw_uniforms`: all of its work but the draws.

    ``params``, ``temperature`` and ``scale`` are checked already. ``make bench`` times this
    alone, on numbers drawn beforehand, to show how much of REBAR's time its noise, its three
    evaluations of ``f`` per sample and their gradients take.
    """

    def control(z: jax.Array, p: Params) -> jax.Array:
        return scale * f(relaxed_input(dist, z, temperature), p)

    return _estimate(f, dist, params, uniforms, control, "f")


def _draw_for(logits: jax.Array, key: jax.Array, num_samples: int) -> tuple[jax.Array, jax.Array]:
    """The numbers of :func:`draw_uniforms` for N samples of checked ``logits``."""
    return draw_uniforms(key, (num_samples, *logits.shape), logits.dtype)


def estimate_and_variance_grad(estimator: Callable[[Any], Any], cv_params: Any) -> tuple[Any, Any]:
    r"""A gradient estimate and the single-sample gradient of its variance w.r.t. control-variate parameters.

    For an estimator :math:`\hat g(\psi)` that is unbiased for every ψ (REBAR, RELAX),
    :math:`\operatorname{Var}\hat g = \mathbb E\big[\sum_j \hat g_j^2\big] - \sum_j (\nabla_\phi F)_j^2`
    and the last term does not depend on ψ, so

    .. math::
       \frac{\partial}{\partial\psi}\operatorname{Var}\hat g
       = \mathbb E\Big[\frac{\partial}{\partial\psi}\sum_j \hat g_j(\psi)^2\Big]
       = \mathbb E\Big[2\sum_j \hat g_j\,\frac{\partial \hat g_j}{\partial\psi}\Big],

    and one estimate, differentiated through, gives an unbiased estimate of the variance's
    gradient :cite:p:`grathwohl2018backpropagation,tucker2017rebar`. Feed it to an optimiser
    (``optax``) for ψ while the gradient estimate trains φ. For a biased estimator this is the
    gradient of the mean squared norm, not of the variance.

    Args:
      estimator: ``cv_params -> gradient pytree``, e.g.
        ``lambda cv: rebar(f, dist, params, key, n, temperature=jnp.exp(cv["log_temperature"]),
        scale=cv["scale"])``, with the key and φ fixed inside.
      cv_params: the pytree ψ of control-variate parameters, with floating-point leaves (they
        are differentiated).

    Returns:
      ``(estimate, variance_grad)``: the gradient estimate (a pytree shaped like φ) and
      :math:`\partial_\psi \sum_j \hat g_j^2` (a pytree shaped like ``cv_params``).

    Raises:
      TypeError: if ``estimator`` is not callable or a leaf of ``cv_params`` is not floating
        point (``jax.grad`` cannot differentiate integers: write 1.0, not 1).
    """
    v.check_callable("estimator", estimator)
    v.check_floating_tree("cv_params", cv_params)

    def squared_norm(psi: Any) -> tuple[Any, Any]:
        estimate = estimator(psi)
        return sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(estimate)), estimate

    variance_grad, estimate = jax.grad(squared_norm, has_aux=True)(cv_params)
    return estimate, variance_grad
