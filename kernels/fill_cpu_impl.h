/* fill_cpu_impl.h - CPU fill loops, compiled once per instruction set by fill_cpu.c.
 *
 * Work is done in groups of FI_LANES (32) Philox blocks: 128 elements of 32-bit working
 * precision or 64 of 64-bit.  The blocks are computed as SIMD lanes (two AVX-512 or four
 * AVX2 register sets, or a scalar loop); the transforms of fi_dist.h then run lane-wise
 * and GCC vectorizes them (the AVX-512 and AVX2 normal is written out: Box-Muller
 * straight from the Philox registers).  FI_N(name) gives each instruction set its own symbols.
 * fill_cpu_normal.h (the 32-bit normal), fill_cpu_trunc.h (the 32-bit truncated normal)
 * and fill_cpu_lowp.h (the 16-bit uniform) are parts of this file, included in place.
 */

#define FI_RUN 8 /* whole groups per run: the normal and the truncated normal (AVX-512, AVX2) */

/* Philox words of FI_LANES consecutive blocks b0 .. b0 + FI_LANES - 1 in stream order:
 * w[4 l + j] is word j of block b0 + l.  The SIMD versions hold one 32-bit word in the
 * low half of each 64-bit lane: the 32x32->64 multiply then gives hi and lo without any
 * shuffling (the high halves carry junk that the next multiply ignores), and several
 * independent register sets hide the multiply latency. */
#if defined(FI_ISA_AVX512)
/* The Philox rounds of blocks b0 .. b0 + FI_LANES - 1 in registers: set h holds blocks
 * b0 + 8 h .. b0 + 8 h + 7, word 0 of block b0 + 8 h + i in the low half of 64-bit lane i
 * of a[h], words 1, 2, 3 likewise in b[h], c[h], d[h]. */
static inline __attribute__((always_inline)) void FI_N(philox_regs)(fi_u64 b0,
                                                                    const fi_params *p,
                                                                    __m512i *a, __m512i *b,
                                                                    __m512i *c, __m512i *d)
{
    enum { SETS = FI_LANES / 8 };
    const __m512i m0 = _mm512_set1_epi64(FI_PHILOX_M0), m1 = _mm512_set1_epi64(FI_PHILOX_M1);
    const __m512i step = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    fi_u32 k0 = (fi_u32)p->seed, k1 = (fi_u32)(p->seed >> 32);
    for (int h = 0; h < SETS; ++h) {
        __m512i blk = _mm512_add_epi64(_mm512_set1_epi64((long long)(b0 + 8u * h)), step);
        a[h] = blk;
        b[h] = _mm512_srli_epi64(blk, 32);
        c[h] = _mm512_set1_epi64((long long)(fi_u32)p->stream);
        d[h] = _mm512_set1_epi64((long long)(fi_u32)(p->stream >> 32));
    }
    for (int r = 0; r < 10; ++r) {
        const __m512i kk0 = _mm512_set1_epi64(k0), kk1 = _mm512_set1_epi64(k1);
        for (int h = 0; h < SETS; ++h) {
            __m512i p0 = _mm512_mul_epu32(a[h], m0), p1 = _mm512_mul_epu32(c[h], m1);
            a[h] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), b[h], kk0, 0x96);
            c[h] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), d[h], kk1, 0x96);
            b[h] = p1;
            d[h] = p0;
        }
        k0 += FI_PHILOX_W0;
        k1 += FI_PHILOX_W1;
    }
}

