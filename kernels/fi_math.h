/* fi_math.h - branch-free elementary functions for the transforms.
 *
 * Written with selects instead of branches so GCC vectorizes them and the GPU runs the
 * same arithmetic.  Only +, -, *, /, sqrt (all IEEE correctly rounded) and integer bit
 * operations are used, so a host compiled with -ffp-contract=off and a device compiled
 * with --fmad=false give the same bits.  Measured accuracy (tests/test_transforms.py):
 * fi_logf <= 2 ulp, fi_log <= 2 ulp, the sin/cos pairs <= 2 ulp on their whole domain.
 */
#ifndef FI_MATH_H
#define FI_MATH_H
#include "fi_config.h"

/* ln 2 split so that e * LN2_HI is exact for |e| < 2^10 (float) or 2^11 (double). */
#define FI_LN2_HI_F 0.693359375f
#define FI_LN2_LO_F (-2.12194440e-4f)
#define FI_LN2_HI 6.93147180369123816490e-01
#define FI_LN2_LO 1.90821492927058770002e-10
#define FI_SQRT2_F 1.41421356f
#define FI_SQRT2 1.4142135623730951

/* log(x) for normal float x > 0: x = m 2^e, m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: series to s^9. */
FI_HD float fi_logf(float x)
{
    fi_u32 bits = FI_F2U(x);
    int e = (int)((bits >> 23) & 0xffu) - 127;
    float m = FI_U2F((bits & 0x007fffffu) | 0x3f800000u);
    int big = m > FI_SQRT2_F;
    float half = m * 0.5f; /* every arm computed: selects, not branches, so GCC vectorizes */
    m = big ? half : m;
    e += big;
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float p = 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    float lm = 2.0f * s + 2.0f * s * (s2 * p);
    float ef = (float)e;
    return (ef * FI_LN2_LO_F + lm) + ef * FI_LN2_HI_F;
}

