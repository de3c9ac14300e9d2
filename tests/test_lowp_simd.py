"""Every SIMD path's float16/bfloat16 uniform equals the scalar definition (fi_uniform_lowp,
kernels/fi_dist.h) bit for bit on all 2^24 inputs k = w >> 8, for bounds chosen to be
awkward: zero crossings at either end of the inputs and within a few inputs of them,
spans far below and far above the bounds' magnitude, subnormal values, the dtype's whole
range, a single value.  AVX-512 and AVX2 take a float route (one fused multiply-add from an
integer near the zero crossing, kernels/fill_cpu.c, fi_lowp_setup) and fall back to the
double route where the float cannot decide; the model of that route here checks the
premise on every input: where it decides, it decides right, and it decides nearly always."""

import ctypes
import re

import ml_dtypes
import numpy as np
import pytest
from _reference import round_once  # noqa: I001  (tests/ is on sys.path under pytest)
from _shim import build_shim

from fastinit import _core
from fastinit import _generate as g
from fastinit._paths import kernel_dir

BF16 = np.dtype(ml_dtypes.bfloat16)
F16 = np.dtype(np.float16)
K = 1 << 24
SHIM = r"""
#include "fill_cpu.c"

static fi_params law(double a, double b, double lo, double hi)
{
    fi_params p = {0, 0, a, b, lo, hi, 0.0, 0.0};
    return p;
}

/* the 2^24 inputs k (w = k << 8 and varying low bits) through one path's lowp_words */
void every_input(double a, double b, double lo, double hi, int dtype, int simd,
                 unsigned short *o)
{
    fi_params p = law(a, b, lo, hi);
    fi_lowp lp;
    fi_u32 w[4 * FI_LANES];
    fi_lowp_setup(&p, dtype, &lp);
    for (fi_u32 k0 = 0; k0 < (1u << 24); k0 += 4 * FI_LANES) {
        for (fi_u32 i = 0; i < 4 * FI_LANES; ++i) w[i] = (k0 + i) << 8 | ((k0 + i) * 37u & 0xffu);
        if (simd == 3) lowp_words_avx512bf16(&lp, dtype, &p, w, o + k0);
        else if (simd == FI_SIMD_AVX512) lowp_words_avx512(&lp, dtype, &p, w, o + k0);
        else if (simd == FI_SIMD_AVX2) lowp_words_avx2(&lp, dtype, &p, w, o + k0);
        else lowp_words_baseline(&lp, dtype, &p, w, o + k0);
    }
}

/* the paths this CPU runs: baseline, AVX2, AVX-512, AVX-512 with BF16 (3) */
int paths(void)
{
    int best = fi_set_simd(-1);
    return best + (best == FI_SIMD_AVX512 && fi_bf16) + 1;
}

/* the float route's y for every input; its constants (-1 when the fill takes none) */
int float_route(double a, double b, double lo, double hi, int dtype, float *y, int *kn)
{
    fi_params p = law(a, b, lo, hi);
    fi_lowp lp;
    fi_lowp_setup(&p, dtype, &lp);
    if (!lp.fast) return -1;
    for (int k = 0; k < (1 << 24); ++k) y[k] = fmaf(lp.s, (float)(lp.k - k), lp.c);
    kn[0] = lp.k;
    kn[1] = dtype == FI_DT_F16 ? (int)lp.near : -1; /* bfloat16: no inputs set apart */
    return FI_LOWP_T;
}
"""
M = 2.0**-126
# (dtype, low, high, whether the float route serves the fill: not for the spans so small
# that 2B = span 2^-24 is no normal float, or that most values are float16 subnormals,
# nor for a subnormal end value)
CASES = [(BF16, 0.0, 1.0, 1), (BF16, -1.0, 1.0, 1), (BF16, 1.0, 1.1, 1),
         (BF16, -0.0441941738, 0.0441941738, 1), (BF16, -3e-3, 2e-2, 1),
         (BF16, 1000.0, 1003.7, 1), (BF16, -3.3e38, 3.3e38, 1), (BF16, -1e-6, 1.0, 1),
         (BF16, -1.0, 1e-6, 1), (BF16, -1e-30, 1.0, 1), (BF16, -1.0, -1e-30, 1),
         (BF16, -5e-7, 0.3, 1), (BF16, 3 * M, 1.0, 1), (BF16, -2.0, 2.0**-20, 1),
         (BF16, 1.0, 1.0078125, 1), (BF16, -M, M, 0), (BF16, 2.0**-130, 2.0**-127, 0),
         (BF16, -1e-39, 1.0, 0), (BF16, -1.0, -1.0 + 2.0**25 / (2**24 + 1), 1),
         (BF16, 0.5, 0.5, 0),
         (F16, 1.0, 1.1, 1), (F16, -2.5, 1e-3, 1), (F16, -1.0, 1.0, 1),
         (F16, -65504.0, 65504.0, 1), (F16, 60000.0, 65504.0, 1), (F16, -1e-7, 0.5, 1),
         (F16, -0.1, 0.7, 1), (F16, -2e-3, 2e-3, 1), (F16, 0.0, 1e-6, 0), (F16, -1e-4, 1e-4, 0),
         (F16, -2.0**-14, 2.0**-13, 0)]
