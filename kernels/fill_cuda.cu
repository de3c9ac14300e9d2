/* fill_cuda.cu - CUDA fills over the stream contract of fi_dist.h (STREAM_VERSION 2).
 *
 * One grid-stride loop over Philox blocks: each thread computes the values of whole
 * blocks with fi_values_w32 / fi_values_w64 (the same header functions the CPU path
 * implements) and stores the elements of the block that fall in [start, start + n).
 * Element i of the output is logical element start + i of the stream, written at the
 * memory offset its row-major index has under (shape, stride): the launch geometry never
 * changes a bit.  Element indices are taken mod 2^64 (the Python layer keeps
 * start + n <= 2^64), so no loop bound overflows at the end of the index range.
 * Compile with --fmad=false (the host does not contract either).
 *
 * Arguments: dist (FI_DIST_*), the fi_params fields, start, n, dst, then ndim and
 * `layout`, a device array of 2 * ndim int64: the shape, then the strides in elements.
 *
 * fi_round_f16 / fi_round_bf16 store float32 values the CuPy backend computed on the
 * device (orthogonal frames) into float16 / bfloat16 bits with fi_math.h's rounding, the
 * rule the fills use: arguments src (n contiguous floats, row-major), n, dst, ndim, layout.
 */
#include "fi_dist.h"
#include "fi_math.h"

FI_HD long long fi_elem_offset(fi_u64 i, int ndim, const long long *layout)
{
    long long off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
        fi_u64 extent = (fi_u64)layout[d];
        off += (long long)(i % extent) * layout[ndim + d];
        i /= extent;
    }
    return off;
}

/* Blocks of `per` elements that elements start .. start + n - 1 touch, counted without
 * forming start + n (which is 2^64, i.e. 0, for a range ending at the last element). */
FI_HD fi_u64 fi_blocks_spanned(fi_u64 start, long long n, fi_u64 per)
{
    return (start % per + (fi_u64)n + per - 1u) / per;
}

FI_HD fi_params fi_make_params(unsigned long long seed, unsigned long long stream, double a,
                               double b, double lo, double hi, double pa, double pd)
{
    fi_params p;
    p.seed = seed; p.stream = stream; p.a = a; p.b = b; p.lo = lo; p.hi = hi;
    p.pa = pa; p.pd = pd;
    return p;
}

/* raw words: element i is word i % 4 of block i / 4 */
extern "C" __global__ void fi_fill_u32(int dist, unsigned long long seed,
                                       unsigned long long stream, double a, double b,
                                       double lo, double hi, double pa, double pd,
                                       unsigned long long start, long long n, unsigned int *dst,
                                       int ndim, const long long *layout)
{
    const fi_params p = fi_make_params(seed, stream, a, b, lo, hi, pa, pd);
    (void)dist;
    if (n <= 0) return;
    const fi_u64 blocks = fi_blocks_spanned(start, n, 4u);
    const fi_u64 step = (fi_u64)gridDim.x * blockDim.x;
    for (fi_u64 r = (fi_u64)blockIdx.x * blockDim.x + threadIdx.x; r < blocks; r += step) {
        const fi_u64 blk = (start / 4u + r) & (~(fi_u64)0 / 4u); /* mod 2^62 blocks */
        fi_u32 w[4];
        fi_block(blk, &p, &w[0], &w[1], &w[2], &w[3]);
        for (fi_u64 j = 0; j < 4u; ++j) {
            fi_u64 i = blk * 4u + j - start; /* output index, mod 2^64 */
            if (i < (fi_u64)n) dst[fi_elem_offset(i, ndim, layout)] = w[j];
        }
    }
}

/* LOWP: a float16/bfloat16 output, whose uniform is FI_DIST_UNIFORM_LOWP */
#define FI_FILL_KERNEL(NAME, T, WIDE, LOWP, CONVERT)                                              \
    extern "C" __global__ void NAME(int dist, unsigned long long seed,                      \
                                    unsigned long long stream, double a, double b,          \
                                    double lo, double hi, double pa, double pd,             \
                                    unsigned long long start, long long n, T *dst,          \
                                    int ndim, const long long *layout)                      \
    {                                                                                       \
        const fi_params p = fi_make_params(seed, stream, a, b, lo, hi, pa, pd);             \
        const fi_u64 per = WIDE ? 2u : 4u;                                                  \
        const int d = LOWP && dist == FI_DIST_UNIFORM ? (int)FI_DIST_UNIFORM_LOWP : dist;   \
        if (n <= 0) return;                                                                 \
        const fi_u64 blocks = fi_blocks_spanned(start, n, per);                             \
        const fi_u64 step = (fi_u64)gridDim.x * blockDim.x;                                 \
        for (fi_u64 r = (fi_u64)blockIdx.x * blockDim.x + threadIdx.x; r < blocks;          \
             r += step) {                                                                   \
            const fi_u64 blk = (start / per + r) & (~(fi_u64)0 / per); /* mod 2^64/per */   \
            float v32[4];                                                                   \
            double v64[2];                                                                  \
            if (WIDE) fi_values_w64(d, blk, &p, v64);                                       \
            else fi_values_w32(d, blk, &p, v32);                                            \
            for (fi_u64 j = 0; j < per; ++j) {                                              \
                fi_u64 i = blk * per + j - start; /* output index, mod 2^64 */              \
                if (i < (fi_u64)n) dst[fi_elem_offset(i, ndim, layout)] = CONVERT;          \
            }                                                                               \
        }                                                                                   \
    }

FI_FILL_KERNEL(fi_fill_f16, unsigned short, 0, 1, fi_f32_to_f16(v32[j]))
FI_FILL_KERNEL(fi_fill_bf16, unsigned short, 0, 1, fi_f32_to_bf16(v32[j]))
FI_FILL_KERNEL(fi_fill_f32, float, 0, 0, v32[j])
FI_FILL_KERNEL(fi_fill_f64, double, 1, 0, v64[j])

#define FI_ROUND_KERNEL(NAME, ROUND)                                                         \
    extern "C" __global__ void NAME(const float *src, long long n, unsigned short *dst,      \
                                    int ndim, const long long *layout)                       \
    {                                                                                        \
        if (n <= 0) return;                                                                  \
        const fi_u64 step = (fi_u64)gridDim.x * blockDim.x;                                  \
        for (fi_u64 i = (fi_u64)blockIdx.x * blockDim.x + threadIdx.x; i < (fi_u64)n;        \
             i += step)                                                                      \
            dst[fi_elem_offset(i, ndim, layout)] = ROUND(src[i]);                            \
    }

FI_ROUND_KERNEL(fi_round_f16, fi_f32_to_f16)
FI_ROUND_KERNEL(fi_round_bf16, fi_f32_to_bf16)
