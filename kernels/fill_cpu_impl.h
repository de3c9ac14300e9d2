/* fill_cpu_impl.h - CPU fill loops, compiled once per instruction set by fill_cpu.c.
 *
 * Work is done in groups of FI_LANES (32) Philox blocks: 128 elements of 32-bit working
 * precision or 64 of 64-bit.  The blocks are computed as SIMD lanes (two AVX-512 or four
 * AVX2 register sets, or a scalar loop); the transforms of fi_dist.h then run lane-wise
 * and GCC vectorizes them (the AVX-512 and AVX2 normal is written out: Box-Muller
 * straight from the Philox registers).  FI_N(name) gives each instruction set its own symbols.
 * fill_cpu_trunc.h (the 32-bit truncated normal) and fill_cpu_lowp.h (the 16-bit
 * uniform) are parts of this file, included in place.
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

/* The normal elements of group g: as float into out (dtype FI_DT_F32), else as 16-bit
 * bits into o (out then scratch space for the group's floats, unused on AVX-512 and AVX2). */
#if defined(FI_ISA_AVX512)
/* fi_boxmuller_f32 on the FI_LANES / 8 sets of a group at once (16 word pairs each), every
 * rounding as the scalar code's.  Each step runs over all sets before the next, so the
 * long chains (a division, a square root, the polynomials) of the sets overlap. */
#define FI_SETS (FI_LANES / 8)
#define FI_EACH for (int j = 0; j < FI_SETS; ++j)
#define FI_PS(x) _mm512_set1_ps(x)
#define FI_EPI(x) _mm512_set1_epi32(x)

/* fi_radius_f32 of the words wa: sqrt(-2 fi_logf(fi_u01f_oc32(wa))).  x = m 2^-k (k = 32
 * below 2^24, else 24) is exact, so x and the float m share their significand, and
 * fi_logf's e and m (halved above FI_SQRT2_F, e then one more) come from the bits of the
 * float m: with v = bits - OFF, OFF the bits of FI_SQRT2_F less 2^23 - 1, (v >> 23) - k
 * (arithmetic) is e, the exponent of x plus one exactly when the significand exceeds
 * FI_SQRT2_F's, and (v & (2^23 - 1)) + OFF are the bits of m, the significand, halved
 * then. */
static inline __attribute__((always_inline)) void FI_N(radius)(const __m512i *wa, __m512 *r)
{
    const __m512i off = FI_EPI(0x3fb504f3 - 0x7fffff); /* 0x3fb504f3: FI_SQRT2_F */
    __m512i e[FI_SETS];
    __m512 s[FI_SETS], s2[FI_SETS], p[FI_SETS], m[FI_SETS];
    FI_EACH {
        __mmask16 small = _mm512_cmplt_epu32_mask(wa[j], FI_EPI(0x1000000));
        __m512i k = _mm512_add_epi32(_mm512_mask_srli_epi32(wa[j], (__mmask16)~small, wa[j], 8),
                                     FI_EPI(1));
        __m512i v = _mm512_sub_epi32(_mm512_castps_si512(_mm512_cvtepi32_ps(k)),
                                     _mm512_add_epi32(off, FI_EPI(24 << 23)));
        e[j] = _mm512_srai_epi32(v, 23);
        e[j] = _mm512_mask_sub_epi32(e[j], small, e[j], FI_EPI(8));
        m[j] = _mm512_castsi512_ps(_mm512_add_epi32(_mm512_and_si512(v, FI_EPI(0x7fffff)), off));
    }
    FI_EACH s[j] = _mm512_div_ps(_mm512_sub_ps(m[j], FI_PS(1.0f)),
                                 _mm512_add_ps(m[j], FI_PS(1.0f)));
    FI_EACH s2[j] = _mm512_mul_ps(s[j], s[j]);
    FI_EACH p[j] = _mm512_add_ps(_mm512_mul_ps(FI_PS(1.0f / 9.0f), s2[j]), FI_PS(1.0f / 7.0f));
    FI_EACH p[j] = _mm512_add_ps(_mm512_mul_ps(p[j], s2[j]), FI_PS(1.0f / 5.0f));
    FI_EACH p[j] = _mm512_add_ps(_mm512_mul_ps(p[j], s2[j]), FI_PS(1.0f / 3.0f));
    FI_EACH {
        __m512 s_2 = _mm512_add_ps(s[j], s[j]);
        __m512 lm = _mm512_add_ps(s_2, _mm512_mul_ps(s_2, _mm512_mul_ps(s2[j], p[j])));
        __m512 ef = _mm512_cvtepi32_ps(e[j]);
        __m512 lg = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(ef, FI_PS(FI_LN2_LO_F)), lm),
                                  _mm512_mul_ps(ef, FI_PS(FI_LN2_HI_F)));
        r[j] = _mm512_sqrt_ps(_mm512_mul_ps(FI_PS(-2.0f), lg));
    }
}

