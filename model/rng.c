/*
 * rng.c: see rng.h.
 */
#include "rng.h"

#include <math.h>

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void nmdl_rng_seed(nmdl_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1342543DE82EF95ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t nmdl_rng_next(nmdl_rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t nmdl_rng_below(nmdl_rng *r, uint64_t n)
{
    /* rejection keeps it exactly uniform */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = nmdl_rng_next(r);
    while (x >= limit);
    return x % n;
}

double nmdl_rng_uniform(nmdl_rng *r)
{
    return (double)(nmdl_rng_next(r) >> 11) * 0x1.0p-53;
}

double nmdl_rng_normal(nmdl_rng *r)
{
    double u = nmdl_rng_uniform(r), v = nmdl_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}
