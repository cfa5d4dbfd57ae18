/*
 * svg_axis.c: see svg_axis.h.
 */
#include "svg_axis.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SVG_MIN_DX 50.0 /* least distance between ticks, px */
#define SVG_MIN_DY 36.0

/* ---- text and data ---- */

/* Characters (UTF-8 code points) in the first n bytes of s. */
int cli_axis_chars(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n && s[i]; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Estimated width of s at font size fs; 0 for NULL. */
double cli_axis_text_w(const char *s, int fs)
{
    return s ? CLI_SVG_EM * fs * cli_axis_chars(s, strlen(s)) : 0;
}

/* Whether v can be drawn on an axis (logarithmic or not). */
int cli_axis_drawable(double v, int log)
{
    return isfinite(v) && fabs(v) <= CLI_AXIS_LIMIT && (!log || v >= 1 / CLI_AXIS_LIMIT);
}

/* Whether point i of s is drawn. */
int cli_axis_point_ok(const cli_svg_plot *p, const cli_svg_series *s, int i)
{
    return i >= 0 && i < s->n && cli_axis_drawable(s->x[i], p->log_x) &&
           cli_axis_drawable(s->y[i], p->log_y);
}

/* Widens r to hold v. */
static void svg_range_add(cli_axis_range *r, double v)
{
    if (!r->any || v < r->lo)
        r->lo = v;
    if (!r->any || v > r->hi)
        r->hi = v;
    r->any = 1;
}

/* Adds v - e and v + e to r where drawable (e > 0), else v alone. */
static void svg_range_bar(cli_axis_range *r, double v, const double *err, int i, int log)
{
    double e = err ? err[i] : 0;
    svg_range_add(r, v);
    if (!(e > 0))
        return;
    if (cli_axis_drawable(v - e, log))
        svg_range_add(r, v - e);
    if (cli_axis_drawable(v + e, log))
        svg_range_add(r, v + e);
}

/* The drawn points' ranges, error bars included; reference lines count
 * for y. */
void cli_axis_data_ranges(const cli_svg_plot *p, cli_axis_range *rx, cli_axis_range *ry)
{
    for (int s = 0; s < p->n_series; s++) {
        const cli_svg_series *c = &p->series[s];
        for (int i = 0; i < c->n; i++)
            if (cli_axis_point_ok(p, c, i)) {
                svg_range_bar(rx, c->x[i], c->xerr, i, p->log_x);
                svg_range_bar(ry, c->y[i], c->yerr, i, p->log_y);
            }
    }
    for (int i = 0; i < p->n_hlines; i++)
        if (cli_axis_drawable(p->hlines[i], p->log_y))
            svg_range_add(ry, p->hlines[i]);
}

/* A range with room: [0, 1] or [1, 10] with no data; a single value is
 * widened by 10% of its magnitude (a factor of 2 on a log axis); any other
 * range by CLI_SVG_MARGIN of its span (of its logarithm) on each side. */
void cli_axis_range_pad(cli_axis_range *r, int log)
{
    double m = fmax(fabs(r->lo), fabs(r->hi));
    if (!r->any) {
        r->lo = log ? 1 : 0;
        r->hi = log ? 10 : 1;
    } else if (log && !(r->hi > r->lo * (1 + 1e-9))) {
        r->lo /= 2;
        r->hi *= 2;
    } else if (!log && !(r->hi - r->lo > 1e-9 * m)) {
        r->lo -= m > 0 ? 0.1 * m : 1;
        r->hi += m > 0 ? 0.1 * m : 1;
    } else if (log) {
        double f = pow(r->hi / r->lo, CLI_SVG_MARGIN);
        r->lo = fmax(r->lo / f, 1 / CLI_AXIS_LIMIT);
        r->hi = fmin(r->hi * f, CLI_AXIS_LIMIT);
    } else {
        double d = CLI_SVG_MARGIN * (r->hi - r->lo);
        r->lo = fmax(r->lo - d, -CLI_AXIS_LIMIT);
        r->hi = fmin(r->hi + d, CLI_AXIS_LIMIT);
    }
}

/* ---- ticks ---- */

/* 10^k by exact multiplications (the same on every machine). */
static double svg_pow10(int k)
{
    double p = 1;
    for (int i = 0; i < (k < 0 ? -k : k); i++)
        p *= 10;
    return k < 0 ? 1 / p : p;
}

/* Where v lies on the axis, 0 at lo and 1 at hi. */
double cli_axis_frac(const cli_axis *a, double v)
{
    if (a->log)
        return (log(v) - log(a->lo)) / (log(a->hi) - log(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}

/* Whether neighboring tick labels keep clear of each other over px. */
static int svg_ticks_fit(const cli_axis *a, double px, int horizontal)
{
    for (int i = 1; i < a->n; i++) {
        double d = px * fabs(cli_axis_frac(a, a->v[i]) - cli_axis_frac(a, a->v[i - 1]));
        double half_widths = (cli_axis_text_w(a->text[i - 1], CLI_AXIS_FS_TICK) +
                              cli_axis_text_w(a->text[i], CLI_AXIS_FS_TICK)) / 2;
        double need = horizontal ? fmax(SVG_MIN_DX, half_widths + 2 * CLI_SVG_EM * CLI_AXIS_FS_TICK)
                                 : fmax(SVG_MIN_DY, CLI_AXIS_FS_TICK + 4);
        if (d < need)
            return 0;
    }
    return 1;
}

/* "1.5e7" for q x 10^e: the decimal digits of q with the point after the
 * first one, trailing zeros dropped. */
static void svg_sci(char *buf, size_t cap, long long q, int e)
{
    char d[24];
    int n = snprintf(d, sizeof d, "%lld", q < 0 ? -q : q);
    while (n > 1 && d[n - 1] == '0')
        n--, e++;
    snprintf(buf, cap, "%s%c%s%.*se%d", q < 0 ? "-" : "", d[0], n > 1 ? "." : "",
             n - 1, d + 1, e + n - 1);
}

/* The largest binary unit (1, K, M, G, T) not above m, and its suffix. */
static double svg_byte_unit(double m, const char **suffix)
{
    static const char *const names[] = {"", "K", "M", "G", "T"};
    int u = 0;
    while (u < 4 && m >= ldexp(1.0, 10 * (u + 1)))
        u++;
    *suffix = names[u];
    return ldexp(1.0, 10 * u);
}

/* Label of the linear tick v, a multiple of 10^e units: fixed point with
 * the step's decimals, or scientific for large values or tiny steps. */
static void svg_lin_label(char *buf, size_t cap, double v, int e, double unit,
                          const char *suffix, int sci)
{
    double q = v / unit / svg_pow10(e);
    if (fabs(q) < 0.5)
        snprintf(buf, cap, "0");
    else if (sci)
        svg_sci(buf, cap, llround(q), e);
    else
        snprintf(buf, cap, "%.*f%s", e < 0 ? -e : 0, v / unit, suffix);
}

/* Ticks every m x 10^e units inside r, or over the multiples around r
 * when `widen` (the range then grows to them); 0 when there would be too
 * many or fewer than two. */
static int svg_lin_try(cli_axis *a, const cli_axis_range *r, int m, int e,
                       double unit, const char *suffix, int widen)
{
    double s = m * svg_pow10(e) * unit;
    double i0 = widen ? floor(r->lo / s + 1e-9) : ceil(r->lo / s - 1e-9);
    double i1 = widen ? ceil(r->hi / s - 1e-9) : floor(r->hi / s + 1e-9);
    if (!(i1 > i0) || i1 - i0 + 1 > CLI_AXIS_MAX_TICKS)
        return 0;
    a->n = (int)(i1 - i0) + 1;
    a->lo = widen ? i0 * s : r->lo;
    a->hi = widen ? i1 * s : r->hi;
    /* scientific for large values, or when fixed point would be more
     * than two characters longer (tiny values) */
    size_t fixed = 0, sci = 0;
    for (int i = 0; i < a->n; i++) {
        char t[32];
        a->v[i] = (i0 + i) * s;
        svg_lin_label(a->text[i], sizeof a->text[i], a->v[i], e, unit, suffix, 0);
        svg_lin_label(t, sizeof t, a->v[i], e, unit, suffix, 1);
        fixed = strlen(a->text[i]) > fixed ? strlen(a->text[i]) : fixed;
        sci = strlen(t) > sci ? strlen(t) : sci;
    }
    int use_sci = fmax(fabs(a->lo), fabs(a->hi)) / unit >= 1e6 || fixed > sci + 2;
    for (int i = 0; i < a->n && use_sci; i++)
        svg_lin_label(a->text[i], sizeof a->text[i], a->v[i], e, unit, suffix, 1);
    return 1;
}

/* The finest 1-2-5 step whose labels fit in px (the coarsest tried when
 * none does), ticks inside the range, or around it when no step puts two
 * inside. */
static void svg_lin_ticks(cli_axis *a, const cli_axis_range *r, double px, int horizontal)
{
    static const int mult[3] = {1, 2, 5};
    const char *suffix = "";
    double unit = a->bytes ? svg_byte_unit(fmax(fabs(r->lo), fabs(r->hi)), &suffix) : 1;
    int e0 = (int)floor(log10((r->hi - r->lo) / unit)) - 2;
    for (int widen = 0; widen < 2; widen++) {
        int found = 0;
        cli_axis coarsest = *a;
        for (int k = 0; k < 15; k++)
            if (svg_lin_try(a, r, mult[k % 3], e0 + k / 3, unit, suffix, widen)) {
                if (svg_ticks_fit(a, px, horizontal))
                    return;
                coarsest = *a;
                found = 1;
            }
        *a = coarsest;
        if (found)
            return;
    }
}

/* Label of the logarithmic tick m x base^k. */
static void svg_log_label(char *buf, size_t cap, int bytes, int k, int m)
{
    static const char *const names[] = {"", "K", "M", "G", "T"};
    if (bytes && k >= 0 && k < 50)
        snprintf(buf, cap, "%.0f%s", ldexp(1.0, k % 10), names[k / 10]);
    else if (bytes)
        snprintf(buf, cap, "2^%d", k);
    else if (k >= -3 && k <= 4)
        snprintf(buf, cap, "%.*f", k < 0 ? -k : 0, m * svg_pow10(k));
    else
        snprintf(buf, cap, "%de%d", m, k);
}

/* Ticks at m[j] x base^k (base 2 on byte axes) inside r, keeping only k
 * that are multiples of stride; with `widen` the range grows to the
 * largest such value (any k) not above the data and the smallest not
 * below. 0 when too many. */
static int svg_log_try(cli_axis *a, const cli_axis_range *r, const int *m, int nm, int stride,
                       int widen)
{
    int b2 = a->bytes;
    int k0 = (int)floor(b2 ? log2(r->lo) : log10(r->lo)) - 1;
    int k1 = (int)ceil(b2 ? log2(r->hi) : log10(r->hi)) + 1;
    a->lo = widen ? 0 : r->lo;
    a->hi = widen ? 0 : r->hi;
    for (int k = k0; k <= k1 && widen; k++)
        for (int j = 0; j < nm; j++) {
            double v = m[j] * (b2 ? ldexp(1.0, k) : svg_pow10(k));
            if (v <= r->lo * (1 + 1e-12))
                a->lo = v;
            if (a->hi == 0 && v >= r->hi * (1 - 1e-12))
                a->hi = v;
        }
    a->n = 0;
    for (int k = k0; k <= k1; k++)
        for (int j = 0; j < nm && k % stride == 0; j++) {
            double v = m[j] * (b2 ? ldexp(1.0, k) : svg_pow10(k));
            if (v < a->lo * (1 - 1e-12) || v > a->hi * (1 + 1e-12))
                continue;
            if (a->n == CLI_AXIS_MAX_TICKS)
                return 0;
            a->v[a->n] = v;
            svg_log_label(a->text[a->n], sizeof a->text[0], b2, k, m[j]);
            a->n++;
        }
    return 1;
}

/* The finest tick set whose labels fit in px: 1..9 and 1-2-5 multiples
 * for short spans, then every 1, 2, 3, 5, ... decades (octaves on byte
 * axes); inside the range, or around it when no set puts two inside. */
static void svg_log_ticks(cli_axis *a, const cli_axis_range *r, double px, int horizontal)
{
    static const int all[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, one25[3] = {1, 2, 5};
    static const int strides[] = {1, 2, 3, 5, 10, 20, 50, 100, 200, 500};
    double span = log10(r->hi / r->lo);
    for (int widen = 0; widen < 2; widen++) {
        int found = 0;
        cli_axis coarsest = *a; /* the last set of at least two ticks */
        for (int i = -2; i < (int)(sizeof strides / sizeof strides[0]); i++) {
            int ok = i == -2   ? !a->bytes && span < 1 && svg_log_try(a, r, all, 9, 1, widen)
                     : i == -1 ? !a->bytes && span < 3 && svg_log_try(a, r, one25, 3, 1, widen)
                               : (!a->bytes || strides[i] != 3) &&
                                     svg_log_try(a, r, all, 1, strides[i], widen);
            if (ok && a->n >= 2 && svg_ticks_fit(a, px, horizontal))
                return;
            if (ok && a->n >= 2)
                coarsest = *a, found = 1;
        }
        *a = coarsest;
        if (found)
            return;
    }
}

/* Widest tick label of a, px. */
double cli_axis_ticks_w(const cli_axis *a)
{
    double w = 0;
    for (int i = 0; i < a->n; i++)
        w = fmax(w, cli_axis_text_w(a->text[i], CLI_AXIS_FS_TICK));
    return w;
}

/* Ticks of one axis over px (r padded). */
void cli_axis_ticks(cli_axis *a, const cli_axis_range *r, double px, int horizontal)
{
    if (a->log)
        svg_log_ticks(a, r, px, horizontal);
    else
        svg_lin_ticks(a, r, px, horizontal);
}