/* fi_cossin_f32 of the words wb, cos and sin of their angle: t from the fraction (bits
 * 29 .. 8 of wb as a signed number, below zero in odd octants: its absolute value is f,
 * there 2^21 - f), fi_sincos_pio4f, then FI_OCTANT_RECONSTRUCT from bits of the octant
 * q = wb >> 29: the cosine and sine swap for q in {1, 2, 5, 6} (bit 30 of wb + 2^29), the
 * cosine is negative for q in {2, .., 5} (bit 31 of wb + 2^30), the sine for q in
 * {4, .., 7} (bit 31 of wb): the sign bits of the negations the macro applies. */
static inline __attribute__((always_inline)) void FI_N(cossin)(const __m512i *wb, __m512 *c,
                                                               __m512 *sn)
{
    const __m512i sign = FI_EPI((int)0x80000000u);
    __m512 t[FI_SETS], t2[FI_SETS], ps[FI_SETS], pc[FI_SETS];
    FI_EACH {
        __m512i f = _mm512_abs_epi32(_mm512_srai_epi32(_mm512_slli_epi32(wb[j], 2), 10));
        t[j] = _mm512_mul_ps(_mm512_cvtepi32_ps(f), FI_PS(0.785398163397448310f / 2097152.0f));
    }
    FI_EACH t2[j] = _mm512_mul_ps(t[j], t[j]);
    FI_EACH {
        ps[j] = _mm512_add_ps(_mm512_mul_ps(FI_PS(-1.0f / 39916800.0f), t2[j]),
                              FI_PS(1.0f / 362880.0f));
        pc[j] = _mm512_sub_ps(_mm512_mul_ps(FI_PS(1.0f / 479001600.0f), t2[j]),
                              FI_PS(1.0f / 3628800.0f));
    }
    FI_EACH {
        ps[j] = _mm512_sub_ps(_mm512_mul_ps(ps[j], t2[j]), FI_PS(1.0f / 5040.0f));
        pc[j] = _mm512_add_ps(_mm512_mul_ps(pc[j], t2[j]), FI_PS(1.0f / 40320.0f));
    }
    FI_EACH {
        ps[j] = _mm512_add_ps(_mm512_mul_ps(ps[j], t2[j]), FI_PS(1.0f / 120.0f));
        pc[j] = _mm512_sub_ps(_mm512_mul_ps(pc[j], t2[j]), FI_PS(1.0f / 720.0f));
    }
    FI_EACH {
        ps[j] = _mm512_sub_ps(_mm512_mul_ps(ps[j], t2[j]), FI_PS(1.0f / 6.0f));
        pc[j] = _mm512_add_ps(_mm512_mul_ps(pc[j], t2[j]), FI_PS(1.0f / 24.0f));
    }
    FI_EACH {
        __m512 st = _mm512_add_ps(t[j], _mm512_mul_ps(t[j], _mm512_mul_ps(t2[j], ps[j])));
        __m512 ct = _mm512_add_ps(_mm512_sub_ps(FI_PS(1.0f), _mm512_mul_ps(FI_PS(0.5f), t2[j])),
                                  _mm512_mul_ps(_mm512_mul_ps(t2[j], t2[j]), pc[j]));
        __mmask16 swap = _mm512_test_epi32_mask(_mm512_add_epi32(wb[j], FI_EPI(1 << 29)),
                                                FI_EPI(1 << 30));
        __m512i cneg = _mm512_add_epi32(wb[j], FI_EPI(1 << 30));
        /* 0x78: x ^ (y & z), the sign bit of y flips x */
        c[j] = _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
            _mm512_castps_si512(_mm512_mask_blend_ps(swap, ct, st)), cneg, sign, 0x78));
        sn[j] = _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
            _mm512_castps_si512(_mm512_mask_blend_ps(swap, st, ct)), wb[j], sign, 0x78));
    }
}

