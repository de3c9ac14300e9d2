/* The headers as plain C99 / C++ on the host: Random123 known answers through
 * fi_philox4x32_10 and one value of each transform (tests/test_headers.py). */
#include <stdio.h>
#include "fi_dist.h"

int main(void)
{
    fi_u32 c0 = 0x243f6a88u, c1 = 0x85a308d3u, c2 = 0x13198a2eu, c3 = 0x03707344u;
    fi_params p = {0, 0, 0.0, 1.0, -2.0, 2.0, 0.02275013194817921, 0.9544997361036416};
    float z0, z1;
    fi_philox4x32_10(&c0, &c1, &c2, &c3, 0xa4093822u, 0x299f31d0u);
    if (c0 != 0xd16cfe09u || c1 != 0x94fdccebu || c2 != 0x5001e420u || c3 != 0x24126ea1u) {
        printf("KAT FAIL\n");
        return 1;
    }
    fi_boxmuller_f32(1u, 2u, &z0, &z1);
    printf("KAT OK %.9g %.9g %.9g\n", z0, z1, fi_truncnormal_f32(0x80000000u, &p, -2.f, 2.f));
    return 0;
}
