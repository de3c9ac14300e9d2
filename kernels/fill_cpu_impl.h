/* fill_cpu_impl.h - CPU fill loops, compiled once per instruction set by fill_cpu.c.
 *
 * Work is done in groups of FI_LANES (32) Philox blocks: 128 elements of 32-bit working
 * precision or 64 of 64-bit.  The blocks are computed as SIMD lanes (two AVX-512 or four
 * AVX2 register sets, or a scalar loop); the transforms of fi_dist.h then run lane-wise
 * and GCC vectorizes them.  FI_N(name) gives each instruction set its own symbols.
 */

/* Philox words of FI_LANES consecutive blocks b0 .. b0 + FI_LANES - 1 in stream order:
 * w[4 l + j] is word j of block b0 + l.  The SIMD versions hold one 32-bit word in the
 * low half of each 64-bit lane: the 32x32->64 multiply then gives hi and lo without any
 * shuffling (the high halves carry junk that the next multiply ignores), and several
 * independent register sets hide the multiply latency. */
#if defined(FI_ISA_AVX512)
static inline __attribute__((always_inline)) void FI_N(philox_lanes)(fi_u64 b0,
                                                                     const fi_params *p,
                                                                     fi_u32 *w)
{
    enum { SETS = FI_LANES / 8 };
    const __m512i m0 = _mm512_set1_epi64(FI_PHILOX_M0), m1 = _mm512_set1_epi64(FI_PHILOX_M1);
    const __m512i step = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i lo_half = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i hi_half = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    __m512i a[SETS], b[SETS], c[SETS], d[SETS];
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
static inline __attribute__((always_inline)) void FI_N(philox_lanes)(fi_u64 b0,
                                                                     const fi_params *p,
                                                                     fi_u32 *w)
{
    enum { SETS = FI_LANES / 4 };
    const __m256i m0 = _mm256_set1_epi64x(FI_PHILOX_M0), m1 = _mm256_set1_epi64x(FI_PHILOX_M1);
    const __m256i step = _mm256_set_epi64x(3, 2, 1, 0);
    __m256i a[SETS], b[SETS], c[SETS], d[SETS];
    fi_u32 k0 = (fi_u32)p->seed, k1 = (fi_u32)(p->seed >> 32);
    for (int h = 0; h < SETS; ++h) {
        __m256i blk = _mm256_add_epi64(_mm256_set1_epi64x((long long)(b0 + 4u * h)), step);
        a[h] = blk;
        b[h] = _mm256_srli_epi64(blk, 32);
        c[h] = _mm256_set1_epi64x((long long)(fi_u32)p->stream);
        d[h] = _mm256_set1_epi64x((long long)(fi_u32)(p->stream >> 32));
    }
    for (int r = 0; r < 10; ++r) {
        const __m256i kk0 = _mm256_set1_epi64x(k0), kk1 = _mm256_set1_epi64x(k1);
        for (int h = 0; h < SETS; ++h) {
            __m256i p0 = _mm256_mul_epu32(a[h], m0), p1 = _mm256_mul_epu32(c[h], m1);
            a[h] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), b[h]), kk0);
            c[h] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), d[h]), kk1);
            b[h] = p1;
            d[h] = p0;
        }
        k0 += FI_PHILOX_W0;
        k1 += FI_PHILOX_W1;
    }
    for (int h = 0; h < SETS; ++h) {
        __m256i ab = _mm256_blend_epi32(a[h], _mm256_slli_epi64(b[h], 32), 0xAA);
        __m256i cd = _mm256_blend_epi32(c[h], _mm256_slli_epi64(d[h], 32), 0xAA);
        __m256i x = _mm256_unpacklo_epi64(ab, cd); /* blocks 0, 2 */
        __m256i y = _mm256_unpackhi_epi64(ab, cd); /* blocks 1, 3 */
        _mm256_storeu_si256((__m256i *)(w + 16 * h), _mm256_permute2x128_si256(x, y, 0x20));
        _mm256_storeu_si256((__m256i *)(w + 16 * h + 8), _mm256_permute2x128_si256(x, y, 0x31));
    }
}
#else
static inline void FI_N(philox_lanes)(fi_u64 b0, const fi_params *p, fi_u32 *w)
{
    for (int l = 0; l < FI_LANES; ++l)
        fi_block(b0 + (fi_u64)l, p, &w[4 * l], &w[4 * l + 1], &w[4 * l + 2], &w[4 * l + 3]);
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
    for (i = 0; i < 4 * FI_LANES; ++i) o[i] = fi_f32_to_bf16(f[i]);
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

/* The normal elements of group g: as float into out (dtype FI_DT_F32), else as 16-bit
 * bits into o, the cosine and sine values interleaved as they are converted (AVX-512). */
static inline __attribute__((always_inline)) void FI_N(normal_grp)(const fi_params *p,
                                                                   fi_u64 g, int dtype,
                                                                   float *out, fi_u16 *o)
{
    fi_u32 w[4 * FI_LANES];
    float z[2][2 * FI_LANES];
    const float loc = (float)p->a, scale = (float)p->b;
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    for (int m = 0; m < 2 * FI_LANES; ++m) {
        float z0, z1;
        fi_boxmuller_f32(w[2 * m], w[2 * m + 1], &z0, &z1);
        z[0][m] = loc + scale * z0;
        z[1][m] = loc + scale * z1;
    }
#if defined(FI_ISA_AVX512)
    if (dtype != FI_DT_F32) {
        const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
        for (int m = 0; m < 2 * FI_LANES; m += 16) {
            __m512 c = _mm512_loadu_ps(z[0] + m), s = _mm512_loadu_ps(z[1] + m);
            _mm256_storeu_si256((__m256i *)(o + 2 * m),
                                FI_N(half16)(dtype, _mm512_permutex2var_ps(c, lo, s), 0));
            _mm256_storeu_si256((__m256i *)(o + 2 * m + 16),
                                FI_N(half16)(dtype, _mm512_permutex2var_ps(c, hi, s), 0));
        }
        return;
    }
#endif
    for (int m = 0; m < 2 * FI_LANES; ++m) {
        out[2 * m] = z[0][m];
        out[2 * m + 1] = z[1][m];
    }
    if (dtype != FI_DT_F32) FI_N(to16)(dtype, out, o);
}

static void FI_N(grp_normal_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    FI_N(normal_grp)(p, g, FI_DT_F32, (float *)dst, 0);
}

/* Indices i (ascending) of the elements with !fi_truncnormal_central(q[i]) among the
 * 4 FI_LANES of a group, into idx; returns how many.  AVX2 walks the bits of 8-lane
 * masks, the baseline tests each element (AVX-512 has its own group loop below). */
static inline int FI_N(tail_index)(const float *q, int *idx)
{
    int n = 0;
#if defined(FI_ISA_AVX2)
    const __m256 c = _mm256_set1_ps(FI_TRUNC_CENTRAL);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int i = 0; i < 4 * FI_LANES; i += 8) {
        __m256 aq = _mm256_and_ps(_mm256_loadu_ps(q + i), absmask);
        for (unsigned m = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(aq, c, _CMP_GT_OQ)); m;
             m &= m - 1)
            idx[n++] = i + __builtin_ctz(m);
    }
