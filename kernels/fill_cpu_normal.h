/* fill_cpu_normal.h - the 32-bit normal of the CPU loops (fi_boxmuller_f32 of fi_dist.h on
 * the words of a group), included by fill_cpu_impl.h once per instruction set: AVX-512 and
 * AVX2 straight from the Philox registers in runs of up to FI_RUN groups (float32, and
 * float16/bfloat16 converted from the registers), the baseline one group at a time
 * through memory.  No include guard: FI_N names each copy. */

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
