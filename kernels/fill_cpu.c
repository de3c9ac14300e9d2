/* fill_cpu.c - one source, three instruction sets, chosen at run time.
 *
 * fill_cpu_impl.h is compiled for baseline x86-64 (or any other CPU), for AVX2 and for
 * AVX-512 (with and without its BF16 extension) through GCC target pragmas; fi_fill
 * dispatches on what the CPU reports.  The build uses -ffp-contract=off so no path fuses
 * a multiply-add the others do not: every path gives the same bits (tests/test_stream.py
 * checks it); the one explicit fused multiply-add, the float route of the 16-bit uniform
 * below, is proven to round to the double route's bits (tests/test_lowp_simd.py).
 */
#include "fill_cpu.h"
#include <math.h>

/* The float route of the 16-bit uniform on the AVX-512 and AVX2 paths (fill_cpu_lowp.h,
 * lowp_fast, lowp_fast8).
 * Input k has x = a + B (2k + 1) (fi_uniform_lowp, B = span 2^-25), zero at
 * k0 = -(a + B) / 2B.  With K = round(k0) + J (kept in [-1, 2^24]) and j = K - k (an
 * integer, exact in float), x = x_K + s j for s = -2B; the float y = fma(s, j, c), with s
 * rounded to float and c the float nearest the double value of input K, lies within
 * 3.7 floats (ulps of y) of the double value of input k whenever |k - k0| >= 1/2 and
 * |K - k0| <= |k - k0|: then |x_K| <= |x| and 2B |j| <= 2 |x|, so the errors of s and c
 * stay below 3.07 2^-24 |x|, the double value's below 2^-28 |x|, y's rounding half an
 * ulp.  A y more than FI_LOWP_T = 5 floats from every midpoint of the 16-bit grid thus
 * rounds to the value the double gives; input K itself has y = c, within half an ulp.
 * bfloat16 takes J = 0, which leaves every |x| >= B >= 2^-126 but x_K's (y a normal
 * float); float16 takes J with |x| >= 2^-14 outside j in [0, 2J] (y then has the grid
 * in its top 11 significand bits), those inputs taking the double route.  So do the
 * inputs near a midpoint: about 1 in 6000 (bfloat16), 1 in 750 (float16). */
#define FI_LOWP_T 5
#define FI_LOWP_D16 ((2u * FI_LOWP_T << 19) | 0x7ffffu) /* the same, float16, rotated */

enum { FI_LOWP_LO = 1, FI_LOWP_HI = 2 }; /* sides of [lo, hi] the values can pass */

typedef struct fi_lowp {
    int fast;     /* 0: the fill takes the double route for every element */
    int clamp;    /* FI_LOWP_LO | FI_LOWP_HI: the double values of inputs 0, 2^24 - 1 pass */
    int k;        /* K */
    fi_u32 near;  /* 2J (float16) */
    float s, c;   /* -(float)2B, the float nearest the double value of input K */
} fi_lowp;

