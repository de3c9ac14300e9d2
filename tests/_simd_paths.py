"""Whole fills on an AVX-512 or AVX2 path against the baseline path's bits: counts that
start and end inside groups of 128 and cover 1 to 18 groups (runs of up to 8), at offsets
inside a group, far out, and ending at element 2**64 - 1."""

import numpy as np

from fastinit import _core

SIZES = (1, 127, 128, 129, 256, 257, 1000, 128 * 9, 128 * 18 + 5)


def fill_bits(fill, simd, n, offset, dtype):
    """The bits of fill(n, offset, dtype) made on the SIMD path `simd`."""
    _core.set_simd(simd)
    x = fill(n, offset, dtype)
    return x.view(np.uint16 if x.itemsize == 2 else np.uint32)


def assert_equals_baseline(fill, simd, dtype, sizes=SIZES):
    """fill(n, offset, dtype) on `simd` has the baseline path's bits for every count of
    `sizes` at offsets 0, 5, 2**40 + 77 and 2**64 - n."""
    for n in sizes:
        for offset in (0, 5, 2**40 + 77, 2**64 - n):
            np.testing.assert_array_equal(fill_bits(fill, simd, n, offset, dtype),
                                          fill_bits(fill, "baseline", n, offset, dtype),
                                          err_msg=f"{simd}: n={n}, offset={offset}")
