"""The per-call constants of each law: the kernels' distribution and dtype codes, the
clamp bounds in the output precision, the truncation probabilities, and what a fill can
represent (fill_limits).  Arguments are checked here, before any output is touched."""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Mapping

import numpy as np

from . import _core
from ._validate import BFLOAT16, FLOAT_DTYPES, check_real, value_max

# the codes of kernels/fi_dist.h (through fastinit/_kernels.pxd)
DIST_BITS, DIST_UNIFORM = _core.DIST_BITS, _core.DIST_UNIFORM
DIST_NORMAL, DIST_TRUNCNORMAL = _core.DIST_NORMAL, _core.DIST_TRUNCNORMAL
DIST_UNIFORM_LOWP = _core.DIST_UNIFORM_LOWP  # the uniform of a float16/bfloat16 output
DTYPE_CODES = {np.dtype(np.uint32): _core.DT_U32, np.dtype(np.float16): _core.DT_F16,
               BFLOAT16: _core.DT_BF16, np.dtype(np.float32): _core.DT_F32,
               np.dtype(np.float64): _core.DT_F64}
_SQRT1_2 = math.sqrt(0.5)


def _ncdf(x: float) -> float:
    """Standard normal CDF, accurate in the lower tail."""
    return 0.5 * math.erfc(-x * _SQRT1_2)


def _next_toward(x: float, dtype: np.dtype, up: bool) -> float:
    """The neighbour of `x` (a value of `dtype`) toward +inf or -inf, in `dtype`."""
    if dtype == BFLOAT16:
        bits = int(np.array(x, dtype=BFLOAT16).view(np.uint16))
        if x == 0.0:
            return float(np.array(0x0001 if up else 0x8001, np.uint16).view(BFLOAT16))
        step = 1 if (x > 0) == up else -1
        return float(np.array(bits + step, np.uint16).view(BFLOAT16))
    return float(np.nextafter(dtype.type(x), dtype.type(np.inf if up else -np.inf)))


def _inner_bounds(low: float, high: float, dtype: np.dtype, open_high: bool):
    """Smallest value of `dtype` >= low and largest <= high (< high when open_high); a
    bound beyond dtype's finite range gives its largest value."""
    top = _LIMITS[dtype][0]
    lo = float(np.array(max(low, -top)).astype(dtype))
    hi = float(np.array(min(high, top)).astype(dtype))
    if lo < low:
        lo = _next_toward(lo, dtype, up=True)
    if hi > high or (open_high and hi >= high):
        hi = _next_toward(hi, dtype, up=False)
    return lo, hi


# Largest |z| the normal transforms reach: sqrt(-2 log u1) at the smallest u1, 2^-32 in the
# 32-bit path (6.6604) and 2^-53 for float64 (8.572), rounded up.
_ZMAX_W32, _ZMAX_F64 = 6.661, 8.572
_FLOAT64 = np.dtype(np.float64)
# per float dtype: (its largest finite value, that of its working precision, largest |z|)
_LIMITS = {dt: (value_max(dt), value_max(dt), _ZMAX_F64) if dt == _FLOAT64 else
           (value_max(dt), value_max(np.float32), _ZMAX_W32) for dt in FLOAT_DTYPES}


def fill_limits(dtype) -> tuple[float, float, float]:
    """(largest finite value of dtype, that of the fills' working precision, largest |z|
    of the normal transform) for a float dtype: the one statement of what a fill can
    represent, read by the initializers' checks (fastinit/_variance.py)."""
    return _LIMITS[np.dtype(dtype)]


_PACK_FLOATS = {n: struct.Struct(f"{n}d").pack for n in range(1, 5)}  # a law's floats' bits
_CONST_NAMES = ("a", "b", "lo", "hi", "pa", "pd")


class _Law(Mapping):
    """The constants of a law in kernels/fi_dist.h's fi_params: a read-only mapping by
    name (absent ones are 0) and ``consts``, the tuple (a, b, lo, hi, pa, pd)."""

    __slots__ = ("_named", "consts")

    def __init__(self, **named):
        self._named = named
        self.consts = tuple(named.get(k, 0.0) for k in _CONST_NAMES)

    def __getitem__(self, key):
        return self._named[key]

    def __iter__(self):
        return iter(self._named)

    def __len__(self):
        return len(self._named)


