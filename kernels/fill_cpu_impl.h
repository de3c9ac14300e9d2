/* fill_cpu_impl.h - CPU fill loops, compiled once per instruction set by fill_cpu.c.
 *
 * Work is done in groups of FI_LANES (32) Philox blocks: 128 elements of 32-bit working
 * precision or 64 of 64-bit.  The blocks are computed as SIMD lanes (two AVX-512 or four
 * AVX2 register sets, or a scalar loop); the transforms of fi_dist.h then run lane-wise
 * and GCC vectorizes them.  FI_N(name) gives each instruction set its own symbols.
 */

/* Philox for FI_LANES consecutive blocks b0 .. b0 + FI_LANES - 1, words transposed:
 * w[j][l] is word j of block b0 + l.  The SIMD versions keep several independent
 * register sets in flight so the multiply latency of one hides behind the others. */
#if defined(FI_ISA_AVX512)
#define FI_PHILOX_ROUND_512(c0, c1, c2, c3, kk0, kk1)                                   \
    do {                                                                                \
        __m512i p0e = _mm512_mul_epu32(c0, m0);                                         \
        __m512i p0o = _mm512_mul_epu32(_mm512_srli_epi64(c0, 32), m0);                  \
        __m512i p1e = _mm512_mul_epu32(c2, m1);                                         \
        __m512i p1o = _mm512_mul_epu32(_mm512_srli_epi64(c2, 32), m1);                  \
        __m512i hi0 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(p0e, 32), p0o); \
        __m512i hi1 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(p1e, 32), p1o); \
        __m512i lo0 = _mm512_mask_blend_epi32(0xAAAA, p0e, _mm512_slli_epi64(p0o, 32)); \
        __m512i lo1 = _mm512_mask_blend_epi32(0xAAAA, p1e, _mm512_slli_epi64(p1o, 32)); \
        c0 = _mm512_ternarylogic_epi32(hi1, c1, kk0, 0x96); /* three-way xor */         \
        c2 = _mm512_ternarylogic_epi32(hi0, c3, kk1, 0x96);                             \
        c1 = lo1;                                                                       \
        c3 = lo0;                                                                       \
    } while (0)

static inline __attribute__((always_inline)) void FI_N(philox_lanes)(fi_u64 b0,
                                                                     const fi_params *p,
                                                                     fi_u32 w[4][FI_LANES])
{
    fi_u32 k0 = (fi_u32)p->seed, k1 = (fi_u32)(p->seed >> 32);
    const __m512i m0 = _mm512_set1_epi32((int)FI_PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi32((int)FI_PHILOX_M1);
    const __m512i step = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    __m512i a[4], b[4], c[4], d[4];
    for (int h = 0; h < FI_LANES / 16; ++h) {
        __m512i i0 = _mm512_add_epi64(_mm512_set1_epi64((long long)(b0 + 16u * h)), step);
        __m512i i1 = _mm512_add_epi64(i0, _mm512_set1_epi64(8));
        a[h] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(i0)),
                                  _mm512_cvtepi64_epi32(i1), 1);
        b[h] = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_srli_epi64(i0, 32))),
            _mm512_cvtepi64_epi32(_mm512_srli_epi64(i1, 32)), 1);
        c[h] = _mm512_set1_epi32((int)(fi_u32)p->stream);
        d[h] = _mm512_set1_epi32((int)(fi_u32)(p->stream >> 32));
    }
    for (int r = 0; r < 10; ++r) {
        const __m512i kk0 = _mm512_set1_epi32((int)k0), kk1 = _mm512_set1_epi32((int)k1);
        for (int h = 0; h < FI_LANES / 16; ++h)
            FI_PHILOX_ROUND_512(a[h], b[h], c[h], d[h], kk0, kk1);
        k0 += FI_PHILOX_W0;
        k1 += FI_PHILOX_W1;
    }
    for (int h = 0; h < FI_LANES / 16; ++h) {
        _mm512_storeu_si512((void *)(w[0] + 16 * h), a[h]);
        _mm512_storeu_si512((void *)(w[1] + 16 * h), b[h]);
        _mm512_storeu_si512((void *)(w[2] + 16 * h), c[h]);
        _mm512_storeu_si512((void *)(w[3] + 16 * h), d[h]);
    }
}
#elif defined(FI_ISA_AVX2)
static inline __attribute__((always_inline)) void FI_N(philox_lanes)(fi_u64 b0,
                                                                     const fi_params *p,
                                                                     fi_u32 w[4][FI_LANES])
{
    fi_u32 k0 = (fi_u32)p->seed, k1 = (fi_u32)(p->seed >> 32);
    const __m256i m0 = _mm256_set1_epi32((int)FI_PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi32((int)FI_PHILOX_M1);
    __m256i a[4], b[4], c[4], d[4];
    for (int h = 0; h < 4; ++h) {
        fi_u32 lo[8], hi[8];
        for (int l = 0; l < 8; ++l) {
            fi_u64 blk = b0 + (fi_u64)(8 * h + l);
            lo[l] = (fi_u32)blk;
            hi[l] = (fi_u32)(blk >> 32);
        }
        a[h] = _mm256_loadu_si256((const __m256i *)lo);
        b[h] = _mm256_loadu_si256((const __m256i *)hi);
        c[h] = _mm256_set1_epi32((int)(fi_u32)p->stream);
        d[h] = _mm256_set1_epi32((int)(fi_u32)(p->stream >> 32));
    }
    for (int r = 0; r < 10; ++r) {
        const __m256i kk0 = _mm256_set1_epi32((int)k0), kk1 = _mm256_set1_epi32((int)k1);
        for (int h = 0; h < 4; ++h) {
            __m256i p0e = _mm256_mul_epu32(a[h], m0);
            __m256i p0o = _mm256_mul_epu32(_mm256_srli_epi64(a[h], 32), m0);
            __m256i p1e = _mm256_mul_epu32(c[h], m1);
            __m256i p1o = _mm256_mul_epu32(_mm256_srli_epi64(c[h], 32), m1);
            __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(p0e, 32), p0o, 0xAA);
            __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(p1e, 32), p1o, 0xAA);
            __m256i lo0 = _mm256_blend_epi32(p0e, _mm256_slli_epi64(p0o, 32), 0xAA);
            __m256i lo1 = _mm256_blend_epi32(p1e, _mm256_slli_epi64(p1o, 32), 0xAA);
            a[h] = _mm256_xor_si256(_mm256_xor_si256(hi1, b[h]), kk0);
            c[h] = _mm256_xor_si256(_mm256_xor_si256(hi0, d[h]), kk1);
            b[h] = lo1;
            d[h] = lo0;
        }
        k0 += FI_PHILOX_W0;
        k1 += FI_PHILOX_W1;
    }
    for (int h = 0; h < 4; ++h) {
        _mm256_storeu_si256((__m256i *)(w[0] + 8 * h), a[h]);
        _mm256_storeu_si256((__m256i *)(w[1] + 8 * h), b[h]);
        _mm256_storeu_si256((__m256i *)(w[2] + 8 * h), c[h]);
        _mm256_storeu_si256((__m256i *)(w[3] + 8 * h), d[h]);
    }
}
#else
static inline void FI_N(philox_lanes)(fi_u64 b0, const fi_params *p, fi_u32 w[4][FI_LANES])
{
    for (int l = 0; l < FI_LANES; ++l)
        fi_block(b0 + (fi_u64)l, p, &w[0][l], &w[1][l], &w[2][l], &w[3][l]);
}
#endif

