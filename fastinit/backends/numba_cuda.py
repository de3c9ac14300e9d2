"""Device fills in Numba CUDA, for users without CuPy: every distribution and dtype of the
CuPy kernels (kernels/fill_cuda.cu) with their bits, built from the functions of
``fastinit.numba`` (the fi_dist.h transforms with uncontracted device arithmetic).

``uniform(out, low, high, seed=..)``, ``normal(out, mean, std, seed=..)``,
``truncated_normal(out, mean, std, a, b, seed=..)`` and ``random_bits(out, seed=..)`` fill
a C-contiguous Numba device array (or any ``__cuda_array_interface__`` object) in place:
element k of ``out`` (row-major) is element ``offset + k`` of the stream.  float16 goes
into a float16 or uint16 array, bfloat16 into a uint16 array with ``dtype="bfloat16"``.
The kernels ``fill_bits`` and ``FILLS[(dist, dtype)]`` are a grid-stride loop over Philox
blocks, each thread storing the elements of its block in [start, start + n); arguments
``(out, seed, stream, start, c)`` with ``c`` the six constants of fastinit._laws.

Imported on first use only (needs numba-cuda).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, uint64
from numba.extending import register_jitable

from .. import _laws
from .._numba_dist import _values_w32, _values_w64
from .._validate import BFLOAT16, U64_LIMIT, check_float_dtype, check_u64
from ..numba import bits_block, f32_to_bf16_bits, f32_to_f16_bits

THREADS = 256
MAX_GRID = 4096
DIST_CODES = {"uniform": _laws.DIST_UNIFORM, "normal": _laws.DIST_NORMAL,
              "truncated_normal": _laws.DIST_TRUNCNORMAL}


@cuda.jit
def fill_bits(out, seed, stream, start):
    """out[k] = word start + k of the stream: fastinit.random_bits."""
    n = out.shape[0]
    end = uint64(start) + uint64(n)
    blk = uint64(start) // uint64(4) + uint64(cuda.grid(1))
    step = uint64(cuda.gridsize(1))
    while blk * uint64(4) < end:
        w = bits_block(seed, stream, blk)
        for j in range(4):
            e = blk * uint64(4) + uint64(j)
            if e >= uint64(start) and e < end:
                out[e - uint64(start)] = w[j]
        blk += step


@register_jitable
def _identity(v):
    return v


def _fill_kernel(dist, values, per, store):
    """out[k] = store(value of element start + k) of distribution `dist`."""

    @cuda.jit
    def kernel(out, seed, stream, start, c):
        n = out.shape[0]
        end = uint64(start) + uint64(n)
        blk = uint64(start) // uint64(per) + uint64(cuda.grid(1))
        step = uint64(cuda.gridsize(1))
        while blk * uint64(per) < end:
            v = values(dist, seed, stream, blk, c)
            for j in range(per):
                e = blk * uint64(per) + uint64(j)
                if e >= uint64(start) and e < end:
                    out[e - uint64(start)] = store(v[j])
            blk += step

    return kernel


_STORE = {np.dtype(np.float16): (_values_w32, 4, f32_to_f16_bits),
          BFLOAT16: (_values_w32, 4, f32_to_bf16_bits),
          np.dtype(np.float32): (_values_w32, 4, _identity),
          np.dtype(np.float64): (_values_w64, 2, _identity)}
_LOWP = _laws.DIST_UNIFORM_LOWP
FILLS = {(dist, dtype): _fill_kernel(_LOWP if code == _laws.DIST_UNIFORM and
                                     dtype in (np.dtype(np.float16), BFLOAT16) else code, *spec)
         for dist, code in DIST_CODES.items() for dtype, spec in _STORE.items()}


def _flat(out, dtype):
    """(1-D view of out in its storage dtype, logical dtype), checked."""
    if cuda.devicearray.is_cuda_ndarray(out):
        arr = out
    elif hasattr(out, "__cuda_array_interface__"):
        arr = cuda.as_cuda_array(out)
    else:
        raise TypeError(f"out must be a CUDA device array, got {type(out).__name__}")
    if not arr.is_c_contiguous():
        raise ValueError("out must be C-contiguous")
    have = np.dtype(arr.dtype)
    if dtype is None:
        dtype = have
    dtype = np.dtype(np.uint32) if np.dtype(dtype) == np.uint32 else check_float_dtype(dtype)
    storage = np.dtype(np.uint16) if dtype in (BFLOAT16, np.dtype(np.float16)) else dtype
    if have not in (dtype, storage):
        raise TypeError(f"out has dtype {have.name}; a {dtype.name} fill needs "
                        f"{dtype.name if dtype == storage else storage.name}")
    flat = arr.reshape(arr.size)
    return (flat.view(np.uint16) if have != storage else flat), dtype


def _launch(kernel, flat, seed, stream, offset, *extra):
    seed = check_u64(seed, "seed")
    stream = check_u64(stream, "stream")
    offset = check_u64(offset, "offset")
    n = flat.shape[0]
    if offset + n > U64_LIMIT:
        raise ValueError(f"offset + size must be <= 2**64, got {offset} + {n}")
    if n == 0:
        return
    grid = max(1, min(math.ceil(n / 4 / THREADS), MAX_GRID))
    kernel[grid, THREADS](flat, np.uint64(seed), np.uint64(stream), np.uint64(offset), *extra)


def _fill(dist, out, dtype, params, seed, stream, offset):
    """Check out, compute the constants with params(dtype) (fastinit._laws' rules) and
    launch; nothing is written unless every argument is valid."""
    flat, dtype = _flat(out, dtype)
    p = params(dtype)
    c = tuple(float(p.get(k, 0.0)) for k in ("a", "b", "lo", "hi", "pa", "pd"))
    _launch(FILLS[(dist, dtype)], flat, seed, stream, offset, c)
    return out


def random_bits(out, *, seed, stream=0, offset=0):
    """fastinit.random_bits into the uint32 device array out."""
    flat, _ = _flat(out, np.uint32)
    _launch(fill_bits, flat, seed, stream, offset)
    return out


def uniform(out, low=0.0, high=1.0, *, seed, stream=0, offset=0, dtype=None):
    """fastinit.uniform(low, high) into the device array out (dtype: out's, or
    "float16"/"bfloat16" for a uint16 out)."""
    return _fill("uniform", out, dtype, lambda d: _laws._uniform_params(low, high, d),
                 seed, stream, offset)


def normal(out, mean=0.0, std=1.0, *, seed, stream=0, offset=0, dtype=None):
    """fastinit.normal(mean, std) into the device array out."""
    return _fill("normal", out, dtype, lambda d: _laws._normal_params(mean, std), seed,
                 stream, offset)


def truncated_normal(out, mean=0.0, std=1.0, a=-2.0, b=2.0, *, seed, stream=0, offset=0,
                     dtype=None):
    """fastinit.truncated_normal(mean, std, a, b) into the device array out."""
    return _fill("truncated_normal", out, dtype,
                 lambda d: _laws._truncnormal_params(mean, std, a, b, d), seed, stream,
                 offset)
