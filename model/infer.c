/*
 * infer.c: see infer.h. The formulas, in the order they are evaluated
 * (fma(a, b, c) = a*b + c rounded once; sums run from index 0 upward):
 *
 *   embedding  x = wte[tok]
 *   LayerNorm  m = (sum x_c) / C; d_c = x_c - m; v = (sum fma(d_c, d_c, .)) / C
 *              r = 1 / sqrt(v + 1e-5); y_c = fma(d_c * r, g_c, b_c)
 *   linear     y_o = fma chain over i of (W[o][i], x_i), from 0
 *   attention  per head, for the n = min(t+1, ctx) newest positions j:
 *              s_j = fma(q . k_j, 1/sqrt(D), -slope * (t - j))  (q . k_j an
 *              fma chain over the head's D dimensions), p = softmax(s) with
 *              nmdl_dm_softmax over j oldest first, y = fma chain over j of
 *              (p_j, v_j), oldest first
 *   residual   x_c = x_c + y_c
 *   MLP        y = W2 gelu(W1 LN2(x)), gelu = nmdl_dm_gelu
 *   output     p = nmdl_dm_softmax(Wout LNf(x))
 *
 * Matrices are stored transposed in panels of PANEL outputs: for outputs
 * o0 .. o0+15 (o0 a multiple of 16) the panel holds, input after input,
 * their 16 weights side by side (the last panel as many as are left), so
 * that the loop over the inputs is outermost, reads memory in order, and
 * the independent outputs sit side by side, 8 or 16 per instruction.
 *
 * The step is compiled once per instruction set (isa.h): step_portable,
 * step_avx2 and step_avx512 inline every helper below (NMDL_INLINE), so
 * each fmaf is an FMA instruction where the variant has one; the context
 * picks one when it is created. The intrinsic kernels keep 6 to 12
 * independent fma chains in registers (fewer only in leftover blocks),
 * since a frame with the match model codes only 2 segments per thread:
 * the matrix products widen their block of outputs as segments get fewer,
 * attention scores take 64 keys, value sums run whole heads at once, and
 * softmax runs the rows of all heads side by side (model/dmath.h). The
 * attention kernels are AVX2 in the AVX-512 variant too (the same bits;
 * only the products use 16 lanes).
 */
#include "infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dmath.h"
#include "isa.h"
#include "layers.h"

#define LN_EPS 1e-5f
#define SEG_BLOCK 4  /* segments sharing one pass over a weight matrix */

typedef struct inf_block { /* offsets into nmdl_inf_weights.w */
    size_t ln1_g, ln1_b, wqkv, wo, ln2_g, ln2_b, w1, w2; /* matrices (in, out) */
} inf_block;

/* What every segment shares, read-only once built. */
struct nmdl_inf_weights {
    nmdl_model_config cfg;
    float *w;                /* parameters, matrices in panels */
    size_t wte, lnf_g, lnf_b, wout; /* wout (C, 256) */
    inf_block blk[NMDL_TF_MAX_LAYERS];
    float *bias;             /* (H, W): -slope_h * distance, exactly */
};

/* One group of segments: caches and activations, over shared weights. */
struct nmdl_inf {
    const nmdl_inf_weights *m;
    nmdl_inf_weights *own;   /* weights this pass made itself, or NULL */
    int S, C, F, H, D, L, W; /* W = ctx, the window */
    long t;                  /* bytes fed to each segment so far */
    float *kt;   /* (S, L, C, W): keys, transposed, slot = position % W */
    float *v;    /* (S, L, W, C): values */
    float *x, *h, *y, *proj; /* (S, C) */
    float *qkv;  /* (S, 3C) */
    float *ff;   /* (S, F) */
    float *logits; /* (S, 256) */
    float *sc;   /* (W) scores by slot */
    float *e;    /* (S, H, W) probabilities by segment, head, position */
    nmdl_isa isa;              /* the step's variant */
    const nmdl_dm_kernels *dm; /* softmax and GELU of that variant */
};

#define PANEL 16 /* outputs per panel of a matrix */

/* Index of weight (input i, output o) of a matrix of O outputs and I
 * inputs in panels: the panel of o starts at (o - o % PANEL) I and holds
 * rows of pw = min(PANEL, O - (o - o % PANEL)) weights. */
