/*
 * sweep.c: `nmdl sweep CORPUS --sizes 64K,256K,1M --out DIR`, description
 * length against dataset size. For each prefix of CORPUS: compress,
 * decompress and verify with nmdl (the compress options apply), the split
 * of the description length, the learning coefficient and the budget, the
 * times, and zstd -19 (libzstd, long window) and xz -9e (liblzma) of the
 * same bytes; with --prequential also the prequential code length
 * (cli/prequential.c). Each size's result is stored as DIR/size-N.json the moment it
 * is done, so a sweep that is stopped and started again skips what it has;
 * then DIR/results.csv, DIR/results.json, DIR/dl_vs_n.svg and
 * DIR/model_bits.svg are written from all of them. Under several MPI ranks
 * (cli/team.h) the sizes are dealt out, one per rank at a time, and rank 0
 * stores every record.
 */
#include <errno.h>
#include <lzma.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zstd.h>

#include "commands.h"
#include "fileio.h"
#include "nmdl.h"
#include "nmdl_commit.h" /* NMDL_COMMIT: git describe, cli/commit.cmake */
#include "prequential.h"
#include "progress.h"
#include "sweep.h"
#include "team.h"

/* The effort nmdl_cctx_set_effort starts with (include/nmdl.h). */
#define DEFAULT_EFFORT 6

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

uint64_t cli_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || v == 0)
        return 0;
    uint64_t mult = *end == 'K' || *end == 'k' ? 1024 : *end == 'M' || *end == 'm' ? 1 << 20 : 1;
    if (mult > 1)
        end++;
    return *end || v > UINT64_MAX / mult ? 0 : v * mult;
}

int cli_sizes(const char *cmd, const char *list, size_t corpus, const char *of,
              uint64_t *sizes, int *k)
{
    char buf[1024];
    if (!list || strlen(list) >= sizeof buf) {
        cli_error(cmd, "needs --sizes, e.g. 64K,256K,1M");
        return -1;
    }
    strcpy(buf, list);
    *k = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        uint64_t v = cli_size(tok);
        if (!v) {
            cli_error(tok, "not a size (a number of bytes, or with K or M)");
            return -1;
        }
        if (v > corpus) {
            fprintf(stderr, "nmdl: %s: larger than the %s (%zu bytes)\n", tok, of, corpus);
            return -1;
        }
        for (int i = 0; i < *k; i++)
            if (sizes[i] == v) {
                cli_error(tok, "given twice");
                return -1;
            }
        if (*k == CLI_MAX_SIZES) {
            cli_error(cmd, "at most 64 sizes");
            return -1;
        }
        sizes[(*k)++] = v;
    }
    if (!*k)
        cli_error(cmd, "--sizes lists no size");
    return *k ? 0 : -1;
}

static double zstd_size(const uint8_t *src, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    void *dst = malloc(cap);
    ZSTD_CCtx *z = ZSTD_createCCtx();
    double r = NAN;
    if (dst && z && !ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 19)) &&
        !ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_enableLongDistanceMatching, 1))) {
        size_t k = ZSTD_compress2(z, dst, cap, src, n);
        r = ZSTD_isError(k) ? NAN : (double)k;
    }
    ZSTD_freeCCtx(z);
    free(dst);
    return r;
}

static double xz_size(const uint8_t *src, size_t n)
{
    size_t cap = lzma_stream_buffer_bound(n), pos = 0;
    uint8_t *dst = malloc(cap);
    double r = NAN;
    if (dst && lzma_easy_buffer_encode(9 | LZMA_PRESET_EXTREME, LZMA_CHECK_CRC64, NULL,
                                       src, n, dst, &pos, cap) == LZMA_OK)
        r = (double)pos;
    free(dst);
    return r;
}

