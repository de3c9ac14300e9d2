"""The floating-point ground of fastinit.numba: one IEEE operation each, never contracted
(plain under ``njit``, libdevice's round-to-nearest on the CUDA target), bit casts, the
index check, and fi_math.h's log, sin/cos and Phi^-1 (double and float) operation for
operation."""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import float32, float64, int64, types, uint16, uint32, uint64
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload, register_jitable

MASK = 0xFFFFFFFF
_F = np.float32


# ---- primitives: one IEEE operation each, never contracted ----
# The Python bodies are what Numba's CUDA simulator runs (numpy scalars round like the
# hardware); njit and the CUDA target compile the overloads below.

def _mul(a, b):
    return a * b


def _add(a, b):
    return a + b


def _sub(a, b):
    return a - b


def _div(a, b):
    return a / b


def _sqrt(a):
    return type(a)(math.sqrt(float(a)))  # sqrt in double rounds float32 correctly


def _overload_binary(stub, cpu, f32_name, f64_name, negate_b=False):
    overload(stub, target="cpu")(lambda a, b: cpu)

    @overload(stub, target="cuda")
    def _on_cuda(a, b):
        from numba.cuda import libdevice

        fn = getattr(libdevice, f32_name if a == types.float32 else f64_name)
        if negate_b:  # libdevice has no dsub_rn; a - b is a + (-b) in IEEE arithmetic
            return lambda a, b: fn(a, -b)
        return lambda a, b: fn(a, b)


_overload_binary(_mul, lambda a, b: a * b, "fmul_rn", "dmul_rn")
_overload_binary(_add, lambda a, b: a + b, "fadd_rn", "dadd_rn")
_overload_binary(_sub, lambda a, b: a - b, "fadd_rn", "dadd_rn", negate_b=True)
_overload_binary(_div, lambda a, b: a / b, "fdiv_rn", "ddiv_rn")
overload(_sqrt, target="cpu")(lambda a: lambda a: math.sqrt(a))


@overload(_sqrt, target="cuda")
def _sqrt_cuda(a):
    from numba.cuda import libdevice

    fn = libdevice.fsqrt_rn if a == types.float32 else libdevice.dsqrt_rn
    return lambda a: fn(a)


def _bitcast(src, dst, width):
    @intrinsic
    def cast(typingctx, x):
        def codegen(context, builder, sig, args):
            to = ir.IntType(width) if isinstance(dst, types.Integer) else (
                ir.FloatType() if width == 32 else ir.DoubleType())
            return builder.bitcast(args[0], to)
        return dst(src), codegen
    return cast


_f2u_ir = _bitcast(float32, uint32, 32)
_u2f_ir = _bitcast(uint32, float32, 32)
_d2u_ir = _bitcast(float64, uint64, 64)
_u2d_ir = _bitcast(uint64, float64, 64)


def _f2u(x):
    return np.float32(x).view(np.uint32)


def _u2f(x):
    return np.uint32(x).view(np.float32)


def _d2u(x):
    return np.float64(x).view(np.uint64)


def _u2d(x):
    return np.uint64(x).view(np.float64)


def _overload_bitcast(stub, cast, src):
    overload(stub)(lambda x: lambda x: cast(src(x)))


_overload_bitcast(_f2u, _f2u_ir, float32)
_overload_bitcast(_u2f, _u2f_ir, uint32)
_overload_bitcast(_d2u, _d2u_ir, float64)
_overload_bitcast(_u2d, _u2d_ir, uint64)


def _index(x):
    """x (seed, stream, element or block index) as uint64 (int64 values wrap modulo
    2^64, as uint64 arithmetic would); a float is refused rather than rounded."""
    if not isinstance(x, int | np.integer) or isinstance(x, bool | np.bool_):
        raise TypeError(f"seed, stream and indices must be integers, got {type(x).__name__}")
    return np.uint64(x)


@overload(_index)
def _index_jit(x):
    if not isinstance(x, types.Integer):
        raise TypingError(f"seed, stream and indices must be integers, got {x}")
    return lambda x: uint64(x)


# ---- fi_math.h ----

_LN2_HI_F, _LN2_LO_F, _SQRT2_F = _F("0.693359375"), _F("-2.12194440e-4"), _F("1.41421356")
_PIO4_F = _F("0.785398163397448310")
_LOGF_C = (_F(1) / _F(9), _F(1) / _F(7), _F(1) / _F(5), _F(1) / _F(3))
_LOG_C = tuple(1.0 / k for k in (21, 19, 17, 15, 13, 11, 9, 7, 5, 3))


