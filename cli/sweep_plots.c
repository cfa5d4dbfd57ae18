/*
 * sweep_plots.c: the sweep's two plots (see sweep.h). dl_vs_n.svg: bits per
 * byte against n for nmdl's file (drawn on top), the neural attempt and its
 * two parts, zstd -19, xz -9e, the prequential code where measured and the
 * theory's L(w*)/ln 2 + λ̂ log2(n)/n with
 * the standard error of λ̂ as error bars. model_bits.svg: the model part's
 * bits against λ̂ log2(1/ε), each point labelled with its n (and "cooled"
 * where λ̂ is of a cooled copy of the weights), error bars from λ̂'s
 * standard error, and the line y = x. Both carry a caption: the corpus,
 * the effort, the build and the day of the records.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "svg.h"
#include "sweep.h"

#define MAX_ROWS 64           /* as the sweep's sizes */
#define DODGE_PX 3.0          /* coinciding points drawn this far apart (the
                                 caption says so) */

/* Appends item to the ", "-separated list in buf unless it is there. */
static void add_distinct(char *buf, size_t cap, const char *item)
{
    size_t n = strlen(item), len = strlen(buf);
    for (const char *p = buf; (p = strstr(p, item)); p++)
        if ((p == buf || p[-1] == ' ') && (p[n] == 0 || p[n] == ','))
            return;
    snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", item);
}

/* The caption: the distinct corpora (base names), efforts, builds and
 * days of the records that succeeded, then `note`. */
static void caption(char *buf, size_t cap, const sweep_row *rows, int k, const char *note)
{
    char corpus[256] = "", effort[64] = "", commit[256] = "", day[128] = "";
    for (int i = 0; i < k; i++) {
        const sweep_row *r = &rows[i];
        if (!r->ok)
            continue;
        const char *base = r->corpus ? strrchr(r->corpus, '/') : NULL;
        char e[16], d[16];
        add_distinct(corpus, sizeof corpus, base ? base + 1 : r->corpus ? r->corpus : "?");
        if (isfinite(r->effort))
            snprintf(e, sizeof e, "%.0f", r->effort), add_distinct(effort, sizeof effort, e);
        add_distinct(commit, sizeof commit, r->commit[0] ? r->commit : "unknown");
        snprintf(d, sizeof d, "%.10s", r->date[0] ? r->date : "no date");
        add_distinct(day, sizeof day, d);
    }
    snprintf(buf, cap, "corpus %s; effort %s; nmdl %s; measured %s%s%s", corpus,
             effort[0] ? effort : "- (no neural method)", commit, day, note ? "; " : "",
             note ? note : "");
}

/* Values of one field over the rows that succeeded and measured it (> 0),
 * scaled to bits per byte (bytes * 8 / n) when `per_byte`. */
static int column(const sweep_row *rows, int k, size_t off, int per_byte, double *x, double *y)
{
    int m = 0;
    for (int i = 0; i < k && i < MAX_ROWS; i++) {
        double v = *(const double *)((const char *)&rows[i] + off);
        if (!rows[i].ok || !(v > 0))
            continue;
        x[m] = rows[i].input_bytes;
        y[m++] = per_byte ? 8 * v / rows[i].input_bytes : v;
    }
    return m;
}