/* The word pairs straight from the Philox registers (philox_regs): in each 128-bit lane k
 * of set h, the pairs (w0, w1) and (w2, w3) of block 8 h + k, then those of block
 * 8 h + k + 4, so unpacking the cosine and sine values interleaves them in element order.
 * 16-bit outputs are converted from the registers, vcvtneps2bf16 unchecked when no value
 * of the group is subnormal. */
static inline __attribute__((always_inline)) void FI_N(normal_grp)(const fi_params *p,
                                                                   fi_u64 g, int dtype,
                                                                   float *out, fi_u16 *o)
{
    const __m512i pick = _mm512_set_epi32(30, 14, 22, 6, 28, 12, 20, 4, 26, 10, 18, 2, 24, 8, 16,
                                          0);
    const __m512 loc = FI_PS((float)p->a), scale = FI_PS((float)p->b);
    __m512i a[FI_SETS], b[FI_SETS], c[FI_SETS], d[FI_SETS];
    __m512 r[FI_SETS], cv[FI_SETS], sv[FI_SETS];
    FI_N(philox_regs)(FI_LANES * g, p, a, b, c, d);
    FI_EACH {
        a[j] = _mm512_permutex2var_epi32(a[j], pick, c[j]); /* radius words */
        b[j] = _mm512_permutex2var_epi32(b[j], pick, d[j]); /* angle words */
    }
    FI_N(radius)(a, r);
    FI_N(cossin)(b, cv, sv);
    __m512 v[2 * FI_SETS];
    __mmask16 sub = 0;
    FI_EACH {
        __m512 z0 = _mm512_add_ps(loc, _mm512_mul_ps(scale, _mm512_mul_ps(r[j], cv[j])));
        __m512 z1 = _mm512_add_ps(loc, _mm512_mul_ps(scale, _mm512_mul_ps(r[j], sv[j])));
        v[2 * j] = _mm512_unpacklo_ps(z0, z1);
        v[2 * j + 1] = _mm512_unpackhi_ps(z0, z1);
    }
    if (dtype == FI_DT_F32) {
        for (int i = 0; i < 2 * FI_SETS; ++i) _mm512_storeu_ps(out + 16 * i, v[i]);
        return;
    }
    if (dtype == FI_DT_BF16) /* a subnormal value anywhere: half16 checks each vector */
        for (int i = 0; i < 2 * FI_SETS; ++i) sub |= _mm512_fpclass_ps_mask(v[i], 0x20);
    for (int i = 0; i < 2 * FI_SETS; ++i)
        _mm256_storeu_si256((__m256i *)(o + 16 * i), FI_N(half16)(dtype, v[i], !sub));
}
#undef FI_EPI
#undef FI_PS
#undef FI_EACH
#undef FI_SETS

#elif defined(FI_ISA_AVX2)
/* The same on AVX2, the eight sets of a group at once (8 lanes each): though 16 registers
 * do not hold them (GCC spills some), the overlap of their chains is worth more, in L1
 * 0.52, 0.66, 0.82, 0.88 G elements/s for 1, 2, 4, 8 sets at a time (two groups: 0.74). */
#define FI_SETS (FI_LANES / 4)
#define FI_EACH for (int j = 0; j < FI_SETS; ++j)
#define FI_PS(x) _mm256_set1_ps(x)
#define FI_EPI(x) _mm256_set1_epi32(x)

/* fi_radius_f32 of the words wa as the AVX-512 radius: small (wa < 2^24) from wa >> 24,
 * and the scale 2^-32 there (8 more than 2^-24) folded into v, so that e = v >> 23
 * (arithmetic). */