static inline __attribute__((always_inline)) void FI_N(philox_lanes)(fi_u64 b0,
                                                                     const fi_params *p,
                                                                     fi_u32 *w)
{
    enum { SETS = FI_LANES / 8 };
    const __m512i lo_half = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i hi_half = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    __m512i a[SETS], b[SETS], c[SETS], d[SETS];
    FI_N(philox_regs)(b0, p, a, b, c, d);
    for (int h = 0; h < SETS; ++h) {
        /* 64-bit lanes (w0 | w1 << 32) and (w2 | w3 << 32), then interleaved per block */
        __m512i ab = _mm512_mask_blend_epi32(0xAAAA, a[h], _mm512_slli_epi64(b[h], 32));
        __m512i cd = _mm512_mask_blend_epi32(0xAAAA, c[h], _mm512_slli_epi64(d[h], 32));
        _mm512_storeu_si512((void *)(w + 32 * h), _mm512_permutex2var_epi64(ab, lo_half, cd));
        _mm512_storeu_si512((void *)(w + 32 * h + 16),
                            _mm512_permutex2var_epi64(ab, hi_half, cd));
    }
}
#elif defined(FI_ISA_AVX2)
/* The Philox rounds of n (at most FI_LANES / 4) register sets from block b0 in registers:
 * set h holds blocks b0 + 4 h .. b0 + 4 h + 3, in the 64-bit lanes 0, 2, 1, 3 (blocks
 * 4 h, 4 h + 2 in the low 128-bit lane, so unpacking within the 128-bit lanes puts the
 * blocks in order): word 0 in the low half of the lane in a[h], words 1, 2, 3 likewise
 * in b[h], c[h], d[h]. */
static inline __attribute__((always_inline)) void FI_N(philox_regs)(fi_u64 b0,
                                                                    const fi_params *p, int n,
                                                                    __m256i *a, __m256i *b,
                                                                    __m256i *c, __m256i *d)
{
    const __m256i m0 = _mm256_set1_epi64x(FI_PHILOX_M0), m1 = _mm256_set1_epi64x(FI_PHILOX_M1);
    const __m256i step = _mm256_set_epi64x(3, 1, 2, 0);
    fi_u32 k0 = (fi_u32)p->seed, k1 = (fi_u32)(p->seed >> 32);
    for (int h = 0; h < n; ++h) {
        __m256i blk = _mm256_add_epi64(_mm256_set1_epi64x((long long)(b0 + 4u * h)), step);
        a[h] = blk;
        b[h] = _mm256_srli_epi64(blk, 32);
        c[h] = _mm256_set1_epi64x((long long)(fi_u32)p->stream);
        d[h] = _mm256_set1_epi64x((long long)(fi_u32)(p->stream >> 32));
    }
    for (int r = 0; r < 10; ++r) {
        const __m256i kk0 = _mm256_set1_epi64x(k0), kk1 = _mm256_set1_epi64x(k1);
        for (int h = 0; h < n; ++h) {
            __m256i p0 = _mm256_mul_epu32(a[h], m0), p1 = _mm256_mul_epu32(c[h], m1);
            a[h] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), b[h]), kk0);
            c[h] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), d[h]), kk1);
            b[h] = p1;
            d[h] = p0;
        }
        k0 += FI_PHILOX_W0;
        k1 += FI_PHILOX_W1;
    }
}

static inline __attribute__((always_inline)) void FI_N(philox_lanes)(fi_u64 b0,
                                                                     const fi_params *p,
                                                                     fi_u32 *w)
{
    enum { SETS = FI_LANES / 4 };
    __m256i a[SETS], b[SETS], c[SETS], d[SETS];
    FI_N(philox_regs)(b0, p, SETS, a, b, c, d);
    for (int h = 0; h < SETS; ++h) {
        __m256i ab = _mm256_blend_epi32(a[h], _mm256_slli_epi64(b[h], 32), 0xAA);
        __m256i cd = _mm256_blend_epi32(c[h], _mm256_slli_epi64(d[h], 32), 0xAA);
        _mm256_storeu_si256((__m256i *)(w + 16 * h), _mm256_unpacklo_epi64(ab, cd)); /* 0, 1 */
        _mm256_storeu_si256((__m256i *)(w + 16 * h + 8), _mm256_unpackhi_epi64(ab, cd));
    }
}
#else
static inline void FI_N(philox_lanes)(fi_u64 b0, const fi_params *p, fi_u32 *w)
{
    for (int l = 0; l < FI_LANES; ++l)
        fi_block(b0 + (fi_u64)l, p, &w[4 * l], &w[4 * l + 1], &w[4 * l + 2], &w[4 * l + 3]);
}
#endif

