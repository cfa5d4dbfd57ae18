/*
 * info.c: `nmdl info`, where every byte of a container goes. The text form
 * is for people; --json prints one record per file, one per line, in the
 * vocabulary of docs/JSON.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fileio.h"
#include "json.h"
#include "nmdl.h"

/* Bits per original byte of a part of `bytes` bytes; NaN when there is no
 * original byte (null in JSON). */
static double per_byte(const nmdl_info *i, uint64_t bytes)
{
    return i->original_bytes ? 8.0 * (double)bytes / (double)i->original_bytes : NAN;
}

/* A neural frame's model part, tensor by tensor (NULL with *n 0 when
 * the frame is not neural or its model part cannot be read). */
typedef struct tensors {
    nmdl_tensor_info t[NMDL_TENSORS_MAX];
    int n;
    double rexp_bits; /* the rows' step exponents */
} tensors;

static void tensors_read(const uint8_t *buf, size_t len, const nmdl_info *i, tensors *ts)
{
    ts->n = 0;
    ts->rexp_bits = NAN;
    if (i->method != NMDL_METHOD_NEURAL ||
        nmdl_info_tensors(buf, len, ts->t, NMDL_TENSORS_MAX, &ts->n, &ts->rexp_bits))
        ts->n = 0;
}

static void json_tensors(cli_jw *w, const tensors *ts)
{
    if (!ts->n) {
        cli_jw_null(w, "tensors");
        return;
    }
    cli_jw_array(w, "tensors");
    for (int k = 0; k < ts->n; k++) {
        const nmdl_tensor_info *t = &ts->t[k];
        cli_jw_object(w, NULL);
        cli_jw_str(w, "name", t->name);
        cli_jw_uint(w, "n_params", t->n_params);
        cli_jw_uint(w, "zero_params", t->zeros);
        cli_jw_num(w, "model_bits", t->bits);
        cli_jw_num(w, "model_bpw", t->bits / (double)t->n_params);
        if (t->centroids)
            cli_jw_int(w, "centroids", t->centroids);
        else
            cli_jw_null(w, "centroids");
        cli_jw_close(w, '}');
    }
    cli_jw_close(w, ']');
}

/* Where a frame lies in its file: the k-th (from 1), at byte `at`. */
typedef struct frame_pos {
    int k;
    size_t at;
} frame_pos;