static size_t panel_index(int i, int o, int I, int O)
{
    const int o0 = o - o % PANEL, pw = O - o0 < PANEL ? O - o0 : PANEL;
    return (size_t)o0 * I + (size_t)i * pw + (size_t)(o - o0);
}

/* dst in panels = src (out, in), row-major. */
static void pack(float *dst, const float *src, int out, int in)
{
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            dst[panel_index(i, o, in, out)] = src[(size_t)o * in + i];
}

/* Floats of the weights: the parameters, a packed copy of the output
 * projection (C, 256) after them, then the ALiBi biases (H, W). */
static size_t weight_floats(const nmdl_model_config *c, size_t n_params)
{
    return n_params + NMDL_TF_VOCAB * (size_t)c->d_model + (size_t)c->n_head * c->ctx;
}

/* Floats of the state of S segments: key/value caches, then activations. */
static size_t state_floats(const nmdl_model_config *c, int S)
{
    const size_t C = (size_t)c->d_model, W = (size_t)c->ctx, Sz = (size_t)S;
    return 2 * Sz * c->n_layer * C * W +
           Sz * (7 * C + (size_t)c->d_ff + NMDL_TF_VOCAB) + (1 + Sz * c->n_head) * W;
}

static int config_ok(const nmdl_model_config *cfg)
{
    return cfg && !nmdl_model_config_check(cfg) &&
           cfg->d_model / cfg->n_head <= NMDL_INF_MAX_HEAD;
}

size_t nmdl_inf_weights_bytes(const nmdl_model_config *cfg)
{
    nmdl_tf_layout lay;
    if (!config_ok(cfg))
        return 0;
    nmdl_tf_layout_make(cfg, &lay);
    return weight_floats(cfg, lay.n_params) * sizeof(float) + sizeof(nmdl_inf_weights);
}

size_t nmdl_inf_state_bytes(const nmdl_model_config *cfg, int S)
{
    return config_ok(cfg) && S >= 1
               ? state_floats(cfg, S) * sizeof(float) + sizeof(nmdl_inf) : 0;
}

/* Copies the parameters, transposing every matrix. */
static void load_params(nmdl_inf_weights *f, const nmdl_tf_layout *lay,
                        const float *p)
{
    const int C = f->cfg.d_model, F = f->cfg.d_ff;
    memcpy(f->w, p, lay->n_params * sizeof(float));
    f->wte = lay->wte;
    f->lnf_g = lay->lnf_g;
    f->lnf_b = lay->lnf_b;
    for (int l = 0; l < f->cfg.n_layer; l++) {
        const nmdl_tf_block *b = &lay->block[l];
        inf_block *d = &f->blk[l];
        *d = (inf_block){b->ln1_g, b->ln1_b, b->wqkv, b->wo, b->ln2_g, b->ln2_b, b->w1, b->w2};
        pack(f->w + b->wqkv, p + b->wqkv, 3 * C, C);
        pack(f->w + b->wo, p + b->wo, C, C);
        pack(f->w + b->w1, p + b->w1, F, C);
        pack(f->w + b->w2, p + b->w2, C, F);
    }
    /* the output projection gets its own packed copy after the table */
    f->wout = lay->n_params;
    pack(f->w + f->wout, p + lay->wout, NMDL_TF_VOCAB, C);
}

int nmdl_inf_weights_create(const nmdl_model_config *cfg, const float *params,
                            nmdl_inf_weights **out)
{
    if (!out)
        return NMDL_ERR_ARG;
    *out = NULL;
    if (!config_ok(cfg) || !params)
        return NMDL_ERR_ARG;
    nmdl_tf_layout lay;
    nmdl_tf_layout_make(cfg, &lay);
    nmdl_inf_weights *f = calloc(1, sizeof *f);
    if (!f)
        return NMDL_ERR_NOMEM;
    f->cfg = *cfg;
    f->w = malloc(weight_floats(cfg, lay.n_params) * sizeof(float));
    if (!f->w) {
        free(f);
        return NMDL_ERR_NOMEM;
    }
    const int H = cfg->n_head, W = cfg->ctx;
    f->bias = f->w + lay.n_params + NMDL_TF_VOCAB * (size_t)cfg->d_model;
    for (int h = 0; h < H; h++)
        for (int d = 0; d < W; d++)
            f->bias[(size_t)h * W + d] = -nmdl_ly_alibi_slope(h, H) * (float)d;
    load_params(f, &lay, params);
    *out = f;
    return NMDL_OK;
}

