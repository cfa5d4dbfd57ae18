/*
 * quant.c: the quantizer's choices measured on a trained checkpoint and its
 * corpus, at plain rounding (before any fine-tuning, as the prototype
 * measured them). Three ways to set the steps: per row from each row's RMS
 * (nmdl's default), one step per tensor, and per row from the SGLD
 * posterior's spread (`--row-steps posterior`; one LLC estimate with the
 * default settings). For each, at several step sizes (named by the bits per
 * weight they cost untrimmed), every row's levels are also clamped to κ
 * times its largest level (trimming the range; κ = 1 is none, what nmdl
 * does) and coded as nmdl codes them. The table gives the coded bits per
 * weight, the loss on the budget search's sample (bits per byte) and the
 * estimated whole DL (model bytes + (n - 1) x loss / 8), then the best DL
 * of each row-step rule and κ.
 * usage: bench_quant CHECKPOINT CORPUS
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/budget.h"
#include "model/llctf.h"
#include "codec/quant.h"
#include "model/train.h"
#include "nmdl.h"

#include "benchio.h"

static const double KAPPAS[] = {1.0, 0.9, 0.8, 0.7, 0.6, 0.5};
static const double BUDGETS[] = {2.0, 2.5, 3.0, 3.5, 4.0, 5.0}; /* bits/weight */
static const char *const RULES[] = {"per-row RMS", "per-tensor", "per-row posterior"};
#define NK (int)(sizeof KAPPAS / sizeof KAPPAS[0])
#define NB (int)(sizeof BUDGETS / sizeof BUDGETS[0])

/* Clamps every row's levels of q (n_params) to round(κ max |level|). */
static void trim(const nmdl_qmodel *qm, const int32_t *q, int32_t *out, double kappa)
{
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        for (int r = 0; r < t->rows; r++) {
            const int32_t *row = q + t->off + (size_t)r * t->cols;
            int32_t *o = out + t->off + (size_t)r * t->cols, mx = 0;
            for (int c = 0; c < t->cols; c++)
                mx = abs(row[c]) > mx ? abs(row[c]) : mx;
            int32_t lim = (int32_t)lround(kappa * mx);
            lim = lim < 1 && mx > 0 ? 1 : lim;
            for (int c = 0; c < t->cols; c++)
                o[c] = row[c] > lim ? lim : row[c] < -lim ? -lim : row[c];
        }
    }
}

int main(int argc, char **argv)
{
    uint8_t *ck, *data;
    size_t ck_len, n;
    nmdl_model *m;
    if (argc != 3 || bench_read_file(argv[1], &ck, &ck_len) || bench_read_file(argv[2], &data, &n) ||
        nmdl_model_load(ck, ck_len, &m)) {
        fprintf(stderr, "usage: bench_quant CHECKPOINT CORPUS (both readable)\n");
        return 2;
    }
    const size_t d = m->lay.n_params;
    nmdl_qmodel qm;
    nmdl_train_sample s;
    float *w = malloc(d * sizeof(float));
    int32_t *q = malloc(d * sizeof(int32_t));
    if (!w || !q || nmdl_q_alloc(&m->cfg, &qm) ||
        nmdl_train_sample_make(&s, data, n, m->cfg.ctx, NULL, 0))
        return 1;
    memcpy(w, m->params, d * sizeof(float));
    printf("%s on %s: %zu parameters, %zu bytes, loss on %d sample windows\n\n",
           argv[1], argv[2], d, n, s.k);
    nmdl_llc_settings ls;
    nmdl_llc_report lr;
    float *spread = NULL;
    nmdl_llc_settings_default(&ls);
    ls.threads = 2;
    if (nmdl_llctf_run(m, data, n, &ls, &lr, &spread, NULL))
        return 1;
    printf("LLC for the posterior rule: %.4g ± %.3g, step %.3g, MALA %.2f\n\n", lr.llc,
           lr.llc_se, lr.step, lr.mala);
    nmdl_llc_report_free(&lr);
    printf("| steps | untrimmed bits/weight | κ | bits/weight | loss (bits/byte) | est. DL (bytes) |\n");
    printf("|---|---|---|---|---|---|\n");
    double best[3][NK];
    for (int rule = 0; rule < 3; rule++) {
        const int per_row = rule != 1;
        const float *sp = rule == 2 ? spread : NULL;
        for (int j = 0; j < NK; j++)
            best[rule][j] = INFINITY;
        for (int b = 0; b < NB; b++) {
            nmdl_budget_delta(&qm, w, BUDGETS[b], per_row, sp, NULL);
            nmdl_q_quantize(&qm, w);
            memcpy(q, qm.q, d * sizeof(int32_t));
            for (int j = 0; j < NK; j++) {
                uint8_t *buf;
                size_t len;
                double nats;
                trim(&qm, q, qm.q, KAPPAS[j]);
                if (nmdl_q_encode(&qm, &buf, &len))
                    return 1;
                free(buf);
                nmdl_q_dequantize(&qm, m->params);
                if (nmdl_train_sample_loss(m, &s, NULL, &nats))
                    return 1;
                double dl = (double)len + (double)(n - 1) * nats / log(2.0) / 8;
                best[rule][j] = fmin(best[rule][j], dl);
                printf("| %s | %.1f | %.1f | %.3f | %.4f | %.0f |\n", RULES[rule],
                       BUDGETS[b], KAPPAS[j], 8.0 * (double)len / (double)d,
                       nats / log(2.0), dl);
            }
        }
    }
    printf("\nbest estimated DL (bytes) over the step sizes:\n\n| steps |");
    for (int j = 0; j < NK; j++)
        printf(" κ %.1f |", KAPPAS[j]);
    printf("\n|---|");
    for (int j = 0; j < NK; j++)
        printf("---|");
    for (int rule = 0; rule < 3; rule++) {
        printf("\n| %s |", RULES[rule]);
        for (int j = 0; j < NK; j++)
            printf(" %.0f |", best[rule][j]);
    }
    printf("\n");
    free(spread);
    nmdl_train_sample_free(&s);
    nmdl_q_free(&qm);
    nmdl_model_free(m);
    free(w), free(q), free(ck), free(data);
    return 0;
}
