"""The transforms of kernels/fi_dist.h against higher-precision references computed
from the same Philox words.  Documented bounds (kernels/README.md): normal <= 4 ulp of
the result for float32 and float64; truncated normal float64 within 1e-12 relative;
truncated normal float32 within 6 ulp (central region) and 7 ulp (float tail) of
Phi^-1 of the exact p, 0.5 ulp in the far tail."""

import math
import shutil
import subprocess
from pathlib import Path

import mpmath
import numpy as np
import pytest
from _philox_words import words
from scipy import special

import fastinit
from fastinit._laws import fill_limits
from fastinit._paths import kernel_dir

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
        wa = w[:, 2 * k]
        small = wa < np.uint64(1 << 24)  # fi_u01f_oc32: the 2^-32 grid below 2^-8
        u1 = np.where(small, (wa + np.uint64(1)).astype(L) * L(2.0) ** -32,
                      ((wa >> np.uint64(8)) + np.uint64(1)).astype(L) * L(2.0) ** -24)
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


@pytest.fixture(scope="module")
def float_bound(tmp_path_factory):
    """Output of tests/data/ndtri_f32_bound.c, compiled with the build's float flags: the
    exhaustive error of the float Phi^-1 and the normal radius' extremes."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not on the PATH")
    exe = tmp_path_factory.mktemp("bound") / "bound"
    subprocess.run(["gcc", "-std=c99", "-O2", "-fno-math-errno", "-ffp-contract=off",
                    f"-I{kernel_dir()}", str(Path(__file__).parent / "data" / "ndtri_f32_bound.c"),
                    "-o", str(exe)], check=True)
    lines = subprocess.run([str(exe), "1"], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    return [line.split() for line in lines]


def test_float_ndtri_bound_on_every_float(float_bound):
    """PPND7 in float, on every float input of its regions: central <= 5.5 ulp of
    Phi^-1(0.5 + q), tail <= 6.6 ulp of -Phi^-1(t) (measured 5.49 and 6.50); the double
    reference and the worst value agree with mpmath."""
    mpmath.mp.dps = 40
    bounds = {"central": 5.5, "tail": 6.6}
    for name, worst, x, got, ref in (row for row in float_bound if row[0] in bounds):
        assert float(worst) <= bounds[name], (name, worst, x)
        x = mpmath.mpf(float(x))
        exact = (mpmath.sqrt(2) * mpmath.erfinv(2 * x) if name == "central"
                 else -mpmath.sqrt(2) * mpmath.erfinv(2 * x - 1))
        spacing = float(np.spacing(np.float32(abs(float(exact)))))
        assert abs(float(ref) - float(exact)) <= 1e-12 * abs(float(exact))
        assert abs(float(got) - float(exact)) <= bounds[name] * spacing


def test_normal_float32_radius_reaches_past_6_5(float_bound):
    """The radius from a whole 32-bit word: its largest value is sqrt(64 ln 2) = 6.6604
    (u1 = 2^-32), and on the 2^32 words the tail mass P(r > T) = exp(-T^2 / 2) holds to
    one word, far beyond the 5.77 of a 24-bit radius."""
    rows = {row[0]: row[1:] for row in float_bound if row[0] == "radius"}
    rmax = float(rows["radius"][0])
    assert rmax > 6.5 and abs(rmax - math.sqrt(64 * math.log(2))) <= 1e-6 * rmax
    assert fill_limits(np.float32)[2] >= rmax
    beyond = [(float(t), int(n)) for name, t, n in
              (row for row in float_bound if row[0] == "beyond")]
    assert [t for t, _ in beyond] == pytest.approx([3.5, 4.0, 5.0, 5.5, 5.77, 6.0, 6.5])
    for t, n in beyond:
        expect = 2.0**32 * math.exp(-np.float32(t).astype(float) ** 2 / 2)
        assert abs(n - expect) <= 1 + 1e-5 * expect, (t, n, expect)
    assert dict(beyond)[6.5] >= 2  # mass past 6.5 sigma is produced


def _exact_ndtri(p_parts):
    """Phi^-1(pa + u pd) with the sum and product exact (mpmath, 40 digits)."""
    mpmath.mp.dps = 40
    pa, u, pd = (mpmath.mpf(float(v)) for v in p_parts)
    return float(mpmath.sqrt(2) * mpmath.erfinv(2 * (pa + u * pd) - 1))


def test_truncated_normal_float32_bound():
    """32-bit path against Phi^-1 of the exact p = Phi(alpha) + u (Phi(beta) - Phi(alpha)):
    central region (|p - 0.5| <= 0.425) within 6 ulp, float tail (min(p, 1 - p) >= 2^-36)
    within 7 ulp, far tail (AS 241 in double) within half an ulp.  The double reference
    is exact enough except near p = 0.5, where its granularity is coarse against a small
    z: those elements, and the worst of each region, are checked against mpmath."""
    n = 1 << 20
    w = words(13, n // 4).reshape(-1)
    u = (w.astype(np.float64) + 0.5) * 2.0**-32
    seen = set()
    for a, b in ((-2.0, 2.0), (-9.0, -3.0), (3.0, 9.0), (-100.0, 100.0), (-9.0, -6.5),
                 (-1e-4, 1e-4), (-0.5, 0.3)):
        x = fastinit.truncated_normal(n, 0.0, 1.0, a, b, seed=13, dtype=np.float32)
        alpha, beta, sign = (a, b, 1.0) if a <= 0 else (-b, -a, -1.0)
        pa = special.ndtr(alpha)
        pd = special.ndtr(beta) - pa
        p = pa + u * pd
        ref = sign * special.ndtri(p)
        fine = np.flatnonzero(np.abs(p - 0.5) < 2.0**-20)  # double p too coarse
        judged = np.ones(n, bool)
        judged[fine[2000:]] = False  # the first 2000 of them against mpmath
        for i in fine[:2000]:
            ref[i] = sign * _exact_ndtri((pa, u[i], pd))
        x = x.astype(np.float64)
        ref = np.clip(ref, a, b)
        err = np.abs(x - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        t = np.minimum(p, 1 - p)
        regions = {"central": (np.abs(p - 0.5) <= 0.425, 6.0),
                   "tail": ((np.abs(p - 0.5) > 0.425) & (t >= 2.0**-36), 7.0),
                   "far": (t < 2.0**-36, 0.5)}
        for name, (mask, bound) in regions.items():
            mask &= judged
            if not mask.any():
                continue
            seen.add(name)
            worst = np.flatnonzero(mask)[np.argmax(err[mask])]
            exact = np.clip(sign * _exact_ndtri((pa, u[worst], pd)), a, b)
            spacing = float(np.spacing(np.float32(abs(exact))))
            assert err[worst] <= bound and abs(x[worst] - exact) <= bound * spacing, (
                a, b, name, err[worst])
    assert seen == {"central", "tail", "far"}