void nmdl_inf_weights_free(nmdl_inf_weights *w)
{
    if (!w)
        return;
    free(w->w);
    free(w);
}

int nmdl_inf_create_shared(const nmdl_inf_weights *m, int S, nmdl_inf **out)
{
    if (!out)
        return NMDL_ERR_ARG;
    *out = NULL;
    if (!m || S < 1)
        return NMDL_ERR_ARG;
    const nmdl_model_config *cfg = &m->cfg;
    nmdl_inf *f = calloc(1, sizeof *f);
    if (!f)
        return NMDL_ERR_NOMEM;
    f->m = m;
    f->S = S, f->C = cfg->d_model, f->F = cfg->d_ff, f->H = cfg->n_head;
    f->D = f->C / f->H, f->L = cfg->n_layer, f->W = cfg->ctx;
    const size_t C = (size_t)f->C, W = (size_t)f->W, Sz = (size_t)S;
    const size_t kv = Sz * f->L * C * W;
    f->kt = malloc(state_floats(cfg, S) * sizeof(float));
    if (!f->kt) {
        free(f);
        return NMDL_ERR_NOMEM;
    }
    f->v = f->kt + kv;
    f->x = f->v + kv;
    f->h = f->x + Sz * C;
    f->y = f->h + Sz * C;
    f->proj = f->y + Sz * C;
    f->qkv = f->proj + Sz * C;
    f->ff = f->qkv + 3 * Sz * C;
    f->logits = f->ff + Sz * f->F;
    f->sc = f->logits + Sz * NMDL_TF_VOCAB;
    f->e = f->sc + W;
    f->isa = nmdl_isa_choose();
    f->dm = nmdl_dm_kernels_for(f->isa);
    nmdl_inf_reset(f);
    *out = f;
    return NMDL_OK;
}

int nmdl_inf_create(const nmdl_model_config *cfg, const float *params, int S,
                    nmdl_inf **out)
{
    if (!out)
        return NMDL_ERR_ARG;
    *out = NULL;
    nmdl_inf_weights *m;
    int rc = nmdl_inf_weights_create(cfg, params, &m);
    if (!rc && (rc = nmdl_inf_create_shared(m, S, out)))
        nmdl_inf_weights_free(m);
    if (!rc)
        (*out)->own = m;
    return rc;
}

void nmdl_inf_free(nmdl_inf *f)
{
    if (!f)
        return;
    nmdl_inf_weights_free(f->own);
    free(f->kt);
    free(f);
}

void nmdl_inf_reset(nmdl_inf *f)
{
    f->t = 0;
}

/* One block of out (S, O) = in (S, I) times wt (I, O) in panels:
 * segments s0 .. s0+ns-1, outputs o0 .. o0+no-1 of the panel at o0;
 * out[s][o] is the fma chain over i of (wt[i][o], in[s][i]). The portable
 * version. */
NMDL_INLINE void linear_block(float *out, const float *x, const float *wt,
                              int I, int O, int o0, int ns, int no)
{
    float acc[SEG_BLOCK][PANEL] = {{0}};
    const float *panel = wt + (size_t)o0 * I;
    for (int i = 0; i < I; i++) {
        const float *w = panel + (size_t)i * no;
        for (int s = 0; s < ns; s++) {
            const float xs = x[(size_t)s * I + i];
            for (int o = 0; o < no; o++)
                acc[s][o] = fmaf(w[o], xs, acc[s][o]);
        }
    }
    for (int s = 0; s < ns; s++)
        memcpy(out + (size_t)s * O + o0, acc[s], (size_t)no * sizeof(float));
}