void sweep_plot_dl(FILE *f, const sweep_row *rows, int k)
{
    static const struct {
        const char *label;
        size_t off;
    } cols[] = {
        {"nmdl file", offsetof(sweep_row, file_bytes)},
        {"neural attempt (whole DL)", offsetof(sweep_row, neural_bytes)},
        {"model part", offsetof(sweep_row, neural_model_bytes)},
        {"data part", offsetof(sweep_row, neural_data_bytes)},
        {"data part, transformer alone", offsetof(sweep_row, neural_pure_data_bytes)},
        {"zstd -19", offsetof(sweep_row, zstd_bytes)},
        {"xz -9e", offsetof(sweep_row, xz_bytes)},
        {"prequential code (float models)", offsetof(sweep_row, preq_bytes)},
    };
    enum { NC = sizeof cols / sizeof cols[0] };
    double x[NC + 1][MAX_ROWS], y[NC + 1][MAX_ROWS], se[MAX_ROWS];
    cli_svg_series s[NC + 1];
    for (int c = 0; c < NC; c++) /* each its own dash; nmdl's solid, on top */
        s[c] = (cli_svg_series){.label = cols[c].label, .x = x[c], .y = y[c],
                                .n = column(rows, k, cols[c].off, 1, x[c], y[c]),
                                .dash = c, .on_top = c == 0};
    int m = 0; /* theory: L/ln 2 + llc log2(n) / n, in bits per byte */
    for (int i = 0; i < k && i < MAX_ROWS; i++) {
        const sweep_row *r = &rows[i];
        if (r->ok && r->llc > 0 && r->loss_float_bpb > 0) {
            double per_llc = log2(r->input_bytes) / r->input_bytes;
            x[NC][m] = r->input_bytes;
            y[NC][m] = r->loss_float_bpb + r->llc * per_llc;
            se[m++] = r->llc_se * per_llc;
        }
    }
    s[NC] = (cli_svg_series){.label = "theory: L(w*)/ln 2 + llc log2(n)/n",
                             .x = x[NC], .y = y[NC], .n = m, .dash = NC, .yerr = se};
    char cap[1024];
    caption(cap, sizeof cap, rows, k,
            "theory's bars: ± se of llc (may be smaller than the markers); points "
            "that coincide are drawn 3 px apart");
    cli_svg_plot p = {.title = "Description length against dataset size",
                      .xlabel = "dataset size n (bytes)",
                      .ylabel = "description length (bits per byte)",
                      .log_x = 1, .x_bytes = 1, .series = s, .n_series = NC + 1,
                      .width = 960, .caption = cap, .dodge = DODGE_PX};
    cli_svg_write(f, &p);
}

/* "64K", "2M" for multiples of 2^10 and 2^20, else the decimal number. */
static void size_label(char *buf, size_t cap, double n)
{
    uint64_t v = (uint64_t)n;
    if (v && v % (1u << 20) == 0)
        snprintf(buf, cap, "%lluM", (unsigned long long)(v >> 20));
    else if (v && v % 1024 == 0)
        snprintf(buf, cap, "%lluK", (unsigned long long)(v >> 10));
    else
        snprintf(buf, cap, "%llu", (unsigned long long)v);
}

void sweep_plot_model(FILE *f, const sweep_row *rows, int k)
{
    double x[MAX_ROWS], y[MAX_ROWS], se[MAX_ROWS], lx[2] = {INFINITY, 0}, ly[2];
    char names[MAX_ROWS][32];
    const char *labels[MAX_ROWS];
    int m = 0;
    for (int i = 0; i < k && i < MAX_ROWS; i++) {
        const sweep_row *r = &rows[i];
        double bits = log2(1.0 / r->epsilon), pred = r->llc * bits;
        if (!r->ok || !(pred > 0) || !(r->neural_model_bytes > 0))
            continue;
        x[m] = pred;
        y[m] = 8 * r->neural_model_bytes;
        se[m] = r->llc_se * bits;
        size_label(names[m], sizeof names[m], r->input_bytes);
        size_t len = strlen(names[m]);
        if (r->weights[0])
            len += (size_t)snprintf(names[m] + len, sizeof names[m] - len, " %s", r->weights);
        if (r->llc_cool_steps > 0 && len < sizeof names[m])
            snprintf(names[m] + len, sizeof names[m] - len, " cooled");
        labels[m] = names[m];
        lx[0] = fmin(lx[0], fmin(pred, y[m]));
        lx[1] = fmax(lx[1], fmax(pred, y[m]));
        m++;
    }
    ly[0] = lx[0], ly[1] = lx[1];
    cli_svg_series s[2] = {
        {.label = "measured (model part)", .x = x,
         .y = y, .n = m, .xerr = se, .point_labels = labels},
        {.label = "measured = predicted", .x = lx, .y = ly, .n = m ? 2 : 0, .dash = 1,
         .marker = CLI_SVG_NONE}};
    char cap[1024];
    caption(cap, sizeof cap, rows, k,
            "points labelled with n and the weight code (--weights), \"cooled\" where llc "
            "is of a copy of the weights cooled to a minimum; bars: ± se of llc");
    cli_svg_plot p = {.title = "Model bits: measured against the learning coefficient's "
                               "prediction",
                      .xlabel = "predicted model bits, llc log2(1/epsilon)",
                      .ylabel = "measured model bits", .log_x = 1, .log_y = 1,
                      .series = s, .n_series = 2, .caption = cap};
    cli_svg_write(f, &p);
}
