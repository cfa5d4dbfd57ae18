/*
 * quant.h: the quantized model, part one of the two-part code.
 *
 * Every parameter becomes an integer level q and is rebuilt as
 * w = (float)q * step, where the step belongs to the parameter's row:
 *
 *   step(tensor k, row r) = base[k] * 2^(rexp[r] / 8)
 *
 * base[k] is a float32 per tensor and rexp[r] an integer per row in
 * [-NMDL_Q_REXP, NMDL_Q_REXP] (all 0 when quantizing per tensor). The power
 * is evaluated exactly as base * P[rexp mod 8] * 2^floor(rexp / 8) with
 * P[i] the float nearest 2^(i/8), so the decoder's weights are the
 * encoder's to the bit.
 *
 * Quantizing is rounding to the nearest level (no clipping: levels are
 * entropy-coded, so a rare large value costs a few bits instead of being
 * cut). The step size sets the cost: `delta` is the step in units of each
 * row's (or tensor's) root mean square.
 *
 * With codebooks (--weights cluster, codec/cluster.h) every matrix has K
 * centroids c[0..K) in units of its rows' steps, sorted, c[z] = 0, and a
 * level q stands for centroid z + q: w = c[z + q] * step (vectors keep
 * uniform levels). Levels stay signed integers around zero, coded as
 * uniform ones are; quantizing picks the nearest centroid.
 *
 * Serialised form (the neural method's model part, docs/FORMAT.md): the
 * configuration, a flags byte, the base steps, the codebooks if any, then
 * one range-coder stream with the row exponents and all levels, tensor by
 * tensor in layout order, row-major, each under adaptive binary models
 * (codec/bitmodel.h; from revision 6 the levels under codec/levels.h's
 * mix of their neighbourhood).
 */
#ifndef NMDL_QUANT_H
#define NMDL_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "../model/transformer.h"
#include "bpe.h"

#define NMDL_Q_REXP 64         /* row exponents lie in [-64, 64] */
#define NMDL_Q_MAX_LEVEL (1 << 24)
#define NMDL_Q_MAX_PARAMS (1u << 25) /* decoders refuse larger models */
#define NMDL_Q_MAX_HEAD 256          /* nor heads wider (d_model / n_head) */
/* The cheapest level costs >= 0.00068 bits (codec/bitmodel.h; revision
 * 6's codec/levels.h >= 0.0007), so a stream of len bytes holds at most
 * about 11800 levels per byte. */
#define NMDL_Q_LEVELS_PER_BYTE 12000u

/* One tensor's codebook; k = 0: uniform levels (vectors always). */
typedef struct nmdl_q_codebook {
    int k, z;          /* centroids (2 .. the tensor's size), the zero's index */
    float *c;          /* (k) strictly increasing, finite, |c| <= 2^24, c[z] = +0 */
} nmdl_q_codebook;

typedef struct nmdl_qmodel {
    nmdl_model_config cfg;
    nmdl_tf_layout lay;
    int per_row;       /* 1: row exponents in use */
    float *base;       /* (2, n_tensors): base steps, then each tensor's
                          offset (the mean, for vectors; 0 for matrices) */
    int8_t *rexp;      /* (rows of all tensors) */
    size_t *row0;      /* (n_tensors + 1): first row of tensor k in rexp */
    int32_t *q;        /* (n_params) */
    nmdl_q_codebook *cb; /* (n_tensors), or NULL: uniform levels everywhere */
    int match;         /* what the data part adds to the transformer: 0
                          nothing, 1 the match model (flags bit 3), 2 and
                          the context mixer (bits 3 and 4), 3 both in
                          revision 2 (bits 3 to 5), r + 1 in revision r
                          = 3 to 6 (bits 3 to 5 and 7, revision byte r;
                          5: the symbol set, 6: the levels' mixed code,
                          codec/levels.h); NMDL_SC_* */
    size_t symbols;    /* > 0 (flags bit 6): the data part codes this many
                          symbols of the merges in `tokens` (codec/bpe.h),
                          not the original bytes */
    nmdl_bpe tokens;
} nmdl_qmodel;