#if defined(FI_ISA_AVX2)
/* The bfloat16 bits of the 8 floats of x, then of y: fi_f32_to_bf16's integer rounding
 * (results below 2^16, so the unsigned saturation of the pack never acts) */
static inline __attribute__((always_inline)) __m256i FI_N(bf16_pack)(__m256 x, __m256 y)
{
    __m256i u = _mm256_castps_si256(x), v = _mm256_castps_si256(y);
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
    u = _mm256_add_epi32(u, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(u, 16), one)));
    v = _mm256_add_epi32(v, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(v, 16), one)));
    u = _mm256_srli_epi32(u, 16);
    v = _mm256_srli_epi32(v, 16);
    return _mm256_permute4x64_epi64(_mm256_packus_epi32(u, v), 0xD8); /* 128-bit halves */
}
#endif

/* float values to float16/bfloat16 bits, nearest even (fi_f32_to_f16, fi_f32_to_bf16),
 * 16 lanes at a time: vcvtps2ph for float16 (the same bits: NaN never arises); for
 * bfloat16 vcvtneps2bf16 where the CPU has it (the same bits for every normal float, it
 * flushes subnormals: unless `normal`, a vector holding one takes the integer rounding),
 * else the integer rounding. */
#if defined(FI_ISA_AVX512)
static inline __attribute__((always_inline)) __m256i FI_N(half16)(int dtype, __m512 x,
                                                                  const int normal)
{
    if (dtype == FI_DT_F16) return _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#if defined(FI_ISA_AVX512BF16)
    if (normal || !_mm512_fpclass_ps_mask(x, 0x20)) return (__m256i)_mm512_cvtneps_pbh(x);
#else
    (void)normal;
#endif
    __m512i u = _mm512_castps_si512(x);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16));
}
#endif

static inline void FI_N(to16)(int dtype, const float *f, fi_u16 *o)
{
    int i;
#if defined(FI_ISA_AVX512)
    for (i = 0; i < 4 * FI_LANES; i += 16)
        _mm256_storeu_si256((__m256i *)(o + i), FI_N(half16)(dtype, _mm512_loadu_ps(f + i), 0));
#elif defined(FI_ISA_AVX2)
    if (dtype == FI_DT_F16) {
        for (i = 0; i < 4 * FI_LANES; i += 8)
            _mm_storeu_si128((__m128i *)(o + i),
                             _mm256_cvtps_ph(_mm256_loadu_ps(f + i),
                                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        return;
    }
    for (i = 0; i < 4 * FI_LANES; i += 16)
        _mm256_storeu_si256((__m256i *)(o + i),
                            FI_N(bf16_pack)(_mm256_loadu_ps(f + i), _mm256_loadu_ps(f + i + 8)));
#else
    if (dtype == FI_DT_F16)
        for (i = 0; i < 4 * FI_LANES; ++i) o[i] = fi_f32_to_f16(f[i]);
    else
        for (i = 0; i < 4 * FI_LANES; ++i) o[i] = fi_f32_to_bf16(f[i]);
#endif
}

/* ---- groups: the 4 FI_LANES (32-bit) or 2 FI_LANES (64-bit) elements of group g ---- */

static void FI_N(grp_bits)(const fi_params *p, fi_u64 g, void *dst)
{
    FI_N(philox_lanes)(FI_LANES * g, p, (fi_u32 *)dst);
}

static void FI_N(grp_uniform_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    float *out = (float *)dst;
    fi_u32 w[4 * FI_LANES];
    const float low = (float)p->a, lo = (float)p->lo, hi = (float)p->hi;
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    if (fi_uniform_wide(p)) {
        for (int i = 0; i < 4 * FI_LANES; ++i) out[i] = fi_uniform_f32_wide(w[i], p, lo, hi);
    } else {
        const float span = (float)p->b;
        for (int i = 0; i < 4 * FI_LANES; ++i) out[i] = fi_uniform_f32(w[i], low, span, lo, hi);
    }
}

/* float16/bfloat16 bits of one float value (fi_f32_to_f16, fi_f32_to_bf16) */
static inline fi_u16 FI_N(half1)(int dtype, float v)
{
    return dtype == FI_DT_F16 ? fi_f32_to_f16(v) : fi_f32_to_bf16(v);
}

#include "fill_cpu_normal.h"

static void FI_N(grp_normal_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    FI_N(normal_grp)(p, g, FI_DT_F32, (float *)dst, 0);
}

#include "fill_cpu_trunc.h"

static void FI_N(grp_uniform_f64)(const fi_params *p, fi_u64 g, void *dst)
{
    double *out = (double *)dst;
    fi_u32 w[4 * FI_LANES];
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int i = 0; i < 2 * FI_LANES; ++i)
        out[i] = fi_uniform_f64(w[2 * i], w[2 * i + 1], p->a, p->b, p->lo, p->hi);
}

static void FI_N(grp_normal_f64)(const fi_params *p, fi_u64 g, void *dst)
{
    double *out = (double *)dst;
    fi_u32 w[4 * FI_LANES];
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int l = 0; l < FI_LANES; ++l) {
        double z0, z1;
        fi_boxmuller_f64(w[4 * l], w[4 * l + 1], w[4 * l + 2], w[4 * l + 3], &z0, &z1);
        out[2 * l] = p->a + p->b * z0;
        out[2 * l + 1] = p->a + p->b * z1;
    }
}

