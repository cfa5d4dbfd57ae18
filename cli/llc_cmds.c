/*
 * llc_cmds.c: `nmdl llc MODEL CORPUS`, the learning-coefficient estimator
 * on its own: the step-size sweep, the estimate with its settings beside
 * it, the health of the chains, and their loss traces as CSV and SVG.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fileio.h"
#include "json.h"
#include "nmdl.h"
#include "svg.h"

/* Stores the document `write` builds at path; prints its own errors. */
static int save_doc(const cli_opts *o, const char *path,
                    int (*write)(FILE *, const nmdl_llc_report *, const char *),
                    const nmdl_llc_report *r, const char *title)
{
    cli_doc d;
    int err = cli_doc_open(&d);
    if (!err) {
        int failed = write(d.f, r, title);
        err = cli_doc_save(&d, path, o->force);
        err = err ? err : failed ? ENOMEM : 0;
    }
    if (err)
        cli_error(path, strerror(err));
    return err ? -1 : 0;
}

static int write_csv(FILE *f, const nmdl_llc_report *r, const char *title)
{
    (void)title;
    fprintf(f, "chain,step,phase,loss_bits_per_byte\n");
    for (int k = 0; k < r->chains; k++)
        for (int s = 0; s < r->steps; s++)
            fprintf(f, "%d,%d,%s,%.6f\n", k, s, s < r->burnin ? "burnin" : "draw",
                    r->trace[(size_t)k * r->steps + s]);
    return ferror(f) ? -1 : 0;
}

static int write_svg(FILE *f, const nmdl_llc_report *r, const char *title)
{
    double *x = malloc((size_t)r->steps * sizeof *x);
    cli_svg_series *series = calloc((size_t)r->chains, sizeof *series);
    char (*labels)[32] = calloc((size_t)r->chains, sizeof *labels);
    if (!x || !series || !labels) {
        free(x), free(series), free(labels);
        return -1;
    }
    for (int s = 0; s < r->steps; s++)
        x[s] = s;
    for (int k = 0; k < r->chains; k++) {
        snprintf(labels[k], sizeof labels[k], "chain %d", k);
        series[k] = (cli_svg_series){.label = labels[k], .x = x,
                                     .y = r->trace + (size_t)k * r->steps, .n = r->steps};
    }
    const double hline = r->init_loss_bpb;
    const char *hlabel = "L(w*)";
    cli_svg_plot p = {.title = title, .xlabel = "SGLD step (burn-in first)",
                      .ylabel = "minibatch loss (bits/byte)", .series = series,
                      .n_series = r->chains, .hlines = &hline, .hline_labels = &hlabel,
                      .n_hlines = 1};
    int rc = cli_svg_write(f, &p);
    free(x), free(series), free(labels);
    return rc;
}

/* The cold descent, when one ran. */
static void print_cool(const nmdl_llc_report *r)
{
    if (!r->cool_steps)
        return;
    printf("w* is no minimum (the sweep's chains settled below L(w*): llc %.4g at step "
           "%.3g);\ncooled a copy: %ld steps at a rate falling from %.3g to %.3g, loss %.4f -> "
           "%.4f bits/byte on the sample, moved %.3g of its RMS\n",
           r->cool_llc, r->cool_llc_step, r->cool_steps, r->cool_lr, r->cool_lr_final,
           r->cool_from_bpb, r->cool_to_bpb, r->cool_shift);
}

static void print_sweep(const nmdl_llc_report *r)
{
    print_cool(r);
    if (r->sweep_n == 0)
        return;
    printf("step-size sweep (%s):\n",
           r->sweep_below ? "stopped where the chains settle below L(w*) at MALA >= 0.95"
           : r->sweep_chosen < 0 ? "none usable"
           : "from 0.021/nbeta down, the first with MALA >= 0.95, healthy or "
             "only still moving, chosen");
    for (int i = 0; i < r->sweep_n; i++)
        printf("  step %-9.3g llc %-10.4g MALA %.2f %s%s\n", r->sweep_step[i],
               r->sweep_llc[i], r->sweep_mala[i], r->sweep_healthy[i] ? "" : "unhealthy",
               r->sweep_below && i == r->sweep_n - 1 ? " <- below L(w*), estimated here"
               : i != r->sweep_chosen                ? ""
               : r->sweep_healthy[i]                 ? "<- chosen"
                                                     : " <- chosen (repairs follow)");
}

