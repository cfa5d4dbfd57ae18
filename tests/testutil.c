/*
 * testutil.c: see testutil.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec/neural.h"
#include "codec/quant.h"
#include "container/frame.h"
#include "model/transformer.h"
#include "nmdl.h"

uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint32_t tu_below(tu_rng *r, uint32_t n)
{
    return (uint32_t)((tu_next(r) >> 32) * n >> 32);
}

double tu_uniform(tu_rng *r)
{
    return (double)(tu_next(r) >> 11) * 0x1.0p-53;
}

double tu_normal(tu_rng *r)
{
    double u = tu_uniform(r), v = tu_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

uint8_t *tu_text(tu_rng *r, size_t n)
{
    static const char *words[] = {
        "the", "of", "and", "a", "to", "in", "is", "was", "that", "for",
        "compression", "model", "description", "length", "transformer",
        "data", "bits", "byte", "weights", "learning", "coefficient", "on",
        "with", "as", "by", "Wikipedia", "article", "history", "city", "war"};
    uint8_t *s = malloc(n ? n : 1);
    size_t i = 0;
    while (s && i < n) {
        const char *w = words[tu_below(r, sizeof words / sizeof words[0])];
        for (; *w && i < n; w++)
            s[i++] = (uint8_t)*w;
        if (i < n)
            s[i++] = tu_below(r, 12) == 0 ? '.' : tu_below(r, 20) == 0 ? '\n' : ' ';
    }
    return s;
}

uint8_t *tu_corpus(size_t n)
{
    FILE *f = fopen(NMDL_CORPUS_DIR "/enwik8.head2M", "rb");
    if (!f)
        return NULL;
    uint8_t *s = malloc(n ? n : 1);
    if (s && fread(s, 1, n, f) != n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

nmdl_isa tu_isa(void)
{
    const char *want = getenv("NMDL_ISA");
    const nmdl_isa isa = nmdl_isa_choose();
    if (want && strcmp(want, nmdl_isa_name(isa))) {
        printf("NMDL_ISA=%s: this CPU runs at most %s, skipped\n", want,
               nmdl_isa_name(nmdl_isa_best()));
        exit(77);
    }
    printf("instruction set: %s\n", nmdl_isa_name(isa));
    return isa;
}

/* The shared state of a team run by tu_team_run: each collective sits
 * between two barriers, with every member's buffer published in bufs. */
typedef struct tu_team {
    pthread_barrier_t bar;
    void *bufs[TU_TEAM_MAX];
} tu_team;

typedef struct tu_member {
    tu_team *team;
    nmdl_team t;
    int k;
    void (*fn)(const nmdl_team *t, int k, void *user);
    void *user;
} tu_member;

static int tu_gather(void *user, void *buf, const size_t *off, const size_t *len)
{
    tu_member *me = user;
    me->team->bufs[me->k] = buf;
    pthread_barrier_wait(&me->team->bar);
    for (int j = 0; j < me->t.size; j++)
        if (j != me->k)
            memcpy((char *)buf + off[j], (char *)me->team->bufs[j] + off[j], len[j]);
    pthread_barrier_wait(&me->team->bar);
    return 0;
}

static int tu_bcast(void *user, void *buf, size_t bytes)
{
    tu_member *me = user;
    me->team->bufs[me->k] = buf;
    pthread_barrier_wait(&me->team->bar);
    if (me->k)
        memcpy(buf, me->team->bufs[0], bytes);
    pthread_barrier_wait(&me->team->bar);
    return 0;
}

static void *tu_member_main(void *arg)
{
    tu_member *me = arg;
    me->fn(&me->t, me->k, me->user);
    return NULL;
}

void tu_team_run(int K, void (*fn)(const nmdl_team *t, int k, void *user), void *user)
{
    tu_team team;
    tu_member mem[TU_TEAM_MAX];
    pthread_t th[TU_TEAM_MAX];
    if (K < 1 || K > TU_TEAM_MAX || pthread_barrier_init(&team.bar, NULL, (unsigned)K))
        abort();
    for (int k = 0; k < K; k++) {
        mem[k] = (tu_member){&team, {k, K, tu_gather, tu_bcast, &mem[k]}, k, fn, user};
        if (pthread_create(&th[k], NULL, tu_member_main, &mem[k]))
            abort();
    }
    for (int k = 0; k < K; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&team.bar);
}

nmdl_cctx *tu_small_cctx(int threads, int fallback, long steps)
{
    nmdl_model_config cfg = {1, 32, 2, 64, 64, 1, {0}};
    nmdl_cctx *c = nmdl_cctx_create();
    assert_non_null(c);
    assert_nmdl_ok(nmdl_cctx_set_model(c, &cfg));
    assert_nmdl_ok(nmdl_cctx_set_steps(c, steps, steps / 5));
    assert_nmdl_ok(nmdl_cctx_set_threads(c, threads));
    assert_nmdl_ok(nmdl_cctx_set_fallback(c, fallback));
    assert_nmdl_ok(nmdl_cctx_set_bits(c, 4.0));
    return c;
}

