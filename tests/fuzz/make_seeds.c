/*
 * make_seeds.c: writes the committed neural frames the fuzzers start from
 * and the crafted frames the limit tests feed the decoder. Run it from the
 * source root as `build/tests/fuzz/make_seeds .`; the output is the same on
 * every run (fixed seeds, one thread).
 *
 *   tests/fuzz/seeds/neural/   real neural frames of tiny models over 48
 *                              bytes (so that the fuzzer decodes thousands
 *                              a second), every layout: 1, 3 and 8
 *                              segments, steps per row and per tensor,
 *                              tied and untied output, one and two blocks,
 *                              some with a report and an alternative in the
 *                              header as nmdl_compress writes them, and one
 *                              recorded as made by each weight method
 *                              (report version 3); two of them also in
 *                              tests/fuzz/seeds/decompress/; the match
 *                              model's frame with a version 5 report (500
 *                              cold-descent steps; the committed s8-match
 *                              and s8-match-cool2.5 were made with version
 *                              4, before its settings), and in decompress/
 *                              also with a cooling value of 2.5 and
 *                              with chains the only setting not NaN
 *                              (s8-match-cool2.5, s8-match-chains), and
 *                              with a version 6 report whose chains'
 *                              start is 2 (s8-match-start2; the others
 *                              were committed before version 6), each
 *                              of which makes the reader ignore the report; the
 *                              same with the context mixer (s8-mix) and
 *                              with both in revision 2 (s8-mix2), and
 *                              the same bytes as merged symbols (s8-tokens)
 *   tests/data/crafted-*.nmdl  the frames of the reliability probe of issue
 *                              14, also in tests/fuzz/seeds/decompress/:
 *     head257    a head 257 wide (d_model 257, one head)
 *     params2e26 63,242,240 parameters (2^25 < n < 2^26) in 5.5 KB
 *     length2e40 a real tiny model claiming 2^40 bytes of output
 *     bomb       180 bytes whose confident model decodes to 10^7 zeros
 *     revision4  s8-mix3 with its data part revision byte made 4
 *
 * The mix seeds of tests/fuzz/seeds/decompress/ are the command's: the
 * first 3,000 bytes of docs/FORMAT.md as of commit 89ba25d through
 * `nmdl compress --method mix --no-fallback` of that commit (mix.nmdl,
 * payload revision 6) and of 2026-12-07's revisions 7 and 8 (mix7.nmdl,
 * mix8.nmdl), and
 * mix.nmdl cut 40 bytes short (mix-truncated.nmdl); one byte 0x00 through
 * `nmdl compress --method mix --no-fallback` (mix-zero-byte.nmdl: the
 * revision byte alone, the frame the review found refused before 6fdeb5d).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/budget.h"
#include "codec/neural.h"
#include "container/frame.h"
#include "codec/quant.h"
#include "codec/report.h"
#include "codec/segcode.h"
#include "model/transformer.h"
#include "nmdl.h"

#define TEXT_BYTES 48 /* input of the neural seeds: fast to decode */
#define REPORT_V3_BYTES 40 /* the longest report frame() writes (docs/FORMAT.md) */

static const char *root = ".";

static void die(const char *what, int rc)
{
    fprintf(stderr, "make_seeds: %s: %s\n", what, nmdl_strerror(rc));
    exit(1);
}

static void save(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
    printf("%s/%s: %zu bytes\n", dir, name, n);
}

/* A neural frame of the two parts, claiming n bytes with content sum of
 * content[0..content_len), with report[0..report_len) (none when 0) and
 * then zstd as the alternative. malloc'd. */