/* the float route's constants for a fill of dtype (-1: no 16-bit uniform, no route) */
static void fi_lowp_setup(const fi_params *p, int dtype, fi_lowp *lp)
{
    const double b2 = p->b * 5.9604644775390625e-08; /* 2B = span 2^-24 */
    const float fmin = 1.17549435e-38f;              /* 2^-126 */
    double j = 0.0;
    lp->fast = 0;
    if (dtype < 0 || !(b2 >= 4.7019774032891500e-38)) return; /* 2B >= 2^-124 */
    if ((p->lo != 0.0 && fabs(p->lo) < fmin) || (p->hi != 0.0 && fabs(p->hi) < fmin))
        return; /* a subnormal end value: vcvtneps2bf16 would flush it */
    if (dtype == FI_DT_F16) {
        j = ceil(6.103515625e-05 * 1.0009765625 / b2) + 8.0; /* |x| >= 2^-14 beyond J */
        if (j > 4194304.0) return; /* 2^22: a tiny span, values near zero */
    }
    double k0 = -(p->a + p->b * 2.98023223876953125e-08) / b2;
    k0 = k0 < -2e7 ? -2e7 : k0 > 2e7 ? 2e7 : k0;
    double kk = floor(k0 + 0.5) + j;
    kk = kk < -1.0 ? -1.0 : kk > 16777216.0 ? 16777216.0 : kk;
    lp->k = (int)kk;
    lp->near = (fi_u32)(2.0 * j);
    lp->s = -(float)b2;
    lp->c = (float)(p->a + (p->b * 2.98023223876953125e-08) * (2.0 * kk + 1.0));
    /* the values rise with k: a side needs the clamp when an end value passes it */
    lp->clamp = (p->a + (p->b * 2.98023223876953125e-08) * 1.0 < p->lo ? FI_LOWP_LO : 0) |
                (p->a + (p->b * 2.98023223876953125e-08) * 33554431.0 > p->hi ? FI_LOWP_HI : 0);
    lp->fast = lp->c == 0.0f || fabsf(lp->c) >= fmin; /* y = c must be no subnormal */
}

#define FI_N(name) name##_baseline
#include "fill_cpu_impl.h"
#undef FI_N

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FI_HAVE_X86 1

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi2")
#define FI_ISA_AVX2 1
#define FI_N(name) name##_avx2
#include "fill_cpu_impl.h"
#undef FI_N
#undef FI_ISA_AVX2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,f16c,bmi2,prefer-vector-width=512")
#define FI_ISA_AVX512 1
#define FI_N(name) name##_avx512
#include "fill_cpu_impl.h"
#undef FI_N
#undef FI_ISA_AVX512
#pragma GCC pop_options

/* AVX-512 with the BF16 extension (vcvtneps2bf16: float to bfloat16 in one instruction) */
#if defined(__clang__) || __GNUC__ >= 10
#define FI_HAVE_BF16 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,f16c,bmi2,prefer-vector-width=512")
#define FI_ISA_AVX512 1
#define FI_ISA_AVX512BF16 1
#define FI_N(name) name##_avx512bf16
#include "fill_cpu_impl.h"
#undef FI_N
#undef FI_ISA_AVX512BF16
#undef FI_ISA_AVX512
#pragma GCC pop_options
#endif
#endif

static int fi_simd_level = -1;
static int fi_bf16 = 0; /* the AVX-512 path uses its BF16 build */

int fi_simd_supported(void)
{
#if defined(FI_HAVE_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return FI_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c") && __builtin_cpu_supports("bmi2"))
        return FI_SIMD_AVX2;
#endif
    return FI_SIMD_BASELINE;
}

int fi_set_simd(int level)
{
    int best = fi_simd_supported();
#if defined(FI_HAVE_BF16)
    fi_bf16 = best == FI_SIMD_AVX512 && __builtin_cpu_supports("avx512bf16");
#endif
    fi_simd_level = level < 0 || level > best ? best : level;
    return fi_simd_level;
}

int fi_simd_active(void)
{
    if (fi_simd_level < 0) fi_set_simd(-1);
    return fi_simd_level;
}

void fi_fill(int dist, int dtype, const fi_params *p, fi_u64 start, fi_i64 n, char *dst,
             fi_i64 stride)
{
    switch (fi_simd_active()) {
#if defined(FI_HAVE_X86)
    case FI_SIMD_AVX512:
#if defined(FI_HAVE_BF16)
        if (fi_bf16) {
            fill_avx512bf16(dist, dtype, p, start, n, dst, stride);
            return;
        }
#endif
        fill_avx512(dist, dtype, p, start, n, dst, stride);
        return;
    case FI_SIMD_AVX2: fill_avx2(dist, dtype, p, start, n, dst, stride); return;
#endif
    default: fill_baseline(dist, dtype, p, start, n, dst, stride); return;
    }
}
