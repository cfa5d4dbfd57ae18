/*
 * commands.c: compress and decompress, file by file, as zstd does: each
 * input is read whole, transformed by the library, and written through a
 * temporary file; a failure on one file is reported and the next goes on.
 */
#include "commands.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "nmdl.h"
#include "progress.h"

#define SUFFIX ".nmdl"

void cli_error(const char *name, const char *what)
{
    fprintf(stderr, "nmdl: %s: %s\n", name, what);
}

void cli_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

void cli_json_num(const char *key, double v)
{
    if (isfinite(v))
        printf(",\"%s\":%.6g", key, v);
    else
        printf(",\"%s\":null", key);
}

int cli_threads(const cli_opts *o)
{
    if (o->threads > 0)
        return o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 1024 ? (int)n : 1;
}

/* What one run needs besides the options: the library context. */
typedef struct job {
    const cli_opts *o;
    int decompress;
    nmdl_cctx *cctx;
    nmdl_dctx *dctx;
} job;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int has_suffix(const char *s)
{
    size_t n = strlen(s), k = strlen(SUFFIX);
    return n > k && !strcmp(s + n - k, SUFFIX);
}

/* The output file name for input `in`, malloc'd; NULL with *to_stdout set
 * for standard output, NULL without it for "no output" (test mode) or on an
 * error, which is reported here. */
static char *output_name(const job *j, const char *in, int *to_stdout)
{
    const cli_opts *o = j->o;
    *to_stdout = 0;
    if (j->decompress && o->test)
        return NULL;
    if (o->to_stdout || (!strcmp(in, "-") && !o->output)) {
        *to_stdout = 1;
        return NULL;
    }
    if (o->output)
        return strdup(o->output);
    size_t n = strlen(in);
    if (!j->decompress) {
        if (has_suffix(in)) {
            cli_error(in, "already has the " SUFFIX " suffix -- ignored");
            return NULL;
        }
        char *s = malloc(n + sizeof SUFFIX);
        if (s)
            memcpy(s, in, n), memcpy(s + n, SUFFIX, sizeof SUFFIX);
        return s;
    }
    if (!has_suffix(in)) {
        cli_error(in, "unknown suffix (expected " SUFFIX "), use -o -- ignored");
        return NULL;
    }
    char *s = strdup(in);
    if (s)
        s[n - strlen(SUFFIX)] = 0;
    return s;
}

/* Refusals that must come before any work: terminals, overwriting, and
 * writing over the input itself. */
static int check_target(const job *j, const char *in, const char *out,
                        int to_stdout)
{
    const cli_opts *o = j->o;
    if (!j->decompress && !o->force) {
        if (to_stdout && isatty(STDOUT_FILENO)) {
            cli_error("stdout", "is a terminal; refusing to write compressed "
                                "data to it (use -f to force)");
            return -1;
        }
        if (!strcmp(in, "-") && isatty(STDIN_FILENO)) {
            cli_error("stdin", "is a terminal; give a file or use -f");
            return -1;
        }
    }
    if (!out)
        return 0;
    struct stat si, so;
    if (strcmp(in, "-") && stat(in, &si) == 0 && stat(out, &so) == 0 &&
        si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
        cli_error(out, "is the input file itself; refusing to overwrite it");
        return -1;
    }
    if (!o->force && access(out, F_OK) == 0) {
        cli_error(out, "already exists; use -f to overwrite");
        return -1;
    }
    return 0;
}

static int run_compress(job *j, const uint8_t *in, size_t n, uint8_t **out,
                        size_t *out_len)
{
    void *frame = NULL;
    int rc = nmdl_compress_alloc(j->cctx, in, n, &frame, out_len);
    *out = frame;
    return rc;
}

/* Decompression writes as it decodes (nmdl_decompress_stream): into the
 * temporary file behind the output, renamed only once the content checksum
 * matched; into memory for standard output, which gets nothing unverified;
 * nowhere in test mode. */
typedef struct pour {
    job *j;
    const uint8_t *src;
    size_t n;
    int fd;           /* the temporary file, or -1 */
    int keep;         /* collect in buf for standard output */
    uint8_t *buf;
    size_t len, cap;
    int err;          /* errno of a failed write */
    int rc;           /* the library's result */
} pour;

