/*
 * rrr.h: models whose learning coefficient is known, as targets of the LLC
 * estimator (model/llc.h): reduced-rank regression y = B A x + noise,
 * A (H, M), B (N, H), true map of rank r, with Aoyagi and Watanabe's
 * coefficient; H = 0 is plain linear regression y = W x, λ = d/2. Shared by
 * tests/test_llc.c and bench/llc_accuracy.c.
 */
#ifndef NMDL_TESTS_RRR_H
#define NMDL_TESTS_RRR_H

#include <stddef.h>
#include <stdint.h>

#include "model/rng.h"

typedef struct rrr {
    int M, H, N;
    int n;        /* samples */
    float *x, *y; /* (n, M), (n, N) */
} rrr;

/* Parameters: A then B (H > 0), or W (H = 0). */
size_t rrr_dim(const rrr *m);
/* Full-batch loss |y - f(x)|^2 / 2 per sample and its gradient (the
 * nmdl_llc_target callback; r is unused: the batch is the data set). */
int rrr_loss_grad(void *ctx, int chain, const float *w, nmdl_rng *r,
                  double *loss, float *g);
/* n samples from a true map of rank r (r = 0: y is pure noise). */
rrr rrr_make(int M, int H, int N, int r, int n, uint64_t seed);
void rrr_free(rrr *m);
/* w*: gradient descent from a small random start (malloc'd). */
float *rrr_fit(rrr *m, uint64_t seed);
/* λ of reduced-rank regression (Aoyagi and Watanabe 2005). */
double rrr_lambda(int M, int H, int N, int r);

#endif /* NMDL_TESTS_RRR_H */
