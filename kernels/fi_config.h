/* fi_config.h - the one place that knows which compiler builds the kernels.
 *
 * Every other header under kernels/ includes only this file, so the same source
 * compiles as C99, C++, nvcc and NVRTC (which has no standard library).
 */
#ifndef FI_CONFIG_H
#define FI_CONFIG_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#  define FI_HD __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#  define FI_HD static inline __attribute__((always_inline))
#else
#  define FI_HD static inline
#endif

#if defined(__CUDACC_RTC__)
typedef unsigned int fi_u32;
typedef unsigned long long fi_u64;
typedef long long fi_i64;
typedef unsigned short fi_u16;
#else
#  include <stdint.h>
typedef uint32_t fi_u32;
typedef uint64_t fi_u64;
typedef int64_t fi_i64;
typedef uint16_t fi_u16;
#endif

/* Square roots are IEEE correctly rounded on every target (no libm needed). */
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#  define FI_SQRTF(x) __fsqrt_rn(x)
#  define FI_SQRT(x) __dsqrt_rn(x)
#else
#  define FI_SQRTF(x) __builtin_sqrtf(x)
#  define FI_SQRT(x) __builtin_sqrt(x)
#endif

/* Reinterpret bits without type punning through pointers. */
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#  define FI_F2U(x) ((fi_u32)__float_as_uint(x))
#  define FI_U2F(x) __uint_as_float(x)
#  define FI_D2U(x) ((fi_u64)__double_as_longlong(x))
#  define FI_U2D(x) __longlong_as_double((long long)(x))
#else
FI_HD fi_u32 FI_F2U(float x) { union { float f; fi_u32 u; } v; v.f = x; return v.u; }
FI_HD float FI_U2F(fi_u32 x) { union { float f; fi_u32 u; } v; v.u = x; return v.f; }
FI_HD fi_u64 FI_D2U(double x) { union { double f; fi_u64 u; } v; v.f = x; return v.u; }
FI_HD double FI_U2D(fi_u64 x) { union { double f; fi_u64 u; } v; v.u = x; return v.f; }
#endif

#endif /* FI_CONFIG_H */
