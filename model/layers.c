/*
 * layers.c: see layers.h. Matrix products are cblas_sgemm calls on
 * row-major buffers; a head's slice of qkv is addressed with the row stride
 * 3C, so no data is copied per head. Attention runs one (window, head) per
 * OpenMP task, each with single-threaded sgemm calls (OpenBLAS's OpenMP
 * build does not fork inside a parallel region): on 2 cores this beat both
 * threaded sgemm per head and hand-written causal loops (20 steps of the
 * small preset: 3.5 s against 5.2 s for the loops). The products over a
 * head's (T, T) matrices go in row blocks that skip the masked triangle, and
 * the softmax rows are vectorized (docs/ARCHITECTURE.md, "Training path",
 * has the measured gain). The loops over rows and the GELU backward are
 * compiled once per instruction set (isa.h); the model picks one when it
 * is created.
 */
#include "layers.h"

#include <math.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "dmath.h"
#include "isa.h"

#define TILE 128 /* rows and columns of C per sgemm call */

/* C (M, N) = op(A) op(B) + beta C as TILE x TILE tiles of C, each one
 * single-threaded sgemm (OpenBLAS's OpenMP build does not fork inside a
 * parallel region), spread over nt threads. The tiles do not depend on nt
 * and an element's sum over K depends only on its tile's shape, so the
 * weights a training run produces are the same for every thread count
 * (tested). */
static void sgemm_tiles(int ta, int tb, int M, int N, int K, const float *A,
                        int lda, const float *B, int ldb, float beta, float *C,
                        int ldc, int nt)
{
    const int tn = (N + TILE - 1) / TILE, tiles = (M + TILE - 1) / TILE * tn;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < tiles; t++) {
        int m0 = t / tn * TILE, n0 = t % tn * TILE;
        int m = M - m0 < TILE ? M - m0 : TILE, n = N - n0 < TILE ? N - n0 : TILE;
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                    tb ? CblasTrans : CblasNoTrans, m, n, K, 1.0f,
                    A + (ta ? (size_t)m0 : (size_t)m0 * lda), lda,
                    B + (tb ? (size_t)n0 * ldb : (size_t)n0), ldb, beta,
                    C + (size_t)m0 * ldc + n0, ldc);
    }
}

void nmdl_ly_matmul(float *out, const float *inp, const float *w, int N,
                    int C, int OC, int accumulate, int nt)
{
    sgemm_tiles(0, 1, N, OC, C, inp, C, w, C, accumulate ? 1.0f : 0.0f, out,
               OC, nt);
}

void nmdl_ly_matmul_backward(float *dinp, float *dw, const float *dout,
                             const float *inp, const float *w, int N, int C,
                             int OC, int nt)
{
    if (dinp)
        sgemm_tiles(0, 0, N, C, OC, dout, OC, w, C, 0.0f, dinp, C, nt);
    sgemm_tiles(1, 0, OC, C, N, dout, OC, inp, C, 1.0f, dw, C, nt);
}

void nmdl_ly_layernorm(float *out, float *mean, float *rstd, const float *inp,
                       const float *g, const float *b, int N, int C, int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float *y = out + (size_t)i * C;
        float m = 0.0f, v = 0.0f;
        for (int c = 0; c < C; c++)
            m += x[c];
        m /= (float)C;
        for (int c = 0; c < C; c++)
            v += (x[c] - m) * (x[c] - m);
        float s = 1.0f / sqrtf(v / (float)C + 1e-5f);
        for (int c = 0; c < C; c++)
            y[c] = (x[c] - m) * s * g[c] + b[c];
        mean[i] = m;
        rstd[i] = s;
    }
}

#define LN_COLS 16 /* columns per task of the dg/db reduction */

