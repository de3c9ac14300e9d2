/* fill_cpu_trunc.h - the 32-bit truncated normal of the CPU loops (fi_truncnormal_f32 of
 * fi_dist.h in vectorized passes), included by fill_cpu_impl.h once per instruction set:
 * AVX-512 and AVX2 runs of up to FI_RUN groups (float32, and float16/bfloat16 by to16),
 * the baseline one group at a time.  No include guard: FI_N names each copy. */

#if defined(FI_ISA_AVX2) && !defined(FI_TRUNC_PACK)
#define FI_TRUNC_PACK

/* fi_trunc_pack[m]: the lanes of the set bits of the 8-bit mask m in ascending order, one
 * byte each from the lowest (the rest 0), the AVX2 runs' compress permutation: lane j
 * goes to byte FI_TBELOW(m, j), the number of set bits of m below bit j */
#define FI_TBIT(m, i, j) ((i) < (j) ? ((m) >> (i)) & 1 : 0)
#define FI_TBELOW(m, j) (FI_TBIT(m, 0, j) + FI_TBIT(m, 1, j) + FI_TBIT(m, 2, j) + \
                         FI_TBIT(m, 3, j) + FI_TBIT(m, 4, j) + FI_TBIT(m, 5, j) + FI_TBIT(m, 6, j))
#define FI_TL(m, j) ((fi_u64)(((m) >> (j)) & 1) * (fi_u64)(j) << (8 * FI_TBELOW(m, j)))
#define FI_TP(m) (FI_TL(m, 1) | FI_TL(m, 2) | FI_TL(m, 3) | FI_TL(m, 4) | FI_TL(m, 5) | \
                  FI_TL(m, 6) | FI_TL(m, 7)) /* lane 0 is byte 0 or absent: a 0 byte */
#define FI_TP4(m) FI_TP(m), FI_TP((m) + 1), FI_TP((m) + 2), FI_TP((m) + 3)
#define FI_TP16(m) FI_TP4(m), FI_TP4((m) + 4), FI_TP4((m) + 8), FI_TP4((m) + 12)
#define FI_TP64(m) FI_TP16(m), FI_TP16((m) + 16), FI_TP16((m) + 32), FI_TP16((m) + 48)
static const fi_u64 fi_trunc_pack[256] = {FI_TP64(0), FI_TP64(64), FI_TP64(128), FI_TP64(192)};
#undef FI_TP64
#undef FI_TP16
#undef FI_TP4
#undef FI_TP
#undef FI_TL
#undef FI_TBELOW
#undef FI_TBIT
#endif

/* The AVX-512 and AVX2 central passes step FI_TU vectors together, each step for all of
 * them: their chains (a division among them) overlap, where one vector's waits would fill
 * the scheduler; 4 vectors take 0.95x (AVX-512) and 0.88x (AVX2) of one's time, 2 or 8
 * no better. */
#define FI_TU 4
#define FI_TEACH for (int j = 0; j < FI_TU; ++j)

#if defined(FI_ISA_AVX512) || defined(FI_ISA_AVX2)
/* the float tail of a run's n tail elements, from tf (t signed as q) into tv: one loop over
 * all of them, which GCC vectorizes (with one loop per vector of 16 instead, the AVX-512
 * fill took 1.17x this time) */
static inline void FI_N(trunc_tail)(const float *tf, int n, float loc, float scale, float lo,
                                    float hi, float *tv)
{
    for (int k = 0; k < n; ++k) {
        float t = FI_U2F(FI_F2U(tf[k]) & 0x7fffffffu);
        tv[k] = fi_clampf(fi_truncnormal_tail_f32(fi_ndtri_tail_f32(t), tf[k], loc, scale), lo, hi);
    }
}
#endif

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

/* fi_truncnormal_q of FI_TU vectors of 16 words: s = w - 2^31 = (2^52 + w) - (2^52 + 2^31)
 * exactly, then qb + s h in double, rounded to float */
static inline __attribute__((always_inline)) void FI_N(trunc_q16)(const __m512i *w, __m512d qb,
                                                                  __m512d h, __m512 *q)
{
    const __m512d off = _mm512_set1_pd(4503601774854144.0); /* 2^52 + 2^31 */
    __m512d s0[FI_TU], s1[FI_TU];
    FI_TEACH FI_N(unpack_words16)(w[j], &s0[j], &s1[j]);
    FI_TEACH {
        s0[j] = _mm512_sub_pd(s0[j], off);
        s1[j] = _mm512_sub_pd(s1[j], off);
    }
    FI_TEACH {
        s0[j] = _mm512_mul_pd(s0[j], h);
        s1[j] = _mm512_mul_pd(s1[j], h);
    }
    FI_TEACH q[j] = FI_N(unpacked_ps)(_mm512_cvtpd_ps(_mm512_add_pd(qb, s0[j])),
                                      _mm512_cvtpd_ps(_mm512_add_pd(qb, s1[j])));
}