/* The keys of docs/JSON.md for `info`, every one on every frame. */
static void print_json(const char *name, const frame_pos *pos, const nmdl_info *i,
                       const tensors *ts)
{
    static const char *const modes[] = {"fixed", "bstar", "search", "learned"};
    int neural = i->method == NMDL_METHOD_NEURAL, rep = i->has_report;
    int coded = neural || i->method == NMDL_METHOD_MIX; /* by the data part's code */
    cli_jw w;
    cli_jw_begin(&w, stdout, "info");
    cli_jw_name(&w, "file", name);
    cli_jw_int(&w, "frame", pos->k);
    cli_jw_uint(&w, "frame_offset", pos->at);
    cli_jw_int(&w, "format_version", i->version);
    cli_jw_str(&w, "method", nmdl_method_name(i->method));
    cli_jw_uint(&w, "input_bytes", i->original_bytes);
    cli_jw_uint(&w, "file_bytes", i->file_bytes);
    cli_jw_uint(&w, "header_bytes", i->header_bytes);
    cli_jw_uint_if(&w, "report_bytes", rep, i->report_bytes);
    cli_jw_uint(&w, "model_bytes", i->model_bytes);
    cli_jw_uint(&w, "data_bytes", i->data_bytes);
    cli_jw_uint(&w, "checksum_bytes", i->checksum_bytes);
    cli_jw_num(&w, "file_bpb", per_byte(i, i->file_bytes));
    cli_jw_num(&w, "model_bpb", per_byte(i, i->model_bytes));
    cli_jw_num(&w, "data_bpb", per_byte(i, i->data_bytes));
    cli_jw_str(&w, "alternative_method",
               i->has_alternative ? nmdl_method_name(i->alternative_method) : NULL);
    cli_jw_uint_if(&w, "alternative_bytes", i->has_alternative, i->alternative_bytes);
    cli_jw_uint_if(&w, "n_params", neural, i->n_params);
    cli_jw_num(&w, "model_bpw", neural ? 8.0 * (double)i->model_bytes / (double)i->n_params : NAN);
    cli_jw_uint_if(&w, "segments", coded, (uint64_t)i->segments);
    cli_jw_bool(&w, "match_model", coded ? i->match != 0 : -1);
    cli_jw_bool(&w, "context_mixing", coded ? i->match >= 2 : -1);
    cli_jw_uint_if(&w, "data_code_revision", coded && i->match,
                   i->match >= 3 ? (unsigned)i->match - 1u : 1u);
    cli_jw_uint_if(&w, "merges", neural, (uint64_t)i->merges);
    cli_jw_uint_if(&w, "symbols", neural, i->symbols);
    cli_jw_uint_if(&w, "symbols_occurring", neural, (uint64_t)i->symbols_occurring);
    cli_jw_str(&w, "quantization", !neural ? NULL : i->per_row ? "per-row" : "per-tensor");
    cli_jw_architecture(&w, neural ? &i->model : NULL);
    cli_jw_uint_if(&w, "effort", rep && i->effort, (uint64_t)i->effort);
    cli_jw_str(&w, "weights", rep && i->weights >= 0 ? nmdl_weights_name(i->weights) : NULL);
    cli_jw_num(&w, "row_exponent_bits", ts->rexp_bits);
    json_tensors(&w, ts);
    cli_jw_str(&w, "budget", rep ? modes[i->budget_mode] : NULL);
    cli_jw_num(&w, "budget_bpw", rep ? i->budget_bits : NAN);
    cli_jw_num(&w, "budget_ratio", rep ? i->budget_bits / i->b_star : NAN);
    cli_jw_num(&w, "llc", rep ? i->llc : NAN);
    cli_jw_num(&w, "llc_se", rep ? i->llc_se : NAN);
    cli_jw_num(&w, "nbeta", rep ? i->nbeta : NAN);
    cli_jw_num(&w, "llc_step", rep ? i->llc_step : NAN);
    cli_jw_num(&w, "llc_cool_steps", rep ? i->llc_cool_steps : NAN);
    cli_jw_num(&w, "mala", rep ? i->mala : NAN);
    const int set = rep && isfinite(i->llc_chains); /* report version 5 */
    cli_jw_num(&w, "gamma", set ? i->llc_gamma : NAN);
    cli_jw_uint_if(&w, "chains", set, set ? (uint64_t)i->llc_chains : 0);
    cli_jw_uint_if(&w, "burnin", set, set ? (uint64_t)i->llc_burnin : 0);
    cli_jw_uint_if(&w, "draws", set, set ? (uint64_t)i->llc_draws : 0);
    cli_jw_bool(&w, "healthy", set ? (int)i->llc_healthy : -1);
    cli_jw_str(&w, "start", !set || isnan(i->llc_start) ? NULL
                            : i->llc_start == NMDL_LLC_START_MIXED ? "mixed" : "cold");
    cli_jw_num(&w, "epsilon", rep ? i->epsilon : NAN);
    cli_jw_num(&w, "b_star_bpw", rep ? i->b_star : NAN);
    cli_jw_num(&w, "predicted_model_bits", rep ? i->llc * log2(1.0 / i->epsilon) : NAN);
    cli_jw_num(&w, "loss_float_bpb", rep ? i->loss_float_bpb : NAN);
    cli_jw_end(&w);
}

/* The encoder's λ̂ with its settings (those besides nβ and the step from
 * report version 5 on) and health. */
