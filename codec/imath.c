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

int nmdl_im_log2(const nmdl_im_logistic *t, uint32_t v)
{
    const int b = nmdl_im_bits(v) - 1;
    const uint32_t mant = b >= 10 ? (v >> (b - 10)) & 1023 : (v << (10 - b)) & 1023;
    return 256 * b + t->lg[mant];
}

int nmdl_im_odds(const nmdl_im_logistic *t, uint32_t a, uint32_t b, int lim)
{
    if (!a || !b)
        return a ? lim : -lim;
    return nmdl_im_clamp(nmdl_im_log2(t, a) - nmdl_im_log2(t, b), -lim, lim);
}

uint32_t nmdl_im_squash(const nmdl_im_logistic *t, int x)
{
    const uint32_t one = 1u << 16;
    const int a = x < 0 ? -x : x;
    const uint64_t e = t->pow2[a & 255] >> (a >> 8); /* 2^(-a/256) * 2^32 */
    uint32_t p = (uint32_t)(((uint64_t)one << 32) / ((1ull << 32) + e));
    p = x < 0 ? one - p : p;
    return p < 1 ? 1 : p > one - 1 ? one - 1 : p;
}
