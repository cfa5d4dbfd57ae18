/*
 * match.h: the match model of the data part, for repeats further back than
 * the transformer's window.
 *
 * Before each byte, the model looks for the most recent earlier place
 * whose NMDL_MM_MIN bytes equal the newest NMDL_MM_MIN bytes, in the
 * segment itself or in the text before the segment's wave (below), and
 * predicts the byte that followed there; it keeps following that place
 * while it predicts right. When it predicts a byte b, the coder first
 * codes one binary flag, "the byte is b", with a probability from an
 * adaptive table (secondary estimation) indexed by the match length and the
 * transformer's own probability of b; after a miss it codes the byte under
 * the transformer's distribution with b removed. So a long match the
 * transformer already believes costs what the transformer says, and one it
 * cannot see (beyond its window) costs the flag alone. Nothing is stored:
 * the table learns while coding, integer arithmetic only, identically in
 * encoder and decoder.
 *
 * Two revisions, named by the model part's flags (docs/FORMAT.md):
 * revision 1 looks a match up by its last NMDL_MM_MIN bytes only and
 * estimates the flag from 3 table rows; revision 2 (the default since
 * 2026-12-05) also by its last 6 and 16 bytes, taking the candidate that
 * agrees longest, adds a row by the predicted byte itself, and mixes with
 * a second set of weights chosen by the byte before the predicted one,
 * the two mixes averaged in the log-odds domain.
 *
 * Waves: segments are coded in waves of W consecutive segments (W =
 * nmdl_mm_wave(rev): NMDL_MM_WAVE, or NMDL_MM_WAVE3 in revision 3, whose
 * match model is revision 2's). A segment of wave w sees the text before
 * the wave's first byte (the prefix, decoded before the wave starts) and
 * its own bytes so far; its table starts from where the segment W before
 * it left its own.
 */
#ifndef NMDL_MATCH_H
#define NMDL_MATCH_H

#include <stddef.h>
#include <stdint.h>

#define NMDL_MM_MIN 3  /* bytes of context a match must share */
#define NMDL_MM_WAVE 4 /* segments per wave in revisions 1 and 2, the most */
#define NMDL_MM_WAVE3 2 /* and in revision 3 */
#define NMDL_MM_LENS 14 /* match-length classes of the table */
#define NMDL_MM_CELLS 33 /* interpolation points over the transformer's log-odds */
#define NMDL_MM_BITS 16 /* the flag is coded with a total of 2^16 */
#define NMDL_MM_MAX_INPUT 0xFFFFFFFFu /* longest input: positions are 32-bit */
#define NMDL_MM_ORDERS_MAX 3 /* context lengths a match is looked up by (match.c) */

/* The prefix's index: for each context length and each hash of that many
 * bytes, the position after their latest occurrence in text[0, upto) (0:
 * none). Read-only
 * while a wave is coded, extended between waves. */
typedef struct nmdl_mm_index {
    uint32_t *slot; /* (orders x 2^bits): a table per context length */
    int bits;
    int rev;        /* the match model's revision, 1 or 2 */
    int orders;     /* 1 (revision 1) or NMDL_MM_ORDERS_MAX (revision 2) */
    size_t upto;    /* text[0, upto) is indexed */
} nmdl_mm_index;

/* The adaptive table: P(the predicted byte comes) * 2^16 and how often
 * each cell was updated, by length class and log-odds point. */
#define NMDL_MM_ESTIMATES 4 /* rows mixed for one flag (match.c); 3 in revision 1 */
#define NMDL_MM_ROWS (NMDL_MM_LENS * 17 + 2 * 256)
#define NMDL_MM_INPUTS (NMDL_MM_ESTIMATES + 2) /* and the transformer, a bias */
typedef struct nmdl_mm_table {
    uint16_t p[NMDL_MM_ROWS][NMDL_MM_CELLS];
    uint8_t n[NMDL_MM_ROWS][NMDL_MM_CELLS];
    int32_t w[NMDL_MM_LENS][NMDL_MM_INPUTS]; /* the mixer's weights, 2^16 = 1 */
    int32_t w_before[256][NMDL_MM_INPUTS]; /* revision 2: a second set, by the
                                              byte before the predicted one */
    int estimates;  /* rows used: 3 (revision 1) or NMDL_MM_ESTIMATES */
} nmdl_mm_table;

/* One segment's model. */
typedef struct nmdl_mm {
    const uint8_t *text;        /* the input: the prefix, then ... */
    const uint8_t *seg;         /* ... this segment, at text + its start */
    const nmdl_mm_index *index; /* of text[0, index->upto), upto <= start */
    uint32_t *own;              /* (index->orders x 2^own_bits): the
                                   segment's own index */
    int own_bits;
    const uint8_t *ptr;         /* the predicted byte, or NULL: no match */
    const uint8_t *end;         /* where a match in the prefix must stop */
    uint32_t len;               /* bytes the match has agreed so far */
    int cell, frac;             /* table point used for the last flag */
    int in[NMDL_MM_INPUTS];     /* the mixer's inputs for it, 1/16 bits */
    uint32_t p;                 /* and its output, P(hit) * 2^16 */
    uint32_t p_set[2];          /* revision 2: each set's own P(hit) */
    nmdl_mm_table *table;
} nmdl_mm;

/* Bytes of the index of revision rev (1 or 2) for an input of n bytes,
 * and of one segment's own index for segments of up to seg_len bytes: for
 * memory limits. */
size_t nmdl_mm_index_bytes(size_t n, int rev);
size_t nmdl_mm_own_bytes(size_t seg_len, int rev);

int nmdl_mm_index_init(nmdl_mm_index *x, size_t n, int rev);
/* Adds text[x->upto, upto) (upto >= x->upto) to the index. */
void nmdl_mm_index_extend(nmdl_mm_index *x, const uint8_t *text, size_t upto);
void nmdl_mm_index_free(nmdl_mm_index *x);

/* The table's starting point for revision rev: the transformer's
 * probability unchanged. */
void nmdl_mm_table_init(nmdl_mm_table *t, int rev);

/* A segment of seg_len bytes at text + start, of the index's revision;
 * index->upto <= start. Uses
 * (and updates) *table, which must outlive it; NULL where the model only
 * predicts (nmdl_mm_p_hit is never called, nmdl_mm_update's `predicted`
 * always 0). */
int nmdl_mm_init(nmdl_mm *m, const nmdl_mm_index *index, const uint8_t *text,
                 size_t start, size_t seg_len, nmdl_mm_table *table);
void nmdl_mm_free(nmdl_mm *m);

/* The byte predicted for the segment's next byte, or -1. */
int nmdl_mm_predict(const nmdl_mm *m);
/* P(seg[i] is the predicted byte) * 2^16, in [1, 2^16 - 1], given the
 * transformer's frequency f of that byte out of 2^24. */
uint32_t nmdl_mm_p_hit(nmdl_mm *m, uint32_t f);
/* Once seg[i] is known: learns from the flag (when a byte was predicted),
 * follows or drops the match, and indexes the context ending at seg[i]. */
void nmdl_mm_update(nmdl_mm *m, size_t i, int predicted, int hit);
/* The class (0 .. NMDL_MM_LENS - 1) of the match's length so far. */
int nmdl_mm_len_class(const nmdl_mm *m);
/* Segments per wave in revision rev (1 to 3). */
int nmdl_mm_wave(int rev);

#endif /* NMDL_MATCH_H */
