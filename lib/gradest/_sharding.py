"""The sample axis, sharded over devices when the caller asks for it with a mesh.

An estimator draws its N samples inside the compiled program from one key, so the shardings of
its inputs say nothing about the samples. Every estimator passes its per-sample arrays through
:func:`shard_samples`: under ``jax.set_mesh(mesh)`` with a mesh axis named :data:`SAMPLE_AXIS` of
type ``AxisType.Auto``, their leading axis is constrained to be split over that mesh axis, and
XLA's partitioner propagates the split through the rest of the program (the random bits, the
costs, and each mean as partial sums combined by an all-reduce). JAX's
random bits are sharding-invariant (``jax_threefry_partitionable``, the default), so the samples
are the same as on one device and the estimate agrees with the one-device estimate up to the
rounding of the reductions. Without such a mesh (an ``Explicit`` axis included: there the user
places arrays with ``jax.sharding.reshard``), or when N is not a multiple of the number of devices
on that axis, it is the identity.
"""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import AxisType, PartitionSpec

#: The name of the mesh axis over which the estimators split their samples.
SAMPLE_AXIS = "samples"


def _shard(x: jax.Array, mesh: Any) -> jax.Array:
    if x.ndim == 0 or x.shape[0] % mesh.shape[SAMPLE_AXIS] != 0:
        return x
    return jax.lax.with_sharding_constraint(x, PartitionSpec(SAMPLE_AXIS))


def sample_mesh() -> Any:
    """The current mesh if it has an ``Auto`` axis named :data:`SAMPLE_AXIS`, else ``None``."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or SAMPLE_AXIS not in mesh.axis_names or mesh._name_to_type[SAMPLE_AXIS] != AxisType.Auto:
        return None
    return mesh


def shard_samples(tree: Any) -> Any:
    """Every array of ``tree`` (leading axis: the samples) split over the mesh axis ``"samples"``."""
    mesh = sample_mesh()
    if mesh is None:
        return tree
    return jax.tree.map(lambda x: _shard(x, mesh), tree)