#else
    for (int i = 0; i < 4 * FI_LANES; ++i) {
        idx[n] = i;
        n += !fi_truncnormal_central(q[i]);
    }
#endif
    return n;
}

#if defined(FI_ISA_AVX512)
/* 16 words as doubles, exactly: the double with bits 0x43300000:w is 2^52 + w.  Unpacking
 * pairs each word with those high bits, in the order of the 128-bit lanes: elements
 * 0, 1, 4, 5, ... in *w0 and 2, 3, 6, 7, ... in *w1 (unpacked_ps restores the order). */
static inline void FI_N(unpack_words16)(__m512i w, __m512d *w0, __m512d *w1)
{
    const __m512i hi = _mm512_set1_epi32(0x43300000);
    *w0 = _mm512_castsi512_pd(_mm512_unpacklo_epi32(w, hi));
    *w1 = _mm512_castsi512_pd(_mm512_unpackhi_epi32(w, hi));
}

/* the 16 floats of the two halves of unpack_words16, in element order */
static inline __m512 FI_N(unpacked_ps)(__m256 f0, __m256 f1)
{
    const __m512i order = _mm512_set_epi32(23, 22, 7, 6, 21, 20, 5, 4, 19, 18, 3, 2, 17, 16, 1, 0);
    return _mm512_permutex2var_ps(_mm512_castps256_ps512(f0), order, _mm512_castps256_ps512(f1));
}

/* fi_truncnormal_q of 16 words: s = w - 2^31 = (2^52 + w) - (2^52 + 2^31) exactly, then
 * qb + s h in double, rounded to float */
static inline __m512 FI_N(trunc_q16)(__m512i w, __m512d qb, __m512d h)
{
    const __m512d off = _mm512_set1_pd(4503601774854144.0); /* 2^52 + 2^31 */
    __m512d s0, s1;
    FI_N(unpack_words16)(w, &s0, &s1);
    s0 = _mm512_sub_pd(s0, off);
    s1 = _mm512_sub_pd(s1, off);
    return FI_N(unpacked_ps)(_mm512_cvtpd_ps(_mm512_add_pd(qb, _mm512_mul_pd(s0, h))),
                             _mm512_cvtpd_ps(_mm512_add_pd(qb, _mm512_mul_pd(s1, h))));
}

/* fi_truncnormal_t(fi_truncnormal_p(w)) of 16 words, in the two halves of unpack_words16:
 * u = (w + 0.5) 2^-32, p = pa + u pd, t = min(p, 1 - p) */