#if NMDL_ISA_X86
#include <immintrin.h>
/* The same for NS segments and NV vectors of outputs, with intrinsics
 * whose fmadd rounds once, exactly as fmaf, so the bits are those of the
 * portable version. NS x NV = 8 accumulators (8 independent chains hide
 * the FMA latency): fewer segments take wider blocks of outputs. NS and NV
 * are constants in each expansion, so the accumulators stay in registers
 * (the compilers do not reliably keep them there from the portable loop). */
#define LINEAR_SIMD_NS(name, target, vec, lanes, zero, load, set1, fma,    \
                       store, NS, NV)                                          \
    target static void name##_##NS(float *out, const float *x,                 \
                                   const float *wt, int I, int O, int o0)      \
    {                                                                          \
        vec a[NS][NV];                                                         \
        for (int s = 0; s < NS; s++)                                           \
            for (int j = 0; j < NV; j++)                                       \
                a[s][j] = zero();                                              \
        for (int i = 0; i < I; i++) {                                          \
            vec wv[NV]; /* vector j: outputs o0 + j lanes .., full panels */   \
            for (int j = 0; j < NV; j++)                                       \
                wv[j] = load(wt + (size_t)(o0 + j * lanes / PANEL * PANEL) * I \
                             + (size_t)i * PANEL + j * lanes % PANEL);         \
            for (int s = 0; s < NS; s++) {                                     \
                const vec xs = set1(x[(size_t)s * I + i]);                     \
                for (int j = 0; j < NV; j++)                                   \
                    a[s][j] = fma(wv[j], xs, a[s][j]);                         \
            }                                                                  \
        }                                                                      \
        for (int s = 0; s < NS; s++)                                           \
            for (int j = 0; j < NV; j++)                                       \
                store(out + (size_t)s * O + o0 + j * lanes, a[s][j]);          \
    }
/* name(out, x, wt, I, O, o0, ns, narrow): one block for ns <= SEG_BLOCK
 * segments, 8 / ns vectors of outputs wide (2 for 3 segments), or 2 when
 * narrow; returns the outputs it covered. */
