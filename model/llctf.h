/*
 * llctf.h: the transformer as a target of the LLC estimator (llc.h). Each
 * chain gets its own copy of the model's buffers, so chains run side by
 * side, each single-threaded; minibatches are `batch` windows of ctx bytes
 * drawn like training batches, and the loss is nats per predicted byte.
 */
#ifndef NMDL_LLCTF_H
#define NMDL_LLCTF_H

#include <stddef.h>
#include <stdint.h>

#include "llc.h"
#include "transformer.h"

/* nmdl_model_llc, and with spread != NULL also the posterior variance of
 * every weight (n_params floats, malloc'd; around the cooled copy when
 * r->cool_steps) into *spread, which is left untouched on error. With
 * prog, the steps count in its current phase. */
int nmdl_llctf_run(const nmdl_model *m, const uint8_t *data, size_t n,
                   const nmdl_llc_settings *s, nmdl_llc_report *r,
                   float **spread, nmdl_prog *prog);
/* The work units and sampler steps nmdl_llctf_run will count for a model
 * of shape cfg on n input bytes (a sweep of NMDL_LLC_SWEEP_PLAN steps when
 * s->step is 0). */
double nmdl_llctf_plan(const nmdl_model_config *cfg, const nmdl_llc_settings *s,
                       size_t n, long *steps);

#endif /* NMDL_LLCTF_H */
