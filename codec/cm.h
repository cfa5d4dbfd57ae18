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
 * averaged in the log-odds domain. Integer arithmetic only, so encoder and
 * decoder agree on every machine; nothing is stored in the file.
 *
 * Revision 3 (the default since 2026-12-05, docs/FORMAT.md) adds two
 * contexts (the bits so far alone; the column with the byte above it and
 * the byte before), refines the mixed P(1) by an adaptive table indexed by
 * the byte before and the bits so far (secondary estimation, a quarter of
 * the final P), and mixes the match model's flag too: the flag's P mixes
 * the match model's own P and counters in every context keyed by the
 * predicted byte, with two sets of weights (by the match length's class,
 * by the predicted byte) averaged in the log-odds domain.
 *
 * Revision 4 (the default since 2026-12-06) keeps revision 3 and checks
 * each counter against the context that found it (a counter another
 * context owns starts afresh), in a table 4 times larger, with a faster
 * rate (the count capped at 8), and mixes with a third set of weights,
 * chosen by the bits so far and the match model's state (nothing
 * predicted; a predicted byte the bits so far agree with, by its next
 * bit; one they left), the three sets averaged in the log-odds domain.
 *
 * Revision 5 (2026-12-07; written only in mix frames, codec/mixcode.h)
 * keeps revision 4 and mixes the three sets' log-odds by a fourth, small
 * mixer chosen like the third set (by the match model's state and the
 * bits so far) instead of averaging them, starts every context's weight at
 * 1/4 instead of 0, caps a counter's count at 12 (rate 1/13.5), gives
 * the refining table half of the final P, and looks a context's counter
 * up in a pair of slots (two ways: the one whose check matches, else the
 * one of the lower count, emptied).
 *
 * Revision 6 (2026-12-07; data code revision 8, of neural frames and mix
 * frames' payloads) keeps revision
 * 5 and gives each context three inputs instead of one: its counter's
 * log-odds averaged with an adaptive map of them (by the context, the
 * counter's count and the log-odds, interpolated as the refining table
 * is), the counter's P itself on a linear scale, and an adaptive P of
 * what followed the last three bits the context saw (each counter keeps
 * them). A counter holds its P in 16 bits and an 8-bit check. A tenth
 * context (the 2 bytes before with the line's offset) joins, and the
 * final P is half the mix, a quarter the refining table's (a half in
 * revision 5) and a quarter a second table's, by the 2 bytes before
 * hashed with the bits so far.
 *
 * Lanes: the segments of a wave (codec/match.h) use one state each, by
 * their place in the wave, so segment s continues the statistics of
 * segment s - W (W = nmdl_mm_wave(rev)), as the match model's table does.
 */
#ifndef NMDL_CM_H
#define NMDL_CM_H

#include <stddef.h>
#include <stdint.h>

#include "imath.h"

#define NMDL_CM_CONTEXTS 10 /* hashed contexts (cm.c): 6 in revision 1, 7 in
                               2, 9 in 3 to 5 */
#define NMDL_CM_INPUTS (3 * NMDL_CM_CONTEXTS + 2) /* the transformer (or the
                                 match model), a log-odds per context, a
                                 bias; revision 6: a linear P and a
                                 history's P per context too (cm.c) */
#define NMDL_CM_HISTORIES 16 /* revision 6: a counter's last bits (cm.c) */
#define NMDL_CM_COUNTS 16    /* revision 6: a counter's counts (4 bits) */
#define NMDL_CM_BITS 16                        /* P(1) is coded out of 2^16 */
#define NMDL_CM_FLAG_SETS 14 /* revision 3: the flag's weight sets, one per
                                match length class (NMDL_MM_LENS) */
#define NMDL_CM_SSE_ROWS 65536 /* revision 3: the byte before x the bits so far */
#define NMDL_CM_SSE_CELLS 33   /* log-odds -16 .. 16 bits, one per bit */
#define NMDL_CM_MISS_SETS 1024 /* revision 4: the match model's 4 states x
                                  the bits so far (cm.c, miss_set) */
#define NMDL_CM_SETS 3 /* revision 4: sets of weights mixing the inputs */