void nmdl_ly_layernorm_backward(float *dinp, float *dg, float *db,
                                const float *dout, const float *inp,
                                const float *g, const float *mean,
                                const float *rstd, int N, int C, int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C, *dy = dout + (size_t)i * C;
        float *dx = dinp + (size_t)i * C;
        float m = mean[i], s = rstd[i], mdn = 0.0f, mdnn = 0.0f;
        for (int c = 0; c < C; c++) {
            float dn = dy[c] * g[c];
            mdn += dn;
            mdnn += dn * (x[c] - m) * s;
        }
        mdn /= (float)C;
        mdnn /= (float)C;
        for (int c = 0; c < C; c++)
            dx[c] += s * (dy[c] * g[c] - mdn - (x[c] - m) * s * mdnn);
    }
    /* dg, db: each task owns LN_COLS columns, so no two threads add into
     * the same element */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int c0 = 0; c0 < C; c0 += LN_COLS) {
        int c1 = c0 + LN_COLS < C ? c0 + LN_COLS : C;
        for (int i = 0; i < N; i++) {
            const float *x = inp + (size_t)i * C, *dy = dout + (size_t)i * C;
            for (int c = c0; c < c1; c++) {
                dg[c] += dy[c] * (x[c] - mean[i]) * rstd[i];
                db[c] += dy[c];
            }
        }
    }
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f
#define GELU_CHUNK 512 /* elements per task; a chunk's exps sit on the stack */

float nmdl_ly_alibi_slope(int h, int H)
{
    int e = 8 * (h + 1) / H;
    float s = 1.0f;
    while (e-- > 0)
        s *= 0.5f;
    return s;
}

/* ------------------------------------- loops compiled per instruction set */

/* gelu(x) = x s(u) with s the logistic function and u = 2K(x + A x^3), so
 * gelu'(x) = s + x s (1 - s) 2K (1 + 3 A x^2). One chunk of m <= GELU_CHUNK
 * elements; dm is exp's variant. */
NMDL_INLINE void gelu_backward_chunk(float *dinp, const float *dout,
                                     const float *x, size_t m,
                                     const nmdl_dm_kernels *dm)
{
    float e[GELU_CHUNK] = {0}; /* zeroed for gcc's -Wmaybe-uninitialized */
    for (size_t j = 0; j < m; j++)
        e[j] = -2.0f * GELU_K * (x[j] + GELU_A * x[j] * x[j] * x[j]);
    dm->exp_array(e, e, m);
    for (size_t j = 0; j < m; j++) {
        float s = 1.0f / (1.0f + e[j]);
        float local = s + x[j] * s * (1.0f - s) * 2.0f * GELU_K *
                              (1.0f + 3.0f * GELU_A * x[j] * x[j]);
        dinp[j] = dout[j] * local;
    }
}

/* p (n) becomes softmax(p) in place; returns the largest input in *mx and
 * the sum of e^(p - mx). The reductions are vectorized by `omp simd`, which
 * may reorder them: this is the training path, where only the thread count
 * must not change the result, and the lanes do not depend on it (they do
 * on the instruction set's vector width). */
NMDL_INLINE float softmax_in_place(float *restrict p, int n, float *mx,
                                   const nmdl_dm_kernels *dm)
{
    float m = -INFINITY, sum = 0.0f;
#pragma omp simd reduction(max : m)
    for (int i = 0; i < n; i++)
        m = p[i] > m ? p[i] : m; /* fmaxf would be a call per element */
#pragma omp simd
    for (int i = 0; i < n; i++)
        p[i] -= m;
    dm->exp_array(p, p, (size_t)n);
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; i++)
        sum += p[i];
    float inv = 1.0f / sum;
#pragma omp simd
    for (int i = 0; i < n; i++)
        p[i] *= inv;
    *mx = m;
    return sum;
}

/* In place over one head's scores a (T, T), row by row: bias, mask,
 * softmax. */
NMDL_INLINE void attention_rows(float *restrict a, int T, float slope,
                                const nmdl_dm_kernels *dm)
{
    for (int t = 0; t < T; t++) {
        float *restrict row = a + (size_t)t * T, mx;
        const int n = t + 1;
#pragma omp simd
        for (int s = 0; s < n; s++)
            row[s] -= slope * (float)(t - s);
        softmax_in_place(row, n, &mx, dm);
        memset(row + n, 0, sizeof(float) * (size_t)(T - n));
    }
}

/* d (T, T) becomes the gradient of one head's scores from that of its
 * probabilities p (T, T), row t over its n = t + 1 live columns:
 * d[s] = p[s] (d[s] - sum_s' p[s'] d[s']) for s < n, zero after (the
 * mask). */
