/*
 * svg.c: see svg.h.
 *
 * The whole layout (canvas, plot area, ticks, legend) is computed before
 * anything is written. Text boxes are estimated from the font size: a line
 * of font size fs spans from 0.8 fs above its baseline to 0.2 fs below it,
 * and CLI_SVG_EM * fs per character across. Vertically the figure is, top
 * to bottom: title lines, the frame with the legend's top level with the
 * frame's (never taller than it, to its right), x tick labels, x label.
 * Horizontally: y label (turned), y tick labels, the frame, the legend. So
 * no two texts can meet once the margins hold their widths. Ranges, ticks
 * and text widths come from svg_axis.c.
 */
#include "svg.h"
#include "svg_axis.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SVG_ASCENT 0.8   /* text above the baseline, in font sizes */
#define SVG_PAD 12.0     /* empty border of the canvas, px */
#define SVG_FS_TITLE 18  /* font sizes, px */
#define SVG_FS_LABEL 14
#define SVG_FS_LEGEND 13
#define SVG_FS_CAPTION 12
#define SVG_FS_POINT 11
#define SVG_LINE 1.25    /* line spacing of the title, in font sizes */
#define SVG_TICK 5.0     /* tick mark length, px */
#define SVG_TICK_GAP 4.0 /* tick mark to tick label, px */
#define SVG_LEG_GAP 20.0 /* frame to legend, px */
#define SVG_LEG_ROW 20.0 /* legend line height, px */
#define SVG_SWATCH 30.0  /* legend sample line length, px */
#define SVG_MIN_PW 200.0 /* smallest plot area, px */
#define SVG_MIN_PH 150.0
#define SVG_MARK 3.5     /* marker size: circle radius, half a square, px */
#define SVG_CAP 3.0      /* half the width of an error bar's cap, px */
#define SVG_MAX_LABELS 256 /* point labels kept clear of each other */

/* Paul Tol's "muted" qualitative palette, colorblind-safe, darkest first. */
static const char *const svg_palette[] = {
    "#332288", "#CC6677", "#117733", "#88CCEE", "#882255",
    "#44AA99", "#999933", "#AA4499", "#DDCC77"};
#define SVG_N_COLORS (int)(sizeof svg_palette / sizeof svg_palette[0])

/* Reference lines: dark gray, told apart by their dash patterns. */
static const char *const svg_hline_dash[] = {"2 3", "10 4 2 4", "14 4"};

/* Series' dash patterns 1, 2, ... (repeated beyond); 0 is solid. */
static const char *const svg_dashes[] = {"8 4", "2 3", "10 3 2 3", "5 5",
                                         "12 3 3 3 3 3", "1 4"};
#define SVG_N_DASHES (int)(sizeof svg_dashes / sizeof svg_dashes[0])

typedef enum svg_anchor { SVG_START, SVG_MIDDLE, SVG_END } svg_anchor;
/* How a text is drawn: plainly, turned for the y label, as a point label
 * (class "point-label", the only text inside the frame), as the caption
 * (gray). */
typedef enum svg_style { SVG_PLAIN, SVG_TURNED, SVG_POINT, SVG_CAPTION } svg_style;

/* Where everything goes, in px. */
typedef struct svg_layout {
    double w, h;           /* canvas */
    double ml, mt, pw, ph; /* plot area: left, top, width, height */
    int title_cols;        /* characters per title line */
    int title_lines;
    int cap_cols, cap_lines; /* the same for the caption */
    int leg_rows;
    double leg_w, leg_h;
    cli_axis x, y;
    double *dy; /* the dodge: vertical shift of point i of series k at
                   dy[base[k] + i], px; NULL: none */
    int *base;
} svg_layout;

/* The output stream and whether a write has failed. */
typedef struct svg_out {
    FILE *f;
    int err;
} svg_out;

/* ---- text ---- */

/* Length of the title line starting at s with at most cols characters,
 * broken after a word (a longer word makes a line of its own) or at a
 * newline; *next is where the next line starts, or NULL after the last. */
