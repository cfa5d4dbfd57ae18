/*
 * transformer.c: see transformer.h. Presets, the parameter table, the
 * activation arena, and forward and backward composed from layers.c.
 */
#include "transformer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "rng.h"

#define INIT_STD 0.02 /* weights ~ N(0, 0.02^2), as GPT-2 */

/* Presets and the sizes they serve: about one parameter per 12 input bytes
 * (1 MB: mini, 8 MB: small), where the prototype's two-part code was
 * shortest, and what 2 cores can train in the default effort's time. */

static const struct {
    const char *name;
    nmdl_model_config cfg;
    uint64_t up_to_bytes; /* the automatic choice takes it below this size */
} presets[] = {
    {"tiny", {2, 48, 4, 128, 256, 1, {0}}, 512u << 10},
    {"mini", {3, 64, 4, 256, 256, 1, {0}}, 3u << 20},
    {"small", {4, 96, 4, 384, 256, 1, {0}}, 16u << 20},
    {"medium", {6, 128, 4, 512, 256, 1, {0}}, 48u << 20},
    {"base", {6, 192, 6, 768, 256, 1, {0}}, UINT64_MAX},
};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

int nmdl_model_preset(const char *name, nmdl_model_config *cfg)
{
    for (int i = 0; name && i < N_PRESETS; i++)
        if (!strcmp(name, presets[i].name)) {
            *cfg = presets[i].cfg;
            return NMDL_OK;
        }
    return NMDL_ERR_ARG;
}

const char *nmdl_model_preset_name(int i)
{
    return i >= 0 && i < N_PRESETS ? presets[i].name : NULL;
}

const char *nmdl_model_preset_for_size(uint64_t n_bytes)
{
    int i = 0;
    while (i + 1 < N_PRESETS && n_bytes >= presets[i].up_to_bytes)
        i++;
    return presets[i].name;
}

int nmdl_model_config_check(const nmdl_model_config *c)
{
    if (!c || c->n_layer < 1 || c->n_layer > NMDL_TF_MAX_LAYERS ||
        c->d_model < 8 || c->d_model > 4096 || c->n_head < 1 ||
        c->d_model % c->n_head != 0 || c->d_ff < 1 || c->d_ff > 16384 ||
        c->ctx < 2 || c->ctx > 8192 || (c->tied != 0 && c->tied != 1))
        return NMDL_ERR_ARG;
    return NMDL_OK;
}

static size_t add_tensor(nmdl_tf_layout *lay, const char *name, int layer,
                         int rows, int cols)
{
    nmdl_tf_tensor *t = &lay->tensor[lay->n_tensors++];
    if (layer >= 0)
        snprintf(t->name, sizeof t->name, "h%d.%s", layer, name);
    else
        snprintf(t->name, sizeof t->name, "%s", name);
    t->off = lay->n_params;
    t->rows = rows;
    t->cols = cols;
    t->by_symbol = rows == NMDL_TF_VOCAB && layer < 0;
    lay->n_params += (size_t)rows * cols;
    return t->off;
}

void nmdl_tf_layout_make(const nmdl_model_config *c, nmdl_tf_layout *lay)
{
    const int C = c->d_model, F = c->d_ff;
    memset(lay, 0, sizeof *lay);
    lay->wte = add_tensor(lay, "wte", -1, NMDL_TF_VOCAB, C);
    for (int l = 0; l < c->n_layer; l++) {
        nmdl_tf_block *b = &lay->block[l];
        b->ln1_g = add_tensor(lay, "ln1_g", l, 1, C);
        b->ln1_b = add_tensor(lay, "ln1_b", l, 1, C);
        b->wqkv = add_tensor(lay, "wqkv", l, 3 * C, C);
        b->wo = add_tensor(lay, "wo", l, C, C);
        b->ln2_g = add_tensor(lay, "ln2_g", l, 1, C);
        b->ln2_b = add_tensor(lay, "ln2_b", l, 1, C);
        b->w1 = add_tensor(lay, "w1", l, F, C);
        b->w2 = add_tensor(lay, "w2", l, C, F);
    }
    lay->lnf_g = add_tensor(lay, "lnf_g", -1, 1, C);
    lay->lnf_b = add_tensor(lay, "lnf_b", -1, 1, C);
    lay->wout = c->tied ? lay->wte : add_tensor(lay, "wout", -1, NMDL_TF_VOCAB, C);
}

int nmdl_tf_is_matrix(const nmdl_tf_tensor *t)
{
    return t->rows > 1;
}