static int pour_piece(void *user, const void *data, size_t n)
{
    pour *p = user;
    if (p->fd >= 0) {
        p->err = cli_write_all(p->fd, data, n);
    } else if (p->keep && n > p->cap - p->len) {
        size_t cap = p->len + n > 2 * p->cap ? p->len + n : 2 * p->cap;
        uint8_t *b = realloc(p->buf, cap);
        p->err = b ? 0 : ENOMEM;
        if (b)
            p->buf = b, p->cap = cap;
    }
    if (p->keep && !p->err)
        memcpy(p->buf + p->len, data, n);
    p->len += n;
    return p->err ? -1 : 0;
}

/* Decodes into fd (-1: not to a file); 0, an errno value, or -1 when the
 * library failed (p->rc). */
static int pour_frame(void *user, int fd)
{
    pour *p = user;
    p->fd = fd;
    p->rc = nmdl_decompress_stream(p->j->dctx, p->src, p->n, pour_piece, p);
    return p->err ? p->err : p->rc ? -1 : 0;
}

/* Permissions and times an output copies: the input's, when it is a file. */
static const struct stat *input_stat(const char *in, struct stat *st)
{
    return strcmp(in, "-") && stat(in, st) == 0 && S_ISREG(st->st_mode) ? st : NULL;
}

/* Decodes src to where it belongs; the library's code, with *werr the
 * errno value of a failed write. */
static int run_decompress(job *j, const char *in, const char *out, int to_stdout,
                          const uint8_t *src, size_t n, size_t *out_len, int *werr)
{
    pour p = {j, src, n, -1, to_stdout, NULL, 0, 0, 0, 0};
    struct stat st;
    int e = out ? cli_write_file_from(out, pour_frame, &p, input_stat(in, &st),
                                      j->o->force, j->o->remove_input)
                : pour_frame(&p, -1);
    if (p.rc && !p.err) /* reported as the library's */
        e = 0;
    else if (!e && to_stdout)
        e = cli_write_stdout(p.buf, p.len);
    free(p.buf);
    *werr = e;
    *out_len = p.len;
    return p.err ? NMDL_OK : p.rc;
}

/* One line for a library error, with the decoder's detail when it has one:
 * "nmdl: x.nmdl: corrupt data (model part: head width 300 exceeds 256)". */
static void library_error(const job *j, const char *name, int rc)
{
    const char *why = j->dctx ? nmdl_dctx_error_detail(j->dctx) : "";
    if (*why)
        fprintf(stderr, "nmdl: %s: %s (%s)\n", name, nmdl_strerror(rc), why);
    else
        cli_error(name, nmdl_strerror(rc));
}

/* With -v: what the neural attempt did and how the candidates compared. */
static void neural_summary(const nmdl_cctx *c)
{
    nmdl_compress_report r;
    nmdl_cctx_report(c, &r);
    if (!r.neural_bytes)
        return;
    fprintf(stderr, "  neural: %llu parameters, %ld training + %ld fine-tuning steps "
            "(%.0f + %.0f s), training loss %.3f bits/byte\n",
            (unsigned long long)r.n_params, r.train_steps, r.tune_steps,
            r.train_s, r.tune_s, r.loss_train_bpb);
    fprintf(stderr, "  neural: model %llu bytes (%.3f bits/weight, step %.4f RMS), "
            "data %llu bytes (%.4f bits/byte, %d segments, %.0f s)\n",
            (unsigned long long)r.model_bytes, r.bits_per_weight, r.delta,
            (unsigned long long)r.data_bytes, r.data_bpb, r.segments, r.code_s);
    static const char *const modes[] = {"fixed", "bstar", "search"};
    if (r.llc_healthy >= 0)
        fprintf(stderr, "  llc: %.4g ± %.3g (nbeta %.4g, step %.3g, MALA %.2f, %.0f s)%s%s\n",
                r.llc, r.llc_se, r.nbeta, r.llc_step, r.mala, r.llc_s,
                r.llc_healthy ? "" : ", UNHEALTHY: ", r.llc_healthy ? "" : r.llc_warning);
    fprintf(stderr, "  budget %s: epsilon %.3g nats/byte, b* %.4f bits/weight (%.0f bits "
            "predicted), chosen %.3f (%.1f x b*, search %.0f s)%s%s\n",
            modes[r.budget_mode], r.epsilon, r.b_star, r.predicted_model_bits,
            r.budget_bits, r.budget_bits / r.b_star, r.search_s,
            r.budget_note[0] ? "; " : "", r.budget_note);
    for (int i = 0; i < r.n_candidates; i++)
        fprintf(stderr, "    budget %.3f bits/weight%s: model %.0f bytes, sample loss "
                "%.4f bits/byte, DL %.0f bytes\n", r.cand_bits[i],
                r.cand_tuned[i] ? " (tuned)" : "", r.cand_model_bits[i] / 8,
                r.cand_loss_bpb[i], r.cand_dl_bits[i] / 8);
    fprintf(stderr, "  frames: neural %llu, zstd %llu, stored %llu bytes -> %s\n",
            (unsigned long long)r.neural_bytes, (unsigned long long)r.zstd_bytes,
            (unsigned long long)r.stored_bytes, nmdl_method_name(r.method));
}

