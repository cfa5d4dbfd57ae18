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
#include "team.h"

#define SUFFIX ".nmdl"

void cli_error(const char *name, const char *what)
{
    cli_bar_clear();
    fprintf(stderr, "nmdl: %s: %s\n", name, what);
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
    int decompress, test; /* test: decompress, write nothing */
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
 * for standard output (-c, -o -, or standard input without -o), NULL
 * without it for "no output" (test mode) or on an error, which is
 * reported here. */
static char *output_name(const job *j, const char *in, int *to_stdout)
{
    const cli_opts *o = j->o;
    *to_stdout = 0;
    if (j->test)
        return NULL;
    if (o->to_stdout || (o->output && !strcmp(o->output, "-")) ||
        (!strcmp(in, "-") && !o->output)) {
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

int cli_stdin_console(const char *in, int force)
{
    if (force || strcmp(in, "-") || !isatty(STDIN_FILENO))
        return 0;
    cli_error("stdin", "is a console, aborting (use -f to read it)");
    return 1;
}

/* Refusals that must come before any work: terminals, overwriting, and
 * writing over the input itself. */
static int check_target(const job *j, const char *in, const char *out,
                        int to_stdout)
{
    const cli_opts *o = j->o;
    if (!j->decompress && !o->force && to_stdout && isatty(STDOUT_FILENO)) {
        cli_error("stdout", "is a terminal; refusing to write compressed "
                            "data to it (use -f to force)");
        return -1;
    }
    if (cli_stdin_console(in, o->force))
        return -1;
    if (!out)
        return 0;
    struct stat si, so;
    if (strcmp(in, "-") && stat(in, &si) == 0 && stat(out, &so) == 0 &&
        si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
        cli_error(out, "is the input file itself; refusing to overwrite it");
        return -1;
    }
    int err = cli_out_check(out, o->force);
    if (err)
        cli_error(out, cli_out_strerror(err));
    return err ? -1 : 0;
}

/* Where one input's result goes: a file, standard output, or nothing (test
 * mode). Opened at the first byte, so that a failure before it leaves
 * nothing behind. */
typedef struct target {
    const char *name; /* the output file; NULL for standard output */
    int force;        /* -f */
    int discard;      /* test mode */
    int opened;
    cli_out w;
} target;

/* 0 or an errno value. */
static int target_write(target *t, const uint8_t *p, size_t n)
{
    if (t->discard)
        return 0;
    if (!t->opened) {
        int err = cli_out_open(&t->w, t->name, t->force);
        if (err)
            return err;
        t->opened = 1;
    }
    return cli_out_write(&t->w, p, n);
}

static void target_error(const target *t, int err)
{
    cli_error(t->name ? t->name : "stdout", cli_out_strerror(err));
}

int cli_next_frame(const uint8_t *src, size_t n, nmdl_info *info, size_t *len)
{
    int rc = nmdl_frame_length(src, n, len);
    return rc ? rc : nmdl_info_read(src, *len, info);
}

void cli_frame_error(const char *name, int k, size_t at, int rc, const char *why)
{
    cli_bar_clear();
    fprintf(stderr, "nmdl: %s: ", name);
    if (k > 0)
        fprintf(stderr, "frame %d at byte %zu: ", k + 1, at);
    fprintf(stderr, why && *why ? "%s (%s)\n" : "%s\n", nmdl_strerror(rc), why);
}

/* Standard output and special files get only verified data: a frame is
 * collected in memory and written once its checksum matched. A new file
 * is written as it is decoded, since it appears only once complete. */
static int keep_in_memory(const target *t)
{
    return !t->discard && (!t->name || cli_out_in_place(t->name));
}

/* The sink of nmdl_decompress_stream: pieces to t, or into buf. */
typedef struct pour {
    target *t;
    int keep; /* collect in buf */
    uint8_t *buf;
    size_t len, cap;
    int err;  /* errno of a failed write */
} pour;

static int pour_piece(void *user, const void *data, size_t n)
{
    pour *p = user;
    if (!p->keep) {
        p->err = target_write(p->t, data, n);
    } else if (n > p->cap - p->len) {
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

/* One frame of `len` bytes decoded to t; the library's code, with *werr
 * the errno value of a failed write (then the code is NMDL_OK). */
static int decode_frame(job *j, const uint8_t *src, size_t len, target *t,
                        size_t *out_len, int *werr)
{
    pour p = {t, keep_in_memory(t), NULL, 0, 0, 0};
    int rc = nmdl_decompress_stream(j->dctx, src, len, pour_piece, &p);
    if (!rc) /* what was kept; at least opens the output of empty data */
        p.err = target_write(t, p.buf, p.keep ? p.len : 0);
    free(p.buf);
    *werr = p.err;
    *out_len = p.len;
    return p.err ? NMDL_OK : rc;
}

/* What one input gave: bytes out, and the method of its frame (or frames). */
typedef struct result {
    size_t bytes;
    int frames;
    char method[32]; /* "method zstd"; "3 frames" */
} result;

/* Under a team, after each frame: the lead's write error to every rank
 * (only the lead writes), so that all stop at the same frame; a rank out
 * of memory ends the team, whose others may be waiting for it. */
static void team_frame_end(const nmdl_team *team, int rc, int *err)
{
    if (!team)
        return;
    if (rc == NMDL_ERR_NOMEM)
        cli_team_abort(team);
    if (team->bcast(team->user, err, sizeof *err))
        *err = EIO;
}

/* Every frame of src[0..n) in turn, each one's data written to t as soon
 * as it is decoded. Prints its errors (under a team, the lead); 0 or -1. */
static int decode_all(job *j, const char *name, const uint8_t *src, size_t n,
                      target *t, result *r)
{
    size_t at = 0;
    do {
        nmdl_info info;
        size_t len = 0, m = 0;
        int err = 0;
        if (nmdl_frame_length(src + at, n - at, &len))
            len = n - at; /* not a whole frame: the decoder says what is wrong */
        int rc = decode_frame(j, src + at, len, t, &m, &err);
        team_frame_end(j->o->team, rc, &err);
        const char *why = rc ? nmdl_dctx_error_detail(j->dctx) : "";
        if (!rc && !err) /* verified: read for the method's name */
            rc = nmdl_info_read(src + at, len, &info);
        if (rc || err) { /* under a team, every rank meets it: the lead says it */
            if (cli_team_lead(j->o->team) && err)
                target_error(t, err);
            else if (cli_team_lead(j->o->team))
                cli_frame_error(name, r->frames, at, rc, why);
            return -1;
        }
        if (r->frames++ == 0)
            snprintf(r->method, sizeof r->method, "method %s", nmdl_method_name(info.method));
        else
            snprintf(r->method, sizeof r->method, "%d frames", r->frames);
        r->bytes += m;
        at += len;
    } while (at < n);
    return 0;
}

static int encode(job *j, const char *name, const uint8_t *src, size_t n,
                  target *t, result *r)
{
    void *frame = NULL;
    size_t len = 0;
    int rc = nmdl_compress_alloc(j->cctx, src, n, &frame, &len), err = 0;
    if (rc) {
        cli_error(name, nmdl_strerror(rc));
        cli_team_abort(j->o->team); /* the other ranks may wait for this one */
    } else if ((err = target_write(t, frame, len)))
        target_error(t, err);
    nmdl_compress_report rep;
    nmdl_cctx_report(j->cctx, &rep);
    snprintf(r->method, sizeof r->method, "method %s", nmdl_method_name(rep.method));
    r->bytes = len;
    r->frames = 1;
    nmdl_free(frame);
    return rc || err ? -1 : 0;
}

/* Why a neural attempt had no b*, by its llc_healthy. */
static const char *no_bstar(int healthy)
{
    return healthy == 1   ? "the LLC estimate gives no tolerance below 1 nat"
           : healthy == 0 ? "the sampler was not healthy (llc above)"
                          : "no LLC was estimated at this size and effort (nmdl llc does)";
}

/* With -v: the candidates' frames and the one written. */
static void frames_line(const nmdl_compress_report *r)
{
    fprintf(stderr, "  frames: neural %llu, mix %llu, zstd %llu, stored %llu bytes -> %s\n",
            (unsigned long long)r->neural_bytes, (unsigned long long)r->mix_bytes,
            (unsigned long long)r->zstd_bytes, (unsigned long long)r->stored_bytes,
            nmdl_method_name(r->method));
}

/* With -v: what the neural attempt did and how the candidates compared. */
static void neural_summary(const nmdl_cctx *c, const nmdl_team *team)
{
    nmdl_compress_report r;
    nmdl_cctx_report(c, &r);
    unsigned long long beat = r.stored_bytes; /* the smallest classic frame */
    beat = r.zstd_bytes && r.zstd_bytes < beat ? r.zstd_bytes : beat;
    beat = r.mix_bytes && r.mix_bytes < beat ? r.mix_bytes : beat;
    if (!r.neural_bytes && r.early_stop_step > 0)
        fprintf(stderr, "  neural: stopped after %ld training steps (%.0f s): at a sample loss "
                "of %.3f bits/byte its parts would take at least %.0f bytes, no fewer than "
                "the classic frame's %llu (--no-early-stop runs it to the end)\n",
                r.early_stop_step, r.train_s, r.probe_loss_bpb, r.probe_bound_bytes, beat);
    if (!r.neural_bytes) {
        frames_line(&r);
        return;
    }
    if (r.probe_step > 0)
        fprintf(stderr, "  neural: last early-stop probe after %ld training steps: at a sample "
                "loss of %.3f bits/byte, at least %.0f bytes against the classic frame's %llu\n",
                r.probe_step, r.probe_loss_bpb, r.probe_bound_bytes, beat);
    fprintf(stderr, "  neural: %llu parameters, %ld training + %ld fine-tuning steps "
            "(%.0f + %.0f s), training loss %.3f bits/byte\n",
            (unsigned long long)r.n_params, r.train_steps, r.tune_steps,
            r.train_s, r.tune_s, r.loss_train_bpb);
    fprintf(stderr, "  neural: model %llu bytes (%.3f bits/weight, step %.4f RMS), "
            "data %llu bytes (%.4f bits/byte, %d segment%s, %.0f s)\n",
            (unsigned long long)r.model_bytes, r.bits_per_weight, r.delta,
            (unsigned long long)r.data_bytes, r.data_bpb, r.segments,
            r.segments == 1 ? "" : "s", r.code_s);
    if (r.other_code) /* merged symbols: coded twice, the shorter written */
        fprintf(stderr, "  neural: the data in code revision %d would take %.0f bytes; "
                "revision %d's is shorter\n", r.other_code - 1, r.other_data_bytes,
                r.data_code - 1);
    if (r.pure_data_bytes != (double)r.data_bytes)
        fprintf(stderr, "  neural: this transformer alone would code the data in about "
                "%.0f bytes\n", r.pure_data_bytes);
    static const char *const modes[] = {"fixed", "bstar", "search", "learned"};
    if (r.weights != NMDL_WEIGHTS_ROUND && isfinite(r.model_estimate_bits))
        fprintf(stderr, "  weights %s: trained for the description length; the cost table "
                "expected %.0f bytes of levels, the coder spent %.0f (model part %llu)\n",
                nmdl_weights_name(r.weights), r.model_estimate_bits / 8,
                r.model_level_bits / 8, (unsigned long long)r.model_bytes);
    char pm[32];
    if (r.llc_healthy >= 0)
        fprintf(stderr, "  llc: %.4g%s (nbeta %.4g, step %.3g, gamma %.4g, %d chains x "
                "(%d burn-in + %d draws)%s, MALA %.2f, %.0f s)%s%s\n", r.llc,
                cli_pm(r.llc_se, pm), r.nbeta, r.llc_step, r.llc_gamma, r.llc_chains,
                r.llc_burnin, r.llc_draws, r.llc_start == NMDL_LLC_START_MIXED ? ", mixed starts" : "",
                r.mala, r.llc_s,
                r.llc_healthy ? "" : ", UNHEALTHY: ", r.llc_healthy ? "" : r.llc_warning);
    if (r.llc_healthy >= 0 && r.llc_repairs[0])
        fprintf(stderr, "  llc repaired: %s\n", r.llc_repairs);
    if (r.llc_healthy >= 0 && r.llc_cool[0])
        fprintf(stderr, "  llc cooled: %s\n", r.llc_cool);
    if (isfinite(r.b_star) && r.budget_mode == NMDL_BUDGET_LEARNED)
        fprintf(stderr, "  budget learned: epsilon %.3g nats/%s, b* %.4f bits/weight (%.0f "
                "bits predicted), coded %.3f (%.1f x b*); %s\n", r.epsilon,
                r.merges ? "symbol" : "byte", r.b_star,
                r.predicted_model_bits, r.budget_bits, r.budget_bits / r.b_star, r.budget_note);
    else if (isfinite(r.b_star))
        fprintf(stderr, "  budget %s: epsilon %.3g nats/%s, b* %.4f bits/weight (%.0f bits "
                "predicted), chosen %.3f (%.1f x b*, search %.0f s)%s%s\n",
                modes[r.budget_mode], r.epsilon, r.merges ? "symbol" : "byte", r.b_star,
                r.predicted_model_bits, r.budget_bits, r.budget_bits / r.b_star, r.search_s,
                r.budget_note[0] ? "; " : "", r.budget_note);
    else if (r.budget_mode == NMDL_BUDGET_FIXED)
        fprintf(stderr, "  budget fixed: %.3f bits/weight, as given (no LLC estimate, "
                "so no b*)\n", r.budget_bits);
    else if (r.budget_mode == NMDL_BUDGET_LEARNED)
        fprintf(stderr, "  budget learned: coded %.3f bits/weight (%s); no b*, since %s\n",
                r.budget_bits, r.budget_note, no_bstar(r.llc_healthy));
    else /* no b* to start from */
        fprintf(stderr, "  budget %s: chosen %.3f bits/weight (search %.0f s); no b*, "
                "since %s, so the budget started at 1 bit per weight\n",
                modes[r.budget_mode], r.budget_bits, r.search_s, no_bstar(r.llc_healthy));
    char took[48], est[48];
    if (cli_estimated_seconds() > 0)
        fprintf(stderr, "  time: estimated %s beforehand; zstd %.1f s, mix %.1f s, training "
                "%.0f s, llc %.0f s, search %.0f s, fine-tuning %.0f s, coding %.0f s: %s in "
                "all\n", cli_duration(est, sizeof est, cli_estimated_seconds()), r.zstd_s,
                r.mix_s, r.train_s, r.llc_s, r.search_s, r.tune_s, r.code_s,
                cli_duration(took, sizeof took, r.zstd_s + r.mix_s + r.train_s + r.llc_s +
                                                    r.search_s + r.tune_s + r.code_s));
    if (r.n_candidates > 0)
        fprintf(stderr, "  budget candidates: DL = model + the sample loss over %.0f bytes "
                "(all but the first%s)\n", r.priced_bytes,
                r.free_bytes > 0 ? " and those long matches predict" : "");
    for (int i = 0; i < r.n_candidates; i++)
        fprintf(stderr, "    budget %.3f bits/weight%s: model %.0f bytes, sample loss "
                "%.4f bits/byte, DL %.0f bytes\n", r.cand_bits[i],
                r.cand_tuned[i] ? " (tuned)" : "", r.cand_model_bits[i] / 8,
                r.cand_loss_bpb[i], r.cand_dl_bits[i] / 8);
    frames_line(&r);
    unsigned long long calls, bytes;
    cli_team_traffic(&calls, &bytes);
    if (team && team->size > 1)
        fprintf(stderr, "  mpi: %d ranks; rank 0 has received %.1f MB from the others in "
                "%llu gathers\n", team->size, (double)bytes / 1e6, calls);
}

/* The method written, and what the neural attempt came to:
 * "zstd (neural frame 319,171 bytes did not pay)". */
static const char *method_text(const nmdl_cctx *c)
{
    static char text[160];
    char a[32], b[32];
    nmdl_compress_report r;
    nmdl_cctx_report(c, &r);
    const char *name = nmdl_method_name(r.method);
    if (r.method == NMDL_METHOD_NEURAL)
        snprintf(text, sizeof text, "%s (model %s + data %s bytes)", name,
                 cli_thousands(a, r.model_bytes), cli_thousands(b, r.data_bytes));
    else if (r.neural_bytes)
        snprintf(text, sizeof text, "%s (neural frame %s bytes did not pay)", name,
                 cli_thousands(a, r.neural_bytes));
    else if (r.early_stop_step > 0)
        snprintf(text, sizeof text, "%s (neural stopped early: at least %s bytes)", name,
                 cli_thousands(a, (uint64_t)r.probe_bound_bytes));
    else
        snprintf(text, sizeof text, "%s", name);
    return text;
}

static void summary(const job *j, const char *in, const char *out,
                    size_t in_len, const result *r, double secs)
{
    const cli_opts *o = j->o;
    if (o->verbosity < 1)
        return;
    const char *iname = strcmp(in, "-") ? in : "stdin";
    const char *oname = out ? out : (j->test ? "tested" : "stdout");
    if (!j->decompress && in_len)
        fprintf(stderr, "%s : %.2f%% (%zu => %zu bytes, %s), %s", iname,
                100.0 * (double)r->bytes / (double)in_len, in_len, r->bytes, oname,
                method_text(j->cctx));
    else if (!j->decompress)
        fprintf(stderr, "%s : (%zu => %zu bytes, %s), %s", iname, in_len, r->bytes, oname,
                method_text(j->cctx));
    else
        fprintf(stderr, "%s : %zu bytes%s%s", iname, r->bytes,
                j->test ? ", OK" : ", ", j->test ? "" : oname);
    if (o->verbosity >= 2) {
        size_t raw = j->decompress ? r->bytes : in_len;
        if (j->decompress)
            fprintf(stderr, ", %s", r->method);
        fprintf(stderr, ", %.3f s, %.1f kB/s", secs,
                secs > 0 ? (double)raw / secs / 1e3 : 0.0);
    }
    fputc('\n', stderr);
    if (o->verbosity >= 2 && !j->decompress)
        neural_summary(j->cctx, j->o->team);
}

/* The output, complete, under its name. 0 or -1 (printed). */
static int finish(const job *j, const char *in, target *t)
{
    if (t->discard)
        return 0;
    struct stat st;
    int have_st = strcmp(in, "-") && stat(in, &st) == 0 && S_ISREG(st.st_mode);
    int err = cli_out_close(&t->w, have_st ? &st : NULL, j->o->remove_input);
    if (err)
        target_error(t, err);
    return err ? -1 : 0;
}

/* The lead's part before the work: the output's name, a check of it, the
 * input read and (compressing) the estimate. 1 when all went well, 0 after
 * printing why. */
static int prepare(job *j, const char *in, const char *name, char **out,
                   int *to_stdout, uint8_t **src, size_t *n)
{
    *out = output_name(j, in, to_stdout);
    if ((!*out && !*to_stdout && !j->test) || check_target(j, in, *out, *to_stdout))
        return 0;
    int err = cli_read_all(in, src, n);
    if (err)
        cli_error(name, strerror(err));
    return !err && (j->decompress || !cli_estimate(j->cctx, j->o, name, *src, *n));
}

/* Under a team, the lead's input (and when compressing, its effort) to
 * the others. 0, or -1. */
static int share(job *j, const char *name, int *ok, uint8_t **src, size_t *n)
{
    const nmdl_team *team = j->o->team;
    int effort = j->decompress ? 0 : cli_estimated_effort();
    if (!team)
        return 0;
    if (cli_team_input(team, name, ok, &effort, src, n))
        return -1;
    return *ok && effort && nmdl_cctx_set_effort(j->cctx, effort) ? -1 : 0;
}

static int process(job *j, const char *in)
{
    int to_stdout = 0, status = 1, ok = 0;
    const int lead = cli_team_lead(j->o->team);
    const char *name = strcmp(in, "-") ? in : "stdin";
    char *out = NULL;
    uint8_t *src = NULL;
    size_t n = 0;
    if (lead)
        ok = prepare(j, in, name, &out, &to_stdout, &src, &n);
    if (share(j, name, &ok, &src, &n) || !ok)
        goto done;
    /* the ranks but the lead compress along and write nothing */
    target t = {out, j->o->force, j->test || !lead, 0, {0}};
    result r = {0, 0, ""};
    double t0 = now_seconds();
    if (j->decompress ? decode_all(j, name, src, n, &t, &r)
                      : encode(j, name, src, n, &t, &r)) {
        if (t.opened)
            cli_out_abort(&t.w);
        goto done;
    }
    if (finish(j, in, &t))
        goto done;
    summary(j, in, out, n, &r, now_seconds() - t0);
    status = 0;
    /* only once the input's content is safe in a file of its own */
    if (j->o->remove_input && t.opened && t.w.kind == CLI_OUT_NEW &&
        strcmp(in, "-") && unlink(in) < 0) {
        cli_error(in, strerror(errno));
        status = 1;
    }
done:
    free(src);
    free(out);
    return status;
}

static int run_all(job *j)
{
    const cli_opts *o = j->o;
    static const char *stdin_only[] = {"-"};
    const char **inputs = o->n_inputs ? o->inputs : stdin_only;
    int n = o->n_inputs ? o->n_inputs : 1;
    if (o->output && strcmp(o->output, "-") && n > 1) {
        cli_error("-o", "can only be used with a single input file");
        return 1;
    }
    int status = 0;
    for (int i = 0; i < n; i++)
        status |= process(j, inputs[i]);
    return status;
}

const char *cli_pm(double se, char *buf)
{
    if (isfinite(se))
        snprintf(buf, 32, " ± %.3g", se);
    else
        buf[0] = 0;
    return buf;
}

/* The learning-coefficient settings from the options (llc and compress). */
void cli_llc_settings(const cli_opts *o, nmdl_llc_settings *s)
{
    nmdl_llc_settings_default(s);
    s->sampler = o->sampler;
    if (o->start >= 0)
        s->start = o->start;
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
    if (o->has_repairs)
        s->repairs = o->repairs;
    if (o->cool >= 0)
        s->cool = o->cool;
    if (o->batch)
        s->batch = o->batch;
    s->seed = o->seed;
    s->threads = cli_threads(o);
}

int cli_configure(nmdl_cctx *c, const cli_opts *o, cli_bar *bar)
{
    nmdl_model_config cfg = {0};
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
           nmdl_cctx_set_per_row(c, !o->per_tensor) || nmdl_cctx_set_pure(c, o->pure) ||
           nmdl_cctx_set_segments(c, o->segments) ||
           nmdl_cctx_set_tokens(c, o->tokens) ||
           nmdl_cctx_set_fallback(c, !o->no_fallback) ||
           nmdl_cctx_set_early_stop(c, !o->no_early_stop) ||
           nmdl_cctx_set_llc(c, &llc) || nmdl_cctx_set_epsilon(c, o->epsilon) ||
           nmdl_cctx_set_posterior_rows(c, o->posterior_rows) ||
           (o->has_weights && nmdl_cctx_set_weights(c, o->weights)) ||
           (o->budget && !o->bits &&
            nmdl_cctx_set_budget(c, strcmp(o->budget, "bstar") ? NMDL_BUDGET_SEARCH
                                                               : NMDL_BUDGET_BSTAR));
}

int cli_compress(const cli_opts *o)
{
    job j = {o, 0, 0, nmdl_cctx_create(), NULL};
    cli_bar bar;
    int status = 1;
    if (!j.cctx)
        cli_error("nmdl", "cannot create a compression context");
    else if (cli_configure(j.cctx, o, &bar) || nmdl_cctx_set_team(j.cctx, o->team))
        cli_error("nmdl", "invalid compression settings");
    else
        status = run_all(&j);
    nmdl_cctx_free(j.cctx);
    return status;
}

int cli_decompress(const cli_opts *o)
{
    job j = {o, 1, o->command == CLI_TEST, NULL, nmdl_dctx_create()};
    cli_bar bar;
    int status = 1;
    if (!j.dctx)
        cli_error("nmdl", "cannot create a decompression context");
    else if (nmdl_dctx_set_threads(j.dctx, cli_threads(o)))
        cli_error("nmdl", "invalid thread count");
    else if (nmdl_dctx_set_team(j.dctx, o->team))
        cli_error("nmdl", "invalid MPI team");
    else if (o->memory && nmdl_dctx_set_memory(j.dctx, o->memory))
        cli_error("--memory", "must be at least 1M");
    else if (o->max_ratio >= 0 && nmdl_dctx_set_max_ratio(j.dctx, (uint64_t)o->max_ratio))
        cli_error("--max-ratio", "invalid");
    else {
        nmdl_dctx_set_progress(j.dctx, cli_bar_init(&bar, o->verbosity), &bar);
        status = run_all(&j);
    }
    nmdl_dctx_free(j.dctx);
    return status;
}
