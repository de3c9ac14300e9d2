# The constants of the C headers under kernels/, declared once for Cython: fastinit/_core.pyx
# cimports them and exposes them as Python ints (DIST_*, DT_*, PHILOX_*), which the Python
# fills, the CuPy backend and the Numba ports read instead of restating the numbers.

from libc.stdint cimport uint32_t

cdef extern from "philox4x32.h":
    const uint32_t FI_PHILOX_M0  # round multipliers
    const uint32_t FI_PHILOX_M1
    const uint32_t FI_PHILOX_W0  # Weyl key bumps
    const uint32_t FI_PHILOX_W1

cdef extern from "fi_dist.h":
    enum:
        FI_DIST_BITS
        FI_DIST_UNIFORM
        FI_DIST_NORMAL
        FI_DIST_TRUNCNORMAL
        FI_DIST_UNIFORM_LOWP
    enum:
        FI_DT_U32
        FI_DT_F16
        FI_DT_BF16
        FI_DT_F32
        FI_DT_F64
