/*
 * stop.c: see stop.h.
 */
#include "stop.h"

#include <math.h>
#include <string.h>

#include "match.h"
#include "neural.h"
#include "segcode.h"

/* The factors sit below every ratio measured (2026-12-02, default effort
 * and -1, enwik8 64 KB to 1 MB, gcide 1 and 8 MB; docs/ARCHITECTURE.md):
 * the coded data part came to 0.65-0.82 x the loss at a quarter of
 * training (0.74-0.95 x for the transformer alone), the model part to
 * 1.42-3.5 bits per weight. */
#define STOP_PROBES 2          /* at 1/4 and 2/4 of the steps */
#define STOP_LOSS_SHARE 0.6    /* data bits per byte / L */
#define STOP_MODEL_BITS 1.25   /* bits per weight */

int nmdl_stop_free_bytes(const uint8_t *src, size_t n, int match, int S, uint8_t *mark,
                         double *out)
{
    const int rev = nmdl_sc_rev(match), W = nmdl_mm_wave(rev);
    nmdl_mm_index x;
    int rc = nmdl_mm_index_init(&x, n, rev);
    double hits = 0;
    for (int s = 0; !rc && s < S; s++) {
        size_t start, len;
        nmdl_mm m;
        nmdl_neural_segment(n, S, s, &start, &len);
        if (s % W == 0) /* the prefix: the text before the wave */
            nmdl_mm_index_extend(&x, src, start);
        if ((rc = nmdl_mm_init(&m, &x, src, start, len, NULL)))
            break;
        for (size_t i = 0; i < len; i++) {
            int b = nmdl_mm_predict(&m), hit = b == src[start + i];
            const int free_byte = hit && m.len >= NMDL_STOP_MATCH_LEN;
            hits += free_byte;
            if (mark)
                mark[start + i] = (uint8_t)free_byte;
            nmdl_mm_update(&m, i, 0, hit);
        }
        nmdl_mm_free(&m);
    }
    nmdl_mm_index_free(&x);
    *out = hits;
    return rc;
}

/* The training hook's stop: the bound at each probe. A probe that cannot
 * be made (no memory) lets training go on. */
static int check(void *user, nmdl_model *m, long done)
{
    nmdl_stop *s = user;
    double nats;
    if (done % s->every || done / s->every > STOP_PROBES)
        return 0;
    if (!s->sample.k && nmdl_train_sample_make(&s->sample, s->src, s->n, m->cfg.ctx, s->cheap,
                                                    s->cheap_weight))
        return 0;
    if (nmdl_train_sample_loss(m, &s->sample, NULL, &nats))
        return 0;
    s->probe_step = done;
    s->loss_bpb = nats / log(2.0);
    s->bound_bytes = (STOP_LOSS_SHARE * s->loss_bpb * ((double)s->n - s->free_bytes) +
                      STOP_MODEL_BITS * (double)m->lay.n_params) / 8;
    if (s->bound_bytes < s->beat_bytes)
        return 0;
    s->stop_step = done;
    return 1;
}

void nmdl_stop_attach(nmdl_stop *s, double beat_bytes, const uint8_t *src, size_t n,
                      double free_bytes, const uint8_t *cheap, float cheap_weight, long steps,
                      nmdl_train_hook *h)
{
    memset(s, 0, sizeof *s);
    if (!(beat_bytes > 0) || steps < 4)
        return;
    s->beat_bytes = beat_bytes;
    s->src = src;
    s->n = n;
    s->every = steps / 4;
    s->free_bytes = free_bytes;
    s->cheap = cheap;
    s->cheap_weight = cheap_weight;
    h->stop = check;
    h->stop_user = s;
}

void nmdl_stop_free(nmdl_stop *s)
{
    nmdl_train_sample_free(&s->sample);
}
