/*
 * cluster.h: weight clustering (seed 003), the weight code of
 * --weights cluster. Every matrix gets a codebook of K centroids
 * (quant.h): k-means over its weights divided by their rows' steps (base
 * step = the tensor's RMS, row exponents as usual, so the rows of a
 * tensor share one codebook of unit scale), one centroid pinned at 0 so
 * that level 0 is a zero weight and a level's magnitude counts places
 * from the zero centroid, which is what the level coder prices. Vectors
 * keep uniform levels at a fine step.
 *
 * Trained through the assignment, in the last steps of a training run
 * (model/train.h's hook): the passes see every matrix weight replaced by
 * its centroid (straight-through gradients), and every `refresh` steps
 * the centroids move to the means of the weights assigned to them (one
 * k-means step; the zero stays). With mu > 0 the assignment is entropy-
 * constrained (Chou, Lookabaugh and Gray 1989): a weight x (in steps)
 * goes to the centroid j minimizing (x - c_j)^2 + mu bits_j, bits_j =
 * -log2 of the share of the tensor's weights at j, which pulls weights to
 * the cheap centroids; the final encoding codes that same assignment.
 *
 * K is chosen when the steps begin, from NMDL_CLUSTER_KS, by the
 * estimated whole description length, as codec/budget.c measures its
 * candidates:
 *
 *   DL(K) = 8 |model part| + P L(K) / ln 2  bits,
 *
 * L(K) the clustered model's loss on the fixed sample of model/train.h, P
 * the bytes it is priced over (nmdl_cluster_params.priced).
 */
#ifndef NMDL_CLUSTER_H
#define NMDL_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"
#include "../model/train.h"

#define NMDL_CLUSTER_NK 5 /* candidates for K */
extern const int nmdl_cluster_ks[NMDL_CLUSTER_NK]; /* 3, 5, 9, 17, 33 */

typedef struct nmdl_cluster_params {
    double n;           /* bytes the data part codes */
    double priced;      /* P, the bytes the loss is weighed over: n - 1 less
                           those long matches predict; 0: n - 1 */
    nmdl_model *model;  /* with k 0: the model trained, and its data */
    const uint8_t *data;
    const uint8_t *cheap; /* NULL, or n flags: as nmdl_budget_params.cheap */
    float cheap_weight;
    int k;              /* centroids per matrix; 0: chosen by DL */
    int per_row;        /* row exponents (quant.h) */
    double vec_delta;   /* vectors' uniform step in units of their RMS, (0, 1] */
    int refresh;        /* steps between k-means steps; 0: centroids fixed;
                           -1 (default): two fifths of the hook's steps */
    double mu;          /* entropy constraint, in squares of the fit's grid
                           spacing per bit; 0: the nearest centroid */
} nmdl_cluster_params;

/* The defaults for model m trained on data (n bytes): K chosen by DL,
 * row steps, vectors at a quarter of their RMS, two refreshes. */
void nmdl_cluster_params_default(nmdl_cluster_params *p, nmdl_model *m, const uint8_t *data,
                                 size_t n);

typedef struct nmdl_cluster {
    nmdl_cluster_params p;
    nmdl_qmodel *qm;    /* its steps and codebooks are what the hook sets */
    long t;             /* steps of the hook so far */
    int k;              /* the centroids per matrix in use */
    float *bits;        /* (n_tensors, kmax) what each centroid costs */
    double *acc;        /* (2 kmax) a k-means step's sums and counts */
    double *mu;         /* (n_tensors) the entropy constraint, steps^2 per bit */
    int kmax;
    int n_cand;         /* the choice of K: candidates tried */
    int cand_k[NMDL_CLUSTER_NK];
    double cand_model_bits[NMDL_CLUSTER_NK], cand_loss_bpb[NMDL_CLUSTER_NK],
        cand_dl_bits[NMDL_CLUSTER_NK];
} nmdl_cluster;

/* Sets up c for qm (allocated, shape of the model); free with
 * nmdl_cluster_free. */
int nmdl_cluster_init(nmdl_cluster *c, nmdl_qmodel *qm, const nmdl_cluster_params *p);
void nmdl_cluster_free(nmdl_cluster *c);
/* The hook for a training run of `total` steps whose last `steps` train
 * through the assignment. */
void nmdl_cluster_hook(nmdl_cluster *c, long total, long steps, nmdl_train_hook *h);
/* What the hook does when its steps begin: K chosen (unless given), then
 * the fit of w. */
int nmdl_cluster_start(nmdl_cluster *c, const float *w);
/* Steps and codebooks of k centroids per matrix for the weights w
 * (k-means from an even grid), as c's settings say. */
int nmdl_cluster_fit(nmdl_cluster *c, const float *w, int k);
/* The levels of w (into qm->q) under the current codebooks: the hook's
 * assignment, which the model part then codes. */
void nmdl_cluster_assign(nmdl_cluster *c, const float *w);

#endif /* NMDL_CLUSTER_H */
