/*
 * gptq.c: plain rounding against rounding with second-order error feedback
 * (codec/gptq.h) on a trained checkpoint and its corpus, at the steps the
 * budget search would set for several budgets: coded bits per weight, the
 * loss on the search's sample (bits per byte) and the estimated whole DL
 * (model bytes + (n - 1) x loss / 8), for nearest levels, GPTQ on every
 * matrix, and GPTQ on every matrix but the (tied) embedding. With
 * steps=S, then S steps of fine-tuning through the rounding (as the budget
 * search's finalists and the final fine-tuning do) at a few budgets, from
 * the float weights and from GPTQ's.
 * usage: bench_gptq CHECKPOINT CORPUS [steps=S] [lr=X] [threads=T]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/budget.h"
#include "codec/gptq.h"
#include "codec/quant.h"
#include "codec/rate.h"
#include "model/train.h"
#include "nmdl.h"

#include "benchio.h"

static const double BUDGETS[] = {1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0}; /* bits/weight */
#define NB (int)(sizeof BUDGETS / sizeof BUDGETS[0])
static const char *const WAYS[] = {"nearest", "GPTQ", "GPTQ but wte"};
static const double TUNED[] = {2.0, 2.5, 3.0, 3.5}; /* bits/weight */
#define NT (int)(sizeof TUNED / sizeof TUNED[0])

/* Codes qm's levels and measures the rebuilt model on s: one table row. */
static int row(nmdl_model *m, nmdl_qmodel *qm, const nmdl_train_sample *s, size_t n,
               double budget, const char *way, double *best)
{
    uint8_t *buf;
    size_t len;
    double nats;
    if (nmdl_q_encode(qm, &buf, &len))
        return 1;
    free(buf);
    nmdl_q_dequantize(qm, m->params);
    if (nmdl_train_sample_loss(m, s, NULL, &nats))
        return 1;
    double dl = (double)len + (double)(n - 1) * nats / log(2.0) / 8;
    *best = fmin(*best, dl);
    printf("| %.1f | %s | %.3f | %.4f | %.0f |\n", budget, way,
           8.0 * (double)len / (double)qm->lay.n_params, nats / log(2.0), dl);
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t *ck, *data;
    size_t ck_len, n;
    nmdl_model *m;
    if (argc < 3 || bench_read_file(argv[1], &ck, &ck_len) || bench_read_file(argv[2], &data, &n) ||
        nmdl_model_load(ck, ck_len, &m)) {
        fprintf(stderr, "usage: bench_gptq CHECKPOINT CORPUS [steps=S] [lr=X] [threads=T]\n");
        return 2;
    }
    const size_t d = m->lay.n_params;
    nmdl_qmodel qm;
    nmdl_train_sample s;
    nmdl_gptq g;
    float *w = malloc(d * sizeof(float));
    if (!w || nmdl_q_alloc(&m->cfg, &qm) || nmdl_train_sample_make(&s, data, n, m->cfg.ctx) ||
        nmdl_gptq_grams(m, data, n, &g))
        return 1;
    memcpy(w, m->params, d * sizeof(float));
    double nats;
    if (nmdl_train_sample_loss(m, &s, NULL, &nats))
        return 1;
    printf("%s on %s: %zu parameters, %zu bytes, float loss %.4f bits/byte on %d windows\n\n",
           argv[1], argv[2], d, n, nats / log(2.0), s.k);
    printf("| budget | levels | bits/weight | loss (bits/byte) | est. DL (bytes) |\n");
    printf("|---|---|---|---|---|\n");
    double best[3] = {INFINITY, INFINITY, INFINITY};
    float *wte = g.h[0]; /* the layout's first tensor */
    for (int b = 0; b < NB; b++) {
        nmdl_budget_delta(&qm, w, BUDGETS[b], 1, NULL, NULL);
        nmdl_q_quantize(&qm, w);
        if (row(m, &qm, &s, n, BUDGETS[b], WAYS[0], &best[0]))
            return 1;
        for (int way = 1; way < 3; way++) {
            g.h[0] = way == 1 ? wte : NULL;
            if (nmdl_gptq_quantize(&g, &qm, w, NULL) ||
                row(m, &qm, &s, n, BUDGETS[b], WAYS[way], &best[way]))
                return 1;
        }
        g.h[0] = wte;
    }
    printf("\nbest estimated DL (bytes): nearest %.0f, GPTQ %.0f, GPTQ but wte %.0f\n", best[0],
           best[1], best[2]);
    nmdl_train_params tp;
    nmdl_train_params_default(&tp);
    tp.steps = (long)bench_opt(argc, argv, "steps", 0);
    tp.batch = 16;
    tp.lr = bench_opt(argc, argv, "lr", 5e-4);
    tp.warmup = 0.05;
    tp.weight_decay = 0.0;
    tp.threads = (int)bench_opt(argc, argv, "threads", 1);
    if (tp.steps > 0)
        printf("\nafter %ld steps of fine-tuning through the rounding:\n\n| budget | start | "
               "bits/weight | loss (bits/byte) | est. DL (bytes) |\n|---|---|---|---|---|\n",
               tp.steps);
    best[0] = best[1] = INFINITY;
    float *latent = malloc(d * sizeof(float));
    for (int b = 0; tp.steps > 0 && b < NT; b++)
        for (int way = 0; way < 2; way++) {
            nmdl_train_hook hook;
            nmdl_budget_delta(&qm, w, TUNED[b], 1, NULL, NULL);
            if (!latent || nmdl_gptq_quantize(&g, &qm, w, latent))
                return 1;
            memcpy(m->params, way ? latent : w, d * sizeof(float));
            nmdl_rate_round_hook(&qm, &hook);
            if (nmdl_train_run(m, data, n, &tp, &hook, NULL, NULL))
                return 1;
            nmdl_q_quantize(&qm, m->params);
            if (row(m, &qm, &s, n, TUNED[b], way ? "GPTQ" : "float weights", &best[way]))
                return 1;
        }
    if (tp.steps > 0)
        printf("\nbest tuned DL (bytes): from the float weights %.0f, from GPTQ %.0f\n",
               best[0], best[1]);
    free(latent);
    nmdl_gptq_free(&g);
    nmdl_train_sample_free(&s);
    nmdl_q_free(&qm);
    nmdl_model_free(m);
    free(w), free(ck), free(data);
    return 0;
}
