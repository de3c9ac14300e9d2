/* fill_cpu_lowp.h - the float16/bfloat16 uniform of the CPU loops (fi_uniform_lowp of
 * fi_dist.h), included by fill_cpu_impl.h once per instruction set: the double route
 * (uniform_lowp16), the float route of AVX-512 and AVX2 with its alarms (fill_cpu.c states
 * its error bound) and lowp_words, which picks between them.  No include guard: FI_N
 * names each copy. */

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
 * y rounded to the dtype, 32 lanes at a time; the vectors of 16 lanes that may have y near
 * a midpoint or (float16) j in [0, 2J] then take the double route.  float16, whose ranges
 * around 0 raise this often, marks each such vector as it goes (0.91x of the time of a
 * second pass over the group); bfloat16, where it is rarer, tracks the unsigned minimum
 * over all 16-bit halves (the high ones only ever adding false alarms) and on an alarm
 * looks at each vector again. */
static inline __attribute__((always_inline)) void FI_N(lowp_fast)(const fi_lowp *lp,
                                                                  const fi_params *p,
                                                                  const fi_u32 *w, fi_u16 *o,
                                                                  const int f16, const int clamp)
{
    const int dtype = f16 ? FI_DT_F16 : FI_DT_BF16;
    const __m512i near = _mm512_set1_epi32((int)lp->near);
    const __m512 lo = _mm512_set1_ps((float)p->lo), hi = _mm512_set1_ps((float)p->hi);
    __m512i dmin = _mm512_set1_epi32(-1);
    unsigned alarm = 0; /* bit v: vector v (lanes 16 v ..) takes the double route */
    for (int i = 0; i < 4 * FI_LANES; i += 32) {
        __m512i j0, j1;
        __m512 y0 = FI_N(lowp_y)(lp, _mm512_loadu_si512((const void *)(w + i)), &j0);
        __m512 y1 = FI_N(lowp_y)(lp, _mm512_loadu_si512((const void *)(w + i + 16)), &j1);
        __m512i d0 = FI_N(lowp_d)(y0, f16), d1 = FI_N(lowp_d)(y1, f16);
        if (f16) {
            unsigned a0 = FI_N(lowp_near)(d0, 1) | _mm512_cmple_epu32_mask(j0, near);
            unsigned a1 = FI_N(lowp_near)(d1, 1) | _mm512_cmple_epu32_mask(j1, near);
            alarm |= (unsigned)(a0 != 0) << (i / 16) | (unsigned)(a1 != 0) << (i / 16 + 1);
        } else {
            dmin = _mm512_min_epu16(dmin, _mm512_min_epu16(d0, d1));
        }
        FI_N(lowp_store)(y0, y1, lo, hi, o + i, f16, clamp);
    }
    if (!f16 && _mm512_cmple_epu16_mask(dmin, _mm512_set1_epi16(2 * FI_LOWP_T)))
        for (int i = 0; i < 4 * FI_LANES; i += 16) {
            __m512i j, wv = _mm512_loadu_si512((const void *)(w + i));
            __m512 y = FI_N(lowp_y)(lp, wv, &j);
            alarm |= (unsigned)(FI_N(lowp_near)(FI_N(lowp_d)(y, 0), 0) != 0) << (i / 16);
        }
    while (__builtin_expect(alarm != 0, 0)) {
        int i = 16 * __builtin_ctz(alarm);
        alarm &= alarm - 1;
        _mm256_storeu_si256((__m256i *)(o + i),
                            FI_N(half16)(dtype, FI_N(uniform_lowp16)(
                                _mm512_loadu_si512((const void *)(w + i)), p, lo, hi), 0));
    }
}
#endif

#if defined(FI_ISA_AVX2)
/* the float route on AVX2, 8 lanes a vector, as lowp_fast: y = fma(s, j, c); float16
 * marks each vector with a lane near a midpoint or j in [0, 2J] as it goes (0.97x of the
 * time of a second pass), bfloat16 tracks its unsigned minima and on an alarm looks at
 * each vector again; the marked vectors take the double route, lane by lane */
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
    __m256i dmin = _mm256_set1_epi32(-1);
    fi_u64 alarm = 0; /* bit v: vector v (lanes 8 v ..) takes the double route */
    for (int i = 0; i < 4 * FI_LANES; i += 16) {
        __m256i j0, j1;
        __m256 y0 = FI_N(lowp_y8)(lp, _mm256_loadu_si256((const __m256i *)(w + i)), &j0);
        __m256 y1 = FI_N(lowp_y8)(lp, _mm256_loadu_si256((const __m256i *)(w + i + 8)), &j1);
        __m256i d0 = FI_N(lowp_d8)(y0, f16), d1 = FI_N(lowp_d8)(y1, f16);
        if (f16) {
            unsigned a0 = FI_N(lowp_le8)(d0, FI_LOWP_D16, 1) | FI_N(lowp_le8)(j0, lp->near, 1);
            unsigned a1 = FI_N(lowp_le8)(d1, FI_LOWP_D16, 1) | FI_N(lowp_le8)(j1, lp->near, 1);
            alarm |= (fi_u64)(a0 != 0) << (i / 8) | (fi_u64)(a1 != 0) << (i / 8 + 1);
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
        } else {
            _mm256_storeu_si256((__m256i *)(o + i), FI_N(bf16_pack)(y0, y1));
        }
    }
    if (!f16 && FI_N(lowp_le8)(dmin, 2 * FI_LOWP_T, 0))
        for (int i = 0; i < 4 * FI_LANES; i += 8) {
            __m256i j;
            __m256 y = FI_N(lowp_y8)(lp, _mm256_loadu_si256((const __m256i *)(w + i)), &j);
            __m256i d = _mm256_and_si256(FI_N(lowp_d8)(y, 0), _mm256_set1_epi32(0xffff));
            alarm |= (fi_u64)(FI_N(lowp_le8)(d, 2 * FI_LOWP_T, 1) != 0) << (i / 8);
        }
    while (__builtin_expect(alarm != 0, 0)) {
        int i = 8 * __builtin_ctzll(alarm);
        alarm &= alarm - 1;
        for (int l = i; l < i + 8; ++l)
            o[l] = FI_N(half1)(dtype, fi_uniform_lowp(w[l], p, (float)p->lo, (float)p->hi));
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
