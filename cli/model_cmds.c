/*
 * model_cmds.c: `nmdl train`, `nmdl eval` and `nmdl teacher`, the
 * transformer on its own, for people who study the model apart from the
 * codec.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "fileio.h"
#include "json.h"
#include "nmdl.h"
#include "progress.h"

#define CKPT_SUFFIX ".ckpt"
#define TEACHER_STREAMS 1               /* nmdl teacher's default */
#define TEACHER_MAX_BYTES (1ull << 30)  /* the most it samples */

static int make_config(const cli_opts *o, size_t n, nmdl_model_config *c)
{
    const char *name = o->preset ? o->preset : nmdl_model_preset_for_size(n);
    if (nmdl_model_preset(name, c)) {
        cli_error(name, "unknown preset (tiny, mini, small, medium or base)");
        return -1;
    }
    c->tied = !o->untied;
    return 0;
}

static int train_params(const cli_opts *o, nmdl_train_params *p, cli_bar *b)
{
    nmdl_train_params_default(p);
    if (o->steps && o->minutes) {
        cli_error("train", "give --steps or --minutes, not both");
        return -1;
    }
    if (o->minutes)
        p->steps = 0, p->minutes = o->minutes;
    else if (o->steps)
        p->steps = o->steps;
    if (o->batch)
        p->batch = o->batch;
    if (o->lr)
        p->lr = o->lr;
    p->seed = o->seed;
    p->threads = cli_threads(o);
    p->progress = cli_bar_init(b, o->verbosity);
    p->progress_user = b;
    return 0;
}

/* Writes the checkpoint OUT.stepN, for --save-every. */
typedef struct saver {
    const cli_opts *o;
    const char *out;
} saver;

static int save_step(void *user, const nmdl_model *m, long step)
{
    const saver *sv = user;
    char path[4096];
    snprintf(path, sizeof path, "%s.step%ld", sv->out, step);
    return cli_save_model(path, m, sv->o->force);
}

int cli_save_model(const char *out, const nmdl_model *m, int force)
{
    void *buf;
    size_t len;
    int rc = nmdl_model_save(m, &buf, &len), err;
    if (rc) {
        cli_error(out, rc == NMDL_ERR_CORRUPT ? "not written: a weight is not finite (the "
                                                "training diverged)"
                                              : nmdl_strerror(rc));
        return -1;
    }
    err = cli_write_file(out, buf, len, NULL, force, 0);
    nmdl_free(buf);
    if (err)
        cli_error(out, strerror(err));
    return err ? -1 : 0;
}

/* --json: the training run's record (docs/JSON.md). */
static void print_train_json(const cli_opts *o, const char *in, const char *out,
                             size_t n, const nmdl_model *m, const nmdl_train_report *r)
{
    cli_jw w;
    cli_jw_model(&w, "train", out, in, n, m);
    cli_jw_uint(&w, "seed", o->seed);
    cli_jw_int(&w, "steps", r->steps);
    cli_jw_num(&w, "trained_bytes", r->tokens);
    cli_jw_num(&w, "train_s", r->seconds);
    cli_jw_num(&w, "loss_train_bpb", r->loss_bpb);
    cli_jw_end(&w);
}

