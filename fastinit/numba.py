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

import numpy as np
from numba import float32, float64, int64, uint32, uint64
from numba.extending import overload, register_jitable

from ._core import DIST_NORMAL, DIST_UNIFORM, DIST_UNIFORM_LOWP
from ._core import PHILOX_M0 as M0
from ._core import PHILOX_M1 as M1
from ._core import PHILOX_W0 as W0
from ._core import PHILOX_W1 as W1
from ._numba_consts import (
    BF16,
    F16,
    F32,
    F64,
    _half_bits,
    _normal_consts,
    _truncnorm_consts,
    _uniform_consts,
)
from ._numba_ops import (
    _F,
    _PIO4_F,
    _TRUNC_CENTRAL,
    MASK,
    _add,
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
    _u2f,
    f32_to_bf16_bits,
    f32_to_f16_bits,
)

# the public functions (those of _numba_ops' fi_math.h rounding included)
__all__ = [
    "mulhilo32", "philox4x32_10", "bits_block", "bits", "u01_f32", "u01_f64",
    "f32_to_bf16_bits", "f32_to_f16_bits", "truncnorm_params", "uniform_block_f32",
    "uniform_block_f64", "normal_block_f32", "normal_block_f64", "truncated_normal_block_f32",
    "truncated_normal_block_f64", "truncated_normal_block_p_f32",
    "truncated_normal_block_p_f64", "uniform_f32", "uniform_f64", "normal_f32", "normal_f64",
    "truncated_normal_f32", "truncated_normal_f64", "truncated_normal_p_f32",
    "truncated_normal_p_f64", "uniform_f16", "uniform_bf16", "normal_f16", "normal_bf16",
    "truncated_normal_f16", "truncated_normal_bf16", "truncated_normal_p_f16",
    "truncated_normal_p_bf16",
]

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


def truncnorm_params(loc, scale, a, b, dtype=np.float32):
    """The constants (loc, signed scale, lo, hi, Phi(alpha), Phi(beta) - Phi(alpha)) of a
    truncated normal, computed on the host exactly as fastinit.truncated_normal does, for
    truncated_normal_p_f32/f64 (pass them to a kernel as a tuple argument)."""
    from ._laws import _truncnormal_params
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