void nmdl_tf_symbol_set(nmdl_model_config *c, const uint8_t *s, size_t n)
{
    memset(c->absent, 0xff, sizeof c->absent);
    for (size_t i = 0; i < n; i++)
        c->absent[s[i] >> 3] &= (uint8_t)~(1u << (s[i] & 7));
}

int nmdl_tf_absent(const nmdl_model_config *c, int b)
{
    return c->absent[b >> 3] >> (b & 7) & 1;
}

int nmdl_tf_widest(const nmdl_tf_layout *lay)
{
    int w = 1;
    for (int k = 0; k < lay->n_tensors; k++)
        w = lay->tensor[k].cols > w ? lay->tensor[k].cols : w;
    return w;
}

int nmdl_tf_symbols(const nmdl_model_config *c)
{
    int n = 0;
    for (int b = 0; b < NMDL_TF_VOCAB; b++)
        n += !nmdl_tf_absent(c, b);
    return n;
}

int nmdl_tf_absent_row(const nmdl_model_config *c, const nmdl_tf_tensor *t, int row)
{
    return t->by_symbol && nmdl_tf_absent(c, row);
}

void nmdl_tf_mask_logits(const nmdl_model_config *c, float *logits, size_t rows)
{
    for (int b = 0; b < NMDL_TF_VOCAB; b++)
        for (size_t i = 0; nmdl_tf_absent(c, b) && i < rows; i++)
            logits[i * NMDL_TF_VOCAB + (size_t)b] = -0x1p100f;
}

/* LayerNorm gains 1, biases 0, matrices normal (the rows of absent symbols
 * zero); the projections back into the residual stream (wo, w2) scaled by
 * 1/sqrt(2 L) as in GPT-2. */
static void init_params(nmdl_model *m, uint64_t seed)
{
    nmdl_rng r;
    nmdl_rng_seed(&r, seed, 0);
    const double resid = INIT_STD / sqrt(2.0 * m->cfg.n_layer);
    for (int k = 0; k < m->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &m->lay.tensor[k];
        float *p = m->params + t->off;
        size_t n = (size_t)t->rows * t->cols;
        const char *kind = strchr(t->name, '.') ? strchr(t->name, '.') + 1 : t->name;
        double std = !strcmp(kind, "wo") || !strcmp(kind, "w2") ? resid : INIT_STD;
        for (size_t i = 0; i < n; i++)
            p[i] = !nmdl_tf_is_matrix(t) ? (strstr(kind, "_g") ? 1.0f : 0.0f)
                                         : (float)(std * nmdl_rng_normal(&r));
        for (int row = 0; row < t->rows; row++)
            if (nmdl_tf_absent_row(&m->cfg, t, row))
                memset(p + (size_t)row * t->cols, 0, (size_t)t->cols * sizeof *p);
    }
}

int nmdl_model_create(const nmdl_model_config *cfg, uint64_t seed,
                      nmdl_model **out)
{
    if (!out || nmdl_model_config_check(cfg))
        return NMDL_ERR_ARG;
    nmdl_model *m = calloc(1, sizeof *m);
    if (!m)
        return NMDL_ERR_NOMEM;
    m->cfg = *cfg;
    m->threads = 1;
    m->isa = nmdl_isa_choose();
    nmdl_tf_layout_make(cfg, &m->lay);
    m->params = malloc(m->lay.n_params * sizeof(float));
    if (!m->params) {
        free(m);
        return NMDL_ERR_NOMEM;
    }
    init_params(m, seed);
    *out = m;
    return NMDL_OK;
}

void nmdl_model_free(nmdl_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->arena);
    free(m);
}

void nmdl_model_get_config(const nmdl_model *m, nmdl_model_config *cfg)
{
    *cfg = m->cfg;
}

size_t nmdl_model_n_params(const nmdl_model *m)
{
    return m->lay.n_params;
}

