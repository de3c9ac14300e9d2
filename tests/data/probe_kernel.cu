/* Compile probe: every transform of kernels/fi_dist.h in one grid-stride kernel, so
 * the headers are checked under nvcc and NVRTC (tests/test_headers.py). */
#include "fi_dist.h"
extern "C" __global__ void probe(float *out, fi_params p, unsigned long long n)
{
    for (unsigned long long b = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; b < n;
         b += (unsigned long long)gridDim.x * blockDim.x) {
        fi_u32 w0, w1, w2, w3;
        fi_block(b, &p, &w0, &w1, &w2, &w3);
        float z0, z1;
        fi_boxmuller_f32(w0, w1, &z0, &z1);
        out[4 * b] = z0;
        out[4 * b + 1] = fi_uniform_f32(w2, 0.f, 1.f, 0.f, 1.f);
        out[4 * b + 2] = fi_truncnormal_f32(w3, &p, -2.f, 2.f);
        double d0, d1;
        fi_boxmuller_f64(w0, w1, w2, w3, &d0, &d1);
        out[4 * b + 3] = (float)d0 + (float)fi_f32_to_bf16(z1) + (float)fi_f32_to_f16(z1);
    }
}
