/*
 * test_model.c: the training-path transformer. Every parameter tensor's
 * gradient against central finite differences; attention over windows of
 * several row blocks against a double-precision reference; AdamW drives the
 * loss on a repetitive text far below its order-0 entropy; training is
 * reproducible; checkpoints roundtrip and reject damage; nonsense
 * configurations and corpora get errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/infer.h"
#include "model/layers.h"
#include "model/rng.h"
#include "model/train.h"
#include "model/transformer.h"
#include "nmdl.h"
#include "testutil.h"

enum { GB = 2, GT = 8 }; /* gradient-check batch: 2 windows of 8 bytes */

static double loss_at(nmdl_model *m, const uint8_t *x, const uint8_t *y)
{
    double loss;
    assert_nmdl_ok(nmdl_tf_forward(m, x, y, GB, GT, &loss));
    return loss;
}

/* (L(w + h u) - L(w - h u)) / 2h for a direction u over tensor t. */
static double fd_along(nmdl_model *m, const nmdl_tf_tensor *t, const double *u,
                       double h, const uint8_t *x, const uint8_t *y)
{
    size_t n = (size_t)t->rows * t->cols;
    float *w = m->params + t->off, *save = malloc(n * sizeof(float));
    memcpy(save, w, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(save[i] + h * u[i]);
    double up = loss_at(m, x, y);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(save[i] - h * u[i]);
    double down = loss_at(m, x, y);
    memcpy(w, save, n * sizeof(float));
    free(save);
    return (up - down) / (2 * h);
}

/* Tolerances: the loss is a float32 computation (relative rounding ~1e-7,
 * a few e-7 absolute on a loss near 5.5), so the central difference carries
 * noise of about 1e-6 / h = 1e-4 at h = 1e-2, and a truncation error of
 * order h^2 |L'''| ~ 1e-4. An absolute 2e-3 plus a relative 2% (5% for
 * single coordinates, whose third derivatives are larger) leaves a margin
 * over both, while any real error in a backward formula (a missing term, a
 * wrong sign or factor) misses by far more. */
static void check_tensor(nmdl_model *m, const nmdl_tf_tensor *t, const float *g,
                         const uint8_t *x, const uint8_t *y, nmdl_rng *r)
{
    const size_t n = (size_t)t->rows * t->cols;
    const double h = 1e-2;
    double *u = calloc(n, sizeof *u), norm = 0;
    for (size_t i = 0; i < n; i++)
        norm += (double)g[i] * g[i];
    norm = sqrt(norm);
    assert_true(norm > 1e-6); /* every tensor takes part in the loss */
    for (size_t i = 0; i < n; i++) /* along the gradient: d = |g| */
        u[i] = g[i] / norm;
    double fd = fd_along(m, t, u, h, x, y);
    if (fabs(fd - norm) > 2e-3 + 0.02 * norm)
        fail_msg("%s: along gradient fd %.6f analytic %.6f", t->name, fd, norm);
    for (int k = 0; k < 3; k++) { /* random sign directions */
        double dot = 0;
        for (size_t i = 0; i < n; i++) {
            u[i] = (nmdl_rng_next(r) & 1 ? 1.0 : -1.0) / sqrt((double)n);
            dot += u[i] * g[i];
        }
        fd = fd_along(m, t, u, h, x, y);
        if (fabs(fd - dot) > 2e-3 + 0.02 * norm)
            fail_msg("%s: random direction fd %.6f analytic %.6f", t->name, fd, dot);
    }
    size_t picked[3];
    for (int k = 0; k < 3 && k < (int)n; k++) { /* the largest coordinates */
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++)
                taken |= picked[j] == i;
            if (!taken && (best == SIZE_MAX || fabsf(g[i]) > fabsf(g[best])))
                best = i;
        }
        picked[k] = best;
        memset(u, 0, n * sizeof *u);
        u[best] = 1.0;
        fd = fd_along(m, t, u, h, x, y);
        if (fabs(fd - g[best]) > 2e-3 + 0.05 * fabs(g[best]))
            fail_msg("%s[%zu]: fd %.6f analytic %.6f", t->name, best, fd, g[best]);
    }
    free(u);
}