static uint8_t *frame_with(uint64_t n, const uint8_t *model, size_t ml, const uint8_t *data,
                           size_t dl, const uint8_t *content, size_t content_len,
                           const uint8_t *report, size_t report_len, size_t *len)
{
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
    nmdl_frame_sum(content, content_len, sum);
    nmdl_frame f = nmdl_frame_of(NMDL_METHOD_NEURAL, n, sum, model, ml, data, dl);
    if (report_len) {
        f.has_alt = 1, f.alt_method = NMDL_METHOD_ZSTD, f.alt_size = n + 50;
        f.report = report, f.report_len = report_len;
    }
    uint8_t *p = malloc(nmdl_frame_size(&f));
    int rc = p ? nmdl_frame_write(p, nmdl_frame_size(&f), len, &f) : NMDL_ERR_NOMEM;
    if (rc)
        die("frame", rc);
    return p;
}

static const uint8_t nan32[4] = {0, 0, 0xC0, 0x7F}; /* binary32, little-endian */

/* The frame with, for `extras`, zstd as the alternative and a report,
 * every figure NaN: extras 1, version 1 (budget mode search); extras
 * 2 + w, version 3 naming weight method w (budget mode learned, effort
 * 6). */
static uint8_t *frame(uint64_t n, const uint8_t *model, size_t ml, const uint8_t *data,
                      size_t dl, const uint8_t *content, size_t content_len, int extras,
                      size_t *len)
{
    uint8_t report[REPORT_V3_BYTES] = {1, 2};
    const int head = extras >= 2 ? 4 : 2;
    if (extras >= 2)
        report[0] = 3, report[1] = 3, report[2] = 6, report[3] = (uint8_t)(extras - 2);
    for (int k = 0; k < 9; k++)
        memcpy(report + head + 4 * k, nan32, 4);
    return frame_with(n, model, ml, data, dl, content, content_len, report,
                      extras ? (size_t)head + 36 : 0, len);
}

/* The frame with the report nmdl_report_encode writes (budget mode
 * search, effort 6, round, every figure NaN but the estimate's settings,
 * `cool` cold-descent steps); `bad` (binary32 LE, may be NULL) then
 * overwrites the values whose bits are set in `mask` (bit i: the binary32
 * at NMDL_REPORT_HEAD + 4 i) with one the reader must ignore the report
 * for. */
static uint8_t *frame_reported(uint64_t n, const uint8_t *model, size_t ml, const uint8_t *data,
                         size_t dl, const uint8_t *content, size_t content_len, long cool,
                         unsigned mask, const uint8_t bad[4], size_t *len)
{
    const nmdl_budget_report b = {.mode = NMDL_BUDGET_SEARCH, .llc = NAN, .llc_se = NAN,
                                  .nbeta = NAN, .llc_step = NAN, .mala = NAN,
                                  .llc_cool_steps = cool, .epsilon = NAN, .b_star = NAN,
                                  .bits = NAN, .loss_float_bpb = NAN, .llc_gamma = 1e4,
                                  .llc_chains = 2, .llc_burnin = 100, .llc_draws = 100,
                                  .llc_healthy = 1, .llc_start = NMDL_LLC_START_MIXED};
    uint8_t report[NMDL_REPORT_BYTES];
    nmdl_report_encode(&b, 6, NMDL_WEIGHTS_ROUND, report);
    for (int i = 0; bad && i < NMDL_REPORT_FIELDS; i++)
        if (mask >> i & 1)
            memcpy(report + NMDL_REPORT_HEAD + 4 * i, bad, 4);
    return frame_with(n, model, ml, data, dl, content, content_len, report, sizeof report, len);
}

/* Text the tiny models learn something from: words, spaces, newlines. */
static void text(uint8_t *s, size_t n, uint64_t seed)
{
    static const char *words[] = {"the", "model", "of", "data", "bits", "and",
                                  "length", "a", "code", "weights"};
    size_t i = 0;
    while (i < n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        for (const char *w = words[(seed >> 33) % 10]; *w && i < n; w++)
            s[i++] = (uint8_t)*w;
        if (i < n)
            s[i++] = (seed >> 40) % 9 ? ' ' : '\n';
    }
}

