"""fastinit._erf.erf, the package's one erf on arrays: within 2 ulp of the exact erf
(mpmath, 50 digits) on a dense grid and at the edges of its regions and of float64, within
2 ulp of math.erf on a million random points, float32 rounded once from float64."""

import math

import mpmath
import numpy as np
import pytest

from fastinit import _erf
from fastinit._erf import erf


def _ulps(got, x):
    """|got - erf(x)| in units of the last place of the correctly rounded erf(x)."""
    with mpmath.workdps(50):
        exact = mpmath.erf(mpmath.mpf(float(x)))
        ref = float(exact)
        if ref == 0:
            return 0.0 if got == 0 else math.inf
        return float(abs(mpmath.mpf(float(got)) - exact) / np.spacing(abs(ref)))


def _edges():
    """0, subnormals, the tiny branches' bounds, each region bound and its neighbours."""
    pts = [5e-324, 1e-310, 2.2250738585072014e-308, 2.0 ** -1015, 2.0 ** -28, 1e-20, 1e-8]
    for b in (_erf.TINY, _erf.SMALL, _erf.MID, _erf.SPLIT, _erf.BIG, 2.0 ** -1015):
        pts += [np.nextafter(b, 0), b, np.nextafter(b, np.inf)]
    pts += list(np.geomspace(1e-300, 1e-3, 200))
    pts = np.array(pts)
    return np.concatenate([pts, -pts])


def test_within_2_ulp_of_mpmath():
    x = np.concatenate([np.linspace(-6.5, 6.5, 26001), _edges()])
    got = erf(x)
    worst = max(_ulps(g, v) for g, v in zip(got, x, strict=True))
    assert worst <= 2.0


def test_special_values():
    got = erf(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6.0, -7.5, 1e300]))
    np.testing.assert_array_equal(got, [0.0, -0.0, 1.0, -1.0, np.nan, 1.0, -1.0, 1.0])
    assert math.copysign(1, got[0]) == 1 and math.copysign(1, got[1]) == -1


def test_within_2_ulp_of_math_erf():
    rng = np.random.default_rng(20261130)
    x = np.concatenate([rng.normal(0.0, 3.0, 500_000), rng.uniform(-7.0, 7.0, 500_000)])
    got = erf(x)
    want = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(got - want) / np.spacing(np.abs(want))) <= 2.0
    # the C library's algorithm: only numpy's exp (|x| >= 1.25) may move a last bit
    inner = np.abs(x) < _erf.MID
    np.testing.assert_array_equal(got[inner], want[inner])


def test_dtypes_shapes_and_blocks():
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 2.0, (3, 2 * _erf._BLOCK + 5))[:, ::2]  # strided, several blocks
    got = erf(x)
    assert got.shape == x.shape and got.dtype == np.float64
    flat = x.ravel()  # the same values in other blocks
    np.testing.assert_array_equal(got.ravel(), np.concatenate(
        [erf(flat[i:i + 997]) for i in range(0, flat.size, 997)]))
    x32 = x.astype(np.float32)
    got32 = erf(x32)
    assert got32.dtype == np.float32
    np.testing.assert_array_equal(got32, erf(x32.astype(np.float64)).astype(np.float32))
    assert erf(np.float16(1.0)).dtype == np.float32
    assert erf(np.arange(3)).dtype == np.float64
    scalar = erf(0.5)
    assert isinstance(scalar, np.float64) and scalar == pytest.approx(math.erf(0.5), rel=3e-16)
    assert erf(np.empty((0, 4))).shape == (0, 4)
