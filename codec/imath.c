/*
 * imath.c: see imath.h.
 */
#include "imath.h"

/* 256 * log2(v / 2^30), v in [2^30, 2^31), by squaring: 8 bits. */
static uint16_t log2_frac(uint64_t v)
{
    uint16_t f = 0;
    for (int b = 7; b >= 0; b--) {
        v = (v * v) >> 30;
        if (v >= (2ull << 30)) {
            f |= (uint16_t)(1u << b);
            v >>= 1;
        }
    }
    return f;
}

void nmdl_im_logistic_init(nmdl_im_logistic *t)
{
    for (int k = 0; k < 1024; k++)
        t->lg[k] = log2_frac((uint64_t)(1024 + k) << 20);
    uint64_t p = 1ull << 32; /* 2^(-k/256) * 2^32 by repeated products */
    for (int k = 0; k < 256; k++) {
        t->pow2[k] = (uint32_t)(p > 0xFFFFFFFFull ? 0xFFFFFFFFull : p);
        p = (p * 4283353945ull) >> 32; /* 2^(-1/256) * 2^32, rounded */
    }
}
