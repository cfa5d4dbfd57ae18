/*
 * imath.h: integer helpers shared by the data part's adaptive models
 * (codec/match.c, codec/cm.c), whose arithmetic is integer throughout.
 */
#ifndef NMDL_IMATH_H
#define NMDL_IMATH_H

#include <stdint.h>

/* Number of bits of v (0 for 0). */
static inline int nmdl_im_bits(uint64_t v)
{
    int b = 0;
    for (; v; v >>= 1)
        b++;
    return b;
}

static inline int nmdl_im_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* floor(v / 2^16), without shifting a negative value. */
static inline int64_t nmdl_im_floor16(int64_t v)
{
    return v >= 0 ? v >> 16 : -((-v + 65535) >> 16);
}

#endif /* NMDL_IMATH_H */