/* The cold descent as an object, null when none ran. */
static void json_cool(cli_jw *w, const nmdl_llc_report *r)
{
    if (!cli_jw_object_if(w, "cool", r->cool_steps != 0))
        return;
    cli_jw_int(w, "steps", (int)r->cool_steps);
    cli_jw_num(w, "lr", r->cool_lr);
    cli_jw_num(w, "lr_final", r->cool_lr_final);
    cli_jw_num(w, "below_llc", r->cool_llc);
    cli_jw_num(w, "below_llc_step", r->cool_llc_step);
    cli_jw_num(w, "loss_before_bpb", r->cool_from_bpb);
    cli_jw_num(w, "loss_after_bpb", r->cool_to_bpb);
    cli_jw_num(w, "shift", r->cool_shift);
    cli_jw_close(w, '}');
}

/* The estimate's health: "healthy", "warning" and "repairs" (null when
 * none), and the cold descent. */
static void json_health(cli_jw *w, const nmdl_llc_report *r)
{
    cli_jw_bool(w, "healthy", r->healthy != 0);
    cli_jw_str(w, "warning", r->warning[0] ? r->warning : NULL);
    cli_jw_str(w, "repairs", r->repairs[0] ? r->repairs : NULL);
    json_cool(w, r);
}

/* The step-size sweep as an array of objects, null when none ran. */
static void json_sweep(cli_jw *w, const nmdl_llc_report *r)
{
    if (r->sweep_n == 0) {
        cli_jw_null(w, "step_sweep");
        return;
    }
    cli_jw_array(w, "step_sweep");
    for (int i = 0; i < r->sweep_n; i++) {
        cli_jw_object(w, NULL);
        cli_jw_num(w, "llc_step", r->sweep_step[i]);
        cli_jw_num(w, "llc", r->sweep_llc[i]);
        cli_jw_num(w, "mala", r->sweep_mala[i]);
        cli_jw_bool(w, "healthy", r->sweep_healthy[i] != 0);
        cli_jw_bool(w, "chosen", i == r->sweep_chosen);
        cli_jw_bool(w, "below", r->sweep_below && i == r->sweep_n - 1);
        cli_jw_close(w, '}');
    }
    cli_jw_close(w, ']');
}

/* λ̂, its settings and its health, as llc and compressibility record them. */
static void json_estimate(cli_jw *w, const cli_opts *o, const nmdl_llc_report *r)
{
    cli_jw_num(w, "llc", r->llc);
    cli_jw_num(w, "llc_se", r->llc_se);
    cli_jw_num(w, "nbeta", r->nbeta);
    cli_jw_num(w, "llc_step", r->step);
    cli_jw_num(w, "gamma", r->gamma);
    cli_jw_str(w, "sampler", o->sampler ? "psgld" : "sgld");
    cli_jw_str(w, "start", r->start == NMDL_LLC_START_MIXED ? "mixed" : "cold");
    cli_jw_num(w, "llc_cold", r->llc_cold);
    cli_jw_num(w, "llc_warm", r->llc_warm);
    cli_jw_int(w, "chains", r->chains);
    cli_jw_int(w, "burnin", r->burnin);
    cli_jw_int(w, "draws", r->steps - r->burnin);
    cli_jw_int(w, "batch", r->batch);
    cli_jw_uint(w, "seed", o->seed);
    cli_jw_num(w, "mala", r->mala);
    json_health(w, r);
}

/* --json: the estimate's record (docs/JSON.md). */
static void print_json(const cli_opts *o, size_t n, const nmdl_model *m,
                       const nmdl_llc_report *r)
{
    cli_jw w;
    cli_jw_model(&w, "llc", o->inputs[0], o->inputs[1], n, m);
    json_estimate(&w, o, r);
    cli_jw_num(&w, "loss_float_bpb", r->init_loss_bpb);
    json_sweep(&w, r);
    cli_jw_end(&w);
}

