/*
 * infer_speed.c: speed of the coding path's forward pass (model/infer.c)
 * for each preset, against this machine's cblas_sgemm on one thread,
 * measured in one run.
 *
 *   bench_infer_speed [SECONDS_PER_PRESET] [SEGMENTS]
 *
 * One thread runs SEGMENTS (default 2) segments in lockstep with a full
 * window (the steady state of coding): a frame with the match model codes
 * its segments in waves of 4 (codec/match.h), 2 per thread on 2 cores;
 * a pure frame (--pure) runs up to 4 per thread (codec/segcode.h).
 * FLOPs per byte: 2 (L (4 C^2 + 2 C F) + 256 C) for the products and
 * 4 L C W for attention with a window of W bytes.
 * Decoding also pays the frequency tables and the range coder, and uses
 * every core on its own segments, so bytes/s here times the thread count
 * bounds the decoder's speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

#include "model/infer.h"
#include "model/isa.h"
#include "nmdl.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double sgemm_peak(void)
{
    const int s = 1024;
    float *a = malloc(sizeof(float) * s * s), *b = malloc(sizeof(float) * s * s),
          *c = malloc(sizeof(float) * s * s);
    for (long i = 0; i < (long)s * s; i++)
        a[i] = b[i] = (float)(i % 89) * 1e-3f;
    long reps = 0;
    double t0 = now(), t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, s, s, 1, a, s, b, s, 0, c, s);
        reps++;
    } while ((t = now() - t0) < 2.0);
    free(a), free(b), free(c);
    return 2.0 * s * s * s * reps / t / 1e9;
}

int main(int argc, char **argv)
{
    const double secs = argc > 1 ? atof(argv[1]) : 10.0;
    const int S = argc > 2 ? atoi(argv[2]) : 2;
    if (S < 1 || S > 256) {
        fprintf(stderr, "bench_infer_speed: SEGMENTS must be 1 to 256\n");
        return 2;
    }
    openblas_set_num_threads(1);
    const double peak = sgemm_peak();
    printf("sgemm peak on 1 thread: %.1f GFLOP/s (%s)\n", peak,
           openblas_get_config());
    printf("instruction set of the coding path: %s (NMDL_ISA forces one)\n\n",
           nmdl_isa_name(nmdl_isa_choose()));
    printf("| preset | params | bytes/s (1 thread, %d segments) | GFLOP/s | fraction of sgemm |\n", S);
    printf("|---|---|---|---|---|\n");
    for (int i = 0; nmdl_model_preset_name(i); i++) {
        nmdl_model_config c = {0};
        nmdl_model *m;
        nmdl_inf *f;
        if (nmdl_model_preset(nmdl_model_preset_name(i), &c) ||
            nmdl_model_create(&c, 1, &m) ||
            nmdl_inf_create(&c, m->params, S, &f))
            return 1;
        float *probs = malloc(sizeof(float) * S * 256);
        uint8_t tok[256];
        for (int s = 0; s < S; s++)
            tok[s] = (uint8_t)('a' + s);
        for (int t = 0; t < c.ctx; t++) /* fill the window */
            nmdl_inf_step(f, tok, probs);
        long steps = 0;
        double t0 = now(), t;
        do {
            nmdl_inf_step(f, tok, probs);
            steps++;
        } while ((t = now() - t0) < secs);
        double C = c.d_model, F = c.d_ff, L = c.n_layer, W = c.ctx;
        double flops = 2 * (L * (4 * C * C + 2 * C * F) + 256 * C) + 4 * L * C * W;
        double bps = (double)steps * S / t;
        printf("| %s | %zu | %.0f | %.2f | %.1f%% |\n", nmdl_model_preset_name(i),
               nmdl_model_n_params(m), bps, bps * flops / 1e9, 100 * bps * flops / 1e9 / peak);
        fflush(stdout);
        free(probs);
        nmdl_inf_free(f);
        nmdl_model_free(m);
    }
    return 0;
}