static void gradients_match(int tied)
{
    nmdl_model_config c = {2, 16, 2, 24, GT, tied, {0}};
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&c, 7, &m));
    assert_nmdl_ok(nmdl_tf_reserve(m, GB, GT));
    nmdl_rng r;
    nmdl_rng_seed(&r, 8, 0);
    for (size_t i = 0; i < m->lay.n_params; i++) /* away from the init's */
        m->params[i] += (float)(0.3 * nmdl_rng_normal(&r)); /* symmetries */
    uint8_t x[GB * GT], y[GB * GT];
    for (int i = 0; i < GB * GT; i++) {
        x[i] = (uint8_t)(nmdl_rng_below(&r, 6) * 40);
        y[i] = (uint8_t)(nmdl_rng_below(&r, 6) * 40);
    }
    double loss;
    nmdl_tf_zero_grad(m);
    assert_nmdl_ok(nmdl_tf_forward(m, x, y, GB, GT, &loss));
    assert_nmdl_ok(nmdl_tf_backward(m, NULL));
    float *g = malloc(m->lay.n_params * sizeof(float));
    memcpy(g, m->grads, m->lay.n_params * sizeof(float));
    for (int k = 0; k < m->lay.n_tensors; k++)
        check_tensor(m, &m->lay.tensor[k], g + m->lay.tensor[k].off, x, y, &r);
    print_message("gradient check (%s): %d tensors, %zu parameters, loss %.4f nats\n",
                  tied ? "tied" : "untied", m->lay.n_tensors, m->lay.n_params, loss);
    free(g);
    nmdl_model_free(m);
}

static void gradients_untied(void **state)
{
    (void)state;
    gradients_match(0);
}

static void gradients_tied(void **state)
{
    (void)state;
    gradients_match(1);
}

/* Causal ALiBi attention of one window in double precision, straight from
 * the definition: y (T, C) and, for the loss sum(y * r), dqkv (T, 3C). */
static void attention_reference(const float *qkv, const float *r, int T, int C,
                                int H, double *y, double *dqkv)
{
    const int D = C / H, C3 = 3 * C;
    const double scale = 1.0 / sqrt((double)D);
    double *p = malloc(sizeof(double) * T), *dp = malloc(sizeof(double) * T);
    memset(dqkv, 0, sizeof(double) * T * C3);
    for (int h = 0; h < H; h++) {
        const double slope = nmdl_ly_alibi_slope(h, H);
        for (int t = 0; t < T; t++) {
            const float *q = qkv + t * C3 + h * D;
            double mx = -INFINITY, sum = 0, dot = 0;
            for (int s = 0; s <= t; s++) {
                const float *k = qkv + s * C3 + C + h * D;
                p[s] = -slope * (t - s);
                for (int d = 0; d < D; d++)
                    p[s] += scale * q[d] * k[d];
                mx = p[s] > mx ? p[s] : mx;
            }
            for (int s = 0; s <= t; s++)
                sum += p[s] = exp(p[s] - mx);
            for (int d = 0; d < D; d++)
                y[t * C + h * D + d] = 0;
            for (int s = 0; s <= t; s++) {
                const float *v = qkv + s * C3 + 2 * C + h * D;
                const float *g = r + t * C + h * D;
                p[s] /= sum;
                dp[s] = 0;
                for (int d = 0; d < D; d++) {
                    y[t * C + h * D + d] += p[s] * v[d];
                    dp[s] += g[d] * v[d];
                    dqkv[s * C3 + 2 * C + h * D + d] += p[s] * g[d];
                }
                dot += p[s] * dp[s];
            }
            for (int s = 0; s <= t; s++) {
                double ds = p[s] * (dp[s] - dot) * scale;
                for (int d = 0; d < D; d++) {
                    dqkv[t * C3 + h * D + d] += ds * qkv[s * C3 + C + h * D + d];
                    dqkv[s * C3 + C + h * D + d] += ds * q[d];
                }
            }
        }
    }
    free(p);
    free(dp);
}

