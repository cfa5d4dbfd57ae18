/*
 * svg.h: line plots as standalone SVG 1.1 files, for the plots the nmdl
 * command draws (loss traces of SGLD chains, description length against
 * dataset size).
 *
 * A plot is a frame with ticks, numeric tick labels and light grid lines,
 * axis labels, a title, one line per series in colors from a fixed
 * colorblind-safe palette (Paul Tol's "muted", 9 colors, repeated beyond),
 * optional horizontal reference lines, and a legend to the right of the
 * frame. Text never overlaps: its width is estimated as CLI_SVG_EM times
 * the font size per character, the canvas grows to fit long titles (which
 * are also wrapped), axis labels and legend entries, and tick labels are
 * thinned until they fit. The output depends only on the input (numbers are
 * printed with two decimals); text is taken as UTF-8 and XML-escaped.
 *
 * Ticks: linear axes at multiples of 1, 2 or 5 x 10^k; logarithmic axes at
 * powers of 10 (every 1, 2, 3, 5, 10, ... decades), with 2 and 5 multiples
 * when the data span fewer than 3 decades and all of 1..9 below one
 * decade. The axis range is widened to the ticks around the data.
 *
 * Byte axes (x_bytes, y_bytes) label with binary prefixes, K = 2^10,
 * M = 2^20, G = 2^30, T = 2^40: 65536 is "64K", 1048576 is "1M". Their
 * ticks are round in that unit, so 1000000 is never a tick: a logarithmic
 * byte axis puts its ticks at powers of two (every 1, 2, 5, 10, ... of
 * them: 1K 4K 16K 64K 256K 1M), a linear one at 1, 2, 5 x 10^k times the
 * largest unit not above its largest value (0.5M 1M 1.5M).
 *
 * Points with a non-finite coordinate, a magnitude above 1e300, or (on a
 * logarithmic axis) a value below 1e-300 are not drawn and break the line
 * there; a point with no drawn neighbor gets a marker, and so does every
 * point of a series of at most CLI_SVG_MARKERS points.
 */
#ifndef NMDL_CLI_SVG_H
#define NMDL_CLI_SVG_H

#include <stdio.h>

/* Estimated glyph width, in font sizes, used for every layout decision. */
#define CLI_SVG_EM 0.6
/* Series with at most this many points get a marker at every point. */
#define CLI_SVG_MARKERS 40

/* One line of the plot: n points (x[i], y[i]). */
typedef struct cli_svg_series {
    const char *label;   /* legend entry; NULL: not in the legend */
    const double *x, *y; /* may be NULL when n is 0 */
    int n;
    int dashed;          /* dashed instead of solid */
} cli_svg_series;

/* A whole figure. Text fields may be NULL (nothing drawn); labels carry
 * their units, e.g. "dataset size (bytes)". */
typedef struct cli_svg_plot {
    const char *title, *xlabel, *ylabel;
    int log_x, log_y;     /* logarithmic axes */
    int x_bytes, y_bytes; /* tick labels as byte counts (see above) */
    int width, height;    /* smallest canvas in px; 0: 800 and 500 */
    const cli_svg_series *series;
    int n_series;
    const double *hlines;            /* horizontal reference lines at y */
    const char *const *hline_labels; /* legend entries; NULL or a NULL
                                        entry: the line is not listed */
    int n_hlines;
} cli_svg_plot;

/* Writes the plot to f as one SVG document. Returns 0, or -1 with errno
 * set: EINVAL for NULL arguments (or NULL arrays behind nonzero counts),
 * otherwise the error of the failed write. */
int cli_svg_write(FILE *f, const cli_svg_plot *p);

#endif /* NMDL_CLI_SVG_H */