static void FI_N(grp_truncnormal_f64)(const fi_params *p, fi_u64 g, void *dst)
{
    double *out = (double *)dst;
    fi_u32 w[4 * FI_LANES];
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int i = 0; i < 2 * FI_LANES; ++i)
        out[i] = fi_truncnormal_f64(w[2 * i], w[2 * i + 1], p);
}

#include "fill_cpu_lowp.h"

/* The 16-bit elements of group g (kept out of the fill loop: inlined there, it cost the
 * loop's float32 normal 2%) */
static __attribute__((noinline)) void FI_N(grp_half)(int dist, const fi_lowp *lp, int dtype, const fi_params *p,
                           fi_u64 g, fi_u16 *o)
{
    float f[4 * FI_LANES];
    if (dist == FI_DIST_NORMAL) {
        FI_N(normal_grp)(p, g, dtype, f, o);
    } else if (dist == FI_DIST_TRUNCNORMAL) {
#if defined(FI_ISA_AVX512) || defined(FI_ISA_AVX2)
        FI_N(run_truncnormal_half)(p, g, 1, dtype, o);
#else
        FI_N(truncnormal_grp)(p, g, dtype, f, o);
#endif
    } else {
        fi_u32 w[4 * FI_LANES];
        FI_N(philox_lanes)(FI_LANES * g, p, w);
        FI_N(lowp_words)(lp, dtype, p, w, o);
    }
}

/* Store n values of the output dtype (float16/bfloat16 already as bits) into dst, one
 * every `stride` bytes. */
static void FI_N(store)(int dtype, const void *src, fi_i64 n, char *dst, fi_i64 stride)
{
    fi_i64 i;
    switch (dtype) {
    case FI_DT_F16:
    case FI_DT_BF16:
        for (i = 0; i < n; ++i) *(fi_u16 *)(dst + i * stride) = ((const fi_u16 *)src)[i];
        break;
    case FI_DT_F32:
        for (i = 0; i < n; ++i) *(float *)(dst + i * stride) = ((const float *)src)[i];
        break;
    case FI_DT_F64:
        for (i = 0; i < n; ++i) *(double *)(dst + i * stride) = ((const double *)src)[i];
        break;
    default: /* FI_DT_U32 */
        for (i = 0; i < n; ++i) *(fi_u32 *)(dst + i * stride) = ((const fi_u32 *)src)[i];
        break;
    }
}