static inline __attribute__((always_inline)) void FI_N(radius)(const __m256i *wa, __m256 *r)
{
    const __m256i off = FI_EPI(0x3fb504f3 - 0x7fffff); /* 0x3fb504f3: FI_SQRT2_F */
    __m256i e[FI_SETS];
    __m256 s[FI_SETS], s2[FI_SETS], p[FI_SETS], m[FI_SETS];
    FI_EACH {
        __m256i small = _mm256_cmpeq_epi32(_mm256_srli_epi32(wa[j], 24), _mm256_setzero_si256());
        __m256i k = _mm256_blendv_epi8(_mm256_srli_epi32(wa[j], 8), wa[j], small);
        k = _mm256_add_epi32(k, FI_EPI(1));
        __m256i v = _mm256_sub_epi32(
            _mm256_castps_si256(_mm256_cvtepi32_ps(k)),
            _mm256_add_epi32(FI_EPI(0x3fb504f3 - 0x7fffff + (24 << 23)),
                             _mm256_and_si256(small, FI_EPI(8 << 23))));
        e[j] = _mm256_srai_epi32(v, 23);
        m[j] = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_and_si256(v, FI_EPI(0x7fffff)), off));
    }
    FI_EACH s[j] = _mm256_div_ps(_mm256_sub_ps(m[j], FI_PS(1.0f)),
                                 _mm256_add_ps(m[j], FI_PS(1.0f)));
    FI_EACH s2[j] = _mm256_mul_ps(s[j], s[j]);
    FI_EACH p[j] = _mm256_add_ps(_mm256_mul_ps(FI_PS(1.0f / 9.0f), s2[j]), FI_PS(1.0f / 7.0f));
    FI_EACH p[j] = _mm256_add_ps(_mm256_mul_ps(p[j], s2[j]), FI_PS(1.0f / 5.0f));
    FI_EACH p[j] = _mm256_add_ps(_mm256_mul_ps(p[j], s2[j]), FI_PS(1.0f / 3.0f));
    FI_EACH {
        __m256 s_2 = _mm256_add_ps(s[j], s[j]);
        __m256 lm = _mm256_add_ps(s_2, _mm256_mul_ps(s_2, _mm256_mul_ps(s2[j], p[j])));
        __m256 ef = _mm256_cvtepi32_ps(e[j]);
        __m256 lg = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(ef, FI_PS(FI_LN2_LO_F)), lm),
                                  _mm256_mul_ps(ef, FI_PS(FI_LN2_HI_F)));
        r[j] = _mm256_sqrt_ps(_mm256_mul_ps(FI_PS(-2.0f), lg));
    }
}

/* fi_cossin_f32 of the words wb as the AVX-512 cossin: the swap's bit shifted into the
 * sign bit, which blendv reads. */
static inline __attribute__((always_inline)) void FI_N(cossin)(const __m256i *wb, __m256 *c,
                                                               __m256 *sn)
{
    const __m256i sign = FI_EPI((int)0x80000000u);
    __m256 t[FI_SETS], t2[FI_SETS], ps[FI_SETS], pc[FI_SETS];
    FI_EACH {
        __m256i f = _mm256_abs_epi32(_mm256_srai_epi32(_mm256_slli_epi32(wb[j], 2), 10));
        t[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(f), FI_PS(0.785398163397448310f / 2097152.0f));
    }
    FI_EACH t2[j] = _mm256_mul_ps(t[j], t[j]);
    FI_EACH {
        ps[j] = _mm256_add_ps(_mm256_mul_ps(FI_PS(-1.0f / 39916800.0f), t2[j]),
                              FI_PS(1.0f / 362880.0f));
        pc[j] = _mm256_sub_ps(_mm256_mul_ps(FI_PS(1.0f / 479001600.0f), t2[j]),
                              FI_PS(1.0f / 3628800.0f));
    }
    FI_EACH {
        ps[j] = _mm256_sub_ps(_mm256_mul_ps(ps[j], t2[j]), FI_PS(1.0f / 5040.0f));
        pc[j] = _mm256_add_ps(_mm256_mul_ps(pc[j], t2[j]), FI_PS(1.0f / 40320.0f));
    }
    FI_EACH {
        ps[j] = _mm256_add_ps(_mm256_mul_ps(ps[j], t2[j]), FI_PS(1.0f / 120.0f));
        pc[j] = _mm256_sub_ps(_mm256_mul_ps(pc[j], t2[j]), FI_PS(1.0f / 720.0f));
    }
    FI_EACH {
        ps[j] = _mm256_sub_ps(_mm256_mul_ps(ps[j], t2[j]), FI_PS(1.0f / 6.0f));
        pc[j] = _mm256_add_ps(_mm256_mul_ps(pc[j], t2[j]), FI_PS(1.0f / 24.0f));
    }
    FI_EACH {
        __m256 st = _mm256_add_ps(t[j], _mm256_mul_ps(t[j], _mm256_mul_ps(t2[j], ps[j])));
        __m256 ct = _mm256_add_ps(_mm256_sub_ps(FI_PS(1.0f), _mm256_mul_ps(FI_PS(0.5f), t2[j])),
                                  _mm256_mul_ps(_mm256_mul_ps(t2[j], t2[j]), pc[j]));
        __m256 swap = _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_add_epi32(wb[j], FI_EPI(1 << 29)), 1));
        __m256i cneg = _mm256_and_si256(_mm256_add_epi32(wb[j], FI_EPI(1 << 30)), sign);
        c[j] = _mm256_xor_ps(_mm256_blendv_ps(ct, st, swap), _mm256_castsi256_ps(cneg));
        sn[j] = _mm256_xor_ps(_mm256_blendv_ps(st, ct, swap),
                              _mm256_castsi256_ps(_mm256_and_si256(wb[j], sign)));
    }
}