static size_t svg_title_line(const char *s, int cols, const char **next)
{
    size_t brk = 0, i = 0;
    int chars = 0;
    for (; s[i] && s[i] != '\n'; i++) {
        if (s[i] == ' ' && i > 0) {
            if (chars > cols && brk > 0)
                break;
            brk = i;
        }
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    }
    size_t end = chars > cols && brk > 0 ? brk : i;
    const char *t = s + end;
    while (*t == ' ' || *t == '\n')
        t++;
    *next = *t ? t : NULL;
    return end;
}

/* ---- output ---- */

/* printf to the stream, remembering the first failure. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void svg_printf(svg_out *o, const char *fmt, ...)
{
    if (o->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(o->f, fmt, ap) < 0)
        o->err = 1;
    va_end(ap);
}

/* Writes n bytes of s with XML's special characters as entities and
 * control characters as spaces. */
static void svg_escaped(svg_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i] && !o->err; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = c == '&'    ? "&amp;"
                        : c == '<'  ? "&lt;"
                        : c == '>'  ? "&gt;"
                        : c == '"'  ? "&quot;"
                        : c == '\'' ? "&apos;" : NULL;
        int rc = e ? fputs(e, o->f) : fputc(c < 0x20 ? ' ' : c, o->f);
        if (rc == EOF)
            o->err = 1;
    }
}

/* One text element (every one is written this way; the tests parse it). */
static void svg_text(svg_out *o, double x, double y, int fs, svg_anchor a,
                     svg_style st, const char *s, size_t n)
{
    static const char *const names[] = {"start", "middle", "end"};
    svg_printf(o, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" text-anchor=\"%s\"",
               x, y, fs, names[a]);
    if (st == SVG_TURNED)
        svg_printf(o, " transform=\"rotate(-90 %.2f %.2f)\"", x, y);
    if (st == SVG_POINT)
        svg_printf(o, " class=\"point-label\"");
    if (st == SVG_CAPTION)
        svg_printf(o, " fill=\"#555555\"");
    svg_printf(o, ">");
    svg_escaped(o, s, n);
    svg_printf(o, "</text>\n");
}

/* ---- layout ---- */

/* Number and size of the legend entries. */
static void svg_legend_size(svg_layout *L, const cli_svg_plot *p)
{
    double w = 0;
    L->leg_rows = 0;
    for (int i = 0; i < p->n_series; i++)
        if (p->series[i].label) {
            L->leg_rows++;
            w = fmax(w, cli_axis_text_w(p->series[i].label, SVG_FS_LEGEND));
        }
    for (int i = 0; i < p->n_hlines && p->hline_labels; i++)
        if (p->hline_labels[i]) {
            L->leg_rows++;
            w = fmax(w, cli_axis_text_w(p->hline_labels[i], SVG_FS_LEGEND));
        }
    L->leg_w = L->leg_rows ? 8 + SVG_SWATCH + 6 + w + 8 : 0;
    L->leg_h = L->leg_rows ? 12 + SVG_LEG_ROW * L->leg_rows : 0;
}

/* Lines of text wrapped at font size fs to the requested width, and
 * characters per line; the canvas widens for a word longer than that. */
static void svg_wrap_size(svg_layout *L, const char *text, int fs, int *cols, int *lines)
{
    double cw = CLI_SVG_EM * fs;
    *cols = (int)fmax(1, floor((L->w - 2 * SVG_PAD) / cw));
    *lines = 0;
    for (const char *s = text && *text ? text : NULL; s;) {
        const char *line = s;
        size_t n = svg_title_line(line, *cols, &s);
        L->w = fmax(L->w, cli_axis_chars(line, n) * cw + 2 * SVG_PAD);
        (*lines)++;
    }
}

/* Height of the x tick labels and the x label under the frame, px. */
static double svg_below_frame(const cli_svg_plot *p)
{
    const double xlabel = p->xlabel ? 10 + SVG_LINE * SVG_FS_LABEL : 0;
    return SVG_TICK + SVG_TICK_GAP + CLI_AXIS_FS_TICK + xlabel;
}

