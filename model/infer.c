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
 * Matrices are stored transposed, (in, out), so that the loop over the
 * inputs is outermost and the independent outputs sit side by side in
 * memory, where the compiler may process 8 or 16 of them per instruction.
 *
 * The step is compiled once per instruction set (isa.h): step_portable,
 * step_avx2 and step_avx512 inline every helper below (NMDL_INLINE), so
 * each fmaf is an FMA instruction where the variant has one; the context
 * picks one when it is created.
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
#define OUT_BLOCK 16 /* outputs accumulated together */

typedef struct inf_block { /* offsets into nmdl_inf_weights.w */
    size_t ln1_g, ln1_b, wqkv, wo, ln2_g, ln2_b, w1, w2; /* matrices (in, out) */
} inf_block;

/* What every segment shares, read-only once built. */
struct nmdl_inf_weights {
    nmdl_model_config cfg;
    float *w;                /* parameters, matrices transposed */
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
    float *sc, *e; /* (W) scores by slot, then by position */
    nmdl_isa isa;              /* the step's variant */
    const nmdl_dm_kernels *dm; /* softmax and GELU of that variant */
};

/* dst (in, out) = src (out, in) transposed. */
static void transpose(float *dst, const float *src, int out, int in)
{
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            dst[(size_t)i * out + o] = src[(size_t)o * in + i];
}

/* Floats of the weights: the parameters, a transposed copy of the output
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
           Sz * (7 * C + (size_t)c->d_ff + NMDL_TF_VOCAB) + 2 * W;
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
        transpose(f->w + b->wqkv, p + b->wqkv, 3 * C, C);
        transpose(f->w + b->wo, p + b->wo, C, C);
        transpose(f->w + b->w1, p + b->w1, F, C);
        transpose(f->w + b->w2, p + b->w2, C, F);
    }
    /* the output projection gets its own transposed copy after the table */
    f->wout = lay->n_params;
    transpose(f->w + f->wout, p + lay->wout, NMDL_TF_VOCAB, C);
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

/* One block of out (S, O) = in (S, I) times wt (I, O): segments s0 ..
 * s0+ns-1, outputs o0 .. o0+no-1; out[s][o] is the fma chain over i of
 * (wt[i][o], in[s][i]). The portable version. */
NMDL_INLINE void linear_block(float *out, const float *x, const float *wt,
                              int I, int O, int o0, int ns, int no)
{
    float acc[SEG_BLOCK][OUT_BLOCK] = {{0}};
    for (int i = 0; i < I; i++) {
        const float *w = wt + (size_t)i * O + o0;
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
/* The same for NS segments and 2 vectors of outputs, with intrinsics whose
 * fmadd rounds once, exactly as fmaf, so the bits are those of the portable
 * version: AVX2 does 16 outputs (2 x 8), AVX-512 32 (2 x 16). NS is a
 * constant in each expansion, so the accumulators stay in registers (the
 * compilers do not reliably keep them there from the portable loop). */
#define LINEAR_SIMD_NS(name, target, vec, lanes, zero, load, set1, fma,    \
                       store, NS)                                              \
    target static void name##_##NS(float *out, const float *x,                 \
                                   const float *wt, int I, int O, int o0)      \
    {                                                                          \
        vec a[NS][2];                                                          \
        for (int s = 0; s < NS; s++)                                           \
            a[s][0] = a[s][1] = zero();                                        \
        for (int i = 0; i < I; i++) {                                          \
            const float *w = wt + (size_t)i * O + o0;                          \
            const vec w0 = load(w), w1 = load(w + lanes);                      \
            for (int s = 0; s < NS; s++) {                                     \
                const vec xs = set1(x[(size_t)s * I + i]);                     \
                a[s][0] = fma(w0, xs, a[s][0]);                                \
                a[s][1] = fma(w1, xs, a[s][1]);                                \
            }                                                                  \
        }                                                                      \
        for (int s = 0; s < NS; s++) {                                         \
            store(out + (size_t)s * O + o0, a[s][0]);                          \
            store(out + (size_t)s * O + o0 + lanes, a[s][1]);                  \
        }                                                                      \
    }
