/*
 * rrr.c: see rrr.h.
 */
#include "rrr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nmdl.h"
#include "testutil.h"

size_t rrr_dim(const rrr *m)
{
    return m->H ? (size_t)m->H * (m->M + m->N) : (size_t)m->N * m->M;
}

int rrr_loss_grad(void *ctx, int chain, const float *w, nmdl_rng *r,
                         double *loss, float *g)
{
    (void)chain, (void)r;
    const rrr *m = ctx;
    const int M = m->M, H = m->H, N = m->N, K = H ? H : N;
    const float *A = w, *B = w + (size_t)K * M; /* A (K, M), B (N, K) */
    float *scratch = g ? NULL : malloc(rrr_dim(m) * sizeof(float));
    if (!g)
        g = scratch; /* loss only: the gradient is thrown away */
    memset(g, 0, rrr_dim(m) * sizeof(float));
    float *gA = g, *gB = g + (size_t)K * M;
    double sum = 0;
    for (int s = 0; s < m->n; s++) {
        const float *x = m->x + (size_t)s * M, *y = m->y + (size_t)s * N;
        double h[64], e[64];
        for (int k = 0; k < K; k++) {
            h[k] = 0;
            for (int i = 0; i < M; i++)
                h[k] += (double)A[k * M + i] * x[i];
        }
        for (int o = 0; o < N; o++) {
            double f = H ? 0 : h[o];
            for (int k = 0; H && k < K; k++)
                f += (double)B[o * K + k] * h[k];
            e[o] = f - y[o];
            sum += 0.5 * e[o] * e[o];
        }
        for (int k = 0; k < K; k++) {
            double dh = H ? 0 : e[k];
            for (int o = 0; H && o < N; o++) {
                dh += e[o] * B[o * K + k];
                gB[o * K + k] += (float)(e[o] * h[k] / m->n);
            }
            for (int i = 0; i < M; i++)
                gA[k * M + i] += (float)(dh * x[i] / m->n);
        }
    }
    *loss = sum / m->n;
    free(scratch);
    return NMDL_OK;
}

rrr rrr_make(int M, int H, int N, int r, int n, uint64_t seed)
{
    rrr m = {M, H, N, n, malloc(sizeof(float) * n * M), malloc(sizeof(float) * n * N)};
    tu_rng g = {seed};
    double T[64 * 64] = {0}; /* true (N, M) map: sum of r rank-one terms */
    for (int k = 0; k < r; k++) {
        double u[64], v[64];
        for (int o = 0; o < N; o++)
            u[o] = tu_normal(&g);
        for (int i = 0; i < M; i++)
            v[i] = tu_normal(&g);
        for (int o = 0; o < N; o++)
            for (int i = 0; i < M; i++)
                T[o * M + i] += u[o] * v[i] / sqrt(M);
    }
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < M; i++)
            m.x[s * M + i] = (float)tu_normal(&g);
        for (int o = 0; o < N; o++) {
            double f = 0;
            for (int i = 0; i < M; i++)
                f += T[o * M + i] * m.x[s * M + i];
            m.y[s * N + o] = (float)(f + tu_normal(&g));
        }
    }
    return m;
}

float *rrr_fit(rrr *m, uint64_t seed)
{
    size_t d = rrr_dim(m);
    float *w = malloc(d * sizeof(float)), *g = malloc(d * sizeof(float));
    tu_rng r = {seed};
    for (size_t i = 0; i < d; i++)
        w[i] = (float)(0.1 * tu_normal(&r));
    for (int it = 0; it < 20000; it++) {
        double loss;
        rrr_loss_grad(m, 0, w, NULL, &loss, g);
        for (size_t i = 0; i < d; i++)
            w[i] -= 0.05f * g[i];
    }
    free(g);
    return w;
}

double rrr_lambda(int M, int H, int N, int r)
{
    if (M + H < N + r)
        return (H * M - H * r + N * r) / 2.0;
    if (N + H < M + r)
        return (H * N - H * r + M * r) / 2.0;
    if (M + N < H + r)
        return M * N / 2.0;
    int s = (M + H + N + r) % 2;
    return (2.0 * (H + r) * (M + N) - (M - N) * (M - N) - (H + r) * (H + r) + s) / 8.0;
}

void rrr_free(rrr *m)
{
    free(m->x);
    free(m->y);
}