/* ---- groups: the elements of group g in logical order ---- */

static void FI_N(grp_bits)(const fi_params *p, fi_u64 g, void *dst)
{
    fi_u32 *out = (fi_u32 *)dst;
    fi_u32 w[4][FI_LANES];
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int l = 0; l < FI_LANES; ++l)
        for (int j = 0; j < 4; ++j) out[4 * l + j] = w[j][l];
}

static void FI_N(grp_uniform_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    float *out = (float *)dst;
    fi_u32 w[4][FI_LANES];
    float v[4][FI_LANES];
    const float low = (float)p->a, span = (float)p->b, lo = (float)p->lo, hi = (float)p->hi;
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int j = 0; j < 4; ++j)
        for (int l = 0; l < FI_LANES; ++l) v[j][l] = fi_uniform_f32(w[j][l], low, span, lo, hi);
    for (int l = 0; l < FI_LANES; ++l)
        for (int j = 0; j < 4; ++j) out[4 * l + j] = v[j][l];
}

static void FI_N(grp_normal_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    float *out = (float *)dst;
    fi_u32 w[4][FI_LANES];
    float v[4][FI_LANES];
    const float loc = (float)p->a, scale = (float)p->b;
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < FI_LANES; ++l) {
            float z0, z1;
            fi_boxmuller_f32(w[2 * h][l], w[2 * h + 1][l], &z0, &z1);
            v[2 * h][l] = loc + scale * z0;
            v[2 * h + 1][l] = loc + scale * z1;
        }
    for (int l = 0; l < FI_LANES; ++l)
        for (int j = 0; j < 4; ++j) out[4 * l + j] = v[j][l];
}

static void FI_N(grp_truncnormal_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    float *out = (float *)dst;
    fi_u32 w[4][FI_LANES];
    float v[4][FI_LANES];
    double pp[4][FI_LANES];
    int fast[4][FI_LANES];
    int all_fast = 1;
    const float lo = (float)p->lo, hi = (float)p->hi;
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    /* the float path for every lane (vectorized), AS 241 in double only for the rare
     * lanes in the far tails: the same per-element rule as fi_truncnormal_f32 */
    for (int j = 0; j < 4; ++j)
        for (int l = 0; l < FI_LANES; ++l) {
            pp[j][l] = fi_truncnormal_p(w[j][l], p);
            fast[j][l] = fi_truncnormal_fast(pp[j][l]);
            v[j][l] = fi_truncnormal_fast_f32(pp[j][l], p);
        }
    for (int j = 0; j < 4; ++j)
        for (int l = 0; l < FI_LANES; ++l) all_fast &= fast[j][l];
    if (!all_fast)
        for (int j = 0; j < 4; ++j)
            for (int l = 0; l < FI_LANES; ++l)
                if (!fast[j][l]) v[j][l] = fi_truncnormal_tail_f32(pp[j][l], p);
    for (int j = 0; j < 4; ++j)
        for (int l = 0; l < FI_LANES; ++l) v[j][l] = fi_clampf(v[j][l], lo, hi);
    for (int l = 0; l < FI_LANES; ++l)
        for (int j = 0; j < 4; ++j) out[4 * l + j] = v[j][l];
}