/* fi_truncnormal_t(fi_truncnormal_p(w)) of 16 words, in the two halves of unpack_words16:
 * u = (w + 0.5) 2^-32, p = pa + u pd, t = min(p, 1 - p); then, for a tail element's sign,
 * negated where p < 1/2: q < 0 there, as |q| > 0.425 leaves no doubt */
static inline void FI_N(trunc_t16)(__m512i w, __m512d pa, __m512d pd, __m512d tmin, __m512d *t0,
                                   __m512d *t1, int *far)
{
    const __m512d two52 = _mm512_set1_pd(4503599627370496.0), half = _mm512_set1_pd(0.5);
    const __m512d ulp = _mm512_set1_pd(2.3283064365386963e-10), one = _mm512_set1_pd(1.0);
    __m512d x[2];
    FI_N(unpack_words16)(w, &x[0], &x[1]);
    for (int j = 0; j < 2; ++j) {
        __m512d u = _mm512_mul_pd(_mm512_add_pd(_mm512_sub_pd(x[j], two52), half), ulp);
        __m512d pp = _mm512_add_pd(pa, _mm512_mul_pd(u, pd));
        __m512d t = _mm512_min_pd(pp, _mm512_sub_pd(one, pp));
        *far |= _mm512_cmp_pd_mask(t, tmin, _CMP_LT_OQ);
        x[j] = _mm512_mask_sub_pd(t, _mm512_cmp_pd_mask(pp, half, _CMP_LT_OQ),
                                  _mm512_setzero_pd(), t);
    }
    *t0 = x[0];
    *t1 = x[1];
}

/* fi_truncnormal_central_f32 of FI_TU vectors q of 16 lanes, clamped into [lo, hi]
 * (fi_clampf), into v */
static inline __attribute__((always_inline)) void FI_N(trunc_central16)(
    const __m512 *q, __m512 loc, __m512 scale, __m512 lo, __m512 hi, __m512 *v)
{
    __m512 r[FI_TU], n[FI_TU], d[FI_TU];
    FI_TEACH r[j] = _mm512_sub_ps(_mm512_set1_ps(FI_PPND7_R), _mm512_mul_ps(q[j], q[j]));
    FI_TEACH {
        n[j] = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(FI_PPND7_A3), r[j]),
                             _mm512_set1_ps(FI_PPND7_A2));
        d[j] = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(FI_PPND7_B3), r[j]),
                             _mm512_set1_ps(FI_PPND7_B2));
    }
    FI_TEACH {
        n[j] = _mm512_add_ps(_mm512_mul_ps(n[j], r[j]), _mm512_set1_ps(FI_PPND7_A1));
        d[j] = _mm512_add_ps(_mm512_mul_ps(d[j], r[j]), _mm512_set1_ps(FI_PPND7_B1));
    }
    FI_TEACH {
        n[j] = _mm512_add_ps(_mm512_mul_ps(n[j], r[j]), _mm512_set1_ps(FI_PPND7_A0));
        d[j] = _mm512_add_ps(_mm512_mul_ps(d[j], r[j]), _mm512_set1_ps(1.0f));
    }
    FI_TEACH n[j] = _mm512_div_ps(_mm512_mul_ps(q[j], n[j]), d[j]);
    FI_TEACH v[j] = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(loc, _mm512_mul_ps(scale, n[j]))));
}

/* fi_truncnormal_f32 on `count` (at most FI_RUN) consecutive groups from g, 16
 * lanes at a time: the central rational for every element, written out; the tail
 * elements' words compressed into a short array, their t (signed as q) and values
 * computed in whole vectors (padded with copies of the last word) and expanded back into
 * their lanes; AS 241 in double only for the rare far-tail elements.  Several groups at
 * once keep several tail vectors in flight (their chain of divisions and a square root is
 * long).  A float16/bfloat16 dst gets the floats converted as the tail's lanes are put in. */
