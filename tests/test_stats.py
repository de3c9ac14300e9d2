"""Distributions at fixed seeds; every tolerance follows from the sample size at a
false-alarm rate of about 1e-6 per check (5 standard errors, KS at alpha = 1e-6)."""

import math

import ml_dtypes
import numpy as np
import pytest
from scipy import special, stats

import fastinit

N = 1 << 21
KS_C = math.sqrt(-math.log(1e-6 / 2) / 2)  # Kolmogorov critical value, alpha = 1e-6


def _grid_neighbour(v, dt):
    """Next larger value of dtype dt for every entry of v (finite, not the max)."""
    if dt == ml_dtypes.bfloat16:
        b = v.astype(dt).view(np.uint16).astype(np.int32)
        b = np.where(v >= 0, b + 1, b - 1)
        b = np.where(v == 0, 1, b)  # +0 -> smallest subnormal; -0 handled as +0
        return b.astype(np.uint16).view(dt).astype(np.float64)
    return np.nextafter(v.astype(dt), dt(np.inf)).astype(np.float64)


def ks_distance(x, cdf, dt, clamp_top=False):
    """Kolmogorov distance between the sample x and the law of cdf rounded to dt
    (for float32/float64 the rounding is below the sample's resolution).  clamp_top:
    what would round above the largest value is clamped to it (uniform's open end)."""
    v, counts = np.unique(np.asarray(x, np.float64), return_counts=True)
    ecdf_hi = np.cumsum(counts) / len(x)
    ecdf_lo = ecdf_hi - counts / len(x)
    if dt in (np.float16, ml_dtypes.bfloat16):
        up = (v + _grid_neighbour(v, dt)) / 2  # rounds to v from below this midpoint
        if clamp_top:
            up[-1] = np.inf
        lo = np.concatenate([[-np.inf], up[:-1]])
        return max(np.abs(ecdf_hi - cdf(up)).max(), np.abs(ecdf_lo - cdf(lo)).max())
    f = cdf(v)
    return max(np.abs(ecdf_hi - f).max(), np.abs(ecdf_lo - f).max())


DTS = [np.float16, ml_dtypes.bfloat16, np.float32, np.float64]


@pytest.mark.parametrize("dt", DTS, ids=lambda d: np.dtype(d).name)
def test_uniform_ks_and_bounds(dt):
    x = fastinit.uniform(N, -1.5, 2.5, seed=101, dtype=dt)
    assert x.min() >= -1.5 and x.max() < 2.5
    d = ks_distance(x, stats.uniform(-1.5, 4.0).cdf, dt, clamp_top=True)
    assert d < KS_C / math.sqrt(N), d


@pytest.mark.parametrize("dt", DTS, ids=lambda d: np.dtype(d).name)
def test_normal_ks(dt):
    x = fastinit.normal(N, 0.5, 2.0, seed=102, dtype=dt)
    d = ks_distance(x, stats.norm(0.5, 2.0).cdf, dt)
    assert d < KS_C / math.sqrt(N), d


@pytest.mark.parametrize("dt", DTS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("loc,scale,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04),
                                           (1.0, 0.5, 1.7, 3.0), (0.0, 1.0, -8.0, -3.5),
                                           (0.0, 0.02, -2.0, 2.0), (0.0, 1.0, 0.0, math.inf),
                                           (0.0, 1.0, -math.inf, math.inf),
                                           (0.5, 2.0, -math.inf, -1.0),
                                           (1.0, 0.5, 2.0, math.inf), (0.0, 1.0, 5.0, math.inf),
                                           (0.0, 1.0, -math.inf, -6.0)])
def test_truncated_normal_ks_and_bounds(dt, loc, scale, a, b):
    x = fastinit.truncated_normal(N, loc, scale, a, b, seed=103, dtype=dt)
    assert x.astype(np.float64).min() >= a and x.astype(np.float64).max() <= b
    law = stats.truncnorm((a - loc) / scale, (b - loc) / scale, loc=loc, scale=scale)
    d = ks_distance(x, law.cdf, dt)
    assert d < KS_C / math.sqrt(N), d


