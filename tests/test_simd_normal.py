"""The AVX-512 and AVX2 normal (normal_grp and run_normal in kernels/fill_cpu_normal.h:
Box-Muller straight from the Philox registers, the four or eight sets of a group at once)
gives the bits of the definition, fi_boxmuller_f32 (kernels/fi_dist.h):
- its radius and its cos/sin steps equal fi_radius_f32 and fi_cossin_f32 on every distinct
  input (the radius reads a whole word below 2^24 and the top 24 bits above, the angle the
  top 24 bits; the low 8 bits vary), and z = loc + scale (r c) takes the same operations;
- whole fills equal the baseline path's for float32, float16 and bfloat16, for laws with
  signed zeros, negative and tiny scales (subnormal values), fills that start and end
  inside groups, cover 1 to 18 groups (runs of up to 8), and end at element 2**64 - 1."""

import ctypes

import numpy as np
import pytest
from _shim import build_shim
from _simd_paths import assert_equals_baseline, fill_bits

import fastinit
from fastinit import _core

SHIM = r"""
#include "fill_cpu.c"

/* input k of a kind: 0 the radius below 2^24 (w = k), 1 the radius above (w = k << 8,
 * low bits varying), 2 the angle (the same words) */
static fi_u32 word(int kind, fi_u32 k)
{
    return kind == 0 ? k : k << 8 | (k * 37u & 0xffu);
}

/* every input of each kind through one build's radius or cossin (64 words a call: four
 * AVX-512 vectors of 16 or eight AVX2 vectors of 8, VI and VF their integer and float
 * types); returns how many results differ from the scalar steps in any bit */
#define CHECK(ISA, VI, VF, LOAD, STORE, L)                                             \
    long mismatches_##ISA(void)                                                        \
    {                                                                                  \
        long bad = 0;                                                                  \
        for (int kind = 0; kind < 3; ++kind)                                           \
            for (fi_u32 k0 = 0; k0 < (1u << 24); k0 += 64) {                           \
                fi_u32 w[64];                                                          \
                float r[64], c[64], s[64];                                             \
                VI v[64 / L];                                                          \
                VF rv[64 / L], cv[64 / L], sv[64 / L];                                 \
                for (int i = 0; i < 64; ++i) w[i] = word(kind, k0 + (fi_u32)i);        \
                for (int j = 0; j < 64 / L; ++j) v[j] = LOAD((const void *)(w + L * j)); \
                if (kind < 2) {                                                        \
                    radius_##ISA(v, rv);                                               \
                    for (int j = 0; j < 64 / L; ++j) STORE(r + L * j, rv[j]);          \
                    for (int i = 0; i < 64; ++i)                                       \
                        bad += FI_F2U(r[i]) != FI_F2U(fi_radius_f32(w[i]));            \
                } else {                                                               \
                    cossin_##ISA(v, cv, sv);                                           \
                    for (int j = 0; j < 64 / L; ++j) {                                 \
                        STORE(c + L * j, cv[j]);                                       \
                        STORE(s + L * j, sv[j]);                                       \
                    }                                                                  \
                    for (int i = 0; i < 64; ++i) {                                     \
                        float cr, sr;                                                  \
                        fi_cossin_f32(w[i], &cr, &sr);                                 \
                        bad += FI_F2U(c[i]) != FI_F2U(cr) || FI_F2U(s[i]) != FI_F2U(sr); \
                    }                                                                  \
                }                                                                      \
            }                                                                          \
        return bad;                                                                    \
    }

#if defined(FI_HAVE_X86)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi2")
CHECK(avx2, __m256i, __m256, _mm256_loadu_si256, _mm256_storeu_ps, 8)
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,f16c,bmi2")
CHECK(avx512, __m512i, __m512, _mm512_loadu_si512, _mm512_storeu_ps, 16)
#pragma GCC pop_options
#if defined(FI_HAVE_BF16)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,f16c,bmi2")
CHECK(avx512bf16, __m512i, __m512, _mm512_loadu_si512, _mm512_storeu_ps, 16)
#pragma GCC pop_options
#endif
#endif

/* the builds this CPU runs, in the order AVX2, AVX-512, its BF16 build: 0 .. 3 of them */
int builds(void)
{
    int best = fi_set_simd(-1);
    return best == FI_SIMD_AVX512 ? 2 + fi_bf16 : best == FI_SIMD_AVX2;
}
"""
# (loc, scale): standard, shifted and scaled, a typical weight, loc -0.0 (keeps the sign of
# zero values), a large loc, subnormal values (bfloat16's exact rounding, float16's zeros)
LAWS = [(0.0, 1.0), (0.5, 2.0), (-3.0, 0.02), (-0.0, 1.0), (1e4, 3.5), (0.0, 1e-41)]


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    return build_shim(SHIM, tmp_path_factory.mktemp("simd_normal"))


def test_radius_and_angle_equal_the_scalar_steps_on_every_input(shim):
    builds = ["avx2", "avx512", "avx512bf16"][:shim.builds()]
    assert min(len(builds), 2) == {"baseline": 0, "avx2": 1, "avx512": 2}[_core.simd_supported()]
    for isa in builds:
        check = getattr(shim, f"mismatches_{isa}")
        check.restype = ctypes.c_long
        assert check() == 0, isa


def _normal(law):
    return lambda n, offset, dtype: fastinit.normal(n, law[0], law[1], seed=5, offset=offset,
                                                    dtype=dtype)


@pytest.mark.parametrize("simd", ["avx512", "avx2"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("law", LAWS)
def test_fills_equal_the_baseline_path(law, dtype, simd):
    assert_equals_baseline(_normal(law), simd, dtype)
    n = 1 << 20  # many runs, threads
    np.testing.assert_array_equal(fill_bits(_normal(law), simd, n, 3, dtype),
                                  fill_bits(_normal(law), "baseline", n, 3, dtype))


def test_the_tiny_scale_gives_subnormal_values():
    """scale 1e-41: nonzero floats below 2**-126, which bfloat16 rounds by integers on the
    AVX-512 path (vcvtneps2bf16 would flush them) and the AVX2 path."""
    x = fastinit.normal(1 << 12, 0.0, 1e-41, seed=5, dtype=np.float32)
    assert (np.abs(x) < np.finfo(np.float32).tiny).all() and (x != 0).mean() > 0.9
