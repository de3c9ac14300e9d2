/* fi_dist.h - the stream contract (STREAM_VERSION 2): which Philox words become which
 * element, and the transforms that turn words into values.  Shared verbatim by the CPU
 * fill loops (fill_cpu.c) and the CUDA kernels; see kernels/README.md.
 *
 * Block b of a stream is philox4x32_10(counter = (b lo, b hi, stream lo, stream hi),
 * key = (seed lo, seed hi)), four 32-bit words w0..w3.  Element i of a tensor in
 * logical row-major order takes its words from block i / 4 (32-bit working precision)
 * or block i / 2 (64-bit), so it depends on (seed, stream, i) only.
 */
#ifndef FI_DIST_H
#define FI_DIST_H
#include "fi_config.h"
#include "philox4x32.h"
#include "fi_math.h"

#define FI_STREAM_VERSION 2

/* Parameters of one fill, identical on host and device. */
typedef struct fi_params {
    fi_u64 seed;    /* Philox key */
    fi_u64 stream;  /* counter words 2 and 3 */
    double a, b;    /* uniform: low, high - low; normal and truncated: loc, scale (signed) */
    double lo, hi;  /* clamp in working precision: uniform, truncated normal */
    double pa, pd;  /* truncated normal: Phi(alpha), Phi(beta) - Phi(alpha) */
} fi_params;

FI_HD void fi_block(fi_u64 block, const fi_params *p, fi_u32 *w0, fi_u32 *w1,
                    fi_u32 *w2, fi_u32 *w3)
{
    fi_u32 c0 = (fi_u32)block, c1 = (fi_u32)(block >> 32);
    fi_u32 c2 = (fi_u32)p->stream, c3 = (fi_u32)(p->stream >> 32);
    fi_philox4x32_10(&c0, &c1, &c2, &c3, (fi_u32)p->seed, (fi_u32)(p->seed >> 32));
    *w0 = c0; *w1 = c1; *w2 = c2; *w3 = c3;
}

/* ---- word -> uniform, exact integer-to-float conversions ---- */

/* [0, 1) on a 2^-24 grid */
FI_HD float fi_u01f(fi_u32 w) { return (float)(w >> 8) * 5.9604644775390625e-08f; }
/* (0, 1] from a whole word, every word with the same weight: ((w >> 8) + 1) 2^-24 for
 * w >= 2^24 and (w + 1) 2^-32 below, where the 2^-24 grid would lump 256 words into one
 * value; so the smallest value is 2^-32 (the normal's radius reaches sqrt(64 ln 2)). */
FI_HD float fi_u01f_oc32(fi_u32 w)
{
    int small = w < 0x1000000u;
    fi_u32 m = small ? w + 1u : (w >> 8) + 1u; /* at most 2^24: exact in float */
    float s = small ? 2.3283064365386963e-10f : 5.9604644775390625e-08f;
    return (float)(int)m * s;
}
/* [0, 1) on a 2^-53 grid, from two words (first word high) */
FI_HD double fi_u01d(fi_u32 hi, fi_u32 lo)
{
    return (double)((((fi_u64)hi << 32) | lo) >> 11) * 1.1102230246251565e-16;
}
FI_HD double fi_u01d_oc(fi_u32 hi, fi_u32 lo)
{
    return (double)(((((fi_u64)hi << 32) | lo) >> 11) + 1u) * 1.1102230246251565e-16;
}

/* ---- uniform ---- */