/* Plot height, y ticks and the left margin that holds their labels. */
static void svg_layout_y(svg_layout *L, const cli_svg_plot *p, const cli_axis_range *ry)
{
    double mb = svg_below_frame(p) + SVG_PAD +
                (L->cap_lines ? 6 + L->cap_lines * SVG_LINE * SVG_FS_CAPTION : 0);
    double min_ph = fmax(fmax(SVG_MIN_PH, L->leg_h), cli_axis_text_w(p->ylabel, SVG_FS_LABEL) + 10);
    L->mt = SVG_PAD + (L->title_lines ? L->title_lines * SVG_LINE * SVG_FS_TITLE + 10 : 8);
    L->ph = fmax(L->h - L->mt - mb, min_ph);
    L->h = ceil(L->mt + L->ph + mb);
    L->y.log = p->log_y;
    L->y.bytes = p->y_bytes;
    cli_axis_ticks(&L->y, ry, L->ph, 0);
    L->ml = SVG_PAD + (p->ylabel ? SVG_LINE * SVG_FS_LABEL + 6 : 0) + cli_axis_ticks_w(&L->y) +
            SVG_TICK_GAP + SVG_TICK;
}

/* Plot width and x ticks. The outermost x tick labels stick out of the
 * frame by half their width: the frame narrows (up to three times) to keep
 * them on the requested canvas, else the canvas widens. */
static void svg_layout_x(svg_layout *L, const cli_svg_plot *p, const cli_axis_range *rx, double mr)
{
    double min_pw = fmax(SVG_MIN_PW, cli_axis_text_w(p->xlabel, SVG_FS_LABEL) + 10);
    double ml = L->ml, last = 0;
    L->pw = fmax(L->w - ml - mr, min_pw);
    L->x.log = p->log_x;
    L->x.bytes = p->x_bytes;
    for (int tries = 0; tries < 3; tries++) {
        cli_axis_ticks(&L->x, rx, L->pw, 1);
        double first = L->x.n ? cli_axis_text_w(L->x.text[0], CLI_AXIS_FS_TICK) / 2 : 0;
        last = L->x.n ? cli_axis_text_w(L->x.text[L->x.n - 1], CLI_AXIS_FS_TICK) / 2 : 0;
        L->ml = fmax(ml, SVG_PAD + first);
        double over = L->ml + L->pw + fmax(mr, SVG_PAD + last) - L->w;
        if (over <= 0 || L->pw - over < min_pw)
            break;
        L->pw -= over;
    }
    L->w = ceil(fmax(L->w, L->ml + L->pw + fmax(mr, SVG_PAD + last)));
}

/* Margins, plot area and ticks, growing the canvas where text needs it. */
static void svg_layout_compute(svg_layout *L, const cli_svg_plot *p)
{
    cli_axis_range rx = {0, 0, 0}, ry = {0, 0, 0};
    cli_axis_data_ranges(p, &rx, &ry);
    cli_axis_range_pad(&rx, p->log_x);
    cli_axis_range_pad(&ry, p->log_y);
    L->w = p->width > 0 ? p->width : 800;
    L->h = p->height > 0 ? p->height : 500;
    svg_legend_size(L, p);
    svg_wrap_size(L, p->title, SVG_FS_TITLE, &L->title_cols, &L->title_lines);
    svg_wrap_size(L, p->caption, SVG_FS_CAPTION, &L->cap_cols, &L->cap_lines);
    svg_layout_y(L, p, &ry);
    svg_layout_x(L, p, &rx, (L->leg_rows ? SVG_LEG_GAP + L->leg_w : 0) + SVG_PAD);
}

/* Canvas x of data x. */
static double svg_px(const svg_layout *L, double x)
{
    return L->ml + L->pw * cli_axis_frac(&L->x, x);
}

/* Canvas y of data y. */
static double svg_py(const svg_layout *L, double y)
{
    return L->mt + L->ph * (1 - cli_axis_frac(&L->y, y));
}

/* ---- drawing ---- */

/* XML declaration, root element, white background. */
static void svg_header(svg_out *o, const svg_layout *L)
{
    int w = (int)L->w, h = (int)L->h;
    svg_printf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                  "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                  "font-family=\"Liberation Sans, Arial, Helvetica, sans-serif\">\n"
                  "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#FFFFFF\"/>\n",
               w, h, w, h, w, h);
}