/* The training kernels cut each window's (T, T) products into row blocks
 * and skip the masked triangle: T = 150 spans two whole blocks and a part. */
static void attention_matches_reference(void **state)
{
    (void)state;
    enum { B = 2, T = 150, C = 24, H = 3, C3 = 3 * C };
    float *qkv = malloc(sizeof(float) * B * T * C3), *r = malloc(sizeof(float) * B * T * C);
    float *y = malloc(sizeof(float) * B * T * C), *dqkv = malloc(sizeof(float) * B * T * C3);
    float *att = malloc(sizeof(float) * B * H * T * T), *scratch = malloc(sizeof(float) * B * H * T * T);
    double *yr = malloc(sizeof(double) * T * C), *dr = malloc(sizeof(double) * T * C3);
    nmdl_rng g;
    nmdl_rng_seed(&g, 11, 0);
    for (int i = 0; i < B * T * C3; i++)
        qkv[i] = (float)nmdl_rng_normal(&g);
    for (int i = 0; i < B * T * C; i++)
        r[i] = (float)nmdl_rng_normal(&g);
    const nmdl_isa isa = nmdl_isa_choose();
    nmdl_ly_attention(y, att, qkv, B, T, C, H, isa, 2);
    nmdl_ly_attention_backward(dqkv, scratch, r, att, qkv, B, T, C, H, isa, 2);
    double ey = 0, ed = 0;
    for (int b = 0; b < B; b++) {
        attention_reference(qkv + b * T * C3, r + b * T * C, T, C, H, yr, dr);
        for (int i = 0; i < T * C; i++)
            ey = fmax(ey, fabs(y[b * T * C + i] - yr[i]) / (1 + fabs(yr[i])));
        for (int i = 0; i < T * C3; i++)
            ed = fmax(ed, fabs(dqkv[b * T * C3 + i] - dr[i]) / (1 + fabs(dr[i])));
    }
    print_message("attention at T = %d: max relative error y %.2e, dqkv %.2e\n", T, ey, ed);
    assert_true(ey < 1e-5 && ed < 1e-5);
    free(qkv), free(r), free(y), free(dqkv), free(att), free(scratch), free(yr), free(dr);
}

static const char phrase[] = "the quick brown fox jumps over the lazy dog; ";

/* n bytes of the phrase repeated, malloc'd. */
static uint8_t *repetitive(size_t n)
{
    uint8_t *s = malloc(n);
    for (size_t i = 0; i < n; i++)
        s[i] = (uint8_t)phrase[i % (sizeof phrase - 1)];
    return s;
}

static double order0_bits(const uint8_t *s, size_t n)
{
    double count[256] = {0}, h = 0;
    for (size_t i = 0; i < n; i++)
        count[s[i]]++;
    for (int c = 0; c < 256; c++)
        if (count[c] > 0)
            h -= count[c] / n * log2(count[c] / n);
    return h;
}

/* A model of c (seed 4) after `steps` steps of `batch` windows of text, as
 * a member of team (NULL: alone, one thread). */
static nmdl_model *train_steps(const nmdl_model_config *c, const uint8_t *text, size_t n,
                               long steps, int batch, const nmdl_team *team)
{
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(c, 4, &m));
    nmdl_train_params p;
    nmdl_train_params_default(&p);
    p.steps = steps;
    p.batch = batch;
    p.threads = 1;
    p.team = team;
    assert_nmdl_ok(nmdl_model_train(m, text, n, &p, NULL));
    return m;
}

