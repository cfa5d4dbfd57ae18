/*
 * train_speed.c: training throughput of each preset against this machine's
 * own cblas_sgemm, measured in one run.
 *
 *   bench_train_speed [SECONDS_PER_PRESET] [THREADS]
 *
 * Model FLOPs per trained byte follow the PaLM convention:
 * 6 * N + 12 * L * C * T, where N counts the parameters that take part in
 * matrix products (all but the embedding lookup and LayerNorms), L layers,
 * C d_model, T the window; attention is counted in full although half of
 * it is masked. The sgemm peak is the best of large square products and of
 * the model's own largest shape (B*T x C times C x 4C), timed here with the
 * same thread count; MFU = model GFLOP/s / peak.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "model/isa.h"
#include "nmdl.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* GFLOP/s of C (m x n) = A (m x k) B (k x n), repeated for about `secs`. */
static double sgemm_gflops(int m, int n, int k, double secs)
{
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n),
          *c = malloc(sizeof(float) * m * n);
    for (long i = 0; i < (long)m * k; i++)
        a[i] = (float)(i % 97) * 1e-3f;
    for (long i = 0; i < (long)k * n; i++)
        b[i] = (float)(i % 89) * 1e-3f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    long reps = 0;
    double t0 = now(), t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
        reps++;
    } while ((t = now() - t0) < secs);
    free(a), free(b), free(c);
    return 2.0 * m * n * k * reps / t / 1e9;
}

static double model_flops_per_byte(const nmdl_model_config *c)
{
    double C = c->d_model, F = c->d_ff, L = c->n_layer, T = c->ctx;
    double n_matmul = L * (4 * C * C + 2 * C * F) + 256 * C;
    return 6 * n_matmul + 12 * L * C * T;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 20.0;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    size_t n = 1 << 20;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++) /* content does not change the speed */
        data[i] = (uint8_t)(' ' + (i * 2654435761u >> 13) % 90);
    openblas_set_num_threads(threads);
    double peak = 0;
    for (int s = 1024; s <= 2048; s *= 2) {
        double g = sgemm_gflops(s, s, s, 2.0);
        peak = g > peak ? g : peak;
    }
    printf("OpenBLAS %s, %d threads, sgemm peak %.1f GFLOP/s\n",
           openblas_get_config(), threads, peak);
    printf("instruction set of the layer loops: %s (NMDL_ISA forces one)\n\n",
           nmdl_isa_name(nmdl_isa_choose()));
    printf("| preset | params | batch x ctx | bytes/s | model GFLOP/s | "
           "sgemm GFLOP/s (B*T x C x 4C) | MFU (vs peak) |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int i = 0; nmdl_model_preset_name(i); i++) {
        nmdl_model_config c = {0};
        nmdl_model *m;
        nmdl_train_params p;
        nmdl_train_report r;
        if (nmdl_model_preset(nmdl_model_preset_name(i), &c) ||
            nmdl_model_create(&c, 1, &m))
            return 1;
        nmdl_train_params_default(&p);
        p.threads = threads;
        p.steps = 2; /* warm up */
        if (nmdl_model_train(m, data, n, &p, &r))
            return 1;
        p.steps = (long)(secs / (r.seconds / 2) + 1);
        if (nmdl_model_train(m, data, n, &p, &r))
            return 1;
        double bps = r.tokens / r.seconds;
        double gf = bps * model_flops_per_byte(&c) / 1e9;
        double shape = sgemm_gflops(p.batch * c.ctx, 4 * c.d_model, c.d_model, 2.0);
        double best = shape > peak ? shape : peak;
        printf("| %s | %zu | %d x %d | %.0f | %.1f | %.1f | %.1f%% |\n",
               nmdl_model_preset_name(i), nmdl_model_n_params(m), p.batch,
               c.ctx, bps, gf, shape, 100 * gf / best);
        fflush(stdout);
        nmdl_model_free(m);
    }
    free(data);
    return 0;
}
