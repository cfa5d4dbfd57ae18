/*
 * rate.c: weight codes compared on one trained checkpoint and its corpus,
 * by the estimated whole description length (model part bytes + the coded
 * model's loss on the budget search's sample x (n - 1) / 8). Each method
 * runs `steps` steps of fine-tuning from the checkpoint:
 *   qat B      quantization-aware fine-tuning at B bits per weight (what
 *              the default pipeline does after its budget search);
 *   rate B     rate-aware fine-tuning (codec/rate.h) starting from B bits;
 *   cluster K  fine-tuning through the assignment to K centroids per matrix
 *              (codec/cluster.h; K 0: chosen by the estimated DL);
 * and prints the estimate beside the coded size.
 * usage: bench_rate CHECKPOINT CORPUS STEPS METHOD B [key=value...]
 *   keys: lr (training, default 5e-4), step_lr, round (share), weight, wd,
 *   pen (0 rate, 1 DRR, 2 RL1, 3 PMMP: codec/rate.h); for cluster vdelta
 *   (vectors' step), refresh (steps between k-means steps), mu (entropy
 *   constraint)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/budget.h"
#include "codec/cluster.h"
#include "codec/rate.h"
#include "codec/quant.h"
#include "model/train.h"
#include "nmdl.h"

#include "benchio.h"

int main(int argc, char **argv)
{
    uint8_t *ck, *data;
    size_t ck_len, n;
    nmdl_model *m;
    if (argc < 6 || bench_read_file(argv[1], &ck, &ck_len) || bench_read_file(argv[2], &data, &n) ||
        nmdl_model_load(ck, ck_len, &m)) {
        fprintf(stderr, "usage: bench_rate CHECKPOINT CORPUS STEPS qat|rate|cluster BITS|K "
                "[key=value...]\n");
        return 2;
    }
    const long steps = atol(argv[3]);
    const int rate = !strcmp(argv[4], "rate"), cluster = !strcmp(argv[4], "cluster");
    const double bits = atof(argv[5]);
    nmdl_qmodel qm;
    nmdl_train_sample s;
    nmdl_train_params tp;
    nmdl_train_params_default(&tp);
    tp.steps = steps;
    tp.batch = 16;
    tp.lr = bench_opt(argc, argv, "lr", 5e-4);
    tp.warmup = 0.05;
    tp.weight_decay = bench_opt(argc, argv, "wd", 0.0);
    tp.threads = (int)bench_opt(argc, argv, "threads", 1);
    if (nmdl_q_alloc(&m->cfg, &qm) || nmdl_train_sample_make(&s, data, n, m->cfg.ctx, NULL, 0))
        return 1;
    double nats;
    nmdl_train_sample_loss(m, &s, NULL, &nats);
    printf("%s on %s: %zu parameters, float sample loss %.4f bits/byte\n", argv[1],
           argv[2], m->lay.n_params, nats / log(2.0));
    nmdl_rate rt;
    nmdl_train_hook hook;
    nmdl_rate_params rp;
    nmdl_rate_params_default(&rp);
    rp.n = (double)n;
    rp.bits = bits; /* 0: the plain search's best */
    rp.model = m;
    rp.data = data;
    rp.step_lr = bench_opt(argc, argv, "step_lr", rp.step_lr);
    rp.round_share = bench_opt(argc, argv, "round", rp.round_share);
    rp.weight = bench_opt(argc, argv, "weight", rp.weight);
    rp.penalty = (int)bench_opt(argc, argv, "pen", rp.penalty);
    nmdl_cluster cl;
    nmdl_cluster_params cp;
    nmdl_cluster_params_default(&cp, m, data, n);
    cp.k = (int)bits;
    cp.vec_delta = bench_opt(argc, argv, "vdelta", cp.vec_delta);
    cp.refresh = (int)bench_opt(argc, argv, "refresh", cp.refresh);
    cp.mu = bench_opt(argc, argv, "mu", cp.mu);
    if (rate) {
        if (nmdl_rate_init(&rt, &qm, &rp))
            return 1;
        nmdl_rate_hook(&rt, steps, steps, &hook);
    } else if (cluster) {
        if (nmdl_cluster_init(&cl, &qm, &cp))
            return 1;
        nmdl_cluster_hook(&cl, steps, steps, &hook);
    } else {
        nmdl_budget_delta(&qm, m->params, bits, 1, NULL, NULL);
        nmdl_rate_round_hook(&qm, &hook);
    }
    nmdl_train_report tr;
    if (nmdl_train_run(m, data, n, &tp, &hook, NULL, &tr))
        return 1;
    if (rate)
        nmdl_rate_finish(&rt, m->params);
    if (cluster && !cl.k && nmdl_cluster_start(&cl, m->params)) /* no steps */
        return 1;
    if (cluster)
        nmdl_cluster_assign(&cl, m->params);
    else
        nmdl_q_quantize(&qm, m->params);
    double est = rate ? nmdl_rate_estimate(&rt, m->params) / 8 : NAN;
    uint8_t *buf;
    size_t len;
    if (nmdl_q_encode(&qm, &buf, &len))
        return 1;
    size_t zeros = 0;
    for (size_t i = 0; i < qm.lay.n_params; i++)
        zeros += qm.q[i] == 0;
    nmdl_q_dequantize(&qm, m->params);
    nmdl_train_sample_loss(m, &s, NULL, &nats);
    double dl = (double)len + (double)(n - 1) * nats / log(2.0) / 8;
    if (rate)
        printf("steps learned from %.3f bits/weight\n", rt.start_bits);
    for (int i = 0; cluster && i < cl.n_cand; i++)
        printf("K %2d plain: model %.0f bytes, sample loss %.4f bits/byte, est. DL %.0f bytes\n",
               cl.cand_k[i], cl.cand_model_bits[i] / 8, cl.cand_loss_bpb[i],
               cl.cand_dl_bits[i] / 8);
    if (cluster)
        printf("K %d centroids per matrix\n", cl.k);
    printf("%s %.2f, %ld steps: model %zu bytes (estimate %.0f), %.3f bits/weight, "
           "%.1f%% zeros, sample loss %.4f bits/byte, est. DL %.0f bytes (%.4f bits/byte), "
           "train loss %.4f, %.0f s\n",
           argv[4], bits, steps, len, est, 8.0 * (double)len / (double)qm.lay.n_params,
           100.0 * (double)zeros / (double)qm.lay.n_params, nats / log(2.0), dl,
           8 * dl / (double)n, tr.loss_bpb, tr.seconds);
    free(buf);
    if (rate)
        nmdl_rate_free(&rt);
    if (cluster)
        nmdl_cluster_free(&cl);
    nmdl_train_sample_free(&s);
    nmdl_q_free(&qm);
    nmdl_model_free(m);
    free(ck), free(data);
    return 0;
}