static void print_llc(const nmdl_info *i)
{
    char pm[32];
    printf("  %-14s llc %.4g%s (nbeta %.4g, step %.3g", "measured", i->llc,
           cli_pm(i->llc_se, pm), i->nbeta, i->llc_step);
    if (isfinite(i->llc_chains))
        printf(", gamma %.4g, %.0f chains x (%.0f burn-in + %.0f draws)%s", i->llc_gamma,
               i->llc_chains, i->llc_burnin, i->llc_draws,
               i->llc_start == NMDL_LLC_START_MIXED ? ", mixed starts" : "");
    printf(", MALA %.2f)%s%s\n", i->mala,
           i->llc_healthy == 0 ? ", unhealthy" : i->llc_healthy == 1 ? ", healthy" : "",
           i->llc_cool_steps > 0 ? ", of a cooled copy: the trained weights are no minimum"
                                 : "");
}

static void print_part(const char *what, uint64_t bytes, uint64_t original)
{
    printf("  %-14s %14llu bytes", what, (unsigned long long)bytes);
    if (original)
        printf("  %8.4f bits/byte", 8.0 * (double)bytes / (double)original);
    putchar('\n');
}

/* One line per tensor: parameters, bits per weight, zero levels, and the
 * codebook's size where it has one. */
static void text_tensors(const tensors *ts)
{
    if (!ts->n)
        return;
    printf("  %-14s %-10s %9s %10s %8s\n", "tensors", "", "params", "bits/weight", "zeros");
    for (int k = 0; k < ts->n; k++) {
        const nmdl_tensor_info *t = &ts->t[k];
        printf("  %-14s %-10s %9llu %10.3f %7.1f%%", "", t->name,
               (unsigned long long)t->n_params, t->bits / (double)t->n_params,
               100.0 * (double)t->zeros / (double)t->n_params);
        if (t->centroids)
            printf("  %d centroids", t->centroids);
        putchar('\n');
    }
    if (isfinite(ts->rexp_bits))
        printf("  %-14s %-10s %9s %10.0f bits in all\n", "", "row steps", "", ts->rexp_bits);
}