#define LINEAR_SIMD(name, target, vec, lanes, ...)                             \
    LINEAR_SIMD_NS(name, target, vec, lanes, __VA_ARGS__, 1, 8)                \
    LINEAR_SIMD_NS(name, target, vec, lanes, __VA_ARGS__, 2, 4)                \
    LINEAR_SIMD_NS(name, target, vec, lanes, __VA_ARGS__, 3, 2)                \
    LINEAR_SIMD_NS(name, target, vec, lanes, __VA_ARGS__, 4, 2)                \
    LINEAR_SIMD_NS(name##_narrow, target, vec, lanes, __VA_ARGS__, 1, 2)       \
    LINEAR_SIMD_NS(name##_narrow, target, vec, lanes, __VA_ARGS__, 2, 2)       \
    NMDL_INLINE int name(float *out, const float *x, const float *wt, int I,   \
                         int O, int o0, int ns, int narrow)                    \
    {                                                                          \
        if (ns == 1 && !narrow)                                                \
            return name##_1(out, x, wt, I, O, o0), 8 * lanes;                  \
        if (ns == 2 && !narrow)                                                \
            return name##_2(out, x, wt, I, O, o0), 4 * lanes;                  \
        switch (ns) {                                                          \
        case 1: name##_narrow_1(out, x, wt, I, O, o0); break;                  \
        case 2: name##_narrow_2(out, x, wt, I, O, o0); break;                  \
        case 3: name##_3(out, x, wt, I, O, o0); break;                         \
        default: name##_4(out, x, wt, I, O, o0); break;                        \
        }                                                                      \
        return 2 * lanes;                                                      \
    }
LINEAR_SIMD(linear_avx2, NMDL_TARGET_AVX2, __m256, 8, _mm256_setzero_ps,
            _mm256_loadu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps)
LINEAR_SIMD(linear_avx512, NMDL_TARGET_AVX512, __m512, 16, _mm512_setzero_ps,
            _mm512_loadu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps)
#endif

/* Outputs one block of name covers for ns segments, narrow or not. */
#define LINEAR_WIDTH(lanes, ns, narrow) \
    ((narrow) || (ns) > 2 ? 2 * (lanes) : (ns) == 1 ? 8 * (lanes) : 4 * (lanes))

/* out (S, O) = in (S, I) times wt (I, O), in blocks as wide as isa has,
 * the remaining outputs in portable blocks. */
NMDL_INLINE void linear(float *out, const float *in, const float *wt, int S,
                        int I, int O, nmdl_isa isa)
{
    for (int s0 = 0; s0 < S; s0 += SEG_BLOCK) {
        const int ns = S - s0 < SEG_BLOCK ? S - s0 : SEG_BLOCK;
        const float *x = in + (size_t)s0 * I;
        float *y = out + (size_t)s0 * O;
        int o0 = 0;
#if NMDL_ISA_X86
        for (int narrow = 0; narrow < 2; narrow++) {
            for (; isa == NMDL_ISA_AVX512 && o0 + LINEAR_WIDTH(16, ns, narrow) <= O;)
                o0 += linear_avx512(y, x, wt, I, O, o0, ns, narrow);
            for (; isa != NMDL_ISA_PORTABLE && o0 + LINEAR_WIDTH(8, ns, narrow) <= O;)
                o0 += linear_avx2(y, x, wt, I, O, o0, ns, narrow);
        }
#else
        (void)isa;
#endif
        for (; o0 < O; o0 += PANEL)
            linear_block(y, x, wt, I, O, o0, ns, O - o0 < PANEL ? O - o0 : PANEL);
    }
}

NMDL_INLINE void layernorm(float *y, const float *x, const float *g,
                           const float *b, int S, int C)
{
    for (int s = 0; s < S; s++) {
        const float *xs = x + (size_t)s * C;
        float *ys = y + (size_t)s * C, m = 0.0f, v = 0.0f;
        for (int c = 0; c < C; c++)
            m += xs[c];
        m = m / (float)C;
        for (int c = 0; c < C; c++) {
            float d = xs[c] - m;
            v = fmaf(d, d, v);
        }
        v = v / (float)C;
        float r = 1.0f / sqrtf(v + LN_EPS);
        for (int c = 0; c < C; c++)
            ys[c] = fmaf((xs[c] - m) * r, g[c], b[c]);
    }
}

NMDL_INLINE void residual(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] + y[i];
}

#define KEY_BLOCK 16 /* keys scored together */

/* Scores by slot: sc[k] = fma chain over d of (q[d], kt[d][k]) for the
 * n live slots, KEY_BLOCK keys at a time in registers. */
NMDL_INLINE void scores(float *sc, const float *q, const float *kt, int D,
                        int W, int n, int k0)
{
    for (; k0 + KEY_BLOCK <= n; k0 += KEY_BLOCK) {
        float acc[KEY_BLOCK] = {0};
        for (int d = 0; d < D; d++) {
            const float qd = q[d], *kd = kt + (size_t)d * W + k0;
            for (int k = 0; k < KEY_BLOCK; k++)
                acc[k] = fmaf(qd, kd[k], acc[k]);
        }
        memcpy(sc + k0, acc, sizeof acc);
    }
    for (int k = k0; k < n; k++) {
        float acc = 0.0f;
        for (int d = 0; d < D; d++)
            acc = fmaf(q[d], kt[(size_t)d * W + k], acc);
        sc[k] = acc;
    }
}

/* The k-th oldest position's slot, positions 0 .. n-1 being slots first ..
 * n-1 and then 0 .. first-1 (part = n - first). */
NMDL_INLINE int slot_of(int k, int first, int part)
{
    return k < part ? first + k : k - part;
}

/* Lanes c0 .. c1-1 of the attention output y (C), every head at once:
 * y[c] = fma chain over k = 0 .. n-1 (oldest first) of (e[h(c) W + k],
 * v[slot_k][c]) with h(c) = c / D. The portable version. */
NMDL_INLINE void values_lanes(float *y, const float *e, const float *v, int C,
                              int D, int W, int n, int first, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        const float *p = e + (size_t)(c / D) * W;
        float acc = 0.0f;
        for (int k = 0; k < n; k++)
            acc = fmaf(p[k], v[(size_t)slot_of(k, first, n - first) * C + c], acc);
        y[c] = acc;
    }
}

#if NMDL_ISA_X86
/* Scores of 64 keys from k0 in 8 vectors, so that 8 independent fma
 * chains hide the latency: the same chains as scores(). */