static inline void FI_N(trunc_t16)(__m512i w, __m512d pa, __m512d pd, __m512d *t0, __m512d *t1)
{
    const __m512d two52 = _mm512_set1_pd(4503599627370496.0), half = _mm512_set1_pd(0.5);
    const __m512d ulp = _mm512_set1_pd(2.3283064365386963e-10), one = _mm512_set1_pd(1.0);
    __m512d x[2];
    FI_N(unpack_words16)(w, &x[0], &x[1]);
    for (int j = 0; j < 2; ++j) {
        __m512d u = _mm512_mul_pd(_mm512_add_pd(_mm512_sub_pd(x[j], two52), half), ulp);
        __m512d pp = _mm512_add_pd(pa, _mm512_mul_pd(u, pd));
        x[j] = _mm512_min_pd(pp, _mm512_sub_pd(one, pp));
    }
    *t0 = x[0];
    *t1 = x[1];
}

/* fi_truncnormal_central_f32 of 16 lanes, clamped into [lo, hi] (fi_clampf) */
static inline __m512 FI_N(trunc_central16)(__m512 q, __m512 loc, __m512 scale, __m512 lo,
                                           __m512 hi)
{
    __m512 r = _mm512_sub_ps(_mm512_set1_ps(0.180625f), _mm512_mul_ps(q, q));
    __m512 n = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(59.109374720f), r), _mm512_set1_ps(159.29113202f));
    n = _mm512_add_ps(_mm512_mul_ps(n, r), _mm512_set1_ps(50.434271938f));
    n = _mm512_add_ps(_mm512_mul_ps(n, r), _mm512_set1_ps(3.3871327179f));
    __m512 d = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(67.187563600f), r), _mm512_set1_ps(78.757757664f));
    d = _mm512_add_ps(_mm512_mul_ps(d, r), _mm512_set1_ps(17.895169469f));
    d = _mm512_add_ps(_mm512_mul_ps(d, r), _mm512_set1_ps(1.0f));
    __m512 v = _mm512_add_ps(loc, _mm512_mul_ps(scale, _mm512_div_ps(_mm512_mul_ps(q, n), d)));
    return _mm512_min_ps(hi, _mm512_max_ps(lo, v));
}

/* fi_truncnormal_f32 on `count` (at most FI_TRUNC_RUN) consecutive groups from g, 16
 * lanes at a time: the central rational for every element, written out; the tail
 * elements' words and q compressed into short arrays, their values computed in whole
 * vectors (padded with copies of the last one) and expanded back into their lanes; AS 241
 * in double only for the rare far-tail elements.  Several groups at once keep several
 * tail vectors in flight (their chain of divisions and a square root is long). */
#define FI_TRUNC_RUN 8
static void FI_N(run_truncnormal_f32)(const fi_params *p, fi_u64 g, int count, float *out)
{
    enum { V = 16, GV = 4 * FI_LANES / V, MAXN = FI_TRUNC_RUN * 4 * FI_LANES };
    fi_u32 w[MAXN], tw[MAXN + V];
    float tq[MAXN + V], tf[MAXN + V], tv[MAXN + V];
    __mmask16 tm[MAXN / V];
    const float loc = (float)p->a, scale = (float)p->b, lo = (float)p->lo, hi = (float)p->hi;
    const __m512d qb = _mm512_set1_pd(fi_truncnormal_qb(p)), h = _mm512_set1_pd(fi_truncnormal_h(p));
    const __m512 vloc = _mm512_set1_ps(loc), vscale = _mm512_set1_ps(scale);
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    const __m512 central = _mm512_set1_ps(FI_TRUNC_CENTRAL);
    const __m512d pa = _mm512_set1_pd(p->pa), pd = _mm512_set1_pd(p->pd);
    const __m512d tmin = _mm512_set1_pd(FI_TRUNC_FLOAT_MIN);
    const int nv = count * GV;
    int n = 0;
    for (int k = 0; k < count; ++k)
        FI_N(philox_lanes)(FI_LANES * (g + (fi_u64)k), p, w + 4 * FI_LANES * k);
    for (int i = 0; i < nv; ++i) {
        __m512i wv = _mm512_loadu_si512((const void *)(w + V * i));
        __m512 q = FI_N(trunc_q16)(wv, qb, h);
        _mm512_storeu_ps(out + V * i, FI_N(trunc_central16)(q, vloc, vscale, vlo, vhi));
        __mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(q), central, _CMP_NLE_UQ);
        tm[i] = m;
        _mm512_storeu_si512((void *)(tw + n), _mm512_maskz_compress_epi32(m, wv));
        _mm512_storeu_ps(tq + n, _mm512_maskz_compress_ps(m, q));
        n += __builtin_popcount((unsigned)m);
    }
    if (n == 0) return;
    int np = (n + V - 1) & -V, far = 0;
    _mm512_storeu_si512((void *)(tw + n), _mm512_set1_epi32((int)tw[n - 1]));
    _mm512_storeu_ps(tq + n, _mm512_set1_ps(tq[n - 1]));
    for (int c = 0; c < np; c += V) {
        __m512d t0, t1;
        FI_N(trunc_t16)(_mm512_loadu_si512((const void *)(tw + c)), pa, pd, &t0, &t1);
        far |= _mm512_cmp_pd_mask(t0, tmin, _CMP_LT_OQ) | _mm512_cmp_pd_mask(t1, tmin, _CMP_LT_OQ);
        _mm512_storeu_ps(tf + c, FI_N(unpacked_ps)(_mm512_cvtpd_ps(t0), _mm512_cvtpd_ps(t1)));
        for (int k = c; k < c + V; ++k)
            tv[k] = fi_clampf(fi_truncnormal_tail_f32(fi_ndtri_tail_f32(tf[k]), tq[k], loc, scale),
                              lo, hi);
    }
    if (far)
        for (int k = 0; k < n; ++k) {
            double pp = fi_truncnormal_p(tw[k], p);
            if (fi_truncnormal_t(pp) < FI_TRUNC_FLOAT_MIN)
                tv[k] = fi_clampf(fi_truncnormal_far_f32(pp, p), lo, hi);
        }
    for (int i = 0, off = 0; i < nv; ++i) { /* no branch: a mask of 0 keeps the lanes */
        __m512 v = _mm512_mask_expand_ps(_mm512_loadu_ps(out + V * i), tm[i],
                                         _mm512_loadu_ps(tv + off));
        _mm512_storeu_ps(out + V * i, v);
        off += __builtin_popcount((unsigned)tm[i]);
    }
}

