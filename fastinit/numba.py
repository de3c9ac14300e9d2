"""fastinit's stream inside your own Numba code: every distribution as functions callable
from ``@numba.njit`` and ``@cuda.jit`` code, element ``i`` equal bit for bit to element
``i`` of the vectorized fill (kernels/README.md, the stream contract)::

    from fastinit import numba as fnb

    @numba.njit
    def walk(n, seed):
        x = 0.0
        for i in range(n):
            x += fnb.normal_f64(seed, 0, i, 0.0, 1.0)  # == fastinit.normal(..., offset=i)[0]
        return x

Per element (``i`` is the logical index, an integer in [0, 2^64); int64 wraps modulo 2^64,
a float is refused at compile time; seed and stream likewise):
``bits(seed, stream, i)`` (uint32), ``uniform_f32/f64(seed, stream, i, low, high)``,
``normal_f32/f64(seed, stream, i, loc, scale)``,
``truncated_normal_f32/f64(seed, stream, i, loc, scale, a, b)``.
Per Philox block ``blk`` (elements ``4 blk .. 4 blk + 3`` in float32, ``2 blk, 2 blk + 1``
in float64; one Philox call for all of them, a tuple back): ``bits_block``,
``uniform_block_f32/f64``, ``normal_block_f32/f64``, ``truncated_normal_block_f32/f64``,
the same arguments with ``blk`` for ``i``.
float16 / bfloat16 elements, as their uint16 bit patterns: ``uniform_f16/bf16``,
``normal_f16/bf16``, ``truncated_normal_f16/bf16`` (the float32 path clamped into the
dtype's values and rounded to nearest even, as the fills do; ``f32_to_f16_bits`` and
``f32_to_bf16_bits`` are that rounding, fi_math.h's; the uniform is rounded from double,
exact on the dtype's grid, fi_uniform_lowp).

The truncated normal needs Phi(alpha), Phi(beta): in ``njit`` code they come from the C
library's ``erfc``, the one CPython's ``math.erfc`` calls, so the values are exact.  The
CUDA target's ``erfc`` is libdevice's, whose last bit may differ: for device bits equal to
the CPU's, compute the constants on the host once, ``c = truncnorm_params(loc, scale, a,
b, dtype)``, and draw with ``truncated_normal_p_f32/f64/f16/bf16(seed, stream, i, c)``
(or the ``..._block_p_...`` forms), which also skips the two erfc per draw.

Bit-exactness without the compiler's help: every floating-point operation of the
transforms goes through ``_mul``/``_add``/``_sub``/``_div``/``_sqrt`` primitives
(``fastinit._numba_ops``, with the log, sin/cos and Phi^-1 below), plain
IEEE operations under ``njit`` (Numba sets no fast-math flags by default, so LLVM does not
contract them) and libdevice's round-to-nearest ``__nv_fmul_rn`` etc. on the CUDA target
(PTX ``mul.rn``/``add.rn``, which neither NVVM nor ptxas fuses into ``fma``; a plain
``a * b + c`` becomes ``fma.rn`` on the device even with ``fastmath=False``).  The log,
sin/cos and Phi^-1 (double and float) are those of fi_math.h, operation for operation.

Invalid parameters (low > high, scale < 0, a >= b, an interval holding no value of the
dtype) raise ValueError in ``njit`` code; on the CUDA target Numba reports exceptions only
in kernels compiled with ``debug=True``.  Needs numba (and numba-cuda for ``cuda.jit``);
``import fastinit`` never imports this module.
"""

from __future__ import annotations

import math

import numpy as np
from numba import float32, float64, int64, uint16, uint32, uint64
from numba.extending import overload, register_jitable

from ._core import DIST_NORMAL, DIST_UNIFORM, DIST_UNIFORM_LOWP
from ._core import PHILOX_M0 as M0
from ._core import PHILOX_M1 as M1
from ._core import PHILOX_W0 as W0
from ._core import PHILOX_W1 as W1
from ._numba_ops import (
    _F,
    _PIO4_F,
    _TRUNC_CENTRAL,
    MASK,
    _add,
    _d2u,
    _div,
    _f2u,
    _index,
    _log,
    _logf,
    _mul,
    _ndtri,
    _ndtri_central_f32,
    _ndtri_tail_f32,
    _octant,
    _sincos_pio4_f32,
    _sincos_pio4_f64,
    _sqrt,
    _sub,
    _u2d,
    _u2f,
)