def test_infinite_bounds_through_every_face():
    """Half normal (0, inf) and one-sided (-inf, b) through fastinit.truncated_normal,
    init.trunc_normal_ (torch's bounds), the jax/flax truncated_normal (bounds in std units)
    and the Numba functions: KS against scipy.stats.truncnorm; nan bounds are refused."""
    from fastinit import init, initializers

    n = 1 << 20
    half = stats.truncnorm(0.0, math.inf, loc=0.0, scale=0.5)
    faces = {
        "truncated_normal": fastinit.truncated_normal(n, 0.0, 0.5, 0.0, math.inf, seed=7),
        "trunc_normal_": init.trunc_normal_(np.empty(n, np.float32), 0.0, 0.5, 0.0,
                                            math.inf, seed=7),
        "jax truncated_normal": initializers.truncated_normal(0.5, np.float32, 0.0, math.inf)(
            7, (n,)),
    }
    for name, x in faces.items():
        assert x.min() >= 0.0 and np.isfinite(x).all(), name
        d = ks_distance(np.asarray(x), half.cdf, np.float32)
        assert d < KS_C / math.sqrt(n), (name, d)
    lower = init.trunc_normal_(np.empty(n), 1.0, 2.0, -math.inf, 0.0, seed=8)
    d = ks_distance(lower, stats.truncnorm(-math.inf, -0.5, loc=1.0, scale=2.0).cdf, np.float64)
    assert lower.max() <= 0.0 and d < KS_C / math.sqrt(n), d
    for bad in (dict(a=math.nan), dict(b=math.nan), dict(a=math.inf, b=math.inf)):
        with pytest.raises(ValueError, match="a|b"):
            fastinit.truncated_normal(4, 0.0, 1.0, **{"a": -1.0, "b": 1.0, **bad}, seed=1)
    with pytest.raises(ValueError, match="upper"):
        initializers.truncated_normal(1.0, np.float32, 0.0, math.nan)


def test_infinite_bounds_numba_equals_fills():
    """The Numba truncated normal takes infinite bounds and gives the fills' bits."""
    fnb = pytest.importorskip("fastinit.numba")
    for a, b in ((0.0, math.inf), (-math.inf, -1.0), (-math.inf, math.inf)):
        for dt, fn in ((np.float32, fnb.truncated_normal_f32),
                       (np.float64, fnb.truncated_normal_f64)):
            x = fastinit.truncated_normal(64, 0.0, 1.0, a, b, seed=3, dtype=dt)
            y = np.array([fn(3, 0, i, 0.0, 1.0, a, b) for i in range(64)], dt)
            np.testing.assert_array_equal(x, y, err_msg=f"{a}, {b}, {dt}")


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
def test_normal_moments(dt):
    n = 1 << 23
    z = fastinit.normal(n, seed=104, dtype=dt).astype(np.float64)
    se = {1: 1 / math.sqrt(n), 2: math.sqrt(2 / n), 3: math.sqrt(6 / n), 4: math.sqrt(24 / n)}
    assert abs(z.mean()) < 5 * se[1]
    assert abs(z.var() - 1) < 5 * se[2]
    assert abs(stats.skew(z)) < 5 * se[3]
    assert abs(stats.kurtosis(z)) < 5 * se[4]


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
def test_normal_tails_to_5_sigma(dt):
    n = 1 << 24
    z = np.abs(fastinit.normal(n, seed=105, dtype=dt))
    for k in (1, 2, 3, 4, 5):
        p = special.erfc(k / math.sqrt(2))
        count = np.count_nonzero(z > k)
        assert abs(count - n * p) < 5 * math.sqrt(n * p * (1 - p)) + 1, (k, count, n * p)


def test_truncated_normal_moments_match_truncnorm():
    n = 1 << 22
    x = fastinit.truncated_normal(n, 0.0, 1.0, -2.0, 2.0, seed=106, dtype=np.float64)
    law = stats.truncnorm(-2, 2)
    assert abs(x.mean()) < 5 * law.std() / math.sqrt(n)
    assert abs(x.std() - law.std()) < 5 * law.std() / math.sqrt(2 * n)
    # jax/keras' 0.87962566103423978: std of N(0, 1) truncated to (-2, 2)
    assert abs(law.std() - 0.87962566103423978) < 1e-15


def test_generator_streams_are_independent():
    """Successive Generator calls are uncorrelated."""
    g = fastinit.Generator(7)
    a, b = g.standard_normal(N), g.standard_normal(N)
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / math.sqrt(N)
