/*
 * layers.h: forward and backward kernels of the training path, as plain
 * functions over flat float buffers (row-major) with explicit dimensions.
 *
 * Shapes: N rows of activations (N = B*T tokens), C model width, OC output
 * width, H heads of width D = C/H, T window length. Backward kernels
 * accumulate (+=) into parameter gradients and write (=) activation
 * gradients unless their comment says otherwise.
 *
 * This is the training path: matrix products go through cblas_sgemm and
 * loops run on OpenMP threads. Every output element is computed by one
 * thread in an order that does not depend on the thread count, so a
 * training run is reproducible for a seed on one machine whatever -T is;
 * other machines (other OpenBLAS kernels) differ in the last bits, and so
 * do the instruction sets `isa` selects (isa.h: its reductions group
 * lanes by the vector width). The coding path never uses this file.
 */
#ifndef NMDL_LAYERS_H
#define NMDL_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "isa.h"

/* out (N, OC) = inp (N, C) @ w^T, w (OC, C); with `accumulate` out += ... */
void nmdl_ly_matmul(float *out, const float *inp, const float *w, int N,
                    int C, int OC, int accumulate, int nt);
/* dinp (N, C) = dout (N, OC) @ w  (dinp may be NULL: not wanted);
 * dw (OC, C) += dout^T @ inp. */
void nmdl_ly_matmul_backward(float *dinp, float *dw, const float *dout,
                             const float *inp, const float *w, int N, int C,
                             int OC, int nt);

/* out (N, C) = normalised inp * g + b; mean, rstd (N) kept for backward. */
void nmdl_ly_layernorm(float *out, float *mean, float *rstd, const float *inp,
                       const float *g, const float *b, int N, int C, int nt);
/* dinp (N, C) += ..., dg, db (C) += ... */
void nmdl_ly_layernorm_backward(float *dinp, float *dg, float *db,
                                const float *dout, const float *inp,
                                const float *g, const float *mean,
                                const float *rstd, int N, int C, int nt);

/* out = gelu(inp), tanh approximation (nmdl_dm_gelu), n elements. */
void nmdl_ly_gelu(float *out, const float *inp, size_t n, nmdl_isa isa, int nt);
/* dinp = dout * gelu'(inp), n elements (dinp may alias dout). */
void nmdl_ly_gelu_backward(float *dinp, const float *dout, const float *inp,
                           size_t n, nmdl_isa isa, int nt);

/* ALiBi slope of head h of H: 2^-floor(8(h+1)/H), an exact power of two. */
float nmdl_ly_alibi_slope(int h, int H);

/* Causal self-attention with ALiBi over qkv (B, T, 3C) laid out as
 * [q | k | v] per token, heads contiguous inside each. Writes the softmax
 * probabilities att (B, H, T, T) (zero above the diagonal) and the output
 * y (B, T, C). */
void nmdl_ly_attention(float *y, float *att, const float *qkv, int B, int T,
                       int C, int H, nmdl_isa isa, int nt);
/* dqkv (B, T, 3C) = gradient of qkv; scratch holds B*H*T*T floats (each
 * thread works in one (T, T) slice of it). */
void nmdl_ly_attention_backward(float *dqkv, float *scratch, const float *dy,
                                const float *att, const float *qkv, int B,
                                int T, int C, int H, nmdl_isa isa, int nt);

/* Softmax over V logits per row, in place (logits become probabilities),
 * and the cross-entropy of target[i] in losses (N), nats. */
void nmdl_ly_softmax_xent(float *probs, float *losses, const uint8_t *target,
                          int N, int V, nmdl_isa isa, int nt);
/* probs (N, V) becomes dlogits = (probs - onehot(target)) * scale, row i
 * also times weight[i] (weight may be NULL: 1). */
void nmdl_ly_softmax_xent_backward(float *probs, const uint8_t *target, const float *weight,
                                   float scale, int N, int V, int nt);

#endif /* NMDL_LAYERS_H */