static inline __attribute__((always_inline)) void FI_N(run_truncnormal)(
    const fi_params *p, fi_u64 g, int count, int dtype, void *dst)
{
    enum { V = 16, GV = 4 * FI_LANES / V, MAXN = FI_RUN * 4 * FI_LANES };
    fi_u32 w[MAXN], tw[MAXN + V];
    float tf[MAXN + V], tv[MAXN + V], fv[MAXN]; /* the floats of a 16-bit dst */
    float *out = dtype == FI_DT_F32 ? (float *)dst : fv;
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
    for (int i = 0; i < nv; i += FI_TU) { /* nv: a multiple of GV, itself of FI_TU */
        __m512i wv[FI_TU];
        __m512 q[FI_TU], v[FI_TU];
        FI_TEACH wv[j] = _mm512_loadu_si512((const void *)(w + V * (i + j)));
        FI_N(trunc_q16)(wv, qb, h, q);
        FI_N(trunc_central16)(q, vloc, vscale, vlo, vhi, v);
        FI_TEACH {
            _mm512_storeu_ps(out + V * (i + j), v[j]);
            __mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(q[j]), central, _CMP_NLE_UQ);
            tm[i + j] = m;
            _mm512_storeu_si512((void *)(tw + n), _mm512_maskz_compress_epi32(m, wv[j]));
            n += __builtin_popcount((unsigned)m);
        }
    }
    if (n == 0 && dtype == FI_DT_F32) return;
    int np = (n + V - 1) & -V, far = 0;
    if (n) _mm512_storeu_si512((void *)(tw + n), _mm512_set1_epi32((int)tw[n - 1]));
    for (int c = 0; c < np; c += V) { /* tf: t signed as q */
        __m512d t0, t1;
        FI_N(trunc_t16)(_mm512_loadu_si512((const void *)(tw + c)), pa, pd, tmin, &t0, &t1, &far);
        _mm512_storeu_ps(tf + c, FI_N(unpacked_ps)(_mm512_cvtpd_ps(t0), _mm512_cvtpd_ps(t1)));
    }
    FI_N(trunc_tail)(tf, np, loc, scale, lo, hi, tv);
    if (far)
        for (int k = 0; k < n; ++k) {
            double pp = fi_truncnormal_p(tw[k], p);
            if (fi_truncnormal_t(pp) < FI_TRUNC_FLOAT_MIN)
                tv[k] = fi_clampf(fi_truncnormal_far_f32(pp, p), lo, hi);
        }
    for (int i = 0, off = 0; i < nv; ++i) { /* no branch: a mask of 0 keeps the lanes */
        __m512 v = _mm512_mask_expand_ps(_mm512_loadu_ps(out + V * i), tm[i],
                                         _mm512_loadu_ps(tv + off));
        if (dtype == FI_DT_F32)
            _mm512_storeu_ps(out + V * i, v);
        else
            _mm256_storeu_si256((__m256i *)((fi_u16 *)dst + V * i), FI_N(half16)(dtype, v, 0));
        off += __builtin_popcount((unsigned)tm[i]);
    }
}

static void FI_N(run_truncnormal_f32)(const fi_params *p, fi_u64 g, int count, float *out)
{
    FI_N(run_truncnormal)(p, g, count, FI_DT_F32, out);
}

static void FI_N(run_truncnormal_half)(const fi_params *p, fi_u64 g, int count, int dtype,
                                       fi_u16 *o)
{
    FI_N(run_truncnormal)(p, g, count, dtype, o);
}

#elif defined(FI_ISA_AVX2)
/* fi_truncnormal_q of FI_TU vectors of 8 words: s = w - 2^31 as a signed integer,
 * converted exactly, then qb + s h in double, rounded to float */
static inline __attribute__((always_inline)) void FI_N(trunc_q8)(const __m256i *w, __m256d qb,
                                                                 __m256d h, __m256 *q)
{
    __m256d s0[FI_TU], s1[FI_TU];
    FI_TEACH {
        __m256i s = _mm256_xor_si256(w[j], _mm256_set1_epi32((int)0x80000000u));
        s0[j] = _mm256_cvtepi32_pd(_mm256_castsi256_si128(s));
        s1[j] = _mm256_cvtepi32_pd(_mm256_extracti128_si256(s, 1));
    }
    FI_TEACH {
        s0[j] = _mm256_mul_pd(s0[j], h);
        s1[j] = _mm256_mul_pd(s1[j], h);
    }
    FI_TEACH q[j] = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_add_pd(qb, s1[j])),
                                    _mm256_cvtpd_ps(_mm256_add_pd(qb, s0[j])));
}