static void FI_N(grp_uniform_f64)(const fi_params *p, fi_u64 g, void *dst)
{
    double *out = (double *)dst;
    fi_u32 w[4][FI_LANES];
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int l = 0; l < FI_LANES; ++l) {
        out[2 * l] = fi_uniform_f64(w[0][l], w[1][l], p->a, p->b, p->lo, p->hi);
        out[2 * l + 1] = fi_uniform_f64(w[2][l], w[3][l], p->a, p->b, p->lo, p->hi);
    }
}

static void FI_N(grp_normal_f64)(const fi_params *p, fi_u64 g, void *dst)
{
    double *out = (double *)dst;
    fi_u32 w[4][FI_LANES];
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int l = 0; l < FI_LANES; ++l) {
        double z0, z1;
        fi_boxmuller_f64(w[0][l], w[1][l], w[2][l], w[3][l], &z0, &z1);
        out[2 * l] = p->a + p->b * z0;
        out[2 * l + 1] = p->a + p->b * z1;
    }
}

static void FI_N(grp_truncnormal_f64)(const fi_params *p, fi_u64 g, void *dst)
{
    double *out = (double *)dst;
    fi_u32 w[4][FI_LANES];
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int l = 0; l < FI_LANES; ++l) {
        out[2 * l] = fi_truncnormal_f64(w[0][l], w[1][l], p);
        out[2 * l + 1] = fi_truncnormal_f64(w[2][l], w[3][l], p);
    }
}

/* Store n working-precision values into dst (element stride in bytes), converting. */
static void FI_N(store)(int dtype, const void *src, fi_i64 n, char *dst, fi_i64 stride)
{
    fi_i64 i;
    if (stride == 2 && (dtype == FI_DT_F16 || dtype == FI_DT_BF16)) { /* contiguous: vectorizes */
        fi_u16 *o = (fi_u16 *)dst;
        const float *f = (const float *)src;
        if (dtype == FI_DT_F16)
            for (i = 0; i < n; ++i) o[i] = fi_f32_to_f16(f[i]);
        else
            for (i = 0; i < n; ++i) o[i] = fi_f32_to_bf16(f[i]);
        return;
    }
    switch (dtype) {
    case FI_DT_F16:
        for (i = 0; i < n; ++i) *(fi_u16 *)(dst + i * stride) = fi_f32_to_f16(((const float *)src)[i]);
        break;
    case FI_DT_BF16:
        for (i = 0; i < n; ++i) *(fi_u16 *)(dst + i * stride) = fi_f32_to_bf16(((const float *)src)[i]);
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

/* Fill logical elements [start, start + n) into dst, one element every `stride` bytes. */
static void FI_N(fill)(int dist, int dtype, const fi_params *p, fi_u64 start, fi_i64 n,
                       char *dst, fi_i64 stride)
{
    void (*gen)(const fi_params *, fi_u64, void *);
    int wide = dtype == FI_DT_F64;
    fi_u64 per = wide ? 2u * FI_LANES : 4u * FI_LANES;
    int itemsize = fi_itemsize(dtype);
    int direct = stride == itemsize && (dtype == FI_DT_F32 || dtype == FI_DT_F64 || dtype == FI_DT_U32);
    switch (dist) {
    case FI_DIST_UNIFORM: gen = wide ? FI_N(grp_uniform_f64) : FI_N(grp_uniform_f32); break;
    case FI_DIST_NORMAL: gen = wide ? FI_N(grp_normal_f64) : FI_N(grp_normal_f32); break;
    case FI_DIST_TRUNCNORMAL:
        gen = wide ? FI_N(grp_truncnormal_f64) : FI_N(grp_truncnormal_f32);
        break;
    default: gen = FI_N(grp_bits); break;
    }
    if (n <= 0) return;
    fi_u64 end = start + (fi_u64)n;
    double tile[2 * FI_LANES]; /* one group of any working precision */
    for (fi_u64 g = start / per; g * per < end; ++g) {
        fi_u64 lo = g * per > start ? g * per : start;
        fi_u64 hi = g * per + per < end ? g * per + per : end;
        char *d = dst + (fi_i64)(lo - start) * stride;
        if (direct && lo == g * per && hi == lo + per) {
            gen(p, g, d);
        } else {
            gen(p, g, tile);
            FI_N(store)(dtype, (const char *)tile + (lo - g * per) * (wide ? 8 : 4),
                        (fi_i64)(hi - lo), d, stride);
        }
    }
}