/* The sets of adaptive models the levels are coded with: wte, wqkv, wo,
 * w1, w2, wout, and vectors. */
#define NMDL_Q_KINDS 7
int nmdl_q_kind(const nmdl_tf_tensor *t);
/* The offset every level of tensor k is taken around (0 for matrices). */
float nmdl_q_offset(const nmdl_qmodel *qm, int k);

int nmdl_q_alloc(const nmdl_model_config *cfg, nmdl_qmodel *qm);
void nmdl_q_free(nmdl_qmodel *qm);
/* Gives every matrix of qm a codebook of min(k, its size) centroids,
 * zero-filled, z = k / 2, for the caller to fill (k >= 2). */
int nmdl_q_codebooks(nmdl_qmodel *qm, int k);

/* Steps for `params`: base[k] = delta * rms(tensor k); with per_row,
 * rexp[r] = round(8 log2(s(row r) / s(tensor k))), clipped, where s is the
 * RMS of the weights, or, when `spread` (n_params variances) is given, the
 * root mean posterior variance: wide posterior, coarse step. */
void nmdl_q_set_steps(nmdl_qmodel *qm, const float *params, double delta,
                      int per_row, const float *spread);
/* The step of row r of tensor k, exactly as the decoder computes it. */
float nmdl_q_step(const nmdl_qmodel *qm, int k, size_t r);
/* The index of the centroid of c (k, sorted) nearest x; ties go down. */
int nmdl_q_nearest(const float *c, int k, double x);
/* q = nearest level (or centroid) of params under the current steps. */
void nmdl_q_quantize(nmdl_qmodel *qm, const float *params);
/* params = q * step (or c[z + q] * step) + offset: the weights the
 * decoder rebuilds. */
void nmdl_q_dequantize(const nmdl_qmodel *qm, float *params);

/* What the levels cost in the model part, as coded (ideal code length
 * under the coder's adaptive models, in bits): tensor k's, with its
 * codebook's bytes, into bits[k] (n_tensors), the row exponents' into
 * *rexp_bits. Fails only for memory. */
int nmdl_q_tensor_bits(const nmdl_qmodel *qm, double *bits, double *rexp_bits);

/* The model part: malloc'd bytes. */
int nmdl_q_encode(const nmdl_qmodel *qm, uint8_t **out, size_t *len);
/* The decoder's limits on a model's shape (docs/FORMAT.md, "Limits"):
 * what nmdl_model_config_check accepts, a head width of at most
 * NMDL_Q_MAX_HEAD and at most NMDL_Q_MAX_PARAMS parameters. NMDL_OK, or
 * NMDL_ERR_CORRUPT with the field named in why (NMDL_WHY_MAX bytes, or
 * NULL). Encoders check it before training. */
int nmdl_q_check_config(const nmdl_model_config *cfg, char *why);
/* What the start of a model part says: the shape and the flags. */
typedef struct nmdl_q_header {
    nmdl_model_config cfg;
    int per_row, codebooks; /* flags bits 1 and 2 */
    int match;              /* bits 3 to 5 and 7: as nmdl_qmodel's */
    size_t symbols;         /* bit 6: as nmdl_qmodel's (0: bytes) */
    nmdl_bpe tokens;
} nmdl_q_header;

/* The header of a model part of len bytes, checked against the limits
 * (and len against the parameters); nothing is allocated. */
int nmdl_q_read_header(const uint8_t *src, size_t len, nmdl_q_header *h, char *why);
/* Parses and validates a model part; sizes are checked against len before
 * anything is allocated. */
int nmdl_q_decode(const uint8_t *src, size_t len, nmdl_qmodel *qm);

#endif /* NMDL_QUANT_H */
