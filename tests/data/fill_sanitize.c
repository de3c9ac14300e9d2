/* fill_sanitize.c - kernels/fill_cpu.c's edge cases under AddressSanitizer and
 * UndefinedBehaviorSanitizer (tests/test_sanitizers.py builds and runs it).
 *
 * Every buffer is malloc'ed to exactly the bytes the fill may write, so a write past it
 * is a heap-buffer-overflow.  On every SIMD path the CPU runs, for every distribution
 * and dtype: fills ending at element 2^64 - 1 (the last element, the last group, sizes
 * across group boundaries), contiguous, strided and with negative strides; a range past
 * 2^64 (wraps to element 0, stays in the buffer); and a fill over many axes addressed
 * the way fastinit/_core.pyx does (row by row with logical-index steps).  Values are
 * cross-checked between calls.  "SANITIZE OK" on success; with the argument "overflow",
 * one element too many is written on purpose (the sanitizer must stop it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fill_cpu.h"

static int failures = 0;

static void check(int ok, const char *what, int simd, int dist, int dtype, long long n)
{
    if (!ok) {
        fprintf(stderr, "FAIL %s simd=%d dist=%d dtype=%d n=%lld\n", what, simd, dist, dtype, n);
        ++failures;
    }
}

static fi_params params(int dist)
{
    fi_params p;
    memset(&p, 0, sizeof p);
    p.seed = 0x0123456789abcdefull;
    p.stream = 3;
    if (dist == FI_DIST_UNIFORM) { p.a = -1.5; p.b = 4.0; p.lo = -1.5; p.hi = 2.4999; }
    if (dist == FI_DIST_NORMAL) { p.a = 0.25; p.b = 1.5; }
    if (dist == FI_DIST_TRUNCNORMAL) {
        p.a = 0.0; p.b = 1.0; p.lo = -1.0; p.hi = 2.5;
        p.pa = 0.15865525393145707; p.pd = 0.8351351478696032; /* Phi(-1), Phi(2.5)-Phi(-1) */
    }
    return p;
}

/* n elements ending at logical element 2^64 - 1, into an exact buffer with the given
 * element stride (in items; negative: dst is the last item of the buffer) */
static char *fill_tail(int dist, int dtype, const fi_params *p, long long n, int step)
{
    int size = fi_itemsize(dtype);
    long long span = (n - 1) * (step < 0 ? -step : step) + 1;
    char *buf = malloc((size_t)(span * size));
    char *dst = step < 0 ? buf + (span - 1) * size : buf;
    fi_fill(dist, dtype, p, (fi_u64)0 - (fi_u64)n, n, dst, (fi_i64)step * size);
    return buf;
}

/* the elements of a strided buffer, gathered contiguous */
static void gather(const char *buf, long long n, int step, int size, char *out)
{
    long long span = (n - 1) * (step < 0 ? -step : step) + 1;
    for (long long i = 0; i < n; ++i) {
        long long at = step < 0 ? span - 1 + i * step : i * step;
        memcpy(out + i * size, buf + at * size, (size_t)size);
    }
}

/* a fill over `nd` axes like _core.pyx's _fill_item: the last axis is a run of
 * consecutive logical elements, the others step through memory and the index */
static void fill_axes(int dist, int dtype, const fi_params *p, fi_u64 offset, char *base,
                      int nd, const long long *dims, const long long *steps,
                      const unsigned long long *isteps)
{
    long long rows = 1;
    for (int k = 0; k < nd - 1; ++k) rows *= dims[k];
    for (long long row = 0; row < rows; ++row) {
        long long r = row, byte = 0;
        fi_u64 index = 0;
        for (int k = nd - 2; k >= 0; --k) {
            byte += (r % dims[k]) * steps[k];
            index += (fi_u64)(r % dims[k]) * isteps[k];
            r /= dims[k];
        }
        fi_fill(dist, dtype, p, offset + index, dims[nd - 1], base + byte, steps[nd - 1]);
    }
}

