"""The types every module of ``gradest`` shares, defined once.

* ``PyTree``: a nested structure of dicts, lists, tuples and arrays (what ``jax.tree`` maps over);
* ``Params``: the parameters of a distribution, a dict of arrays such as ``{"loc": μ, "scale": σ}``;
* ``Cost``: ``f(x, params) -> scalar``, evaluated on one sample ``x``;
* ``Baseline``: ``b(f_values) -> (N,)``, a function of the batch of costs;
* :class:`Distribution`: the protocol every distribution family satisfies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import jax

PyTree = Any
Params = dict[str, Any]
Cost = Callable[[jax.Array, Params], jax.Array]
Baseline = Callable[[jax.Array], jax.Array]


@runtime_checkable
class Distribution(Protocol):
    """A stateless distribution family whose parameters travel separately (a pytree).

    ``check`` validates parameters (``TypeError``/``ValueError`` naming the argument);
    ``sample`` draws ``sample_shape + batch_shape`` values without gradient; ``rsample`` draws a
    reparameterized sample when ``has_rsample`` is true (and raises ``TypeError`` otherwise);
    ``log_prob`` returns the log-probability of each variable, ``-inf`` outside the support.
    """

    has_rsample: bool

    def check(self, params: Params) -> Params: ...

    def batch_shape(self, params: Params) -> tuple[int, ...]: ...

    def sample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array: ...

    def rsample(self, params: Params, key: jax.Array, sample_shape: Any = ()) -> jax.Array: ...

    def log_prob(self, params: Params, x: Any) -> jax.Array: ...
