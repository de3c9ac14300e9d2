/* fill_cpu.c - one source, three instruction sets, chosen at run time.
 *
 * fill_cpu_impl.h is compiled for baseline x86-64 (or any other CPU), for AVX2 and for
 * AVX-512 through GCC target pragmas; fi_fill dispatches on what the CPU reports.  The
 * build uses -ffp-contract=off so no path fuses a multiply-add the others do not:
 * every path gives the same bits (tests/test_stream.py checks it).
 */
#include "fill_cpu.h"
#include <math.h>

/* The float route of the 16-bit uniform on the AVX-512 path (fill_cpu_impl.h, lowp_fast):
 * element k has x = a + B (2k + 1) (fi_uniform_lowp, B = span 2^-25), which is zero at
 * k0 = -(a + B) / 2B.  With K = round(k0) + J (kept in [-1, 2^24]) and j = K - k (an
 * integer, exact in float), x = c + s j for c = x_K, s = -2B; the float
 * y = fma(s, j, (float)c) with s rounded to float has |y - x| < 3.02 2^-24 |x| + ulp(y)/2
 * for every k with j outside [0, 2J] (there |k - k0| >= J + 1/2, so |x_K| <= |x| and
 * 2B|j| <= 2|x|; the double value of fi_uniform_lowp is within 2^-50 |x| of x), i.e.
 * within 3.52 floats of it.  A y more than FI_LOWP_T = 5 floats from every midpoint of
 * the 16-bit grid then rounds to the value the double gives; J makes |x| >= 2^-14
 * (float16: its grid is then the top 11 bits of y's significand) or 2^-126 (bfloat16:
 * y is a normal float).  Elements with j in [0, 2J] or y near a midpoint (about 1 in
 * 6000 for bfloat16, 1 in 750 for float16) take the double route. */
#define FI_LOWP_T 5

typedef struct fi_lowp {
    int fast;     /* 0: the fill takes the double route for every element */
    int k;        /* K */
    fi_u32 near;  /* 2J */
    float s, c;   /* -(float)2B, (float)x_K */
} fi_lowp;

static void fi_lowp_setup(const fi_params *p, int dtype, fi_lowp *lp)
{
    const double b2 = p->b * 5.9604644775390625e-08; /* 2B = span 2^-24 */
    const double ymin = dtype == FI_DT_F16 ? 6.103515625e-05 : 1.1754943508222875e-38;
    lp->fast = 0;
    if (!(b2 >= 2.3509887016445750e-38)) return; /* 2B a normal float (2^-125) */
    if ((p->lo != 0.0 && fabs(p->lo) < 1.1754943508222875e-38) ||
        (p->hi != 0.0 && fabs(p->hi) < 1.1754943508222875e-38))
        return; /* a subnormal end value: vcvtneps2bf16 would flush it */
    double j = ceil(ymin * 1.0009765625 / b2) + 8.0;             /* J: |x| >= ymin */
    if (j > 4194304.0) return; /* 2^22: a tiny span, values near zero; the double route */
    double k0 = -(p->a + p->b * 2.98023223876953125e-08) / b2;
    k0 = k0 < -2e7 ? -2e7 : k0 > 2e7 ? 2e7 : k0;
    double kk = floor(k0 + 0.5) + j;
    kk = kk < -1.0 ? -1.0 : kk > 16777216.0 ? 16777216.0 : kk;
    lp->k = (int)kk;
    lp->near = (fi_u32)(2.0 * j);
    lp->s = -(float)b2;
    lp->c = (float)(p->a + p->b * 2.98023223876953125e-08 * (2.0 * kk + 1.0));
    lp->fast = 1;
}

#define FI_N(name) name##_baseline
#include "fill_cpu_impl.h"
#undef FI_N

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FI_HAVE_X86 1

#pragma GCC push_options
#pragma GCC target("avx2,f16c,bmi2")
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
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") &&
        __builtin_cpu_supports("bmi2"))
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