/* The estimate's settings, one line. */
static void print_settings(const nmdl_llc_report *r, const cli_opts *o)
{
    printf("  %s, step %.3g, nbeta %.4g, gamma %.4g, %d chains x (%d burn-in + %d "
           "draws), %s starts, batch %d x ctx, seed %llu\n", o->sampler ? "pSGLD" : "SGLD",
           r->step, r->nbeta, r->gamma, r->chains, r->burnin, r->steps - r->burnin,
           r->start == NMDL_LLC_START_MIXED ? "mixed" : "cold", r->batch,
           (unsigned long long)o->seed);
}

static void print_report(const char *corpus, const nmdl_llc_report *r,
                         const cli_opts *o, size_t d)
{
    print_sweep(r);
    char pm[32];
    printf("%s: llc %.4g%s (%zu parameters; d/2 = %.4g)\n", corpus, r->llc,
           cli_pm(r->llc_se, pm), d, d / 2.0);
    if (r->start == NMDL_LLC_START_MIXED)
        printf("  the mean of the chains from w* (%.4g) and from the warm start (%.4g)\n",
               r->llc_cold, r->llc_warm);
    print_settings(r, o);
    printf("  L(w*) %.4f bits/byte, MALA acceptance %.2f, %s%s\n", r->init_loss_bpb,
           r->mala, r->healthy ? "healthy" : "UNHEALTHY: ", r->warning);
    if (r->repairs[0])
        printf("  repaired: %s\n", r->repairs);
}

/* What llc and compressibility begin with: MODEL and CORPUS loaded and λ̂
 * estimated. Prints its own errors; on failure nothing is left to free. */
static int load_and_estimate(const cli_opts *o, const char *cmd, nmdl_model **m,
                             uint8_t **data, size_t *n, nmdl_llc_report *r)
{
    if (o->n_inputs != 2) {
        cli_error(cmd, "needs a MODEL and a CORPUS");
        return -1;
    }
    if (cli_load_model(o->inputs[0], o->inputs[1], m, data, n))
        return -1;
    nmdl_model_config c = {0};
    nmdl_model_get_config(*m, &c);
    if (*n <= (size_t)c.ctx) {
        fprintf(stderr, "nmdl: %s: corpus of %zu bytes is not longer than the "
                "model's context of %d bytes\n", o->inputs[1], *n, c.ctx);
        nmdl_model_free(*m);
        free(*data);
        return -1;
    }
    nmdl_llc_settings s;
    cli_llc_settings(o, &s);
    int rc = nmdl_model_llc(*m, *data, *n, &s, r);
    if (rc) {
        cli_error(o->inputs[1], nmdl_strerror(rc));
        nmdl_model_free(*m);
        free(*data);
        return -1;
    }
    return 0;
}

/* An unhealthy estimate's warning on stderr too, where scripts see it. */
static void warn_unhealthy(const cli_opts *o, const nmdl_llc_report *r)
{
    if (!r->healthy)
        fprintf(stderr, "nmdl: %s: warning: %s\n", o->inputs[1], r->warning);
}

int cli_llc(const cli_opts *o)
{
    nmdl_model *m;
    uint8_t *data;
    size_t n;
    nmdl_llc_report r;
    if (load_and_estimate(o, "llc", &m, &data, &n, &r))
        return 1;
    if (o->json)
        print_json(o, n, m, &r);
    else
        print_report(o->inputs[1], &r, o, nmdl_model_n_params(m));
    int status = (o->csv && save_doc(o, o->csv, write_csv, &r, NULL)) ||
                 (o->svg && save_doc(o, o->svg, write_svg, &r,
                                      r.cool_steps ? "SGLD loss traces around a cooled copy "
                                                     "of the weights"
                                                   : "SGLD loss traces"));
    warn_unhealthy(o, &r);
    nmdl_llc_report_free(&r);
    nmdl_model_free(m);
    free(data);
    return status;
}