/* nmdl on src[0..n): fills the nmdl fields of r. */
static void measure_nmdl(nmdl_cctx *c, int threads, const uint8_t *src, size_t n,
                         sweep_row *r)
{
    void *frame = NULL;
    size_t len = 0, back_len = 0;
    nmdl_compress_report rep;
    nmdl_info info;
    double t0 = now();
    int rc = nmdl_compress_alloc(c, src, n, &frame, &len);
    r->compress_s = now() - t0;
    nmdl_dctx *d = nmdl_dctx_create();
    uint8_t *back = malloc(n ? n : 1);
    if (!rc && (!d || !back || nmdl_dctx_set_threads(d, threads)))
        rc = NMDL_ERR_NOMEM;
    if (!rc) {
        t0 = now();
        rc = nmdl_decompress(d, back, n, &back_len, frame, len);
        r->decompress_s = now() - t0;
    }
    if (!rc && (back_len != n || memcmp(back, src, n)))
        rc = NMDL_ERR_CORRUPT;
    if (!rc)
        rc = nmdl_info_read(frame, len, &info);
    if (rc) {
        snprintf(r->error, sizeof r->error, "%s", nmdl_strerror(rc));
    } else {
        nmdl_cctx_report(c, &rep);
        int neural = rep.neural_bytes > 0;
        r->ok = 1;
        snprintf(r->method, sizeof r->method, "%s", nmdl_method_name(info.method));
        r->file_bytes = len, r->header_bytes = info.header_bytes;
        r->model_bytes = info.model_bytes, r->data_bytes = info.data_bytes;
        r->checksum_bytes = info.checksum_bytes;
        if (neural) { /* the neural attempt's figures, NaN (null) when none */
            r->neural_bytes = rep.neural_bytes, r->neural_model_bytes = rep.model_bytes;
            snprintf(r->weights, sizeof r->weights, "%s", nmdl_weights_name(rep.weights));
            r->neural_data_bytes = rep.data_bytes, r->n_params = rep.n_params;
            r->neural_pure_data_bytes = round(rep.pure_data_bytes);
            r->llc = rep.llc, r->llc_se = rep.llc_se, r->epsilon = rep.epsilon;
            if (rep.llc_healthy >= 0) { /* the estimate's settings and health */
                r->llc_cool_steps = (double)rep.llc_cool_steps;
                r->nbeta = rep.nbeta, r->llc_step = rep.llc_step, r->gamma = rep.llc_gamma;
                r->mala = rep.mala, r->chains = rep.llc_chains, r->burnin = rep.llc_burnin;
                r->draws = rep.llc_draws, r->llc_healthy = rep.llc_healthy;
                r->llc_start = rep.llc_start;
            }
            r->b_star_bpw = rep.b_star, r->budget_bpw = rep.budget_bits;
            r->loss_float_bpb = rep.loss_float_bpb;
        }
    }
    nmdl_dctx_free(d);
    free(back);
    nmdl_free(frame);
}

/* The options' settings, but the instrument measures every neural attempt
 * to its end, with the LLC's full estimate at every size, of a transformer
 * trained on every byte alike (the theory's two-part code, whose DL the
 * transformer alone gives), over bytes at every size unless --tokens asks
 * for merged symbols (λ̂ and n of the theory's curve are then of symbols
 * at some sizes and bytes at others). */
static int sweep_configure(nmdl_cctx *c, const cli_opts *o, cli_bar *bar)
{
    nmdl_llc_settings s;
    cli_llc_settings(o, &s);
    if (!s.chains)
        s.chains = NMDL_LLC_CHAINS;
    return cli_configure(c, o, bar) || nmdl_cctx_set_early_stop(c, 0) ||
           nmdl_cctx_set_llc(c, &s) || nmdl_cctx_set_tokens(c, o->tokens > 0) ||
           nmdl_cctx_set_repeats_weight(c, 1);
}

/* Writes a document built by `write` atomically; prints its own errors. */
static int save(const char *path, void (*write)(FILE *, const sweep_row *, int),
                const sweep_row *rows, int k)
{
    cli_doc d;
    int err = cli_doc_open(&d);
    if (!err) {
        write(d.f, rows, k);
        err = cli_doc_save(&d, path, 1);
    }
    if (err)
        cli_error(path, strerror(err));
    return err ? -1 : 0;
}

/* The records, each on a line of its own after `before` (a size-N.json
 * holds one; --json prints all; results.json is an array of them). */
static void write_records(FILE *f, const sweep_row *rows, int k, const char *before)
{
    for (int i = 0; i < k; i++) {
        cli_jw w;
        fputs(i ? before : "", f);
        cli_jw_begin(&w, f, "sweep");
        sweep_row_json(&w, &rows[i]);
        cli_jw_finish(&w);
    }
    fputs(k ? "\n" : "", f);
}

static void write_lines(FILE *f, const sweep_row *rows, int k)
{
    write_records(f, rows, k, "\n");
}