NMDL_INLINE void softmax_rows_backward(float *restrict d,
                                       const float *restrict p, int T)
{
    for (int t = 0; t < T; t++) {
        float *restrict dt = d + (size_t)t * T, dot = 0.0f;
        const float *restrict pt = p + (size_t)t * T;
        const int n = t + 1;
#pragma omp simd reduction(+ : dot)
        for (int s = 0; s < n; s++)
            dot += pt[s] * dt[s];
#pragma omp simd
        for (int s = 0; s < n; s++)
            dt[s] = pt[s] * (dt[s] - dot);
        memset(dt + n, 0, sizeof(float) * (size_t)(T - n));
    }
}

/* Row p (V) becomes softmax(p); returns the cross-entropy of target, nats. */
NMDL_INLINE float softmax_xent_row(float *restrict p, int V, int target,
                                   const nmdl_dm_kernels *dm)
{
    float zy = p[target], mx;
    float sum = softmax_in_place(p, V, &mx, dm);
    return logf(sum) - (zy - mx);
}

typedef struct ly_kernels {
    void (*gelu_backward_chunk)(float *dinp, const float *dout, const float *x,
                                size_t m, const nmdl_dm_kernels *dm);
    void (*attention_rows)(float *a, int T, float slope,
                           const nmdl_dm_kernels *dm);
    void (*softmax_rows_backward)(float *d, const float *p, int T);
    float (*softmax_xent_row)(float *p, int V, int target,
                              const nmdl_dm_kernels *dm);
} ly_kernels;

NMDL_ISA_CLONES(void, gelu_backward_chunk,
                (float *dinp, const float *dout, const float *x, size_t m,
                 const nmdl_dm_kernels *dm),
                gelu_backward_chunk(dinp, dout, x, m, dm);)
NMDL_ISA_CLONES(void, attention_rows,
                (float *a, int T, float slope, const nmdl_dm_kernels *dm),
                attention_rows(a, T, slope, dm);)
NMDL_ISA_CLONES(void, softmax_rows_backward, (float *d, const float *p, int T),
                softmax_rows_backward(d, p, T);)
NMDL_ISA_CLONES(float, softmax_xent_row,
                (float *p, int V, int target, const nmdl_dm_kernels *dm),
                return softmax_xent_row(p, V, target, dm);)

static const ly_kernels kernels[NMDL_ISA_COUNT] = {
    {gelu_backward_chunk, attention_rows, softmax_rows_backward,
     softmax_xent_row},
#if NMDL_ISA_X86
    {gelu_backward_chunk_avx2, attention_rows_avx2, softmax_rows_backward_avx2,
     softmax_xent_row_avx2},
    {gelu_backward_chunk_avx512, attention_rows_avx512,
     softmax_rows_backward_avx512, softmax_xent_row_avx512},
#endif
};

static const ly_kernels *kernels_for(nmdl_isa isa)
{
    return &kernels[NMDL_ISA_X86 ? isa : NMDL_ISA_PORTABLE];
}

/* ---------------------------------------------------------------- layers */

/* The forward is dmath's GELU, the function the coding path evaluates. */
void nmdl_ly_gelu(float *out, const float *inp, size_t n, nmdl_isa isa, int nt)
{
    const nmdl_dm_kernels *dm = nmdl_dm_kernels_for(isa);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t i = 0; i < n; i += GELU_CHUNK)
        dm->gelu_array(inp + i, out + i,
                       n - i < GELU_CHUNK ? n - i : GELU_CHUNK);
}

void nmdl_ly_gelu_backward(float *dinp, const float *dout, const float *inp,
                           size_t n, nmdl_isa isa, int nt)
{
    const ly_kernels *k = kernels_for(isa);
    const nmdl_dm_kernels *dm = nmdl_dm_kernels_for(isa);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t i = 0; i < n; i += GELU_CHUNK)
        k->gelu_backward_chunk(dinp + i, dout + i, inp + i,
                               n - i < GELU_CHUNK ? n - i : GELU_CHUNK, dm);
}

#define ATT_BLOCK 64 /* rows per sgemm over a causal (T, T) matrix */

/* The products over one head's lower-triangular (T, T) matrices, cut into
 * row blocks of ATT_BLOCK so that the masked upper triangle is mostly
 * skipped (10/16 of the work at T = 256). Single-threaded sgemm calls of
 * fixed shapes. */

/* S (T, T) = alpha X Y^T, X and Y (T, D): row block [r0, e) only for the
 * columns [0, e); the rest of S is not written. */