static nmdl_model *train_small(const uint8_t *text, size_t n, uint64_t seed,
                               int threads, nmdl_train_report *rep)
{
    nmdl_model_config c = {2, 32, 2, 64, 32, 1, {0}};
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&c, seed, &m));
    nmdl_train_params p;
    nmdl_train_params_default(&p);
    p.steps = 300;
    p.batch = 8;
    p.lr = 3e-3;
    p.seed = seed;
    p.threads = threads;
    assert_nmdl_ok(nmdl_model_train(m, text, n, &p, rep));
    return m;
}

static void adamw_learns_repetitive_text(void **state)
{
    (void)state;
    size_t n = 20000;
    uint8_t *text = repetitive(n);
    nmdl_train_report rep;
    nmdl_model *m = train_small(text, n, 1, 1, &rep);
    double h0 = order0_bits(text, n), eval;
    assert_nmdl_ok(nmdl_model_eval(m, text, n, 1, &eval));
    print_message("repetitive text: order-0 %.3f bits/byte, after %ld steps "
                  "train %.3f, eval %.3f bits/byte\n", h0, rep.steps,
                  rep.loss_bpb, eval);
    assert_int_equal(rep.steps, 300);
    assert_true(rep.loss_bpb < 0.25 * h0);
    assert_true(eval < 0.25 * h0);
    nmdl_model_free(m);
    free(text);
}

/* Symbols outside the model's symbol set (nmdl_model_config.absent): their
 * rows of the embedding start at zero and stay there through training, and
 * the coding path gives them probability exactly 0, the others summing to
 * 1. */
static void absent_symbols_stay_out(void **state)
{
    (void)state;
    const size_t n = 5000;
    uint8_t *text = repetitive(n);
    nmdl_model_config c = {2, 32, 2, 64, 32, 1, {0}};
    nmdl_tf_symbol_set(&c, text, n);
    nmdl_model *m = train_steps(&c, text, n, 40, 4, NULL);
    for (int b = 0; b < 256; b++)
        for (int j = 0; nmdl_tf_absent(&c, b) && j < c.d_model; j++)
            assert_true(m->params[m->lay.wte + (size_t)b * c.d_model + j] == 0.0f);
    nmdl_inf_weights *w;
    nmdl_inf *f;
    float probs[256];
    assert_nmdl_ok(nmdl_inf_weights_create(&c, m->params, &w));
    assert_nmdl_ok(nmdl_inf_create_shared(w, 1, &f));
    for (int t = 0; t < 8; t++) {
        double sum = 0;
        nmdl_inf_step(f, text + t, probs);
        for (int b = 0; b < 256; b++) {
            if (nmdl_tf_absent(&c, b))
                assert_true(probs[b] == 0.0f);
            sum += probs[b];
        }
        assert_true(fabs(sum - 1.0) < 1e-5);
    }
    nmdl_inf_free(f);
    nmdl_inf_weights_free(w);
    nmdl_model_free(m);
    free(text);
}

static void training_is_reproducible(void **state)
{
    (void)state;
    size_t n = 5000;
    uint8_t *text = repetitive(n);
    nmdl_train_report r1, r2;
    nmdl_model *a = train_small(text, n, 3, 2, &r1);
    nmdl_model *b = train_small(text, n, 3, 2, &r2);
    assert_memory_equal(a->params, b->params, a->lay.n_params * sizeof(float));
    nmdl_model_free(a);
    nmdl_model_free(b);
    free(text);
}

/* Each target's loss weighs its weight in the gradient: all 1 is no
 * weight at all, all 1/2 halves every gradient exactly (a power of 2 through
 * linear passes); training where every byte is flagged cheap at weight 0
 * moves no weight (no decay either), and at weight 1 trains as without
 * flags. */
