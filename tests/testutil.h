/*
 * testutil.h: small helpers shared by the test programs (cmocka must be
 * included before this header by the test file).
 */
#ifndef NMDL_TESTUTIL_H
#define NMDL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "codec/bpe.h"
#include "model/isa.h"
#include "nmdl.h"

/* Fails the current test with nmdl's name for the error. */
#define assert_nmdl_ok(expr)                                                   \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_ != 0)                                                          \
            fail_msg("%s returned %s", #expr, nmdl_error_name(rc_));           \
    } while (0)

/* splitmix64: a seedable generator that is the same on every machine. */
typedef struct tu_rng { uint64_t s; } tu_rng;
uint64_t tu_next(tu_rng *r);
/* Uniform in [0, n). */
uint32_t tu_below(tu_rng *r, uint32_t n);
/* Uniform in [0, 1). */
double tu_uniform(tu_rng *r);
/* Standard normal (Box-Muller). */
double tu_normal(tu_rng *r);

/* n bytes of English-like text (words from a fixed list, punctuation,
 * newlines), malloc'd. */
uint8_t *tu_text(tu_rng *r, size_t n);
/* The first n bytes of the enwik8 prefix in NMDL_CORPUS_DIR, malloc'd, or
 * NULL when the corpus is not there. */
uint8_t *tu_corpus(size_t n);

/* A compressed frame (malloc'd bytes). */
typedef struct tu_blob {
    uint8_t *p;
    size_t n;
} tu_blob;

/* The whole file at path (failing the test when it is missing). */
tu_blob tu_read(const char *path);

/* A context with a 1-block model, `steps` of training (a fifth of them
 * fine-tuning) and 4 bits per weight: seconds, not minutes. */
nmdl_cctx *tu_small_cctx(int threads, int fallback, long steps);
/* src compressed by c (failing the test on an error). */
tu_blob tu_compress(nmdl_cctx *c, const uint8_t *src, size_t n);
/* b decoded into out (n bytes) on `threads` threads; NMDL_ERR_CORRUPT
 * when the length differs. */
int tu_decompress(const tu_blob *b, int threads, uint8_t *out, size_t n);
/* A sink for nmdl_decompress_stream: appends to the tu_blob at user,
 * whose room the caller has made. */
int tu_append(void *user, const void *data, size_t len);
/* b decompressed through nmdl_decompress_stream (asserted to succeed). */
tu_blob tu_decompress_stream(const tu_blob *b, int threads);

/* A neural frame of text[0, n) in S segments under a random model of
 * shape cfg (seed 3, quantized with steps of 0.5 per row, not trained),
 * its data part coded with `mode` (NMDL_SC_*, codec/segcode.h) on 2
 * threads. */
tu_blob tu_random_frame(const nmdl_model_config *cfg, const uint8_t *text, size_t n, int S,
                        int mode);
/* The same with the data part coding the m merged symbols sym of the
 * table tokens (codec/bpe.h), recorded in the model part as they are given
 * (a test may make them wrong); the frame's original is text[0, n). */
tu_blob tu_random_token_frame(const nmdl_model_config *cfg, const uint8_t *text, size_t n,
                              int S, int mode, const nmdl_bpe *tokens, const uint8_t *sym,
                              size_t m);

/* The instruction set the library's contexts will use (model/isa.h),
 * printed. When NMDL_ISA asks for one this CPU lacks, it prints so and
 * exits with 77 (ctest's skip), so that a test forced onto a variant never
 * passes by testing another. */
nmdl_isa tu_isa(void);

/* Runs fn(team, k, user) for k = 0 .. K-1 (K <= TU_TEAM_MAX), each on a
 * thread of its own, as the members of one team (nmdl_team in nmdl.h)
 * whose collectives work over shared memory; returns when all are done. */
#define TU_TEAM_MAX 5
typedef struct nmdl_team nmdl_team;
void tu_team_run(int K, void (*fn)(const nmdl_team *t, int k, void *user), void *user);

/* Sets every parameter of the valid checkpoint buf (len bytes) to w and
 * signs it again (docs/FORMAT.md): a file only a faulty writer makes. */
void tu_ckpt_fill(uint8_t *buf, size_t len, float w);

/* Fails unless the 16-byte BLAKE2b of p[0, n), in hex, is `expected`
 * (a golden hash: a change of those bytes is a format change); prints it
 * as "golden WHAT hash". */
void tu_assert_golden(const void *p, size_t n, const char *what, const char *expected);

#endif /* NMDL_TESTUTIL_H */
