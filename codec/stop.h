/*
 * stop.h: the neural attempt's early stop (docs/ARCHITECTURE.md, "Fixed
 * phases that fit the input"). At a quarter and at half of the training
 * steps, a bound from below on the two parts, from the model's loss on a
 * fixed sample then; where it reaches the frame to beat, training stops
 * (the caller then makes no parts and writes the classic frame).
 *
 *   bound = (STOP_LOSS_SHARE L (n - f) + STOP_MODEL_BITS d) / 8 bytes,
 *
 * L the sample loss in bits per byte, d the weights, f the bytes that the
 * match model predicts right inside a match of NMDL_STOP_MATCH_LEN bytes or
 * more. The budget search and the codes trained for the DL (rate, its ℓ0
 * variants, cluster) price the data over n - 1 - f bytes, and the preset
 * is chosen for n - f (codec/budget.h, codec/neural.c).
 */
#ifndef NMDL_STOP_H
#define NMDL_STOP_H

#include <stddef.h>
#include <stdint.h>

#include "../model/train.h"

typedef struct nmdl_stop {
    double beat_bytes;         /* the frame to beat */
    const uint8_t *src;
    size_t n;
    long every;                /* steps between probes */
    double free_bytes;         /* f (0 without the match model) */
    const uint8_t *cheap;      /* NULL, or n flags: the sample's weights */
    float cheap_weight;
    nmdl_train_sample sample;
    /* what the probes found */
    long probe_step;           /* the last probe, after this step (0: none) */
    double bound_bytes;        /* its bound on both parts */
    double loss_bpb;           /* L then */
    long stop_step;            /* > 0: training stopped after this step */
} nmdl_stop;

/* Makes *s the probe of a training run of `steps` steps on src[0..n) and
 * attaches it to h (whose other members it keeps), when beat_bytes > 0
 * and steps >= 4; else only clears *s. free_bytes: f, 0 without the
 * match model; cheap (may be NULL): the f bytes' flags, whose loss the
 * sample weighs cheap_weight. Free with nmdl_stop_free. */
void nmdl_stop_attach(nmdl_stop *s, double beat_bytes, const uint8_t *src, size_t n,
                      double free_bytes, const uint8_t *cheap, float cheap_weight, long steps,
                      nmdl_train_hook *h);
void nmdl_stop_free(nmdl_stop *s);

#define NMDL_STOP_MATCH_LEN 16 /* a hit of a match this long counts as free */
/* f into *out: the bytes of src[0..n) that the match model of data code
 * `match` (NMDL_SC_MATCH or later, codec/segcode.h) predicts right inside
 * a match of at least NMDL_STOP_MATCH_LEN bytes, over S segments in the
 * coder's waves, with its lookups (codec/match.h): the places the coder
 * finds. No probabilities: no table. With mark (n; may be NULL), also
 * which: 1 for a free byte, else 0. */
int nmdl_stop_free_bytes(const uint8_t *src, size_t n, int match, int S, uint8_t *mark,
                         double *out);

#endif /* NMDL_STOP_H */