/* A trained, quantized tiny model: its model part and the weights a
 * decoder rebuilds (malloc'd). With `codebook`, every matrix's levels
 * name one of five centroids (--weights cluster); with `match`, the model
 * part announces the match model. */
static void tiny_model(const nmdl_model_config *cfg, int per_row, int codebook, int match,
                       const nmdl_bpe *tokens, const uint8_t *s, size_t n, uint8_t **model,
                       size_t *ml, float **rebuilt)
{
    nmdl_model *m;
    nmdl_train_params tp;
    nmdl_train_params_default(&tp);
    tp.steps = 60;
    tp.batch = 4;
    tp.threads = 1;
    nmdl_qmodel qm;
    int rc = nmdl_model_create(cfg, 7, &m);
    if (!rc)
        rc = nmdl_model_train(m, s, n, &tp, NULL);
    if (!rc)
        rc = nmdl_q_alloc(cfg, &qm);
    if (rc)
        die("tiny model", rc);
    nmdl_q_set_steps(&qm, m->params, codebook ? 1.0 : 0.4, per_row, NULL);
    if (codebook && (rc = nmdl_q_codebooks(&qm, 5)))
        die("codebooks", rc);
    for (int k = 0; codebook && k < qm.lay.n_tensors; k++)
        for (int j = 0; j < qm.cb[k].k; j++) /* -1.5, -0.5, 0, 0.75, 2 steps */
            qm.cb[k].c[j] = (const float[]){-1.5f, -0.5f, 0.0f, 0.75f, 2.0f}[j];
    qm.match = match;
    if (tokens) /* s: the n merged symbols of this table */
        qm.tokens = *tokens, qm.symbols = n;
    nmdl_q_quantize(&qm, m->params);
    *rebuilt = malloc(qm.lay.n_params * sizeof(float));
    nmdl_q_dequantize(&qm, *rebuilt);
    if ((rc = nmdl_q_encode(&qm, model, ml)))
        die("model part", rc);
    nmdl_q_free(&qm);
    nmdl_model_free(m);
}

static void neural_seeds(void)
{
    uint8_t s[TEXT_BYTES];
    static const int segments[] = {1, 3, 8};
    for (int i = 0; i < 12; i++) {
        const int S = segments[i / 4], per_row = i % 2, tied = i / 2 % 2;
        const nmdl_model_config cfg = {1 + i % 3 / 2, 8, 2, 16, 8, tied, {0}};
        uint8_t *model, *data, *p;
        size_t ml, dl, len;
        float *w;
        text(s, sizeof s, (uint64_t)i);
        tiny_model(&cfg, per_row, 0, 0, NULL, s, sizeof s, &model, &ml, &w);
        int rc = nmdl_neural_encode_data(&cfg, w, s, sizeof s, S, 0, 1, NULL, &data, &dl, NULL);
        if (rc)
            die("data part", rc);
        p = frame(sizeof s, model, ml, data, dl, s, sizeof s, i % 3 == 0, &len);
        char name[64];
        snprintf(name, sizeof name, "s%d-%s-%s-l%d.nmdl", S, per_row ? "row" : "tensor",
                 tied ? "tied" : "untied", cfg.n_layer);
        save("tests/fuzz/seeds/neural", name, p, len);
        if (i == 0 || i == 9)
            save("tests/fuzz/seeds/decompress", name, p, len);
        if (i == 0) /* the same frame recorded as made by each weight method;
                       cluster's with codebooks */
            for (int m = NMDL_WEIGHTS_ROUND; m <= NMDL_WEIGHTS_CLUSTER; m++) {
                free(p);
                if (m == NMDL_WEIGHTS_CLUSTER) {
                    free(model), free(data), free(w);
                    tiny_model(&cfg, per_row, 1, 0, NULL, s, sizeof s, &model, &ml, &w);
                    if ((rc = nmdl_neural_encode_data(&cfg, w, s, sizeof s, S, 0, 1, NULL,
                                                      &data, &dl, NULL)))
                        die("data part", rc);
                }
                p = frame(sizeof s, model, ml, data, dl, s, sizeof s, 2 + m, &len);
                snprintf(name, sizeof name, "s1-weights-%s.nmdl", nmdl_weights_name(m));
                save("tests/fuzz/seeds/neural", name, p, len);
            }
        free(model), free(data), free(p), free(w);
    }
}

