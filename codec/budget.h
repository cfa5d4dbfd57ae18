/*
 * budget.h: how many bits per weight the model part gets.
 *
 * The theory's budget comes from the local learning coefficient λ̂ of the
 * trained model (model/llc.h): with a loss tolerance ε (nats per byte,
 * default λ̂/n, the MDL-optimal one),
 *
 *   b*(ε) = (λ̂ / d) log2(1/ε)  bits per weight,  about λ̂ log2(1/ε) in all.
 *
 * Modes: `fixed` takes a given budget; `bstar` takes b*; `search` (the
 * default) starts at b*, doubles the budget up to 8 bits, then refines
 * around the best by factors of 2^(1/2) and 2^(1/4), and keeps the budget
 * with the smallest estimated description length
 *
 *   DL(b) = 8 |model part at b| + P L(b) / ln 2  bits,
 *
 * with L(b) the loss of the plainly rounded model on a fixed sample of
 * windows (the same windows for every candidate) and P the bytes it prices:
 * n - 1, or with the match model n - 1 - f, since a byte that a long match
 * predicts costs about its flag whatever the weights (f: codec/stop.h).
 * Fine-tuning through the rounding helps low budgets most, so plain
 * rounding overrates high ones (measured on 256 KB: 2.4 bits/weight gave a
 * 3% smaller file than the 3.4 the plain search chose): with `tune` the
 * best plain budget b and b/sqrt(2), b/2 are each fine-tuned briefly from
 * the float weights and compared again. When the sampler is not healthy, or the LLC is skipped
 * (llc_skip), the search starts at 1 bit instead and the report says so.
 */
#ifndef NMDL_BUDGET_H
#define NMDL_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "../model/progress.h"
#include "quant.h"
#include "nmdl.h"

#define NMDL_BUDGET_CANDIDATES NMDL_CANDIDATES_MAX

typedef struct nmdl_budget_params {
    int mode;          /* NMDL_BUDGET_FIXED, _BSTAR, _SEARCH or _LEARNED (the
                          estimate only: the weight code learns its steps) */
    double bits;       /* fixed: the budget */
    double epsilon;    /* loss tolerance, nats per byte; 0: λ̂ / n */
    int per_row;       /* steps per row */
    int posterior;     /* rows shaped by the posterior spread, not RMS */
    nmdl_llc_settings llc;
    int llc_skip;      /* 1: no LLC (search and learned modes; the search
                          starts at 1 bit) */
    const nmdl_train_params *tune; /* brief fine-tuning of the finalists;
                                      NULL: plain rounding only */
    const nmdl_team *team; /* NULL, or members that share the candidates'
                              sample losses (llc.team shares the chains) */
    double priced_bytes;   /* P (> 0), or 0: n - 1 */
    const uint8_t *cheap;  /* NULL, or n flags: the sample loss weighs the
                              flagged bytes cheap_weight (model/train.h) */
    float cheap_weight;
} nmdl_budget_params;

typedef struct nmdl_budget_report {
    int mode;
    double llc, llc_se, nbeta, llc_step, mala;
    double llc_gamma;
    int llc_chains, llc_burnin, llc_draws; /* draws: steps after burn-in */
    int llc_start;                         /* NMDL_LLC_START_* */
    int llc_healthy;           /* -1: not estimated */
    char llc_warning[200];
    char llc_repairs[200];
    long llc_cool_steps;       /* the estimate's cold descent (0: none) */
    char llc_cool[256];        /* it in words ("" when none) */
    double epsilon, b_star;    /* NaN when not estimated */
    double predicted_model_bits; /* λ̂ log2(1/ε) */
    double bits;               /* the chosen budget */
    double loss_float_bpb;     /* the float model on the sample */
    double priced_bytes;       /* P */
    int n;                     /* candidates tried */
    double cand_bits[NMDL_BUDGET_CANDIDATES], cand_model_bits[NMDL_BUDGET_CANDIDATES],
        cand_loss_bpb[NMDL_BUDGET_CANDIDATES], cand_dl_bits[NMDL_BUDGET_CANDIDATES];
    int cand_tuned[NMDL_BUDGET_CANDIDATES]; /* 1: after brief fine-tuning */
    double llc_s, search_s;    /* seconds */
    char note[256];            /* what happened instead of the plan */
} nmdl_budget_report;

/* The step size (in row RMS units) whose entropy-coded levels cost about
 * `bits` per weight; leaves qm's steps set for it. With prog, counts its
 * work there and stops early once canceled (nmdl_prog_canceled says so;
 * the result is then meaningless). */
double nmdl_budget_delta(nmdl_qmodel *qm, const float *params, double bits,
                         int per_row, const float *spread, nmdl_prog *prog);
/* Work units of nmdl_budget_delta for a model of shape cfg. */
double nmdl_budget_delta_work(const nmdl_model_config *cfg, int threads);

/* P: the bytes whose code a sample loss prices, `priced` (> 0) or else
 * all n - 1 predicted bytes of n. */
double nmdl_budget_priced(double priced, double n);

/* The plain search alone (no LLC, no fine-tuning), doubling from `start`
 * bits per weight: the budget whose plainly rounded model gives the
 * shortest estimated DL, the loss weighed over `priced` bytes (0: n - 1),
 * the sample's targets as nmdl_budget_params.cheap says, into *bits. m's
 * weights are left as they were; qm's steps are set for the last
 * candidate. */
int nmdl_budget_plain(nmdl_model *m, const uint8_t *data, size_t n, double priced,
                      const uint8_t *cheap, float cheap_weight, nmdl_qmodel *qm, int per_row,
                      double start, double *bits);

/* Chooses the budget for the trained model m on data[0..n). With
 * p->posterior, *spread receives the posterior variances (n_params,
 * malloc'd) for nmdl_q_set_steps; otherwise it is NULL. With prog, runs
 * as its phases "llc" and "search" (NMDL_ERR_CANCELED when canceled). */
int nmdl_budget_choose(nmdl_model *m, const uint8_t *data, size_t n,
                       nmdl_qmodel *qm, const nmdl_budget_params *p,
                       int threads, float **spread, nmdl_prog *prog,
                       nmdl_budget_report *r);
/* The work units and steps (into work[], steps[] by nmdl_phase) of the
 * phases "llc" and "search" that nmdl_budget_choose will run for a model
 * of shape cfg on n bytes; the search's as if it started at the usual b*
 * (it plans again once b* is known). */
void nmdl_budget_plan(const nmdl_budget_params *p, const nmdl_model_config *cfg,
                      size_t n, int threads, double *work, long *steps);

#endif /* NMDL_BUDGET_H */