static void FI_N(grp_truncnormal_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    FI_N(run_truncnormal_f32)(p, g, 1, (float *)dst);
}

/* run_truncnormal_f32 of a float16/bfloat16 output: the floats of the run, then each
 * group converted 16 lanes at a time (to16) */
static void FI_N(run_truncnormal_half)(const fi_params *p, fi_u64 g, int count, int dtype,
                                       fi_u16 *o)
{
    float f[FI_TRUNC_RUN * 4 * FI_LANES];
    FI_N(run_truncnormal_f32)(p, g, count, f);
    for (int k = 0; k < count; ++k)
        FI_N(to16)(dtype, f + 4 * FI_LANES * k, o + 4 * FI_LANES * k);
}
#else /* AVX2 and the baseline: one group at a time */

/* The truncated normal elements of group g: as float into out (dtype FI_DT_F32), else as
 * 16-bit bits into o (out then holds the central values, converted before the tail ones
 * are stored one by one: a vector load right after them would wait for the stores). */
static inline __attribute__((always_inline)) void FI_N(truncnormal_grp)(const fi_params *p,
                                                                        fi_u64 g, int dtype,
                                                                        float *out, fi_u16 *o)
{
    fi_u32 w[4 * FI_LANES];
    float q[4 * FI_LANES];
    const float loc = (float)p->a, scale = (float)p->b, lo = (float)p->lo, hi = (float)p->hi;
    FI_N(philox_lanes)(FI_LANES * g, p, w);
    /* the per-element rule of fi_truncnormal_f32 in vectorized passes: the central
     * rational for every element; the tail elements (about 11 % at +-2 sigma) gathered
     * into a short array, padded to whole vectors, for the float tail; AS 241 in double
     * only for the rare far-tail elements */
    for (int i = 0; i < 4 * FI_LANES; ++i) {
        q[i] = fi_truncnormal_q(w[i], p);
        out[i] = fi_clampf(fi_truncnormal_central_f32(q[i], loc, scale), lo, hi);
    }
    if (dtype != FI_DT_F32) FI_N(to16)(dtype, out, o);
    int idx[4 * FI_LANES];
    int n = FI_N(tail_index)(q, idx);
    if (n > 0) {
        enum { V = 16 }; /* padding unit: one AVX-512 register of floats */
        int far = 0;
        double pp[4 * FI_LANES];
        float t[4 * FI_LANES + V], zt[4 * FI_LANES + V];
        for (int k = 0; k < n; ++k) {
            pp[k] = fi_truncnormal_p(w[idx[k]], p);
            double tk = fi_truncnormal_t(pp[k]);
            far |= tk < FI_TRUNC_FLOAT_MIN;
            t[k] = (float)tk;
        }
        for (int k = n; k < ((n + V - 1) & -V); ++k) t[k] = 0.075f; /* any valid input */
        for (int c = 0; c < n; c += V)
            for (int k = c; k < c + V; ++k) zt[k] = fi_ndtri_tail_f32(t[k]);
        for (int k = 0; k < n; ++k)
            zt[k] = fi_clampf(fi_truncnormal_tail_f32(zt[k], q[idx[k]], loc, scale), lo, hi);
        if (far)
            for (int k = 0; k < n; ++k)
                if (fi_truncnormal_t(pp[k]) < FI_TRUNC_FLOAT_MIN)
                    zt[k] = fi_clampf(fi_truncnormal_far_f32(pp[k], p), lo, hi);
        if (dtype == FI_DT_F32)
            for (int k = 0; k < n; ++k) out[idx[k]] = zt[k];
        else
            for (int k = 0; k < n; ++k) o[idx[k]] = FI_N(half1)(dtype, zt[k]);
    }
}

