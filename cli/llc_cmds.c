/*
 * llc_cmds.c: `nmdl llc MODEL CORPUS`, the learning-coefficient estimator
 * on its own: the step-size sweep, the estimate with its settings beside
 * it, the health of the chains, and their loss traces as CSV and SVG.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fileio.h"
#include "nmdl.h"
#include "svg.h"

/* Loads MODEL and CORPUS; prints its own errors. */
static int load(const char *model, const char *corpus, nmdl_model **m,
                uint8_t **data, size_t *n)
{
    uint8_t *buf;
    size_t len;
    int err = cli_read_all(model, &buf, &len), rc;
    if (err) {
        cli_error(model, strerror(err));
        return -1;
    }
    rc = nmdl_model_load(buf, len, m);
    free(buf);
    if (rc) {
        cli_error(model, rc == NMDL_ERR_NOT_NMDL ? "not an nmdl checkpoint" : nmdl_strerror(rc));
        return -1;
    }
    nmdl_model_config c;
    nmdl_model_get_config(*m, &c);
    if ((err = cli_read_all(corpus, data, n))) {
        cli_error(corpus, strerror(err));
    } else if (*n <= (size_t)c.ctx) {
        fprintf(stderr, "nmdl: %s: corpus of %zu bytes is not longer than the "
                "model's context of %d bytes\n", corpus, *n, c.ctx);
        free(*data);
        *data = NULL;
        err = EINVAL;
    }
    if (err) {
        nmdl_model_free(*m);
        *m = NULL;
    }
    return err ? -1 : 0;
}

/* Builds a document in memory with `write` and stores it atomically. */
static int save_doc(const cli_opts *o, const char *path,
                    int (*write)(FILE *, const nmdl_llc_report *, const char *),
                    const nmdl_llc_report *r, const char *title)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int err = !f || write(f, r, title) ? ENOMEM : 0;
    if (f && fclose(f) && !err)
        err = ENOMEM;
    if (!err)
        err = cli_write_file(path, buf, len, NULL, o->force, 0);
    free(buf);
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
        series[k] = (cli_svg_series){labels[k], x, r->trace + (size_t)k * r->steps,
                                     r->steps, 0};
    }
    const double hline = r->init_loss_bpb;
    const char *hlabel = "L(w*)";
    cli_svg_plot p = {title, "SGLD step (burn-in first)", "minibatch loss (bits/byte)",
                      0, 0, 0, 0, 0, 0, series, r->chains, &hline, &hlabel, 1};
    int rc = cli_svg_write(f, &p);
    free(x), free(series), free(labels);
    return rc;
}

static void print_sweep(const nmdl_llc_report *r)
{
    if (r->sweep_n == 0)
        return;
    printf("step-size sweep (%s):\n", r->sweep_chosen < 0 ? "none healthy" : "largest healthy chosen");
    for (int i = 0; i < r->sweep_n; i++)
        printf("  step %-9.3g llc %-10.4g MALA %.2f %s\n", r->sweep_step[i],
               r->sweep_llc[i], r->sweep_mala[i],
               i == r->sweep_chosen ? "<- chosen" : r->sweep_healthy[i] ? "" : "unhealthy");
}