NMDL_TARGET_AVX2 static void scores64_avx2(float *sc, const float *q,
                                           const float *kt, int D, int W,
                                           int k0)
{
    __m256 a[8];
    for (int j = 0; j < 8; j++)
        a[j] = _mm256_setzero_ps();
    for (int d = 0; d < D; d++) {
        const __m256 qd = _mm256_set1_ps(q[d]);
        const float *kd = kt + (size_t)d * W + k0;
        for (int j = 0; j < 8; j++)
            a[j] = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kd + 8 * j), a[j]);
    }
    for (int j = 0; j < 8; j++)
        _mm256_storeu_ps(sc + k0 + 8 * j, a[j]);
}

/* values_lanes for 8 NV lanes from c0 (NV vectors, independent chains).
 * A vector may straddle two heads (D >= 8): its lanes of the second head
 * take that head's probability by a blend, so every lane's chain is the
 * portable one. */
#define VALUES_NV(NV)                                                          \
    NMDL_TARGET_AVX2 static void values_avx2_##NV(                             \
        float *y, const float *e, const float *v, int C, int D, int W, int n,  \
        int first, int c0)                                                     \
    {                                                                          \
        __m256 a[NV], mask[NV];                                                \
        const float *pa[NV], *pb[NV];                                          \
        for (int j = 0; j < NV; j++) {                                         \
            const int lo = c0 + 8 * j, ha = lo / D, hb = (lo + 7) / D;         \
            pa[j] = e + (size_t)ha * W, pb[j] = e + (size_t)hb * W;            \
            int m[8];                                                          \
            for (int i = 0; i < 8; i++)                                        \
                m[i] = (lo + i) / D == hb && hb != ha ? -1 : 0;              \
            mask[j] = _mm256_castsi256_ps(_mm256_loadu_si256((void *)m));      \
            a[j] = _mm256_setzero_ps();                                        \
        }                                                                      \
        for (int k = 0; k < n; k++) {                                          \
            const float *vr =                                                  \
                v + (size_t)slot_of(k, first, n - first) * C + c0;             \
            for (int j = 0; j < NV; j++) {                                     \
                const __m256 p = _mm256_blendv_ps(                             \
                    _mm256_broadcast_ss(pa[j] + k),                            \
                    _mm256_broadcast_ss(pb[j] + k), mask[j]);                  \
                a[j] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 8 * j), a[j]);  \
            }                                                                  \
        }                                                                      \
        for (int j = 0; j < NV; j++)                                           \
            _mm256_storeu_ps(y + c0 + 8 * j, a[j]);                            \
    }
VALUES_NV(4)
VALUES_NV(1)

/* values_lanes for heads h0 .. h0+HB-1 whose width D = 8 VPH fills whole
 * vectors: one broadcast of a head's probability serves its VPH vectors,
 * HB x VPH (8 to 12) independent chains, a whole row of v in one pass
 * where the heads are few. */
#define VALUES_HEADS(VPH, HB)                                                  \
    NMDL_TARGET_AVX2 static void values_avx2_h##VPH##_##HB(                    \
        float *y, const float *e, const float *v, int C, int W, int n,         \
        int first, int h0)                                                     \
    {                                                                          \
        __m256 a[HB][VPH];                                                     \
        const float *p[HB];                                                    \
        const int c0 = h0 * 8 * VPH;                                           \
        for (int b = 0; b < HB; b++) {                                         \
            p[b] = e + (size_t)(h0 + b) * W;                                   \
            for (int j = 0; j < VPH; j++)                                      \
                a[b][j] = _mm256_setzero_ps();                                 \
        }                                                                      \
        for (int k = 0; k < n; k++) {                                          \
            const float *vr =                                                  \
                v + (size_t)slot_of(k, first, n - first) * C + c0;             \
            for (int b = 0; b < HB; b++) {                                     \
                const __m256 pb = _mm256_broadcast_ss(p[b] + k);               \
                for (int j = 0; j < VPH; j++)                                  \
                    a[b][j] = _mm256_fmadd_ps(                                 \
                        pb, _mm256_loadu_ps(vr + 8 * (b * VPH + j)), a[b][j]); \
            }                                                                  \
        }                                                                      \
        for (int b = 0; b < HB; b++)                                           \
            for (int j = 0; j < VPH; j++)                                      \
                _mm256_storeu_ps(y + c0 + 8 * (b * VPH + j), a[b][j]);         \
    }
