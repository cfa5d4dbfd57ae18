/*
 * bpe.h: byte pairs merged into the byte values an input never uses
 * (Gage's byte-pair encoding, 1994), issue 16's tokens within 256 symbols.
 *
 * Merge k gives the value v[k] to the pair a[k] b[k], whose members are
 * bytes of the input or the values of earlier merges; the input's symbols
 * are its bytes with each merge applied in turn, left to right without
 * overlap, so every symbol stands for one or more bytes and the symbols
 * are a byte string the neural method codes as it codes bytes.
 */
#ifndef NMDL_BPE_H
#define NMDL_BPE_H

#include <stddef.h>
#include <stdint.h>

#define NMDL_BPE_MAX 255       /* merges: an input takes at least one value */
#define NMDL_BPE_MAX_LEN 65536 /* bytes a symbol may stand for (decoders
                                  refuse tables whose symbols stand for more) */

typedef struct nmdl_bpe {
    int count;                 /* merges, 0 .. NMDL_BPE_MAX */
    uint8_t v[NMDL_BPE_MAX];   /* merge k: v[k] stands for a[k] b[k] */
    uint8_t a[NMDL_BPE_MAX], b[NMDL_BPE_MAX];
} nmdl_bpe;

/* Learns merges from src[0, n): while a value is unused and the most
 * frequent adjacent pair of the symbols so far occurs at least min times
 * (ties: the lower a * 256 + b), that pair gets the lowest unused value.
 * The symbols go to sym (n bytes), their count to *m. NMDL_ERR_NOMEM. */
int nmdl_bpe_learn(const uint8_t *src, size_t n, size_t min, nmdl_bpe *t, uint8_t *sym,
                   size_t *m);

/* The symbols of src[0, n) under t's merges (as nmdl_bpe_learn left
 * them) into sym (n bytes), their count to *m. */
void nmdl_bpe_apply(const nmdl_bpe *t, const uint8_t *src, size_t n, uint8_t *sym, size_t *m);

/* NMDL_OK when t is well formed: count within 0 .. NMDL_BPE_MAX, values
 * distinct, each pair made of bytes and earlier merges' values, no symbol
 * standing for more than NMDL_BPE_MAX_LEN bytes; else NMDL_ERR_CORRUPT,
 * the fault in why (NMDL_WHY_MAX bytes or NULL). */
int nmdl_bpe_check(const nmdl_bpe *t, char *why);
/* The same, and the bytes each of the 256 values stands for into len (1
 * for a byte). */
int nmdl_bpe_lengths(const nmdl_bpe *t, uint32_t *len, char *why);

/* NMDL_OK when the m symbols sym[0, m) stand for exactly n bytes (len:
 * nmdl_bpe_lengths'); else NMDL_ERR_CORRUPT, saying which way, in why. */
int nmdl_bpe_fits(const uint32_t *len, const uint8_t *sym, size_t m, size_t n, char *why);
/* Expands the m symbols sym[0, m) into dst, which they must fill exactly:
 * n bytes. NMDL_ERR_CORRUPT (with why) when they stand for more or fewer
 * bytes or t is not well formed; dst is untouched then. */
int nmdl_bpe_expand(const nmdl_bpe *t, const uint8_t *sym, size_t m, uint8_t *dst, size_t n,
                    char *why);

#endif /* NMDL_BPE_H */
