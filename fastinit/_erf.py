"""erf on numpy arrays in float64, by W. J. Cody's rational approximations (1969) in the
form of Sun's fdlibm ``s_erf.c`` as glibc evaluates it (the same coefficients, the same
pairwise polynomial evaluation, the same order of operations), so its values are the C
library's ``erf`` (``math.erf``) except where numpy's ``exp`` and the C library's differ
in the last bit: error < 1 ulp.  Regions of |x|:

- [0, 2**-28): x + efx x (efx = 2/sqrt(pi) - 1; scaled by 8 below 2**-1015 so that no
  subnormal product is lost);
- [2**-28, 0.84375): x + x P(x^2)/Q(x^2);
- [0.84375, 1.25): erx + P(s)/Q(s), s = |x| - 1, erx = (float)0.84506291151;
- [1.25, 6): 1 - exp(-z^2 - 0.5625) exp((z - x)(z + x) + R(1/x^2)/S(1/x^2)) / x, z = x
  with the low 32 bits of its significand cleared (so z^2 is exact), two (R, S) pairs
  split at 1/0.35;
- [6, inf]: 1.

erf is odd: each region is evaluated at |x| and the sign copied back; NaN stays NaN."""

from __future__ import annotations

import numpy as np

_EFX = 1.28379167095512586316e-01
_EFX8 = 1.02703333676410069053e+00
_ERX = 8.45062911510467529297e-01
# numerators and denominators, coefficients of s^0, s^1, ...
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02,
       5.08130628187576562776e-03, 1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01,
       7.18286544141962662868e-02, 1.26171219808761642112e-01, 1.36370839120290507362e-02,
       1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02,
       4.34565877475229228821e+02, 6.45387271733267880336e+02, 4.29008140027567833386e+02,
       1.08635005541779435134e+02, 6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02,
       1.53672958608443695994e+03, 3.19985821950859553908e+03, 2.55305040643316442583e+03,
       4.74528541206955367215e+02, -2.24409524465858183362e+01)

TINY = 2.0 ** -28
SMALL, MID, BIG = 0.84375, 1.25, 6.0
SPLIT = float(np.uint64(0x4006DB6E00000000).view(np.float64))
"""The region bounds; SPLIT (about 1/0.35) is where the two erfc fits of [1.25, 6) meet."""
_HIGH_WORD = np.uint64(0xFFFFFFFF00000000)


def _poly(c, s):
    """sum c_k s^k as fdlibm's glibc form: pairs c_2j + s c_2j+1 added left to right with
    weights 1, s^2, s^4 (= s^2 s^2), s^6 (= s^4 s^2), s^8 (= s^4 s^4)."""
    s2 = s * s
    s4 = s2 * s2
    weights = (None, s2, s4, s4 * s2, s4 * s4)
    out = s * c[1]
    out += c[0]
    for j in range(1, (len(c) + 1) // 2):
        if 2 * j + 1 < len(c):
            pair = s * c[2 * j + 1]
            pair += c[2 * j]
            pair *= weights[j]
        else:
            pair = weights[j] * c[2 * j]
        out += pair
    return out


def _small(a):
    """erf on [0, 0.84375)."""
    z = a * a
    out = _poly(_PP, z)
    out /= _poly(_QQ, z)
    out *= a
    out += a
    tiny = a < TINY
    if tiny.any():
        t = a[tiny]
        out[tiny] = np.where(t < 2.0 ** -1015, 0.125 * (8.0 * t + _EFX8 * t), t + _EFX * t)
    return out


def _mid(a):
    """erf on [0.84375, 1.25)."""
    s = a - 1.0
    return _ERX + _poly(_PA, s) / _poly(_QA, s)


def _tail(a, r, s):
    """erf on [1.25, 6) given the erfc fit's numerator and denominator coefficients."""
    t = 1.0 / (a * a)
    z = (a.view(np.uint64) & _HIGH_WORD).view(np.float64)
    e = _poly(r, t)
    e /= _poly(s, t)
    e += (z - a) * (z + a)
    np.exp(e, out=e)
    e *= np.exp(-z * z - 0.5625)
    e /= a
    return np.subtract(1.0, e, out=e)


_REGIONS = ((0.0, SMALL, _small), (SMALL, MID, _mid),
            (MID, SPLIT, lambda a: _tail(a, _RA, _SA)), (SPLIT, BIG, lambda a: _tail(a, _RB, _SB)))


_BLOCK = 1 << 16  # elements per pass: the temporaries stay in cache


def _block(x, out):
    """erf of the float64 array x into out (same shape, 1-d)."""
    a = np.abs(x)
    np.copyto(out, a)
    out[a >= BIG] = 1.0  # 1 from 6 to inf; NaN stays NaN
    for lo, hi, f in _REGIONS:
        mask = (a >= lo) & (a < hi)
        if mask.any():
            out[mask] = f(a[mask])
    np.copysign(out, x, out=out)


def erf(x):
    """erf(x) elementwise: float64 arithmetic whatever the input; float32 (and float16)
    in, float32 out, rounded once from the float64 value; anything else gives float64.
    A 0-d input gives a numpy scalar."""
    x = np.asarray(x)
    dtype = np.result_type(x.dtype, np.float32)
    flat = np.ascontiguousarray(x, np.float64).ravel()
    out = np.empty_like(flat)
    for i in range(0, flat.size, _BLOCK):
        _block(flat[i:i + _BLOCK], out[i:i + _BLOCK])
    return out.reshape(x.shape).astype(dtype, copy=False)[()]
