"""The constants of one fastinit.numba call, from its parameters, by fastinit._laws'
rules: the clamp bounds of each output kind (float32, float64, float16, bfloat16), the
uniform's, normal's and truncated normal's prepared constants, with the parameter checks
(ValueError in ``njit`` code)."""

from __future__ import annotations

import math

from numba import float32, float64, uint32, uint64
from numba.extending import register_jitable

from ._numba_ops import (
    _d2u,
    _div,
    _f2u,
    _mul,
    _sub,
    _u2d,
    _u2f,
    f32_to_bf16_bits,
    f32_to_f16_bits,
)


@register_jitable
def _next_f32(x, up):
    """The float32 neighbour of float32 x toward +inf (up) or -inf."""
    if x == float32(0):
        return _u2f(uint32(0x00000001 if up else 0x80000001))
    u = _f2u(x)
    step_up = (x > float32(0)) == up
    return _u2f(u + uint32(1) if step_up else u - uint32(1))


@register_jitable
def _next_f64(x, up):
    if x == 0.0:
        # uint64 on both arms: Numba types a mix of int64 and uint64 literals as float64
        return _u2d(uint64(1) if up else uint64(0x8000000000000001))
    u = _d2u(x)
    return _u2d(u + uint64(1) if (x > 0.0) == up else u - uint64(1))


@register_jitable
def _bounds_f32(low, high, open_high):
    """Smallest float32 >= low, largest <= high (< high when open_high), as float64."""
    lo = float32(low)
    if float64(lo) < low:
        lo = _next_f32(lo, True)
    hi = float32(high)
    if float64(hi) > high or (open_high and float64(hi) >= high):
        hi = _next_f32(hi, False)
    if lo > hi:
        raise ValueError("the interval holds no float32 value")
    return float64(lo), float64(hi)


@register_jitable
def _bounds_f64(low, high, open_high):
    hi = _next_f64(high, False) if open_high else high
    if low > hi:
        raise ValueError("the interval holds no float64 value")
    return low, hi


@register_jitable
def _half_bits(x, bf16):
    return f32_to_bf16_bits(x) if bf16 else f32_to_f16_bits(x)


@register_jitable
def _half_to_f32(h, bf16):
    """The float32 value of float16 (or bfloat16) bits h, exact."""
    h = uint32(h)
    if bf16:
        return _u2f(h << uint32(16))
    sign = (h & uint32(0x8000)) << uint32(16)
    e = (h >> uint32(10)) & uint32(0x1F)
    m = h & uint32(0x3FF)
    if e == uint32(0):  # zero or subnormal: m 2^-24
        v = _mul(float32(m), float32(5.9604644775390625e-08))
        return -v if sign else v
    e = uint32(255) if e == uint32(31) else e + uint32(112)
    return _u2f(sign | (e << uint32(23)) | (m << uint32(13)))


@register_jitable
def _next_half(x, up, bf16):
    """The float16/bfloat16 neighbour of x (a value of that type) toward +inf or -inf."""
    if x == float32(0):
        return _half_to_f32(uint32(0x0001 if up else 0x8001), bf16)
    h = uint32(_half_bits(x, bf16))
    return _half_to_f32(h + uint32(1) if (x > float32(0)) == up else h - uint32(1), bf16)


@register_jitable
def _bounds_half(low, high, open_high, bf16):
    """Smallest float16/bfloat16 >= low, largest <= high (< high when open_high), as
    float64: the nearest value then one step (rounding through float32 still lands on a
    neighbour of the exact value)."""
    lo = _half_to_f32(_half_bits(float32(low), bf16), bf16)
    if float64(lo) < low:
        lo = _next_half(lo, True, bf16)
    hi = _half_to_f32(_half_bits(float32(high), bf16), bf16)
    if float64(hi) > high or (open_high and float64(hi) >= high):
        hi = _next_half(hi, False, bf16)
    if lo > hi:
        raise ValueError("the interval holds no float16/bfloat16 value")
    return float64(lo), float64(hi)


@register_jitable
def _check_finite(x):
    if not math.isfinite(x):
        raise ValueError("parameters must be finite")


F32, F64, F16, BF16 = 0, 1, 2, 3  # the output kinds of the bounds (and of the fills)
_TOP = (3.4028234663852886e38, 1.7976931348623157e308, 65504.0, 3.3895313892515355e38)


@register_jitable
def _bounds(low, high, open_high, kind):
    """The clamp interval of fastinit._laws._inner_bounds for output kind `kind`."""
    if kind == F64:
        return _bounds_f64(low, high, open_high)
    if kind == F32:
        return _bounds_f32(low, high, open_high)
    return _bounds_half(low, high, open_high, kind == BF16)


@register_jitable
def _uniform_consts(low, high, kind):
    """(low, span, lo, hi, 0, 0) of fastinit._laws._uniform_params."""
    low, high = float64(low), float64(high)
    _check_finite(low)
    _check_finite(high)
    if not low <= high:
        raise ValueError("uniform: low must be <= high")
    span = _sub(high, low)
    _check_finite(span)
    if low == high:
        return low, 0.0, low, low, 0.0, 0.0
    lo, hi = _bounds(low, high, True, kind)
    return low, span, lo, hi, 0.0, 0.0


@register_jitable
def _normal_consts(loc, scale):
    loc, scale = float64(loc), float64(scale)
    _check_finite(loc)
    _check_finite(scale)
    if scale < 0.0:
        raise ValueError("normal: scale must be >= 0")
    return loc, scale, 0.0, 0.0, 0.0, 0.0


_SQRT1_2 = math.sqrt(0.5)


@register_jitable
def _ncdf(x):
    """Standard normal CDF, 0.5 erfc(-x / sqrt 2), as fastinit._laws._ncdf."""
    return _mul(0.5, math.erfc(_mul(-x, _SQRT1_2)))


@register_jitable
def _truncnorm_consts(loc, scale, a, b, kind):
    """(loc, signed scale, lo, hi, Phi(alpha), Phi(beta) - Phi(alpha)) of
    fastinit._laws._truncnormal_params."""
    loc, scale, a, b = float64(loc), float64(scale), float64(a), float64(b)
    _check_finite(loc)
    _check_finite(scale)
    if math.isnan(a) or math.isnan(b):
        raise ValueError("truncated_normal: a and b must be numbers or +-inf")
    if not scale > 0.0:
        raise ValueError("truncated_normal: scale must be > 0")
    if not a < b:
        raise ValueError("truncated_normal: a must be < b")
    alpha, beta = _div(_sub(a, loc), scale), _div(_sub(b, loc), scale)
    sign = 1.0
    if alpha > 0.0:
        alpha, beta, sign = -beta, -alpha, -1.0
    pa = _ncdf(alpha)
    pd = _sub(_ncdf(beta), pa)
    if not pd > 1e-300:
        raise ValueError("truncated_normal: [a, b] lies beyond 37 standard deviations")
    top = _TOP[kind]  # an infinite bound clamps at the dtype's largest value
    lo, hi = _bounds(max(a, -top), min(b, top), False, kind)
    return loc, _mul(sign, scale), lo, hi, pa, pd
