"""The transforms of kernels/fi_dist.h against higher-precision references computed
from the same Philox words.  Documented bounds (kernels/README.md): normal <= 4 ulp of
the result for float32 and float64; truncated normal float64 within 1e-12 relative."""

import numpy as np
from _philox_words import words
from scipy import special

import fastinit

L = np.longdouble
PI = L("3.14159265358979323846264338327950288")
H = np.sqrt(L(0.5))


def _cos_sin_turn(x, bits):
    """cos and sin of 2 pi x / 2**bits in long double, reduced exactly by octant."""
    frac_bits = bits - 3
    q = (x >> np.uint64(frac_bits)).astype(np.int64)
    f = (x & np.uint64((1 << frac_bits) - 1)).astype(L) * L(2.0) ** -frac_bits
    odd = (q & 1) == 1
    t = np.where(odd, (L(1) - f), f) * (PI / 4)
    qq = np.where(odd, q + 1, q) % 8
    cq = np.array([1, H, 0, -H, -1, -H, 0, H], dtype=L)[qq]
    sq = np.array([0, H, 1, H, 0, -H, -1, -H], dtype=L)[qq]
    st = np.where(odd, -np.sin(t), np.sin(t))
    return cq * np.cos(t) - sq * st, sq * np.cos(t) + cq * st


def _ulp_error(got, ref, dt):
    ulp = np.spacing(np.abs(ref.astype(dt))).astype(L)
    return float((np.abs(got.astype(L) - ref) / ulp).max())


def test_normal_float32_within_4_ulp():
    n = 1 << 20
    w = words(11, n)
    z = fastinit.normal(4 * n, seed=11, dtype=np.float32).reshape(-1, 4)
    worst = 0.0
    for k in range(2):
        u1 = ((w[:, 2 * k] >> np.uint64(8)) + np.uint64(1)).astype(L) * L(2.0) ** -24
        r = np.sqrt(-2 * np.log(u1))
        c, s = _cos_sin_turn(w[:, 2 * k + 1] >> np.uint64(8), 24)
        worst = max(worst, _ulp_error(z[:, 2 * k], r * c, np.float32),
                    _ulp_error(z[:, 2 * k + 1], r * s, np.float32))
    assert worst <= 4.0, worst


def test_normal_float64_within_4_ulp():
    n = 1 << 20
    w = words(12, n)
    z = fastinit.normal(2 * n, seed=12, dtype=np.float64).reshape(-1, 2)
    hi = lambda a, b: ((a << np.uint64(32)) | b) >> np.uint64(11)  # noqa: E731
    u1 = (hi(w[:, 0], w[:, 1]) + np.uint64(1)).astype(L) * L(2.0) ** -53
    r = np.sqrt(-2 * np.log(u1))
    c, s = _cos_sin_turn(hi(w[:, 2], w[:, 3]), 53)
    worst = max(_ulp_error(z[:, 0], r * c, np.float64), _ulp_error(z[:, 1], r * s, np.float64))
    assert worst <= 4.0, worst


def test_truncated_normal_float64_matches_ndtri():
    """Phi^-1 by AS 241 agrees with scipy's ndtri to 1e-12 relative, tails included."""
    n = 1 << 18
    w = words(13, n)
    for a, b in ((-2.0, 2.0), (-9.0, -3.0), (3.0, 9.0), (-30.0, -29.0)):
        x = fastinit.truncated_normal(2 * n, 0.0, 1.0, a, b, seed=13, dtype=np.float64)
        alpha, beta, sign = (a, b, 1.0) if a <= 0 else (-b, -a, -1.0)
        pa = special.ndtr(alpha)
        pd = special.ndtr(beta) - pa
        for k, xs in ((0, x[0::2]), (1, x[1::2])):
            top = ((w[:, 2 * k] << np.uint64(32)) | w[:, 2 * k + 1]) >> np.uint64(11)
            u = (top.astype(np.float64) + 0.5) * 2.0**-53
            ref = np.clip(sign * special.ndtri(pa + u * pd), a, b)
            np.testing.assert_allclose(xs, ref, rtol=1e-12, atol=0)


def test_truncated_normal_float32_within_5_ulp():
    """32-bit path: Giles' float erfinv where min(p, 1 - p) >= 2**-25 (within 5 ulp of
    Phi^-1 on the same u), AS 241 in double below (within half an ulp after rounding)."""
    n = 1 << 20
    w = words(13, n // 4).reshape(-1)
    u = (w.astype(np.float64) + 0.5) * 2.0**-32
    for a, b in ((-2.0, 2.0), (-9.0, -3.0), (3.0, 9.0), (-100.0, 100.0)):
        x = fastinit.truncated_normal(n, 0.0, 1.0, a, b, seed=13, dtype=np.float32)
        alpha, beta, sign = (a, b, 1.0) if a <= 0 else (-b, -a, -1.0)
        pa = special.ndtr(alpha)
        p = pa + u * (special.ndtr(beta) - pa)
        ref = np.clip(sign * special.ndtri(p), a, b)
        ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        err = np.abs(x.astype(np.float64) - ref) / ulp
        fast = np.minimum(p, 1 - p) >= 2.0**-25
        assert err[fast].max() <= 5.0, (a, b, err[fast].max())
        if a == -9.0:
            assert (~fast).sum() > 10  # the double tail path is exercised
        if (~fast).any():
            assert err[~fast].max() <= 0.5, (a, b, err[~fast].max())
