/*
 * transformer.h: the byte-level decoder-only transformer on the training
 * path: parameter layout, forward and backward over a batch of windows.
 *
 *   x0 = wte[byte]                                  (no position embedding)
 *   per block: x += Wo  attn_alibi(Wqkv LN1(x))     causal, ALiBi biases
 *              x += W2  gelu(W1 LN2(x))
 *   logits = Wout LNf(x)                            Wout = wte when tied
 *
 * All parameters live in one float array; nmdl_tf_layout names every
 * tensor (name, shape, offset), in order: wte, then per block ln1_g ln1_b
 * wqkv wo ln2_g ln2_b w1 w2, then lnf_g lnf_b, then wout when untied. A
 * block's parameters are contiguous. Matrices are (out, in), row-major.
 */
#ifndef NMDL_TRANSFORMER_H
#define NMDL_TRANSFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "isa.h"
#include "nmdl.h"
#include "progress.h"

#define NMDL_TF_VOCAB 256
#define NMDL_TF_MAX_LAYERS 32
#define NMDL_TF_MAX_TENSORS (8 * NMDL_TF_MAX_LAYERS + 4)
/* The checkpoint file (model/checkpoint.c, docs/FORMAT.md "Checkpoint"):
 * a header of this many bytes (magic 4, version, flags, reserved 2,
 * 5 x u32, u64), float32 parameters, a BLAKE2b checksum of this many. */
#define NMDL_CKPT_HEADER 36
#define NMDL_CKPT_SUM 16

typedef struct nmdl_tf_block { /* offsets into the parameter array */
    size_t ln1_g, ln1_b;       /* (C) */
    size_t wqkv;               /* (3C, C): rows q, then k, then v */
    size_t wo;                 /* (C, C) */
    size_t ln2_g, ln2_b;       /* (C) */
    size_t w1;                 /* (F, C) */
    size_t w2;                 /* (C, F) */
} nmdl_tf_block;

typedef struct nmdl_tf_tensor {
    char name[16];  /* "wte", "h0.wqkv", "lnf_g", ... */
    size_t off;     /* first element in the parameter array */
    int rows, cols; /* a vector has rows == 1 */
    int by_symbol;  /* 1: row b belongs to symbol b (wte, wout) */
} nmdl_tf_tensor;

typedef struct nmdl_tf_layout {
    size_t wte;          /* (256, C) */
    size_t lnf_g, lnf_b; /* (C) */
    size_t wout;         /* (256, C); equals wte when tied */
    nmdl_tf_block block[NMDL_TF_MAX_LAYERS];
    int n_tensors;
    nmdl_tf_tensor tensor[NMDL_TF_MAX_TENSORS];
    size_t n_params;
} nmdl_tf_layout;

/* Activations of one forward pass over N = B*T tokens, kept for backward;
 * pointers into the model's arena. */
typedef struct nmdl_tf_acts {
    float *x[NMDL_TF_MAX_LAYERS + 1];  /* (N, C) residual entering block l;
                                          x[L] leaves the last block */
    float *ln1[NMDL_TF_MAX_LAYERS], *ln1_mean[NMDL_TF_MAX_LAYERS],
        *ln1_rstd[NMDL_TF_MAX_LAYERS];   /* (N, C), (N), (N) */
    float *qkv[NMDL_TF_MAX_LAYERS];      /* (N, 3C) */
    float *att[NMDL_TF_MAX_LAYERS];      /* (B, H, T, T) probabilities */
    float *atty[NMDL_TF_MAX_LAYERS];     /* (N, C) before Wo */
    float *xmid[NMDL_TF_MAX_LAYERS];     /* (N, C) after the attention */
    float *ln2[NMDL_TF_MAX_LAYERS], *ln2_mean[NMDL_TF_MAX_LAYERS],
        *ln2_rstd[NMDL_TF_MAX_LAYERS];
    float *fch[NMDL_TF_MAX_LAYERS];      /* (N, F) before gelu */
    float *fcg[NMDL_TF_MAX_LAYERS];      /* (N, F) after gelu */
    float *lnf, *lnf_mean, *lnf_rstd;    /* (N, C), (N), (N) */
    float *probs;                        /* (N, 256); dlogits in backward */
    float *losses;                       /* (N) nats */
    /* backward scratch */
    float *dx, *dln, *datty;             /* (N, C) */
    float *dqkv;                         /* (N, 3C) */
    float *dfc;                          /* (N, F) */
    float *datt;                         /* (B, H, T, T) */
} nmdl_tf_acts;

struct nmdl_model {
    nmdl_model_config cfg;
    nmdl_tf_layout lay;
    float *params; /* n_params */
    float *grads;  /* n_params, allocated by nmdl_tf_reserve */
    int threads;   /* OpenMP threads of the layer loops */
    nmdl_isa isa;  /* the layer loops' instruction set (isa.h) */
    float *arena;  /* activations for up to cap_tokens tokens */
    size_t arena_floats;
    int cap_B, cap_T;
    nmdl_tf_acts a;       /* laid out for the last forward's B, T */
    const uint8_t *y;     /* targets of the last forward (N) */
    const uint8_t *x;     /* inputs of the last forward (N) */
    int B, T;             /* of the last forward */
    nmdl_prog *prog;      /* a job the passes report to between blocks, and
                             stop for (NMDL_ERR_CANCELED); NULL: none */
};

void nmdl_tf_layout_make(const nmdl_model_config *c, nmdl_tf_layout *lay);
/* The most columns of any of lay's tensors (at least 1). */
int nmdl_tf_widest(const nmdl_tf_layout *lay);
/* Allocates gradients and an activation arena for batches of up to B
 * windows of T <= ctx bytes. Nothing is allocated after this. */
int nmdl_tf_reserve(nmdl_model *m, int B, int T);
/* Forward over x (B, T) bytes. With targets y (B, T), fills a.losses and
 * sets *loss to their mean in nats per token; without (y NULL), only the
 * probabilities. */
int nmdl_tf_forward(nmdl_model *m, const uint8_t *x, const uint8_t *y, int B,
                    int T, double *loss);
/* grads += d(mean loss of the last forward)/d(params), each target's
 * loss times weight (B, T; may be NULL: 1). */
int nmdl_tf_backward(nmdl_model *m, const float *weight);
void nmdl_tf_zero_grad(nmdl_model *m);
/* Is tensor k a matrix (weight decay applies)? */
int nmdl_tf_is_matrix(const nmdl_tf_tensor *t);
/* c's symbol set from the n symbols at s: every symbol they lack is
 * absent. */
void nmdl_tf_symbol_set(nmdl_model_config *c, const uint8_t *s, size_t n);
/* Is symbol b (0..255) absent from c's symbol set (c->absent)? */
int nmdl_tf_absent(const nmdl_model_config *c, int b);
/* Symbols in c's symbol set (256 without one). */
int nmdl_tf_symbols(const nmdl_model_config *c);
/* Is row `row` of tensor t the row of an absent symbol (in wte, or in
 * wout when untied)? Such rows stay zero and are not coded. */
int nmdl_tf_absent_row(const nmdl_model_config *c, const nmdl_tf_tensor *t, int row);
/* logits (rows, 256): each absent symbol's becomes -2^100, finite (the
 * coding path's softmax takes a row with a non-finite logit for broken)
 * and so far below the others that the softmax gives it exactly 0 and no
 * gradient. */
void nmdl_tf_mask_logits(const nmdl_model_config *c, float *logits, size_t rows);

#endif /* NMDL_TRANSFORMER_H */