/* name(out, x, wt, I, O, o0, ns): one block for ns <= SEG_BLOCK segments. */
#define LINEAR_SIMD(name, ...)                                                 \
    LINEAR_SIMD_NS(name, __VA_ARGS__, 1)                                       \
    LINEAR_SIMD_NS(name, __VA_ARGS__, 2)                                       \
    LINEAR_SIMD_NS(name, __VA_ARGS__, 3)                                       \
    LINEAR_SIMD_NS(name, __VA_ARGS__, 4)                                       \
    NMDL_INLINE void name(float *out, const float *x, const float *wt, int I,  \
                          int O, int o0, int ns)                               \
    {                                                                          \
        switch (ns) {                                                          \
        case 4: name##_4(out, x, wt, I, O, o0); break;                         \
        case 3: name##_3(out, x, wt, I, O, o0); break;                         \
        case 2: name##_2(out, x, wt, I, O, o0); break;                         \
        default: name##_1(out, x, wt, I, O, o0); break;                        \
        }                                                                      \
    }
LINEAR_SIMD(linear_avx2, NMDL_TARGET_AVX2, __m256, 8, _mm256_setzero_ps,
            _mm256_loadu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps)
LINEAR_SIMD(linear_avx512, NMDL_TARGET_AVX512, __m512, 16, _mm512_setzero_ps,
            _mm512_loadu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps)
#endif

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
        for (; isa == NMDL_ISA_AVX512 && o0 + 32 <= O; o0 += 32)
            linear_avx512(y, x, wt, I, O, o0, ns);
        for (; isa != NMDL_ISA_PORTABLE && o0 + 16 <= O; o0 += 16)
            linear_avx2(y, x, wt, I, O, o0, ns);
#else
        (void)isa;
#endif
        for (; o0 < O; o0 += OUT_BLOCK)
            linear_block(y, x, wt, I, O, o0, ns,
                         O - o0 < OUT_BLOCK ? O - o0 : OUT_BLOCK);
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

/* dmath's softmax, or uniform when a logit is not finite (weights that
 * overflow): still the same on every machine. */
NMDL_INLINE void softmax(const nmdl_dm_kernels *dm, const float *logits,
                         float *p, int n)
{
    if (dm->softmax(logits, p, n) != 0)
        for (int i = 0; i < n; i++)
            p[i] = 1.0f / (float)n;
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
                        int W, int n)
{
    int k0 = 0;
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

/* One head of one segment at position t: q (D), the cache of its layer
 * (kt rows h*D.., v columns h*D..), output y (D). */
NMDL_INLINE void head(nmdl_inf *f, float *y, const float *q, const float *kt,
                      const float *v, int h)
{
    const int D = f->D, W = f->W, C = f->C;
    const long t = f->t;
    const int n = t + 1 < W ? (int)(t + 1) : W; /* positions (and slots) */
    const float scale = 1.0f / sqrtf((float)D);
    const float *bias = f->m->bias + (size_t)h * W; /* by distance t - j */
    scores(f->sc, q, kt + (size_t)h * D * W, D, W, n);
    /* by position, oldest first: slots first .. n-1, then 0 .. first-1 */
    const int first = (int)((t + 1 - n) % W), part = n - first;
    for (int k = 0; k < part; k++)
        f->e[k] = fmaf(f->sc[first + k], scale, bias[n - 1 - k]);
    for (int k = part; k < n; k++)
        f->e[k] = fmaf(f->sc[k - part], scale, bias[n - 1 - k]);
    softmax(f->dm, f->e, f->e, n);
    float acc[NMDL_INF_MAX_HEAD];
    for (int d = 0; d < D; d++)
        acc[d] = 0.0f;
    for (int k = 0; k < n; k++) {
        const int slot = k < part ? first + k : k - part;
        const float p = f->e[k], *vj = v + (size_t)slot * C + h * D;
        for (int d = 0; d < D; d++)
            acc[d] = fmaf(p, vj[d], acc[d]);
    }
    memcpy(y, acc, (size_t)D * sizeof(float));
}

NMDL_INLINE void attention(nmdl_inf *f, int l)
{
    const int C = f->C, W = f->W, slot = (int)(f->t % W);
    for (int s = 0; s < f->S; s++) {
        const float *qkv = f->qkv + (size_t)s * 3 * C;
        float *kt = f->kt + ((size_t)s * f->L + l) * C * W;
        float *v = f->v + ((size_t)s * f->L + l) * W * C;
        for (int c = 0; c < C; c++)
            kt[(size_t)c * W + slot] = qkv[C + c];
        memcpy(v + (size_t)slot * C, qkv + 2 * C, (size_t)C * sizeof(float));
        for (int h = 0; h < f->H; h++)
            head(f, f->y + (size_t)s * C + h * f->D, qkv + h * f->D, kt, v, h);
    }
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
        attention(f, l);
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
    for (int s = 0; s < S; s++)
        softmax(f->dm, f->logits + (size_t)s * NMDL_TF_VOCAB,
                probs + (size_t)s * NMDL_TF_VOCAB, NMDL_TF_VOCAB);
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