static void FI_N(grp_truncnormal_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    FI_N(truncnormal_grp)(p, g, FI_DT_F32, (float *)dst, 0);
}
#endif

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

#if defined(FI_ISA_AVX512)
/* fi_uniform_lowp on 16 words: two halves of 8 doubles, float by truncation with the low
 * bit set when inexact (round-to-odd, as fi_f64_to_f32_odd), clamped */
static inline __m512 FI_N(uniform_lowp16)(__m512i w, const fi_params *p, __m512 lo, __m512 hi)
{
    const __m512d a = _mm512_set1_pd(p->a), b = _mm512_set1_pd(p->b * 2.98023223876953125e-08);
    const __m512i one = _mm512_set1_epi32(1);
    const int rz = _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC;
    __m512i k2 = _mm512_or_si512(_mm512_srli_epi32(w, 7), one);
    __m512d x0 = _mm512_add_pd(a, _mm512_mul_pd(b, _mm512_cvtepu32_pd(_mm512_castsi512_si256(k2))));
    __m512d x1 = _mm512_add_pd(a, _mm512_mul_pd(b, _mm512_cvtepu32_pd(_mm512_extracti64x4_epi64(k2, 1))));
    __m256 f0 = _mm512_cvt_roundpd_ps(x0, rz), f1 = _mm512_cvt_roundpd_ps(x1, rz);
    __mmask8 i0 = _mm512_cmp_pd_mask(_mm512_cvtps_pd(f0), x0, _CMP_NEQ_UQ);
    __mmask8 i1 = _mm512_cmp_pd_mask(_mm512_cvtps_pd(f1), x1, _CMP_NEQ_UQ);
    __m512i v = _mm512_castps_si512(_mm512_insertf32x8(_mm512_castps256_ps512(f0), f1, 1));
    v = _mm512_mask_or_epi32(v, (__mmask16)(((unsigned)i1 << 8) | i0), v, one);
    return _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_castsi512_ps(v)));
}

/* the float route (fi_lowp, fill_cpu.c) on 16 words: j = K - k and y = fma(s, j, c) */
static inline __attribute__((always_inline)) __m512 FI_N(lowp_y)(const fi_lowp *lp, __m512i w,
                                                                 __m512i *j)
{
    *j = _mm512_sub_epi32(_mm512_set1_epi32(lp->k), _mm512_srli_epi32(w, 8));
    return _mm512_fmadd_ps(_mm512_set1_ps(lp->s), _mm512_cvtepi32_ps(*j), _mm512_set1_ps(lp->c));
}

/* y's distance to the midpoints of the 16-bit grid: bfloat16, the low 16 bits of y minus
 * 0x8000 - FI_LOWP_T, at most 2 FI_LOWP_T within FI_LOWP_T floats of one; float16, the low
 * 13 bits rotated to the top minus (0x1000 - FI_LOWP_T) << 19, at most FI_LOWP_D16 (fill_cpu.c) */
static inline __attribute__((always_inline)) __m512i FI_N(lowp_d)(__m512 y, const int f16)
{
    __m512i u = _mm512_castps_si512(y);
    if (f16) return _mm512_sub_epi32(_mm512_rol_epi32(u, 19), _mm512_set1_epi32((0x1000 - FI_LOWP_T) << 19));
    return _mm512_sub_epi32(u, _mm512_set1_epi32(0x8000 - FI_LOWP_T));
}

/* nonzero when a lane of d (lowp_d) is near a midpoint */
static inline __attribute__((always_inline)) unsigned FI_N(lowp_near)(__m512i d, const int f16)
{
    if (f16) return _mm512_cmple_epu32_mask(d, _mm512_set1_epi32((int)FI_LOWP_D16));
    return _mm512_mask_cmple_epu16_mask(0x55555555u, d, _mm512_set1_epi16(2 * FI_LOWP_T));
}

/* the 32 values y0, y1 clamped into [lo, hi] (the sides in clamp: FI_LOWP_LO, FI_LOWP_HI)
 * as float16/bfloat16 bits into o; bfloat16 in one vcvtne2ps2bf16 where the CPU has it */
