/* Exhaustive error of the float Phi^-1 of kernels/fi_math.h (Wichura's PPND7) on every
 * float input of its regions, against AS 241 in double (fi_ndtri, within 1e-12 of scipy's
 * ndtri, tests/test_transforms.py): prints the largest error in units of the float
 * spacing at the reference and the input where it occurs, for
 *   central: fi_ndtri_central_f32(q) vs Phi^-1(0.5 + q), every float q in [2^-29, 0.425]
 *            (an odd function of q; below 2^-29 it is q times a constant);
 *   tail:    fi_ndtri_tail_f32(t) vs -Phi^-1(t), every float t in [2^-36, 0.075];
 * then the normal's radius r(w) = sqrt(-2 log u1), u1 = fi_u01f_oc32(w): its largest value
 * (w = 0, u1 = 2^-32) and, per threshold T, how many of the 2^32 words give r > T (all
 * below 2^24: larger words give r <= sqrt(16 ln 2) = 3.33).
 * Argument: the step between tested floats (1: all of them). */
#include <stdio.h>
#include <stdlib.h>
#include "fi_dist.h"

static double spacing(double ref) /* of the float nearest |ref|, as numpy's np.spacing */
{
    float a = (float)(ref < 0 ? -ref : ref);
    return (double)FI_U2F(FI_F2U(a) + 1u) - (double)a;
}

static void sweep(const char *name, float from, float to, fi_u32 step, int tail)
{
    double worst = 0.0, wgot = 0.0, wref = 0.0;
    float at = from;
    for (fi_u32 b = FI_F2U(from); b <= FI_F2U(to); b += step) {
        float x = FI_U2F(b);
        double ref = tail ? -fi_ndtri((double)x) : fi_ndtri(0.5 + (double)x);
        double got = tail ? (double)fi_ndtri_tail_f32(x) : (double)fi_ndtri_central_f32(x);
        double e = (got > ref ? got - ref : ref - got) / spacing(ref);
        if (e > worst) {
            worst = e;
            at = x;
            wgot = got;
            wref = ref;
        }
    }
    printf("%s %.6f %.17g %.17g %.17g\n", name, worst, (double)at, wgot, wref);
}

static float radius(fi_u32 w) { return FI_SQRTF(-2.0f * fi_logf(fi_u01f_oc32(w))); }

int main(int argc, char **argv)
{
    fi_u32 step = argc > 1 ? (fi_u32)strtoul(argv[1], NULL, 10) : 1u;
    sweep("central", 1.86264515e-09f, FI_TRUNC_CENTRAL, step, 0);
    sweep("tail", 1.45519152e-11f, 0.075f, step, 1);
    printf("radius %.9g\n", (double)radius(0u));
    static const float thresholds[] = {3.5f, 4.0f, 5.0f, 5.5f, 5.77f, 6.0f, 6.5f};
    for (int k = 0; k < 7; ++k) {
        unsigned long n = 0;
        for (fi_u32 w = 0; w < 0x1000000u; ++w) n += radius(w) > thresholds[k];
        printf("beyond %.9g %lu\n", (double)thresholds[k], n);
    }
    return 0;
}