/* `nmdl compressibility MODEL CORPUS [--epsilon E]`: the critical levels,
 * SVD fraction, noise and pruning beside λ̂ (whose λ̂/n is the default tolerance). */
int cli_compressibility(const cli_opts *o)
{
    nmdl_model *m;
    uint8_t *data;
    size_t n;
    nmdl_llc_report r;
    nmdl_compressibility c;
    if (load_and_estimate(o, "compressibility", &m, &data, &n, &r))
        return 1;
    int rc = NMDL_OK, status = 1;
    double eps = o->epsilon > 0 ? o->epsilon : r.llc / (double)(n - 1);
    if (!(eps > 0 && eps < 1)) {
        cli_error(o->inputs[1], "the estimated llc gives no tolerance; pass --epsilon");
        rc = -1;
    }
    if (!rc && (rc = nmdl_model_compressibility(m, data, n, eps, cli_threads(o), &c)))
        cli_error(o->inputs[1], nmdl_strerror(rc));
    if (!rc && o->json) {
        cli_jw w;
        cli_jw_model(&w, "compressibility", o->inputs[0], o->inputs[1], n, m);
        json_estimate(&w, o, &r);
        cli_jw_num(&w, "epsilon", eps);
        cli_jw_num(&w, "loss_float_bpb", c.loss_bpb);
        cli_jw_int(&w, "windows", c.windows);
        cli_jw_uint_if(&w, "critical_levels", c.critical_levels > 0, (uint64_t)c.critical_levels);
        cli_jw_num(&w, "critical_bpw", c.critical_levels > 0 ? c.critical_bits : NAN);
        cli_jw_num(&w, "trim", c.critical_levels > 0 ? c.trim : NAN);
        cli_jw_num(&w, "loss_levels_bpb", c.critical_levels > 0 ? c.loss_levels_bpb : NAN);
        cli_jw_num(&w, "critical_svd_fraction", c.critical_svd_fraction);
        cli_jw_num(&w, "loss_svd_bpb", c.loss_svd_bpb);
        cli_jw_num(&w, "critical_noise", c.critical_noise);
        cli_jw_num(&w, "loss_noise_bpb", c.loss_noise_bpb);
        cli_jw_num(&w, "critical_prune_fraction", c.critical_prune_fraction);
        cli_jw_num(&w, "loss_prune_bpb", c.loss_prune_bpb);
        cli_jw_end(&w);
        status = 0;
    } else if (!rc) {
        char pm[32];
        printf("%s: llc %.4g%s%s%s%s%s%s%s\n", o->inputs[1], r.llc, cli_pm(r.llc_se, pm),
               r.healthy ? "" : " (unhealthy: ", r.healthy ? "" : r.warning,
               r.healthy ? "" : ")", r.repairs[0] ? "; repaired: " : "", r.repairs,
               r.cool_steps ? " (at a cooled copy of the weights: nmdl llc says more)" : "");
        print_settings(&r, o);
        printf("  tolerance %.4g nats/byte%s over %.4f bits/byte (%d windows)\n", eps,
               o->epsilon > 0 ? "" : " (llc / n)", c.loss_bpb, c.windows);
        printf("  critical levels n_q %d (%.2f bits), trimming %.2f max|w|: %.4f bits/byte\n",
               c.critical_levels, c.critical_bits, c.trim, c.loss_levels_bpb);
        printf("  critical SVD fraction %.3f of the singular values: %.4f bits/byte\n",
               c.critical_svd_fraction, c.loss_svd_bpb);
        printf("  critical noise %.4g x RMS (Gaussian, mean of 3 draws): %.4f bits/byte\n",
               c.critical_noise, c.loss_noise_bpb);
        printf("  critical pruning %.3f of each matrix's smallest weights: %.4f bits/byte\n",
               c.critical_prune_fraction, c.loss_prune_bpb);
        status = 0;
    }
    warn_unhealthy(o, &r);
    nmdl_llc_report_free(&r);
    nmdl_model_free(m);
    free(data);
    return status;
}