/* Light grid lines at the ticks. */
static void svg_grid(svg_out *o, const svg_layout *L)
{
    svg_printf(o, "<g stroke=\"#E6E6E6\" stroke-width=\"1\">\n");
    for (int i = 0; i < L->x.n; i++) {
        double x = svg_px(L, L->x.v[i]);
        svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x,
                   L->mt, x, L->mt + L->ph);
    }
    for (int i = 0; i < L->y.n; i++) {
        double y = svg_py(L, L->y.v[i]);
        svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", L->ml,
                   y, L->ml + L->pw, y);
    }
    svg_printf(o, "</g>\n");
}

/* The reference lines across the frame. */
static void svg_hlines(svg_out *o, const svg_layout *L, const cli_svg_plot *p)
{
    for (int i = 0; i < p->n_hlines; i++) {
        if (!cli_axis_drawable(p->hlines[i], p->log_y))
            continue;
        double y = svg_py(L, p->hlines[i]);
        svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                      "stroke=\"#444444\" stroke-width=\"1.5\" stroke-dasharray=\"%s\"/>\n",
                   L->ml, y, L->ml + L->pw, y, svg_hline_dash[i % 3]);
    }
}

/* ---- dodging ---- */

/* A drawn point: canvas position, series and index. */
typedef struct svg_pt {
    double x, y;
    int k, i;
} svg_pt;

/* By series, then index: a total order, so that any qsort gives the same
 * result. */
static int svg_pt_by_series(const void *a, const void *b)
{
    const svg_pt *p = a, *q = b;
    return p->k != q->k ? p->k - q->k : p->i - q->i;
}

/* By x, then y, then series and index. */
static int svg_pt_by_pos(const void *a, const void *b)
{
    const svg_pt *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    if (p->y != q->y)
        return p->y < q->y ? -1 : 1;
    return svg_pt_by_series(a, b);
}

/* The group starting at g[0] (m points, one x, within the dodge of their
 * neighbors) spread about its mean y, series in order from the top. */
static void svg_spread(svg_layout *L, svg_pt *g, int m, double gap)
{
    double mean = 0;
    for (int j = 0; j < m; j++)
        mean += g[j].y / m;
    qsort(g, (size_t)m, sizeof *g, svg_pt_by_series);
    for (int j = 0; j < m; j++)
        L->dy[L->base[g[j].k] + g[j].i] = mean + (j - (m - 1) / 2.0) * gap - g[j].y;
}

/* L->dy and L->base for p->dodge (none when it is 0). 0, or -1 without
 * memory. */
static int svg_dodge(svg_layout *L, const cli_svg_plot *p)
{
    int total = 0, m = 0;
    if (!(p->dodge > 0))
        return 0;
    for (int k = 0; k < p->n_series; k++)
        total += p->series[k].n;
    L->dy = calloc((size_t)total + 1, sizeof *L->dy);
    L->base = malloc(((size_t)p->n_series + 1) * sizeof *L->base);
    svg_pt *pt = malloc(((size_t)total + 1) * sizeof *pt);
    if (!L->dy || !L->base || !pt) {
        free(pt);
        return -1;
    }
    for (int k = 0, b = 0; k < p->n_series; b += p->series[k++].n) {
        L->base[k] = b;
        for (int i = 0; i < p->series[k].n; i++)
            if (cli_axis_point_ok(p, &p->series[k], i))
                pt[m++] = (svg_pt){svg_px(L, p->series[k].x[i]),
                                   svg_py(L, p->series[k].y[i]), k, i};
    }
    qsort(pt, (size_t)m, sizeof *pt, svg_pt_by_pos);
    for (int j = 0, e; j < m; j = e) {
        for (e = j + 1; e < m && pt[e].x == pt[j].x && pt[e].y - pt[e - 1].y < p->dodge; e++)
            ;
        if (e - j > 1)
            svg_spread(L, pt + j, e - j, p->dodge);
    }
    free(pt);
    return 0;
}

/* ---- series ---- */

/* Canvas y of point i of series k, dodged. */
static double svg_point_y(const svg_layout *L, const cli_svg_plot *p, int k, int i)
{
    return svg_py(L, p->series[k].y[i]) + (L->dy ? L->dy[L->base[k] + i] : 0);
}

