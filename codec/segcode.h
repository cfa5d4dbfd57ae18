/*
 * segcode.h: the data part's per-byte code over segments. One thread runs
 * a group of consecutive segments through the coding path (model/infer.h)
 * in lockstep and, for each byte, turns the transformer's probabilities
 * into the range coder's frequencies, with the match model's flag first
 * where it predicts (codec/match.h). Encoder and decoder run the same
 * code, so they compute the same frequencies bit for bit. Batches of
 * groups run on threads (nmdl_prog_parallel); with the match model a
 * batch never crosses a wave.
 */
#ifndef NMDL_SEGCODE_H
#define NMDL_SEGCODE_H

#include <stddef.h>
#include <stdint.h>

#include "../model/infer.h"
#include "../model/progress.h"
#include "cm.h"
#include "match.h"
#include "rc.h"

#define NMDL_SC_GROUP_SEGMENTS 4 /* segments one thread codes in lockstep:
                                    one pass over the weights serves them
                                    all (SEG_BLOCK in model/infer.c) */

/* A group of consecutive segments coded in lockstep by one thread; the
 * arrays are indexed by segment, from the group's first. */
typedef struct nmdl_sc_group {
    int ns;                /* how many segments */
    int first;             /* the first one's index among all */
    const uint8_t **in;    /* encode: each segment's bytes */
    uint8_t **out;         /* decode: where each segment's bytes go */
    const size_t *len;     /* each segment's length */
    nmdl_rc_enc *enc;      /* encode: one coder per segment */
    nmdl_rc_dec *dec;      /* decode: one coder per segment */
    nmdl_prog *prog;       /* counts the bytes coded; may be NULL */
    double byte_work;      /* work units of one byte */
    /* The match model (codec/match.h), or index NULL: the transformer alone.
     * Segment s's bytes are text + start[s] (in[s] or out[s]). */
    const nmdl_mm_index *index;
    const uint8_t *text;   /* the input, or the output decoded so far */
    const size_t *start;   /* each segment's place in text */
    nmdl_mm_table *tables; /* (all segments): indexed from 0, not first */
    double *pure_bits;     /* encode, or NULL: each segment's code length
                              under the transformer alone, in bits */
    nmdl_cm *lanes;        /* (NMDL_MM_WAVE, the wave's W used) the context
                              mixer's states by place in the wave, or NULL: bytes are coded
                              whole under the transformer (codec/cm.h).
                              Only with index: batches then stay within a
                              wave, so no two threads share a lane */
} nmdl_sc_group;

/* What the data part adds to the transformer (model part flags bits 3, 4
 * and 5, and the revision byte of bit 7): nothing, the match model, the
 * match model and the context mixer, or both in their revision 2, 3 or 4
 * (codec/match.h, codec/cm.h); revisions 5 and 6 code as 4, over the
 * model's symbol set (nmdl_model_config.absent, docs/FORMAT.md); 6 also
 * codes the model part's levels anew (codec/levels.h). */
enum {
    NMDL_SC_PURE = 0, NMDL_SC_MATCH = 1, NMDL_SC_MIX = 2, NMDL_SC_MIX2 = 3, NMDL_SC_MIX3 = 4,
    NMDL_SC_MIX4 = 5,
    NMDL_SC_MIX5 = 6,
    NMDL_SC_MIX6 = 7,
    NMDL_SC_MIX7 = 8, /* revision 6 with the mixer's revision 5 (codec/cm.h;
                         written only in mix frames, codec/mixcode.h) */
    NMDL_SC_MIX8 = 9  /* and with the mixer's revision 6: the newest, in
                         neural and mix frames */
};

/* The revision (1 to 4) of the match model in mode match, and of the
 * mixer (1 to 6): revisions 5 to 8 use the match model's 4, 5 and 6 the
 * mixer's 4, 7 the mixer's 5, 8 its 6. */
int nmdl_sc_rev(int match);
int nmdl_sc_cm_rev(int match);
/* Segments of S that one wave codes at once: with the match model at most
 * nmdl_mm_wave of its revision (later waves read the text before them),
 * without it all S. */
int nmdl_sc_wave_segments(int match, int S);

/* The context mixer's lanes for data code `match` (NMDL_SC_MIX or later),
 * one per place in a wave that one of the S segments takes
 * (nmdl_sc_wave_segments), for an input of n bytes, and their bytes (for
 * memory limits); free takes NULL, and create's match and S. */
int nmdl_sc_lanes_create(size_t n, int match, int S, nmdl_cm **lanes);
void nmdl_sc_lanes_free(nmdl_cm *lanes, int match, int S);
size_t nmdl_sc_lanes_bytes(size_t n, int match, int S);

/* Bytes a group of ns segments of up to seg_len bytes holds while coding:
 * the pass's caches and activations (none with cfg NULL, no model), the
 * probabilities and the tokens,
 * and with the match model each segment's own index. */
size_t nmdl_sc_group_bytes(const nmdl_model_config *cfg, int ns, size_t seg_len,
                           int match);
/* Segments in flight on `threads` threads: NMDL_SC_GROUP_SEGMENTS each, at
 * most S. */
int nmdl_sc_in_flight(int threads, int S);
/* Codes (decode 0: encodes) segments [s0, s1) of `all` in G groups of
 * consecutive segments on up to G threads; every thread reads the same
 * weights w, or with w NULL (the mix method, codec/mixcode.h) none: the
 * uniform distribution stands in the transformer's place. Each segment's first byte is coded with 8 plain bits, every
 * later one under the model. */
int nmdl_sc_code_batch(const nmdl_inf_weights *w, const nmdl_sc_group *all,
                       int s0, int s1, int G, int decode);
/* The end of the batch that begins at segment s0 of S: `live` segments,
 * and with the match model (index not NULL) none past s0's wave, whose
 * prefix text[0, start[s0]) is indexed when s0 begins it. */
int nmdl_sc_next_batch(nmdl_mm_index *index, const uint8_t *text,
                       const size_t *start, int s0, int live, int S);

#endif /* NMDL_SEGCODE_H */
