"""Fills of torch DTensors (FSDP2's ``fully_shard``, ``distribute_tensor`` /
``distribute_module``, tensor-parallel plans): each rank writes only its local shard, with
the values of the unsharded fill at those global indices (fastinit.shard), so the full
tensor is the same bits whatever the mesh and placements.  Plain tensors and numpy arrays
are filled directly.  torch.distributed is only looked at when a DTensor is passed.

Placements: ``Shard(d)`` (even or uneven, torch's chunking rule), ``Replicate`` (every
rank fills the whole tensor), any combination on meshes of any dimension, including one
tensor dimension sharded by several mesh dimensions and FSDP2 + TP's ``_StridedShard``
(a rank's rows are then several runs: one fill per box).  ``Partial`` is rejected.
"""

from __future__ import annotations

import functools
import itertools
import mmap
import sys

import numpy as np

from . import _shard
from ._variance import as_out


def is_dtensor(t) -> bool:
    """Whether ``t`` is a torch DTensor (without importing torch.distributed)."""
    mod = sys.modules.get("torch.distributed.tensor")
    return mod is not None and isinstance(t, mod.DTensor)


def _runs(index):
    """(local start, global start, length) of each run of consecutive global indices (one
    empty run for none)."""
    if len(index) == 0:
        return [(0, 0, 0)]
    cuts = np.flatnonzero(np.diff(index) != 1) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(index)]))
    return [(int(a), int(index[a]), int(b - a)) for a, b in zip(starts, ends, strict=True)]


def _strided_index(global_shape, mesh, placements, coordinate):
    """The global indices this rank holds along each dimension, placements applied left to
    right with each placement's own chunking rule (as torch's
    compute_local_shape_and_global_offset, which returns only the first of them)."""
    from torch.distributed.tensor import Shard
    from torch.distributed.tensor.placement_types import _StridedShard, _StridedShardOffsetMode

    index = [np.arange(n) for n in global_shape]
    for mesh_dim, p in enumerate(placements):
        if isinstance(p, _StridedShard):
            size, offs = p.local_shard_size_and_offset(
                len(index[p.dim]), mesh.size(mesh_dim), coordinate[mesh_dim],
                _StridedShardOffsetMode.ALL)
            index[p.dim] = index[p.dim][np.asarray(offs if size else [], np.int64)]
        elif isinstance(p, Shard):
            size, start = Shard.local_shard_size_and_offset(
                len(index[p.dim]), mesh.size(mesh_dim), coordinate[mesh_dim])
            index[p.dim] = index[p.dim][start:start + size]
    return index


def local_boxes(t):
    """(local tensor, global shape, boxes) of ``t``: each box is (index into the local
    tensor, global offsets of that block).  A plain tensor or array is one box at 0; a
    DTensor's local shard is one box (Shard/Replicate) or several (_StridedShard); a rank
    outside the mesh has none."""
    if not is_dtensor(t):
        shape = tuple(t.shape)
        return t, shape, [((), (0,) * len(shape))]
    import torch
    from torch.distributed.tensor import Partial
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset
    from torch.distributed.tensor.placement_types import _StridedShard

    mesh, placements, shape = t.device_mesh, tuple(t.placements), tuple(t.shape)
    if any(isinstance(p, Partial) for p in placements):
        raise ValueError(f"cannot initialize a DTensor with a Partial placement {placements}: "
                         "its value is a reduction over ranks (redistribute it to Shard or "
                         "Replicate first)")
    with torch.no_grad():
        local = t.to_local()
    coordinate = mesh.get_coordinate()
    if coordinate is None:
        return local, shape, []
    if any(isinstance(p, _StridedShard) for p in placements):
        runs = [_runs(ix) for ix in _strided_index(shape, mesh, placements, coordinate)]
        local_shape = tuple(sum(n for _, _, n in r) for r in runs)
        boxes = [(tuple(slice(a, a + n) for a, _, n in box), tuple(o for _, o, _ in box))
                 for box in itertools.product(*runs)]
    else:
        local_shape, offsets = compute_local_shape_and_global_offset(shape, mesh, placements)
        boxes = [((), tuple(offsets))]
    if tuple(local_shape) != tuple(local.shape):
        raise ValueError(f"DTensor with placements {placements} on a mesh of shape "
                         f"{tuple(mesh.shape)}: its local tensor has shape "
                         f"{tuple(local.shape)}, torch's sharding rule gives {local_shape}")
    return local, shape, boxes


def fill_(t, fill, *args, into=None, name="tensor", **kwargs):
    """``fill(array, *args, **kwargs)`` (a fastinit.init in-place function or a recipe
    ``fn(array, seed=...)``, with an explicit seed) on ``t``: a torch tensor, DTensor or
    numpy array.  A DTensor's local shard gets, box by box inside :func:`fastinit.shard`,
    the values of the unsharded fill at its global indices (fans and structured laws from
    the global shape).  ``into``: a CPU tensor of the local shape written instead of
    ``t``'s storage (host staging for device tensors); ``name`` names t in errors.  Meta
    and empty tensors are left alone.  Returns t."""
    local, global_shape, boxes = local_boxes(t)
    target = local if into is None else into
    if not isinstance(target, np.ndarray):
        if target.is_meta:
            return t
        target = target.detach()
    arr = as_out(target, name, float_only=False)
    if arr.shape != tuple(local.shape):
        raise ValueError(f"into must have the local shape {tuple(local.shape)}, got {arr.shape}")
    if arr.size == 0:
        return t
    _prefault(arr)
    if not is_dtensor(t):
        fill(arr, *args, **kwargs)
        return t
    for index, offsets in boxes:
        box = arr[index]
        if box.size:
            with _shard.shard(global_shape, offsets):
                fill(box, *args, **kwargs)
    return t


_PREFAULT_MIN = 1 << 20  # bytes: below, not worth a system call
_MADV_POPULATE_WRITE = 23  # Linux >= 5.14


@functools.cache
def _madvise():
    """libc's madvise on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        f = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    f.argtypes, f.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return f


def _prefault(arr):
    """Map the pages of a contiguous array about to be filled with one
    madvise(MADV_POPULATE_WRITE), not one page fault per page as the fill first touches
    them: the same kernel work (zeroed pages) without a trap per page, which costs most
    when several ranks fault at once.  Advice only: contents are unchanged, and nothing
    happens where it is unavailable."""
    madvise = _madvise()
    if madvise is None or arr.nbytes < _PREFAULT_MIN or not arr.flags.c_contiguous:
        return
    page = mmap.PAGESIZE
    lo = -(-arr.ctypes.data // page) * page
    hi = (arr.ctypes.data + arr.nbytes) // page * page
    if hi > lo:
        madvise(lo, hi - lo, _MADV_POPULATE_WRITE)
