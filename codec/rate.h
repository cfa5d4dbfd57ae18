/*
 * rate.h: training for the description length. The weight code (quant.h)
 * turns weights into levels and levels into bits; this module makes the
 * training loop (model/train.h, through its hook) optimize
 *
 *   DL(w) = P L(w) / ln 2  +  a R(w)   bits,
 *
 * the data part's bits under the coded model plus the model part's, the
 * latter weighed by a (nmdl_rate_params.weight, NMDL_RATE_WEIGHT; P the
 * bytes the loss is priced over: n - 1, less those long matches predict
 * with the match model, nmdl_rate_params.priced), in
 * two stages at the end of a training run:
 *
 *   noise  the forward pass sees w + Δ u, u uniform in [-1/2, 1/2) per
 *          weight and step (Δ the weight's step), the proxy of rounding
 *          that learned codecs use (Ballé et al.); R is the cost of the
 *          levels w / Δ under a per-kind table of what the level coder
 *          spends, interpolated between integers; each tensor's base step
 *          is learned (in log space, with its own Adam) from the gradient
 *          of both terms;
 *   round  the steps are frozen and the forward pass sees the rounded
 *          weights (straight-through), so the model that is coded is the
 *          model that was trained; R keeps pulling weights to cheap levels.
 *
 * The cost table comes from the running level statistics: every
 * RATE_REFRESH steps the weights are quantized, and per kind of tensor
 * (the coder's contexts) the cost of |level| k is -log2 of its frequency
 * (plus a sign bit), so the estimate follows the coder as weights move.
 * Units: the penalty's gradient is added in nats per token, the unit of
 * the training loss, i.e. a R ln 2 / P per token.
 */
#ifndef NMDL_RATE_H
#define NMDL_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"
#include "../model/rng.h"
#include "../model/train.h"

/* The model's bits weigh 1.5 times the data's by default: the data part
 * is the mixer's, which absorbs much of the transformer's loss, so pricing
 * that loss at face value keeps model bits that buy less than they cost
 * (docs/BENCHMARKS.md, "The rate weight 1.5"). */
#define NMDL_RATE_WEIGHT 1.5

#define NMDL_RATE_LEVELS 48 /* |level| costed one by one below this */

/* What pulls the weights to cheap levels in the noise stage (the steps
 * are learned from the cost table's rate in every case):
 *   RATE  the cost table's rate itself, R(w);
 *   DRR   seed 002's smooth relaxation of the l0 norm, a (1 - e^-|x|) per
 *         weight (x in steps), a the bits a nonzero level costs over a zero;
 *   RL1   seed 002's relaxed l1, a |x|; zeros are frozen for the rounding
 *         stage, which runs without the penalty;
 *   PMMP  seed 002's probabilistic minimax pruning: keep-probabilities p,
 *         shadow weights v and a multiplier u per tensor, the Lagrangian
 *         a sum p + u sum ((w - v p)^2 + v^2 p (1 - p)) in units of steps;
 *         weights with p < 1/2 are pruned (frozen at zero) for rounding. */
enum { NMDL_RATE_PEN_RATE, NMDL_RATE_PEN_DRR, NMDL_RATE_PEN_RL1, NMDL_RATE_PEN_PMMP };

typedef struct nmdl_rate_params {
    double n;         /* bytes the data part codes */
    double priced;    /* P, the bytes the loss is weighed over: n - 1 less
                         those long matches predict; 0: n - 1 */
    double weight;    /* of the model bits against the data bits: 1 = DL;
                         by default NMDL_RATE_WEIGHT */
    double bits;      /* starting budget, bits per weight; 0: the plain
                         search's best on model and data (budget.h) */
    nmdl_model *model; /* with bits 0: the model trained, and its data */
    const uint8_t *data;
    const uint8_t *cheap; /* NULL, or n flags: as nmdl_budget_params.cheap */
    float cheap_weight;
    double round_share; /* the last fraction of the hook's steps: rounding */
    double step_lr;   /* Adam's learning rate for the log base steps */
    int per_row;      /* row exponents (quant.h) */
    int penalty;      /* NMDL_RATE_PEN_* */
    uint64_t seed;    /* the noise */
} nmdl_rate_params;

void nmdl_rate_params_default(nmdl_rate_params *p);

typedef struct nmdl_rate {
    nmdl_rate_params p;
    nmdl_qmodel *qm;  /* its steps are what the stages set */
    long from, to;    /* the hook's steps: noise from, rounding from `to` */
    nmdl_rng rng;
    float *u;         /* (n_params) this step's noise, in steps */
    float *cost;      /* (kinds, NMDL_RATE_LEVELS + 1) bits of |level| */
    double *s, *m1, *m2; /* (n_tensors) log base step, Adam moments */
    float *pm;        /* PMMP: (3 n_params) p, v, and Adam's second moments */
    double *mult;     /* PMMP: (n_tensors) the multipliers u */
    uint8_t *mask;    /* (n_params) 1: frozen at level zero (RL1, PMMP) */
    double nz_bits[NMDL_Q_KINDS]; /* the bits a nonzero level costs over a zero */
    long t;           /* steps of the hook so far */
    double start_bits; /* the budget the steps started from */
    double est_bits;  /* the model bits the table last estimated */
} nmdl_rate;

/* Sets up r for qm (allocated, shape of the model); free with
 * nmdl_rate_free. */
int nmdl_rate_init(nmdl_rate *r, nmdl_qmodel *qm, const nmdl_rate_params *p);
void nmdl_rate_free(nmdl_rate *r);
/* The hook for a training run of `total` steps whose last `steps` are
 * rate-aware. */
void nmdl_rate_hook(nmdl_rate *r, long total, long steps, nmdl_train_hook *h);
/* The hook of plain quantization-aware fine-tuning: the passes see qm's
 * rounding of the weights under its current steps. */
void nmdl_rate_round_hook(nmdl_qmodel *qm, nmdl_train_hook *h);
/* After the run: the frozen zeros (RL1, PMMP) written into w, so that
 * quantizing w codes what was trained. */
void nmdl_rate_finish(const nmdl_rate *r, float *w);
/* The estimate of what the level coder spends on w's levels, in bits:
 * quantizes w (into qm->q) and rebuilds the cost table from its levels. */
double nmdl_rate_estimate(nmdl_rate *r, const float *w);

#endif /* NMDL_RATE_H */