/* fi_truncnormal_t(fi_truncnormal_p(w)) of 4 words s = w - 2^31 (signed): u = (w + 0.5)
 * 2^-32 with w + 0.5 = s + (2^31 + 0.5) exactly, p = pa + u pd, t = min(p, 1 - p); then
 * negated where p < 1/2, as on AVX-512 (*far: whether any t < tmin) */
static inline __m256d FI_N(trunc_t4)(__m128i s, __m256d pa, __m256d pd, __m256d tmin, int *far)
{
    __m256d x = _mm256_add_pd(_mm256_cvtepi32_pd(s), _mm256_set1_pd(2147483648.5));
    __m256d pp = _mm256_add_pd(pa, _mm256_mul_pd(_mm256_mul_pd(x, _mm256_set1_pd(2.3283064365386963e-10)), pd));
    __m256d t = _mm256_min_pd(pp, _mm256_sub_pd(_mm256_set1_pd(1.0), pp));
    *far |= _mm256_movemask_pd(_mm256_cmp_pd(t, tmin, _CMP_LT_OQ));
    __m256d neg = _mm256_cmp_pd(pp, _mm256_set1_pd(0.5), _CMP_LT_OQ);
    return _mm256_xor_pd(t, _mm256_and_pd(neg, _mm256_set1_pd(-0.0)));
}

/* fi_truncnormal_central_f32 of FI_TU vectors q of 8 lanes, clamped into [lo, hi]
 * (fi_clampf), into v */
static inline __attribute__((always_inline)) void FI_N(trunc_central8)(
    const __m256 *q, __m256 loc, __m256 scale, __m256 lo, __m256 hi, __m256 *v)
{
    __m256 r[FI_TU], n[FI_TU], d[FI_TU];
    FI_TEACH r[j] = _mm256_sub_ps(_mm256_set1_ps(FI_PPND7_R), _mm256_mul_ps(q[j], q[j]));
    FI_TEACH {
        n[j] = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(FI_PPND7_A3), r[j]),
                             _mm256_set1_ps(FI_PPND7_A2));
        d[j] = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(FI_PPND7_B3), r[j]),
                             _mm256_set1_ps(FI_PPND7_B2));
    }
    FI_TEACH {
        n[j] = _mm256_add_ps(_mm256_mul_ps(n[j], r[j]), _mm256_set1_ps(FI_PPND7_A1));
        d[j] = _mm256_add_ps(_mm256_mul_ps(d[j], r[j]), _mm256_set1_ps(FI_PPND7_B1));
    }
    FI_TEACH {
        n[j] = _mm256_add_ps(_mm256_mul_ps(n[j], r[j]), _mm256_set1_ps(FI_PPND7_A0));
        d[j] = _mm256_add_ps(_mm256_mul_ps(d[j], r[j]), _mm256_set1_ps(1.0f));
    }
    FI_TEACH n[j] = _mm256_div_ps(_mm256_mul_ps(q[j], n[j]), d[j]);
    FI_TEACH v[j] = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(loc, _mm256_mul_ps(scale, n[j]))));
}

/* fi_truncnormal_f32 on `count` (at most FI_RUN) consecutive groups from g, 8
 * lanes at a time, as the AVX-512 runs: the central rational for every element, written
 * out; the tail elements' words and positions compressed into short arrays (a
 * permutation from fi_trunc_pack, no branch), their t (signed as q) and values computed in
 * whole vectors (padded with copies of the last word) and stored back one by one; AS 241
 * in double only for the rare far-tail elements. */