VALUES_HEADS(1, 8)
VALUES_HEADS(1, 1)
VALUES_HEADS(2, 4)
VALUES_HEADS(2, 1)
VALUES_HEADS(3, 4)
VALUES_HEADS(3, 1)
VALUES_HEADS(4, 3)
VALUES_HEADS(4, 1)

/* Heads of 8 VPH lanes (VPH 1 to 4) with values_avx2_h; returns 0 for
 * other widths. */
NMDL_INLINE int values_by_heads(float *y, const float *e, const float *v,
                                int C, int D, int H, int W, int n, int first)
{
    const int vph = D % 8 ? 0 : D / 8;
    if (vph < 1 || vph > 4)
        return 0;
    const int hb = vph == 1 ? 8 : vph == 2 ? 4 : vph == 3 ? 4 : 3;
    for (int h0 = 0; h0 < H;) {
        const int wide = h0 + hb <= H;
#define VALUES_CALL(VPH, HB) values_avx2_h##VPH##_##HB(y, e, v, C, W, n, first, h0)
        switch (vph * 2 + wide) {
        case 2: VALUES_CALL(1, 1); break;
        case 3: VALUES_CALL(1, 8); break;
        case 4: VALUES_CALL(2, 1); break;
        case 5: VALUES_CALL(2, 4); break;
        case 6: VALUES_CALL(3, 1); break;
        case 7: VALUES_CALL(3, 4); break;
        case 8: VALUES_CALL(4, 1); break;
        default: VALUES_CALL(4, 3); break;
        }
#undef VALUES_CALL
        h0 += wide ? hb : 1;
    }
    return 1;
}
#endif

/* Attention output y (C) of one segment from the probabilities e (H, W),
 * in vectors where isa has them (heads of 8 lanes or more). */
NMDL_INLINE void values(float *y, const float *e, const float *v, int C,
                        int D, int H, int W, int n, int first, nmdl_isa isa)
{
    int c0 = 0;
#if NMDL_ISA_X86
    if (isa != NMDL_ISA_PORTABLE &&
        values_by_heads(y, e, v, C, D, H, W, n, first))
        return;
    if (isa != NMDL_ISA_PORTABLE && D >= 8) {
        for (; c0 + 32 <= C; c0 += 32)
            values_avx2_4(y, e, v, C, D, W, n, first, c0);
        for (; c0 + 8 <= C; c0 += 8)
            values_avx2_1(y, e, v, C, D, W, n, first, c0);
    }
#else
    (void)isa, (void)H;
#endif
    values_lanes(y, e, v, C, D, W, n, first, c0, C);
}

/* Logits of one head of one segment at position t, oldest first, into
 * e (n): q (D) against the keys of its layer (kt rows h*D..). */
NMDL_INLINE void head_logits(nmdl_inf *f, float *e, const float *q,
                            const float *kt, int h, int n, int first,
                            nmdl_isa isa)
{
    const int D = f->D, W = f->W;
    const float scale = 1.0f / sqrtf((float)D);
    const float *bias = f->m->bias + (size_t)h * W; /* by distance t - j */
    kt += (size_t)h * D * W;
    int k0 = 0;
#if NMDL_ISA_X86
    for (; isa != NMDL_ISA_PORTABLE && k0 + 64 <= n; k0 += 64)
        scores64_avx2(f->sc, q, kt, D, W, k0);
#else
    (void)isa;
#endif
    scores(f->sc, q, kt, D, W, n, k0);
    const int part = n - first;
    for (int k = 0; k < n; k++)
        e[k] = fmaf(f->sc[slot_of(k, first, part)], scale, bias[n - 1 - k]);
}

/* Keys, values and the output y of every segment at layer l: logits of
 * every head of every segment into e (S, H, W), softmax over all those rows
 * at once (their sequential sums side by side; a row with a logit that is
 * not finite, from weights that overflow, becomes uniform), then values. */