static void summary(const job *j, const char *in, const char *out,
                    size_t in_len, size_t out_len, const uint8_t *frame,
                    size_t frame_len, double secs)
{
    const cli_opts *o = j->o;
    if (o->verbosity < 1)
        return;
    const char *iname = strcmp(in, "-") ? in : "stdin";
    const char *oname = out ? out : (o->test ? "tested" : "stdout");
    if (!j->decompress && in_len)
        fprintf(stderr, "%s : %.2f%% (%zu => %zu bytes, %s)", iname,
                100.0 * (double)out_len / (double)in_len, in_len, out_len, oname);
    else if (!j->decompress)
        fprintf(stderr, "%s : (%zu => %zu bytes, %s)", iname, in_len, out_len, oname);
    else
        fprintf(stderr, "%s : %zu bytes%s%s", iname, out_len,
                o->test ? ", OK" : ", ", o->test ? "" : oname);
    if (o->verbosity >= 2) {
        nmdl_info info;
        size_t raw = j->decompress ? out_len : in_len;
        if (!nmdl_info_read(frame, frame_len, &info))
            fprintf(stderr, ", method %s", nmdl_method_name(info.method));
        fprintf(stderr, ", %.3f s, %.1f kB/s", secs,
                secs > 0 ? (double)raw / secs / 1e3 : 0.0);
    }
    fputc('\n', stderr);
    if (o->verbosity >= 2 && !j->decompress)
        neural_summary(j->cctx);
}

/* Writes the result where it belongs; 0 or an errno value. */
static int deliver(const job *j, const char *in, const char *out,
                   int to_stdout, const uint8_t *data, size_t n)
{
    if (to_stdout)
        return cli_write_stdout(data, n);
    if (!out)
        return 0; /* test mode */
    struct stat st;
    return cli_write_file(out, data, n, input_stat(in, &st), j->o->force,
                          j->o->remove_input);
}

static int process(job *j, const char *in)
{
    int to_stdout, status = 1;
    char *out = output_name(j, in, &to_stdout);
    if ((!out && !to_stdout && !(j->decompress && j->o->test)) ||
        check_target(j, in, out, to_stdout)) {
        free(out);
        return 1;
    }
    uint8_t *src = NULL, *dst = NULL;
    size_t n = 0, m = 0;
    int err = cli_read_all(in, &src, &n);
    if (err) {
        cli_error(strcmp(in, "-") ? in : "stdin", strerror(err));
        goto done;
    }
    double t0 = now_seconds();
    int rc = j->decompress ? run_decompress(j, in, out, to_stdout, src, n, &m, &err)
                           : run_compress(j, src, n, &dst, &m);
    double secs = now_seconds() - t0;
    if (rc) {
        library_error(j, strcmp(in, "-") ? in : "stdin", rc);
        goto done;
    }
    if (err || (!j->decompress && (err = deliver(j, in, out, to_stdout, dst, m)))) {
        cli_error(out ? out : "stdout", strerror(err));
        goto done;
    }
    summary(j, in, out, n, m, j->decompress ? src : dst, j->decompress ? n : m,
            secs);
    status = 0;
    if (j->o->remove_input && out && strcmp(in, "-") && unlink(in) < 0) {
        cli_error(in, strerror(errno));
        status = 1;
    }
done:
    free(src);
    free(dst);
    free(out);
    return status;
}