static void targets_weigh(void **state)
{
    (void)state;
    nmdl_model_config c = {2, 16, 2, 24, GT, 1, {0}};
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&c, 7, &m));
    assert_nmdl_ok(nmdl_tf_reserve(m, GB, GT));
    uint8_t x[GB * GT], y[GB * GT];
    float w[GB * GT];
    for (int i = 0; i < GB * GT; i++)
        x[i] = (uint8_t)(i * 7), y[i] = (uint8_t)(i * 13);
    const size_t np = m->lay.n_params;
    float *g = malloc(2 * np * sizeof(float));
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < GB * GT; i++)
            w[i] = pass == 2 ? 0.5f : 1.0f;
        nmdl_tf_zero_grad(m);
        assert_nmdl_ok(nmdl_tf_forward(m, x, y, GB, GT, NULL));
        assert_nmdl_ok(nmdl_tf_backward(m, pass ? w : NULL));
        if (pass < 2)
            memcpy(g + (size_t)pass * np, m->grads, np * sizeof(float));
    }
    assert_memory_equal(g, g + np, np * sizeof(float));
    for (size_t i = 0; i < np; i++)
        if (m->grads[i] != 0.5f * g[i])
            fail_msg("parameter %zu: %g is not half of %g", i, m->grads[i], g[i]);
    free(g);

    size_t n = 5000;
    uint8_t *text = repetitive(n), *cheap = malloc(n);
    memset(cheap, 1, n);
    float *before = malloc(np * sizeof(float));
    memcpy(before, m->params, np * sizeof(float));
    nmdl_train_params p;
    nmdl_train_params_default(&p);
    p.steps = 5, p.batch = 2, p.weight_decay = 0;
    p.cheap = cheap, p.cheap_weight = 0;
    assert_nmdl_ok(nmdl_model_train(m, text, n, &p, NULL));
    assert_memory_equal(before, m->params, np * sizeof(float));
    p.cheap_weight = 1; /* flagged at weight 1: as without flags */
    assert_nmdl_ok(nmdl_model_train(m, text, n, &p, NULL));
    float *flagged = malloc(np * sizeof(float));
    memcpy(flagged, m->params, np * sizeof(float));
    memcpy(m->params, before, np * sizeof(float));
    p.cheap = NULL;
    assert_nmdl_ok(nmdl_model_train(m, text, n, &p, NULL));
    assert_memory_equal(flagged, m->params, np * sizeof(float));
    free(flagged), free(before), free(text), free(cheap);
    nmdl_model_free(m);
}

/* The sample loss weighs its targets as training does: flags at weight
 * 1/2 everywhere are the plain mean; flags at weight 0 leave the mean of
 * the others, as a forward pass counts them. */
static void samples_weigh(void **state)
{
    (void)state;
    nmdl_model_config c = {1, 16, 2, 24, 32, 1, {0}};
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&c, 3, &m));
    size_t n = 4000;
    uint8_t *text = repetitive(n), *cheap = malloc(n);
    nmdl_train_sample s;
    double plain, all, some;
    assert_nmdl_ok(nmdl_train_sample_make(&s, text, n, c.ctx, NULL, 0));
    assert_null(s.w);
    assert_nmdl_ok(nmdl_train_sample_loss(m, &s, NULL, &plain));
    nmdl_train_sample_free(&s);
    memset(cheap, 1, n);
    assert_nmdl_ok(nmdl_train_sample_make(&s, text, n, c.ctx, cheap, 0.5f));
    assert_nmdl_ok(nmdl_train_sample_loss(m, &s, NULL, &all));
    assert_true(fabs(all - plain) < 1e-9 * plain);
    nmdl_train_sample_free(&s);
    for (size_t i = 0; i < n; i++)
        cheap[i] = i % 3 == 0;
    assert_nmdl_ok(nmdl_train_sample_make(&s, text, n, c.ctx, cheap, 0));
    assert_nmdl_ok(nmdl_train_sample_loss(m, &s, NULL, &some));
    double sum = 0, count = 0;
    for (int k = 0; k < s.k; k++) {
        const size_t at = (size_t)k * s.T;
        assert_nmdl_ok(nmdl_tf_forward(m, s.x + at, s.y + at, 1, s.T, NULL));
        for (int t = 0; t < s.T; t++)
            if (s.w[at + (size_t)t] != 0)
                sum += m->a.losses[t], count++;
    }
    print_message("sample: %.6f nats alike, %.6f without every third byte (%d windows)\n",
                  plain, some, s.k);
    assert_true(count > 0 && count < (double)s.k * s.T);
    assert_true(fabs(some - sum / count) < 1e-9 * some);
    nmdl_train_sample_free(&s);
    free(text), free(cheap);
    nmdl_model_free(m);
}