static inline __attribute__((always_inline)) void FI_N(lowp_store)(__m512 y0, __m512 y1,
                                                                   __m512 lo, __m512 hi,
                                                                   fi_u16 *o, const int f16,
                                                                   const int clamp)
{
    if (clamp & FI_LOWP_LO) {
        y0 = _mm512_max_ps(lo, y0);
        y1 = _mm512_max_ps(lo, y1);
    }
    if (clamp & FI_LOWP_HI) {
        y0 = _mm512_min_ps(hi, y0);
        y1 = _mm512_min_ps(hi, y1);
    }
#if defined(FI_ISA_AVX512BF16)
    if (!f16) {
        _mm512_storeu_si512((void *)o, (__m512i)_mm512_cvtne2ps_pbh(y1, y0));
        return;
    }
#endif
    _mm256_storeu_si256((__m256i *)o, FI_N(half16)(f16 ? FI_DT_F16 : FI_DT_BF16, y0, 1));
    _mm256_storeu_si256((__m256i *)(o + 16), FI_N(half16)(f16 ? FI_DT_F16 : FI_DT_BF16, y1, 1));
}

/* fi_uniform_lowp of the 4 FI_LANES words w by the float route, dtype FI_DT_F16 when f16:
 * y rounded to the dtype, 32 lanes at a time; when a lane may have y near a midpoint or
 * (float16) j in [0, 2J] (tracked by unsigned minima; bfloat16 over all 16-bit halves,
 * the high ones only ever adding false alarms), a second pass finds its 16 words and
 * gives them the double route */
static inline __attribute__((always_inline)) void FI_N(lowp_fast)(const fi_lowp *lp,
                                                                  const fi_params *p,
                                                                  const fi_u32 *w, fi_u16 *o,
                                                                  const int f16, const int clamp)
{
    const int dtype = f16 ? FI_DT_F16 : FI_DT_BF16;
    const __m512i near = _mm512_set1_epi32((int)lp->near);
    const __m512 lo = _mm512_set1_ps((float)p->lo), hi = _mm512_set1_ps((float)p->hi);
    __m512i dmin = _mm512_set1_epi32(-1), jmin = _mm512_set1_epi32(-1);
    for (int i = 0; i < 4 * FI_LANES; i += 32) {
        __m512i j0, j1;
        __m512 y0 = FI_N(lowp_y)(lp, _mm512_loadu_si512((const void *)(w + i)), &j0);
        __m512 y1 = FI_N(lowp_y)(lp, _mm512_loadu_si512((const void *)(w + i + 16)), &j1);
        __m512i d0 = FI_N(lowp_d)(y0, f16), d1 = FI_N(lowp_d)(y1, f16);
        if (f16) {
            dmin = _mm512_min_epu32(dmin, _mm512_min_epu32(d0, d1));
            jmin = _mm512_min_epu32(jmin, _mm512_min_epu32(j0, j1));
        } else {
            dmin = _mm512_min_epu16(dmin, _mm512_min_epu16(d0, d1));
        }
        FI_N(lowp_store)(y0, y1, lo, hi, o + i, f16, clamp);
    }
    unsigned alarm = f16 ? _mm512_cmple_epu32_mask(dmin, _mm512_set1_epi32((int)FI_LOWP_D16)) |
                               _mm512_cmple_epu32_mask(jmin, near)
                         : _mm512_cmple_epu16_mask(dmin, _mm512_set1_epi16(2 * FI_LOWP_T));
    if (__builtin_expect(alarm != 0, 0)) {
        for (int i = 0; i < 4 * FI_LANES; i += 16) {
            __m512i j, wv = _mm512_loadu_si512((const void *)(w + i));
            __m512 y = FI_N(lowp_y)(lp, wv, &j);
            if (FI_N(lowp_near)(FI_N(lowp_d)(y, f16), f16) |
                (f16 ? _mm512_cmple_epu32_mask(j, near) : 0))
                _mm256_storeu_si256((__m256i *)(o + i),
                                    FI_N(half16)(dtype, FI_N(uniform_lowp16)(wv, p, lo, hi), 0));
        }
    }
}
#endif

#if defined(FI_ISA_AVX2)
/* the float route on AVX2, 8 lanes a vector, as lowp_fast: y = fma(s, j, c); the alarms
 * as unsigned minima, checked once per group; a second pass gives every vector with a
 * lane near a midpoint or (float16) j in [0, 2J] the double route, lane by lane */
static inline __attribute__((always_inline)) __m256 FI_N(lowp_y8)(const fi_lowp *lp, __m256i w,
                                                                  __m256i *j)
{
    *j = _mm256_sub_epi32(_mm256_set1_epi32(lp->k), _mm256_srli_epi32(w, 8));
    return _mm256_fmadd_ps(_mm256_set1_ps(lp->s), _mm256_cvtepi32_ps(*j), _mm256_set1_ps(lp->c));
}

