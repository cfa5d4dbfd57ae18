/*
 * sweep.c: `nmdl sweep CORPUS --sizes 64K,256K,1M --out DIR`, description
 * length against dataset size. For each prefix of CORPUS: compress,
 * decompress and verify with nmdl (the compress options apply), the split
 * of the description length, the learning coefficient and the budget, the
 * times, and zstd -19 (libzstd, long window) and xz -9e (liblzma) of the
 * same bytes. Each size's result is stored as DIR/size-N.json the moment it
 * is done, so a sweep that is stopped and started again skips what it has;
 * then DIR/results.csv, DIR/results.json, DIR/dl_vs_n.svg and
 * DIR/model_bits.svg are written from all of them.
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
#include "progress.h"
#include "svg.h"

#define MAX_SIZES 64

/* One size's measurements; NaN or 0 where not measured. */
typedef struct row {
    double n, ok;                               /* bytes of the prefix; 1 or 0 */
    double file, header, model, data, checksum; /* bytes of nmdl's file */
    double neural, n_model, n_data;             /* bytes of the neural attempt */
    double n_params, llc, llc_se;               /* λ̂ in nats (dimensionless) */
    double epsilon;                             /* nats per byte */
    double b_star, budget_bits;                 /* bits per weight */
    double loss_float;                          /* bits per byte, float weights */
    double compress_s, decompress_s;            /* seconds */
    double zstd, xz;                            /* bytes */
    char method[16], error[160];
} row;

/* The numeric fields, in the order of the CSV and JSON keys. */
#define FIELDS                                                                   \
    X(n) X(ok) X(file) X(header) X(model) X(data) X(checksum) X(neural)          \
    X(n_model) X(n_data) X(n_params) X(llc) X(llc_se) X(epsilon) X(b_star)       \
    X(budget_bits) X(loss_float) X(compress_s) X(decompress_s) X(zstd) X(xz)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* "64K" (2^16), "1M" (2^20), "2000000"; 0 when it does not parse. */
static uint64_t parse_size(const char *s)
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

/* The --sizes list, checked before any work. */
static int parse_sizes(const char *list, size_t corpus, uint64_t *sizes, int *k)
{
    char buf[1024];
    if (!list || strlen(list) >= sizeof buf) {
        cli_error("sweep", "needs --sizes, e.g. 64K,256K,1M");
        return -1;
    }
    strcpy(buf, list);
    *k = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        uint64_t v = parse_size(tok);
        if (!v) {
            cli_error(tok, "not a size (a number of bytes, or with K or M)");
            return -1;
        }
        if (v > corpus) {
            fprintf(stderr, "nmdl: %s: larger than the corpus (%zu bytes)\n", tok, corpus);
            return -1;
        }
        for (int i = 0; i < *k; i++)
            if (sizes[i] == v) {
                cli_error(tok, "given twice");
                return -1;
            }
        if (*k == MAX_SIZES) {
            cli_error("sweep", "at most 64 sizes");
            return -1;
        }
        sizes[(*k)++] = v;
    }
    if (!*k)
        cli_error("sweep", "--sizes lists no size");
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
static void measure_nmdl(nmdl_cctx *c, int threads, const uint8_t *src, size_t n, row *r)
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
    t0 = now();
    if (!rc)
        rc = nmdl_decompress(d, back, n, &back_len, frame, len);
    r->decompress_s = now() - t0;
    if (!rc && (back_len != n || memcmp(back, src, n)))
        rc = NMDL_ERR_CORRUPT;
    if (!rc)
        rc = nmdl_info_read(frame, len, &info);
    if (rc) {
        snprintf(r->error, sizeof r->error, "%s", nmdl_strerror(rc));
    } else {
        nmdl_cctx_report(c, &rep);
        r->ok = 1;
        snprintf(r->method, sizeof r->method, "%s", nmdl_method_name(info.method));
        r->file = len, r->header = info.header_bytes, r->model = info.model_bytes;
        r->data = info.data_bytes, r->checksum = info.checksum_bytes;
        r->neural = rep.neural_bytes, r->n_model = rep.model_bytes, r->n_data = rep.data_bytes;
        r->n_params = rep.n_params, r->llc = rep.llc, r->llc_se = rep.llc_se;
        r->epsilon = rep.epsilon, r->b_star = rep.b_star, r->budget_bits = rep.budget_bits;
        r->loss_float = rep.loss_float_bpb;
    }
    nmdl_dctx_free(d);
    free(back);
    nmdl_free(frame);
}

static void json_row(FILE *f, const row *r)
{
    fprintf(f, "{\"method\":\"%s\",\"error\":\"%s\"", r->method, r->error);
#define X(k) isfinite(r->k) ? fprintf(f, ",\"" #k "\":%.10g", r->k) : fprintf(f, ",\"" #k "\":null");
    FIELDS
#undef X
    fprintf(f, "}");
}

