/*
 * rc.h: a carry-correct range coder over integer frequencies.
 *
 * A symbol is coded as an interval [start, start + freq) of a total that is
 * a power of two, 2^bits with 1 <= bits <= NMDL_RC_MAX_BITS, and freq >= 1.
 * The coder keeps a 48-bit interval (range in [2^40, 2^48]) and emits bytes
 * most significant first, propagating carries through pending 0xFF bytes as
 * LZMA's coder does. With a range of at least 2^40 and a total of at most
 * 2^24 the truncation r = range >> bits wastes less than 2^-16 of the range
 * per symbol, far below 0.001 bits.
 *
 * The flush writes the shortest value inside the final interval and drops
 * up to NMDL_RC_PAD trailing zero bytes; the decoder reads those zeros back
 * as padding and fails with NMDL_ERR_TRUNCATED rather than read further.
 */
#ifndef NMDL_RC_H
#define NMDL_RC_H

#include <stddef.h>
#include <stdint.h>

#define NMDL_RC_MAX_BITS 24 /* largest log2(total) the coder accepts */
#define NMDL_RC_PAD 6       /* bytes the decoder may read past the end */

typedef struct nmdl_rc_enc {
    uint64_t low;     /* bottom of the interval, 48 bits plus a carry bit */
    uint64_t range;   /* width of the interval, in [2^40, 2^48] */
    uint64_t pending; /* bytes held back: the cache and the 0xFF run */
    uint8_t cache;    /* first held-back byte, may still receive a carry */
    int started;      /* 0 until the first (always-zero) byte was held */
    int err;          /* NMDL_OK or the first error seen */
    uint8_t *buf;     /* output, grown as needed */
    size_t len, cap;  /* bytes written, bytes allocated */
} nmdl_rc_enc;

void nmdl_rc_enc_init(nmdl_rc_enc *e);
/* Codes the interval [start, start + freq) of 2^bits. Errors (bad
 * arguments, out of memory) are remembered and returned by finish. */
void nmdl_rc_encode(nmdl_rc_enc *e, uint32_t start, uint32_t freq, int bits);
/* Flushes; on success hands the buffer (malloc'd, may be NULL when *len is
 * 0) to the caller. On failure frees it. */
int nmdl_rc_enc_finish(nmdl_rc_enc *e, uint8_t **out, size_t *len);
/* Frees the buffer of an encoder that is abandoned. */
void nmdl_rc_enc_discard(nmdl_rc_enc *e);

typedef struct nmdl_rc_dec {
    const uint8_t *src; /* coded bytes */
    size_t len, pos;    /* their count, next to read */
    int pad;            /* zero bytes supplied past the end so far */
    uint64_t code;      /* offset of the coded value in the interval */
    uint64_t range;     /* as in the encoder */
    uint64_t r;         /* range >> bits of the symbol being decoded */
} nmdl_rc_dec;

int nmdl_rc_dec_init(nmdl_rc_dec *d, const uint8_t *src, size_t len);
/* The value in [0, 2^bits) that selects the next symbol's interval. */
int nmdl_rc_decode_target(nmdl_rc_dec *d, int bits, uint32_t *target);
/* Consumes the interval the target fell into. */
int nmdl_rc_decode_update(nmdl_rc_dec *d, uint32_t start, uint32_t freq);
/* Both steps for a cumulative table cum[0..n] (cum[0] = 0, cum[n] = 2^bits,
 * strictly increasing): finds sym with cum[sym] <= target < cum[sym+1]. */
int nmdl_rc_decode_symbol(nmdl_rc_dec *d, const uint32_t *cum, int n,
                          int bits, int *sym);
/* NMDL_OK when exactly all input was consumed, NMDL_ERR_CORRUPT otherwise. */
int nmdl_rc_dec_finish(const nmdl_rc_dec *d);

#endif /* NMDL_RC_H */
