/* philox4x32.h - Philox4x32-10, the counter-based generator of
 * Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11.
 *
 * Stateless: out = philox4x32_10(counter, key).  Same constants, round and key
 * schedule as Random123's philox.h, so its known-answer vectors apply.
 */
#ifndef FI_PHILOX4X32_H
#define FI_PHILOX4X32_H
#include "fi_config.h"

#define FI_PHILOX_M0 0xD2511F53u /* round multipliers */
#define FI_PHILOX_M1 0xCD9E8D57u
#define FI_PHILOX_W0 0x9E3779B9u /* Weyl key bumps: golden ratio, sqrt(3) - 1 */
#define FI_PHILOX_W1 0xBB67AE85u

FI_HD fi_u32 fi_mulhilo32(fi_u32 a, fi_u32 b, fi_u32 *hi)
{
#if defined(__CUDA_ARCH__)
    *hi = __umulhi(a, b);
    return a * b;
#else
    fi_u64 p = (fi_u64)a * (fi_u64)b;
    *hi = (fi_u32)(p >> 32);
    return (fi_u32)p;
#endif
}

/* One Philox4x32 round on (c0, c1, c2, c3) with key (k0, k1). */
FI_HD void fi_philox4x32_round(fi_u32 *c0, fi_u32 *c1, fi_u32 *c2, fi_u32 *c3,
                               fi_u32 k0, fi_u32 k1)
{
    fi_u32 hi0, hi1;
    fi_u32 lo0 = fi_mulhilo32(FI_PHILOX_M0, *c0, &hi0);
    fi_u32 lo1 = fi_mulhilo32(FI_PHILOX_M1, *c2, &hi1);
    fi_u32 n0 = hi1 ^ *c1 ^ k0;
    fi_u32 n2 = hi0 ^ *c3 ^ k1;
    *c0 = n0;
    *c1 = lo1;
    *c2 = n2;
    *c3 = lo0;
}

/* Philox4x32-10: ten rounds, the key bumped before rounds 2..10. In-place on c. */
FI_HD void fi_philox4x32_10(fi_u32 *c0, fi_u32 *c1, fi_u32 *c2, fi_u32 *c3,
                            fi_u32 k0, fi_u32 k1)
{
    int r;
    for (r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 += FI_PHILOX_W0;
            k1 += FI_PHILOX_W1;
        }
        fi_philox4x32_round(c0, c1, c2, c3, k0, k1);
    }
}

#endif /* FI_PHILOX4X32_H */