static void tri_outer(int T, int D, float alpha, const float *X, int ldx,
                      const float *Y, int ldy, float *S)
{
    for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int m = T - r0 < ATT_BLOCK ? T - r0 : ATT_BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, r0 + m, D,
                    alpha, X + (size_t)r0 * ldx, ldx, Y, ldy, 0.0f,
                    S + (size_t)r0 * T, T);
    }
}

/* Z (T, D) = alpha op(P) X, P (T, T) lower triangular, X (T, D), op(P) =
 * P or (trans) P^T. Row block [r0, e) of Z needs P's columns [0, e), or
 * with P^T only the rows [r0, T) of P and X. */
static void tri_times(int trans, int T, int D, float alpha, const float *P,
                      const float *X, int ldx, float *Z, int ldz)
{
    for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int m = T - r0 < ATT_BLOCK ? T - r0 : ATT_BLOCK;
        size_t skip = trans ? (size_t)r0 : 0; /* rows of X left out */
        cblas_sgemm(CblasRowMajor, trans ? CblasTrans : CblasNoTrans,
                    CblasNoTrans, m, D, trans ? T - r0 : r0 + m, alpha,
                    P + (size_t)r0 * T + skip, T, X + skip * ldx, ldx, 0.0f,
                    Z + (size_t)r0 * ldz, ldz);
    }
}

void nmdl_ly_attention(float *y, float *att, const float *qkv, int B, int T,
                       int C, int H, nmdl_isa isa, int nt)
{
    const ly_kernels *k = kernels_for(isa);
    const nmdl_dm_kernels *dm = nmdl_dm_kernels_for(isa);
    const int D = C / H, C3 = 3 * C;
    const float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const float *q = qkv + (size_t)b * T * C3 + (size_t)h * D;
        float *a = att + (size_t)bh * T * T;
        tri_outer(T, D, scale, q, C3, q + C, C3, a);
        k->attention_rows(a, T, nmdl_ly_alibi_slope(h, H), dm);
        tri_times(0, T, D, 1.0f, a, q + 2 * C, C3,
                  y + (size_t)b * T * C + (size_t)h * D, C);
    }
}

void nmdl_ly_attention_backward(float *dqkv, float *scratch, const float *dy,
                                const float *att, const float *qkv, int B,
                                int T, int C, int H, nmdl_isa isa, int nt)
{
    const ly_kernels *k = kernels_for(isa);
    const int D = C / H, C3 = 3 * C, tasks = B * H;
    const float scale = 1.0f / sqrtf((float)D);
    /* each thread reuses one (T, T) slice of scratch, so that it stays in
     * cache; a task overwrites every element it reads there */
#pragma omp parallel for num_threads(nt < tasks ? nt : tasks) schedule(dynamic, 1)
    for (int bh = 0; bh < tasks; bh++) {
        int b = bh / H, h = bh % H;
        size_t qo = (size_t)b * T * C3 + (size_t)h * D;
        const float *a = att + (size_t)bh * T * T, *q = qkv + qo;
        const float *g = dy + (size_t)b * T * C + (size_t)h * D;
        float *dp = scratch + (size_t)omp_get_thread_num() * T * T;
        float *dq = dqkv + qo;
        tri_outer(T, D, 1.0f, g, C, q + 2 * C, C3, dp);
        tri_times(1, T, D, 1.0f, a, g, C, dq + 2 * C, C3);
        k->softmax_rows_backward(dp, a, T);
        tri_times(0, T, D, scale, dp, q + C, C3, dq, C3);
        tri_times(1, T, D, scale, dp, q, C3, dq + C, C3);
    }
}

void nmdl_ly_softmax_xent(float *probs, float *losses, const uint8_t *target,
                          int N, int V, nmdl_isa isa, int nt)
{
    const ly_kernels *k = kernels_for(isa);
    const nmdl_dm_kernels *dm = nmdl_dm_kernels_for(isa);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int i = 0; i < N; i++)
        losses[i] = k->softmax_xent_row(probs + (size_t)i * V, V, target[i],
                                        dm);
}

void nmdl_ly_softmax_xent_backward(float *probs, const uint8_t *target, const float *weight,
                                   float scale, int N, int V, int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int i = 0; i < N; i++) {
        float *p = probs + (size_t)i * V;
        const float s = weight ? scale * weight[i] : scale;
        p[target[i]] -= 1.0f;
        for (int v = 0; v < V; v++)
            p[v] *= s;
    }
}