static void print_text(const char *name, const frame_pos *pos, const nmdl_info *i,
                       const tensors *ts)
{
    if (pos->k == 1)
        printf("%s\n", name);
    else
        printf("%s, frame %d at byte %zu\n", name, pos->k, pos->at);
    printf("  %-14s %s (format version %u)\n", "method",
           nmdl_method_name(i->method), i->version);
    printf("  %-14s %14llu bytes\n", "original",
           (unsigned long long)i->original_bytes);
    print_part("file", i->file_bytes, i->original_bytes);
    print_part("  header", i->header_bytes, i->original_bytes);
    print_part("  model part", i->model_bytes, i->original_bytes);
    print_part("  data part", i->data_bytes, i->original_bytes);
    print_part("  checksums", i->checksum_bytes, i->original_bytes);
    if (i->method == NMDL_METHOD_NEURAL) {
        const nmdl_model_config *c = &i->model;
        printf("  %-14s %d layers, d_model %d, %d heads, d_ff %d, ctx %d%s\n",
               "model", c->n_layer, c->d_model, c->n_head, c->d_ff, c->ctx,
               c->tied ? ", tied" : "");
        printf("  %-14s %llu parameters, %.3f bits/weight (%s steps)\n", "",
               (unsigned long long)i->n_params,
               8.0 * (double)i->model_bytes / (double)i->n_params,
               i->per_row ? "per-row" : "per-tensor");
        printf("  %-14s %d\n", "segments", i->segments);
        if (i->match >= 3) /* the revision byte's */
            printf("  %-14s transformer, match model and context mixing, revision %d\n",
                   "data code", i->match - 1);
        else
            printf("  %-14s %s\n", "data code",
                   i->match == 2   ? "transformer, match model and context mixing"
                   : i->match == 1 ? "transformer and match model"
                                   : "transformer alone (--pure)");
        if (i->symbols_occurring < 256)
            printf("  %-14s %d of 256 occur (the others' rows are not coded)\n", "symbols",
                   i->symbols_occurring);
        if (i->merges)
            printf("  %-14s %d byte pairs merged: %llu symbols, %.3f a byte\n", "tokens",
                   i->merges, (unsigned long long)i->symbols,
                   (double)i->symbols / (double)i->original_bytes);
    }
    if (i->method == NMDL_METHOD_MIX)
        printf("  %-14s match model and context mixing, revision %d, without a model "
               "(uniform in its place)\n", "data code", i->match - 1);
    if (i->has_report) {
        static const char *const modes[] = {"fixed", "bstar", "search", "learned"};
        if (i->effort) /* older frames did not record it */
            printf("  %-14s %d (-%d with the same options writes this file again)\n",
                   "effort", i->effort, i->effort);
        if (i->weights >= 0)
            printf("  %-14s %s\n", "weights", nmdl_weights_name(i->weights));
        if (isfinite(i->llc))
            print_llc(i);
        if (isfinite(i->b_star))
            printf("  %-14s epsilon %.3g nats/%s, b* %.4f bits/weight, predicted "
                   "model %.0f bytes\n", "", i->epsilon, i->merges ? "symbol" : "byte", i->b_star,
                   i->llc * log2(1.0 / i->epsilon) / 8);
        else if (i->budget_mode != NMDL_BUDGET_FIXED &&
                 (isfinite(i->llc) || isfinite(i->llc_chains)))
            printf("  %-14s no b*: the sampler was not healthy or gave no tolerance\n", "");
        else if (i->budget_mode != NMDL_BUDGET_FIXED)
            printf("  %-14s no b*: no LLC was estimated at this size and effort "
                   "(nmdl llc does)\n", "");
        printf("  %-14s budget %s", "", modes[i->budget_mode]);
        if (isfinite(i->budget_bits))
            printf(": %.3f bits/weight", i->budget_bits);
        if (isfinite(i->b_star) && isfinite(i->budget_bits))
            printf(" (%.1f x b*)", i->budget_bits / i->b_star);
        if (isfinite(i->loss_float_bpb))
            printf(", float loss %.4f bits/byte", i->loss_float_bpb);
        putchar('\n');
    }
    text_tensors(ts);
    if (i->has_alternative)
        printf("  %-14s %s would have taken %llu bytes\n", "not used",
               nmdl_method_name(i->alternative_method),
               (unsigned long long)i->alternative_bytes);
}

/* Every frame of the file in turn: one record (or block) each. */
static int info_one(const cli_opts *o, const char *path)
{
    const char *name = strcmp(path, "-") ? path : "stdin";
    uint8_t *buf;
    size_t n, at = 0;
    int err = cli_read_all(path, &buf, &n);
    if (err) {
        cli_error(name, strerror(err));
        return 1;
    }
    int rc = NMDL_OK;
    for (int k = 0; !rc && (at < n || k == 0); k++) {
        nmdl_info info;
        tensors ts;
        size_t len = 0;
        if ((rc = cli_next_frame(buf + at, n - at, &info, &len))) {
            cli_frame_error(name, k, at, rc, "");
            break;
        }
        tensors_read(buf + at, len, &info, &ts);
        frame_pos pos = {k + 1, at};
        if (o->json)
            print_json(name, &pos, &info, &ts);
        else
            print_text(name, &pos, &info, &ts);
        at += len;
    }
    free(buf);
    return rc ? 1 : 0;
}

int cli_info(const cli_opts *o)
{
    if (o->n_inputs == 0) {
        cli_error("info", "needs at least one FILE");
        return 1;
    }
    int status = 0;
    for (int i = 0; i < o->n_inputs; i++)
        status |= info_one(o, o->inputs[i]);
    if (fflush(stdout) != 0) {
        cli_error("stdout", "write error");
        status = 1;
    }
    return status;
}
