"""The structured random laws of :mod:`fastinit.init`, not elementwise: orthogonal
(Haar), delta-orthogonal and sparse, in place and as new arrays, over
fastinit._structured's fills (a shard fills the whole tensor, then keeps its block)."""

from __future__ import annotations

import math

import numpy as np

from . import _shard
from ._generator import Generator
from ._init_common import Seed, T, check_normal, functional_twin
from ._structured import (
    check_orthogonal_dtype,
    check_sparsity,
    delta_orthogonal_centres,
    delta_orthogonal_fill,
    fill_whole_then_box,
    orthogonal_fill,
    sparse_fill,
)
from ._validate import check_fill_value, check_shape
from ._variance import as_out, resolve_rng


def orthogonal_(tensor: T, gain: float = 1.0, *, seed: Seed = None,
                generator: Generator | None = None, batch_dims: int = 0) -> T:
    """Saxe et al. (2014): gain times a Haar-distributed orthogonal matrix (Mezzadri 2007
    sign correction), rows = shape[0], cols = the rest flattened (torch); orthonormal
    rows if rows <= cols, else orthonormal columns.  Stewart's (1980) method over
    LAPACK (fastinit/_linalg.pyx).  Any float dtype (float16/bfloat16 computed in float32,
    then rounded); complex64/complex128 give Haar unitary matrices; zero-size: no-op.
    ``batch_dims=k``: the first k axes index a batch of independent matrices, generated
    in parallel.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> q = init.orthogonal_(np.empty((3, 5), np.float32), seed=0)
    >>> bool(np.allclose(q @ q.T, np.eye(3), atol=1e-6))
    True
    """
    out = as_out(tensor, complex_ok=True, device_ok=True)
    gain = check_fill_value(gain, out.dtype, "gain")
    if not isinstance(batch_dims, int) or isinstance(batch_dims, bool) or batch_dims < 0:
        raise ValueError(f"batch_dims must be a non-negative int, got {batch_dims!r}")
    shape = _shard.logical_shape(out.shape)
    if len(shape) - batch_dims < 2:
        raise ValueError(
            f"orthogonal needs at least 2 dimensions per matrix, got shape {out.shape} "
            f"with batch_dims={batch_dims}"
        )
    if out.size == 0:
        return tensor
    rows = shape[batch_dims]
    cols = math.prod(shape[batch_dims + 1:])
    seed, stream = resolve_rng(seed, generator)
    if not isinstance(out, np.ndarray):  # a CUDA tensor (backends.cuda.DeviceOut)
        from .backends import cuda

        if _shard.current_box() is not None:
            raise ValueError("orthogonal_ of a CUDA shard: build it on the host")
        cuda.orthogonal_fill(out, rows, cols, gain, seed, stream)
        return tensor
    fill_whole_then_box(out, lambda o: orthogonal_fill(o, rows, cols, gain, seed, stream))
    return tensor


def delta_orthogonal_(tensor: T, gain: float = 1.0, *, centre: str = "jax", seed: Seed = None,
                      generator: Generator | None = None) -> T:
    """Xiao et al. (2018), jax's layout ``(*k, in, out)``: zero except an orthogonal (in, out)
    matrix times gain at the centre (k - 1) // 2 (centre="torch": k // 2).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> k = init.delta_orthogonal_(np.empty((3, 3, 4, 8), np.float32), seed=0)
    >>> bool(np.allclose(k[1, 1] @ k[1, 1].T, np.eye(4), atol=1e-6)), float(abs(k[0]).max())
    (True, 0.0)
    """
    out = as_out(tensor)
    delta_orthogonal_centres(_shard.logical_shape(out.shape), centre)
    check_fill_value(gain, out.dtype, "gain")
    seed, stream = resolve_rng(seed, generator)
    fill_whole_then_box(out, lambda o: delta_orthogonal_fill(o, gain, seed, stream, centre))
    return tensor


def sparse_(tensor: T, sparsity: float, std: float = 0.01, *, seed: Seed = None,
            generator: Generator | None = None) -> T:
    """Martens (2010), torch semantics: N(0, std^2) with exactly ceil(sparsity * rows)
    zeros per column, chosen uniformly; unlike torch the mask follows the seed and is
    drawn without a Python loop.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = init.sparse_(np.empty((10, 4), np.float32), 0.3, seed=0)
    >>> (w == 0).sum(axis=0).tolist()                  # ceil(0.3 * 10) per column
    [3, 3, 3, 3]
    """
    out = as_out(tensor)
    if out.ndim != 2:
        raise ValueError(f"sparse needs a 2-D tensor, got {out.ndim} dimensions")
    check_sparsity(sparsity)
    check_normal(0.0, std, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    fill_whole_then_box(out, lambda o: sparse_fill(o, sparsity, std, seed, stream))
    return tensor


# ---- functional twins ----

def orthogonal(shape, gain=1.0, *, seed, dtype=np.float32, batch_dims=0):
    """A new array as :func:`orthogonal_` (``dtype`` may be complex64/complex128).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> u = init.orthogonal((4, 4), seed=0, dtype=np.complex128)
    >>> bool(np.allclose(u @ u.conj().T, np.eye(4)))
    True
    """
    out = np.empty(check_shape(shape, "shape"), check_orthogonal_dtype(dtype))
    return orthogonal_(out, gain, seed=seed, batch_dims=batch_dims)


delta_orthogonal = functional_twin(delta_orthogonal_, "delta_orthogonal_", """\
>>> w = init.delta_orthogonal((3, 4, 4), seed=0)  # (k, in, out), centre (k - 1) // 2
>>> bool(np.allclose(w[1] @ w[1].T, np.eye(4), atol=1e-6)), bool((w[0] == 0).all())
(True, True)
""")
sparse = functional_twin(sparse_, "sparse_", """\
>>> w = init.sparse((10, 4), 0.3, seed=0)
>>> (w == 0).sum(axis=0).tolist()  # ceil(0.3 * 10) zeros per column
[3, 3, 3, 3]
""")