/* lowp_d on 8 lanes (the rotation by two shifts) */
static inline __attribute__((always_inline)) __m256i FI_N(lowp_d8)(__m256 y, const int f16)
{
    __m256i u = _mm256_castps_si256(y);
    if (f16)
        return _mm256_sub_epi32(_mm256_or_si256(_mm256_slli_epi32(u, 19), _mm256_srli_epi32(u, 13)),
                                _mm256_set1_epi32((0x1000 - FI_LOWP_T) << 19));
    return _mm256_sub_epi32(u, _mm256_set1_epi32(0x8000 - FI_LOWP_T));
}

/* nonzero when a lane of x (unsigned 16-bit lanes, or 32-bit when w32) is at most lim */
static inline __attribute__((always_inline)) unsigned FI_N(lowp_le8)(__m256i x, unsigned lim,
                                                                     const int w32)
{
    __m256i m = w32 ? _mm256_cmpeq_epi32(_mm256_min_epu32(x, _mm256_set1_epi32((int)lim)), x)
                    : _mm256_cmpeq_epi16(_mm256_min_epu16(x, _mm256_set1_epi16((short)lim)), x);
    return (unsigned)_mm256_movemask_epi8(m);
}

static inline __attribute__((always_inline)) void FI_N(lowp_fast8)(const fi_lowp *lp,
                                                                   const fi_params *p,
                                                                   const fi_u32 *w, fi_u16 *o,
                                                                   const int f16, const int clamp)
{
    const int dtype = f16 ? FI_DT_F16 : FI_DT_BF16;
    const __m256 lo = _mm256_set1_ps((float)p->lo), hi = _mm256_set1_ps((float)p->hi);
    __m256i dmin = _mm256_set1_epi32(-1), jmin = _mm256_set1_epi32(-1);
    for (int i = 0; i < 4 * FI_LANES; i += 16) {
        __m256i j0, j1;
        __m256 y0 = FI_N(lowp_y8)(lp, _mm256_loadu_si256((const __m256i *)(w + i)), &j0);
        __m256 y1 = FI_N(lowp_y8)(lp, _mm256_loadu_si256((const __m256i *)(w + i + 8)), &j1);
        __m256i d0 = FI_N(lowp_d8)(y0, f16), d1 = FI_N(lowp_d8)(y1, f16);
        if (f16) {
            dmin = _mm256_min_epu32(dmin, _mm256_min_epu32(d0, d1));
            jmin = _mm256_min_epu32(jmin, _mm256_min_epu32(j0, j1));
        } else {
            dmin = _mm256_min_epu16(dmin, _mm256_min_epu16(d0, d1));
        }
        if (clamp & FI_LOWP_LO) {
            y0 = _mm256_max_ps(lo, y0);
            y1 = _mm256_max_ps(lo, y1);
        }
        if (clamp & FI_LOWP_HI) {
            y0 = _mm256_min_ps(hi, y0);
            y1 = _mm256_min_ps(hi, y1);
        }
        if (f16) {
            const int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
            _mm_storeu_si128((__m128i *)(o + i), _mm256_cvtps_ph(y0, rn));
            _mm_storeu_si128((__m128i *)(o + i + 8), _mm256_cvtps_ph(y1, rn));
        } else { /* fi_f32_to_bf16 on normal floats, packed in order */
            const __m256i one = _mm256_set1_epi32(1), half = _mm256_set1_epi32(0x7fff);
            __m256i u0 = _mm256_castps_si256(y0), u1 = _mm256_castps_si256(y1);
            u0 = _mm256_add_epi32(u0, _mm256_add_epi32(half, _mm256_and_si256(_mm256_srli_epi32(u0, 16), one)));
            u1 = _mm256_add_epi32(u1, _mm256_add_epi32(half, _mm256_and_si256(_mm256_srli_epi32(u1, 16), one)));
            __m256i h = _mm256_packus_epi32(_mm256_srli_epi32(u0, 16), _mm256_srli_epi32(u1, 16));
            _mm256_storeu_si256((__m256i *)(o + i), _mm256_permute4x64_epi64(h, 0xd8));
        }
    }
    unsigned alarm = f16 ? FI_N(lowp_le8)(dmin, FI_LOWP_D16, 1) | FI_N(lowp_le8)(jmin, lp->near, 1)
                         : FI_N(lowp_le8)(dmin, 2 * FI_LOWP_T, 0);
    if (__builtin_expect(alarm != 0, 0)) {
        for (int i = 0; i < 4 * FI_LANES; i += 8) {
            __m256i j;
            __m256 y = FI_N(lowp_y8)(lp, _mm256_loadu_si256((const __m256i *)(w + i)), &j);
            __m256i d = FI_N(lowp_d8)(y, f16);
            if (f16 ? FI_N(lowp_le8)(d, FI_LOWP_D16, 1) | FI_N(lowp_le8)(j, lp->near, 1)
                    : FI_N(lowp_le8)(_mm256_and_si256(d, _mm256_set1_epi32(0xffff)), 2 * FI_LOWP_T, 1))
                for (int l = i; l < i + 8; ++l)
                    o[l] = FI_N(half1)(dtype, fi_uniform_lowp(w[l], p, (float)p->lo, (float)p->hi));
        }
    }
}
#endif

