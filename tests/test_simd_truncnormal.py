"""The AVX-512 and AVX2 truncated normal in runs of up to 8 groups of 128 elements
(run_truncnormal_f32 in kernels/fill_cpu_trunc.h, and run_truncnormal_half for float16 and
bfloat16 outputs): the same bits as the baseline path's
per-element loop, for intervals whose elements reach every region of fi_truncnormal_f32
(central, float tail, far tail in double, mirrored upper intervals), for fills that start
and end inside groups, cover 1 to 18 groups, and end at element 2**64 - 1."""

import numpy as np
import pytest
from _simd_paths import assert_equals_baseline

import fastinit

# (loc, scale, a, b): default, far tail only, both tails, upper half (mirrored), one-sided
# far tail, narrow, one-sided, float tail (mirrored), float and far tail mixed (mirrored),
# shifted and scaled
LAWS = [(0.0, 1.0, -2.0, 2.0), (0.0, 1.0, -10.0, -6.95), (0.0, 1.0, -8.0, 8.0),
        (0.0, 1.0, 0.5, 3.0), (0.0, 1.0, -np.inf, -7.5), (0.0, 1.0, -0.1, 0.1),
        (0.0, 1.0, -3.0, np.inf), (0.0, 1.0, 6.0, 6.6), (0.0, 1.0, 6.3, 7.0),
        (0.5, 2.0, -2.5, 4.5)]


@pytest.mark.parametrize("simd", ["avx512", "avx2"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("law", LAWS)
def test_runs_equal_the_baseline_path(law, dtype, simd):
    loc, scale, a, b = law
    assert_equals_baseline(lambda n, offset, dtype: fastinit.truncated_normal(
        n, loc, scale, a, b, seed=11, offset=offset, dtype=dtype), simd, dtype)


def test_the_laws_reach_the_float_and_the_far_tail_together():
    """[6.3, 7.0] holds elements of the float tail and of the far tail (t < 2**-36, that
    is |z| > 6.65) in the same groups: about 91 % and 9 % of its mass, 1000 draws."""
    x = fastinit.truncated_normal(1000, 0.0, 1.0, 6.3, 7.0, seed=11, dtype=np.float32)
    assert (x < 6.6).mean() > 0.5 and (x > 6.7).mean() > 0.03