@register_jitable
def _logf(x):
    """fi_logf: log of a normal float32 > 0, 2 atanh series to s^9."""
    u = _f2u(x)
    e = int64((u >> uint32(23)) & uint32(0xFF)) - 127
    m = _u2f((u & uint32(0x007FFFFF)) | uint32(0x3F800000))
    big = m > _SQRT2_F
    half = _mul(m, float32(0.5))
    m = half if big else m
    e = e + 1 if big else e
    s = _div(_sub(m, float32(1)), _add(m, float32(1)))
    s2 = _mul(s, s)
    p = _LOGF_C[0]
    for k in range(1, 4):
        p = _add(_mul(p, s2), _LOGF_C[k])
    two_s = _mul(float32(2), s)
    lm = _add(two_s, _mul(two_s, _mul(s2, p)))
    ef = float32(e)
    return _add(_add(_mul(ef, _LN2_LO_F), lm), _mul(ef, _LN2_HI_F))


@register_jitable
def _log(x):
    """fi_log: log of a double > 0 (subnormals included), series to s^21."""
    sub = x < 2.2250738585072014e-308
    scaled = _mul(x, float64(18014398509481984.0))
    x = scaled if sub else x
    u = _d2u(x)
    e = int64((u >> uint64(52)) & uint64(0x7FF)) - 1023 - (54 if sub else 0)
    m = _u2d((u & uint64(0x000FFFFFFFFFFFFF)) | uint64(0x3FF0000000000000))
    big = m > 1.4142135623730951
    half = _mul(m, float64(0.5))
    m = half if big else m
    e = e + 1 if big else e
    s = _div(_sub(m, float64(1)), _add(m, float64(1)))
    s2 = _mul(s, s)
    p = _LOG_C[0]
    for k in range(1, 10):
        p = _add(_mul(p, s2), _LOG_C[k])
    two_s = _mul(float64(2), s)
    lm = _add(two_s, _mul(two_s, _mul(s2, p)))
    ed = float64(e)
    return _add(_add(_mul(ed, 1.90821492927058770002e-10), lm),
                _mul(ed, 6.93147180369123816490e-01))


_SINF_C = (-_F(1) / _F(39916800), _F(1) / _F(362880), -_F(1) / _F(5040), _F(1) / _F(120),
           -_F(1) / _F(6))
_COSF_C = (_F(1) / _F(479001600), -_F(1) / _F(3628800), _F(1) / _F(40320), -_F(1) / _F(720),
           _F(1) / _F(24))
_SIN_C = (1.0 / 121645100408832000.0, -1.0 / 355687428096000.0, 1.0 / 1307674368000.0,
          -1.0 / 6227020800.0, 1.0 / 39916800.0, -1.0 / 362880.0, 1.0 / 5040.0,
          -1.0 / 120.0, 1.0 / 6.0)
_COS_C = (1.0 / 2432902008176640000.0, -1.0 / 6402373705728000.0, 1.0 / 20922789888000.0,
          -1.0 / 87178291200.0, 1.0 / 479001600.0, -1.0 / 3628800.0, 1.0 / 40320.0,
          -1.0 / 720.0, 1.0 / 24.0)


@register_jitable
def _horner(c, x):
    """c[0] x^(n-1) + ... + c[n-1] as ((c[0] x + c[1]) x + ...), each step p * x + c[k]."""
    p = c[0]
    for k in range(1, len(c)):
        p = _add(_mul(p, x), c[k])
    return p


@register_jitable
def _sincos_pio4_f32(t):
    """fi_sincos_pio4f: (sin t, cos t) for t in [0, pi/4]."""
    t2 = _mul(t, t)
    s = _add(t, _mul(t, _mul(t2, _horner(_SINF_C, t2))))
    c = _add(_sub(float32(1), _mul(float32(0.5), t2)), _mul(_mul(t2, t2), _horner(_COSF_C, t2)))
    return s, c


@register_jitable
def _sincos_pio4_f64(t):
    """fi_sincos_pio4: the double series (to t^19 and t^20)."""
    t2 = _mul(t, t)
    s = _sub(t, _mul(t, _mul(t2, _horner(_SIN_C, t2))))
    c = _add(_sub(float64(1), _mul(float64(0.5), t2)), _mul(_mul(t2, t2), _horner(_COS_C, t2)))
    return s, c


