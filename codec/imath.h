/*
 * imath.h: integer helpers shared by the adaptive models (codec/match.c,
 * codec/cm.c, codec/levels.c), whose arithmetic is integer throughout.
 */
#ifndef NMDL_IMATH_H
#define NMDL_IMATH_H

#include <stdint.h>

/* Number of bits of v (0 for 0): one instruction (bsr or lzcnt, the same
 * answer), not a loop, in the mixers' log-odds of every decision. */
static inline int nmdl_im_bits(uint64_t v)
{
    return v ? 64 - __builtin_clzll(v) : 0;
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

/* A mixer's log-odds: floor(sum of w[k] in[k] over k < count, / 2^16),
 * clamped to [-lim, lim] (in the inputs' unit: w = 2^16 weighs 1). */
static inline int nmdl_im_mix(const int32_t *w, const int *in, int count, int lim)
{
    int64_t dot = 0;
    for (int k = 0; k < count; k++)
        dot += (int64_t)w[k] * in[k];
    const int64_t x = nmdl_im_floor16(dot);
    return (int)(x < -lim ? -lim : x > lim ? lim : x);
}

/* floor(v / d), d >= 1. */
static inline int nmdl_im_floor_div(int64_t v, int d)
{
    return (int)(v >= 0 ? v / d : -((-v + d - 1) / d));
}

/* The mean of a and b rounded down: two mixers' log-odds averaged. */
static inline int nmdl_im_mean(int a, int b)
{
    return nmdl_im_floor_div((int64_t)a + b, 2);
}

/* A mixer's weights w[0, count) step along the gradient of the code
 * length: each by err x in[k] / 2^shift (rounded towards 0), kept within
 * [-max, max]. */
static inline void nmdl_im_learn(int32_t *w, const int *in, int count, int32_t err,
                                 int shift, int32_t max)
{
    for (int k = 0; k < count; k++) {
        const int64_t v = w[k] + ((int64_t)err * in[k]) / ((int64_t)1 << shift);
        w[k] = (int32_t)(v < -max ? -max : v > max ? max : v);
    }
}

/* A counter's P (any fixed point) moved towards target by 2 / (2 n + 3)
 * of the distance (rounded towards 0): after n earlier updates, the mean
 * of what it has seen, from n on a fixed rate. */
static inline int32_t nmdl_im_toward(int32_t p, int32_t target, uint32_t n)
{
    return p + (int32_t)(((int64_t)(target - p) * 2) / (int64_t)(2 * n + 3));
}

/* The tables of log-odds and back, computed with integers (imath.c). */
typedef struct nmdl_im_logistic {
    uint16_t lg[1024];  /* 256 * log2(1 + k / 1024), rounded down */
    uint32_t pow2[256]; /* 2^(-k / 256) * 2^32 (products of a rounded-down
                           factor) */
} nmdl_im_logistic;

void nmdl_im_logistic_init(nmdl_im_logistic *t);

/* 256 * log2(v), v >= 1, within 1/256 bit. */
static inline int nmdl_im_log2(const nmdl_im_logistic *t, uint32_t v)
{
    const int b = nmdl_im_bits(v) - 1;
    const uint32_t mant = b >= 10 ? (v >> (b - 10)) & 1023 : (v << (10 - b)) & 1023;
    return 256 * b + t->lg[mant];
}

/* log2(a / b) in 1/256 bits, clamped to [-lim, lim]; a or b may be 0. */
static inline int nmdl_im_odds(const nmdl_im_logistic *t, uint32_t a, uint32_t b, int lim)
{
    if (!a || !b)
        return a ? lim : -lim;
    return nmdl_im_clamp(nmdl_im_log2(t, a) - nmdl_im_log2(t, b), -lim, lim);
}

/* 2^16 / (1 + 2^(-x/256)), in [1, 2^16 - 1], for |x| < 2^13 (1/256 bits). */
static inline uint32_t nmdl_im_squash(const nmdl_im_logistic *t, int x)
{
    const uint32_t one = 1u << 16;
    const int a = x < 0 ? -x : x;
    const uint64_t e = t->pow2[a & 255] >> (a >> 8); /* 2^(-a/256) * 2^32 */
    uint32_t p = (uint32_t)(((uint64_t)one << 32) / ((1ull << 32) + e));
    p = x < 0 ? one - p : p;
    return p < 1 ? 1 : p > one - 1 ? one - 1 : p;
}

#endif /* NMDL_IMATH_H */
