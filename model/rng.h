/*
 * rng.h: a seedable pseudo-random generator (xoshiro256**, seeded through
 * splitmix64), the same sequence on every machine for the integer and
 * uniform outputs. Normal deviates use libm, so they are reproducible on one
 * machine only; they serve training and sampling, never the coding path.
 */
#ifndef NMDL_RNG_H
#define NMDL_RNG_H

#include <stdint.h>

typedef struct nmdl_rng {
    uint64_t s[4];
} nmdl_rng;

/* Seeds the state; `stream` selects an independent sequence (a chain, a
 * thread) for the same seed. */
void nmdl_rng_seed(nmdl_rng *r, uint64_t seed, uint64_t stream);
uint64_t nmdl_rng_next(nmdl_rng *r);
/* Uniform integer in [0, n), n >= 1. */
uint64_t nmdl_rng_below(nmdl_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double nmdl_rng_uniform(nmdl_rng *r);
/* Standard normal. */
double nmdl_rng_normal(nmdl_rng *r);

#endif /* NMDL_RNG_H */
