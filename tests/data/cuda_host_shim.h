/* cuda_host_shim.h - run unmodified CUDA kernels on the CPU (tests only).
 *
 * Compile a .cu with g++ -x c++ -include cuda_host_shim.h: the CUDA qualifiers become
 * nothing, the built-in index variables are thread_local structs, and shim_launch runs
 * every (block, thread) of a 1-D grid one after another.  Enough for kernels without
 * barriers, shared memory or warp intrinsics, such as fill_cuda.cu.  The device math of
 * fi_config.h (sqrt, bit casts) takes its host branch, which is bit-identical under
 * --fmad=false. */
#ifndef FI_CUDA_HOST_SHIM_H
#define FI_CUDA_HOST_SHIM_H
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct fi_shim_dim3 { unsigned int x, y, z; };
static thread_local fi_shim_dim3 threadIdx, blockIdx, blockDim, gridDim;

template <typename Kernel, typename... Args>
void shim_launch(unsigned int grid, unsigned int block, Kernel kernel, Args... args)
{
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    for (unsigned int b = 0; b < grid; ++b)
        for (unsigned int t = 0; t < block; ++t) {
            blockIdx = {b, 0, 0};
            threadIdx = {t, 0, 0};
            kernel(args...);
        }
}
#endif
