/* fill_cpu.h - the C entry points of the CPU fill, used by fastinit/_core.pyx. */
#ifndef FI_FILL_CPU_H
#define FI_FILL_CPU_H
#include "fi_dist.h"

#define FI_LANES 32 /* Philox blocks per group in the CPU loops (not part of the stream) */
enum { FI_SIMD_BASELINE = 0, FI_SIMD_AVX2 = 1, FI_SIMD_AVX512 = 2 };

static inline int fi_itemsize(int dtype)
{
    return dtype == FI_DT_F64 ? 8 : (dtype == FI_DT_F16 || dtype == FI_DT_BF16) ? 2 : 4;
}

/* Fill logical elements start .. start + n - 1 (indices mod 2^64; no bound overflows
 * when the range ends at 2^64) of the stream into dst, one element every `stride`
 * bytes, with the instruction set chosen by fi_set_simd (default: the best the CPU
 * has).  Thread-safe; the result does not depend on the instruction set. */
void fi_fill(int dist, int dtype, const fi_params *p, fi_u64 start, fi_i64 n, char *dst,
             fi_i64 stride);
int fi_simd_supported(void);           /* best level this CPU runs */
int fi_simd_active(void);              /* level fi_fill uses */
int fi_set_simd(int level);            /* returns the level set (capped by support) */
#endif