/* 12 steps of batch 6 (four groups of one or two windows) of a fresh model
 * on text, as one member of a team (team NULL: alone). */
static nmdl_model *train_member(const uint8_t *text, size_t n, const nmdl_team *team)
{
    const nmdl_model_config c = {2, 32, 2, 64, 32, 1, {0}};
    return train_steps(&c, text, n, 12, 6, team);
}

typedef struct team_training {
    const uint8_t *text;
    size_t n;
    nmdl_model *m[TU_TEAM_MAX]; /* each member's model */
} team_training;

static void train_as_member(const nmdl_team *t, int k, void *user)
{
    team_training *tt = user;
    tt->m[k] = train_member(tt->text, tt->n, t);
}

/* Teams of 1, 2 and 3 members train the same weights, to the bit, as one
 * process without a team (model/train.c: groups folded in group order). */
static void a_team_trains_the_same_weights(void **state)
{
    (void)state;
    size_t n = 5000;
    uint8_t *text = repetitive(n);
    nmdl_model *alone = train_member(text, n, NULL);
    for (int K = 1; K <= 3; K++) {
        team_training tt = {text, n, {NULL}};
        tu_team_run(K, train_as_member, &tt);
        for (int k = 0; k < K; k++) {
            assert_memory_equal(tt.m[k]->params, alone->params,
                                alone->lay.n_params * sizeof(float));
            nmdl_model_free(tt.m[k]);
        }
    }
    nmdl_model_free(alone);
    free(text);
}

/* 20 steps of a fresh model of width C at peak learning rate lr decaying
 * to the fraction `final` of it (0 and -1: the defaults); the weights,
 * malloc'd, or NULL where training refused. */
static float *weights_after(int C, double lr, double final, const uint8_t *text, size_t n)
{
    nmdl_model_config c = {1, C, 2, 64, 32, 1, {0}};
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&c, 5, &m));
    nmdl_train_params p;
    nmdl_train_params_default(&p);
    p.steps = 20;
    p.batch = 4;
    p.lr = lr;
    p.lr_final = final;
    float *w = NULL;
    if (nmdl_model_train(m, text, n, &p, NULL) == NMDL_OK) {
        w = malloc(m->lay.n_params * sizeof(float));
        assert_non_null(w);
        memcpy(w, m->params, m->lay.n_params * sizeof(float));
    }
    nmdl_model_free(m);
    return w;
}

/* The default schedule peaks at 0.005 and decays to 2% of it up to
 * d_model 64, 0.005 and 10% up to 96, 0.002 and 10% above (model/train.c
 * schedule_defaults); a negative peak is refused. */
static void default_schedule_follows_width(void **state)
{
    (void)state;
    size_t n = 5000;
    uint8_t *text = repetitive(n);
    const struct { int C; double lr, final; } cases[] = {
        {64, 5e-3, 0.02}, {96, 5e-3, 0.1}, {128, 2e-3, 0.1}};
    for (int i = 0; i < 3; i++) {
        const size_t d = (size_t)NMDL_TF_VOCAB * cases[i].C; /* the embedding */
        float *dflt = weights_after(cases[i].C, 0, -1, text, n);
        float *given = weights_after(cases[i].C, cases[i].lr, cases[i].final, text, n);
        float *other_lr = weights_after(cases[i].C, i == 2 ? 5e-3 : 2e-3, cases[i].final, text, n);
        float *other_final = weights_after(cases[i].C, cases[i].lr, i ? 0.02 : 0.1, text, n);
        assert_memory_equal(dflt, given, d * sizeof(float));
        assert_memory_not_equal(dflt, other_lr, d * sizeof(float));
        assert_memory_not_equal(dflt, other_final, d * sizeof(float));
        free(dflt), free(given), free(other_lr), free(other_final);
    }
    assert_null(weights_after(32, -1e-3, -1, text, n));
    free(text);
}