static void write_json(FILE *f, const sweep_row *rows, int k)
{
    fputs("[\n", f);
    write_records(f, rows, k, ",\n");
    fputs("]\n", f);
}

static void write_csv(FILE *f, const sweep_row *rows, int k)
{
    sweep_csv_header(f);
    for (int i = 0; i < k; i++)
        sweep_csv_row(f, &rows[i]);
}

static void clock_text(char *buf, size_t n, double s)
{
    long t = s > 0 && s < 1e8 ? (long)(s + 0.5) : 0;
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* What the record says about how it was made: the corpus as named, the
 * effort (neural method only), the build, the UTC time it finished. */
static void stamp(const cli_opts *o, sweep_row *r)
{
    time_t t = time(NULL);
    struct tm tm;
    r->corpus = strdup(o->inputs[0]);
    r->effort = o->method != NMDL_METHOD_NEURAL ? NAN : o->effort ? o->effort : DEFAULT_EFFORT;
    snprintf(r->commit, sizeof r->commit, "%s", NMDL_COMMIT);
    if (gmtime_r(&t, &tm))
        strftime(r->date, sizeof r->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The prequential code of data[0..n) into r (--prequential); 0, or -1
 * after printing the problem. */
static int measure_prequential(nmdl_cctx *c, const cli_opts *o, const uint8_t *data,
                               uint64_t n, sweep_row *r)
{
    double t0 = now();
    if (cli_prequential(c, cli_threads(o), data, (size_t)n, o->out_dir, &r->preq_bytes,
                        &r->preq_train_share))
        return -1;
    r->preq_s = now() - t0;
    return 0;
}

/* Where size n's record is stored. */
static void record_path(const cli_opts *o, uint64_t n, char *path, size_t cap)
{
    snprintf(path, cap, "%s/size-%llu.json", o->out_dir, (unsigned long long)n);
}

/* The stored record of size n into r: 0 when it is complete, 1 when the
 * size is to be measured (r then fresh), 2 when only its prequential code
 * is missing, -1 when it must not be touched. A record of schema 0 is
 * stored again in the current one, the corpus named as now where it said
 * none. */
static int load(const cli_opts *o, uint64_t n, sweep_row *r)
{
    char path[4096];
    int old;
    record_path(o, n, path, sizeof path);
    int rc = sweep_row_read(path, r, &old);
    if (rc < 0)
        return -1;
    if (rc != 0 || !r->ok || r->input_bytes != (double)n) {
        sweep_row_free(r); /* a size that failed is tried again */
        sweep_row_init(r);
        return 1;
    }
    if (!r->corpus)
        r->corpus = strdup(o->inputs[0]);
    if (o->prequential && !isfinite(r->preq_bytes))
        return 2;
    fprintf(stderr, "sweep: %llu bytes: done before, skipped\n", (unsigned long long)n);
    if (old)
        save(path, write_lines, r, 1);
    return 0;
}

/* Size n measured now into the fresh record r. */
static void measure(nmdl_cctx *c, const cli_opts *o, const uint8_t *data, uint64_t n,
                    sweep_row *r)
{
    r->input_bytes = (double)n;
    measure_nmdl(c, cli_threads(o), data, (size_t)n, r);
    r->zstd_bytes = zstd_size(data, (size_t)n);
    r->xz_bytes = xz_size(data, (size_t)n);
    stamp(o, r);
}

static void store(const cli_opts *o, const sweep_row *r)
{
    char path[4096];
    record_path(o, (uint64_t)r->input_bytes, path, sizeof path);
    save(path, write_lines, r, 1);
}

/* One size: measured now (returns 1), read back from its file (0), or a
 * record that must not be touched or a prequential code that failed (-1);
 * a record without the prequential code gains it where asked for. */
static int size_step(nmdl_cctx *c, const cli_opts *o, const uint8_t *data,
                     uint64_t n, sweep_row *r)
{
    int st = load(o, n, r);
    if (st <= 0)
        return st;
    if (st == 1)
        measure(c, o, data, n, r);
    int rc = o->prequential && r->ok ? measure_prequential(c, o, data, n, r) : 0;
    store(o, r);
    return rc ? -1 : 1;
}

/* The line on standard error after size i of k: its result, and the time
 * to go, extrapolated from the `done` of `total` bytes measured since t0. */
static void progress_line(const sweep_row *r, int i, int k, double t0, double done,
                          double total)
{
    char el[32], eta[32], left[64] = "no rate yet to estimate the rest";
    clock_text(el, sizeof el, now() - t0);
    if (done > 0) {
        clock_text(eta, sizeof eta, (now() - t0) / done * (total - done));
        snprintf(left, sizeof left, "about %s to go", eta);
    }
    fprintf(stderr, "sweep: %.0f bytes (%d/%d): %s, %s %.0f bytes (%.3f bits/byte); "
            "elapsed %s, %s\n", r->input_bytes, i + 1, k, r->ok ? "ok" : r->error,
            r->method, r->file_bytes, 8 * r->file_bytes / r->input_bytes, el, left);
}

/* The sizes one by one; 0, or 1 when a stored record stopped the sweep. */
static int run_sizes(nmdl_cctx *c, const cli_opts *o, const uint8_t *data,
                     const uint64_t *sizes, int k, sweep_row *rows)
{
    double t0 = now(), total = 0, done = 0; /* bytes to measure, measured */
    for (int i = 0; i < k; i++)
        total += (double)sizes[i];
    for (int i = 0; i < k; i++) {
        int rc = size_step(c, o, data, sizes[i], &rows[i]);
        if (rc < 0)
            return 1;
        if (rc)
            done += (double)sizes[i];
        else /* the estimate counts only the sizes still to measure */
            total -= (double)sizes[i];
        progress_line(&rows[i], i, k, t0, done, total);
    }
    return 0;
}

/* The lead's list of the sizes still to measure (indices into sizes, the
 * largest first) into todo, its length into *m; the records done before
 * into rows. -1 when a stored record stops the sweep. */
static int team_todo(const cli_opts *o, const uint64_t *sizes, int k, sweep_row *rows,
                     int *todo, int *m)
{
    *m = 0;
    for (int i = 0; i < k; i++) {
        int st = load(o, sizes[i], &rows[i]);
        if (st < 0)
            return -1;
        if (st)
            todo[(*m)++] = i;
    }
    for (int a = 1; a < *m; a++) /* insertion sort, largest first */
        for (int b = a; b > 0 && sizes[todo[b]] > sizes[todo[b - 1]]; b--) {
            int x = todo[b];
            todo[b] = todo[b - 1];
            todo[b - 1] = x;
        }
    return 0;
}

/* The lead's part after a round: the m records of got (by rank) into
 * rows at indices idx, each stored, with its line. Returns the bytes
 * measured so far (done before, plus these). */
static double store_round(const cli_opts *o, sweep_row *got, const int *idx, int m, int k,
                          sweep_row *rows, double t0, double done, double total)
{
    for (int r = 0; r < m; r++) {
        sweep_row *row = &rows[idx[r]];
        sweep_row_free(row);
        *row = got[r];
        row->corpus = strdup(o->inputs[0]);
        store(o, row);
        done += row->input_bytes;
        progress_line(row, idx[r], k, t0, done, total);
    }
    return done;
}

/* Under a team of K ranks (cli/team.h): the sizes still to measure, the
 * largest first, dealt in rounds of one size per rank. Each rank measures
 * its size alone, so every record is the one a single process would make
 * (but the times); after each round the records go to the lead, which
 * stores them. 0, or 1 when a stored record stopped the sweep or MPI
 * failed. */
static int run_team(nmdl_cctx *c, const cli_opts *o, const nmdl_team *t,
                    const uint8_t *data, const uint64_t *sizes, int k, sweep_row *rows)
{
    const int K = t->size, lead = cli_team_lead(t);
    int *todo = malloc((size_t)(k + 1) * sizeof *todo), status = 0;
    sweep_row *got = calloc((size_t)K, sizeof *got); /* a round's records, by rank */
    if (!todo || !got) {
        free(todo);
        free(got);
        cli_team_abort(t);
        return 1;
    }
    todo[k] = 0; /* the count travels after the list */
    if (lead && team_todo(o, sizes, k, rows, todo, &todo[k]))
        todo[k] = -1;
    if (t->bcast(t->user, todo, (size_t)(k + 1) * sizeof *todo) || todo[k] < 0)
        status = 1;
    double t0 = now(), total = 0, done = 0;
    for (int j = 0; !status && j < todo[k]; j++)
        total += (double)sizes[todo[j]];
    for (int j = 0; !status && j < todo[k]; j += K) {
        sweep_row mine;
        sweep_row_init(&mine);
        if (j + t->rank < todo[k])
            measure(c, o, data, sizes[todo[j + t->rank]], &mine);
        free(mine.corpus); /* a pointer means nothing to another process */
        mine.corpus = NULL;
        got[t->rank] = mine;
        if (cli_team_gather_each(t, got, sizeof *got)) {
            status = 1;
            break;
        }
        if (lead)
            done = store_round(o, got, todo + j, todo[k] - j < K ? todo[k] - j : K, k,
                               rows, t0, done, total);
    }
    if (status && lead)
        cli_error("sweep", todo[k] < 0 ? "a stored record stopped the sweep"
                                       : "MPI failed while the ranks shared their records");
    free(todo);
    free(got);
    return status;
}

/* The lead's corpus, sizes and output folder; under a team the corpus is
 * then handed to the others. 0, or 1 after printing why (the lead). */
static int prepare(const cli_opts *o, uint8_t **data, size_t *n, uint64_t *sizes, int *k)
{
    const nmdl_team *t = o->team;
    int ok = 1, effort = 0, err = 0;
    *data = NULL, *n = 0;
    if (cli_team_lead(t)) {
        if ((err = cli_read_all(o->inputs[0], data, n)))
            cli_error(o->inputs[0], strerror(err));
        else if (cli_sizes("sweep", o->sizes, *n, "corpus", sizes, k))
            err = 1;
        else if (mkdir(o->out_dir, 0777) && errno != EEXIST)
            cli_error(o->out_dir, strerror(err = errno));
        ok = !err;
    }
    if (t && t->size > 1 && cli_team_input(t, o->inputs[0], &ok, &effort, data, n))
        ok = 0;
    /* the others parse what the lead has checked */
    if (ok && !cli_team_lead(t) && cli_sizes("sweep", o->sizes, *n, "corpus", sizes, k))
        ok = 0;
    if (!ok) {
        free(*data);
        *data = NULL;
    }
    return ok ? 0 : 1;
}

int cli_sweep(const cli_opts *o)
{
    const nmdl_team *t = o->team && o->team->size > 1 ? o->team : NULL;
    const int lead = cli_team_lead(t);
    if (o->n_inputs != 1 || !o->out_dir) {
        if (lead)
            cli_error("sweep", "needs one CORPUS and --out DIR");
        return 1;
    }
    if (o->prequential && (o->method != NMDL_METHOD_NEURAL || t)) {
        if (lead)
            cli_error("sweep", t ? "--prequential does not run on several MPI ranks"
                                 : "--prequential needs the neural method (its models)");
        return 1;
    }
    uint8_t *data;
    size_t n;
    uint64_t sizes[CLI_MAX_SIZES];
    int k = 0, status = 0;
    if (prepare(o, &data, &n, sizes, &k))
        return 1;
    nmdl_cctx *c = nmdl_cctx_create();
    cli_bar bar;
    sweep_row *rows = calloc((size_t)k, sizeof *rows);
    if (!c || !rows || sweep_configure(c, o, &bar)) {
        if (lead)
            cli_error("sweep", "invalid compression settings");
        status = 1;
        cli_team_abort(t); /* the others would wait for this rank */
    }
    if (!status)
        status = t ? run_team(c, o, t, data, sizes, k, rows)
                   : run_sizes(c, o, data, sizes, k, rows);
    if (!status && lead) {
        char path[4096];
        static const struct {
            const char *name;
            void (*write)(FILE *, const sweep_row *, int);
        } out[] = {{"results.csv", write_csv}, {"results.json", write_json},
                   {"dl_vs_n.svg", sweep_plot_dl}, {"model_bits.svg", sweep_plot_model}};
        for (size_t j = 0; j < sizeof out / sizeof out[0]; j++) {
            snprintf(path, sizeof path, "%s/%s", o->out_dir, out[j].name);
            status |= save(path, out[j].write, rows, k) != 0;
        }
        for (int i = 0; i < k; i++)
            status |= !rows[i].ok;
        if (o->json)
            write_lines(stdout, rows, k);
    }
    for (int i = 0; rows && i < k; i++)
        sweep_row_free(&rows[i]);
    free(rows);
    nmdl_cctx_free(c);
    free(data);
    return status;
}