int cli_train(const cli_opts *o)
{
    if (o->n_inputs != 1) {
        cli_error("train", "needs exactly one CORPUS");
        return 1;
    }
    const char *in = o->inputs[0];
    char *out = o->output ? strdup(o->output) : malloc(strlen(in) + sizeof CKPT_SUFFIX);
    if (!o->output && out)
        sprintf(out, "%s%s", in, CKPT_SUFFIX);
    uint8_t *data = NULL;
    size_t n = 0;
    nmdl_model *m = NULL;
    nmdl_model_config c = {0};
    nmdl_train_params p;
    nmdl_train_report r;
    cli_bar b;
    int status = 1, err, rc;
    if (!out || make_config(o, 0, &c) || train_params(o, &p, &b))
        goto done;
    if ((err = cli_out_check(out, o->force))) { /* before the training, not after */
        cli_error(out, cli_out_strerror(err));
        goto done;
    }
    if ((err = cli_read_all(in, &data, &n))) {
        cli_error(in, strerror(err));
        goto done;
    }
    if (make_config(o, n, &c))
        goto done;
    if (n <= (size_t)c.ctx) {
        fprintf(stderr, "nmdl: %s: corpus of %zu bytes is not longer than the "
                "context of %d bytes\n", in, n, c.ctx);
        goto done;
    }
    saver sv = {o, out};
    if (o->save_every) {
        p.checkpoint = save_step;
        p.checkpoint_user = &sv;
        p.checkpoint_every = o->save_every;
    }
    if ((rc = nmdl_model_create(&c, o->seed, &m)) ||
        (rc = nmdl_model_train(m, data, n, &p, &r))) {
        cli_error(in, nmdl_strerror(rc));
        goto done;
    }
    if (cli_save_model(out, m, o->force))
        goto done;
    if (o->json)
        print_train_json(o, in, out, n, m, &r);
    else if (o->verbosity >= 1)
        fprintf(stderr, "%s: %zu parameters (%d layers, d_model %d), %ld steps, "
                "%.0f s, training loss %.4f bits/byte -> %s\n", in,
                nmdl_model_n_params(m), c.n_layer, c.d_model, r.steps,
                r.seconds, r.loss_bpb, out);
    status = 0;
done:
    nmdl_model_free(m);
    free(data);
    free(out);
    return status;
}

/* The checkpoint at path into *m; prints its own errors (-1). */
int cli_load_checkpoint(const char *path, nmdl_model **m)
{
    uint8_t *buf;
    size_t len;
    int err = cli_read_all(path, &buf, &len), rc;
    if (err) {
        cli_error(path, strerror(err));
        return -1;
    }
    rc = nmdl_model_load(buf, len, m);
    free(buf);
    if (rc)
        cli_error(path, rc == NMDL_ERR_NOT_NMDL ? "not an nmdl checkpoint" : nmdl_strerror(rc));
    return rc ? -1 : 0;
}

int cli_load_model(const char *model, const char *corpus, nmdl_model **m,
                   uint8_t **data, size_t *n)
{
    int err;
    if (cli_load_checkpoint(model, m))
        return -1;
    if ((err = cli_read_all(corpus, data, n))) {
        cli_error(corpus, strerror(err));
        nmdl_model_free(*m);
        *m = NULL;
        return -1;
    }
    return 0;
}

int cli_eval(const cli_opts *o)
{
    if (o->n_inputs != 2) {
        cli_error("eval", "needs a MODEL and a CORPUS");
        return 1;
    }
    const char *model = o->inputs[0], *corpus = o->inputs[1];
    uint8_t *data;
    size_t n;
    nmdl_model *m;
    int status = 1, rc;
    double bpb;
    if (cli_load_model(model, corpus, &m, &data, &n))
        return 1;
    if (n < 2) {
        cli_error(corpus, "needs at least 2 bytes");
    } else if ((rc = nmdl_model_eval(m, data, n, cli_threads(o), &bpb))) {
        cli_error(corpus, nmdl_strerror(rc));
    } else if (!isfinite(bpb)) {
        cli_error(model, "the model's loss is not finite");
    } else {
        if (o->json) {
            cli_jw w;
            cli_jw_model(&w, "eval", model, corpus, n, m);
            cli_jw_num(&w, "loss_float_bpb", bpb);
            cli_jw_end(&w);
        } else {
            printf("%s: %.4f bits/byte under %s (%zu bytes, %zu parameters)\n",
                   corpus, bpb, model, n, nmdl_model_n_params(m));
        }
        status = 0;
    }
    nmdl_model_free(m);
    free(data);
    return status;
}

/* The teacher's model: MODEL loaded, or a fresh one of --preset and
 * --seed. Prints its own errors; NULL on failure. */
static nmdl_model *teacher_model(const cli_opts *o)
{
    nmdl_model *m = NULL;
    nmdl_model_config c = {0};
    int rc;
    if (o->n_inputs > 1 || (o->n_inputs == 1) == (o->preset != NULL)) {
        cli_error("teacher", "needs a MODEL or, for a fresh random one, --preset");
        return NULL;
    }
    if (o->preset) {
        if (make_config(o, 0, &c))
            return NULL;
        if ((rc = nmdl_model_create(&c, o->seed, &m)))
            cli_error(o->preset, nmdl_strerror(rc));
        return m;
    }
    return cli_load_checkpoint(o->inputs[0], &m) ? NULL : m;
}

