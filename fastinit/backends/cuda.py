"""CUDA backend: kernels/fill_cuda.cu compiled by CuPy (NVRTC), launched on the current
stream, writing CuPy arrays, torch CUDA tensors or any CUDA DLPack buffer in place.

Nothing here is imported by ``import fastinit``; CuPy is imported on first use.  The
kernels include the same headers as the CPU path and are compiled with --fmad=false, so
a device fill has the bits of the CPU fill (tests/test_cuda.py proves it by running the
unmodified kernels on the host); values computed on the device are rounded to
float16/bfloat16 by the same file's kernels, with fi_math.h's rule.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import _core
from .._paths import kernel_dir
from .._validate import BFLOAT16

THREADS = 256
KERNELS = {np.dtype(np.uint32): "fi_fill_u32", np.dtype(np.float16): "fi_fill_f16",
           BFLOAT16: "fi_fill_bf16", np.dtype(np.float32): "fi_fill_f32",
           np.dtype(np.float64): "fi_fill_f64"}
# float32 values -> float16/bfloat16 bits, by fi_math.h's fi_f32_to_f16/fi_f32_to_bf16
ROUNDERS = {np.dtype(np.float16): "fi_round_f16", BFLOAT16: "fi_round_bf16"}
_CARRIER = {BFLOAT16: np.dtype(np.uint16), np.dtype(np.float16): np.dtype(np.uint16)}
INSTALL_HINT = ("install CuPy for your CUDA: pip install 'fastinit[cuda12]' or "
                "'fastinit[cuda13]'")


def cupy():
    """The cupy module, or an ImportError saying what to install."""
    try:
        import cupy as cp
    except ImportError as exc:
        raise ImportError(f"the CUDA backend needs CuPy: {INSTALL_HINT}") from exc
    return cp


def is_cuda_array(obj) -> bool:
    """A CuPy array, a torch CUDA tensor or any object whose DLPack device is CUDA."""
    dev = getattr(obj, "__dlpack_device__", None)
    if dev is None:
        return False
    try:
        return dev()[0] in (2, 3, 13)  # kDLCUDA, kDLCUDAHost, kDLCUDAManaged
    except Exception:
        return False


class DeviceOut:
    """A CUDA output: ``array`` is a CuPy view of its memory in a carrier dtype the kernels
    write (uint16 for float16/bfloat16), ``dtype`` the logical dtype, ``obj`` what the
    caller passed (returned unchanged)."""

    def __init__(self, obj, array, dtype):
        self.obj, self.array, self.dtype = obj, array, np.dtype(dtype)
        self.shape, self.size, self.ndim = tuple(array.shape), int(array.size), array.ndim


def wrap_out(obj) -> DeviceOut:
    """DeviceOut over a CuPy array, torch CUDA tensor or CUDA DLPack provider (shared)."""
    cp = cupy()
    if type(obj).__module__.startswith("torch"):
        import torch

        if obj.requires_grad:
            raise ValueError("out requires grad: fill out.detach() under torch.no_grad()")
        if obj.dtype == torch.bfloat16:
            return DeviceOut(obj, cp.from_dlpack(obj.detach().view(torch.int16)).view(
                cp.uint16), BFLOAT16)
        arr = cp.from_dlpack(obj.detach())
    else:
        arr = obj if isinstance(obj, cp.ndarray) else cp.from_dlpack(obj)
    dtype = np.dtype(arr.dtype)
    return DeviceOut(obj, arr.view(_CARRIER.get(dtype, dtype)), dtype)


def new_out(shape, dtype, device) -> DeviceOut:
    """A fresh CuPy array on ``device`` ("cuda" or "cuda:N")."""
    cp = cupy()
    if np.dtype(dtype) == BFLOAT16:
        raise TypeError("CuPy has no bfloat16 arrays: pass out= a torch CUDA bfloat16 tensor "
                        "(or a CUDA DLPack buffer), or use float16/float32")
    with cp.cuda.Device(device_index(device)):
        arr = cp.empty(shape, dtype)
    return DeviceOut(arr, arr.view(_CARRIER.get(np.dtype(dtype), np.dtype(dtype))), dtype)


def device_index(device) -> int:
    """0 for "cuda", N for "cuda:N"."""
    text = str(device)
    if text == "cuda":
        return 0
    if text.startswith("cuda:") and text[5:].isdigit():
        return int(text[5:])
    raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")


@functools.cache
def _module(device_id: int):
    cp = cupy()
    if not cp.cuda.is_available():
        raise RuntimeError(f"no CUDA device is available to CuPy ({INSTALL_HINT}, and check "
                           "the driver with nvidia-smi)")
    source = (kernel_dir() / "fill_cuda.cu").read_text()
    with cp.cuda.Device(device_id):
        module = cp.RawModule(code=source, options=("-std=c++17", "--fmad=false",
                                                     f"-I{kernel_dir()}"))
        module.compile()
    return module


def _launch(name: str, array, work: int, head: tuple) -> None:
    """Kernel ``name`` of fill_cuda.cu with arguments ``head``, then n, ``array`` (the
    output, any strides), its ndim and layout; a grid-stride launch over ``work`` items on
    the array's device and current stream."""
    cp = cupy()
    device_id = array.device.id
    with cp.cuda.Device(device_id):
        itemsize = array.dtype.itemsize
        layout = cp.asarray(list(array.shape) + [s // itemsize for s in array.strides],
                            dtype=cp.int64)
        sms = cp.cuda.Device(device_id).attributes["MultiProcessorCount"]
        grid = max(1, min(math.ceil(work / THREADS), 32 * sms))
        kernel = _module(device_id).get_function(name)
        kernel((grid,), (THREADS,), (*head, np.int64(array.size), array,
                                      np.int32(array.ndim), layout))


def fill(dist: int, params: tuple, offset: int, out: DeviceOut, array=None, start=0) -> None:
    """Logical elements [offset + start, ... + array.size) of the stream into ``array`` (a
    view of out.array; the whole of it by default), on its device's current stream."""
    array = out.array if array is None else array
    n = int(array.size)
    if n == 0:
        return
    per = 2 if out.dtype == np.float64 else 4
    blocks = (offset + start + n + per - 1) // per - (offset + start) // per
    seed, stream, a, b, lo, hi, pa, pd = params
    _launch(KERNELS[out.dtype], array, blocks,
            (np.int32(dist), np.uint64(seed), np.uint64(stream), np.float64(a), np.float64(b),
             np.float64(lo), np.float64(hi), np.float64(pa), np.float64(pd),
             np.uint64(offset + start)))


def _store(out: DeviceOut, values) -> None:
    """out <- values (a float32/float64 CuPy array of out's shape) in out's dtype; float16
    and bfloat16 from float32 by fi_math.h's rounding (ROUNDERS, kernels of fill_cuda.cu),
    the rule of the fills."""
    cp = cupy()
    name = ROUNDERS.get(out.dtype)
    if name is None:
        out.array[...] = values.astype(out.dtype)
    elif out.size:
        _launch(name, out.array, out.size, (cp.ascontiguousarray(values, dtype=cp.float32),))


def orthogonal_fill(out: DeviceOut, rows: int, cols: int, gain: float, seed: int,
                    stream: int) -> None:
    """out, read as a (B, rows, cols) stack, <- gain times Haar matrices on the device: the
    Gaussian of the CPU contract (fastinit._structured) drawn by the kernels, then CuPy's
    QR (cuSOLVER) with the sign correction diag(sign R) (Mezzadri 2007).  The same law as
    the CPU path's reflectors, not the same bits (the factorizations differ)."""
    cp = cupy()
    batch = out.size // (rows * cols)
    n, m = min(rows, cols), max(rows, cols)
    work = np.dtype(np.float64) if out.dtype == np.float64 else np.dtype(np.float32)
    with cp.cuda.Device(out.array.device.id):
        gauss = cp.empty((batch, n, m), work)
        fill(_core.DIST_NORMAL, (seed, stream, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0), 0,
             DeviceOut(gauss, gauss, work))
        frames = cp.empty((batch, n, m), work)
        for b in range(batch):  # row k of gauss[b] is the k-th Gaussian vector
            q, r = cp.linalg.qr(gauss[b].T)  # (m, n), (n, n)
            signs = cp.sign(cp.diagonal(r))
            signs[signs == 0] = 1
            frames[b] = (q * signs[None, :]).T
        result = frames if rows <= cols else frames.transpose(0, 2, 1)
        _store(out, (result * gain).reshape(out.shape))