/* A model part of shape cfg, built level by level, so that it can break
 * the decoder's limits: every step 1, every level 0 but row 0 of wte
 * (wte0), and lnf_b all `bias`. With wte0 = 1 and bias 4, byte 0's logit
 * is 32 wherever the state is (a block sees 0 or a constant row, which
 * LayerNorm turns into its bias 0): p(0) = 1 - 255 e^-32. */
static void crafted_model(const nmdl_model_config *cfg, int wte0, float bias,
                          uint8_t **model, size_t *ml)
{
    nmdl_qmodel qm = {0};
    qm.cfg = *cfg;
    nmdl_tf_layout_make(cfg, &qm.lay);
    const int nt = qm.lay.n_tensors;
    qm.base = calloc(2 * (size_t)nt, sizeof(float));
    qm.row0 = calloc((size_t)nt + 1, sizeof(size_t));
    qm.q = calloc(qm.lay.n_params, sizeof(int32_t));
    if (!qm.base || !qm.row0 || !qm.q)
        die("crafted model", NMDL_ERR_NOMEM);
    for (int k = 0; k < nt; k++) {
        qm.base[k] = 1.0f;
        if (!strcmp(qm.lay.tensor[k].name, "lnf_b"))
            qm.base[nt + k] = bias; /* the offset of every level */
    }
    for (int c = 0; c < cfg->d_model; c++)
        qm.q[qm.lay.wte + (size_t)c] = wte0;
    int rc = nmdl_q_encode(&qm, model, ml);
    if (rc)
        die("crafted model part", rc);
    nmdl_q_free(&qm);
}

static void save_crafted(const char *name, const uint8_t *p, size_t n)
{
    save("tests/data", name, p, n);
    save("tests/fuzz/seeds/decompress", name, p, n);
}

/* A frame whose model part is crafted_model(cfg), with one segment whose
 * stream is a few zero bytes; the decoder must refuse it before the data
 * part matters. */
static void crafted_shape(const char *name, const nmdl_model_config *cfg)
{
    uint8_t *model, *p, data[6] = {1, 4, 0, 0, 0, 0}, content[1000] = {0};
    size_t ml, len;
    crafted_model(cfg, 0, 0.0f, &model, &ml);
    p = frame(sizeof content, model, ml, data, sizeof data, content, sizeof content, 0,
              &len);
    save_crafted(name, p, len);
    free(model), free(p);
}