/* The number after `key` in s; NaN where it is missing or null. */
static double json_field(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    char *end;
    if (!p)
        return NAN;
    p += strlen(key);
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

/* Reads back a row this file wrote (our own JSON, one object) that
 * succeeded: 0, or -1 when there is none. */
static int read_row(const char *path, row *r)
{
    uint8_t *buf;
    size_t len;
    if (cli_read_all(path, &buf, &len))
        return -1;
    char *s = realloc(buf, len + 1);
    if (!s) {
        free(buf);
        return -1;
    }
    s[len] = 0;
    memset(r, 0, sizeof *r);
#define X(k) r->k = json_field(s, "\"" #k "\":");
    FIELDS
#undef X
    const char *p = strstr(s, "\"method\":\"");
    if (p)
        sscanf(p + 10, "%15[^\"]", r->method);
    free(s);
    return r->n > 0 && r->ok ? 0 : -1; /* a size that failed is tried again */
}

/* Writes a document built by `write` atomically; prints its own errors. */
static int save(const char *path, void (*write)(FILE *, const row *, int), const row *rows, int k)
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

static void write_one(FILE *f, const row *rows, int k)
{
    (void)k;
    json_row(f, rows);
    fputc('\n', f);
}

static void write_json(FILE *f, const row *rows, int k)
{
    fputs("[\n", f);
    for (int i = 0; i < k; i++) {
        json_row(f, &rows[i]);
        fputs(i + 1 < k ? ",\n" : "\n", f);
    }
    fputs("]\n", f);
}

static void write_csv(FILE *f, const row *rows, int k)
{
    fprintf(f, "method");
#define X(key) fprintf(f, "," #key);
    FIELDS
#undef X
    fprintf(f, ",error\n");
    for (int i = 0; i < k; i++) {
        fprintf(f, "%s", rows[i].method);
#define X(key) fprintf(f, ",%.10g", rows[i].key);
        FIELDS
#undef X
        fprintf(f, ",\"%s\"\n", rows[i].error);
    }
}

/* Values of one field over the rows that succeeded and measured it (> 0),
 * scaled to bits per byte (bytes * 8 / n) when `per_byte`. */
static void column(const row *rows, int k, size_t off, int per_byte, double *x, double *y, int *m)
{
    *m = 0;
    for (int i = 0; i < k; i++) {
        double v = *(const double *)((const char *)&rows[i] + off);
        if (!rows[i].ok || !(v > 0))
            continue;
        x[*m] = rows[i].n;
        y[(*m)++] = per_byte ? 8 * v / rows[i].n : v;
    }
}

static void write_dl_svg(FILE *f, const row *rows, int k)
{
    static const struct { const char *label; size_t off; int dashed; } cols[] = {
        {"nmdl file", offsetof(row, file), 0},
        {"neural attempt (whole DL)", offsetof(row, neural), 1},
        {"model part", offsetof(row, n_model), 0},
        {"data part", offsetof(row, n_data), 0},
        {"zstd -19", offsetof(row, zstd), 0},
        {"xz -9e", offsetof(row, xz), 0},
    };
    enum { NC = sizeof cols / sizeof cols[0] };
    double x[NC + 1][MAX_SIZES], y[NC + 1][MAX_SIZES];
    cli_svg_series s[NC + 1];
    for (int c = 0; c < NC; c++) {
        int m;
        column(rows, k, cols[c].off, 1, x[c], y[c], &m);
        s[c] = (cli_svg_series){cols[c].label, x[c], y[c], m, cols[c].dashed};
    }
    int m = 0; /* theory: L/ln 2 + llc log2(n) / n, in bits per byte */
    for (int i = 0; i < k; i++)
        if (rows[i].ok && rows[i].llc > 0 && rows[i].loss_float > 0) {
            x[NC][m] = rows[i].n;
            y[NC][m++] = rows[i].loss_float + rows[i].llc * log2(rows[i].n) / rows[i].n;
        }
    s[NC] = (cli_svg_series){"theory: L(w*)/ln 2 + llc log2(n)/n", x[NC], y[NC], m, 1};
    cli_svg_plot p = {"Description length against dataset size", "dataset size n (bytes)",
                      "description length (bits per byte)", 1, 0, 1, 0, 0, 0, s, NC + 1,
                      NULL, NULL, 0};
    cli_svg_write(f, &p);
}

static void write_model_svg(FILE *f, const row *rows, int k)
{
    double x[MAX_SIZES], y[MAX_SIZES], lx[2] = {INFINITY, 0}, ly[2];
    int m = 0;
    for (int i = 0; i < k; i++) {
        double pred = rows[i].llc * log2(1.0 / rows[i].epsilon);
        if (!rows[i].ok || !(pred > 0) || !(rows[i].n_model > 0))
            continue;
        x[m] = pred;
        y[m++] = 8 * rows[i].n_model;
        lx[0] = fmin(lx[0], fmin(pred, 8 * rows[i].n_model));
        lx[1] = fmax(lx[1], fmax(pred, 8 * rows[i].n_model));
    }
    ly[0] = lx[0], ly[1] = lx[1];
    cli_svg_series s[2] = {{"measured (model part)", x, y, m, 0},
                           {"measured = predicted", lx, ly, m ? 2 : 0, 1}};
    cli_svg_plot p = {"Model bits: measured against the learning coefficient's prediction",
                      "predicted model bits, llc log2(1/epsilon)", "measured model bits",
                      1, 1, 0, 0, 0, 0, s, 2, NULL, NULL, 0};
    cli_svg_write(f, &p);
}

static void clock_text(char *buf, size_t n, double s)
{
    long t = s > 0 && s < 1e8 ? (long)(s + 0.5) : 0;
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* One size: measured now (returns 1), or read back from its file (0). */
static int size_step(nmdl_cctx *c, const cli_opts *o, const uint8_t *data,
                     uint64_t n, const char *dir, row *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/size-%llu.json", dir, (unsigned long long)n);
    if (read_row(path, r) == 0) {
        fprintf(stderr, "sweep: %llu bytes: done before, skipped\n", (unsigned long long)n);
        return 0;
    }
    memset(r, 0, sizeof *r);
    r->n = (double)n;
    measure_nmdl(c, cli_threads(o), data, (size_t)n, r);
    r->zstd = zstd_size(data, (size_t)n);
    r->xz = xz_size(data, (size_t)n);
    save(path, write_one, r, 1);
    return 1;
}

int cli_sweep(const cli_opts *o)
{
    if (o->n_inputs != 1 || !o->out_dir) {
        cli_error("sweep", "needs one CORPUS and --out DIR");
        return 1;
    }
    uint8_t *data;
    size_t n;
    uint64_t sizes[MAX_SIZES];
    int k, err = cli_read_all(o->inputs[0], &data, &n), status = 0;
    if (err) {
        cli_error(o->inputs[0], strerror(err));
        return 1;
    }
    if (parse_sizes(o->sizes, n, sizes, &k)) {
        free(data);
        return 1;
    }
    if (mkdir(o->out_dir, 0777) && errno != EEXIST) {
        cli_error(o->out_dir, strerror(errno));
        free(data);
        return 1;
    }
    nmdl_cctx *c = nmdl_cctx_create();
    cli_bar bar;
    row rows[MAX_SIZES];
    double t0 = now(), total = 0, done = 0; /* bytes to measure, measured */
    for (int i = 0; i < k; i++)
        total += (double)sizes[i];
    if (!c || cli_configure(c, o, &bar)) {
        cli_error("sweep", "invalid compression settings");
        status = 1;
    }
    for (int i = 0; !status && i < k; i++) {
        if (size_step(c, o, data, sizes[i], o->out_dir, &rows[i]))
            done += (double)sizes[i];
        else /* the estimate counts only the sizes still to measure */
            total -= (double)sizes[i];
        char el[32], eta[32], left[64] = "no rate yet to estimate the rest";
        clock_text(el, sizeof el, now() - t0);
        if (done > 0) { /* extrapolated per byte measured */
            clock_text(eta, sizeof eta, (now() - t0) / done * (total - done));
            snprintf(left, sizeof left, "about %s to go", eta);
        }
        fprintf(stderr, "sweep: %llu bytes (%d/%d): %s, %s %.0f bytes (%.3f bits/byte); "
                "elapsed %s, %s\n", (unsigned long long)sizes[i], i + 1, k,
                rows[i].ok ? "ok" : rows[i].error, rows[i].method, rows[i].file,
                8 * rows[i].file / (double)sizes[i], el, left);
    }
    if (!status) {
        char path[4096];
        static const struct { const char *name; void (*write)(FILE *, const row *, int); } out[] = {
            {"results.csv", write_csv}, {"results.json", write_json},
            {"dl_vs_n.svg", write_dl_svg}, {"model_bits.svg", write_model_svg}};
        for (size_t j = 0; j < sizeof out / sizeof out[0]; j++) {
            snprintf(path, sizeof path, "%s/%s", o->out_dir, out[j].name);
            status |= save(path, out[j].write, rows, k) != 0;
        }
        for (int i = 0; i < k; i++)
            status |= !rows[i].ok;
    }
    nmdl_cctx_free(c);
    free(data);
    return status;
}