static void FI_N(run_truncnormal_f32)(const fi_params *p, fi_u64 g, int count, float *out)
{
    enum { V = 8, GV = 4 * FI_LANES / V, MAXN = FI_RUN * 4 * FI_LANES };
    fi_u32 w[MAXN + V];
    float tf[MAXN + V], tv[MAXN + V];
    int ti[MAXN + V];
    const float loc = (float)p->a, scale = (float)p->b, lo = (float)p->lo, hi = (float)p->hi;
    const __m256d qb = _mm256_set1_pd(fi_truncnormal_qb(p)), h = _mm256_set1_pd(fi_truncnormal_h(p));
    const __m256 vloc = _mm256_set1_ps(loc), vscale = _mm256_set1_ps(scale);
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const __m256 central = _mm256_set1_ps(FI_TRUNC_CENTRAL);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256d pa = _mm256_set1_pd(p->pa), pd = _mm256_set1_pd(p->pd);
    const __m256d tmin = _mm256_set1_pd(FI_TRUNC_FLOAT_MIN);
    const int nv = count * GV;
    /* q is monotone in w: the q of words 0 and 2^32 - 1 bound every element's */
    const int all_central = fi_truncnormal_central(fi_truncnormal_q(0u, p)) &&
                            fi_truncnormal_central(fi_truncnormal_q(0xffffffffu, p));
    int n = 0;
    for (int k = 0; k < count; ++k)
        FI_N(philox_lanes)(FI_LANES * (g + (fi_u64)k), p, w + 4 * FI_LANES * k);
    for (int i = 0; i < nv; i += FI_TU) { /* nv: a multiple of GV, itself of FI_TU */
        __m256i wv[FI_TU];
        __m256 q[FI_TU], v[FI_TU];
        FI_TEACH wv[j] = _mm256_loadu_si256((const __m256i *)(w + V * (i + j)));
        FI_N(trunc_q8)(wv, qb, h, q);
        FI_N(trunc_central8)(q, vloc, vscale, vlo, vhi, v);
        FI_TEACH _mm256_storeu_ps(out + V * (i + j), v[j]);
        if (all_central) continue; /* the same every time: GCC takes it out of the loop */
        FI_TEACH {
            unsigned m = (unsigned)_mm256_movemask_ps(
                _mm256_cmp_ps(_mm256_and_ps(q[j], absmask), central, _CMP_NLE_UQ));
            __m256i perm = _mm256_cvtepu8_epi32(
                _mm_loadl_epi64((const __m128i *)(fi_trunc_pack + m)));
            /* in place: n <= V (i + j), so the stores stay at or behind vector i + j, loaded */
            _mm256_storeu_si256((__m256i *)(w + n), _mm256_permutevar8x32_epi32(wv[j], perm));
            _mm256_storeu_si256((__m256i *)(ti + n),
                                _mm256_add_epi32(perm, _mm256_set1_epi32(V * (i + j))));
            n += __builtin_popcount(m);
        }
    }
    if (n == 0) return;
    int np = (n + V - 1) & -V, far = 0;
    _mm256_storeu_si256((__m256i *)(w + n), _mm256_set1_epi32((int)w[n - 1]));
    for (int c = 0; c < np; c += V) { /* tf: t signed as q */
        __m256i s = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + c)),
                                     _mm256_set1_epi32((int)0x80000000u));
        __m256d t0 = FI_N(trunc_t4)(_mm256_castsi256_si128(s), pa, pd, tmin, &far);
        __m256d t1 = FI_N(trunc_t4)(_mm256_extracti128_si256(s, 1), pa, pd, tmin, &far);
        _mm256_storeu_ps(tf + c, _mm256_set_m128(_mm256_cvtpd_ps(t1), _mm256_cvtpd_ps(t0)));
    }
    FI_N(trunc_tail)(tf, np, loc, scale, lo, hi, tv);
    if (far)
        for (int k = 0; k < n; ++k) {
            double pp = fi_truncnormal_p(w[k], p);
            if (fi_truncnormal_t(pp) < FI_TRUNC_FLOAT_MIN)
                tv[k] = fi_clampf(fi_truncnormal_far_f32(pp, p), lo, hi);
        }
    for (int k = 0; k < n; ++k) out[ti[k]] = tv[k];
}

/* run_truncnormal_f32 of a float16/bfloat16 output: the floats of the run, then each
 * group converted (to16) */
static void FI_N(run_truncnormal_half)(const fi_params *p, fi_u64 g, int count, int dtype,
                                       fi_u16 *o)
{
    float f[FI_RUN * 4 * FI_LANES];
    FI_N(run_truncnormal_f32)(p, g, count, f);
    for (int k = 0; k < count; ++k)
        FI_N(to16)(dtype, f + 4 * FI_LANES * k, o + 4 * FI_LANES * k);
}
#endif
#undef FI_TEACH
#undef FI_TU
#if defined(FI_ISA_AVX512) || defined(FI_ISA_AVX2)
static void FI_N(grp_truncnormal_f32)(const fi_params *p, fi_u64 g, void *dst)
{
    FI_N(run_truncnormal_f32)(p, g, 1, (float *)dst);
}
#else /* the baseline: one group at a time */

/* Indices i (ascending) of the elements with !fi_truncnormal_central(q[i]) among the
 * 4 FI_LANES of a group, into idx; returns how many */
static inline int FI_N(tail_index)(const float *q, int *idx)
{
    int n = 0;
    for (int i = 0; i < 4 * FI_LANES; ++i) {
        idx[n] = i;
        n += !fi_truncnormal_central(q[i]);
    }
    return n;
}

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