static void print_report(const char *corpus, size_t n, const nmdl_llc_report *r,
                         const cli_opts *o, size_t d)
{
    if (o->json) {
        printf("{\"corpus\":\"%s\",\"n_tokens\":%zu,\"n_params\":%zu,\"llc\":%.6g,"
               "\"llc_se\":%.6g,\"nbeta\":%.6g,\"step\":%.6g,\"gamma\":%.6g,"
               "\"chains\":%d,\"burnin\":%d,\"draws\":%d,\"batch\":%d,"
               "\"sampler\":\"%s\",\"init_loss_bpb\":%.6f,\"mala\":%.4f,"
               "\"healthy\":%s,\"warning\":\"%s\"}\n", corpus, n, d, r->llc,
               r->llc_se, r->nbeta, r->step, r->gamma, r->chains, r->burnin,
               r->steps - r->burnin, r->batch, o->sampler ? "psgld" : "sgld",
               r->init_loss_bpb, r->mala, r->healthy ? "true" : "false", r->warning);
        return;
    }
    print_sweep(r);
    printf("%s: llc %.4g ± %.3g (%zu parameters; d/2 = %.4g)\n", corpus, r->llc,
           r->llc_se, d, d / 2.0);
    printf("  %s, step %.3g, nbeta %.4g, gamma %.4g, %d chains x (%d burn-in + %d "
           "draws), batch %d x ctx, seed %llu\n", o->sampler ? "pSGLD" : "SGLD",
           r->step, r->nbeta, r->gamma, r->chains, r->burnin, r->steps - r->burnin,
           r->batch, (unsigned long long)o->seed);
    printf("  L(w*) %.4f bits/byte, MALA acceptance %.2f, %s%s\n", r->init_loss_bpb,
           r->mala, r->healthy ? "healthy" : "UNHEALTHY: ", r->warning);
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
    if (load(o->inputs[0], o->inputs[1], m, data, n))
        return -1;
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

int cli_llc(const cli_opts *o)
{
    nmdl_model *m;
    uint8_t *data;
    size_t n;
    nmdl_llc_report r;
    if (load_and_estimate(o, "llc", &m, &data, &n, &r))
        return 1;
    print_report(o->inputs[1], n, &r, o, nmdl_model_n_params(m));
    int status = (o->csv && save_doc(o, o->csv, write_csv, &r, NULL)) ||
                 (o->svg && save_doc(o, o->svg, write_svg, &r, "SGLD loss traces"));
    if (!r.healthy)
        fprintf(stderr, "nmdl: %s: warning: %s\n", o->inputs[1], r.warning);
    nmdl_llc_report_free(&r);
    nmdl_model_free(m);
    free(data);
    return status;
}

/* `nmdl compressibility MODEL CORPUS [--epsilon E]`: the critical levels
 * and SVD fraction beside λ̂ (whose λ̂/n is the default tolerance). */
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
    if (!rc && !(eps > 0 && eps < 1)) {
        cli_error(o->inputs[1], "the estimated llc gives no tolerance; pass --epsilon");
        rc = -1;
    }
    if (!rc && (rc = nmdl_model_compressibility(m, data, n, eps, cli_threads(o), &c)))
        cli_error(o->inputs[1], nmdl_strerror(rc));
    if (!rc && o->json) {
        printf("{\"corpus\":\"%s\",\"n_params\":%zu,\"llc\":%.6g,\"llc_se\":%.6g,"
               "\"epsilon\":%.6g,\"loss_bpb\":%.6f,\"critical_levels\":%d,"
               "\"critical_bits\":%.4f,\"trim\":%.2f,\"critical_svd_fraction\":%.4f}\n",
               o->inputs[1], nmdl_model_n_params(m), r.llc, r.llc_se, eps,
               c.loss_bpb, c.critical_levels, c.critical_bits, c.trim,
               c.critical_svd_fraction);
        status = 0;
    } else if (!rc) {
        printf("%s: llc %.4g ± %.3g%s%s\n", o->inputs[1], r.llc, r.llc_se,
               r.healthy ? "" : " (unhealthy: ", r.healthy ? "" : r.warning);
        printf("  tolerance %.4g nats/byte%s over %.4f bits/byte (%d windows)\n", eps,
               o->epsilon > 0 ? "" : " (llc / n)", c.loss_bpb, c.windows);
        printf("  critical levels n_q %d (%.2f bits), trimming %.2f max|w|\n",
               c.critical_levels, c.critical_bits, c.trim);
        printf("  critical SVD fraction %.3f of the singular values\n",
               c.critical_svd_fraction);
        status = 0;
    }
    nmdl_llc_report_free(&r);
    nmdl_model_free(m);
    free(data);
    return status;
}
