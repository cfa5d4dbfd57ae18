/*
 * infer.h: the deterministic forward pass of the coding path.
 *
 * Given the (dequantized) parameters, it turns the bytes seen so far in each
 * of S independent segments into the next byte's probabilities, one byte
 * per segment per step, with a KV cache and a sliding window of ctx bytes.
 * Encoder and decoder call it with the same inputs and must get the same
 * bits on every machine, so it follows fixed rules:
 *
 *   - only our own loops: no BLAS, no libm (exp and GELU from dmath.c);
 *   - every dot product is one fmaf chain, acc = fmaf(a_i, b_i, acc) for
 *     i = 0, 1, ..., n-1 starting from acc = 0;
 *   - every sum over positions runs from the oldest byte in the window to
 *     the newest; vectorization is across independent outputs (rows,
 *     segments, cached keys), never across the terms of one sum;
 *   - each segment's numbers do not depend on the others, so how segments
 *     are grouped into batches or threads cannot change them.
 *
 * The exact formula of every step is written beside its code in infer.c.
 */
#ifndef NMDL_INFER_H
#define NMDL_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "transformer.h"

#define NMDL_INF_MAX_HEAD 256 /* largest head width d_model / n_head */

typedef struct nmdl_inf_weights nmdl_inf_weights;
typedef struct nmdl_inf nmdl_inf;

/* The weights of a pass, laid out for it (matrices in panels), built once
 * from parameters laid out as nmdl_tf_layout_make(cfg) describes (copied;
 * the caller may free them) and then only read: any number of passes on
 * any number of threads may share them. NMDL_ERR_ARG for a configuration
 * nmdl_model_config_check rejects or a head wider than NMDL_INF_MAX_HEAD;
 * *out is NULL on any error. */
int nmdl_inf_weights_create(const nmdl_model_config *cfg, const float *params,
                            nmdl_inf_weights **out);
void nmdl_inf_weights_free(nmdl_inf_weights *w);
/* Bytes a weights object of cfg holds, and the state of S segments
 * (key/value caches and activations) a pass holds besides; 0 for a
 * configuration the pass refuses. For memory limits, before allocating. */
size_t nmdl_inf_weights_bytes(const nmdl_model_config *cfg);
size_t nmdl_inf_state_bytes(const nmdl_model_config *cfg, int S);

/* A forward pass for S segments over shared weights, which must outlive
 * it; *out is NULL on any error. */
int nmdl_inf_create_shared(const nmdl_inf_weights *w, int S, nmdl_inf **out);
/* The same with weights of its own, built from params. */
int nmdl_inf_create(const nmdl_model_config *cfg, const float *params, int S,
                    nmdl_inf **out);
void nmdl_inf_free(nmdl_inf *inf);
/* Empties every segment's context. */
void nmdl_inf_reset(nmdl_inf *inf);
/* Feeds tok[s] to segment s (s < S) and writes the next byte's
 * probabilities to probs (S, 256). */
void nmdl_inf_step(nmdl_inf *inf, const uint8_t *tok, float *probs);

#endif /* NMDL_INFER_H */