/* With one window (n = ctx + 1), eval is the mean loss of that window. */
static void eval_scores_every_byte_once(void **state)
{
    (void)state;
    nmdl_model_config c = {1, 16, 2, 32, 16, 1, {0}};
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&c, 5, &m));
    uint8_t *text = repetitive(17);
    double eval, loss;
    assert_nmdl_ok(nmdl_model_eval(m, text, 17, 1, &eval));
    assert_nmdl_ok(nmdl_tf_reserve(m, 1, 16));
    assert_nmdl_ok(nmdl_tf_forward(m, text, text + 1, 1, 16, &loss));
    assert_float_equal(eval, loss / log(2.0), 1e-9);
    assert_nmdl_ok(nmdl_model_eval(m, text, 2, 1, &eval)); /* shorter than ctx */
    assert_true(eval > 7.0 && eval < 9.0); /* untrained: about 8 bits */
    free(text);
    nmdl_model_free(m);
}

/* A block's code length: from byte 1 it is eval's total; one byte at k is
 * scored from the ctx/2 bytes before it; bad ranges are refused. */
static void code_length_of_a_block(void **state)
{
    (void)state;
    nmdl_model_config c = {1, 16, 2, 32, 16, 1, {0}};
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&c, 6, &m));
    uint8_t *text = repetitive(200);
    double eval, bits, one, loss;
    assert_nmdl_ok(nmdl_model_eval(m, text, 200, 1, &eval));
    assert_nmdl_ok(nmdl_model_code_length(m, text, 200, 1, 1, &bits));
    assert_float_equal(bits, eval * 199, 1e-9 * bits);
    assert_nmdl_ok(nmdl_model_code_length(m, text, 101, 100, 1, &one));
    assert_nmdl_ok(nmdl_tf_reserve(m, 1, 8));
    assert_nmdl_ok(nmdl_tf_forward(m, text + 92, text + 93, 1, 8, &loss));
    assert_float_equal(one, m->a.losses[7] / log(2.0), 1e-9);
    assert_nmdl_ok(nmdl_model_code_length(m, text, 200, 100, 1, &bits));
    assert_true(bits > one && bits < eval * 199);
    assert_int_equal(nmdl_model_code_length(m, text, 200, 0, 1, &bits), NMDL_ERR_ARG);
    assert_int_equal(nmdl_model_code_length(m, text, 200, 200, 1, &bits), NMDL_ERR_ARG);
    free(text);
    nmdl_model_free(m);
}

static void checkpoints(void **state)
{
    (void)state;
    nmdl_model_config c, d;
    assert_nmdl_ok(nmdl_model_preset("tiny", &c));
    nmdl_model *m, *back;
    assert_nmdl_ok(nmdl_model_create(&c, 9, &m));
    void *buf;
    size_t len;
    assert_nmdl_ok(nmdl_model_save(m, &buf, &len));
    assert_int_equal(len, 36 + 4 * nmdl_model_n_params(m) + 16);
    assert_nmdl_ok(nmdl_model_load(buf, len, &back));
    nmdl_model_get_config(back, &d);
    assert_memory_equal(&c, &d, sizeof c);
    assert_memory_equal(m->params, back->params, m->lay.n_params * sizeof(float));
    nmdl_model_free(back);
    uint8_t *p = buf;
    assert_int_equal(nmdl_model_load(p, len - 1, &back), NMDL_ERR_TRUNCATED);
    assert_int_equal(nmdl_model_load(p, 20, &back), NMDL_ERR_TRUNCATED);
    p[100] ^= 1;
    assert_int_equal(nmdl_model_load(p, len, &back), NMDL_ERR_CHECKSUM);
    p[100] ^= 1;
    p[10] = 3; /* d_model 48 -> 0x30003: config nonsense before the checksum */
    assert_int_equal(nmdl_model_load(p, len, &back), NMDL_ERR_CORRUPT);
    assert_int_equal(nmdl_model_load("\xB7NMD\1\0\0\0", 8, &back), NMDL_ERR_NOT_NMDL);
    assert_int_equal(nmdl_model_load("hello", 5, &back), NMDL_ERR_NOT_NMDL);
    nmdl_free(buf);
    assert_nmdl_ok(nmdl_model_save(m, &buf, &len));
    tu_ckpt_fill(buf, len, INFINITY); /* signed, but not a model */
    assert_int_equal(nmdl_model_load(buf, len, &back), NMDL_ERR_CORRUPT);
    nmdl_free(buf);
    m->params[0] = NAN; /* nor is it written */
    assert_int_equal(nmdl_model_save(m, &buf, &len), NMDL_ERR_CORRUPT);
    nmdl_model_free(m);
}

