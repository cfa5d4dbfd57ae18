/*
 * train.h: AdamW training and evaluation of the transformer (the public
 * nmdl_model_train / nmdl_model_eval), plus the pieces the LLC sampler and
 * the quantizer reuse: minibatches of random windows and the schedule.
 */
#ifndef NMDL_TRAIN_H
#define NMDL_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "progress.h"
#include "rng.h"
#include "team.h"
#include "transformer.h"

/* x, y (B, T): B windows at uniformly random starts in data[0..n), y one
 * byte ahead of x; the starts into start (B; may be NULL). Needs n > T. */
void nmdl_train_batch(nmdl_rng *r, const uint8_t *data, size_t n, int B,
                      int T, uint8_t *x, uint8_t *y, size_t *start);
/* Each step's windows are cut into this many groups (fewer when the batch
 * has fewer windows), whose gradients are computed one after another, or
 * by the members of a team, and folded in group order (model/team.h): the
 * weights are the same bytes for any team size. The four passes cost 2%
 * or less against one of 16 windows on tiny and mini, within the machine's
 * noise (docs/BENCHMARKS.md, "Beyond one machine"). */
#define NMDL_TRAIN_GROUPS 4

/* A change to what training optimizes, from step `from` of the run on
 * (the weight codes of codec/ use it; training knows nothing of codes):
 *   begin     once, before step `from`, with the float weights w;
 *   project   what the forward and backward passes see instead of w
 *             (n_params; rounded or perturbed weights); the gradients
 *             pass straight through to w, which AdamW updates;
 *   penalize  after the loss gradient (nats per token, at the projected
 *             weights) is clipped: adds the gradient of a penalty on w in
 *             the same unit to grads, and may learn from grads;
 *   stop      after every step of the run (from step 0, whatever `from`),
 *             with the model at its new weights and the steps done: a
 *             non-zero return ends the run there with NMDL_OK.
 * Any of the four may be NULL. */
typedef struct nmdl_train_hook {
    long from;
    int (*begin)(void *user, const float *w);
    void (*project)(void *user, const float *w, float *out);
    void (*penalize)(void *user, const float *w, float *grads, long step,
                     long total);
    void *user;
    int (*stop)(void *stop_user, nmdl_model *m, long done);
    void *stop_user;
} nmdl_train_hook;

/* nmdl_model_train, with a hook (may be NULL) that changes the objective
 * (quantization-aware fine-tuning, rate-aware training; a hook from step 0
 * makes the run a fine-tuning phase).
 * With a job, every step counts nmdl_train_step_work units in the job's
 * current phase, p->progress is not used, and a cancel returns
 * NMDL_ERR_CANCELED. Without one the run reports to p->progress as a job
 * of its own, and a non-zero return there (or from p->checkpoint) stops
 * training with NMDL_OK. report->steps is the number of steps run. */
int nmdl_train_run(nmdl_model *m, const uint8_t *data, size_t n,
                   const nmdl_train_params *p, const nmdl_train_hook *hook, nmdl_prog *job,
                   nmdl_train_report *report);
/* Model FLOPs of training on one byte, forward and backward (6 N + 12 L C T,
 * the PaLM count bench/train uses), and of one step of `batch` windows:
 * the work unit of every job (model/progress.h). */
double nmdl_train_flops_per_byte(const nmdl_model_config *c);
double nmdl_train_step_work(const nmdl_model_config *c, int batch);
/* A fixed loss sample: up to NMDL_SAMPLE_WINDOWS windows of T bytes spread
 * evenly over the data, so that losses under different weights compare on
 * the same bytes (the budget search and the compressibility bisection). */
#define NMDL_SAMPLE_WINDOWS 64
typedef struct nmdl_train_sample {
    int k, T;       /* windows, bytes per window */
    uint8_t *x, *y; /* (k, T) inputs, and targets one byte ahead */
    float *w;       /* (k, T) the targets' weights, or NULL: alike */
    double w_sum;   /* their sum */
    const nmdl_team *team; /* NULL (as made): alone; else its members share
                              the forward passes and all get the same loss */
} nmdl_train_sample;

/* Needs n > T; free with nmdl_train_sample_free. cheap (n flags, may be
 * NULL) weighs the targets as nmdl_train_params.cheap does: a flagged one
 * cheap_weight, another 1 (all alike where every target is flagged at
 * weight 0). */
int nmdl_train_sample_make(nmdl_train_sample *s, const uint8_t *data, size_t n, int T,
                           const uint8_t *cheap, float cheap_weight);
void nmdl_train_sample_free(nmdl_train_sample *s);
/* The model's mean loss on the sample (weighted: s->w) in *nats (nats per
 * byte), through
 * the training forward pass in batches of up to 16 windows, each counted
 * in job (may be NULL; NMDL_ERR_CANCELED once canceled). With s->team, each
 * member passes its share of the batches and the batches' sums are added
 * in batch order, as alone. */
int nmdl_train_sample_loss(nmdl_model *m, const nmdl_train_sample *s,
                           nmdl_prog *job, double *nats);
/* Work units of nmdl_train_sample_loss on the sample of n bytes. */
double nmdl_train_sample_work(const nmdl_model_config *cfg, size_t n);
/* The schedule's defaults for the model shape c: the peak rate where
 * p->lr is 0, the final fraction where p->lr_final is negative. */
void nmdl_train_schedule(const nmdl_model_config *c, nmdl_train_params *p);
/* Learning rate at step s of `total`: linear warmup, then cosine decay
 * from p->lr to p->lr * p->lr_final. */
double nmdl_train_lr(const nmdl_train_params *p, long s, long total);

#endif /* NMDL_TRAIN_H */
