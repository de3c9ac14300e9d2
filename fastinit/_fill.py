"""The hand-off to the compiled fill: the index range checked, the output allocated if
needed, its layout coalesced into runs of the stream, or one CUDA launch per run; per
Python thread, the OpenMP thread count and deferred (batched) fills."""

from __future__ import annotations

import contextlib
import math
import threading

import numpy as np

from . import _core
from ._laws import DTYPE_CODES
from ._output import new_array
from ._shard import _box_runs, _check_box, _row_major_steps, current_box
from ._validate import U64_LIMIT, check_int, check_u64

_NO_CONSTS = (0.0,) * 6


def _run(dist, dtype, shape, out, seed, stream, offset, consts=_NO_CONSTS):
    """Check the index range, allocate if needed, and fill (the box of the enclosing
    :func:`shard` block, if any) with the law's constants ``consts`` (fastinit._laws._Law)."""
    seed = check_u64(seed, "seed")
    stream = check_u64(stream, "stream")
    offset = check_u64(offset, "offset")
    if out is None:
        out = new_array(shape, dtype)
    box = current_box()
    # the addressable range (kernels/README.md): element indices offset .. offset + size - 1
    # of the whole (global) tensor, all below 2**64
    total = out.size if box is None else math.prod(box[0])
    if offset + total > U64_LIMIT:
        raise ValueError(f"offset + size must be <= 2**64, got {offset} + {total}")
    if type(out) is not np.ndarray:  # a backends.cuda.DeviceOut
        return _run_cuda(dist, out, offset, (seed, stream, *consts))
    if box is None and out.flags.c_contiguous:  # one run: what _coalesce makes of it
        if total and _LOCAL.deferred is not None:
            _LOCAL.deferred.append((dist, DTYPE_CODES[dtype], seed, stream, consts, offset, out))
        elif total:
            _core.fill(dist, DTYPE_CODES[dtype], (seed, stream, *consts), offset,
                       out, (total,), (out.itemsize,), (1,), _LOCAL.threads)
        return out
    if box is None:
        start, index_steps = 0, _row_major_steps(out.shape)
    else:
        _check_box(out, *box)
        index_steps = _row_major_steps(box[0])
        start = sum(o * st for o, st in zip(box[1], index_steps, strict=True))
    if out.size == 0:
        return out
    dims, steps, isteps = _coalesce(out, index_steps)
    _core.fill(dist, DTYPE_CODES[dtype], (seed, stream, *consts), offset + start,
               out, dims, steps, isteps, _LOCAL.threads)
    return out


class _Local(threading.local):
    threads = 0  # OpenMP threads of this Python thread's CPU fills (0: set_num_threads)
    deferred = None  # a list inside deferred_fills()


_LOCAL = _Local()


def fill_out(dist, out, law, seed, stream, offset=0):
    """What uniform/normal/truncated_normal do after their argument checks, for callers
    that made them already: ``out`` from _variance.as_out (or a new array), ``law`` from
    the matching _*_params for out.dtype (seed, stream and the index range are checked
    here, as in the public functions)."""
    return _run(dist, out.dtype, None, out, seed, stream, offset, law.consts)


@contextlib.contextmanager
def fill_threads(n: int):
    """CPU fills started by this Python thread use ``n`` OpenMP threads inside the block
    (workers that each fill their own buffer: 1); the bits never depend on it."""
    n = check_int(n, "n", 1, 1 << 31)
    previous = _LOCAL.threads
    _LOCAL.threads = n
    try:
        yield
    finally:
        _LOCAL.threads = previous


@contextlib.contextmanager
def deferred_fills():
    """Inside the block, a CPU fill of a whole C-contiguous array by this Python thread is
    checked as usual but not made: it is appended, as (dist, dtype code, seed, stream,
    consts, offset, out), to the list the block yields (for _core.fill_many)."""
    previous = _LOCAL.deferred
    _LOCAL.deferred = []
    try:
        yield _LOCAL.deferred
    finally:
        _LOCAL.deferred = previous


def _run_cuda(dist, out, offset, params):
    """The CUDA backend's fill of a DeviceOut (the box of an enclosing shard block, if
    any); returns what the caller passed as out."""
    from .backends import cuda

    box = current_box()
    if box is None:
        cuda.fill(dist, params, offset, out)
    else:
        for view, start in _box_runs(out.array, *box):
            cuda.fill(dist, params, offset, out, view, start)
    return out.obj


def _coalesce(a: np.ndarray, index_steps):
    """Shape, byte strides and logical-index strides of `a` in row-major order, with axes
    of length 1 dropped and adjacent axes merged where both memory and the index allow (a
    C-contiguous whole tensor becomes one axis).  The innermost axis has index step 1."""
    dims: list[int] = []
    steps: list[int] = []
    isteps: list[int] = []
    for d, s, i in zip(a.shape, a.strides, index_steps, strict=True):
        if d == 1:
            continue
        if dims and steps[-1] == s * d and isteps[-1] == i * d:  # one inner run
            dims[-1] *= d
            steps[-1], isteps[-1] = s, i
        else:
            dims.append(d)
            steps.append(s)
            isteps.append(i)
    if not dims or isteps[-1] != 1:  # elements of a run must be consecutive in the stream
        dims.append(1)
        steps.append(a.itemsize)
        isteps.append(1)
    return tuple(dims), tuple(steps), tuple(isteps)