/* log(x) for double x > 0 (subnormals included): series to s^21. */
FI_HD double fi_log(double x)
{
    int sub = x < 2.2250738585072014e-308;
    double scaled = x * 18014398509481984.0; /* 2^54 */
    x = sub ? scaled : x;
    fi_u64 bits = FI_D2U(x);
    int e = (int)((bits >> 52) & 0x7ffu) - 1023 - (sub ? 54 : 0);
    double m = FI_U2D((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    int big = m > FI_SQRT2;
    double half = m * 0.5;
    m = big ? half : m;
    e += big;
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double p = 1.0 / 21.0;
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    double lm = 2.0 * s + 2.0 * s * (s2 * p);
    double ed = (double)e;
    return (ed * FI_LN2_LO + lm) + ed * FI_LN2_HI;
}

/* sin and cos of t in [0, pi/4]: Taylor series, truncation below 2^-30 (float)
 * and 2^-60 (double) relative. */
FI_HD void fi_sincos_pio4f(float t, float *s, float *c)
{
    float t2 = t * t;
    float ps = -1.0f / 39916800.0f;
    ps = ps * t2 + 1.0f / 362880.0f;
    ps = ps * t2 - 1.0f / 5040.0f;
    ps = ps * t2 + 1.0f / 120.0f;
    ps = ps * t2 - 1.0f / 6.0f;
    *s = t + t * (t2 * ps);
    float pc = 1.0f / 479001600.0f;
    pc = pc * t2 - 1.0f / 3628800.0f;
    pc = pc * t2 + 1.0f / 40320.0f;
    pc = pc * t2 - 1.0f / 720.0f;
    pc = pc * t2 + 1.0f / 24.0f;
    *c = (1.0f - 0.5f * t2) + (t2 * t2) * pc;
}

FI_HD void fi_sincos_pio4(double t, double *s, double *c)
{
    double t2 = t * t;
    double ps = 1.0 / 121645100408832000.0;   /* 1/19! */
    ps = ps * t2 - 1.0 / 355687428096000.0;    /* 1/17! */
    ps = ps * t2 + 1.0 / 1307674368000.0;      /* 1/15! */
    ps = ps * t2 - 1.0 / 6227020800.0;         /* 1/13! */
    ps = ps * t2 + 1.0 / 39916800.0;
    ps = ps * t2 - 1.0 / 362880.0;
    ps = ps * t2 + 1.0 / 5040.0;
    ps = ps * t2 - 1.0 / 120.0;               /* sign pattern: t - t^3/6 + t^5/120 ... */
    ps = ps * t2 + 1.0 / 6.0;
    *s = t - t * (t2 * ps);
    double pc = 1.0 / 2432902008176640000.0;  /* 1/20! */
    pc = pc * t2 - 1.0 / 6402373705728000.0;   /* 1/18! */
    pc = pc * t2 + 1.0 / 20922789888000.0;     /* 1/16! */
    pc = pc * t2 - 1.0 / 87178291200.0;        /* 1/14! */
    pc = pc * t2 + 1.0 / 479001600.0;
    pc = pc * t2 - 1.0 / 3628800.0;
    pc = pc * t2 + 1.0 / 40320.0;
    pc = pc * t2 - 1.0 / 720.0;
    pc = pc * t2 + 1.0 / 24.0;
    *c = (1.0 - 0.5 * t2) + (t2 * t2) * pc;
}

/* Octant reconstruction: the angle is (q + f) pi/4 with octant q in 0..7 and the
 * fraction f given exactly; t is the reduced argument in [0, pi/4] (f in even
 * octants, 1 - f in odd ones), st, ct its sine and cosine. Returns cos, sin of the
 * whole angle, exactly as the symmetries of the circle give them. */
#define FI_OCTANT_RECONSTRUCT(T, q, st, ct, cosv, sinv)                  \
    do {                                                                 \
        int odd_ = (int)((q) & 1u);                                      \
        int n_ = (int)((((q) + (fi_u32)odd_) >> 1) & 3u);                \
        T S_ = odd_ ? -(st) : (st);                                      \
        T c_ = (n_ & 1) ? S_ : (ct);                                     \
        T s_ = (n_ & 1) ? (ct) : S_;                                     \
        (cosv) = (((n_ + 1) & 2) ? -c_ : c_);                            \
        (sinv) = ((n_ & 2) ? -s_ : s_);                                  \
    } while (0)

/* Inverse of the standard normal CDF for double p in (0, 1): Wichura (1988),
 * Algorithm AS 241 (PPND16), relative accuracy about 1e-16. All three rational
 * approximations are evaluated and one is selected, then a single division. */
FI_HD double fi_ndtri(double p)
{
    double q = p - 0.5;
    double rc = 0.180625 - q * q;
    double nc = ((((((2509.0809287301226727 * rc + 33430.575583588128105) * rc
                  + 67265.770927008700853) * rc + 45921.953931549871457) * rc
                  + 13731.693765509461125) * rc + 1971.5909503065514427) * rc
                  + 133.14166789178437745) * rc + 3.387132872796366608;
    double dc = ((((((5226.495278852854561 * rc + 28729.085735721942674) * rc
                  + 39307.89580009271061) * rc + 21213.794301586595867) * rc
                  + 5394.1960214247511077) * rc + 687.1870074920579083) * rc
                  + 42.313330701600911252) * rc + 1.0;
    double upper = 1.0 - p;
    double tail = q < 0.0 ? p : upper;
    tail = tail > 0.0 ? tail : 1e-300; /* keeps the unused tail branch finite at p = 0.5 */
    double r = FI_SQRT(-fi_log(tail));
    double r1 = r - 1.6;
    double n1 = ((((((7.7454501427834140764e-4 * r1 + 0.0227238449892691845833) * r1
                  + 0.24178072517745061177) * r1 + 1.27045825245236838258) * r1
                  + 3.64784832476320460504) * r1 + 5.7694972214606914055) * r1
                  + 4.6303378461565452959) * r1 + 1.42343711074968357734;
    double d1 = ((((((1.05075007164441684324e-9 * r1 + 5.475938084995344946e-4) * r1
                  + 0.0151986665636164571966) * r1 + 0.14810397642748007459) * r1
                  + 0.68976733498510000455) * r1 + 1.6763848301838038494) * r1
                  + 2.05319162663775882187) * r1 + 1.0;
    double r2 = r - 5.0;
    double n2 = ((((((2.01033439929228813265e-7 * r2 + 2.71155556874348757815e-5) * r2
                  + 0.0012426609473880784386) * r2 + 0.026532189526576123093) * r2
                  + 0.29656057182850489123) * r2 + 1.7848265399172913358) * r2
                  + 5.4637849111641143699) * r2 + 6.6579046435011037772;
    double d2 = ((((((2.04426310338993978564e-15 * r2 + 1.4215117583164458887e-7) * r2
                  + 1.8463183175100546818e-5) * r2 + 7.868691311456132591e-4) * r2
                  + 0.0148753612908506148525) * r2 + 0.13692988092273580531) * r2
                  + 0.59983220655588793769) * r2 + 1.0;
    int central = (q < 0.0 ? -q : q) <= 0.425;
    int mid = r <= 5.0;
    double qnc = q * nc;
    double num = central ? qnc : (mid ? n1 : n2);
    double den = central ? dc : (mid ? d1 : d2);
    double z = num / den;
    return (central | (q >= 0.0)) ? z : -z;
}

/* Phi^-1 in float: Wichura's 7-digit version of AS 241 (PPND7), each region's rational
 * evaluated alone so a loop over many values vectorizes.  Central region, q = p - 0.5
 * with |q| <= 0.425: z = q A(r) / B(r), r = 0.180625 - q^2, A and B by Horner from the
 * highest coefficient (the CPU loops' vector copies read these constants too). */
#define FI_PPND7_R 0.180625f
#define FI_PPND7_A3 59.109374720f
#define FI_PPND7_A2 159.29113202f
#define FI_PPND7_A1 50.434271938f
#define FI_PPND7_A0 3.3871327179f
#define FI_PPND7_B3 67.187563600f
#define FI_PPND7_B2 78.757757664f
#define FI_PPND7_B1 17.895169469f
FI_HD float fi_ndtri_central_f32(float q)
{
    float r = FI_PPND7_R - q * q;
    float n = ((FI_PPND7_A3 * r + FI_PPND7_A2) * r + FI_PPND7_A1) * r + FI_PPND7_A0;
    float d = ((FI_PPND7_B3 * r + FI_PPND7_B2) * r + FI_PPND7_B1) * r + 1.0f;
    return q * n / d;
}

/* -Phi^-1(t) for a tail probability t in [2^-36, 0.075]: r = sqrt(-log t) - 1.6 in
 * [0, 3.4], z = C(r) / D(r). */
FI_HD float fi_ndtri_tail_f32(float t)
{
    float r = FI_SQRTF(-fi_logf(t)) - 1.6f;
    float n = ((0.17023821103f * r + 1.3067284816f) * r + 2.7568153900f) * r + 1.4234372777f;
    float d = (0.12021132975f * r + 0.73700164250f) * r + 1.0f;
    return n / d;
}

/* float -> bfloat16 bits, round to nearest even (finite and infinite inputs). */
FI_HD fi_u16 fi_f32_to_bf16(float x)
{
    fi_u32 u = FI_F2U(x);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (fi_u16)(u >> 16);
}

/* float -> IEEE binary16 bits, round to nearest even, subnormals and overflow to inf
 * handled (F. Giesen's float_to_half_fast3_rtne, branches turned into selects). */
FI_HD fi_u16 fi_f32_to_f16(float x)
{
    fi_u32 u = FI_F2U(x);
    fi_u32 sign = u & 0x80000000u;
    u ^= sign;
    /* subnormal or zero result: let the FPU round by adding a magic number */
    float fsub = FI_U2F(u) + FI_U2F(126u << 23);
    fi_u32 osub = FI_F2U(fsub) - (126u << 23);
    /* normal result: rebias the exponent and round the mantissa */
    fi_u32 onorm = (u + ((fi_u32)(15 - 127) << 23) + 0xfffu + ((u >> 13) & 1u)) >> 13;
    fi_u32 o = u < (113u << 23) ? osub : onorm;
    o = u >= (143u << 23) ? 0x7c00u : o; /* overflow to infinity; NaN never arises */
    return (fi_u16)(o | (sign >> 16));
}

#endif /* FI_MATH_H */