/* Points m->a into base (or, with base NULL, only counts): returns floats. */
static size_t layout_acts(nmdl_model *m, float *base, int B, int T)
{
    const size_t N = (size_t)B * T, C = (size_t)m->cfg.d_model,
                 F = (size_t)m->cfg.d_ff, H = (size_t)m->cfg.n_head;
    const size_t TT = (size_t)B * H * T * T;
    size_t used = 0;
    nmdl_tf_acts *a = &m->a;
#define TAKE(ptr, n) (ptr = base ? base + used : NULL, used += (n))
    for (int l = 0; l < m->cfg.n_layer; l++) {
        TAKE(a->x[l], N * C);
        TAKE(a->ln1[l], N * C);
        TAKE(a->ln1_mean[l], N);
        TAKE(a->ln1_rstd[l], N);
        TAKE(a->qkv[l], 3 * N * C);
        TAKE(a->att[l], TT);
        TAKE(a->atty[l], N * C);
        TAKE(a->xmid[l], N * C);
        TAKE(a->ln2[l], N * C);
        TAKE(a->ln2_mean[l], N);
        TAKE(a->ln2_rstd[l], N);
        TAKE(a->fch[l], N * F);
        TAKE(a->fcg[l], N * F);
    }
    TAKE(a->x[m->cfg.n_layer], N * C);
    TAKE(a->lnf, N * C);
    TAKE(a->lnf_mean, N);
    TAKE(a->lnf_rstd, N);
    TAKE(a->probs, N * NMDL_TF_VOCAB);
    TAKE(a->losses, N);
    TAKE(a->dx, N * C);
    TAKE(a->dln, N * C);
    TAKE(a->datty, N * C);
    TAKE(a->dqkv, 3 * N * C);
    TAKE(a->dfc, N * F);
    TAKE(a->datt, TT);
#undef TAKE
    return used;
}

int nmdl_tf_reserve(nmdl_model *m, int B, int T)
{
    if (B < 1 || T < 1 || T > m->cfg.ctx)
        return NMDL_ERR_ARG;
    size_t need = layout_acts(m, NULL, B, T);
    if (!m->grads && !(m->grads = calloc(m->lay.n_params, sizeof(float))))
        return NMDL_ERR_NOMEM;
    if (need > m->arena_floats) {
        float *p = realloc(m->arena, need * sizeof(float));
        if (!p)
            return NMDL_ERR_NOMEM;
        m->arena = p;
        m->arena_floats = need;
    }
    m->cap_B = B;
    m->cap_T = T;
    return NMDL_OK;
}

void nmdl_tf_zero_grad(nmdl_model *m)
{
    memset(m->grads, 0, m->lay.n_params * sizeof(float));
}

static void embed(nmdl_model *m, const uint8_t *x, size_t N)
{
    const int C = m->cfg.d_model;
    const float *wte = m->params + m->lay.wte;
    for (size_t i = 0; i < N; i++)
        memcpy(m->a.x[0] + i * C, wte + (size_t)x[i] * C, C * sizeof(float));
}

static void block_forward(nmdl_model *m, int l, int B, int T)
{
    const int C = m->cfg.d_model, F = m->cfg.d_ff, H = m->cfg.n_head;
    const int N = B * T, nt = m->threads;
    const nmdl_tf_block *w = &m->lay.block[l];
    const float *p = m->params;
    nmdl_tf_acts *a = &m->a;
    nmdl_ly_layernorm(a->ln1[l], a->ln1_mean[l], a->ln1_rstd[l], a->x[l],
                      p + w->ln1_g, p + w->ln1_b, N, C, nt);
    nmdl_ly_matmul(a->qkv[l], a->ln1[l], p + w->wqkv, N, C, 3 * C, 0, nt);
    nmdl_ly_attention(a->atty[l], a->att[l], a->qkv[l], B, T, C, H, m->isa, nt);
    memcpy(a->xmid[l], a->x[l], (size_t)N * C * sizeof(float));
    nmdl_ly_matmul(a->xmid[l], a->atty[l], p + w->wo, N, C, C, 1, nt);
    nmdl_ly_layernorm(a->ln2[l], a->ln2_mean[l], a->ln2_rstd[l], a->xmid[l],
                      p + w->ln2_g, p + w->ln2_b, N, C, nt);
    nmdl_ly_matmul(a->fch[l], a->ln2[l], p + w->w1, N, C, F, 0, nt);
    nmdl_ly_gelu(a->fcg[l], a->fch[l], (size_t)N * F, m->isa, nt);
    memcpy(a->x[l + 1], a->xmid[l], (size_t)N * C * sizeof(float));
    nmdl_ly_matmul(a->x[l + 1], a->fcg[l], p + w->w2, N, F, C, 1, nt);
}