def _memo(law):
    """law(*floats, dtype) remembered per argument tuple (the sign of a zero included, as
    it reaches the bits); calls that raise are not remembered."""
    cache = {}

    @functools.wraps(law)
    def memo(*args):
        key = args if 0.0 not in args[:-1] else (args, _PACK_FLOATS[len(args) - 1](*args[:-1]))
        hit = cache.get(key)
        if hit is None:
            hit = law(*args)
            if len(cache) < 4096:
                cache[key] = hit
        return hit

    return memo


def _uniform_params(low, high, dtype):
    """Uniform on [low, high): the span high - low must be finite in float64 and both
    bounds inside dtype's finite range.  A float32 span beyond float's range (e.g.
    [-3e38, 3e38)) is formed in double by the kernel (kernels/fi_dist.h)."""
    return _uniform_law(check_real(low, "low"), check_real(high, "high"), dtype)


@_memo
def _uniform_law(low, high, dtype):
    if not low <= high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    span = high - low
    if not math.isfinite(span):
        raise ValueError(f"high - low must be finite, got {span}")
    top = _LIMITS[dtype][0]
    if low < -top or high > top:
        raise ValueError(f"low={low}, high={high} reach beyond the finite range of "
                         f"{dtype.name} (+-{top:g})")
    if low == high:
        return _Law(a=low, b=0.0, lo=low, hi=low)
    lo, hi = _inner_bounds(low, high, dtype, open_high=True)
    if lo > hi:
        raise ValueError(f"[low, high) = [{low}, {high}) holds no {dtype.name} value")
    return _Law(a=low, b=span, lo=lo, hi=hi)


def _normal_params(loc, scale, dtype=_FLOAT64):
    """Normal N(loc, scale^2): every value loc + scale z, |z| <= zmax, must be finite in
    dtype, i.e. |loc| + zmax scale <= its largest value."""
    return _normal_law(check_real(loc, "loc"), check_real(scale, "scale"), dtype)


@_memo
def _normal_law(loc, scale, dtype):
    if scale < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    top, _, zmax = _LIMITS[dtype]
    if abs(loc) + zmax * scale > top:
        raise ValueError(f"loc={loc}, scale={scale} give values up to |loc| + {zmax} scale, "
                         f"beyond the largest {dtype.name} ({top:g})")
    return _Law(a=loc, b=scale)


def _truncnormal_params(loc, scale, a, b, dtype):
    """Truncated normal: the values it can reach, [a, b] within loc +- zmax scale, must lie
    in dtype's finite range, and loc + scale z must stay finite in the working precision
    for the z in [alpha, beta].  a = -inf and b = +inf are accepted (one- or two-sided:
    (0, inf) with loc 0 is the half normal); the clamp bounds are then dtype's extremes."""
    return _truncnormal_law(check_real(loc, "loc"), check_real(scale, "scale"),
                            check_real(a, "a", allow_inf=True),
                            check_real(b, "b", allow_inf=True), dtype)


@_memo
def _truncnormal_law(loc, scale, a, b, dtype):
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if not a < b:
        raise ValueError(f"a must be < b, got a={a}, b={b}")
    alpha, beta = (a - loc) / scale, (b - loc) / scale
    top, work, zmax = _LIMITS[dtype]
    if (abs(loc) + scale * min(zmax, max(abs(alpha), abs(beta))) > work
            or max(a, loc - zmax * scale) < -top or min(b, loc + zmax * scale) > top):
        raise ValueError(f"loc={loc}, scale={scale}, a={a}, b={b} reach beyond the finite "
                         f"range of {dtype.name} (+-{top:g})")
    sign = 1.0
    if alpha > 0:  # the interval lies in the upper half: sample its mirror image
        alpha, beta, sign = -beta, -alpha, -1.0
    pa = _ncdf(alpha)
    pd = _ncdf(beta) - pa
    if not pd > 1e-300:
        raise ValueError(
            f"[a, b] = [{a}, {b}] lies beyond 37 standard deviations of loc={loc}; "
            "its normal probability underflows in double precision"
        )
    lo, hi = _inner_bounds(a, b, dtype, open_high=False)
    if lo > hi:
        raise ValueError(f"[a, b] = [{a}, {b}] holds no {dtype.name} value")
    return _Law(a=loc, b=sign * scale, lo=lo, hi=hi, pa=pa, pd=pd)
