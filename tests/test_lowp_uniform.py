"""The float16/bfloat16 uniform is exact on the output's grid (kernels/fi_dist.h,
fi_uniform_lowp).  Over all 2^24 inputs k = w >> 8: the value of input k is the double
x_k = low + (span 2^-25)(2k + 1) rounded once to the dtype (nearest even), clamped into
the dtype's values in [low, high); the count of each value is, to within one input at each
cell boundary (where the double x_k and the real one straddle a midpoint), the number of
real x_k in its rounding cell, counted in rational arithmetic; `high` never appears; the
mean lies closer to that law's exact mean than the float32 draw's lies to (low + high) / 2."""

import ctypes
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from _reference import round_once  # noqa: I001  (tests/ is on sys.path under pytest)
from _shim import build_shim

import fastinit
from fastinit import _core, _laws

BF16 = np.dtype(ml_dtypes.bfloat16)
F16 = np.dtype(np.float16)
K = 1 << 24
SHIM = r"""
#include "fi_dist.h"
void every_input(double a, double b, double lo, double hi, int bf16, unsigned short *o)
{
    fi_params p = {0, 0, a, b, lo, hi, 0.0, 0.0};
    for (fi_u32 k = 0; k < (1u << 24); ++k) {
        float v = fi_uniform_lowp(k << 8, &p, (float)lo, (float)hi);
        o[k] = bf16 ? fi_f32_to_bf16(v) : fi_f32_to_f16(v);
    }
}
"""
CASES = [(BF16, 0.0, 1.0), (BF16, 1.0, 1.1), (BF16, -0.0441941738, 0.0441941738),
         (BF16, -3e-3, 2e-2), (BF16, 2.0**-130, 2.0**-127),
         (F16, 1.0, 1.1), (F16, -2.5, 1e-3), (F16, 0.0, 1e-6)]


@pytest.fixture(scope="module")
def every_input(tmp_path_factory):
    f = build_shim(SHIM, tmp_path_factory.mktemp("lowp")).every_input
    f.argtypes = [ctypes.c_double] * 4 + [ctypes.c_int, ctypes.c_void_p]

    def run(dtype, law):
        out = np.empty(K, np.uint16)
        f(law["a"], law["b"], law["lo"], law["hi"], dtype == BF16, out.ctypes.data)
        return out

    return run


def _grid(dtype, lo, hi):
    """The dtype's values in [lo, hi], ascending, as float64 (and their bit patterns)."""
    bits = np.arange(1 << 16, dtype=np.uint16)
    with np.errstate(invalid="ignore"):  # the NaN patterns
        v = bits.view(dtype).astype(np.float64)
    keep = np.isfinite(v) & (v >= lo) & (v <= hi) & ~((v == 0) & (bits != 0))  # one zero
    order = np.argsort(v[keep], kind="stable")
    return v[keep][order], bits[keep][order]


def _exact_counts(values, bits, a, b):
    """Inputs k whose x_k = a + b (2k + 1) 2^-25 rounds (nearest, ties to even) into each
    value's cell, the first and last values also taking everything beyond them."""
    a, b, scale = Fraction(a), Fraction(b), Fraction(1 << 25)
    below = [0]  # inputs below each boundary between neighbours (ties to the even one)
    for j in range(len(values) - 1):
        m = (Fraction(values[j]) + Fraction(values[j + 1])) / 2
        t = ((m - a) * scale / b - 1) / 2  # x_k < m  <=>  k < t
        n = min(max(-(-t.numerator // t.denominator), 0), K)  # ceil(t), clamped
        if t.denominator == 1 and 0 <= t < K:  # x_t == m: to the even neighbour
            n += int(bits[j]) % 2 == 0
        below.append(n)
    below.append(K)
    return np.diff(np.array(below, np.int64))


def _law_mean(values, a, high):
    """Exact mean of the law: each value weighted by its rounding cell within [a, high)."""
    a, high = Fraction(a), Fraction(high)
    edges = [a] + [(Fraction(values[j]) + Fraction(values[j + 1])) / 2
                   for j in range(len(values) - 1)] + [high]
    edges = [min(max(e, a), high) for e in edges]
    return sum(Fraction(v) * (edges[j + 1] - edges[j]) for j, v in enumerate(values)) / (high - a)


@pytest.mark.parametrize("dtype, low, high", CASES, ids=lambda c: str(c))
def test_every_input_lands_in_its_exact_cell(every_input, dtype, low, high):
    law = _laws._uniform_params(low, high, dtype)
    got = every_input(dtype, law)
    k2 = (np.arange(K, dtype=np.uint32) << np.uint32(1)) | np.uint32(1)
    x = law["a"] + (law["b"] * 2.0**-25) * k2.astype(np.float64)
    once = np.clip(round_once(x, dtype), law["lo"], law["hi"])
    np.testing.assert_array_equal(got.view(dtype).astype(np.float64), once)
    values, bits = _grid(dtype, law["lo"], law["hi"])
    counts = np.bincount(got, minlength=1 << 16)
    counts[0] += counts[0x8000]  # -0 (rounded from below zero) is the value 0
    counts[0x8000] = 0
    assert counts[bits].sum() == K  # nothing outside [lo, hi]
    assert values[-1] < high and once.max() < high
    exact = _exact_counts(values, bits, law["a"], law["b"])
    assert np.abs(np.cumsum(counts[bits]) - np.cumsum(exact)).max() <= 1
    # the mean is that of the exact law to within the inputs' resolution, closer than the
    # float32 draw's mean, (low + high) / 2 - span 2^-25, is to its own law
    mean = sum(Fraction(v) * int(c) for v, c in zip(values, counts[bits], strict=True)) / K
    law_mean = _law_mean(values, law["a"], Fraction(law["a"]) + Fraction(law["b"]))
    assert abs(mean - law_mean) < Fraction(law["b"]) / 2**25


@pytest.mark.parametrize("dtype", [BF16, F16])
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (1.0, 1.1), (-0.0441941738, 0.0441941738),
                                       (-3e-3, 2e-2), (1000.0, 1003.7)])
def test_fills_are_the_double_value_rounded_once(dtype, low, high):
    """Every SIMD path and thread count gives the element x = low + (span 2^-25)(2k + 1)
    (double) rounded once to the dtype, clamped into [low, high)."""
    n = 300_001
    law = _laws._uniform_params(low, high, dtype)
    w = fastinit.random_bits(n, seed=11, stream=2)
    x = law["a"] + (law["b"] * 2.0**-25) * ((w >> np.uint32(7)) | np.uint32(1)).astype(np.float64)
    expect = np.clip(round_once(x, dtype), law["lo"], law["hi"]).astype(dtype).view(np.uint16)
    for simd in ("baseline", "avx2", "avx512"):
        _core.set_simd(simd)
        for threads in (1, 2):
            fastinit.set_num_threads(threads)
            got = fastinit.uniform(n, low, high, seed=11, stream=2, dtype=dtype)
            np.testing.assert_array_equal(got.view(np.uint16), expect, err_msg=f"{simd} {threads}")