int nmdl_tf_forward(nmdl_model *m, const uint8_t *x, const uint8_t *y, int B,
                    int T, double *loss)
{
    if (!m->arena || B < 1 || T < 1 || B > m->cap_B || T > m->cap_T)
        return NMDL_ERR_ARG;
    const int C = m->cfg.d_model, L = m->cfg.n_layer, N = B * T;
    layout_acts(m, m->arena, B, T);
    m->x = x;
    m->y = y;
    m->B = B;
    m->T = T;
    nmdl_tf_acts *a = &m->a;
    embed(m, x, (size_t)N);
    for (int l = 0; l < L; l++) {
        block_forward(m, l, B, T);
        if (nmdl_prog_add(m->prog, 0, 0)) /* a step of a big model is long */
            return NMDL_ERR_CANCELED;
    }
    nmdl_ly_layernorm(a->lnf, a->lnf_mean, a->lnf_rstd, a->x[L],
                      m->params + m->lay.lnf_g, m->params + m->lay.lnf_b, N, C,
                      m->threads);
    nmdl_ly_matmul(a->probs, a->lnf, m->params + m->lay.wout, N, C,
                   NMDL_TF_VOCAB, 0, m->threads);
    nmdl_tf_mask_logits(&m->cfg, a->probs, (size_t)N);
    if (!y)
        return NMDL_OK;
    nmdl_ly_softmax_xent(a->probs, a->losses, y, N, NMDL_TF_VOCAB, m->isa,
                         m->threads);
    double sum = 0.0;
    for (int i = 0; i < N; i++)
        sum += a->losses[i];
    if (loss)
        *loss = sum / N;
    return NMDL_OK;
}

static void block_backward(nmdl_model *m, int l)
{
    const int C = m->cfg.d_model, F = m->cfg.d_ff, H = m->cfg.n_head;
    const int B = m->B, T = m->T, N = B * T, nt = m->threads;
    const nmdl_tf_block *w = &m->lay.block[l];
    const float *p = m->params;
    float *g = m->grads;
    nmdl_tf_acts *a = &m->a;
    /* MLP: dx holds dL/dx[l+1] */
    nmdl_ly_matmul_backward(a->dfc, g + w->w2, a->dx, a->fcg[l], p + w->w2, N, F, C, nt);
    nmdl_ly_gelu_backward(a->dfc, a->dfc, a->fch[l], (size_t)N * F, m->isa, nt);
    nmdl_ly_matmul_backward(a->dln, g + w->w1, a->dfc, a->ln2[l], p + w->w1, N, C, F, nt);
    nmdl_ly_layernorm_backward(a->dx, g + w->ln2_g, g + w->ln2_b, a->dln,
                               a->xmid[l], p + w->ln2_g, a->ln2_mean[l],
                               a->ln2_rstd[l], N, C, nt);
    /* attention: dx now holds dL/dxmid[l] */
    nmdl_ly_matmul_backward(a->datty, g + w->wo, a->dx, a->atty[l], p + w->wo, N, C, C, nt);
    nmdl_ly_attention_backward(a->dqkv, a->datt, a->datty, a->att[l], a->qkv[l],
                               B, T, C, H, m->isa, nt);
    nmdl_ly_matmul_backward(a->dln, g + w->wqkv, a->dqkv, a->ln1[l],
                            p + w->wqkv, N, C, 3 * C, nt);
    nmdl_ly_layernorm_backward(a->dx, g + w->ln1_g, g + w->ln1_b, a->dln,
                               a->x[l], p + w->ln1_g, a->ln1_mean[l],
                               a->ln1_rstd[l], N, C, nt);
}

int nmdl_tf_backward(nmdl_model *m, const float *weight)
{
    if (!m->y || !m->grads)
        return NMDL_ERR_ARG;
    const int C = m->cfg.d_model, L = m->cfg.n_layer, N = m->B * m->T;
    nmdl_tf_acts *a = &m->a;
    float *g = m->grads;
    nmdl_ly_softmax_xent_backward(a->probs, m->y, weight, 1.0f / (float)N, N,
                                  NMDL_TF_VOCAB, m->threads);
    nmdl_ly_matmul_backward(a->dln, g + m->lay.wout, a->probs, a->lnf,
                            m->params + m->lay.wout, N, C, NMDL_TF_VOCAB,
                            m->threads);
    memset(a->dx, 0, (size_t)N * C * sizeof(float));
    nmdl_ly_layernorm_backward(a->dx, g + m->lay.lnf_g, g + m->lay.lnf_b, a->dln,
                               a->x[L], m->params + m->lay.lnf_g, a->lnf_mean,
                               a->lnf_rstd, N, C, m->threads);
    for (int l = L - 1; l >= 0; l--) {
        block_backward(m, l);
        if (nmdl_prog_add(m->prog, 0, 0))
            return NMDL_ERR_CANCELED;
    }
    float *dwte = g + m->lay.wte;
    for (int i = 0; i < N; i++) {
        float *row = dwte + (size_t)m->x[i] * C;
        const float *d = a->dx + (size_t)i * C;
        for (int c = 0; c < C; c++)
            row[c] += d[c];
    }
    m->y = NULL; /* the probabilities became gradients */
    return NMDL_OK;
}
