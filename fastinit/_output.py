"""A fill's output: its dtype and shape from the arguments (numpy's rules: out fixes
both), the CUDA backend's buffers, and new 64-byte aligned arrays (the box of an enclosing
:func:`fastinit.shard` block)."""

from __future__ import annotations

import math

import numpy as np

from ._shard import _BOX
from ._validate import check_float_dtype, check_out, check_shape


def _prepare(shape, size_name, dtype, out, default_dtype, device=None):
    """Resolve (shape, dtype, out) the way numpy does: out fixes dtype and shape.  A CUDA
    out (CuPy array, torch CUDA tensor, CUDA DLPack buffer) or device="cuda[:N]" selects
    the CUDA backend: out then comes back as a backends.cuda.DeviceOut."""
    shape = None if shape is None else check_shape(shape, size_name)
    if type(out) is np.ndarray and device is None:  # a host array: no CUDA look-ups
        dtype = _fill_dtype(dtype, out, default_dtype)
        return shape, dtype, check_out(out, dtype, shape)
    from .backends import cuda

    on_cuda = isinstance(out, cuda.DeviceOut) or cuda.is_cuda_array(out)
    if device is not None and str(device) != "cpu":
        cuda.device_index(device)  # the spelling, before anything else
        if out is not None and not on_cuda:
            raise ValueError(f"device={device!r} but out is a host array")
    torch_out = None  # a torch CUDA tensor given as out: as_out's check and version bump
    if on_cuda and not isinstance(out, cuda.DeviceOut):
        from ._variance import _is_torch, check_torch_view

        if _is_torch(out):
            torch_out = out
            check_torch_view(out, "out")
        out = cuda.wrap_out(out)
    dtype = _fill_dtype(dtype, out if isinstance(out, np.ndarray | cuda.DeviceOut) else None,
                        default_dtype)
    if on_cuda:
        if out.dtype != dtype:
            raise TypeError(f"out must have dtype {dtype.name}, got {out.dtype.name}")
        if shape is not None and out.shape != shape:
            raise ValueError(f"out must have shape {shape}, got {out.shape}")
        if torch_out is not None:
            from ._variance import mark_torch_written

            mark_torch_written(torch_out)
    elif out is not None:
        out = check_out(out, dtype, shape)
    elif device is not None and str(device) != "cpu":
        if shape is None:
            raise ValueError("shape is required without out")
        out = cuda.new_out(shape, dtype, device)
    return shape, dtype, out


_UINT32 = np.dtype(np.uint32)


def _fill_dtype(dtype, out, default_dtype):
    """The dtype of a fill: ``dtype``, else out's (a numpy array or DeviceOut, or None),
    else the default; raw words (random_bits) are uint32, every other fill a float."""
    dtype_name = "dtype"
    if dtype is None and out is not None:
        dtype, dtype_name = out.dtype, "out.dtype"
    elif dtype is None:
        dtype = default_dtype
    return _UINT32 if default_dtype == np.uint32 else check_float_dtype(dtype, dtype_name)


def aligned_empty(shape, dtype, align: int = 64) -> np.ndarray:
    """np.empty on an ``align``-byte boundary (JAX and torch take such buffers without a
    copy; numpy's own allocations are only 16-byte aligned)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + align, np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def new_array(shape, dtype) -> np.ndarray:
    """A 64-byte aligned np.empty(shape), or the local box of an enclosing :func:`shard`
    block when ``shape`` is its global shape."""
    shape = check_shape(shape, "shape")
    box = _BOX.get()
    if box is None:
        return aligned_empty(shape, dtype)
    global_shape, _, local = box
    if shape != global_shape:
        raise ValueError(f"inside fastinit.shard({global_shape}, ...) the shape must be the "
                         f"global shape, got {shape}")
    if local is None:
        raise ValueError("fastinit.shard(...) needs shape= for functions that allocate")
    return aligned_empty(local, dtype)
