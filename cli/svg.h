/*
 * svg.h: line plots as standalone SVG 1.1 files, for the plots the nmdl
 * command draws (loss traces of SGLD chains, description length against
 * dataset size).
 *
 * A plot is a frame with ticks, numeric tick labels and light grid lines,
 * axis labels, a title, one line per series in colors from a fixed
 * colorblind-safe palette (Paul Tol's "muted", 9 colors, repeated beyond),
 * optional error bars and point labels, optional horizontal reference
 * lines, a legend to the right of the frame and a caption under it.
 *
 * Text never overlaps: its width is estimated as CLI_SVG_EM times the font
 * size per character, the canvas grows to fit long titles and captions
 * (which are also wrapped), axis labels and legend entries, and tick labels
 * are thinned until they fit. A point label (the only text inside the
 * frame) takes the first place beside its point (right above, left above,
 * right below, left below) that keeps it inside the frame and clear of the
 * labels placed before it, else the first place. The output depends only
 * on the input (numbers are printed with two decimals); text is taken as
 * UTF-8 and XML-escaped.
 *
 * Axes are fitted to the data: the range is the drawn points' (reference
 * lines and error bars included) widened by CLI_SVG_MARGIN of its span on
 * each side (of its logarithm on a logarithmic axis), and the ticks lie
 * inside it; only where fewer than two would, the range grows to the ticks
 * around the data.
 *
 * Ticks: linear axes at multiples of 1, 2 or 5 x 10^k; logarithmic axes at
 * powers of 10 (every 1, 2, 3, 5, 10, ... decades), with 2 and 5 multiples
 * when the data span fewer than 3 decades and all of 1..9 below one
 * decade.
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
 *
 * Telling series apart: each has its color, its dash pattern (`dash`) and
 * its marker shape (by default the series' index picks both shape and
 * color). Series are drawn in order, those marked on_top last, so they
 * cover the others; markers of the other series are hollow. With `dodge`
 * set, points of different series that fall within that many px of each
 * other at the same x are spread apart vertically, `dodge` px between
 * neighbors, about their mean, so that lines that coincide are drawn side
 * by side instead of one hiding the other (a shift of at most a few px,
 * which the plot's caption should mention).
 */
#ifndef NMDL_CLI_SVG_H
#define NMDL_CLI_SVG_H

#include <stdio.h>

/* Estimated glyph width, in font sizes, used for every layout decision. */
#define CLI_SVG_EM 0.6
/* Series with at most this many points get a marker at every point. */
#define CLI_SVG_MARKERS 40
/* Room around the data on each side, as a fraction of the axis span. */
#define CLI_SVG_MARGIN 0.04

/* Marker shapes; AUTO picks one by the series' index. */
enum {
    CLI_SVG_NONE = -1,
    CLI_SVG_AUTO = 0,
    CLI_SVG_CIRCLE,
    CLI_SVG_SQUARE,
    CLI_SVG_TRIANGLE,
    CLI_SVG_DIAMOND,
    CLI_SVG_TRIANGLE_DOWN,
    CLI_SVG_N_SHAPES = CLI_SVG_TRIANGLE_DOWN
};

/* One line of the plot: n points (x[i], y[i]). */
typedef struct cli_svg_series {
    const char *label;   /* legend entry; NULL: not in the legend */
    const double *x, *y; /* may be NULL when n is 0 */
    int n;
    int dash;            /* 0: solid, k > 0: the k-th dash pattern */
    int marker;          /* a CLI_SVG_ shape (AUTO, NONE, CIRCLE, ...) */
    int on_top;          /* drawn after every series that is not */
    const double *xerr, *yerr; /* error bars: half-lengths in data units,
                                  NULL for none; a value that is not > 0 is
                                  no bar */
    const char *const *point_labels; /* a short text beside each point, NULL
                                        for none (or a NULL entry) */
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
    const char *caption; /* a line under the plot (corpus, settings, source);
                            wrapped like the title */
    double dodge;        /* px between coinciding points; 0: none */
} cli_svg_plot;

/* Writes the plot to f as one SVG document. Returns 0, or -1 with errno
 * set: EINVAL for NULL arguments (or NULL arrays behind nonzero counts),
 * otherwise the error of the failed write. */
int cli_svg_write(FILE *f, const cli_svg_plot *p);

#endif /* NMDL_CLI_SVG_H */