/* The word pairs straight from the Philox registers (philox_regs): set h's radius words
 * w0, w2 (and angle words w1, w3) of block 4 h + i in the 64-bit lane philox_regs gives it,
 * so unpacking the cosine and sine values gives blocks 4 h, 4 h + 1, then 4 h + 2, 4 h + 3
 * in element order.  16-bit outputs are converted from the registers. */
static inline __attribute__((always_inline)) void FI_N(normal_grp)(const fi_params *p,
                                                                   fi_u64 g, int dtype,
                                                                   float *out, fi_u16 *o)
{
    const __m256 loc = FI_PS((float)p->a), scale = FI_PS((float)p->b);
    __m256i a[FI_SETS], b[FI_SETS], c[FI_SETS], d[FI_SETS];
    __m256 r[FI_SETS], cv[FI_SETS], sv[FI_SETS];
    FI_N(philox_regs)(FI_LANES * g, p, FI_SETS, a, b, c, d);
    FI_EACH {
        a[j] = _mm256_blend_epi32(a[j], _mm256_slli_epi64(c[j], 32), 0xAA); /* radius words */
        b[j] = _mm256_blend_epi32(b[j], _mm256_slli_epi64(d[j], 32), 0xAA); /* angle words */
    }
    FI_N(radius)(a, r);
    FI_N(cossin)(b, cv, sv);
    FI_EACH {
        __m256 z0 = _mm256_add_ps(loc, _mm256_mul_ps(scale, _mm256_mul_ps(r[j], cv[j])));
        __m256 z1 = _mm256_add_ps(loc, _mm256_mul_ps(scale, _mm256_mul_ps(r[j], sv[j])));
        __m256 v0 = _mm256_unpacklo_ps(z0, z1), v1 = _mm256_unpackhi_ps(z0, z1);
        if (dtype == FI_DT_F32) {
            _mm256_storeu_ps(out + 16 * j, v0);
            _mm256_storeu_ps(out + 16 * j + 8, v1);
        } else if (dtype == FI_DT_F16) {
            _mm_storeu_si128((__m128i *)(o + 16 * j),
                             _mm256_cvtps_ph(v0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            _mm_storeu_si128((__m128i *)(o + 16 * j + 8),
                             _mm256_cvtps_ph(v1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        } else {
            _mm256_storeu_si256((__m256i *)(o + 16 * j), FI_N(bf16_pack)(v0, v1));
        }
    }
}
#undef FI_EPI
#undef FI_PS
#undef FI_EACH
#undef FI_SETS
#endif

#if defined(FI_ISA_AVX512) || defined(FI_ISA_AVX2)
/* normal_grp on `count` (at most FI_RUN) consecutive groups from g into dst (float32, or
 * float16/bfloat16 bits): one call sets the constants up for all. */
static void FI_N(run_normal)(const fi_params *p, fi_u64 g, int count, int dtype, void *dst)
{
    for (int k = 0; k < count; ++k)
        FI_N(normal_grp)(p, g + (fi_u64)k, dtype, (float *)dst + 4 * FI_LANES * k,
                         (fi_u16 *)dst + 4 * FI_LANES * k);
}
#else
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
    for (int m = 0; m < 2 * FI_LANES; ++m) {
        out[2 * m] = z[0][m];
        out[2 * m + 1] = z[1][m];
    }
    if (dtype != FI_DT_F32) FI_N(to16)(dtype, out, o);
}
#endif

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

/* The 16-bit elements of group g */
static void FI_N(grp_half)(int dist, const fi_lowp *lp, int dtype, const fi_params *p,
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