#if defined(FI_ISA_AVX512) || defined(FI_ISA_AVX2)
/* whether fill gives whole groups of dist (32-bit working precision) to a run loop */
static inline int FI_N(has_run)(int dist)
{
    return dist == FI_DIST_NORMAL || dist == FI_DIST_TRUNCNORMAL;
}
#endif

/* Fill logical elements start, start + 1, ..., start + n - 1 (mod 2^64) into dst, one
 * element every `stride` bytes.  The position advances by at most one group at a time,
 * so nothing overflows even when the range ends exactly at 2^64 (the Python layer
 * allows offset + size <= 2^64; a range past it wraps to element 0, never out of dst). */
static void FI_N(fill)(int dist, int dtype, const fi_params *p, fi_u64 start, fi_i64 n,
                       char *dst, fi_i64 stride)
{
    void (*gen)(const fi_params *, fi_u64, void *);
    int wide = dtype == FI_DT_F64;
    fi_u64 per = wide ? 2u * FI_LANES : 4u * FI_LANES;
    int itemsize = fi_itemsize(dtype);
    int half = dtype == FI_DT_F16 || dtype == FI_DT_BF16;
    int direct = stride == itemsize;
    fi_lowp lp;
    fi_lowp_setup(p, half && dist == FI_DIST_UNIFORM ? dtype : -1, &lp);
    switch (dist) {
    case FI_DIST_UNIFORM: gen = wide ? FI_N(grp_uniform_f64) : FI_N(grp_uniform_f32); break;
    case FI_DIST_NORMAL: gen = wide ? FI_N(grp_normal_f64) : FI_N(grp_normal_f32); break;
    case FI_DIST_TRUNCNORMAL:
        gen = wide ? FI_N(grp_truncnormal_f64) : FI_N(grp_truncnormal_f32);
        break;
    default: gen = FI_N(grp_bits); break;
    }
    double tile[2 * FI_LANES]; /* one group of any working precision */
    fi_u16 bits16[4 * FI_LANES];
    fi_u64 pos = start;
    char *d = dst;
    while (n > 0) {
        fi_u64 g = pos / per, first = pos - g * per; /* group, first element within it */
        fi_i64 take = (fi_i64)(per - first) < n ? (fi_i64)(per - first) : n;
        int whole = direct && first == 0 && take == (fi_i64)per;
#if defined(FI_ISA_AVX512) || defined(FI_ISA_AVX2)
        if (whole && !wide && FI_N(has_run)(dist) && n >= 2 * (fi_i64)per &&
            pos <= (fi_u64)0 - FI_RUN * per) { /* the run stays below 2^64 */
            int count = n / (fi_i64)per < FI_RUN ? (int)(n / (fi_i64)per) : FI_RUN;
            if (dist == FI_DIST_NORMAL)
                FI_N(run_normal)(p, g, count, dtype, d);
            else if (half)
                FI_N(run_truncnormal_half)(p, g, count, dtype, (fi_u16 *)d);
            else
                FI_N(run_truncnormal_f32)(p, g, count, (float *)d);
            take = count * (fi_i64)per;
        } else
#endif
        if (half) { /* 16-bit values straight into dst when it takes them (gen unused) */
            FI_N(grp_half)(dist, &lp, dtype, p, g, whole ? (fi_u16 *)d : bits16);
            if (!whole) FI_N(store)(dtype, bits16 + first, take, d, stride);
        } else if (whole) {
            gen(p, g, d);
        } else {
            gen(p, g, tile);
            FI_N(store)(dtype, (const char *)tile + first * (wide ? 8 : 4), take, d, stride);
        }
        pos += (fi_u64)take; /* modulo 2^64 */
        n -= take;
        if (n > 0) d += take * stride;
    }
}
