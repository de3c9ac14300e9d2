"""A slow pure-Python reference of the stream contract (kernels/README.md): Philox4x32-10
on Python integers and the per-element transforms, independent of the compiled code.

Bits and uniform values are exact; normal and truncated normal return the value of the
exact transform of the same words (double precision), which the kernels meet within a few
ulp (``tolerance``)."""

import math

import ml_dtypes
import numpy as np
from scipy import special

MASK = 0xFFFFFFFF
M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
BF16 = np.dtype(ml_dtypes.bfloat16)


def philox(counter, key):
    """Philox4x32-10 of four counter words and two key words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK
    return c0, c1, c2, c3


def block(seed, stream, b):
    return philox((b & MASK, b >> 32, stream & MASK, stream >> 32), (seed & MASK, seed >> 32))


def _wide(dtype):
    return np.dtype(dtype) == np.float64


def bits(seed, stream, i):
    return block(seed, stream, i // 4)[i % 4]


def _word64(seed, stream, i):
    w = block(seed, stream, i // 2)
    j = i % 2
    return (w[2 * j] << 32) | w[2 * j + 1]


def _half(dtype):
    return np.dtype(dtype) in (np.dtype(np.float16), BF16)


def uniform(seed, stream, i, low, high, dtype):
    """The working-precision value low + (high - low) u before clamping (exact); for
    float16/bfloat16 the double x = low + (span 2^-25)(2k + 1), k = w >> 8."""
    if _wide(dtype):
        return low + (high - low) * ((_word64(seed, stream, i) >> 11) * 2.0**-53)
    if _half(dtype):
        return low + ((high - low) * 2.0**-25) * float(((bits(seed, stream, i) >> 8) << 1) | 1)
    u = np.float32((bits(seed, stream, i) >> 8) * 2.0**-24)
    span = high - low
    if span >= 3.4028235677973366e38:  # FLT_MAX + half an ulp: the float32 span is inf
        return float(np.float32(low + span * float(u)))
    return float(np.float32(low) + np.float32(span) * u)


def round_once(x, dtype):
    """float64 x (scalar or array) rounded to nearest even on dtype's grid directly, as
    float64 (float32, float16, bfloat16: rint on the multiples of the ulp at |x|, subnormals
    included; numpy/ml_dtypes casts of float64 to bfloat16 round through float32)."""
    finfo = ml_dtypes.finfo(dtype)
    e = np.frexp(x)[1].astype(np.int64) - 1  # |x| in [2^e, 2^(e + 1))
    ulp = np.ldexp(1.0, np.maximum(e, finfo.minexp) - finfo.nmant)
    return np.rint(x / ulp) * ulp


def normal_z(seed, stream, i, dtype):
    """z of the Box-Muller transform of element i (double precision)."""
    if _wide(dtype):
        w = block(seed, stream, i // 2)
        u1 = ((((w[0] << 32) | w[1]) >> 11) + 1) * 2.0**-53
        turn = (((w[2] << 32) | w[3]) >> 11) * 2.0**-53
    else:
        w = block(seed, stream, i // 4)
        p = (i % 4) // 2
        wa = w[2 * p]  # a whole word: the 2^-32 grid below 2^-8 (fi_u01f_oc32)
        u1 = (wa + 1) * 2.0**-32 if wa < 1 << 24 else ((wa >> 8) + 1) * 2.0**-24
        turn = (w[2 * p + 1] >> 8) * 2.0**-24
    r = math.sqrt(-2.0 * math.log(u1))
    return r * (math.cos(2 * math.pi * turn) if i % 2 == 0 else math.sin(2 * math.pi * turn))


def truncated_z(seed, stream, i, loc, scale, a, b, dtype):
    """z of the inverse-CDF transform of element i (scipy's ndtr/ndtri in double)."""
    alpha, beta, sign = (a - loc) / scale, (b - loc) / scale, 1.0
    if alpha > 0:
        alpha, beta, sign = -beta, -alpha, -1.0
    pa = special.ndtr(alpha)
    pd = special.ndtr(beta) - pa
    if _wide(dtype):
        u = ((_word64(seed, stream, i) >> 11) + 0.5) * 2.0**-53
    else:
        u = (bits(seed, stream, i) + 0.5) * 2.0**-32
    return sign * float(special.ndtri(pa + u * pd))


def inverse_cdf_slack(z, loc, a):
    """|dz| from the double-precision p = pa + u pd that the kernels and truncated_z both
    invert (z mirrored when the interval lies above loc, as there): a few ulp of p over
    the density at z.  It dominates only for intervals far narrower than a standard
    deviation, e.g. [0, 2.3e-13] sigma, where p = 0.5 + 1e-13 u."""
    w = -z if a > loc else z
    density = math.exp(-0.5 * w * w) / math.sqrt(2 * math.pi)
    return 8 * 2.0**-53 * special.ndtr(w) / max(density, 1e-300)


def tolerance(magnitude, dtype):
    """Allowed |got - exact| for a value of this magnitude: the kernels' few ulp in the
    working precision plus the final rounding to dtype."""
    dtype = np.dtype(dtype)
    if _wide(dtype):
        return 1e-12 * magnitude + 1e-300
    eps = float(ml_dtypes.finfo(dtype).eps)
    tiny = float(ml_dtypes.finfo(dtype).smallest_subnormal)
    return (8 * 2.0**-23 + eps) * magnitude + tiny


def check_values(dist, values, indices, seed, stream, dtype, args):
    """values[k] is logical element indices[k] of (seed, stream) for `dist` ("random_bits",
    "uniform", "normal", "truncated_normal") with parameters `args`, per this reference:
    bits and uniform exactly (uniform clamped into [low, high)), the normals within
    ``tolerance``; every value finite."""
    for v, i in zip(np.asarray(values).reshape(-1), indices, strict=True):
        if dist == "random_bits":
            assert int(v) == bits(seed, stream, i), i
            continue
        v = float(v)
        assert math.isfinite(v), (i, v)
        if dist == "uniform":
            low, high = args
            if low == high:  # the constant, rounded to dtype
                assert v == float(np.array(low).astype(dtype)), (i, v)
                continue
            w = uniform(seed, stream, i, low, high, dtype)
            expect = float(round_once(w, dtype) if _half(dtype) else np.array(w).astype(dtype))
            assert low <= v < high, (i, v)
            if low <= expect < high:
                assert v == expect, (i, v, expect)
            else:  # rounded onto a bound: the nearest value of dtype inside [low, high)
                assert abs(v - w) <= tolerance(abs(w), dtype), (i, v, w)
        elif dist == "normal":
            loc, scale = args
            z = normal_z(seed, stream, i, dtype)
            assert abs(v - (loc + scale * z)) <= tolerance(abs(loc) + scale * abs(z), dtype), (
                i, v)
        else:
            loc, scale, a, b = args
            z = truncated_z(seed, stream, i, loc, scale, a, b, dtype)
            exact = min(max(loc + scale * z, a), b)
            assert a <= v <= b, (i, v)
            assert abs(v - exact) <= (tolerance(abs(loc) + scale * abs(z), dtype)
                                      + scale * inverse_cdf_slack(z, loc, a)), (i, v)
