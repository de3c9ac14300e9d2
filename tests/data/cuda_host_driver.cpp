/* Host emulation of kernels/fill_cuda.cu: the unmodified kernels launched over their whole
 * grid by cuda_host_shim.h.  Built as a shared library for ctypes (tests/test_cuda.py),
 * and with -DFI_SHIM_MAIN as a sanitizer executable. */
#include "cuda_host_shim.h"
#include "fill_cuda.cu"

extern "C" int fi_host_launch(int dtype, int dist, unsigned long long seed,
                              unsigned long long stream, double a, double b, double lo,
                              double hi, double pa, double pd, unsigned long long start,
                              long long n, void *dst, int ndim, const long long *layout,
                              unsigned int grid, unsigned int block)
{
    switch (dtype) {
    case FI_DT_U32: shim_launch(grid, block, fi_fill_u32, dist, seed, stream, a, b, lo, hi, pa,
                                pd, start, n, (unsigned int *)dst, ndim, layout); return 0;
    case FI_DT_F16: shim_launch(grid, block, fi_fill_f16, dist, seed, stream, a, b, lo, hi, pa,
                                pd, start, n, (unsigned short *)dst, ndim, layout); return 0;
    case FI_DT_BF16: shim_launch(grid, block, fi_fill_bf16, dist, seed, stream, a, b, lo, hi,
                                 pa, pd, start, n, (unsigned short *)dst, ndim, layout); return 0;
    case FI_DT_F32: shim_launch(grid, block, fi_fill_f32, dist, seed, stream, a, b, lo, hi, pa,
                                pd, start, n, (float *)dst, ndim, layout); return 0;
    case FI_DT_F64: shim_launch(grid, block, fi_fill_f64, dist, seed, stream, a, b, lo, hi, pa,
                                pd, start, n, (double *)dst, ndim, layout); return 0;
    default: return -1;
    }
}

/* fi_round_f16 / fi_round_bf16 (dtype FI_DT_F16 / FI_DT_BF16) over their launch grid. */
extern "C" int fi_host_round(int dtype, const float *src, long long n, void *dst, int ndim,
                             const long long *layout, unsigned int grid, unsigned int block)
{
    switch (dtype) {
    case FI_DT_F16: shim_launch(grid, block, fi_round_f16, src, n, (unsigned short *)dst, ndim,
                                layout); return 0;
    case FI_DT_BF16: shim_launch(grid, block, fi_round_bf16, src, n, (unsigned short *)dst,
                                 ndim, layout); return 0;
    default: return -1;
    }
}

#ifdef FI_SHIM_MAIN
#include <cstdio>
#include <cstring>
/* Every kernel into heap buffers of exactly n elements (or n - 1 with "short", which the
 * address sanitizer must catch), for several grids, offsets and n. */
int main(int argc, char **argv)
{
    const bool short_buffer = argc > 1 && std::strcmp(argv[1], "short") == 0;
    const long long sizes[] = {1, 5, 257, 1000};
    const unsigned long long starts[] = {0, 3, 4294967297ull};
    const unsigned int shapes[][2] = {{1, 1}, {3, 7}, {64, 128}};
    const double pa = 0.02275013194817921, pd = 0.9544997361036416; /* [-2, 2] */
    for (long long n : sizes)
        for (unsigned long long start : starts)
            for (auto &gb : shapes)
                for (int dtype = 0; dtype <= FI_DT_F64; ++dtype)
                    for (int dist = 0; dist <= FI_DIST_TRUNCNORMAL; ++dist) {
                        if ((dtype == FI_DT_U32) != (dist == FI_DIST_BITS)) continue;
                        long long count = short_buffer ? n - 1 : n;
                        size_t item = dtype == FI_DT_F64 ? 8 : (dtype == FI_DT_F16 ||
                                                               dtype == FI_DT_BF16) ? 2 : 4;
                        char *dst = new char[count * item];
                        long long layout[2] = {n, 1};
                        fi_host_launch(dtype, dist, 7, 3, 0.0, 1.0, -2.0, 2.0, pa, pd, start, n,
                                       dst, 1, layout, gb[0], gb[1]);
                        delete[] dst;
                    }
    std::puts("SHIM OK");
    return 0;
}
#endif