/* The marker shape of series k (CLI_SVG_NONE for none). */
static int svg_shape(const cli_svg_plot *p, int k)
{
    int m = p->series[k].marker;
    return m == CLI_SVG_AUTO ? 1 + k % CLI_SVG_N_SHAPES : m;
}

/* Whether series k's markers are hollow: another series is drawn on top. */
static int svg_hollow(const cli_svg_plot *p, int k)
{
    for (int j = 0; j < p->n_series && !p->series[k].on_top; j++)
        if (p->series[j].on_top)
            return 1;
    return 0;
}

/* The group a series' markers (or legend sample) are drawn in. */
static void svg_marker_group(svg_out *o, const char *color, int hollow)
{
    if (hollow)
        svg_printf(o, "<g fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\">\n", color);
    else
        svg_printf(o, "<g fill=\"%s\">\n", color);
}

/* One marker centered at (x, y); its colors come from the group. */
static void svg_marker(svg_out *o, int shape, double x, double y)
{
    const double r = SVG_MARK, t = 1.3 * SVG_MARK; /* triangles, diamonds: larger */
    switch (shape) {
    case CLI_SVG_CIRCLE:
        svg_printf(o, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\"/>\n", x, y, r);
        break;
    case CLI_SVG_SQUARE:
        svg_printf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>\n",
                   x - r, y - r, 2 * r, 2 * r);
        break;
    case CLI_SVG_TRIANGLE:
    case CLI_SVG_TRIANGLE_DOWN: {
        double s = shape == CLI_SVG_TRIANGLE ? 1 : -1;
        svg_printf(o, "<polygon points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f\"/>\n", x,
                   y - s * t, x + 0.87 * t, y + s * 0.5 * t, x - 0.87 * t, y + s * 0.5 * t);
        break;
    }
    case CLI_SVG_DIAMOND:
        svg_printf(o, "<polygon points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f %.2f,%.2f\"/>\n", x,
                   y - t, x + t, y, x, y + t, x - t, y);
        break;
    }
}

/* The dash attribute of pattern d (0: solid, nothing). */
static void svg_dash_attr(svg_out *o, int d)
{
    if (d > 0)
        svg_printf(o, " stroke-dasharray=\"%s\"", svg_dashes[(d - 1) % SVG_N_DASHES]);
}

/* The series' line as one path, a new subpath after every gap. */
static void svg_series_path(svg_out *o, const svg_layout *L, const cli_svg_plot *p, int k)
{
    const cli_svg_series *s = &p->series[k];
    int started = 0, pen = 0;
    for (int i = 0; i < s->n; i++) {
        if (!cli_axis_point_ok(p, s, i)) {
            pen = 0;
            continue;
        }
        svg_printf(o, "%s%s%.2f %.2f", started ? " " : "<path d=\"", pen ? "" : "M",
                   svg_px(L, s->x[i]), svg_point_y(L, p, k, i));
        started = pen = 1;
    }
    if (!started)
        return;
    svg_printf(o, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"",
               svg_palette[k % SVG_N_COLORS]);
    svg_dash_attr(o, s->dash);
    svg_printf(o, "/>\n");
}

/* One error bar from (x0, y0) to (x1, y1) with caps across its ends. */
static void svg_bar(svg_out *o, double x0, double y0, double x1, double y1)
{
    double cx = x0 == x1 ? SVG_CAP : 0, cy = x0 == x1 ? 0 : SVG_CAP;
    svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x0, y0, x1, y1);
    svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x0 - cx, y0 - cy,
               x0 + cx, y0 + cy);
    svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x1 - cx, y1 - cy,
               x1 + cx, y1 + cy);
}

/* The error bars of series k, each end where it can be drawn (else at the
 * frame). */
