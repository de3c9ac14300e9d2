/* fill_cpu.c - one source, three instruction sets, chosen at run time.
 *
 * fill_cpu_impl.h is compiled for baseline x86-64 (or any other CPU), for AVX2 and for
 * AVX-512 through GCC target pragmas; fi_fill dispatches on what the CPU reports.  The
 * build uses -ffp-contract=off so no path fuses a multiply-add the others do not:
 * every path gives the same bits (tests/test_stream.py checks it).
 */
#include "fill_cpu.h"

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
#endif

static int fi_simd_level = -1;

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
    case FI_SIMD_AVX512: fill_avx512(dist, dtype, p, start, n, dst, stride); return;
    case FI_SIMD_AVX2: fill_avx2(dist, dtype, p, start, n, dst, stride); return;
#endif
    default: fill_baseline(dist, dtype, p, start, n, dst, stride); return;
    }
}
