/*
 * gptq.h: rounding with second-order error feedback (GPTQ, Frantar et al.,
 * ICLR 2023; the optimal brain surgeon's update, one column at a time).
 *
 * Plain rounding treats every weight alone. A matrix W (out, in) acts on
 * inputs x, and what the model sees is W x: with H = Σ x xᵀ over sample
 * inputs (the Gram matrix of the matrix's inputs), the output error of a
 * change E is Σ_rows e H eᵀ. GPTQ rounds the columns in order and, after
 * column j, spreads each row's rounding error over the columns not yet
 * rounded so as to cancel its effect on the outputs:
 *
 *   U = chol(H⁻¹) (upper),  e = (w_j - q_j step) / U_jj,
 *   w_k -= e U_jk  for k > j,
 *
 * with H damped by 1% of its mean diagonal. The steps (codec/quant.h) stay
 * as set: only which level each weight takes changes, so the decoder is
 * untouched (it reads levels). Encoder only; the Gram matrices come from
 * the training forward pass (OpenBLAS) over sample windows other than the
 * budget search's, so the search does not measure a fit to its own sample.
 */
#ifndef NMDL_GPTQ_H
#define NMDL_GPTQ_H

#include <stddef.h>
#include <stdint.h>

#include "../model/train.h"
#include "quant.h"

/* The Gram matrix of every matrix's inputs, or NULL where it has none
 * (vectors). */
typedef struct nmdl_gptq {
    int n_tensors;
    float *h[NMDL_TF_MAX_TENSORS]; /* (cols, cols): Σ over sample tokens of
                                      x xᵀ, x the matrix's input (N, cols) */
} nmdl_gptq;

/* The Gram matrices of m's matrices, under m's current weights, over
 * NMDL_SAMPLE_WINDOWS windows of data[0..n) halfway between those of the
 * search's sample (nmdl_train_sample_make); wte, when tied, in its output
 * role (the inputs are the final norm's outputs). */
int nmdl_gptq_grams(nmdl_model *m, const uint8_t *data, size_t n, nmdl_gptq *g);
void nmdl_gptq_free(nmdl_gptq *g);

/* qm's levels for params under qm's current steps: GPTQ for the matrices
 * g has a Gram matrix for and that use uniform levels, nearest levels for
 * the rest. With latent (n_params, may be NULL): params, with every GPTQ
 * weight replaced by the value it was rounded from (the start of
 * fine-tuning through the rounding: nearest rounding of it gives the same
 * level). */
int nmdl_gptq_quantize(const nmdl_gptq *g, nmdl_qmodel *qm, const float *params,
                       float *latent);

#endif /* NMDL_GPTQ_H */
