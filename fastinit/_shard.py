"""The shard context: inside :func:`shard` every fill writes its box of a global tensor,
the values of the unsharded fill at the box's global indices."""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Sequence

import numpy as np

from ._validate import check_shape

_BOX: contextvars.ContextVar = contextvars.ContextVar("fastinit_shard_box", default=None)


@contextlib.contextmanager
def shard(global_shape: Sequence[int], offsets: Sequence[int],
          shape: Sequence[int] | None = None) -> Iterator[None]:
    """Inside the block every fill writes its output as the box ``out.shape`` at
    ``offsets`` of a global tensor of ``global_shape``: the values equal
    ``global[offsets[0]:offsets[0] + out.shape[0], ...]`` of the unsharded fill bit for bit,
    and initializers read fans (and orthogonal/sparse/dirac their structure) from the
    global shape.  Functions that allocate their result (called with the global shape)
    return the box of ``shape``.  For tensor-parallel and FSDP shards, jax shardings,
    dask chunks, streamed writes.

    Parameters
    ----------
    global_shape : sequence of int
        Shape of the whole tensor.
    offsets : sequence of int
        Global index of the box's first element along each axis.
    shape : sequence of int, optional
        The box's shape, needed by functions that allocate their result.

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> whole = fastinit.normal((6, 4), seed=1)
    >>> local = np.empty((3, 2), np.float32)
    >>> with fastinit.shard((6, 4), (3, 2)):
    ...     _ = fastinit.normal(None, seed=1, out=local)
    >>> bool((local == whole[3:, 2:]).all())
    True
    """
    gs = check_shape(global_shape, "global_shape")
    offs = check_shape(offsets, "offsets")
    if len(offs) != len(gs):
        raise ValueError(f"offsets must have {len(gs)} entries like global_shape, got {offs}")
    local = None if shape is None else check_shape(shape, "shape")
    if local is not None and (len(local) != len(gs) or any(
            o + n > t for o, n, t in zip(offs, local, gs, strict=True))):
        raise ValueError(f"the box {local} at {offs} exceeds the global shape {gs}")
    token = _BOX.set((gs, offs, local))
    try:
        yield
    finally:
        _BOX.reset(token)


@contextlib.contextmanager
def unsharded():
    """Suspend an enclosing :func:`shard` block (to build a whole tensor inside it)."""
    token = _BOX.set(None)
    try:
        yield
    finally:
        _BOX.reset(token)


def current_box():
    """(global_shape, offsets) of the enclosing :func:`shard` block, or None."""
    box = _BOX.get()
    return None if box is None else box[:2]


def logical_shape(shape):
    """The global shape inside a :func:`shard` block, else ``shape``."""
    box = _BOX.get()
    return shape if box is None else box[0]


def _row_major_steps(shape):
    return tuple(math.prod(shape[k + 1:]) for k in range(len(shape)))


def _check_box(out, global_shape, offsets):
    """out's box fits the global shape (ValueError naming the axis otherwise)."""
    if len(out.shape) != len(global_shape):
        raise ValueError(
            f"out has {out.ndim} dimensions but the shard's global_shape {global_shape} "
            f"has {len(global_shape)}"
        )
    for ax, (n, off, tot) in enumerate(zip(out.shape, offsets, global_shape, strict=True)):
        if off + n > tot:
            raise ValueError(
                f"shard box exceeds the global shape on axis {ax}: offset {off} + size {n} "
                f"> {tot}"
            )


def _box_runs(out, global_shape, offsets):
    """(view, global index of its first element) for each run of out that is contiguous
    in the global row-major index: the trailing axes the box spans fully, plus one (the
    CUDA backend launches one fill per run)."""
    _check_box(out, global_shape, offsets)
    j = len(out.shape) - 1  # the innermost axis the box does not span fully, or 0
    while j > 0 and out.shape[j] == global_shape[j]:
        j -= 1
    strides = _row_major_steps(global_shape)
    base = sum(o * st for o, st in zip(offsets, strides, strict=True))
    for idx in np.ndindex(*out.shape[:j]):
        start = base + sum(i * st for i, st in zip(idx, strides, strict=False))
        yield out[idx], start