static void crafted(void)
{
    const nmdl_model_config wide = {1, 257, 1, 1, 2, 1, {0}};
    crafted_shape("crafted-head257.nmdl", &wide);
    const nmdl_model_config huge = {5, 1024, 8, 4096, 2, 1, {0}};
    crafted_shape("crafted-params2e26.nmdl", &huge);

    /* a real tiny model and data part, claiming 2^40 bytes */
    uint8_t s[TEXT_BYTES], *model, *data, *p;
    size_t ml, dl, len;
    float *w;
    const nmdl_model_config tiny = {1, 8, 2, 16, 8, 1, {0}};
    text(s, sizeof s, 1);
    tiny_model(&tiny, 1, 0, 0, NULL, s, sizeof s, &model, &ml, &w);
    int rc = nmdl_neural_encode_data(&tiny, w, s, sizeof s, 1, 0, 1, NULL, &data, &dl, NULL);
    if (rc)
        die("data part", rc);
    p = frame(1ull << 40, model, ml, data, dl, s, sizeof s, 0, &len);
    save_crafted("crafted-length2e40.nmdl", p, len);
    free(model), free(data), free(p), free(w);

    /* the ratio bomb: 10^7 zeros under a confident model, really coded */
    const size_t n = 10000000;
    const nmdl_model_config bomb = {1, 8, 1, 1, 2, 1, {0}};
    uint8_t *zeros = calloc(n, 1);
    nmdl_tf_layout lay;
    nmdl_tf_layout_make(&bomb, &lay);
    crafted_model(&bomb, 1, 4.0f, &model, &ml);
    nmdl_qmodel qm;
    if ((rc = nmdl_q_decode(model, ml, &qm)))
        die("bomb model", rc);
    w = malloc(lay.n_params * sizeof(float));
    nmdl_q_dequantize(&qm, w);
    nmdl_q_free(&qm);
    if ((rc = nmdl_neural_encode_data(&bomb, w, zeros, n, 1, 0, 1, NULL, &data, &dl, NULL)))
        die("bomb data", rc);
    p = frame(n, model, ml, data, dl, zeros, n, 0, &len);
    save_crafted("crafted-bomb.nmdl", p, len);
    free(model), free(data), free(p), free(w), free(zeros);
}

/* The revision 6 frame of match_seed with its model part's revision byte
 * (after 5 one-byte shape numbers and the flags) made 9, a revision no
 * decoder knows yet: crafted-revision9 (crafted-revision7 until 7 became
 * one, 2026-12-07). */
static void crafted_revision(const uint8_t *model, size_t ml, const uint8_t *data, size_t dl,
                             const uint8_t *s, size_t n)
{
    uint8_t *m = malloc(ml), *p;
    size_t len;
    if (!m || ml < 7 || !(model[5] & 0x80) || model[6] != 6)
        die("revision 9 frame", m ? NMDL_ERR_ARG : NMDL_ERR_NOMEM);
    memcpy(m, model, ml);
    m[6] = 9;
    p = frame_reported(n, m, ml, data, dl, s, n, 500, 0, NULL, &len);
    save_crafted("crafted-revision9.nmdl", p, len);
    free(m), free(p);
}

/* A data part coded with the match model (mode NMDL_SC_MATCH), or with it
 * and the context mixer (NMDL_SC_MIX; NMDL_SC_MIX2 to NMDL_SC_MIX8:
 * revisions 2 to 8, from 5 over the text's symbol set, from 6 with the
 * levels' mixed code, 7 and 8 with the mixer's revisions 5 and 6): 640
 * bytes of
 * text whose second half repeats the first, in 8 segments, so that the
 * second wave finds matches in the prefix and every segment in its own
 * bytes. */