static void svg_series_bars(svg_out *o, const svg_layout *L, const cli_svg_plot *p, int k)
{
    const cli_svg_series *s = &p->series[k];
    int open = 0;
    for (int i = 0; i < s->n && (s->xerr || s->yerr); i++) {
        double ex = s->xerr ? s->xerr[i] : 0, ey = s->yerr ? s->yerr[i] : 0;
        if (!cli_axis_point_ok(p, s, i) || !(ex > 0 || ey > 0))
            continue;
        if (!open)
            svg_printf(o, "<g stroke=\"%s\" stroke-width=\"1.25\">\n",
                       svg_palette[k % SVG_N_COLORS]);
        open = 1;
        double x = svg_px(L, s->x[i]), y = svg_point_y(L, p, k, i), dy = y - svg_py(L, s->y[i]);
        if (ey > 0)
            svg_bar(o, x, cli_axis_drawable(s->y[i] - ey, p->log_y) ? svg_py(L, s->y[i] - ey) + dy
                                                                : L->mt + L->ph,
                    x, svg_py(L, s->y[i] + ey) + dy);
        if (ex > 0)
            svg_bar(o, cli_axis_drawable(s->x[i] - ex, p->log_x) ? svg_px(L, s->x[i] - ex) : L->ml,
                    y, svg_px(L, s->x[i] + ex), y);
    }
    if (open)
        svg_printf(o, "</g>\n");
}

/* Markers: at every point of a short series, else at isolated points. */
static void svg_series_markers(svg_out *o, const svg_layout *L, const cli_svg_plot *p, int k)
{
    const cli_svg_series *s = &p->series[k];
    int all = s->n <= CLI_SVG_MARKERS, open = 0, shape = svg_shape(p, k);
    for (int i = 0; i < s->n && shape != CLI_SVG_NONE; i++) {
        if (!cli_axis_point_ok(p, s, i) ||
            (!all && (cli_axis_point_ok(p, s, i - 1) || cli_axis_point_ok(p, s, i + 1))))
            continue;
        if (!open)
            svg_marker_group(o, svg_palette[k % SVG_N_COLORS], svg_hollow(p, k));
        open = 1;
        svg_marker(o, shape, svg_px(L, s->x[i]), svg_point_y(L, p, k, i));
    }
    if (open)
        svg_printf(o, "</g>\n");
}

/* Labels placed so far (their boxes), to keep the next ones clear. */
typedef struct svg_placed {
    int n;
    double box[SVG_MAX_LABELS][4]; /* x0, y0, x1, y1 */
} svg_placed;

/* Place c (0 right above, 1 left above, 2 right below, 3 left below) of a
 * label w px wide beside the point at (x, y), moved into the frame: its
 * box x0, y0, x1, y1. */
static void svg_spot(const svg_layout *L, int c, double x, double y, double w, double *b)
{
    const double fs = SVG_FS_POINT, d = SVG_MARK + 3;
    double x0 = c & 1 ? x - d - w : x + d, y1 = c & 2 ? y + d + fs : y - d;
    b[0] = fmin(fmax(x0, L->ml + 1), L->ml + L->pw - w - 1);
    b[3] = fmin(fmax(y1, L->mt + 1 + fs), L->mt + L->ph - 1);
    b[1] = b[3] - fs;
    b[2] = b[0] + w;
}

/* The box of the label of the point at (x, y): the first place that meets
 * no earlier label, else the first place; it joins the placed ones. */
static void svg_place(const svg_layout *L, svg_placed *pl, double x, double y, double w,
                      double *b)
{
    int clear = 0;
    for (int c = 0; c < 4 && !clear; c++) {
        svg_spot(L, c, x, y, w, b);
        clear = 1;
        for (int j = 0; j < pl->n && clear; j++)
            clear = !(b[0] < pl->box[j][2] && pl->box[j][0] < b[2] &&
                      b[1] < pl->box[j][3] && pl->box[j][1] < b[3]);
    }
    if (!clear)
        svg_spot(L, 0, x, y, w, b);
    if (pl->n < SVG_MAX_LABELS)
        memcpy(pl->box[pl->n++], b, sizeof pl->box[0]);
}

/* The point labels of every series, in order (the text's box is the one
 * placed: its baseline 0.2 font sizes above the bottom). */
static void svg_point_labels(svg_out *o, const svg_layout *L, const cli_svg_plot *p)
{
    svg_placed pl = {0};
    for (int k = 0; k < p->n_series; k++) {
        const cli_svg_series *s = &p->series[k];
        for (int i = 0; i < s->n && s->point_labels; i++) {
            const char *t = s->point_labels[i];
            if (!t || !*t || !cli_axis_point_ok(p, s, i))
                continue;
            double b[4];
            svg_place(L, &pl, svg_px(L, s->x[i]), svg_point_y(L, p, k, i),
                      cli_axis_text_w(t, SVG_FS_POINT), b);
            svg_text(o, b[0], b[3] - 0.2 * SVG_FS_POINT, SVG_FS_POINT, SVG_START, SVG_POINT, t,
                     strlen(t));
        }
    }
}