static void many_axes(int simd, int dist, int dtype, const fi_params *p)
{
    /* 40 axes: 10 of length 2 in reversed memory order, 30 of length 1; the whole tensor
     * ends at element 2^64 - 1 */
    enum { ND = 40, LONG = 10 };
    long long dims[ND], steps[ND];
    unsigned long long isteps[ND];
    int size = fi_itemsize(dtype);
    long long n = 1LL << LONG;
    for (int k = 0; k < ND; ++k) {
        int j = k - (ND - LONG); /* 0 .. LONG - 1 for the long axes */
        dims[k] = j >= 0 ? 2 : 1;
        steps[k] = j >= 0 ? (long long)size << j : size; /* innermost axis outermost */
        isteps[k] = j >= 0 ? 1ull << (LONG - 1 - j) : (unsigned long long)n;
    }
    char *buf = malloc((size_t)(n * size)), *flat = malloc((size_t)(n * size));
    fill_axes(dist, dtype, p, (fi_u64)0 - (fi_u64)n, buf, ND,
              dims, steps, isteps);
    fi_fill(dist, dtype, p, (fi_u64)0 - (fi_u64)n, n, flat, size);
    int ok = 1;
    for (long long i = 0; i < n && ok; ++i) { /* bit LONG-1-j of i: memory item 2^j */
        long long at = 0;
        for (int j = 0; j < LONG; ++j)
            if (i >> (LONG - 1 - j) & 1) at += 1LL << j;
        ok = memcmp(buf + at * size, flat + i * size, (size_t)size) == 0;
    }
    check(ok, "many axes", simd, dist, dtype, n);
    free(buf);
    free(flat);
}

static void run_case(int simd, int dist, int dtype)
{
    const fi_params p = params(dist);
    static const long long sizes[] = {1, 2, 3, 4, 5, 63, 64, 65, 127, 128, 129, 255, 256, 300};
    static const int steps[] = {1, 3, -1, -2};
    int size = fi_itemsize(dtype);
    char *ref = fill_tail(dist, dtype, &p, 300, 1); /* elements 2^64 - 300 .. 2^64 - 1 */
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; ++s) {
        long long n = sizes[s];
        for (size_t t = 0; t < sizeof steps / sizeof *steps; ++t) {
            char *buf = fill_tail(dist, dtype, &p, n, steps[t]);
            char *got = malloc((size_t)(n * size));
            gather(buf, n, steps[t], size, got);
            check(memcmp(got, ref + (300 - n) * size, (size_t)(n * size)) == 0, "tail", simd,
                  dist, dtype, n);
            free(got);
            free(buf);
        }
    }
    /* a range past 2^64 wraps to element 0 and stays inside its buffer */
    char *wrap = malloc((size_t)(10 * size)), *head = malloc((size_t)(5 * size));
    fi_fill(dist, dtype, &p, (fi_u64)0 - 5u, 10, wrap, size);
    fi_fill(dist, dtype, &p, 0, 5, head, size);
    check(memcmp(wrap, ref + 295 * size, (size_t)(5 * size)) == 0 &&
              memcmp(wrap + 5 * size, head, (size_t)(5 * size)) == 0, "wrap", simd, dist,
          dtype, 10);
    free(wrap);
    free(head);
    free(ref);
    many_axes(simd, dist, dtype, &p);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "overflow") == 0) { /* one element past the buffer */
        fi_params p = params(FI_DIST_NORMAL);
        float *buf = malloc(127 * sizeof(float));
        fi_fill(FI_DIST_NORMAL, FI_DT_F32, &p, (fi_u64)0 - 128u, 128, (char *)buf, 4);
        printf("%f\n", buf[0]);
        free(buf);
        return 0;
    }
    int best = fi_simd_supported();
    for (int simd = 0; simd <= best; ++simd) {
        check(fi_set_simd(simd) == simd, "set_simd", simd, 0, 0, 0);
        run_case(simd, FI_DIST_BITS, FI_DT_U32);
        for (int dist = FI_DIST_UNIFORM; dist <= FI_DIST_TRUNCNORMAL; ++dist)
            for (int dtype = FI_DT_F16; dtype <= FI_DT_F64; ++dtype) run_case(simd, dist, dtype);
    }
    if (failures) return 1;
    printf("SANITIZE OK (SIMD paths 0..%d)\n", best);
    return 0;
}
