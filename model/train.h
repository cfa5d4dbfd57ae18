/*
 * train.h: AdamW training and evaluation of the transformer (the public
 * nmdl_model_train / nmdl_model_eval), plus the pieces the LLC sampler and
 * the quantizer reuse: minibatches of random windows and the schedule.
 */
#ifndef NMDL_TRAIN_H
#define NMDL_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"
#include "rng.h"
#include "transformer.h"

/* x, y (B, T): B windows at uniformly random starts in data[0..n), y one
 * byte ahead of x. Needs n > T. */
void nmdl_train_batch(nmdl_rng *r, const uint8_t *data, size_t n, int B,
                      int T, uint8_t *x, uint8_t *y);
/* nmdl_model_train, optionally quantization-aware: with qm, every forward
 * and backward pass sees the weights rounded to qm's levels under its
 * current steps, and the gradients pass straight through the rounding to
 * the float weights, which AdamW updates. */
int nmdl_train_run(nmdl_model *m, const uint8_t *data, size_t n,
                   const nmdl_train_params *p, nmdl_qmodel *qm,
                   nmdl_train_report *report);
/* Learning rate at step s of `total`: linear warmup, then cosine decay
 * from p->lr to p->lr * p->lr_final. */
double nmdl_train_lr(const nmdl_train_params *p, long s, long total);

#endif /* NMDL_TRAIN_H */