tu_blob tu_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: missing", path);
    tu_blob b = {NULL, 0};
    fseek(f, 0, SEEK_END);
    b.n = (size_t)ftell(f);
    rewind(f);
    b.p = malloc(b.n + 1);
    assert_int_equal(fread(b.p, 1, b.n, f), b.n);
    fclose(f);
    return b;
}

tu_blob tu_compress(nmdl_cctx *c, const uint8_t *src, size_t n)
{
    tu_blob b = {NULL, 0};
    void *p;
    assert_nmdl_ok(nmdl_compress_alloc(c, src, n, &p, &b.n));
    b.p = p;
    return b;
}

int tu_decompress(const tu_blob *b, int threads, uint8_t *out, size_t n)
{
    nmdl_dctx *d = nmdl_dctx_create();
    size_t len = 0;
    assert_nmdl_ok(nmdl_dctx_set_threads(d, threads));
    int rc = nmdl_decompress(d, out, n, &len, b->p, b->n);
    nmdl_dctx_free(d);
    return rc ? rc : (len == n ? NMDL_OK : NMDL_ERR_CORRUPT);
}

int tu_append(void *user, const void *data, size_t len)
{
    tu_blob *b = user;
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return 0;
}

tu_blob tu_decompress_stream(const tu_blob *b, int threads)
{
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b->p, b->n, &info));
    tu_blob out = {malloc((size_t)info.original_bytes + 1), 0};
    nmdl_dctx *d = nmdl_dctx_create();
    assert_non_null(out.p);
    assert_nmdl_ok(nmdl_dctx_set_threads(d, threads));
    assert_nmdl_ok(nmdl_decompress_stream(d, b->p, b->n, tu_append, &out));
    nmdl_dctx_free(d);
    return out;
}

tu_blob tu_random_frame(const nmdl_model_config *cfg, const uint8_t *text, size_t n, int S,
                        int mode)
{
    return tu_random_token_frame(cfg, text, n, S, mode, NULL, text, n);
}

tu_blob tu_random_token_frame(const nmdl_model_config *cfg, const uint8_t *text, size_t n,
                              int S, int mode, const nmdl_bpe *tokens, const uint8_t *sym,
                              size_t m)
{
    nmdl_model *net;
    nmdl_qmodel qm;
    uint8_t *model, *data;
    size_t ml, dl;
    assert_nmdl_ok(nmdl_model_create(cfg, 3, &net));
    assert_nmdl_ok(nmdl_q_alloc(cfg, &qm));
    nmdl_q_set_steps(&qm, net->params, 0.5, 1, NULL);
    nmdl_q_quantize(&qm, net->params);
    nmdl_q_dequantize(&qm, net->params);
    qm.match = mode;
    if (tokens)
        qm.tokens = *tokens, qm.symbols = m;
    assert_nmdl_ok(nmdl_q_encode(&qm, &model, &ml));
    assert_nmdl_ok(nmdl_neural_encode_data(cfg, net->params, sym, m, S, mode, 2, NULL, &data,
                                           &dl, NULL));
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
    nmdl_frame_sum(text, n, sum);
    nmdl_frame f = nmdl_frame_of(NMDL_METHOD_NEURAL, n, sum, model, ml, data, dl);
    tu_blob b = {malloc(nmdl_frame_size(&f)), 0};
    assert_nmdl_ok(nmdl_frame_write(b.p, nmdl_frame_size(&f), &b.n, &f));
    free(model), free(data);
    nmdl_q_free(&qm);
    nmdl_model_free(net);
    return b;
}

void tu_ckpt_fill(uint8_t *buf, size_t len, float w)
{
    const size_t sum = NMDL_CKPT_SUM;
    uint32_t bits;
    memcpy(&bits, &w, 4);
    for (size_t i = NMDL_CKPT_HEADER; i + 4 <= len - sum; i += 4)
        for (int b = 0; b < 4; b++)
            buf[i + (size_t)b] = (uint8_t)(bits >> (8 * b));
    crypto_generichash(buf + len - sum, sum, buf, len - sum, NULL, 0);
}

void tu_assert_golden(const void *p, size_t n, const char *what, const char *expected)
{
    uint8_t sum[16];
    char hex[33];
    crypto_generichash(sum, sizeof sum, p, n, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
    print_message("golden %s hash: %s\n", what, hex);
    assert_string_equal(hex, expected);
}