FI_HD float fi_uniform_f32(fi_u32 w, float low, float span, float lo, float hi)
{
    float v = low + span * fi_u01f(w);
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* A span high - low beyond float's range (bounds of opposite sign near +-FLT_MAX) would
 * be inf in float: such fills form the value in double, then round it (the bounds
 * themselves are float values, so the result is finite).  Every other span keeps the
 * float formula above. */
#define FI_FLT_SPAN_MAX 3.4028235677973366e38 /* FLT_MAX + half an ulp: rounds to inf */
FI_HD int fi_uniform_wide(const fi_params *p) { return p->b >= FI_FLT_SPAN_MAX; }

FI_HD float fi_uniform_f32_wide(fi_u32 w, const fi_params *p, float lo, float hi)
{
    float v = (float)(p->a + p->b * (double)fi_u01f(w));
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* float16 / bfloat16: the value of the 16-bit dtype nearest to x = low + span u, with
 * u = (2k + 1) 2^-25 for k = w >> 8 (the midpoint of input cell k) and x formed in
 * double (the product and the sum each rounded once), clamped into [lo, hi] (the dtype's
 * values in [low, high)).  x is rounded to float by round-to-odd, after which the caller's
 * nearest-even rounding to the 16-bit dtype (at least 13 bits shorter) is that of x
 * itself: a value of [lo, hi] receives the inputs whose x lies in its rounding cell,
 * i.e. the probability of the real-valued uniform rounding to it, to within 2^-24; the
 * end values also take the cells beyond them (never high). */
FI_HD float fi_f64_to_f32_odd(double x)
{
    float f = (float)x;                      /* nearest */
    double fd = (double)f;
    fi_u32 u = FI_F2U(f);
    double ax = x < 0.0 ? -x : x, af = fd < 0.0 ? -fd : fd;
    u -= (fi_u32)(af > ax);                  /* rounded away from zero: step back */
    u |= (fi_u32)(fd != x);                  /* inexact: the odd neighbour */
    return FI_U2F(u);
}

FI_HD float fi_uniform_lowp(fi_u32 w, const fi_params *p, float lo, float hi)
{
    double k2 = (double)((w >> 7) | 1u);                            /* 2k + 1 */
    float v = fi_f64_to_f32_odd(p->a + (p->b * 2.98023223876953125e-08) * k2); /* 2^-25 */
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

FI_HD double fi_uniform_f64(fi_u32 whi, fi_u32 wlo, double low, double span, double lo,
                            double hi)
{
    double v = low + span * fi_u01d(whi, wlo);
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* ---- normal: Box-Muller on a word pair ----
 * radius r = sqrt(-2 log u1), u1 in (0, 1] from the whole first word; the angle 2 pi u2 is
 * reduced exactly: its top 3 bits are the octant, the rest the fraction within it. */
FI_HD float fi_radius_f32(fi_u32 wa) { return FI_SQRTF(-2.0f * fi_logf(fi_u01f_oc32(wa))); }

FI_HD void fi_cossin_f32(fi_u32 wb, float *c, float *s)
{
    fi_u32 q = wb >> 29;
    fi_u32 f = (wb >> 8) & 0x1fffffu;          /* 21 bits */
    f = (q & 1u) ? 0x200000u - f : f;          /* reflect odd octants: t in [0, pi/4] */
    float t = (float)f * (0.785398163397448310f / 2097152.0f); /* pi/4 2^-21 */
    float st, ct;
    fi_sincos_pio4f(t, &st, &ct);
    FI_OCTANT_RECONSTRUCT(float, q, st, ct, *c, *s);
}

FI_HD void fi_boxmuller_f32(fi_u32 wa, fi_u32 wb, float *z0, float *z1)
{
    float r = fi_radius_f32(wa), c, s;
    fi_cossin_f32(wb, &c, &s);
    *z0 = r * c;
    *z1 = r * s;
}

FI_HD void fi_boxmuller_f64(fi_u32 w0, fi_u32 w1, fi_u32 w2, fi_u32 w3, double *z0,
                            double *z1)
{
    double r = FI_SQRT(-2.0 * fi_log(fi_u01d_oc(w0, w1)));
    fi_u64 x = ((((fi_u64)w2) << 32) | w3) >> 11; /* 53 bits */
    fi_u32 q = (fi_u32)(x >> 50);
    fi_u64 f = x & 0x3ffffffffffffull;         /* 50 bits */
    f = (q & 1u) ? 0x4000000000000ull - f : f;
    double t = (double)f * (0.78539816339744830962 / 1125899906842624.0); /* pi/4 2^-50 */
    double st, ct, c, s;
    fi_sincos_pio4(t, &st, &ct);
    FI_OCTANT_RECONSTRUCT(double, q, st, ct, c, s);
    *z0 = r * c;
    *z1 = r * s;
}

/* ---- truncated normal: inverse CDF on [Phi(alpha), Phi(beta)], one pass ----
 * u in (0, 1) open; p = Phi(alpha) + u (Phi(beta) - Phi(alpha)) in double; the caller
 * flips an interval in the upper half to the lower one (sign of the scale), where p keeps
 * its relative precision.  32-bit path, q = p - 0.5 in float (fi_truncnormal_q),
 * t = min(p, 1 - p):
 * - central, |q| <= 0.425: z = fi_ndtri_central_f32(q) in float;
 * - tail, t >= 2^-36: z = -+fi_ndtri_tail_f32((float)t) in float (sign of q);
 * - far tail, t < 2^-36 (|z| > 6.65): AS 241 in double (fi_ndtri), value rounded to float.
 * The float regions give loc + scale z in float. */
#define FI_TRUNC_CENTRAL 0.425f
#define FI_TRUNC_FLOAT_MIN 1.4551915228366852e-11 /* 2^-36 */

FI_HD double fi_truncnormal_p(fi_u32 w, const fi_params *p)
{
    double u = ((double)w + 0.5) * 2.3283064365386963e-10; /* 2^-32 */
    return p->pa + u * p->pd;
}

/* q = p - 0.5 for the central region, one multiply and one add in double:
 * q = (float)(qb + s h), s = w - 2^31 as a signed integer (converted exactly),
 * h = pd 2^-32, qb = (pa - 0.5) + (2^31 + 0.5) h. */
FI_HD double fi_truncnormal_h(const fi_params *p) { return p->pd * 2.3283064365386963e-10; }
FI_HD double fi_truncnormal_qb(const fi_params *p)
{
    return (p->pa - 0.5) + 2147483648.5 * fi_truncnormal_h(p);
}

FI_HD float fi_truncnormal_q(fi_u32 w, const fi_params *p)
{
    return (float)(fi_truncnormal_qb(p) + (double)(int)(w ^ 0x80000000u) * fi_truncnormal_h(p));
}

/* 1 when the element is in the central region */
FI_HD int fi_truncnormal_central(float q)
{
    return FI_U2F(FI_F2U(q) & 0x7fffffffu) <= FI_TRUNC_CENTRAL; /* |q|, without a branch */
}

FI_HD double fi_truncnormal_t(double pp)
{
    double upper = 1.0 - pp;
    return pp < upper ? pp : upper;
}

FI_HD float fi_truncnormal_central_f32(float q, float loc, float scale)
{
    return loc + scale * fi_ndtri_central_f32(q);
}

/* the value of the float tail from zt = fi_ndtri_tail_f32((float)t), signed as q */
FI_HD float fi_truncnormal_tail_f32(float zt, float q, float loc, float scale)
{
    return loc + scale * (q < 0.0f ? -zt : zt);
}

FI_HD float fi_truncnormal_far_f32(double pp, const fi_params *p)
{
    return (float)(p->a + p->b * fi_ndtri(pp));
}

FI_HD float fi_clampf(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

FI_HD float fi_truncnormal_f32(fi_u32 w, const fi_params *p, float lo, float hi)
{
    const float loc = (float)p->a, scale = (float)p->b;
    float q = fi_truncnormal_q(w, p), v;
    if (fi_truncnormal_central(q)) {
        v = fi_truncnormal_central_f32(q, loc, scale);
    } else {
        double pp = fi_truncnormal_p(w, p), t = fi_truncnormal_t(pp);
        v = t >= FI_TRUNC_FLOAT_MIN
                ? fi_truncnormal_tail_f32(fi_ndtri_tail_f32((float)t), q, loc, scale)
                : fi_truncnormal_far_f32(pp, p);
    }
    return fi_clampf(v, lo, hi);
}

FI_HD double fi_truncnormal_f64(fi_u32 whi, fi_u32 wlo, const fi_params *p)
{
    double u = ((double)((((fi_u64)whi << 32) | wlo) >> 11) + 0.5) * 1.1102230246251565e-16;
    double v = p->a + p->b * fi_ndtri(p->pa + u * p->pd);
    v = v < p->lo ? p->lo : v;
    return v > p->hi ? p->hi : v;
}

/* ---- the values of one block: the per-element definition every fill implements ----
 * Codes of the distribution and of the output dtype, shared by the CPU and CUDA fills. */
enum { FI_DIST_BITS = 0, FI_DIST_UNIFORM = 1, FI_DIST_NORMAL = 2, FI_DIST_TRUNCNORMAL = 3,
       FI_DIST_UNIFORM_LOWP = 4 /* uniform of a float16/bfloat16 output (fi_uniform_lowp) */ };
enum { FI_DT_U32 = 0, FI_DT_F16 = 1, FI_DT_BF16 = 2, FI_DT_F32 = 3, FI_DT_F64 = 4 };

/* 32-bit working precision: elements 4b .. 4b + 3 (float16/bfloat16 round these to
 * nearest even; their uniform is FI_DIST_UNIFORM_LOWP) */
FI_HD void fi_values_w32(int dist, fi_u64 b, const fi_params *p, float v[4])
{
    fi_u32 w[4];
    int j;
    fi_block(b, p, &w[0], &w[1], &w[2], &w[3]);
    if (dist == FI_DIST_UNIFORM_LOWP) {
        for (j = 0; j < 4; ++j) v[j] = fi_uniform_lowp(w[j], p, (float)p->lo, (float)p->hi);
    } else if (dist == FI_DIST_UNIFORM && fi_uniform_wide(p)) {
        for (j = 0; j < 4; ++j) v[j] = fi_uniform_f32_wide(w[j], p, (float)p->lo, (float)p->hi);
    } else if (dist == FI_DIST_UNIFORM) {
        for (j = 0; j < 4; ++j)
            v[j] = fi_uniform_f32(w[j], (float)p->a, (float)p->b, (float)p->lo, (float)p->hi);
    } else if (dist == FI_DIST_NORMAL) {
        const float loc = (float)p->a, scale = (float)p->b;
        float z0, z1, z2, z3;
        fi_boxmuller_f32(w[0], w[1], &z0, &z1);
        fi_boxmuller_f32(w[2], w[3], &z2, &z3);
        v[0] = loc + scale * z0;
        v[1] = loc + scale * z1;
        v[2] = loc + scale * z2;
        v[3] = loc + scale * z3;
    } else { /* FI_DIST_TRUNCNORMAL; raw bits are the words of fi_block themselves */
        for (j = 0; j < 4; ++j) v[j] = fi_truncnormal_f32(w[j], p, (float)p->lo, (float)p->hi);
    }
}

/* 64-bit working precision: elements 2b, 2b + 1 */
FI_HD void fi_values_w64(int dist, fi_u64 b, const fi_params *p, double v[2])
{
    fi_u32 w[4];
    fi_block(b, p, &w[0], &w[1], &w[2], &w[3]);
    if (dist == FI_DIST_UNIFORM) {
        v[0] = fi_uniform_f64(w[0], w[1], p->a, p->b, p->lo, p->hi);
        v[1] = fi_uniform_f64(w[2], w[3], p->a, p->b, p->lo, p->hi);
    } else if (dist == FI_DIST_NORMAL) {
        double z0, z1;
        fi_boxmuller_f64(w[0], w[1], w[2], w[3], &z0, &z1);
        v[0] = p->a + p->b * z0;
        v[1] = p->a + p->b * z1;
    } else {
        v[0] = fi_truncnormal_f64(w[0], w[1], p);
        v[1] = fi_truncnormal_f64(w[2], w[3], p);
    }
}

#endif /* FI_DIST_H */