static int run_all(job *j)
{
    const cli_opts *o = j->o;
    static const char *stdin_only[] = {"-"};
    const char **inputs = o->n_inputs ? o->inputs : stdin_only;
    int n = o->n_inputs ? o->n_inputs : 1;
    if (o->output && n > 1) {
        cli_error("-o", "can only be used with a single input file");
        return 1;
    }
    int status = 0;
    for (int i = 0; i < n; i++)
        status |= process(j, inputs[i]);
    return status;
}

/* The learning-coefficient settings from the options (llc and compress). */
void cli_llc_settings(const cli_opts *o, nmdl_llc_settings *s)
{
    nmdl_llc_settings_default(s);
    s->sampler = o->sampler;
    s->step = o->step;
    s->nbeta = o->nbeta;
    if (o->gamma > 0)
        s->gamma = o->gamma;
    if (o->chains)
        s->chains = o->chains;
    if (o->burnin >= 0)
        s->burnin = o->burnin;
    if (o->draws)
        s->draws = o->draws;
    if (o->batch)
        s->batch = o->batch;
    s->seed = o->seed;
    s->threads = cli_threads(o);
}

int cli_configure(nmdl_cctx *c, const cli_opts *o, cli_bar *bar)
{
    nmdl_model_config cfg;
    nmdl_llc_settings llc;
    cli_llc_settings(o, &llc);
    nmdl_cctx_set_progress(c, cli_bar_init(bar, o->verbosity), bar);
    if (o->preset && (nmdl_model_preset(o->preset, &cfg) ||
                      nmdl_cctx_set_model(c, &cfg))) {
        cli_error(o->preset, "unknown preset (tiny, mini, small, medium or base)");
        return -1;
    }
    return nmdl_cctx_set_method(c, (nmdl_method)o->method) ||
           nmdl_cctx_set_threads(c, cli_threads(o)) ||
           (o->effort && nmdl_cctx_set_effort(c, o->effort)) ||
           nmdl_cctx_set_bits(c, o->bits) || nmdl_cctx_set_seed(c, o->seed) ||
           nmdl_cctx_set_per_row(c, !o->per_tensor) ||
           nmdl_cctx_set_fallback(c, !o->no_fallback) ||
           nmdl_cctx_set_llc(c, &llc) || nmdl_cctx_set_epsilon(c, o->epsilon) ||
           nmdl_cctx_set_posterior_rows(c, o->posterior_rows) ||
           (o->budget && !o->bits &&
            nmdl_cctx_set_budget(c, strcmp(o->budget, "bstar") ? NMDL_BUDGET_SEARCH
                                                               : NMDL_BUDGET_BSTAR));
}

int cli_compress(const cli_opts *o)
{
    job j = {o, 0, nmdl_cctx_create(), NULL};
    cli_bar bar;
    int status = 1;
    if (!j.cctx)
        cli_error("nmdl", "cannot create a compression context");
    else if (cli_configure(j.cctx, o, &bar))
        cli_error("nmdl", "invalid compression settings");
    else
        status = run_all(&j);
    nmdl_cctx_free(j.cctx);
    return status;
}

int cli_decompress(const cli_opts *o)
{
    job j = {o, 1, NULL, nmdl_dctx_create()};
    int status = 1;
    if (!j.dctx)
        cli_error("nmdl", "cannot create a decompression context");
    else if (nmdl_dctx_set_threads(j.dctx, cli_threads(o)))
        cli_error("nmdl", "invalid thread count");
    else if (o->memory && nmdl_dctx_set_memory(j.dctx, o->memory))
        cli_error("--memory", "must be at least 1M");
    else if (o->max_ratio >= 0 && nmdl_dctx_set_max_ratio(j.dctx, (uint64_t)o->max_ratio))
        cli_error("--max-ratio", "invalid");
    else
        status = run_all(&j);
    nmdl_dctx_free(j.dctx);
    return status;
}
