/*
 * llc_plot.c: λ̂ against seed 001's compressibility measures, for bench/llc
 * (issue 18, item 3). Reads the rows bench/llc gathers, one checkpoint per
 * line:
 *
 *     step llc llc_se loss_bpb critical_levels critical_bpw svd_fraction
 *     noise_sigma prune_fraction
 *
 * ("null" where a figure is missing), prints for each measure the R² and
 * slope of its least-squares line on λ̂ (over all checkpoints, and over
 * those with λ̂ > 0) as a Markdown table, and with an output folder draws
 * DIR/llc_vs_<measure>.svg in the sweep's style: the checkpoints labelled
 * with their steps, ± the standard error of λ̂ as bars, and the fitted line.
 *
 * usage: bench_llc_plot ROWS [DIR CAPTION]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/svg.h"

#define MAX_ROWS 256
#define COLS 9

static const struct {
    int col;
    const char *name, *file, *axis;
} measures[] = {
    {4, "critical n_q", "nq", "critical quantization levels n_q"},
    {5, "bits", "bits", "bits per weight at n_q, log2(n_q)"},
    {6, "SVD fraction", "svd", "critical SVD fraction"},
    {7, "noise σ", "noise", "largest Gaussian noise σ (× tensor RMS)"},
    {8, "pruned fraction", "prune", "largest magnitude-pruned fraction"},
};

/* Least squares of y on x over the n points (x > 0 only when `pos`): R²
 * and slope (NaN with fewer than 3 points or no spread); the count. */
static int fit(const double *x, const double *y, int n, int pos, double *r2, double *slope)
{
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (pos && !(x[i] > 0))
            continue;
        sx += x[i], sy += y[i], sxx += x[i] * x[i], syy += y[i] * y[i], sxy += x[i] * y[i];
        m++;
    }
    *r2 = *slope = NAN;
    if (m < 3)
        return m;
    sxy -= sx * sy / m, sxx -= sx * sx / m, syy -= sy * sy / m;
    if (sxx > 0 && syy > 0)
        *r2 = sxy * sxy / (sxx * syy);
    if (sxx > 0)
        *slope = sxy / sxx;
    return m;
}

/* Rows of the file: the checkpoints whose λ̂ is known; NaN for "null". */
static int read_rows(const char *path, double (*v)[COLS])
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int n = 0;
    if (!f)
        return -1;
    while (n < MAX_ROWS && fgets(line, sizeof line, f)) {
        char *p = line, *end;
        int c = 0;
        for (; c < COLS; c++, p = end) {
            v[n][c] = strtod(p, &end);
            if (end == p) { /* "null" */
                while (*p == ' ')
                    p++;
                if (strncmp(p, "null", 4))
                    break;
                v[n][c] = NAN, end = p + 4;
            }
        }
        n += c == COLS && isfinite(v[n][1]);
    }
    fclose(f);
    return n;
}

/* DIR/llc_vs_<file>.svg: the checkpoints as markers (NaN between them
 * breaks the line), the fitted line over λ̂'s range. */
static int plot(const char *dir, const char *caption, int k, const double *x,
                const double *y, const double *se, const double *step, int n)
{
    double px[2 * MAX_ROWS], py[2 * MAX_ROWS], pe[2 * MAX_ROWS], lx[2], ly[2], r2, a;
    char names[MAX_ROWS][16], legend[96], path[4096];
    const char *labels[2 * MAX_ROWS];
    double lo = INFINITY, hi = -INFINITY, mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        px[2 * i] = x[i], py[2 * i] = y[i], pe[2 * i] = se[i];
        px[2 * i + 1] = py[2 * i + 1] = pe[2 * i + 1] = NAN;
        snprintf(names[i], sizeof names[i], "%.0f", step[i]);
        labels[2 * i] = names[i], labels[2 * i + 1] = NULL;
        lo = fmin(lo, x[i]), hi = fmax(hi, x[i]), mx += x[i] / n, my += y[i] / n;
    }
    fit(x, y, n, 0, &r2, &a);
    lx[0] = lo, lx[1] = hi, ly[0] = my + a * (lo - mx), ly[1] = my + a * (hi - mx);
    snprintf(legend, sizeof legend, "least squares, R² %.3f", r2);
    cli_svg_series s[2] = {
        {.label = "checkpoints (labelled with their steps)", .x = px, .y = py,
         .n = 2 * n - 1, .xerr = pe, .point_labels = labels, .marker = CLI_SVG_CIRCLE},
        {.label = legend, .x = lx, .y = ly, .n = isfinite(a) ? 2 : 0, .dash = 1,
         .marker = CLI_SVG_NONE}};
    char title[160];
    snprintf(title, sizeof title, "Learning coefficient against %s", measures[k].name);
    cli_svg_plot p = {.title = title, .xlabel = "llc (λ̂), bars ± its standard error",
                      .ylabel = measures[k].axis, .series = s, .n_series = 2,
                      .caption = caption};
    snprintf(path, sizeof path, "%s/llc_vs_%s.svg", dir, measures[k].file);
    FILE *f = fopen(path, "w");
    int rc = !f || cli_svg_write(f, &p);
    if (f && fclose(f))
        rc = 1;
    if (rc)
        fprintf(stderr, "bench_llc_plot: %s: cannot write\n", path);
    return rc;
}

/* A table cell: the number in fmt, "-" where it is not one. */
static void cell(const char *fmt, double v)
{
    if (isfinite(v))
        printf(fmt, v);
    else
        printf(" - |");
}

int main(int argc, char **argv)
{
    static double v[MAX_ROWS][COLS];
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: bench_llc_plot ROWS [DIR CAPTION]\n");
        return 2;
    }
    int n = read_rows(argv[1], v), rc = 0;
    if (n < 0) {
        fprintf(stderr, "bench_llc_plot: %s: cannot read\n", argv[1]);
        return 1;
    }
    printf("| measure | R² (all) | slope per 1000 of λ̂ | R² (λ̂ > 0) | checkpoints with λ̂ > 0 |\n");
    printf("|---|---|---|---|---|\n");
    for (size_t k = 0; k < sizeof measures / sizeof measures[0]; k++) {
        double x[MAX_ROWS], y[MAX_ROWS], se[MAX_ROWS], step[MAX_ROWS], r2, a, r2p, ap;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (isfinite(v[i][measures[k].col])) {
                x[m] = v[i][1], y[m] = v[i][measures[k].col];
                se[m] = v[i][2], step[m++] = v[i][0];
            }
        fit(x, y, m, 0, &r2, &a);
        int pos = fit(x, y, m, 1, &r2p, &ap);
        printf("| %s |", measures[k].name);
        cell(" %.3f |", r2), cell(" %.4g |", 1000 * a), cell(" %.3f |", r2p);
        printf(" %d |\n", pos);
        if (argc == 4 && m > 0)
            rc |= plot(argv[2], argv[3], (int)k, x, y, se, step, m);
    }
    return rc;
}