static void nonsense_rejected(void **state)
{
    (void)state;
    nmdl_model *m;
    nmdl_model_config c = {2, 48, 0, 128, 256, 1, {0}};
    assert_int_equal(nmdl_model_create(&c, 1, &m), NMDL_ERR_ARG); /* no heads */
    c.n_head = 5;
    assert_int_equal(nmdl_model_create(&c, 1, &m), NMDL_ERR_ARG); /* 48 % 5 */
    c.n_head = 4;
    c.n_layer = 0;
    assert_int_equal(nmdl_model_config_check(&c), NMDL_ERR_ARG);
    c.n_layer = 2;
    c.ctx = 1;
    assert_int_equal(nmdl_model_config_check(&c), NMDL_ERR_ARG);
    c.ctx = 64;
    assert_nmdl_ok(nmdl_model_create(&c, 1, &m));
    nmdl_train_params p;
    nmdl_train_params_default(&p);
    p.steps = 2;
    uint8_t text[65] = "short";
    assert_int_equal(nmdl_model_train(m, text, 0, &p, NULL), NMDL_ERR_ARG);
    assert_int_equal(nmdl_model_train(m, text, 1, &p, NULL), NMDL_ERR_ARG);
    assert_int_equal(nmdl_model_train(m, text, 64, &p, NULL), NMDL_ERR_ARG);
    assert_nmdl_ok(nmdl_model_train(m, text, 65, &p, NULL));
    p.batch = 0;
    assert_int_equal(nmdl_model_train(m, text, 65, &p, NULL), NMDL_ERR_ARG);
    double bpb;
    assert_int_equal(nmdl_model_eval(m, text, 1, 1, &bpb), NMDL_ERR_ARG);
    nmdl_model_free(m);
    assert_int_equal(nmdl_model_preset("huge", &c), NMDL_ERR_ARG);
    assert_string_equal(nmdl_model_preset_for_size(100000), "tiny");
    assert_string_equal(nmdl_model_preset_for_size(1000000), "mini");
    assert_string_equal(nmdl_model_preset_for_size(100000000), "base");
}

int main(void)
{
    tu_isa();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_untied),
        cmocka_unit_test(gradients_tied),
        cmocka_unit_test(attention_matches_reference),
        cmocka_unit_test(adamw_learns_repetitive_text),
        cmocka_unit_test(training_is_reproducible),
        cmocka_unit_test(targets_weigh),
        cmocka_unit_test(samples_weigh),
        cmocka_unit_test(a_team_trains_the_same_weights),
        cmocka_unit_test(default_schedule_follows_width),
        cmocka_unit_test(eval_scores_every_byte_once),
        cmocka_unit_test(code_length_of_a_block),
        cmocka_unit_test(checkpoints),
        cmocka_unit_test(absent_symbols_stay_out),
        cmocka_unit_test(nonsense_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
