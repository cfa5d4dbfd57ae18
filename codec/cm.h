/*
 * cm.h: context mixing for the data part (issue 16): a byte the match model
 * did not predict (or missed) is coded as 8 binary decisions, most
 * significant bit first, each with P(1) from a small mixer of
 *
 *   - the transformer: its probability mass below the bits so far, split
 *     by the next bit (so with the mixer's starting weights the bytes cost
 *     what the transformer alone says);
 *   - adaptive counters in contexts the transformer cannot hold: the last
 *     1, 2, 3, 4 and 6 bytes of the segment and the word being written,
 *     hashed with the bits so far into one table; in revision 2 (model
 *     part flags bit 5, the default since 2026-12-05) also the byte the
 *     match model predicted and missed (or none);
 *
 * whose weights, chosen by the bits so far, follow the gradient of the
 * code length while coding; in revision 2 a second set of weights, chosen
 * by the byte before, mixes the same inputs, and the two mixes are
 * averaged in the log-odds domain. Integer arithmetic only, so encoder and decoder
 * agree on every machine; nothing is stored in the file.
 *
 * Lanes: the segments of a wave (codec/match.h) use one state each, by
 * their place in the wave, so segment s continues the statistics of
 * segment s - NMDL_MM_WAVE, as the match model's table does.
 */
#ifndef NMDL_CM_H
#define NMDL_CM_H

#include <stddef.h>
#include <stdint.h>

#define NMDL_CM_CONTEXTS 7 /* hashed contexts (cm.c); 6 in revision 1 */
#define NMDL_CM_INPUTS (NMDL_CM_CONTEXTS + 2) /* and the transformer, a bias */
#define NMDL_CM_BITS 16                        /* P(1) is coded out of 2^16 */

typedef struct nmdl_cm {
    uint32_t *slot;   /* (2^bits) counters: P(1) and their update count */
    int bits;
    int contexts;     /* NMDL_CM_CONTEXTS, or 6 in revision 1 */
    uint32_t ctx[NMDL_CM_CONTEXTS];  /* the byte's context hashes */
    uint32_t *cur[NMDL_CM_CONTEXTS]; /* the counters of the bit being coded */
    int32_t w[256][NMDL_CM_INPUTS];  /* mixer weights by the bits so far,
                                        2^16 = 1 */
    int32_t w_last[256][NMDL_CM_INPUTS]; /* revision 2: by the byte before */
    int last;         /* the byte before (0 at a segment's start) */
    uint32_t p_set[2]; /* revision 2: each set's own P(1) * 2^16 */
    int in[NMDL_CM_INPUTS]; /* the last bit's inputs: log2-odds in 1/256
                               bits, within +-16 bits */
    int c0;           /* 1 followed by the byte's bits so far */
    uint32_t p;       /* the last bit's P(1) * 2^16 */
    uint16_t lg[1024];   /* 256 * log2(1 + k / 1024), rounded down */
    uint32_t pow2[256];  /* 2^(-k / 256) * 2^32, as nmdl_cm_init computes
                            it (products of a rounded-down factor) */
} nmdl_cm;

/* Bytes of one lane for an input of n bytes (for memory limits). */
size_t nmdl_cm_bytes(size_t n);
/* A lane of revision rev (1 or 2). */
int nmdl_cm_init(nmdl_cm *m, size_t n, int rev);
void nmdl_cm_free(nmdl_cm *m);

/* Before the byte seg[i] (i >= 1): its contexts, from seg[0, i) and the
 * byte the match model predicted for it and missed (-1: none). */
void nmdl_cm_begin(nmdl_cm *m, const uint8_t *seg, size_t i, int missed);
/* P(next bit = 1) * 2^16, in [1, 2^16 - 1], given the transformer's
 * frequencies of the bytes below the bits so far whose next bit is 0 (n0)
 * and 1 (n1); n0 + n1 >= 1. */
uint32_t nmdl_cm_p(nmdl_cm *m, uint32_t n0, uint32_t n1);
/* The bit that came: counters and weights learn. */
void nmdl_cm_update(nmdl_cm *m, int bit);

#endif /* NMDL_CM_H */