@register_jitable
def _octant(q, st, ct):
    """FI_OCTANT_RECONSTRUCT: (cos, sin) of (q + f) pi/4 from those of the reduced t."""
    odd = (q & uint32(1)) != uint32(0)
    n = int64(((q + uint32(1 if odd else 0)) >> uint32(1)) & uint32(3))
    s_odd = -st if odd else st
    c_ = s_odd if n & 1 else ct
    s_ = ct if n & 1 else s_odd
    return (-c_ if (n + 1) & 2 else c_), (-s_ if n & 2 else s_)


_NDTRI_NC = (2509.0809287301226727, 33430.575583588128105, 67265.770927008700853,
             45921.953931549871457, 13731.693765509461125, 1971.5909503065514427,
             133.14166789178437745, 3.387132872796366608)
_NDTRI_DC = (5226.495278852854561, 28729.085735721942674, 39307.89580009271061,
             21213.794301586595867, 5394.1960214247511077, 687.1870074920579083,
             42.313330701600911252, 1.0)
_NDTRI_N1 = (7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177,
             1.27045825245236838258, 3.64784832476320460504, 5.7694972214606914055,
             4.6303378461565452959, 1.42343711074968357734)
_NDTRI_D1 = (1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966,
             0.14810397642748007459, 0.68976733498510000455, 1.6763848301838038494,
             2.05319162663775882187, 1.0)
_NDTRI_N2 = (2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386,
             0.026532189526576123093, 0.29656057182850489123, 1.7848265399172913358,
             5.4637849111641143699, 6.6579046435011037772)
_NDTRI_D2 = (2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5,
             7.868691311456132591e-4, 0.0148753612908506148525, 0.13692988092273580531,
             0.59983220655588793769, 1.0)


@register_jitable
def _ndtri(p):
    """fi_ndtri: Phi^-1(p), Wichura's AS 241, all three approximations evaluated."""
    q = _sub(p, 0.5)
    rc = _sub(0.180625, _mul(q, q))
    nc = _horner(_NDTRI_NC, rc)
    dc = _horner(_NDTRI_DC, rc)
    upper = _sub(1.0, p)
    tail = p if q < 0.0 else upper
    tail = tail if tail > 0.0 else 1e-300
    r = _sqrt(-_log(tail))
    r1 = _sub(r, 1.6)
    r2 = _sub(r, 5.0)
    central = (-q if q < 0.0 else q) <= 0.425
    mid = r <= 5.0
    qnc = _mul(q, nc)
    num = qnc if central else (_horner(_NDTRI_N1, r1) if mid else _horner(_NDTRI_N2, r2))
    den = dc if central else (_horner(_NDTRI_D1, r1) if mid else _horner(_NDTRI_D2, r2))
    z = _div(num, den)
    return z if (central or q >= 0.0) else -z


_PPND7_A = (_F("59.109374720"), _F("159.29113202"), _F("50.434271938"), _F("3.3871327179"))
_PPND7_B = (_F("67.187563600"), _F("78.757757664"), _F("17.895169469"), _F(1))
_PPND7_C = (_F("0.17023821103"), _F("1.3067284816"), _F("2.7568153900"), _F("1.4234372777"))
_PPND7_D = (_F("0.12021132975"), _F("0.73700164250"), _F(1))
_PPND7_R0, _PPND7_R1, _TRUNC_CENTRAL = _F("0.180625"), _F("1.6"), _F("0.425")


@register_jitable
def _ndtri_central_f32(q):
    """fi_ndtri_central_f32: Phi^-1(0.5 + q) for |q| <= 0.425, Wichura's PPND7."""
    r = _sub(_PPND7_R0, _mul(q, q))
    return _div(_mul(q, _horner(_PPND7_A, r)), _horner(_PPND7_B, r))


@register_jitable
def _ndtri_tail_f32(t):
    """fi_ndtri_tail_f32: -Phi^-1(t) for t in [2^-36, 0.075], Wichura's PPND7."""
    r = _sub(_sqrt(-_logf(t)), _PPND7_R1)
    return _div(_horner(_PPND7_C, r), _horner(_PPND7_D, r))


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