typedef struct nmdl_cm {
    uint32_t *slot;   /* (2^bits) counters: P(1) in bits 10.., their
                         update count below (revision 4: a check of the
                         context in bits 4..9, the count in 0..3;
                         revision 6: P(1) in bits 16.., the check in
                         8..15, the last bits in 4..7, the count in 0..3) */
    int bits;
    int rev;          /* 1 to 6 */
    int contexts;     /* 6, 7, 9 or NMDL_CM_CONTEXTS by revision */
    uint32_t ctx[NMDL_CM_CONTEXTS];  /* the byte's context hashes */
    uint32_t *cur[NMDL_CM_CONTEXTS]; /* the counters of the bit being coded */
    int32_t w[256][NMDL_CM_INPUTS];  /* mixer weights by the bits so far,
                                        2^16 = 1 */
    int32_t w_last[256][NMDL_CM_INPUTS]; /* revision 2: by the byte before */
    int last;         /* the byte before (0 at a segment's start) */
    int32_t w_miss[NMDL_CM_MISS_SETS][NMDL_CM_INPUTS]; /* revision 4: by the
                                         match model's state (cm.c) */
    int32_t w_sets[NMDL_CM_MISS_SETS][NMDL_CM_SETS + 1]; /* revision 5: the
                                         three sets' log-odds and a bias,
                                         mixed, chosen as w_miss */
    int x_set[NMDL_CM_SETS + 1]; /* revision 5: the last bit's inputs to it */
    uint32_t p_sets;  /* revision 5: and its P(1) * 2^16 */
    int missed;       /* the byte the match model predicted and missed, or -1 */
    int miss;         /* the last bit's set of w_miss */
    uint32_t p_set[3]; /* revision 2: each set's own P(1) * 2^16 (3: and w_miss) */
    int in[NMDL_CM_INPUTS]; /* the last bit's inputs: log2-odds in 1/256
                               bits, within +-16 bits */
    int c0;           /* 1 followed by the byte's bits so far */
    uint32_t p;       /* the last bit's P(1) * 2^16 */
    int32_t w_flag[NMDL_CM_FLAG_SETS][NMDL_CM_INPUTS]; /* revision 3: the flag's
                                                          weights by length class */
    int32_t w_flag_byte[256][NMDL_CM_INPUTS]; /* and by the predicted byte */
    int flag_set, flag_byte; /* the last flag's sets */
    uint32_t flag_p[2];      /* and each set's own P(hit) * 2^16 */
    uint32_t *sse;    /* revision 3: (NMDL_CM_SSE_ROWS x NMDL_CM_SSE_CELLS)
                         P(1) * 2^16 in bits 8.., its update count in 0..7 */
    size_t sse_cell;  /* the last bit's lower cell (row * cells + cell) */
    int sse_frac;     /* the upper cell's weight, 0..255 (1/256) */
    nmdl_im_logistic lt; /* log-odds and back */
    int inputs;       /* inputs mixed: NMDL_CM_CONTEXTS + 2, revision 6 all */
    uint32_t map[2][NMDL_CM_CONTEXTS][NMDL_CM_COUNTS][NMDL_CM_SSE_CELLS]; /*
                         revision 6: by the decision's kind (a bit, a
                         flag), context, count and log-odds: P(1) * 2^16
                         in bits 8.., a count in 0..7 */
    uint32_t *map_cell[NMDL_CM_CONTEXTS]; /* the last decision's lower cells */
    int map_frac[NMDL_CM_CONTEXTS];       /* and the upper's weights (1/256) */
    uint32_t hist[2][NMDL_CM_CONTEXTS][NMDL_CM_HISTORIES]; /* revision 6:
                         by the decision's kind, context and the counter's
                         last bits: P(1) * 2^16 in bits 8.., a count in
                         0..7 */
    uint32_t *hist_cell[NMDL_CM_CONTEXTS]; /* the last decision's */
    uint32_t *sse2;   /* revision 6: (NMDL_CM_SSE_ROWS x NMDL_CM_SSE_CELLS)
                         by the 2 bytes before and the bits so far, hashed */
    size_t sse2_cell; /* the last bit's lower cell */
    int last2;        /* the byte 2 before (0: none) */
} nmdl_cm;

/* Bytes of one lane of revision rev for an input of n bytes (for memory
 * limits). */
size_t nmdl_cm_bytes(size_t n, int rev);
/* A lane of revision rev (1 to 6). */
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

/* Revision 3, after nmdl_cm_begin(..., -1): P(the byte is guess) * 2^16,
 * in [1, 2^16 - 1], given the match model's own P(hit) (same unit) and its
 * length class (0 .. NMDL_CM_FLAG_SETS - 1). */
uint32_t nmdl_cm_flag_p(nmdl_cm *m, int guess, uint32_t p_match, int len_class);
/* The flag that came: its counters and weights learn. */
void nmdl_cm_flag_update(nmdl_cm *m, int hit);
/* After a missed flag: the missed byte becomes the bits' context. */
void nmdl_cm_missed(nmdl_cm *m, int missed);

#endif /* NMDL_CM_H */