static void match_seed(int mode)
{
    nmdl_model_config cfg = {1, 8, 2, 16, 8, 1, {0}};
    uint8_t s[640], *model, *data, *p;
    size_t ml, dl, len;
    float *w;
    text(s, 320, 99);
    memcpy(s + 320, s, 320);
    if (mode >= NMDL_SC_MIX5) /* the symbols that do not occur are absent */
        nmdl_tf_symbol_set(&cfg, s, sizeof s);
    tiny_model(&cfg, 1, 0, mode, NULL, s, sizeof s, &model, &ml, &w);
    int rc = nmdl_neural_encode_data(&cfg, w, s, sizeof s, 8, mode, 1, NULL, &data, &dl, NULL);
    if (rc)
        die("match data part", rc);
    if (mode != NMDL_SC_MATCH) {
        static const char *const names[] = {"s8-mix.nmdl",  "s8-mix2.nmdl", "s8-mix3.nmdl",
                                            "s8-mix4.nmdl", "s8-mix5.nmdl", "s8-mix6.nmdl",
                                            "s8-mix7.nmdl", "s8-mix8.nmdl"};
        const char *name = names[mode - NMDL_SC_MIX];
        p = frame_reported(sizeof s, model, ml, data, dl, s, sizeof s, 500, 0, NULL, &len);
        save("tests/fuzz/seeds/neural", name, p, len);
        save("tests/fuzz/seeds/decompress", name, p, len);
        if (mode == NMDL_SC_MIX6)
            crafted_revision(model, ml, data, dl, s, sizeof s);
        free(model), free(data), free(p), free(w);
        return;
    }
    static const uint8_t half5[4] = {0, 0, 0x20, 0x40}, qnan[4] = {0, 0, 0xc0, 0x7f};
    p = frame_reported(sizeof s, model, ml, data, dl, s, sizeof s, 500, 0, NULL, &len);
    save("tests/fuzz/seeds/neural", "s8-match.nmdl", p, len);
    save("tests/fuzz/seeds/decompress", "s8-match.nmdl", p, len);
    free(p);
    p = frame_reported(sizeof s, model, ml, data, dl, s, sizeof s, 500, 1u << NMDL_REPORT_COOL,
                       half5, &len); /* a cooling of 2.5 steps */
    save("tests/fuzz/seeds/decompress", "s8-match-cool2.5.nmdl", p, len);
    free(p);
    p = frame_reported(sizeof s, model, ml, data, dl, s, sizeof s, 500, 0x7400, qnan,
                       &len); /* of the estimate's settings, chains (value 11) alone */
    save("tests/fuzz/seeds/decompress", "s8-match-chains.nmdl", p, len);
    free(p);
    static const uint8_t two[4] = {0, 0, 0, 0x40};
    p = frame_reported(sizeof s, model, ml, data, dl, s, sizeof s, 500, 1u << 15, two,
                       &len); /* version 6 with a start (value 15) of 2: none known */
    save("tests/fuzz/seeds/decompress", "s8-match-start2.nmdl", p, len);
    free(model), free(data), free(p), free(w);
}

/* The same 640 bytes with their byte pairs merged (codec/bpe.h, pairs that
 * occur at least 3 times), coded in revision 2: s8-tokens. */
static void token_seed(void)
{
    const nmdl_model_config cfg = {1, 8, 2, 16, 8, 1, {0}};
    uint8_t s[640], sym[640], *model, *data, *p;
    size_t ml, dl, len, m;
    float *w;
    nmdl_bpe t;
    text(s, 320, 99);
    memcpy(s + 320, s, 320);
    int rc = nmdl_bpe_learn(s, sizeof s, 3, &t, sym, &m);
    if (rc || !t.count)
        die("token table", rc ? rc : NMDL_ERR_ARG);
    tiny_model(&cfg, 1, 0, NMDL_SC_MIX2, &t, sym, m, &model, &ml, &w);
    if ((rc = nmdl_neural_encode_data(&cfg, w, sym, m, 4, NMDL_SC_MIX2, 1, NULL, &data, &dl,
                                      NULL)))
        die("token data part", rc);
    p = frame_reported(sizeof s, model, ml, data, dl, s, sizeof s, 500, 0, NULL, &len);
    save("tests/fuzz/seeds/neural", "s8-tokens.nmdl", p, len);
    save("tests/fuzz/seeds/decompress", "s8-tokens.nmdl", p, len);
    free(model), free(data), free(p), free(w);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds SOURCE_ROOT\n");
        return 2;
    }
    root = argv[1];
    neural_seeds();
    match_seed(NMDL_SC_MATCH);
    match_seed(NMDL_SC_MIX);
    match_seed(NMDL_SC_MIX2);
    match_seed(NMDL_SC_MIX3);
    match_seed(NMDL_SC_MIX4);
    match_seed(NMDL_SC_MIX5);
    match_seed(NMDL_SC_MIX6);
    match_seed(NMDL_SC_MIX7);
    match_seed(NMDL_SC_MIX8);
    token_seed();
    crafted();
    return 0;
}