CODE = {BF16: _core.DT_BF16, F16: _core.DT_F16}
PATHS = ["baseline", "avx2", "avx512", "avx512bf16"]


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    so = build_shim(SHIM, tmp_path_factory.mktemp("lowp_simd"))
    so.every_input.argtypes = [ctypes.c_double] * 4 + [ctypes.c_int] * 2 + [ctypes.c_void_p]
    so.float_route.argtypes = [ctypes.c_double] * 4 + [ctypes.c_int] + [ctypes.c_void_p] * 2
    so.paths_run = PATHS[:so.paths()]
    return so


def _run(shim, dtype, law, simd):
    out = np.empty(K, np.uint16)
    shim.every_input(law["a"], law["b"], law["lo"], law["hi"], CODE[dtype],
                     PATHS.index(simd), out.ctypes.data)
    return out


@pytest.mark.parametrize("dtype, low, high, fast", CASES, ids=lambda c: str(c))
def test_every_path_is_the_definition(shim, dtype, low, high, fast):
    law = g._uniform_params(low, high, dtype)
    ref = _run(shim, dtype, law, "baseline")  # fi_uniform_lowp, scalar
    k2 = (np.arange(K, dtype=np.uint32) << np.uint32(1)) | np.uint32(1)
    x = law["a"] + (law["b"] * 2.0**-25) * k2.astype(np.float64)
    np.testing.assert_array_equal(ref.view(dtype).astype(np.float64),
                                  np.clip(round_once(x, dtype), law["lo"], law["hi"]))
    for simd in shim.paths_run[1:]:
        got = _run(shim, dtype, law, simd)
        bad = np.flatnonzero(got != ref)
        assert bad.size == 0, (simd, bad[:5], got[bad[:5]], ref[bad[:5]])


@pytest.mark.parametrize("dtype, low, high, fast", CASES, ids=lambda c: str(c))
def test_float_route_decides_right_and_nearly_always(shim, dtype, low, high, fast):
    law = g._uniform_params(low, high, dtype)
    y = np.empty(K, np.float32)
    kn = np.zeros(2, np.int32)
    t = shim.float_route(law["a"], law["b"], law["lo"], law["hi"], CODE[dtype], y.ctypes.data,
                         kn.ctypes.data)
    assert (t >= 0) == fast
    if t < 0:
        return
    assert t == int(re.search(r"#define FI_LOWP_T (\d+)",
                              (kernel_dir() / "fill_cpu.c").read_text())[1])
    ref = _run(shim, dtype, law, "baseline")
    sh, grid = (3, 0x1fff) if dtype == F16 else (0, 0xffff)
    low_bits = y.view(np.uint32) & np.uint32(grid)
    j = kn[0] - np.arange(K, dtype=np.int64)
    flagged = ((j >= 0) & (j <= kn[1])) | (np.abs(low_bits.astype(np.int64) - (0x8000 >> sh)) <= t)
    decided = np.clip(y, np.float32(law["lo"]), np.float32(law["hi"])).astype(dtype).view(np.uint16)
    assert np.array_equal(decided[~flagged], ref[~flagged])
    # the double route: the 2J + 1 inputs nearest zero, and 2T + 1 floats around each
    # midpoint (of 2^16, resp. 2^13, when the inputs cover many floats evenly)
    limit = (kn[1] + 1) / K + (2 * t + 1) / (grid + 1)
    assert flagged.mean() <= 2 * limit
