"""The transforms of kernels/fi_dist.h inside Numba code, on prepared constants: words to
values of each law (uniform, its float16/bfloat16 form, Box-Muller normal, inverse-CDF
truncated normal) and the per-block values fi_values_w32/fi_values_w64 that fastinit.numba
and the Numba CUDA fills (fastinit/backends/numba_cuda.py) run."""

from __future__ import annotations

from numba import float32, float64, int64, uint32, uint64
from numba.extending import register_jitable

from ._core import DIST_NORMAL, DIST_UNIFORM, DIST_UNIFORM_LOWP
from ._numba_ops import (
    _F,
    _PIO4_F,
    _TRUNC_CENTRAL,
    _add,
    _f2u,
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
)
from ._numba_philox import _u01oc32_f32, _u01oc_f64, _word64, bits_block, u01_f32, u01_f64

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