/* Frame, tick marks and tick labels. */
static void svg_axes(svg_out *o, const svg_layout *L)
{
    double bottom = L->mt + L->ph;
    svg_printf(o, "<rect id=\"plot-area\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                  "height=\"%.2f\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n",
               L->ml, L->mt, L->pw, L->ph);
    svg_printf(o, "<g stroke=\"#333333\" stroke-width=\"1\">\n");
    for (int i = 0; i < L->x.n; i++) {
        double x = svg_px(L, L->x.v[i]);
        svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x,
                   bottom, x, bottom + SVG_TICK);
    }
    for (int i = 0; i < L->y.n; i++) {
        double y = svg_py(L, L->y.v[i]);
        svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n",
                   L->ml - SVG_TICK, y, L->ml, y);
    }
    svg_printf(o, "</g>\n");
    double ty = bottom + SVG_TICK + SVG_TICK_GAP + SVG_ASCENT * CLI_AXIS_FS_TICK;
    for (int i = 0; i < L->x.n; i++)
        svg_text(o, svg_px(L, L->x.v[i]), ty, CLI_AXIS_FS_TICK, SVG_MIDDLE, SVG_PLAIN, L->x.text[i],
                 strlen(L->x.text[i]));
    double tx = L->ml - SVG_TICK - SVG_TICK_GAP;
    for (int i = 0; i < L->y.n; i++)
        svg_text(o, tx, svg_py(L, L->y.v[i]) + 0.35 * CLI_AXIS_FS_TICK, CLI_AXIS_FS_TICK,
                 SVG_END, SVG_PLAIN, L->y.text[i], strlen(L->y.text[i]));
}

/* One legend row: a sample of the line (color, dash, and the marker the
 * series shows, shape < 0 for none), then the text. */
static void svg_legend_row(svg_out *o, double x, double y, const char *color,
                           const char *dash, int shape, int hollow, const char *text)
{
    svg_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
                  "stroke-width=\"2\"",
               x + 8, y, x + 8 + SVG_SWATCH, y, color);
    if (dash)
        svg_printf(o, " stroke-dasharray=\"%s\"", dash);
    svg_printf(o, "/>\n");
    if (shape > 0) {
        svg_marker_group(o, color, hollow);
        svg_marker(o, shape, x + 8 + SVG_SWATCH / 2, y);
        svg_printf(o, "</g>\n");
    }
    svg_text(o, x + 8 + SVG_SWATCH + 6, y + 0.35 * SVG_FS_LEGEND, SVG_FS_LEGEND, SVG_START,
             SVG_PLAIN, text, strlen(text));
}

/* The legend box right of the frame, top-aligned with it. */
static void svg_legend(svg_out *o, const svg_layout *L, const cli_svg_plot *p)
{
    if (!L->leg_rows)
        return;
    double x = L->ml + L->pw + SVG_LEG_GAP, y = L->mt + 6 + SVG_LEG_ROW / 2;
    svg_printf(o, "<rect id=\"legend\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                  "fill=\"#FFFFFF\" stroke=\"#BBBBBB\" stroke-width=\"1\"/>\n",
               x, L->mt, L->leg_w, L->leg_h);
    for (int i = 0; i < p->n_series; i++) {
        const cli_svg_series *s = &p->series[i];
        if (!s->label)
            continue;
        int marked = s->n > 0 && s->n <= CLI_SVG_MARKERS;
        svg_legend_row(o, x, y, svg_palette[i % SVG_N_COLORS],
                       s->dash > 0 ? svg_dashes[(s->dash - 1) % SVG_N_DASHES] : NULL,
                       marked ? svg_shape(p, i) : CLI_SVG_NONE, svg_hollow(p, i), s->label);
        y += SVG_LEG_ROW;
    }
    for (int i = 0; i < p->n_hlines && p->hline_labels; i++)
        if (p->hline_labels[i]) {
            svg_legend_row(o, x, y, "#444444", svg_hline_dash[i % 3], CLI_SVG_NONE, 0,
                           p->hline_labels[i]);
            y += SVG_LEG_ROW;
        }
}