/* The sample to -o's file, or with "-o -" to standard output. 0 or an
 * errno value; nothing is left under the name on failure. */
static int write_sample(const cli_opts *o, const uint8_t *data, size_t n)
{
    cli_out w;
    int err = cli_out_open(&w, strcmp(o->output, "-") ? o->output : NULL, o->force);
    if (!err && (err = cli_out_write(&w, data, n)))
        cli_out_abort(&w);
    else if (!err)
        err = cli_out_close(&w, NULL, 0);
    return err;
}

/* The sample's entropy and each prefix's (bits: one length per byte). */
static void teacher_report(const cli_opts *o, uint64_t n, double total, const float *bits,
                           const uint64_t *sizes, int k)
{
    FILE *f = strcmp(o->output, "-") ? stdout : stderr;
    const int streams = o->streams ? o->streams : TEACHER_STREAMS;
    fprintf(f, "%s: %llu bytes sampled from %s at temperature %g (%d stream%s, seed %llu): "
            "entropy %.1f bits, %.4f bits/byte\n", o->output, (unsigned long long)n,
            o->preset ? o->preset : o->inputs[0], o->temperature > 0 ? o->temperature : 1.0,
            streams, streams > 1 ? "s" : "", (unsigned long long)o->seed, total,
            total / (double)n);
    for (int i = 0; i < k; i++) {
        double sum = 0;
        for (uint64_t j = 0; j < sizes[i]; j++)
            sum += bits[j];
        fprintf(f, "  first %llu bytes: %.1f bits, %.4f bits/byte\n",
                (unsigned long long)sizes[i], sum, sum / (double)sizes[i]);
    }
}

/* `nmdl teacher [MODEL] -o OUT --bytes N [--temperature T] [--streams S]
 * [--sizes LIST]`: N bytes sampled from MODEL (or a fresh model of --preset
 * and --seed) with their exact code length under it, and each listed
 * prefix's. Checks everything before any work. */
int cli_teacher(const cli_opts *o)
{
    uint64_t n = o->bytes ? cli_size(o->bytes) : 0, sizes[CLI_MAX_SIZES];
    int k = 0, err, rc, status = 1;
    if (!o->output || !o->bytes) {
        cli_error("teacher", "needs -o OUT and --bytes N (e.g. 1M)");
        return 1;
    }
    if (!n || n > TEACHER_MAX_BYTES) {
        cli_error(o->bytes, "--bytes needs a size from 1 to 1024M (suffixes K, M)");
        return 1;
    }
    if (o->sizes && cli_sizes("teacher", o->sizes, n, "sample", sizes, &k))
        return 1;
    if (!strcmp(o->output, "-") && !o->force && isatty(STDOUT_FILENO)) {
        cli_error("stdout", "is a terminal; refusing to write the sample to it (use -f to force)");
        return 1;
    }
    if (strcmp(o->output, "-") && (err = cli_out_check(o->output, o->force))) {
        cli_error(o->output, cli_out_strerror(err));
        return 1;
    }
    nmdl_model *m = teacher_model(o);
    uint8_t *data = m ? malloc(n) : NULL;
    float *bits = data && k ? malloc(n * sizeof *bits) : NULL;
    double total;
    if (m && (!data || (k && !bits)))
        cli_error("teacher", strerror(ENOMEM));
    else if (m && (rc = nmdl_teacher_sample(m, o->temperature > 0 ? o->temperature : 1.0,
                                            o->streams ? o->streams : TEACHER_STREAMS,
                                            o->seed, n, data, bits, &total)))
        cli_error("teacher", nmdl_strerror(rc));
    else if (m && (err = write_sample(o, data, n)))
        cli_error(o->output, cli_out_strerror(err));
    else if (m) {
        if (o->verbosity >= 1)
            teacher_report(o, n, total, bits, sizes, k);
        status = 0;
    }
    nmdl_model_free(m);
    free(data);
    free(bits);
    return status;
}