# ---- Philox4x32-10 (kernels/philox4x32.h) ----


def mulhilo32(a, b):
    """(hi, lo) words of the 64-bit product a * b (on the device __umulhi and the 32-bit
    product, as fi_mulhilo32)."""
    p = uint64(a) * uint64(b)
    return uint32(p >> uint64(32)), uint32(p & uint64(MASK))


overload(mulhilo32, target="cpu")(lambda a, b: mulhilo32)


@overload(mulhilo32, target="cuda")
def _mulhilo32_cuda(a, b):
    from numba.cuda import libdevice

    def impl(a, b):
        a, b = uint32(a), uint32(b)
        return uint32(libdevice.umulhi(a, b)), uint32((uint64(a) * uint64(b)) & uint64(MASK))
    return impl


@register_jitable
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 (Salmon et al., SC'11): ten rounds, the key bumped before rounds
    2..10."""
    for r in range(10):
        if r > 0:
            k0 = uint32((uint64(k0) + uint64(W0)) & uint64(MASK))
            k1 = uint32((uint64(k1) + uint64(W1)) & uint64(MASK))
        hi0, lo0 = mulhilo32(uint32(M0), c0)
        hi1, lo1 = mulhilo32(uint32(M1), c2)
        c0, c1, c2, c3 = uint32(hi1 ^ c1 ^ k0), lo1, uint32(hi0 ^ c3 ^ k1), lo0
    return c0, c1, c2, c3


@register_jitable
def bits_block(seed, stream, b):
    """The four words of block b of (seed, stream): counter (b lo, b hi, stream lo,
    stream hi), key (seed lo, seed hi), as fi_block."""
    b, seed, stream = _index(b), _index(seed), _index(stream)
    return philox4x32_10(uint32(b & uint64(MASK)), uint32(b >> uint64(32)),
                         uint32(stream & uint64(MASK)), uint32(stream >> uint64(32)),
                         uint32(seed & uint64(MASK)), uint32(seed >> uint64(32)))


@register_jitable
def bits(seed, stream, i):
    """Element i of fastinit.random_bits: word i % 4 of block i // 4."""
    w = bits_block(seed, stream, _index(i) // uint64(4))
    return w[int64(_index(i) % uint64(4))]


# ---- words -> uniform (fi_dist.h), exact ----

@register_jitable
def u01_f32(w):
    """[0, 1) on a 2^-24 grid: (w >> 8) 2^-24, as fi_u01f."""
    return _mul(float32(uint32(w) >> uint32(8)), float32(5.9604644775390625e-08))


@register_jitable
def _u01oc32_f32(w):
    """(0, 1] from a whole word, as fi_u01f_oc32: ((w >> 8) + 1) 2^-24 for w >= 2^24,
    (w + 1) 2^-32 below."""
    w = uint32(w)
    small = w < uint32(0x1000000)
    m = w + uint32(1) if small else (w >> uint32(8)) + uint32(1)
    scale = float32(2.3283064365386963e-10) if small else float32(5.9604644775390625e-08)
    return _mul(float32(m), scale)


@register_jitable
def _word64(whi, wlo):
    return (uint64(whi) << uint64(32)) | uint64(wlo)


@register_jitable
def u01_f64(whi, wlo):
    """[0, 1) on a 2^-53 grid from two words, first high, as fi_u01d."""
    return _mul(float64(_word64(whi, wlo) >> uint64(11)), float64(1.1102230246251565e-16))


@register_jitable
def _u01oc_f64(whi, wlo):
    return _mul(float64((_word64(whi, wlo) >> uint64(11)) + uint64(1)),
                float64(1.1102230246251565e-16))


@register_jitable
def f32_to_bf16_bits(x):
    """bfloat16 bits of float32 x, round to nearest even (fi_f32_to_bf16)."""
    u = uint64(_f2u(float32(x)))
    u = (u + uint64(0x7FFF) + ((u >> uint64(16)) & uint64(1))) & uint64(MASK)
    return uint16(u >> uint64(16))


@register_jitable
def f32_to_f16_bits(x):
    """IEEE binary16 bits of float32 x, round to nearest even, subnormals and overflow
    handled (fi_f32_to_f16)."""
    u = uint64(_f2u(float32(x)))
    sign = u & uint64(0x80000000)
    u ^= sign
    fsub = _add(_u2f(uint32(u)), _u2f(uint32(126 << 23)))
    osub = (uint64(_f2u(fsub)) - uint64(126 << 23)) & uint64(MASK)
    onorm = ((u + uint64(((15 - 127) << 23) & MASK) + uint64(0xFFF)
              + ((u >> uint64(13)) & uint64(1))) & uint64(MASK)) >> uint64(13)
    o = osub if u < uint64(113 << 23) else onorm
    o = uint64(0x7C00) if u >= uint64(143 << 23) else o
    return uint16((o | (sign >> uint64(16))) & uint64(0xFFFF))


# ---- the transforms of fi_dist.h, on prepared constants ----

@register_jitable
def _clamp(v, lo, hi):
    v = lo if v < lo else v
    return hi if v > hi else v


@register_jitable
def _boxmuller_f32(wa, wb):
    """fi_boxmuller_f32: (r cos, r sin) of a word pair, the angle reduced exactly."""
    r = _sqrt(_mul(float32(-2), _logf(_u01oc32_f32(wa))))
    wb = uint32(wb)
    q = wb >> uint32(29)
    f = (wb >> uint32(8)) & uint32(0x1FFFFF)
    f = uint32(0x200000) - f if q & uint32(1) else f
    st, ct = _sincos_pio4_f32(_mul(float32(f), _PIO4_F / _F(2097152)))
    c, s = _octant(q, st, ct)
    return _mul(r, c), _mul(r, s)


@register_jitable
def _boxmuller_f64(w0, w1, w2, w3):
    """fi_boxmuller_f64: radius from w0, w1, angle from w2, w3."""
    r = _sqrt(_mul(-2.0, _log(_u01oc_f64(w0, w1))))
    x = _word64(w2, w3) >> uint64(11)
    q = uint32(x >> uint64(50))
    f = x & uint64(0x3FFFFFFFFFFFF)
    f = uint64(0x4000000000000) - f if q & uint32(1) else f
    st, ct = _sincos_pio4_f64(_mul(float64(f), 0.78539816339744830962 / 1125899906842624.0))
    c, s = _octant(q, st, ct)
    return _mul(r, c), _mul(r, s)


@register_jitable
def _affine(loc, scale, z):
    return _add(loc, _mul(scale, z))


@register_jitable
def _truncnormal_f32(w, c):
    """fi_truncnormal_f32 with c = (loc, signed scale, lo, hi, pa, pd), all float64."""
    h = _mul(c[5], 2.3283064365386963e-10)
    qb = _add(_sub(c[4], 0.5), _mul(2147483648.5, h))
    q = float32(_add(qb, _mul(float64(int64(uint32(w)) - 2147483648), h)))
    loc, scale = float32(c[0]), float32(c[1])
    if (-q if q < float32(0) else q) <= _TRUNC_CENTRAL:
        v = _affine(loc, scale, _ndtri_central_f32(q))
    else:
        pp = _add(c[4], _mul(_mul(_add(float64(w), 0.5), 2.3283064365386963e-10), c[5]))
        upper = _sub(1.0, pp)
        t = pp if pp < upper else upper
        if t >= 1.4551915228366852e-11:
            zt = _ndtri_tail_f32(float32(t))
            v = _affine(loc, scale, -zt if q < float32(0) else zt)
        else:
            v = float32(_affine(c[0], c[1], _ndtri(pp)))
    return _clamp(v, float32(c[2]), float32(c[3]))


@register_jitable
def _truncnormal_f64(whi, wlo, c):
    """fi_truncnormal_f64: 53-bit u, AS 241 in double."""
    u = _mul(_add(float64(_word64(whi, wlo) >> uint64(11)), 0.5), 1.1102230246251565e-16)
    v = _affine(c[0], c[1], _ndtri(_add(c[4], _mul(u, c[5]))))
    return _clamp(v, c[2], c[3])


@register_jitable
def _uniform_f32(w, c):
    """fi_uniform_f32 with c = (low, span, lo, hi) in float32."""
    return _clamp(_affine(c[0], c[1], u01_f32(w)), c[2], c[3])


@register_jitable
def _f64_to_f32_odd(x):
    """fi_f64_to_f32_odd: float64 x to float32, rounded to odd."""
    f = float32(x)
    fd = float64(f)
    u = _f2u(f)
    if abs(fd) > abs(x):
        u = u - uint32(1)
    if fd != x:
        u = u | uint32(1)
    return _u2f(u)


@register_jitable
def _uniform_lowp(w, c):
    """fi_uniform_lowp with c = (low, span, lo, hi) in float64: the float32 whose nearest
    even rounding to float16/bfloat16 is the exact one."""
    k2 = float64((w >> uint32(7)) | uint32(1))
    x = _add(c[0], _mul(_mul(c[1], 2.98023223876953125e-08), k2))
    return _clamp(_f64_to_f32_odd(x), float32(c[2]), float32(c[3]))


@register_jitable
def _uniform_f64(whi, wlo, c):
    return _clamp(_affine(c[0], c[1], u01_f64(whi, wlo)), c[2], c[3])


@register_jitable
def _values_w32(dist, seed, stream, b, c):
    """fi_values_w32: the float32 values of elements 4b .. 4b + 3 for dist DIST_UNIFORM
    (c = (low, span, lo, hi)), DIST_UNIFORM_LOWP (the uniform of a float16/bfloat16 output,
    the same c), DIST_NORMAL (c[:2] = (loc, scale)) or DIST_TRUNCNORMAL
    (c = truncnorm_params), c float64 as the C kernels' fi_params."""
    w0, w1, w2, w3 = bits_block(seed, stream, b)
    if dist == DIST_UNIFORM_LOWP:
        return (_uniform_lowp(w0, c), _uniform_lowp(w1, c), _uniform_lowp(w2, c),
                _uniform_lowp(w3, c))
    if dist == DIST_UNIFORM:
        cf = (float32(c[0]), float32(c[1]), float32(c[2]), float32(c[3]))
        return (_uniform_f32(w0, cf), _uniform_f32(w1, cf), _uniform_f32(w2, cf),
                _uniform_f32(w3, cf))
    if dist == DIST_NORMAL:
        loc, scale = float32(c[0]), float32(c[1])
        z0, z1 = _boxmuller_f32(w0, w1)
        z2, z3 = _boxmuller_f32(w2, w3)
        return (_affine(loc, scale, z0), _affine(loc, scale, z1), _affine(loc, scale, z2),
                _affine(loc, scale, z3))
    return (_truncnormal_f32(w0, c), _truncnormal_f32(w1, c), _truncnormal_f32(w2, c),
            _truncnormal_f32(w3, c))


@register_jitable
def _values_w64(dist, seed, stream, b, c):
    """fi_values_w64: the float64 values of elements 2b, 2b + 1."""
    w0, w1, w2, w3 = bits_block(seed, stream, b)
    if dist == DIST_UNIFORM:
        return _uniform_f64(w0, w1, c), _uniform_f64(w2, w3, c)
    if dist == DIST_NORMAL:
        z0, z1 = _boxmuller_f64(w0, w1, w2, w3)
        return _affine(c[0], c[1], z0), _affine(c[0], c[1], z1)
    return _truncnormal_f64(w0, w1, c), _truncnormal_f64(w2, w3, c)


# ---- the constants of one call, from its parameters (fastinit._generate's rules) ----

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
    """The clamp interval of fastinit._generate._inner_bounds for output kind `kind`."""
    if kind == F64:
        return _bounds_f64(low, high, open_high)
    if kind == F32:
        return _bounds_f32(low, high, open_high)
    return _bounds_half(low, high, open_high, kind == BF16)


@register_jitable
def _uniform_consts(low, high, kind):
    """(low, span, lo, hi, 0, 0) of fastinit._generate._uniform_params."""
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
    """Standard normal CDF, 0.5 erfc(-x / sqrt 2), as fastinit._generate._ncdf."""
    return _mul(0.5, math.erfc(_mul(-x, _SQRT1_2)))


@register_jitable
def _truncnorm_consts(loc, scale, a, b, kind):
    """(loc, signed scale, lo, hi, Phi(alpha), Phi(beta) - Phi(alpha)) of
    fastinit._generate._truncnormal_params."""
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


def truncnorm_params(loc, scale, a, b, dtype=np.float32):
    """The constants (loc, signed scale, lo, hi, Phi(alpha), Phi(beta) - Phi(alpha)) of a
    truncated normal, computed on the host exactly as fastinit.truncated_normal does, for
    truncated_normal_p_f32/f64 (pass them to a kernel as a tuple argument)."""
    from ._generate import _truncnormal_params
    from ._validate import check_float_dtype

    p = _truncnormal_params(loc, scale, a, b, check_float_dtype(dtype))
    return tuple(float(p[k]) for k in ("a", "b", "lo", "hi", "pa", "pd"))


# ---- public: blocks ----

@register_jitable
def uniform_block_f32(seed, stream, blk, low, high):
    """float32 elements 4 blk .. 4 blk + 3 of fastinit.uniform(low, high)."""
    return _values_w32(1, seed, stream, blk, _uniform_consts(low, high, F32))


@register_jitable
def uniform_block_f64(seed, stream, blk, low, high):
    """float64 elements 2 blk, 2 blk + 1 of fastinit.uniform(low, high)."""
    return _values_w64(1, seed, stream, blk, _uniform_consts(low, high, F64))


@register_jitable
def normal_block_f32(seed, stream, blk, loc, scale):
    """float32 elements 4 blk .. 4 blk + 3 of fastinit.normal(loc, scale)."""
    return _values_w32(2, seed, stream, blk, _normal_consts(loc, scale))


@register_jitable
def normal_block_f64(seed, stream, blk, loc, scale):
    return _values_w64(2, seed, stream, blk, _normal_consts(loc, scale))


@register_jitable
def truncated_normal_block_f32(seed, stream, blk, loc, scale, a, b):
    """float32 elements 4 blk .. 4 blk + 3 of fastinit.truncated_normal(loc, scale, a, b)."""
    return _values_w32(3, seed, stream, blk, _truncnorm_consts(loc, scale, a, b, F32))


@register_jitable
def truncated_normal_block_f64(seed, stream, blk, loc, scale, a, b):
    return _values_w64(3, seed, stream, blk, _truncnorm_consts(loc, scale, a, b, F64))


@register_jitable
def truncated_normal_block_p_f32(seed, stream, blk, c):
    """As truncated_normal_block_f32 with c = truncnorm_params(..., float32)."""
    return _values_w32(3, seed, stream, blk, c)


@register_jitable
def truncated_normal_block_p_f64(seed, stream, blk, c):
    return _values_w64(3, seed, stream, blk, c)


# ---- public: elements ----

@register_jitable
def _pick2(v, i):
    return v[int64(_index(i) % uint64(2))]


@register_jitable
def _words_of(seed, stream, i, wide):
    """The words element i of a uniform or truncated normal takes (32-bit: one word, the
    second slot 0; float64: the pair (w_2j, w_2j+1))."""
    if wide:
        w = bits_block(seed, stream, _index(i) // uint64(2))
        return (w[0], w[1]) if _index(i) % uint64(2) == uint64(0) else (w[2], w[3])
    return bits(seed, stream, i), uint32(0)


@register_jitable
def uniform_f32(seed, stream, i, low, high):
    """Element i of fastinit.uniform(low, high, dtype=float32, seed, stream)."""
    c = _uniform_consts(low, high, F32)
    w, _ = _words_of(seed, stream, i, False)
    return _uniform_f32(w, (float32(c[0]), float32(c[1]), float32(c[2]), float32(c[3])))


@register_jitable
def uniform_f64(seed, stream, i, low, high):
    """Element i of fastinit.uniform(low, high, dtype=float64, seed, stream)."""
    whi, wlo = _words_of(seed, stream, i, True)
    return _uniform_f64(whi, wlo, _uniform_consts(low, high, F64))


@register_jitable
def normal_f32(seed, stream, i, loc, scale):
    """Element i of fastinit.normal(loc, scale, dtype=float32, seed, stream): the cosine
    (even i) or sine (odd i) branch of the pair (w_2p, w_2p+1), p = (i % 4) // 2."""
    c = _normal_consts(loc, scale)
    w = bits_block(seed, stream, _index(i) // uint64(4))
    j = int64(_index(i) % uint64(4))
    z0, z1 = _boxmuller_f32(w[j & 2], w[(j & 2) + 1])
    return _affine(float32(c[0]), float32(c[1]), z1 if j & 1 else z0)


@register_jitable
def normal_f64(seed, stream, i, loc, scale):
    """Element i of fastinit.normal(loc, scale, dtype=float64, seed, stream)."""
    return _pick2(normal_block_f64(seed, stream, _index(i) // uint64(2), loc, scale), i)


@register_jitable
def truncated_normal_f32(seed, stream, i, loc, scale, a, b):
    """Element i of fastinit.truncated_normal(loc, scale, a, b, dtype=float32)."""
    return truncated_normal_p_f32(seed, stream, i, _truncnorm_consts(loc, scale, a, b, F32))


@register_jitable
def truncated_normal_f64(seed, stream, i, loc, scale, a, b):
    """Element i of fastinit.truncated_normal(loc, scale, a, b, dtype=float64)."""
    return truncated_normal_p_f64(seed, stream, i, _truncnorm_consts(loc, scale, a, b, F64))


@register_jitable
def truncated_normal_p_f32(seed, stream, i, c):
    """As truncated_normal_f32 with c = truncnorm_params(loc, scale, a, b, float32)."""
    w, _ = _words_of(seed, stream, i, False)
    return _truncnormal_f32(w, c)


@register_jitable
def truncated_normal_p_f64(seed, stream, i, c):
    """As truncated_normal_f64 with c = truncnorm_params(loc, scale, a, b, float64)."""
    whi, wlo = _words_of(seed, stream, i, True)
    return _truncnormal_f64(whi, wlo, c)


# ---- float16 / bfloat16 elements, as uint16 bit patterns ----

@register_jitable
def _uniform_half(seed, stream, i, low, high, bf16):
    c = _uniform_consts(low, high, BF16 if bf16 else F16)
    w, _ = _words_of(seed, stream, i, False)
    return _half_bits(_uniform_lowp(w, c), bf16)


@register_jitable
def uniform_f16(seed, stream, i, low, high):
    """Element i of fastinit.uniform(low, high, dtype=float16), its bits as uint16."""
    return _uniform_half(seed, stream, i, low, high, False)


@register_jitable
def uniform_bf16(seed, stream, i, low, high):
    """Element i of fastinit.uniform(low, high, dtype=bfloat16), its bits as uint16."""
    return _uniform_half(seed, stream, i, low, high, True)


@register_jitable
def normal_f16(seed, stream, i, loc, scale):
    """Element i of fastinit.normal(loc, scale, dtype=float16), its bits as uint16."""
    return f32_to_f16_bits(normal_f32(seed, stream, i, loc, scale))


@register_jitable
def normal_bf16(seed, stream, i, loc, scale):
    """Element i of fastinit.normal(loc, scale, dtype=bfloat16), its bits as uint16."""
    return f32_to_bf16_bits(normal_f32(seed, stream, i, loc, scale))


@register_jitable
def truncated_normal_f16(seed, stream, i, loc, scale, a, b):
    """Element i of fastinit.truncated_normal(loc, scale, a, b, dtype=float16), bits."""
    return truncated_normal_p_f16(seed, stream, i, _truncnorm_consts(loc, scale, a, b, F16))


@register_jitable
def truncated_normal_bf16(seed, stream, i, loc, scale, a, b):
    """Element i of fastinit.truncated_normal(loc, scale, a, b, dtype=bfloat16), bits."""
    return truncated_normal_p_bf16(seed, stream, i, _truncnorm_consts(loc, scale, a, b, BF16))


@register_jitable
def truncated_normal_p_f16(seed, stream, i, c):
    """As truncated_normal_f16 with c = truncnorm_params(loc, scale, a, b, float16)."""
    return f32_to_f16_bits(truncated_normal_p_f32(seed, stream, i, c))


@register_jitable
def truncated_normal_p_bf16(seed, stream, i, c):
    """As truncated_normal_bf16 with c = truncnorm_params(loc, scale, a, b, bfloat16)."""
    return f32_to_bf16_bits(truncated_normal_p_f32(seed, stream, i, c))