/* Lines of text wrapped to cols, centered on the canvas from baseline y
 * on. */
static void svg_wrapped(svg_out *o, const svg_layout *L, const char *text, int cols, int fs,
                        svg_style st, double y)
{
    for (const char *s = text && *text ? text : NULL; s;) {
        const char *line = s;
        size_t n = svg_title_line(line, cols, &s);
        svg_text(o, L->w / 2, y, fs, SVG_MIDDLE, st, line, n);
        y += SVG_LINE * fs;
    }
}

/* Title lines centered on the canvas, x label under the frame, y label
 * turned left of the y tick labels, caption lines at the bottom. */
static void svg_titles(svg_out *o, const svg_layout *L, const cli_svg_plot *p)
{
    svg_wrapped(o, L, p->title, L->title_cols, SVG_FS_TITLE, SVG_PLAIN,
                SVG_PAD + SVG_ASCENT * SVG_FS_TITLE);
    if (p->xlabel)
        svg_text(o, L->ml + L->pw / 2,
                 L->mt + L->ph + SVG_TICK + SVG_TICK_GAP + CLI_AXIS_FS_TICK + 10 +
                     SVG_ASCENT * SVG_FS_LABEL,
                 SVG_FS_LABEL, SVG_MIDDLE, SVG_PLAIN, p->xlabel, strlen(p->xlabel));
    if (p->ylabel)
        svg_text(o, SVG_PAD + SVG_ASCENT * SVG_FS_LABEL, L->mt + L->ph / 2, SVG_FS_LABEL,
                 SVG_MIDDLE, SVG_TURNED, p->ylabel, strlen(p->ylabel));
    svg_wrapped(o, L, p->caption, L->cap_cols, SVG_FS_CAPTION, SVG_CAPTION,
                L->mt + L->ph + svg_below_frame(p) + 6 + SVG_ASCENT * SVG_FS_CAPTION);
}

/* Whether the arrays behind the counts are there. */
static int svg_valid(const cli_svg_plot *p)
{
    if ((p->n_series > 0 && !p->series) || (p->n_hlines > 0 && !p->hlines))
        return 0;
    for (int i = 0; i < p->n_series; i++)
        if (p->series[i].n > 0 && (!p->series[i].x || !p->series[i].y))
            return 0;
    return 1;
}

int cli_svg_write(FILE *f, const cli_svg_plot *p)
{
    if (!f || !p || !svg_valid(p)) {
        errno = EINVAL;
        return -1;
    }
    cli_svg_plot q = *p;
    q.n_series = q.n_series > 0 ? q.n_series : 0;
    q.n_hlines = q.n_hlines > 0 ? q.n_hlines : 0;
    svg_layout L;
    memset(&L, 0, sizeof L);
    svg_layout_compute(&L, &q);
    if (svg_dodge(&L, &q)) {
        free(L.dy);
        free(L.base);
        errno = ENOMEM;
        return -1;
    }
    svg_out o = {f, 0};
    svg_header(&o, &L);
    svg_grid(&o, &L);
    svg_hlines(&o, &L, &q);
    for (int top = 0; top < 2; top++) /* those on top last */
        for (int i = 0; i < q.n_series; i++)
            if (!q.series[i].on_top == !top)
                svg_series_path(&o, &L, &q, i);
    for (int i = 0; i < q.n_series; i++)
        svg_series_bars(&o, &L, &q, i);
    for (int top = 0; top < 2; top++)
        for (int i = 0; i < q.n_series; i++)
            if (!q.series[i].on_top == !top)
                svg_series_markers(&o, &L, &q, i);
    svg_point_labels(&o, &L, &q);
    svg_axes(&o, &L);
    svg_legend(&o, &L, &q);
    svg_titles(&o, &L, &q);
    free(L.dy);
    free(L.base);
    svg_printf(&o, "</svg>\n");
    if (!o.err && fflush(f) == EOF)
        o.err = 1;
    return o.err || ferror(f) ? -1 : 0;
}
