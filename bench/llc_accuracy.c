/*
 * llc_accuracy.c: the LLC estimator against models whose learning
 * coefficient is known (tests/rrr.h): linear regression (λ = d/2) and
 * reduced-rank regression (Aoyagi's formula), SGLD and pSGLD, 8 chains of
 * 1000 burn-in + 3000 draws, full batch, nβ = n/ln n, γ = 1. Rank-0 models
 * are sampled around the true parameter (the origin); others around the
 * weights gradient descent found.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/llc.h"
#include "nmdl.h"
#include "rrr.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void row(int M, int H, int N, int r, int n, uint64_t seed)
{
    rrr m = rrr_make(M, H, N, r, n, seed);
    float *ws = rrr_fit(&m, seed + 1);
    if (r == 0)
        memset(ws, 0, rrr_dim(&m) * sizeof(float));
    double want = H ? rrr_lambda(M, H, N, r) : rrr_dim(&m) / 2.0;
    printf("| %s M=%d H=%d N=%d r=%d | %zu | %.2f |", H ? "RRR" : "linear", M, H,
           N, r, rrr_dim(&m), want);
    for (int sampler = 0; sampler <= 1; sampler++) {
        nmdl_llc_target t = {rrr_dim(&m), m.n, ws, rrr_loss_grad, &m, 0};
        nmdl_llc_params p;
        nmdl_llc_result e;
        nmdl_llc_params_default(&p);
        p.sampler = sampler;
        p.step = 1e-4;
        p.gamma = 1.0;
        p.chains = 8;
        p.burnin = 1000;
        p.draws = 3000;
        p.threads = 2;
        double t0 = now();
        if (nmdl_llc_estimate(&t, &p, &e)) {
            printf(" error |");
            continue;
        }
        printf(" %.3f ± %.3f (%+.0f%%, MALA %.2f, %.1f s) |", e.llc, e.llc_se,
               100 * (e.llc / want - 1), e.mala, now() - t0);
        nmdl_llc_result_free(&e);
    }
    printf("\n");
    fflush(stdout);
    free(ws);
    rrr_free(&m);
}

int main(void)
{
    printf("| model | d | λ | SGLD | pSGLD |\n|---|---|---|---|---|\n");
    row(5, 0, 2, 2, 2000, 60);
    row(10, 0, 3, 3, 2000, 61);
    static const int cases[][4] = {{5, 3, 5, 0}, {4, 3, 8, 0}, {3, 8, 4, 0},
                                   {5, 4, 5, 2}, {6, 4, 6, 1}, {8, 3, 4, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        row(cases[c][0], cases[c][1], cases[c][2], cases[c][3], 5000, 70 + c);
    return 0;
}