#if defined(FI_ISA_AVX512) || defined(FI_ISA_AVX2)
#if defined(FI_ISA_AVX512)
#define FI_LOWP_FAST FI_N(lowp_fast)
#else
#define FI_LOWP_FAST FI_N(lowp_fast8)
#endif
/* the float route specialized on the dtype and the sides that need a clamp */
static void FI_N(lowp_fast_any)(const fi_lowp *lp, int dtype, const fi_params *p,
                                const fi_u32 *w, fi_u16 *o)
{
    switch ((dtype == FI_DT_F16) * 4 + lp->clamp) {
    case 0: FI_LOWP_FAST(lp, p, w, o, 0, 0); break;
    case 1: FI_LOWP_FAST(lp, p, w, o, 0, 1); break;
    case 2: FI_LOWP_FAST(lp, p, w, o, 0, 2); break;
    case 3: FI_LOWP_FAST(lp, p, w, o, 0, 3); break;
    case 4: FI_LOWP_FAST(lp, p, w, o, 1, 0); break;
    case 5: FI_LOWP_FAST(lp, p, w, o, 1, 1); break;
    case 6: FI_LOWP_FAST(lp, p, w, o, 1, 2); break;
    default: FI_LOWP_FAST(lp, p, w, o, 1, 3); break;
    }
}
#undef FI_LOWP_FAST
#endif

/* fi_uniform_lowp of the 4 FI_LANES words w as float16/bfloat16 bits: on AVX-512 and AVX2
 * by the float route where the fill allows it (lp->fast), else by the double route */
static void FI_N(lowp_words)(const fi_lowp *lp, int dtype, const fi_params *p,
                             const fi_u32 *w, fi_u16 *o)
{
#if defined(FI_ISA_AVX512)
    if (lp->fast) {
        FI_N(lowp_fast_any)(lp, dtype, p, w, o);
    } else {
        const __m512 lo = _mm512_set1_ps((float)p->lo), hi = _mm512_set1_ps((float)p->hi);
        for (int i = 0; i < 4 * FI_LANES; i += 16)
            _mm256_storeu_si256((__m256i *)(o + i),
                                FI_N(half16)(dtype, FI_N(uniform_lowp16)(
                                    _mm512_loadu_si512((const void *)(w + i)), p, lo, hi), 0));
    }
#else
#if defined(FI_ISA_AVX2)
    if (lp->fast) {
        FI_N(lowp_fast_any)(lp, dtype, p, w, o);
        return;
    }
#endif
    float f[4 * FI_LANES];
    const float lo = (float)p->lo, hi = (float)p->hi;
    (void)lp;
    for (int i = 0; i < 4 * FI_LANES; ++i) f[i] = fi_uniform_lowp(w[i], p, lo, hi);
    FI_N(to16)(dtype, f, o);
#endif
}

/* The 16-bit elements of group g */
static void FI_N(grp_half)(int dist, const fi_lowp *lp, int dtype, const fi_params *p,
                           fi_u64 g, fi_u16 *o)
{
    float f[4 * FI_LANES];
    if (dist == FI_DIST_NORMAL) {
        FI_N(normal_grp)(p, g, dtype, f, o);
    } else if (dist == FI_DIST_TRUNCNORMAL) {
#if defined(FI_ISA_AVX512)
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
#if defined(FI_ISA_AVX512)
        if (half && dist == FI_DIST_TRUNCNORMAL && whole && n >= 2 * (fi_i64)per &&
            pos <= (fi_u64)0 - FI_TRUNC_RUN * per) { /* the run stays below 2^64 */
            int count = n / (fi_i64)per < FI_TRUNC_RUN ? (int)(n / (fi_i64)per) : FI_TRUNC_RUN;
            FI_N(run_truncnormal_half)(p, g, count, dtype, (fi_u16 *)d);
            take = count * (fi_i64)per;
        } else
#endif
        if (half) { /* 16-bit values straight into dst when it takes them (gen unused) */
            FI_N(grp_half)(dist, &lp, dtype, p, g, whole ? (fi_u16 *)d : bits16);
            if (!whole) FI_N(store)(dtype, bits16 + first, take, d, stride);
#if defined(FI_ISA_AVX512)
        } else if (whole && gen == FI_N(grp_truncnormal_f32) && n >= 2 * (fi_i64)per &&
                   pos <= (fi_u64)0 - FI_TRUNC_RUN * per) { /* the run stays below 2^64 */
            int count = n / (fi_i64)per < FI_TRUNC_RUN ? (int)(n / (fi_i64)per) : FI_TRUNC_RUN;
            FI_N(run_truncnormal_f32)(p, g, count, (float *)d);
            take = count * (fi_i64)per;
#endif
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