NMDL_INLINE void attention(nmdl_inf *f, int l, nmdl_isa isa)
{
    const int C = f->C, W = f->W, H = f->H, slot = (int)(f->t % W);
    const int n = f->t + 1 < W ? (int)(f->t + 1) : W; /* positions (slots) */
    const int first = (int)((f->t + 1 - n) % W);      /* oldest one's slot */
    for (int s = 0; s < f->S; s++) {
        const float *qkv = f->qkv + (size_t)s * 3 * C;
        float *kt = f->kt + ((size_t)s * f->L + l) * C * W;
        float *v = f->v + ((size_t)s * f->L + l) * W * C;
        for (int c = 0; c < C; c++)
            kt[(size_t)c * W + slot] = qkv[C + c];
        memcpy(v + (size_t)slot * C, qkv + 2 * C, (size_t)C * sizeof(float));
        for (int h = 0; h < H; h++)
            head_logits(f, f->e + ((size_t)s * H + h) * W, qkv + h * f->D, kt,
                        h, n, first, isa);
    }
    f->dm->softmax_rows(f->e, f->e, f->S * H, n, (size_t)W);
    for (int s = 0; s < f->S; s++)
        values(f->y + (size_t)s * C, f->e + (size_t)s * H * W,
               f->v + ((size_t)s * f->L + l) * W * C, C, f->D, H, W, n, first,
               isa);
}

NMDL_INLINE void step(nmdl_inf *f, const uint8_t *tok, float *probs,
                      nmdl_isa isa)
{
    const int S = f->S, C = f->C, F = f->F;
    const nmdl_inf_weights *m = f->m;
    const float *w = m->w;
    for (int s = 0; s < S; s++)
        memcpy(f->x + (size_t)s * C, w + m->wte + (size_t)tok[s] * C,
               (size_t)C * sizeof(float));
    for (int l = 0; l < f->L; l++) {
        const inf_block *b = &m->blk[l];
        layernorm(f->h, f->x, w + b->ln1_g, w + b->ln1_b, S, C);
        linear(f->qkv, f->h, w + b->wqkv, S, C, 3 * C, isa);
        attention(f, l, isa);
        linear(f->proj, f->y, w + b->wo, S, C, C, isa);
        residual(f->x, f->proj, (size_t)S * C);
        layernorm(f->h, f->x, w + b->ln2_g, w + b->ln2_b, S, C);
        linear(f->ff, f->h, w + b->w1, S, C, F, isa);
        f->dm->gelu_array(f->ff, f->ff, (size_t)S * F);
        linear(f->proj, f->ff, w + b->w2, S, F, C, isa);
        residual(f->x, f->proj, (size_t)S * C);
    }
    layernorm(f->h, f->x, w + m->lnf_g, w + m->lnf_b, S, C);
    linear(f->logits, f->h, w + m->wout, S, C, NMDL_TF_VOCAB, isa);
    nmdl_tf_mask_logits(&m->cfg, f->logits, (size_t)S);
    f->dm->softmax_rows(f->logits, probs, S, NMDL_TF_VOCAB, NMDL_TF_VOCAB);
    f->t++;
}

static void step_portable(nmdl_inf *f, const uint8_t *tok, float *probs)
{
    step(f, tok, probs, NMDL_ISA_PORTABLE);
}

#if NMDL_ISA_X86
NMDL_TARGET_AVX2 static void step_avx2(nmdl_inf *f, const uint8_t *tok,
                                       float *probs)
{
    step(f, tok, probs, NMDL_ISA_AVX2);
}

NMDL_TARGET_AVX512 static void step_avx512(nmdl_inf *f, const uint8_t *tok,
                                           float *probs)
{
    step(f, tok, probs, NMDL_ISA_AVX512);
}
#endif

void nmdl_inf_step(nmdl_inf *f, const uint8_t *tok, float *probs)
{
#if NMDL_ISA_X86
    if (f->isa == NMDL_ISA_AVX512)
        step_avx512(f, tok, probs);
    else if (f->isa == NMDL_ISA_AVX2)
        step_avx2(f, tok, probs);
    else
#endif
        step_portable(f, tok, probs);
}
